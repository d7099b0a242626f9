"""The two stacked LSTM layers of a block as one operation with a hand-written backward.

The maths is that of two ``nn.LSTM`` layers (PyTorch's gate order i, f, g, o;
``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``; zero initial state)
with a dropout mask on every output of the first layer and on the last output
of the second. Only the way it is computed differs, for speed on the CPU:

* the first layer receives its input gates ``W_ih x_t + b`` already computed
  (one matrix product per batch; when evaluating, once per feature row of the
  whole set, see :func:`muvi.models.training.predict_windows`);
* the step from the zero initial state needs no recurrent product;
* the second layer's input projection is one matrix product over all steps
  and windows, and so are the weight gradients of both layers in the
  backward pass (``dW = sum_t dz_t^T h_{t-1}`` as one product over the
  stacked steps);
* no autograd graph is built step by step: the forward keeps the gate
  activations and the backward walks the steps once, in place where it can;
* ``tanh`` is evaluated as ``2 sigmoid(2x) - 1`` (the same function; PyTorch's
  CPU ``sigmoid`` is several times faster than its ``tanh``).

:func:`two_layer_lstm` is checked against ``nn.LSTM`` (outputs and gradients)
and with :func:`torch.autograd.gradcheck` in double precision by the tests.
"""

from __future__ import annotations

from typing import Any

import torch

from muvi.models import fused_cells


