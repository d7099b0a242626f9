"""The stacked LSTM's two layers as two compiled graphs, forward and backward.

Per step the stacked recurrence (:mod:`muvi.models.recurrence`) does one
matrix product and then about ten pointwise operations on the gates (the
activations, the cell state, the output; in the backward pass their
derivatives). Run one by one, each reads and writes the gate tensors again,
and on a CPU that arithmetic costs more than the products, all the more in
bfloat16 where the products are several times faster. Here the whole
sequence of both layers is written as two pure functions,
:func:`stack_forward` and :func:`stack_backward`, which ``torch.compile``
turns into one graph each: per step one generated kernel for the cell's
arithmetic (:func:`cell_forward`, :func:`cell_backward`; on the CPU, C++
built with the system's compiler) with PyTorch's own batched product between
the steps, and no Python in between. The product results may arrive in
bfloat16, and the operands of the next products leave in the products'
precision, so no separate conversion runs either; ``tanh`` is computed as
``2 sigmoid(2x) - 1`` (as the eager code does), one exponential where the
generated ``tanh`` costs several.

Compilation is optional and safe:

* ``MUVI_FUSED_CELLS=0`` (or :func:`set_fused_cells` ``(False)``) turns it
  off, ``=1`` forces it on for every size and device; by default (``auto``)
  only stacks on the CPU big enough to profit are fused (:func:`worth_fusing`),
  so small networks (and the test suite) never pay the compile time;
* when ``torch.compile`` is missing, or compiling or running a compiled
  kernel fails (no C++ compiler, an unsupported platform), muvi says so once
  (a :class:`FusedCellsUnavailable` warning) and keeps computing with the
  step-by-step eager code, which gives the same results;
* compiled graphs are cached per dtype, number of steps and which inputs
  are absent by ``torch.compile`` (sizes are symbolic), and on disk by its
  inductor backend, so a second process starts faster.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

FUSE_MIN_HIDDEN = 64
"""Auto rule: layers narrower than this are not fused (measured: below it the
per-call overhead of a compiled kernel is comparable to the work it saves)."""

FUSE_MIN_ELEMENTS = 2**16
"""Auto rule: fuse when one step's cell state (networks x batch x hidden) has
at least this many elements (a single 256-unit network at batch 256 has
65,536)."""

RECOMPILE_LIMIT = 32
"""``torch._dynamo``'s recompile limit is raised to at least this (its default
is 8): the graphs are compiled per dtype, number of steps and absent inputs."""

_MODES = ("auto", "0", "1")


class FusedCellsUnavailable(UserWarning):
    """``torch.compile`` could not build or run the fused cell kernels; muvi
    uses the eager step-by-step arithmetic instead (same results)."""


_override: bool | None = None
_failed: str | None = None
_compiled: dict[str, Callable[..., Any]] = {}


def set_fused_cells(enabled: bool | None) -> None:
    """Force fusion on (True) or off (False), or back to ``MUVI_FUSED_CELLS`` / auto (None)."""
    global _override
    _override = enabled


def fusion_setting() -> str:
    """``"auto"``, ``"0"`` (off) or ``"1"`` (always): :func:`set_fused_cells`,
    else the ``MUVI_FUSED_CELLS`` environment variable, else ``auto``.

    Examples:
        >>> set_fused_cells(False); fusion_setting()
        '0'
        >>> set_fused_cells(None)
    """
    if _override is not None:
        return "1" if _override else "0"
    value = os.environ.get("MUVI_FUSED_CELLS", "auto").strip().lower()
    return value if value in _MODES else "auto"


def worth_fusing(networks: int, batch: int, hidden: int) -> bool:
    """The auto rule: fuse layers of at least :data:`FUSE_MIN_HIDDEN` units
    whose step holds at least :data:`FUSE_MIN_ELEMENTS` cell-state values.

    Examples:
        >>> worth_fusing(1, 256, 256), worth_fusing(20, 256, 32), worth_fusing(1, 64, 64)
        (True, False, False)
    """
    return hidden >= FUSE_MIN_HIDDEN and networks * batch * hidden >= FUSE_MIN_ELEMENTS


def use_fused(networks: int, batch: int, hidden: int, device: str = "cpu") -> bool:
    """Whether the recurrence should run the fused kernels for this layer.
    ``auto`` fuses on the CPU only (where it was measured); on other devices
    ``MUVI_FUSED_CELLS=1`` turns it on."""
    if _failed is not None:
        return False
    setting = fusion_setting()
    if setting == "0":
        return False
    return setting == "1" or (device == "cpu" and worth_fusing(networks, batch, hidden))


def failed() -> bool:
    """True once fusion has failed in this process (the eager code runs from then on)."""
    return _failed is not None


def fallback(error: BaseException) -> None:
    """Record that fusion failed: warn once, and use the eager code from now on."""
    global _failed
    first = _failed is None
    _failed = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"
    if first:
        warnings.warn(
            f"fused LSTM cells unavailable ({_failed}); using the eager arithmetic "
            "(same results, slower; MUVI_FUSED_CELLS=0 silences this)",
            FusedCellsUnavailable,
            stacklevel=3,
        )


def reset() -> None:
    """Forget a recorded failure and the compiled kernels (for tests)."""
    global _failed
    _failed = None
    _compiled.clear()


def _tanh(x: torch.Tensor) -> torch.Tensor:
    """``tanh(x) = 2 sigmoid(2x) - 1``: the same function, computed as the
    eager code computes it; in the generated kernels it costs one exponential
    where ``tanh`` costs several."""
    return 2.0 * torch.sigmoid(2.0 * x) - 1.0


def cell_forward(
    gx: torch.Tensor,
    rec: torch.Tensor | None,
    c_prev: torch.Tensor | None,
    mask: torch.Tensor | None,
    dtype: torch.dtype,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One LSTM step's pointwise part (gate order i, f, g, o).

    Args:
        gx: (..., 4 * hidden) input gates (float32, or bfloat16 from a
            bfloat16 product), biases included unless ``bias`` is given.
        rec: (..., 4 * hidden) the recurrent product ``h_{t-1} W_hh^T`` (float32
            or bfloat16), or None at the first step (zero).
        c_prev: (..., hidden) previous cell state, or None at the first step (zero).
        mask: (..., hidden) dropout mask applied to the output for the next
            layer, or None.
        dtype: the matrix products' precision.
        bias: float32 bias broadcast onto ``gx`` (added before ``rec``), or None.

    Returns:
        ``acts`` (sigmoid i, f, o and tanh g, float32), ``c``, ``h`` (float32),
        ``h`` in ``dtype`` (operand of the next recurrent product) and
        ``h * mask`` in ``dtype`` (operand of the next layer's product; ``h``
        in ``dtype`` when there is no mask).
    """
    z = gx.float() if bias is None else gx.float() + bias
    if rec is not None:
        z = z + rec.float()
    i, f, g, o = z.chunk(4, dim=-1)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = _tanh(g)
    c = i * g if c_prev is None else f * c_prev + i * g
    h = o * _tanh(c)
    h_low = h.to(dtype)
    return (
        torch.cat([i, f, g, o], dim=-1),
        c,
        h,
        h_low,
        h_low if mask is None else (h * mask).to(dtype),
    )


