"""The bfloat16 path (matrix products in bfloat16, everything else float32).

Tolerances come from bfloat16's unit roundoff u = 2**-8 (8-bit significand).
One product sum_i a_i b_i with both operands rounded carries a relative error
of at most about 2u of sum_i |a_i b_i|; the network chains about six such
products (input projection, two recurrent layers over 4 steps, the second
layer's input projection, the head) whose errors add, and the gates'
derivatives are at most 1, so outputs may move by about 12u times the scale
of the products. We allow 16u (about 0.06) of the outputs' scale, and for the
gradients (a backward pass as long again) 32u of each gradient's norm.
Measured errors are several times smaller; a float32 product mistaken for
bfloat16 (or the reverse) fails the ``> 0`` checks.
"""

from __future__ import annotations

import copy

import pytest
import torch

from muvi.models.batched import predict_stacked, train_stacked
from muvi.models.lstm import BlockConfig, LateFusionNet, UnimodalNet, WindowNet
from muvi.models.precision import BF16_UNIT_ROUNDOFF, cpu_capabilities, resolve_precision
from muvi.models.training import TrainingConfig, WindowData, seed_everything
from muvi.models.windows import window_positions

U = BF16_UNIT_ROUNDOFF
BLOCK = BlockConfig(hidden=(32, 16))
REF = BlockConfig(hidden=(32, 16), projection=24)


def data_for(widths: dict[str, int], n_items: int = 6, seed: int = 0) -> WindowData:
    g = torch.Generator().manual_seed(seed)
    rows = {b: torch.rand(n_items * 30, w, generator=g) for b, w in widths.items()}
    positions = torch.from_numpy(window_positions(n_items, 30, 4))
    first = next(iter(rows.values()))
    targets = torch.tanh(2 * first[positions[:, -1], 0] - 1)
    return WindowData(rows, positions, targets.float())


NETS = {
    "lstm": (lambda: UnimodalNet(40, ("audio",), BLOCK), {"main": 40}),
    "reference_block": (lambda: UnimodalNet(40, ("audio",), REF), {"main": 40}),
    "late_fusion": (
        lambda: LateFusionNet({"audio": 40, "visual": 20}, BLOCK),
        {"audio": 40, "visual": 20},
    ),
}


def outputs_and_grads(net: WindowNet, data: WindowData, dtype: torch.dtype):
    params = {
        n: p.detach().clone().unsqueeze(0).requires_grad_() for n, p in net.named_parameters()
    }
    rows = {b: r.unsqueeze(0) for b, r in data.rows.items()}
    positions = data.positions[:64].T.unsqueeze(0)
    out = net.stacked_forward(
        params, rows, torch.zeros(1, dtype=torch.long), positions, None, dtype
    )
    loss = ((out - data.targets[:64]) ** 2).mean()
    loss.backward()
    return out.detach(), {n: p.grad for n, p in params.items()}


@pytest.mark.parametrize("kind", list(NETS))
def test_bfloat16_outputs_and_gradients_agree_with_float32(kind: str) -> None:
    make, widths = NETS[kind]
    seed_everything(0)
    net = make()
    data = data_for(widths)
    out32, grad32 = outputs_and_grads(net, data, torch.float32)
    out16, grad16 = outputs_and_grads(net, data, torch.bfloat16)
    scale = out32.abs().max()
    error = (out16 - out32).abs().max()
    assert 0 < error <= 16 * U * scale
    for name, g32 in grad32.items():
        g16 = grad16[name]
        rel = float((g16 - g32).norm() / g32.norm())
        assert rel <= 32 * U, (name, rel)
    assert any(float((grad16[n] - g).norm()) > 0 for n, g in grad32.items())
    # eval-mode prediction through the shared-row path, both precisions
    p32 = predict_stacked(net, data, torch.float32)
    p16 = predict_stacked(net, data, torch.bfloat16)
    assert 0 < (p16 - p32).abs().max() <= 16 * U * p32.abs().max()