def _tanh(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``tanh(x) = 2 sigmoid(2x) - 1``, written into ``out``: the same function,
    several times faster than ``torch.tanh`` on the CPU."""
    torch.sigmoid(torch.mul(x, 2.0), out=out)
    return out.mul_(2.0).sub_(1.0)


def _run_layer(gx: torch.Tensor, w_hh: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """One LSTM layer from its input gates.

    Args:
        gx: (steps, batch, 4 * hidden) input gates, biases included.
        w_hh: (4 * hidden, hidden) recurrent weights.

    Returns:
        ``acts`` (steps, batch, 4 * hidden): sigmoid(i, f, o) and tanh(g);
        ``c``, ``tanh_c`` and ``h``, each (steps, batch, hidden).
    """
    steps, batch, width = gx.shape
    hidden = width // 4
    acts = torch.empty_like(gx)
    c = gx.new_empty(steps, batch, hidden)
    tanh_c = torch.empty_like(c)
    h = torch.empty_like(c)
    w_t = w_hh.t()
    g_cols = slice(2 * hidden, 3 * hidden)
    for t in range(steps):
        z = gx[t].clone() if t == 0 else torch.addmm(gx[t], h[t - 1], w_t)
        a = acts[t]
        z[:, g_cols] *= 2.0
        torch.sigmoid(z, out=a)  # i, f, o; and g via tanh(x) = 2 sigmoid(2x) - 1
        a[:, g_cols].mul_(2.0).sub_(1.0)
        i, f, g, o = a.chunk(4, dim=1)
        if t == 0:  # c_{-1} = 0
            torch.mul(i, g, out=c[t])
        else:
            torch.addcmul(f * c[t - 1], i, g, out=c[t])
        _tanh(c[t], out=tanh_c[t])
        torch.mul(o, tanh_c[t], out=h[t])
    return acts, c, tanh_c, h


def _layer_backward(
    acts: torch.Tensor,
    c: torch.Tensor,
    tanh_c: torch.Tensor,
    w_hh: torch.Tensor,
    dh_seq: torch.Tensor | None,
    dh_last: torch.Tensor | None,
) -> torch.Tensor:
    """Gradient of the loss with respect to one layer's input gates.

    Args:
        acts, c, tanh_c: from :func:`_run_layer`.
        w_hh: the layer's recurrent weights.
        dh_seq: (steps, batch, hidden) gradient reaching every output ``h_t``
            from above, or None when only the last output is used.
        dh_last: (batch, hidden) gradient of the last output when ``dh_seq``
            is None.

    Returns:
        (steps, batch, 4 * hidden): d loss / d gates; the gradient of the
        input gates and, for steps >= 1, of the recurrent products.
    """
    hidden = acts.shape[-1] // 4
    # derivatives of the activations for all steps at once: s (1 - s) for the
    # sigmoid gates i, f, o and 1 - g^2 for the tanh gate g
    deriv = acts - acts * acts
    g_all = acts[..., 2 * hidden : 3 * hidden]
    torch.addcmul(
        torch.ones_like(g_all), g_all, g_all, value=-1.0, out=deriv[..., 2 * hidden : 3 * hidden]
    )
    dtanh_c = 1.0 - tanh_c * tanh_c
    dgates = torch.empty_like(acts)
    dh_rec: torch.Tensor | None = None
    dc: torch.Tensor | None = None
    for t in reversed(range(acts.shape[0])):
        dh: torch.Tensor | None
        if dh_seq is not None:
            dh = dh_seq[t] if dh_rec is None else dh_rec.add_(dh_seq[t])
        else:
            dh = dh_last if dh_rec is None else dh_rec
        assert dh is not None
        i, f, g, o = acts[t].chunk(4, dim=1)
        di, df, dg, do = dgates[t].chunk(4, dim=1)
        # h = o * tanh(c): d o = dh * tanh(c); dc += dh * o * (1 - tanh(c)^2)
        dc_here = (dh * o).mul_(dtanh_c[t])
        dc = dc_here if dc is None else dc.add_(dc_here)
        torch.mul(dh, tanh_c[t], out=do)
        torch.mul(dc, g, out=di)  # c = f c_prev + i g
        torch.mul(dc, i, out=dg)
        if t == 0:
            df.zero_()  # c_{-1} = 0
        else:
            torch.mul(dc, c[t - 1], out=df)
        dgates[t].mul_(deriv[t])
        if t == 0:
            break
        dc = dc * f
        dh_rec = dgates[t] @ w_hh
    return dgates


def _recurrent_weight_grad(dgates: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``sum_{t >= 1} dz_t^T h_{t-1}`` as one matrix product over the stacked steps."""
    width = dgates.shape[-1]
    if dgates.shape[0] < 2:
        return dgates.new_zeros(width, h.shape[-1])
    return dgates[1:].reshape(-1, width).t() @ h[:-1].reshape(-1, h.shape[-1])


class _TwoLayerLSTM(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        gx1: torch.Tensor,
        w_hh1: torch.Tensor,
        w_ih2: torch.Tensor,
        w_hh2: torch.Tensor,
        b2: torch.Tensor,
        mask1: torch.Tensor | None,
        mask2: torch.Tensor | None,
    ) -> torch.Tensor:
        steps, batch, _ = gx1.shape
        hidden1 = w_hh1.shape[1]
        acts1, c1, tanh_c1, h1 = _run_layer(gx1, w_hh1)
        x2 = h1 * mask1 if mask1 is not None else h1
        gx2 = torch.addmm(b2, x2.reshape(steps * batch, hidden1), w_ih2.t())
        acts2, c2, tanh_c2, h2 = _run_layer(gx2.view(steps, batch, -1), w_hh2)
        out = h2[-1] * mask2 if mask2 is not None else h2[-1].clone()
        ctx.save_for_backward(
            w_hh1, w_ih2, w_hh2, mask1, mask2, acts1, c1, tanh_c1, h1, x2, acts2, c2, tanh_c2, h2
        )
        return out

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        (w_hh1, w_ih2, w_hh2, mask1, mask2, acts1, c1, tanh_c1, h1, x2, acts2, c2, tanh_c2, h2) = (
            ctx.saved_tensors
        )
        steps, batch, hidden1 = h1.shape
        dh2 = dout * mask2 if mask2 is not None else dout
        dg2 = _layer_backward(acts2, c2, tanh_c2, w_hh2, None, dh2)
        flat2 = dg2.view(steps * batch, -1)
        dw_ih2 = flat2.t() @ x2.reshape(steps * batch, hidden1)
        db2 = flat2.sum(0)
        dw_hh2 = _recurrent_weight_grad(dg2, h2)
        dx2 = (flat2 @ w_ih2).view(steps, batch, hidden1)
        dh1 = dx2.mul_(mask1) if mask1 is not None else dx2
        dg1 = _layer_backward(acts1, c1, tanh_c1, w_hh1, dh1, None)
        dw_hh1 = _recurrent_weight_grad(dg1, h1)
        return dg1, dw_hh1, dw_ih2, dw_hh2, db2, None, None


def two_layer_lstm(
    gx1: torch.Tensor,
    w_hh1: torch.Tensor,
    w_ih2: torch.Tensor,
    w_hh2: torch.Tensor,
    b2: torch.Tensor,
    mask1: torch.Tensor | None = None,
    mask2: torch.Tensor | None = None,
) -> torch.Tensor:
    """The last output of two stacked LSTM layers, from the first layer's input gates.

    Args:
        gx1: (steps, batch, 4 * hidden1): ``W_ih1 x_t + b_ih1 + b_hh1`` per step.
        w_hh1: (4 * hidden1, hidden1) first layer's recurrent weights.
        w_ih2: (4 * hidden2, hidden1) second layer's input weights.
        w_hh2: (4 * hidden2, hidden2) second layer's recurrent weights.
        b2: (4 * hidden2,) second layer's biases (``b_ih2 + b_hh2``).
        mask1: (steps, batch, hidden1) dropout mask (already divided by the
            keep probability) on the first layer's outputs, or None.
        mask2: (batch, hidden2) dropout mask on the second layer's last output, or None.

    Returns:
        (batch, hidden2).

    Examples:
        >>> lstm1, lstm2 = torch.nn.LSTM(3, 4), torch.nn.LSTM(4, 2)
        >>> x = torch.randn(5, 6, 3)  # steps, batch, features
        >>> gx1 = x @ lstm1.weight_ih_l0.T + lstm1.bias_ih_l0 + lstm1.bias_hh_l0
        >>> out = two_layer_lstm(gx1, lstm1.weight_hh_l0, lstm2.weight_ih_l0,
        ...                      lstm2.weight_hh_l0, lstm2.bias_ih_l0 + lstm2.bias_hh_l0)
        >>> torch.allclose(out, lstm2(lstm1(x)[0])[0][-1], atol=1e-6)
        True
    """
    out = _TwoLayerLSTM.apply(gx1, w_hh1, w_ih2, w_hh2, b2, mask1, mask2)
    assert isinstance(out, torch.Tensor)
    return out


# --------------------------------------------------------------------------
# Many networks at once: the same maths with a leading network axis
# --------------------------------------------------------------------------


def _bmm(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``a @ b`` batched over the network axis; the product in ``dtype``
    (float32 or bfloat16), the result float32. ``b`` may already be in ``dtype``."""
    if dtype == torch.float32:
        return torch.bmm(a, b)
    return torch.bmm(a.to(dtype), b.to(dtype)).float()


def _run_stacked_layer(
    gx: torch.Tensor, w_t: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, ...]:
    """:func:`_run_layer` for a stack of networks.

    Args:
        gx: (networks, steps, batch, 4 * hidden) input gates, biases included.
        w_t: (networks, hidden, 4 * hidden) transposed recurrent weights, in ``dtype``.
        dtype: the matrix products' precision.

    Returns:
        ``acts``, ``c``, ``tanh_c``, ``h`` as :func:`_run_layer`, each with the
        leading network axis (networks, steps, batch, ...).
    """
    n, steps, batch, width = gx.shape
    hidden = width // 4
    acts = torch.empty_like(gx)
    c = gx.new_empty(n, steps, batch, hidden)
    tanh_c = torch.empty_like(c)
    h = torch.empty_like(c)
    g_cols = slice(2 * hidden, 3 * hidden)
    for t in range(steps):
        if t == 0:
            z = gx[:, 0].clone()
        elif dtype == torch.float32:
            z = torch.baddbmm(gx[:, t], h[:, t - 1], w_t)
        else:
            z = _bmm(h[:, t - 1], w_t, dtype).add_(gx[:, t])
        a = acts[:, t]
        z[..., g_cols] *= 2.0
        torch.sigmoid(z, out=a)  # i, f, o; and g via tanh(x) = 2 sigmoid(2x) - 1
        a[..., g_cols].mul_(2.0).sub_(1.0)
        i, f, g, o = a.chunk(4, dim=-1)
        if t == 0:
            torch.mul(i, g, out=c[:, t])
        else:
            torch.addcmul(f * c[:, t - 1], i, g, out=c[:, t])
        _tanh(c[:, t], out=tanh_c[:, t])
        torch.mul(o, tanh_c[:, t], out=h[:, t])
    return acts, c, tanh_c, h


def _stacked_layer_backward(
    acts: torch.Tensor,
    c: torch.Tensor,
    tanh_c: torch.Tensor,
    w: torch.Tensor,
    dh_seq: torch.Tensor | None,
    dh_last: torch.Tensor | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    """:func:`_layer_backward` for a stack of networks (``w``: (networks,
    4 * hidden, hidden) recurrent weights in ``dtype``; every tensor has the
    leading network axis). Returns (networks, steps, batch, 4 * hidden)."""
    hidden = acts.shape[-1] // 4
    deriv = acts - acts * acts
    g_all = acts[..., 2 * hidden : 3 * hidden]
    deriv[..., 2 * hidden : 3 * hidden] = 1.0 - g_all * g_all
    dtanh_c = 1.0 - tanh_c * tanh_c
    dgates = torch.empty_like(acts)
    dh_rec: torch.Tensor | None = None
    dc: torch.Tensor | None = None
    for t in reversed(range(acts.shape[1])):
        dh: torch.Tensor | None
        if dh_seq is not None:
            dh = dh_seq[:, t] if dh_rec is None else dh_rec.add_(dh_seq[:, t])
        else:
            dh = dh_last if dh_rec is None else dh_rec
        assert dh is not None
        i, f, g, o = acts[:, t].chunk(4, dim=-1)
        dz = dgates[:, t]
        di, df, dg, do = dz.chunk(4, dim=-1)
        dc_here = (dh * o).mul_(dtanh_c[:, t])
        dc = dc_here if dc is None else dc.add_(dc_here)
        torch.mul(dh, tanh_c[:, t], out=do)
        torch.mul(dc, g, out=di)
        torch.mul(dc, i, out=dg)
        if t == 0:
            df.zero_()
        else:
            torch.mul(dc, c[:, t - 1], out=df)
        dz.mul_(deriv[:, t])
        if t == 0:
            break
        dc = dc * f
        dh_rec = _bmm(dz, w, dtype)
    return dgates


def _stacked_recurrent_weight_grad(
    dgates: torch.Tensor, h: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Per network ``sum_{t >= 1} dz_t^T h_{t-1}`` as one batched product."""
    n, steps, batch, width = dgates.shape
    if steps < 2:
        return dgates.new_zeros(n, width, h.shape[-1])
    dz = dgates[:, 1:].reshape(n, (steps - 1) * batch, width)
    prev = h[:, :-1].reshape(n, (steps - 1) * batch, h.shape[-1])
    return _bmm(dz.transpose(1, 2), prev, dtype)


def _stacked_backward(
    saved: tuple[torch.Tensor | None, ...], dout: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor | None, ...]:
    """The eager (step-by-step) backward of :class:`_StackedTwoLayerLSTM`."""
    (w_hh1, w_ih2, w_hh2, mask1, mask2, acts1, c1, tanh_c1, h1, x2, acts2, c2, tanh_c2, h2) = saved
    assert w_hh1 is not None and w_ih2 is not None and w_hh2 is not None and x2 is not None
    assert acts1 is not None and c1 is not None and tanh_c1 is not None and h1 is not None
    assert acts2 is not None and c2 is not None and tanh_c2 is not None and h2 is not None
    n, steps, batch, hidden1 = h1.shape
    dh2 = dout * mask2 if mask2 is not None else dout
    dg2 = _stacked_layer_backward(acts2, c2, tanh_c2, w_hh2, None, dh2, dtype)
    flat2 = dg2.view(n, steps * batch, -1)
    dw_ih2 = _bmm(flat2.transpose(1, 2), x2.reshape(n, steps * batch, hidden1), dtype)
    db2 = flat2.sum(1)
    dw_hh2 = _stacked_recurrent_weight_grad(dg2, h2, dtype)
    dx2 = _bmm(flat2, w_ih2, dtype).view(n, steps, batch, hidden1)
    dh1 = dx2.mul_(mask1) if mask1 is not None else dx2
    dg1 = _stacked_layer_backward(acts1, c1, tanh_c1, w_hh1, dh1, None, dtype)
    dw_hh1 = _stacked_recurrent_weight_grad(dg1, h1, dtype)
    return dg1, dw_hh1, dw_ih2, dw_hh2, db2, None, None, None


class _StackedTwoLayerLSTM(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        gx1: torch.Tensor,
        w_hh1: torch.Tensor,
        w_ih2: torch.Tensor,
        w_hh2: torch.Tensor,
        b2: torch.Tensor,
        mask1: torch.Tensor | None,
        mask2: torch.Tensor | None,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        n, steps, batch, _ = gx1.shape
        hidden1 = w_hh1.shape[-1]
        low = [w.to(dtype) for w in (w_hh1, w_ih2, w_hh2)]
        gx1 = gx1.float()  # bfloat16 from a bfloat16 input product; the gates stay float32
        acts1, c1, tanh_c1, h1 = _run_stacked_layer(gx1, low[0].transpose(1, 2), dtype)
        x2 = h1 * mask1 if mask1 is not None else h1
        gx2 = _bmm(x2.view(n, steps * batch, hidden1), low[1].transpose(1, 2), dtype)
        gx2 = gx2.add_(b2.unsqueeze(1)).view(n, steps, batch, -1)
        acts2, c2, tanh_c2, h2 = _run_stacked_layer(gx2, low[2].transpose(1, 2), dtype)
        out = h2[:, -1] * mask2 if mask2 is not None else h2[:, -1].clone()
        ctx.dtype = dtype
        ctx.save_for_backward(
            low[0], low[1], low[2], mask1, mask2, acts1, c1, tanh_c1, h1, x2, acts2, c2, tanh_c2, h2
        )
        return out

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        return _stacked_backward(ctx.saved_tensors, dout, ctx.dtype)


# --------------------------------------------------------------------------
# The same stack with the pointwise arithmetic fused (muvi.models.fused_cells)
# --------------------------------------------------------------------------


def _bmm_t(dz: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per network ``sum over steps and windows of dz^T x`` (float32) from
    stacked (networks, steps, batch, width) tensors: a weight gradient."""
    n = dz.shape[0]
    flat_dz = dz.reshape(n, -1, dz.shape[-1])
    return torch.bmm(flat_dz.transpose(1, 2), x.reshape(n, -1, x.shape[-1])).float()


def _recurrent_grad(dz: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
    """Per network ``sum_{t >= 1} dz_t^T h_{t-1}`` (float32), from the stacked
    gate gradients (networks, steps, batch, 4 * hidden) and the outputs of
    the steps before the last (networks, steps - 1, batch, hidden).

    One product per network: each network's steps from 1 on are contiguous,
    but across networks they are not, and ``torch.bmm`` would copy them (in
    bfloat16, transposing)."""
    n, steps, _, width = dz.shape
    if steps < 2:
        return dz.new_zeros(n, width, before.shape[-1], dtype=torch.float32)
    out = dz.new_empty(n, width, before.shape[-1])
    for k in range(n):
        torch.mm(
            dz[k, 1:].reshape(-1, width).t(), before[k].reshape(-1, before.shape[-1]), out=out[k]
        )
    return out.float()


class _FusedStackedTwoLayerLSTM(torch.autograd.Function):
    """The stack with the whole sequence compiled: :func:`fused_cells.stack_forward`
    and :func:`fused_cells.stack_backward`."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        gx1: torch.Tensor,
        w_hh1: torch.Tensor,
        w_ih2: torch.Tensor,
        w_hh2: torch.Tensor,
        b2: torch.Tensor,
        mask1: torch.Tensor | None,
        mask2: torch.Tensor | None,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        h2_last, saved = fused_cells.compiled("forward")(
            gx1.detach(), w_hh1.detach(), w_ih2.detach(), w_hh2.detach(), b2.detach(),
            None if mask1 is None else mask1.detach(), dtype,
        )  # fmt: skip
        out = h2_last * mask2 if mask2 is not None else h2_last
        ctx.dtype = dtype
        ctx.gx1_dtype = gx1.dtype
        ctx.save_for_backward(mask1, mask2, *saved)
        return out

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        mask1, mask2, *saved = ctx.saved_tensors
        w_hh1, w_ih2, w_hh2, h1_before, x2, h2_before, *per_step = fused_cells.unpack_saved(saved)
        dtype = ctx.dtype
        dlast = dout * mask2 if mask2 is not None else dout
        try:
            if fused_cells.failed():
                raise RuntimeError("fused cells disabled after an earlier failure")
            dg1, dz1, dz2, db2 = fused_cells.compiled("backward")(
                tuple(saved), dlast.float(), mask1, dtype, ctx.gx1_dtype
            )
            # the weight gradients as products outside the compiled graph:
            # PyTorch's own bmm reads the transposed operands in place
            dw_ih2 = _bmm_t(dz2, x2)
            dw_hh1 = _recurrent_grad(dz1, h1_before)
            dw_hh2 = _recurrent_grad(dz2, h2_before)
            return dg1, dw_hh1, dw_ih2, dw_hh2, db2, None, None, None
        except Exception as error:  # noqa: BLE001 - any compiler failure: fall back
            fused_cells.fallback(error)
        # eager backward from the saved steps (same maths)
        a1, cc1, a2, cc2 = (torch.stack(v, dim=1) for v in per_step)
        # (the eager code reads every step's output but the last's)
        h1, h2 = (
            torch.cat([h, torch.zeros_like(h[:, :1])], dim=1).float()
            for h in (h1_before, h2_before)
        )
        eager = (
            w_hh1, w_ih2, w_hh2, mask1, mask2, a1, cc1, torch.tanh(cc1), h1,
            x2.float(), a2, cc2, torch.tanh(cc2), h2,
        )  # fmt: skip
        grads = _stacked_backward(eager, dout, dtype)
        dg1 = grads[0]
        return (dg1.to(ctx.gx1_dtype) if dg1 is not None else None, *grads[1:])


def stacked_two_layer_lstm(
    gx1: torch.Tensor,
    w_hh1: torch.Tensor,
    w_ih2: torch.Tensor,
    w_hh2: torch.Tensor,
    b2: torch.Tensor,
    mask1: torch.Tensor | None = None,
    mask2: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """:func:`two_layer_lstm` for a stack of networks that share shapes.

    Every argument has a leading network axis, and the data are laid out
    network-first: ``gx1`` is (networks, steps, batch, 4 * hidden1), the
    weights (networks, ...) as in :func:`two_layer_lstm`, ``b2`` (networks,
    4 * hidden2), ``mask1`` (networks, steps, batch, hidden1), ``mask2``
    (networks, batch, hidden2). The matrix products are batched over the
    networks (``torch.bmm``) and run in ``dtype``: float32, or bfloat16 with
    the gates, cell states, gradients and the weights given here in float32
    (the weights are rounded to bfloat16 only as operands of the products).

    Returns:
        (networks, batch, hidden2).

    Examples:
        >>> lstm1, lstm2 = torch.nn.LSTM(3, 4), torch.nn.LSTM(4, 2)
        >>> x = torch.randn(5, 6, 3)  # steps, batch, features
        >>> gx1 = x @ lstm1.weight_ih_l0.T + lstm1.bias_ih_l0 + lstm1.bias_hh_l0
        >>> w = [lstm1.weight_hh_l0, lstm2.weight_ih_l0, lstm2.weight_hh_l0]
        >>> b2 = lstm2.bias_ih_l0 + lstm2.bias_hh_l0
        >>> out = stacked_two_layer_lstm(gx1[None], *[v[None] for v in w], b2[None])
        >>> torch.allclose(out[0], lstm2(lstm1(x)[0])[0][-1], atol=1e-6)
        True
    """
    n, _, batch, width = gx1.shape
    if fused_cells.use_fused(n, batch, width // 4, gx1.device.type):
        try:
            out = _FusedStackedTwoLayerLSTM.apply(gx1, w_hh1, w_ih2, w_hh2, b2, mask1, mask2, dtype)
            assert isinstance(out, torch.Tensor)
            return out
        except Exception as error:  # noqa: BLE001 - any compiler failure: fall back
            fused_cells.fallback(error)
    out = _StackedTwoLayerLSTM.apply(gx1, w_hh1, w_ih2, w_hh2, b2, mask1, mask2, dtype)
    assert isinstance(out, torch.Tensor)
    return out