def cell_backward(
    dh: torch.Tensor,
    dc: torch.Tensor | None,
    acts: torch.Tensor,
    c: torch.Tensor,
    c_prev: torch.Tensor | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The backward of :func:`cell_forward` for one step.

    Args:
        dh: (..., hidden) float32 gradient reaching ``h_t`` (from above and
            from step t + 1's recurrent product).
        dc: (..., hidden) gradient reaching ``c_t`` from step t + 1 (None at
            the last step).
        acts: the step's gate activations from :func:`cell_forward`.
        c: the step's cell state from :func:`cell_forward`.
        c_prev: the previous cell state (None at the first step).
        dtype: the matrix products' precision.

    Returns:
        ``dz`` (..., 4 * hidden) float32 gradient of the gate pre-activations,
        ``dz`` in ``dtype`` (operand of the products), and the gradient
        reaching ``c_{t-1}``.
    """
    i, f, g, o = acts.chunk(4, dim=-1)
    tanh_c = _tanh(c)
    dc_h = dh * o * (1.0 - tanh_c * tanh_c)
    dc = dc_h if dc is None else dc + dc_h
    do = dh * tanh_c * o * (1.0 - o)
    di = dc * g * i * (1.0 - i)
    dg = dc * i * (1.0 - g * g)
    df = torch.zeros_like(dc) if c_prev is None else dc * c_prev * f * (1.0 - f)
    dz = torch.cat([di, df, dg, do], dim=-1)
    return dz, dz.to(dtype), dc * f


def _layer_forward(
    gx: torch.Tensor,
    w_t: torch.Tensor,
    mask: torch.Tensor | None,
    dtype: torch.dtype,
    bias: torch.Tensor | None,
) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
    """One layer of a stack over all its steps.

    Args:
        gx: (networks, steps, batch, 4 * hidden) input gates.
        w_t: (networks, hidden, 4 * hidden) transposed recurrent weights in ``dtype``.
        mask: (networks, steps, batch, hidden) dropout mask on the outputs, or None.
        dtype: the matrix products' precision.
        bias: (networks, 1, 4 * hidden) float32 bias added to ``gx``, or None.

    Returns:
        Per step the activations and cell states (networks, batch, ...), the
        last output (float32), and in ``dtype`` the outputs of every step but
        the last (networks, steps - 1, batch, hidden: the recurrent products'
        operands) and the masked outputs (networks, steps, batch, hidden).
    """
    steps = gx.shape[1]
    acts, cs, xs = [], [], []
    hs: list[torch.Tensor] = []
    c: torch.Tensor | None = None
    h = gx.new_empty(0)
    for t in range(steps):
        rec = None if t == 0 else torch.bmm(hs[-1], w_t)
        m = None if mask is None else mask[:, t]
        a, c, h, h_low, x_low = cell_forward(gx[:, t], rec, c, m, dtype, bias)
        acts.append(a)
        cs.append(c)
        hs.append(h_low)
        xs.append(x_low)
    # (the activations and cell states are read step by step: kept per step, not stacked)
    n, _, batch, width = gx.shape
    before = (
        torch.stack(hs[:-1], dim=1)
        if steps > 1
        else gx.new_zeros(n, 0, batch, width // 4, dtype=dtype)
    )
    return acts, cs, h, before, torch.stack(xs, dim=1)


def _layer_backward(
    acts: list[torch.Tensor],
    cs: list[torch.Tensor],
    w: torch.Tensor,
    up: torch.Tensor | None,
    up_mask: torch.Tensor | None,
    up_last: torch.Tensor | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Backward of :func:`_layer_forward`.

    Args:
        acts: per step, the activations from :func:`_layer_forward`.
        cs: per step, the cell states from :func:`_layer_forward`.
        w: (networks, 4 * hidden, hidden) recurrent weights in ``dtype``.
        up: (networks, steps, batch, hidden) gradient reaching every output
            from above (before its mask), or None.
        up_mask: that mask, or None.
        up_last: (networks, batch, hidden) float32 gradient reaching the last
            output, when ``up`` is None.
        dtype: the matrix products' precision.

    Returns:
        The stacked gradient of the gate pre-activations in ``dtype``, and
        per step the same in float32.
    """
    steps = len(acts)
    dz32: list[torch.Tensor] = []
    dz_low: list[torch.Tensor] = []
    rec: torch.Tensor | None = None
    dc: torch.Tensor | None = None
    for t in reversed(range(steps)):
        if up is None:  # only the last output is used
            assert up_last is not None
            dh = up_last if rec is None else rec.float()
        else:
            dh = up[:, t].float() if up_mask is None else up[:, t].float() * up_mask[:, t]
            if rec is not None:
                dh = dh + rec.float()
        dz, low, dc = cell_backward(dh, dc, acts[t], cs[t], cs[t - 1] if t else None, dtype)
        dz32.insert(0, dz)
        dz_low.insert(0, low)
        if t > 0:
            rec = torch.bmm(low, w)
    return torch.stack(dz_low, dim=1), dz32


def _flat(x: torch.Tensor) -> torch.Tensor:
    """(networks, steps, batch, width) as (networks, steps * batch, width)."""
    return x.reshape(x.shape[0], -1, x.shape[-1])


def stack_forward(
    gx1: torch.Tensor,
    w_hh1: torch.Tensor,
    w_ih2: torch.Tensor,
    w_hh2: torch.Tensor,
    b2: torch.Tensor,
    mask1: torch.Tensor | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """The two stacked LSTM layers of a stack of networks, every step at once.

    Args:
        gx1: (networks, steps, batch, 4 * hidden1) first layer's input gates.
        w_hh1: (networks, 4 * hidden1, hidden1) first layer's recurrent weights (float32).
        w_ih2: (networks, 4 * hidden2, hidden1) second layer's input weights (float32).
        w_hh2: (networks, 4 * hidden2, hidden2) second layer's recurrent weights (float32).
        b2: (networks, 4 * hidden2) second layer's biases.
        mask1: (networks, steps, batch, hidden1) dropout mask on the first
            layer's outputs, or None.
        dtype: the matrix products' precision.

    Returns:
        The second layer's last output (networks, batch, hidden2), float32,
        and what :func:`stack_backward` needs (its parts: :func:`unpack_saved`).
    """
    n, steps, batch, _ = gx1.shape
    # the weights rounded once per call (one optimiser step); the forward
    # products read them transposed, (in, 4 * hidden), the backward ones as they are
    low = [w.to(dtype) for w in (w_hh1, w_ih2, w_hh2)]
    w_t = [w.transpose(1, 2).contiguous() for w in low]
    acts1, c1, _, h1, x2 = _layer_forward(gx1, w_t[0], mask1, dtype, None)
    # the product alone; the cells add the float32 bias as they read it
    gx2 = torch.bmm(_flat(x2), w_t[1]).view(n, steps, batch, -1)
    acts2, c2, out, h2, _ = _layer_forward(gx2, w_t[2], None, dtype, b2.unsqueeze(1))
    return out, (low[0], low[1], low[2], h1, x2, h2, *acts1, *c1, *acts2, *c2)


def unpack_saved(
    saved: Sequence[torch.Tensor],
) -> tuple[
    torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
    list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], list[torch.Tensor],
]:  # fmt: skip
    """The parts of :func:`stack_forward`'s flat ``saved`` tuple: the three
    weights in the products' precision (as the parameters hold them), the
    first layer's outputs before its last step, the second layer's input
    (masked first-layer outputs), the second layer's outputs before its last
    step, then per step the first layer's activations and cell states and the
    second layer's activations and cell states."""
    w_hh1, w_ih2, w_hh2, h1, x2, h2 = saved[:6]
    steps = x2.shape[1]
    acts1, c1, acts2, c2 = (list(saved[6 + k * steps : 6 + (k + 1) * steps]) for k in range(4))
    return w_hh1, w_ih2, w_hh2, h1, x2, h2, acts1, c1, acts2, c2


def stack_backward(
    saved: tuple[torch.Tensor, ...],
    dlast: torch.Tensor,
    mask1: torch.Tensor | None,
    dtype: torch.dtype,
    gx1_dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gate gradients of :func:`stack_forward`'s two layers.

    Args:
        saved: from :func:`stack_forward`.
        dlast: (networks, batch, hidden2) float32 gradient of the last output.
        mask1: the first layer's dropout mask, or None.
        dtype: the matrix products' precision.
        gx1_dtype: the dtype of the first layer's input gates.

    Returns:
        The gradient of the first layer's input gates in ``gx1_dtype``, both
        layers' stacked gate gradients in ``dtype`` (networks, steps, batch,
        4 * hidden), and the second layer's bias gradient (float32, summed
        over steps and windows). The weight gradients are products of the gate
        gradients with the saved outputs (:mod:`muvi.models.recurrence`).
    """
    w_hh1, w_ih2, w_hh2, _, x2, _, acts1, c1, acts2, c2 = unpack_saved(saved)
    dz2, dz2_32 = _layer_backward(acts2, c2, w_hh2, None, None, dlast, dtype)
    db2 = torch.stack([d.sum(1) for d in dz2_32]).sum(0)
    dx2 = torch.bmm(_flat(dz2), w_ih2).view(x2.shape)
    dz1, dz1_32 = _layer_backward(acts1, c1, w_hh1, dx2, mask1, None, dtype)
    # in bfloat16 mode the input gates come from a bfloat16 product, whose
    # backward takes its operands in bfloat16
    dg1 = dz1 if gx1_dtype == dtype else torch.stack(dz1_32, dim=1).to(gx1_dtype)
    return dg1, dz1, dz2, db2


def compiled(name: str) -> Callable[..., Any]:
    """The compiled version of :func:`stack_forward` (``"forward"``) or
    :func:`stack_backward` (``"backward"``), built on first use."""
    if name not in _compiled:
        import torch._dynamo

        # one graph per dtype, number of steps and which inputs are None
        config = torch._dynamo.config
        config.recompile_limit = max(config.recompile_limit, RECOMPILE_LIMIT)
        fn: Callable[..., Any] = stack_forward if name == "forward" else stack_backward
        _compiled[name] = torch.compile(fn, fullgraph=True, dynamic=True)
    return _compiled[name]