def test_training_in_bfloat16_reaches_the_float32_loss() -> None:
    """A small study: 30 epochs in each precision end at comparable losses
    (within 10%, while training lowers the loss more than tenfold)."""
    make, widths = NETS["lstm"]
    train, val = data_for(widths, 10, 1), data_for(widths, 4, 2)
    seed_everything(0)
    net = make()
    config = TrainingConfig(
        batch_size=32, max_epochs=30, patience=30, learning_rate=1e-2, threads=1
    )
    h32 = train_stacked([copy.deepcopy(net)], [train], [val], config)[0]
    bf = TrainingConfig(**{**config.__dict__, "precision": "bfloat16"})
    h16 = train_stacked([copy.deepcopy(net)], [train], [val], bf)[0]
    assert h16.precision == "bfloat16" and h32.precision == "float32"
    assert h32.validation_loss[-1] < 0.1 * h32.validation_loss[0]
    assert min(h16.validation_loss) == pytest.approx(min(h32.validation_loss), rel=0.1)
    assert h16.train_loss[-1] == pytest.approx(h32.train_loss[-1], rel=0.1)
    assert h16.train_loss != h32.train_loss


def test_auto_precision_follows_the_cpu() -> None:
    dtype, why = resolve_precision("auto", torch.device("cpu"))
    native = cpu_capabilities().native_bfloat16
    assert (dtype == torch.bfloat16) == native
    assert why.startswith("bfloat16 (auto" if native else "float32 (auto")


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        # Intel Sapphire Rapids class: AMX (and AVX-512-BF16)
        ("fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8", True),
        # AMD Zen 4 (EPYC Genoa): AVX-512-BF16 without AMX, measured 2.1x float32's
        # product speed and 1.98x its epoch (README, Speed)
        ("fpu avx2 avx512f avx512_vnni avx512_bf16", True),
        # AVX-512 without its bfloat16 instructions (Skylake-SP, Ice Lake)
        ("fpu avx2 avx512f avx512_vnni", False),
        ("fpu sse4_2 avx2 fma", False),
    ],
)
def test_native_bfloat16_from_cpu_flags(flags: str, native: bool) -> None:
    caps = cpu_capabilities(f"processor : 0\nmodel name : CPU\nflags : {flags}\n")
    assert caps.native_bfloat16 is native
    assert caps.avx2


def test_auto_keeps_float32_where_bfloat16_moved_results(study_factory) -> None:
    """The audio LSTM (experiments 1 and 3) trains in float32 under ``auto``
    (its results moved by more than seed noise in bfloat16); the visual LSTM
    follows the hardware."""
    from muvi.models.folds import cv_folds
    from muvi.models.protocol import EvaluationConfig, fit_grid_networks

    study = study_factory(n_items=10, seed=2)
    config = EvaluationConfig(
        experiments=(1, 2),
        models=("lstm",),
        dimensions=("arousal",),
        block=BlockConfig(hidden=(8, 8)),
        training=TrainingConfig(max_epochs=1, threads=1, precision="auto"),
    )
    fitted = fit_grid_networks(study, config, cv_folds(study.items)[:1])
    native = cpu_capabilities().native_bfloat16
    audio = fitted[(42, 0, "arousal", "exp1_lstm")]
    visual = fitted[(42, 0, "arousal", "exp2_lstm")]
    assert audio.history_.precision == "float32"
    assert audio.training_.precision == "float32"
    assert visual.history_.precision == ("bfloat16" if native else "float32")


@pytest.mark.parametrize("x_needs_grad", [False, True])
def test_bfloat16_dense_backward_equals_autograd_bit_for_bit(x_needs_grad: bool) -> None:
    """muvi's dense layer in bfloat16 has its own backward (the weight gradient
    in the weights' layout); its gradients must be autograd's exactly."""
    from muvi.models.stacking import baddbmm

    g = torch.Generator().manual_seed(1)
    n, rows, width, out = 3, 40, 24, 32
    x = torch.randn(n, rows, width, generator=g)
    w = torch.randn(n, out, width, generator=g)
    b = torch.randn(n, out, generator=g)
    up = torch.randn(n, rows, out, generator=g).to(torch.bfloat16)

    def grads(fn) -> list[torch.Tensor]:
        leaves = [t.clone().requires_grad_() for t in (b, x, w)]
        leaves[1].requires_grad_(x_needs_grad)
        y = fn(*leaves)
        assert y.dtype == torch.bfloat16
        y.backward(up)
        return [y.detach()] + [t.grad for t in leaves if t.grad is not None]

    bf = torch.bfloat16
    autograd = grads(lambda b_, x_, w_: torch.baddbmm(b_.unsqueeze(1).to(bf), x_.to(bf),
                                                      w_.to(bf).transpose(1, 2)))  # fmt: skip
    muvi = grads(lambda b_, x_, w_: baddbmm(b_, x_, w_, bf))
    assert len(muvi) == len(autograd) == (4 if x_needs_grad else 3)
    for ours, theirs in zip(muvi, autograd, strict=True):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)
