"""Pieces shared by networks that run stacked (a leading network axis).

A stack holds networks of one architecture and input width; their
parameters are stacked along a leading axis and their matrix products are
batched over it (``torch.bmm``). Each network keeps its own random streams:
:class:`StackedDropout` draws every network's dropout masks from that
network's own generator, in the order and with the shapes one-at-a-time
training draws them, so a stacked network sees the masks it would see alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def baddbmm(
    bias: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """``x @ weight^T + bias`` per network (a dense layer of every network at once).

    Args:
        bias: (networks, out).
        x: (networks, rows, in).
        weight: (networks, out, in), as ``nn.Linear`` stores it.
        dtype: the product's precision: float32, or bfloat16, where the bias is
            added inside the product (accumulated in float32) and the result
            is bfloat16: every caller feeds it to another bfloat16 product or
            to the LSTM cells, which read it once, so no float32 copy is made.

    Returns:
        (networks, rows, out), in ``dtype``.

    Examples:
        >>> lin = torch.nn.Linear(3, 2)
        >>> x = torch.randn(5, 3)
        >>> out = baddbmm(lin.bias[None], x[None], lin.weight[None], torch.float32)
        >>> torch.allclose(out[0], lin(x), atol=1e-6)
        True
    """
    if dtype == torch.float32:
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
    out = _LowPrecisionDense.apply(bias, x, weight, dtype)
    assert isinstance(out, torch.Tensor)
    return out


class _LowPrecisionDense(torch.autograd.Function):
    """:func:`baddbmm` in a low precision (bfloat16) with its own backward.

    Autograd's backward of ``baddbmm(b, x, W.to(dtype).T)`` computes the
    weight gradient as ``x^T dY`` in the transposed layout and then converts
    it to float32 while transposing it back, a slow strided copy as large as
    the weights, every step. Here ``dW = dY^T x`` is computed in the weights'
    own layout and converted in one contiguous pass. The gradients equal
    autograd's bit for bit (tests/models/test_bfloat16.py): the same bfloat16
    operands, float32 accumulation and bfloat16 results, ``db`` summed in
    bfloat16 as autograd sums it.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, bias: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, dtype: torch.dtype
    ) -> torch.Tensor:
        x_low, w_low = x.to(dtype), weight.to(dtype)
        ctx.save_for_backward(x_low, w_low)
        ctx.x_dtype = x.dtype
        return torch.baddbmm(bias.unsqueeze(1).to(dtype), x_low, w_low.transpose(1, 2))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x_low, w_low = ctx.saved_tensors
        grad = grad.to(x_low.dtype)
        d_bias = grad.sum(1).float() if ctx.needs_input_grad[0] else None
        d_x = torch.bmm(grad, w_low).to(ctx.x_dtype) if ctx.needs_input_grad[1] else None
        d_w = torch.bmm(grad.transpose(1, 2), x_low).float() if ctx.needs_input_grad[2] else None
        return d_bias, d_x, d_w, None


def gather_rows(
    rows: torch.Tensor, data_index: torch.Tensor, positions: torch.Tensor
) -> torch.Tensor:
    """The feature rows of every network's windows, ``rows[data_index, positions]``.

    Args:
        rows: (datasets, n_rows, n_features).
        data_index: (networks,) the dataset each network reads.
        positions: (networks, history, batch) row positions.

    Returns:
        (networks, history, batch, n_features): the same values as advanced
        indexing, gathered with one ``index_select`` over the flattened rows
        (several times faster on the CPU than indexing with three index tensors).

    Examples:
        >>> rows = torch.arange(24.0).view(2, 4, 3)
        >>> pos = torch.tensor([[[0, 3]], [[1, 2]]])
        >>> idx = torch.tensor([1, 0])
        >>> torch.equal(gather_rows(rows, idx, pos), rows[idx[:, None, None], pos])
        True
    """
    n_rows, width = rows.shape[1], rows.shape[2]
    flat = (data_index[:, None, None] * n_rows + positions).reshape(-1)
    return rows.reshape(-1, width).index_select(0, flat).view(*positions.shape, width)


def sub_params(params: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``params`` under ``prefix``, with the prefix removed.

    Examples:
        >>> sorted(sub_params({"a.x": 1, "a.y": 2, "b.x": 3}, "a."))
        ['x', 'y']
    """
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


class StackedDropout:
    """Dropout masks for a stack of networks, each from its own generator.

    Args:
        generators: one per network of the stack (in stack order).
        sizes: each network's real batch size in this step (the stacked batch
            is padded to ``batch``; padded windows carry no loss).
        batch: the padded batch size.
        device: where the masks live.
    """

    def __init__(
        self,
        generators: Sequence[torch.Generator],
        sizes: Sequence[int],
        batch: int,
        device: torch.device,
    ) -> None:
        self.generators = list(generators)
        self.sizes = list(sizes)
        self.batch = batch
        self.device = device

    def _mask(self, inner: tuple[int, ...], batch_axis: int, keep: float) -> torch.Tensor:
        n = len(self.generators)
        shape = list(inner)
        shape.insert(batch_axis, self.batch)
        uniform = torch.empty((n, *shape), device=self.device)
        for k, (gen, size) in enumerate(zip(self.generators, self.sizes, strict=True)):
            if size == self.batch:  # a full batch: drawn in place
                torch.rand(shape, generator=gen, out=uniform[k])
                continue
            uniform[k].zero_()
            if size == 0:
                continue
            own = list(inner)
            own.insert(batch_axis, size)
            draw = torch.rand(own, generator=gen, device=self.device)
            uniform[k].narrow(batch_axis, 0, size).copy_(draw)
        return (uniform < keep).to(torch.float32).div_(keep)

    def sequence_mask(self, steps: int, hidden: int, keep: float) -> torch.Tensor:
        """(networks, steps, batch, hidden): one network's mask is drawn as
        ``torch.rand((steps, size, hidden))`` from its generator."""
        return self._mask((steps, hidden), 1, keep)

    def last_mask(self, hidden: int, keep: float) -> torch.Tensor:
        """(networks, batch, hidden): drawn as ``torch.rand((size, hidden))``."""
        return self._mask((hidden,), 0, keep)
