"""The LSTM cell's pointwise arithmetic, one fused kernel per time step.

Per step the stacked recurrence (:mod:`muvi.models.recurrence`) does one
matrix product and then about ten pointwise operations on the gates (the
activations, the cell state, the output; in the backward pass their
derivatives). Run one by one, each reads and writes the gate tensors again,
and on a CPU that arithmetic costs more than the products, all the more in
bfloat16 where the products are several times faster. Here that arithmetic
is written as two pure functions, :func:`cell_forward` and
:func:`cell_backward`, which ``torch.compile`` turns into one generated
kernel each (on the CPU, C++ built with the system's compiler); the product
results may arrive in bfloat16 and the operands of the next products leave
in the products' precision, so no separate conversion runs either.

Compilation is optional and safe:

* ``MUVI_FUSED_CELLS=0`` (or :func:`set_fused_cells` ``(False)``) turns it
  off, ``=1`` forces it on for every size and device; by default (``auto``)
  only stacks on the CPU big enough to profit are fused (:func:`worth_fusing`),
  so small networks (and the test suite) never pay the compile time;
* when ``torch.compile`` is missing, or compiling or running a compiled
  kernel fails (no C++ compiler, an unsupported platform), muvi says so once
  (a :class:`FusedCellsUnavailable` warning) and keeps computing with the
  step-by-step eager code, which gives the same results;
* compiled kernels are cached per shape and dtype by ``torch.compile``
  (and on disk by its inductor backend, so a second process starts faster).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
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
is 8): the cell functions are compiled per dtype and argument layout."""

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


def cell_forward(
    gx: torch.Tensor,
    rec: torch.Tensor,
    c_prev: torch.Tensor,
    mask: torch.Tensor,
    dtype: torch.dtype,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One LSTM step's pointwise part (gate order i, f, g, o).

    Args:
        gx: (..., 4 * hidden) input gates (float32, or bfloat16 from a
            bfloat16 product), biases included unless ``bias`` is given.
        rec: (..., 4 * hidden) the recurrent product ``h_{t-1} W_hh^T`` (float32
            or bfloat16; zeros at the first step).
        c_prev: (..., hidden) previous cell state (zeros at the first step).
        mask: (..., hidden) dropout mask applied to the output for the next
            layer (ones when there is none).
        dtype: the matrix products' precision.
        bias: float32 bias broadcast onto ``gx`` (added before ``rec``), or None.

    Returns:
        ``acts`` (sigmoid i, f, o and tanh g, float32), ``c``, ``h`` (float32),
        ``h`` in ``dtype`` (operand of the next recurrent product) and
        ``h * mask`` in ``dtype`` (operand of the next layer's product).
    """
    z = (gx.float() if bias is None else gx.float() + bias) + rec.float()
    i, f, g, o = z.chunk(4, dim=-1)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return torch.cat([i, f, g, o], dim=-1), c, h, h.to(dtype), (h * mask).to(dtype)


def cell_backward(
    up: torch.Tensor,
    up_mask: torch.Tensor,
    rec: torch.Tensor,
    dc: torch.Tensor,
    acts: torch.Tensor,
    c: torch.Tensor,
    c_prev: torch.Tensor,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The backward of :func:`cell_forward` for one step.

    Args:
        up: (..., hidden) gradient reaching ``h_t`` from above, before its
            dropout mask (float32 or bfloat16; zeros when none).
        up_mask: (..., hidden) that mask (ones when none).
        rec: (..., hidden) gradient reaching ``h_t`` from step t + 1's
            recurrent product (zeros at the last step).
        dc: (..., hidden) gradient reaching ``c_t`` from step t + 1.
        acts: the step's gate activations from :func:`cell_forward`.
        c: the step's cell state from :func:`cell_forward`.
        c_prev: the previous cell state (zeros at the first step).
        dtype: the matrix products' precision.

    Returns:
        ``dz`` (..., 4 * hidden) float32 gradient of the gate pre-activations,
        ``dz`` in ``dtype`` (operand of the products), and the gradient
        reaching ``c_{t-1}``.
    """
    dh = up.float() * up_mask + rec.float()
    i, f, g, o = acts.chunk(4, dim=-1)
    tanh_c = torch.tanh(c)
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
    do = dh * tanh_c * o * (1.0 - o)
    di = dc * g * i * (1.0 - i)
    dg = dc * i * (1.0 - g * g)
    df = dc * c_prev * f * (1.0 - f)
    dz = torch.cat([di, df, dg, do], dim=-1)
    return dz, dz.to(dtype), dc * f


def compiled(name: str) -> Callable[..., Any]:
    """The compiled version of :func:`cell_forward` (``"forward"``) or
    :func:`cell_backward` (``"backward"``), built on first use."""
    if name not in _compiled:
        import torch._dynamo

        # one kernel per dtype, and per layout of the arguments (slices of the
        # stacked steps, the first step's zeros): about 10 variants each
        config = torch._dynamo.config
        config.recompile_limit = max(config.recompile_limit, RECOMPILE_LIMIT)
        fn: Callable[..., Any] = cell_forward if name == "forward" else cell_backward
        _compiled[name] = torch.compile(fn, fullgraph=True, dynamic=True)
    return _compiled[name]
