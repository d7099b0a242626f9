"""The fused LSTM cells (torch.compile) against the eager step-by-step code.

These tests force fusion on (the auto rule never fuses networks this small),
so they pay the compile time once for the module. float32: the same maths
in another order, agreement to float32 rounding (1e-5 relative). bfloat16:
the fused path rounds the same operands, so it agrees with the eager
bfloat16 path far inside the bfloat16 tolerance of test_bfloat16.py
(16u of the outputs' scale, 32u of each gradient's norm, u = 2**-8), and
with float32 within that tolerance but not exactly.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import torch

from muvi.models import fused_cells
from muvi.models.lstm import BlockConfig, UnimodalNet, WindowNet
from muvi.models.precision import BF16_UNIT_ROUNDOFF
from muvi.models.recurrence import stacked_two_layer_lstm
from muvi.models.stacking import StackedDropout
from muvi.models.training import seed_everything
from muvi.models.windows import window_positions

U = BF16_UNIT_ROUNDOFF


@pytest.fixture(autouse=True)
def _fusion_state() -> Iterator[None]:
    fused_cells.reset()
    yield
    fused_cells.set_fused_cells(None)
    fused_cells.reset()


def stack_inputs(
    seed: int = 0, n: int = 2, steps: int = 4, batch: int = 16, h1: int = 8, h2: int = 6
):
    g = torch.Generator().manual_seed(seed)
    gx = torch.randn(n, steps, batch, 4 * h1, generator=g)
    weights = [
        torch.randn(n, 4 * h1, h1, generator=g) * 0.4,
        torch.randn(n, 4 * h2, h1, generator=g) * 0.4,
        torch.randn(n, 4 * h2, h2, generator=g) * 0.4,
        torch.randn(n, 4 * h2, generator=g) * 0.4,
    ]
    mask1 = (torch.rand(n, steps, batch, h1, generator=g) < 0.8).float() / 0.8
    mask2 = (torch.rand(n, batch, h2, generator=g) < 0.8).float() / 0.8
    weight_out = torch.randn(n, batch, h2, generator=g)
    return gx, weights, mask1, mask2, weight_out


def run_stack(fused: bool, dtype: torch.dtype, masks: bool = True, seed: int = 0, steps: int = 4):
    """Output and the gradients of every input of the stacked recurrence."""
    fused_cells.set_fused_cells(fused)
    gx, weights, mask1, mask2, weight_out = stack_inputs(seed, steps=steps)
    leaves = [t.clone().requires_grad_() for t in (gx, *weights)]
    out = stacked_two_layer_lstm(*leaves, mask1 if masks else None, mask2 if masks else None, dtype)
    (out * weight_out).sum().backward()
    return out.detach(), [t.grad for t in leaves]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("masks", [True, False])
def test_fused_float32_equals_eager(masks: bool) -> None:
    out_e, grads_e = run_stack(False, torch.float32, masks)
    out_f, grads_f = run_stack(True, torch.float32, masks)
    assert not fused_cells.failed()
    assert torch.allclose(out_f, out_e, rtol=1e-5, atol=1e-6)
    for gf, ge in zip(grads_f, grads_e, strict=True):
        assert rel(gf, ge) < 1e-5


@pytest.mark.parametrize("steps", [1, 2])
def test_fused_short_sequences(steps: int) -> None:
    """One step (no recurrent product, a zero recurrent-weight gradient) and
    two steps (one recurrent product) through the compiled graphs."""
    out_e, grads_e = run_stack(False, torch.float32, steps=steps)
    out_f, grads_f = run_stack(True, torch.float32, steps=steps)
    assert not fused_cells.failed()
    assert torch.allclose(out_f, out_e, rtol=1e-5, atol=1e-6)
    for gf, ge in zip(grads_f, grads_e, strict=True):
        assert gf.shape == ge.shape
        assert (gf - ge).norm() <= 1e-5 * max(float(ge.norm()), 1e-12)
    if steps == 1:  # no recurrent step: both recurrent weights get exactly zero
        assert not grads_f[1].any() and not grads_f[3].any()
    else:
        assert grads_f[1].any() and grads_f[3].any()


def test_fused_bfloat16_agrees_with_eager_and_float32() -> None:
    out32, grads32 = run_stack(False, torch.float32)
    out_e, grads_e = run_stack(False, torch.bfloat16)
    out_f, grads_f = run_stack(True, torch.bfloat16)
    assert not fused_cells.failed()
    scale = out32.abs().max()
    # fused bfloat16 vs eager bfloat16: same roundings, only the order of float32 arithmetic
    assert (out_f - out_e).abs().max() <= U * scale
    for gf, ge in zip(grads_f, grads_e, strict=True):
        assert rel(gf, ge) <= 2 * U
    # and against float32: within bfloat16's tolerance, but really rounded
    assert 0 < (out_f - out32).abs().max() <= 16 * U * scale
    for gf, g32 in zip(grads_f, grads32, strict=True):
        assert rel(gf, g32) <= 32 * U
    assert any(rel(gf, g32) > 0 for gf, g32 in zip(grads_f, grads32, strict=True))


def net_outputs_and_grads(net: WindowNet, dtype: torch.dtype, fused: bool):
    """A whole network's stacked training step (input product, dropout, the
    recurrence, the head) with the fused cells on or off."""
    fused_cells.set_fused_cells(fused)
    g = torch.Generator().manual_seed(3)
    rows = {"main": torch.rand(1, 120, 20, generator=g)}
    positions = torch.from_numpy(window_positions(4, 30, 4))[:48].T.unsqueeze(0)
    targets = torch.rand(1, 48, generator=g)
    params = {
        n: p.detach().clone().unsqueeze(0).requires_grad_() for n, p in net.named_parameters()
    }
    drop = StackedDropout([torch.Generator().manual_seed(5)], [48], 48, torch.device("cpu"))
    rows = {k: v.to(dtype) for k, v in rows.items()}
    out = net.stacked_forward(
        params, rows, torch.zeros(1, dtype=torch.long), positions, drop, dtype
    )
    ((out - targets) ** 2).mean().backward()
    return out.detach(), {n: p.grad for n, p in params.items()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_network_step_agrees_with_eager(dtype: torch.dtype) -> None:
    seed_everything(0)
    net = UnimodalNet(20, ("audio",), BlockConfig(hidden=(16, 8)))
    out_e, grads_e = net_outputs_and_grads(net, dtype, False)
    out_f, grads_f = net_outputs_and_grads(net, dtype, True)
    assert not fused_cells.failed()
    tol = 1e-5 if dtype == torch.float32 else 2 * U
    assert (out_f - out_e).abs().max() <= tol * out_e.abs().max()
    for name, ge in grads_e.items():
        assert rel(grads_f[name], ge) <= tol, name


def _broken(name: str):
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"simulated: no C++ compiler ({name})")

    return fail


@pytest.mark.parametrize("broken", ["forward", "backward"])
def test_compile_failure_falls_back_to_eager(monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    """A compiler failure (simulated, in the forward or only in the backward
    kernel) gives one warning and the eager results, and fusion stays off."""
    out_e, grads_e = run_stack(False, torch.bfloat16)
    real = fused_cells.compiled
    monkeypatch.setattr(
        fused_cells, "compiled", lambda name: _broken(name) if name == broken else real(name)
    )
    with pytest.warns(fused_cells.FusedCellsUnavailable, match="simulated: no C\\+\\+ compiler"):
        out_f, grads_f = run_stack(True, torch.bfloat16)
    assert fused_cells.failed()
    assert not fused_cells.use_fused(20, 256, 256)
    # (with only the backward broken, the forward ran fused: bfloat16 agreement)
    assert (out_f - out_e).abs().max() <= U * out_e.abs().max()
    for gf, ge in zip(grads_f, grads_e, strict=True):
        assert rel(gf, ge) <= 2 * U
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        run_stack(True, torch.bfloat16)


def test_setting_and_auto_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUVI_FUSED_CELLS", "0")
    assert not fused_cells.use_fused(20, 256, 256)
    monkeypatch.setenv("MUVI_FUSED_CELLS", "1")
    assert fused_cells.use_fused(1, 4, 4)
    monkeypatch.setenv("MUVI_FUSED_CELLS", "auto")
    # the paper's 256-unit network at batch 256 is fused; the test suite's small ones are not
    assert fused_cells.use_fused(1, 256, 256)
    assert not fused_cells.use_fused(20, 256, 32)
    assert not fused_cells.use_fused(2, 64, 16)
    assert not fused_cells.use_fused(20, 256, 256, "cuda")  # auto: CPU only
    fused_cells.set_fused_cells(False)
    assert not fused_cells.use_fused(20, 256, 256)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cell_adds_the_bias_as_the_input_gates_would_hold_it(dtype: torch.dtype) -> None:
    """The second layer's bias is added inside the cell (no separate pass over
    the gates); the result must be that of gates holding the bias, bit for bit:
    ``(gx + b) + rec`` in float32."""
    g = torch.Generator().manual_seed(2)
    n, batch, hidden = 2, 5, 8
    gx = torch.randn(n, batch, 4 * hidden, generator=g).to(dtype)
    rec = torch.randn(n, batch, 4 * hidden, generator=g).to(dtype)
    c = torch.randn(n, batch, hidden, generator=g)
    mask = (torch.rand(n, batch, hidden, generator=g) < 0.8).float() / 0.8
    bias = torch.randn(n, 1, 4 * hidden, generator=g)
    with_bias = fused_cells.cell_forward(gx, rec, c, mask, dtype, bias)
    held = fused_cells.cell_forward(gx.float() + bias, rec, c, mask, dtype)
    without = fused_cells.cell_forward(gx, rec, c, mask, dtype)
    for ours, ref, other in zip(with_bias, held, without, strict=True):
        assert torch.equal(ours, ref)
        assert not torch.equal(ours, other)
