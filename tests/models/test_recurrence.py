"""The two-layer LSTM with the hand-written backward (muvi.models.recurrence).

Checked three independent ways: numerically (``torch.autograd.gradcheck``, finite
differences in double precision), against PyTorch's own ``nn.LSTM`` with the same
dropout masks applied by hand (outputs and every gradient), and on the edge
cases of one and two steps."""

from __future__ import annotations

import pytest
import torch

from muvi.models.lstm import BlockConfig, LSTMBlock, _dropout_mask
from muvi.models.recurrence import two_layer_lstm


def _inputs(steps, batch, hidden1, hidden2, dtype, seed=0, masks=True):
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=0.5):
        return ((torch.rand(*shape, generator=g, dtype=dtype) - 0.5) * 2 * scale).requires_grad_()

    gx1 = rand(steps, batch, 4 * hidden1, scale=2.0)
    w_hh1 = rand(4 * hidden1, hidden1)
    w_ih2 = rand(4 * hidden2, hidden1)
    w_hh2 = rand(4 * hidden2, hidden2)
    b2 = rand(4 * hidden2)
    mask1 = mask2 = None
    if masks:
        keep = 0.75
        mask1 = (torch.rand(steps, batch, hidden1, generator=g) < keep).to(dtype) / keep
        mask2 = (torch.rand(batch, hidden2, generator=g) < keep).to(dtype) / keep
    return (gx1, w_hh1, w_ih2, w_hh2, b2, mask1, mask2)


@pytest.mark.parametrize("steps", [1, 2, 4])
@pytest.mark.parametrize("masks", [True, False], ids=["dropout", "no-dropout"])
def test_gradients_match_finite_differences(steps, masks):
    inputs = _inputs(steps, batch=3, hidden1=4, hidden2=3, dtype=torch.float64, masks=masks)
    assert torch.autograd.gradcheck(two_layer_lstm, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


def _reference(gx1, w_hh1, w_ih2, w_hh2, b2, mask1, mask2):
    """The same computation with nn.LSTM layers and autograd, masks applied by hand."""
    steps, batch, width1 = gx1.shape
    hidden1, hidden2 = width1 // 4, w_hh2.shape[1]
    # layer 1 from its input gates: identity input weights on a gates-sized input
    lstm1 = torch.nn.LSTM(width1, hidden1)
    lstm2 = torch.nn.LSTM(hidden1, hidden2)
    with torch.no_grad():
        lstm1.weight_ih_l0.copy_(torch.eye(width1))
        lstm1.bias_ih_l0.zero_()
        lstm1.bias_hh_l0.zero_()
        lstm2.bias_hh_l0.zero_()
    lstm1.weight_ih_l0.requires_grad_(False)
    lstm1.weight_hh_l0 = torch.nn.Parameter(w_hh1.detach().clone())
    lstm2.weight_ih_l0 = torch.nn.Parameter(w_ih2.detach().clone())
    lstm2.weight_hh_l0 = torch.nn.Parameter(w_hh2.detach().clone())
    lstm2.bias_ih_l0 = torch.nn.Parameter(b2.detach().clone())
    x = gx1.detach().clone().requires_grad_()
    h1, _ = lstm1(x)
    h2, _ = lstm2(h1 * mask1)
    out = h2[-1] * mask2
    params = (x, lstm1.weight_hh_l0, lstm2.weight_ih_l0, lstm2.weight_hh_l0, lstm2.bias_ih_l0)
    return out, params


def test_equals_nn_lstm_with_the_same_dropout_masks():
    inputs = _inputs(4, batch=32, hidden1=16, hidden2=8, dtype=torch.float32, seed=3)
    out = two_layer_lstm(*inputs)
    ref, ref_params = _reference(*inputs)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    weights = torch.linspace(-1, 1, out.numel()).view_as(out)
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    for name, ours, theirs in zip(
        ("gx1", "w_hh1", "w_ih2", "w_hh2", "b2"), inputs[:5], ref_params, strict=True
    ):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-4, atol=1e-6, msg=name)
    # dropout really drops: units zeroed by the masks get no gradient from above
    assert (inputs[6] == 0).any() and (out[inputs[6] == 0] == 0).all()


def test_dropout_mask_keeps_the_expected_share_and_scales_by_the_keep_probability():
    torch.manual_seed(0)
    mask = _dropout_mask(torch.zeros(1), (200, 500), keep=0.8)
    kept = mask[mask != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1.25))
    assert float((mask == 0).float().mean()) == pytest.approx(0.2, abs=0.005)
    assert float(mask.mean()) == pytest.approx(1.0, abs=0.01)


def test_block_in_training_mode_drops_units_and_in_eval_mode_does_not():
    torch.manual_seed(0)
    block = LSTMBlock(5, BlockConfig(hidden=(8, 6), dropout=0.5))
    gates = block.row_gates(torch.rand(4 * 64, 5)).view(4, 64, -1)
    block.eval()
    evaluated = block.forward_gates(gates)
    assert (evaluated != 0).all()
    torch.testing.assert_close(block.forward_gates(gates), evaluated)
    block.train()
    trained = block.forward_gates(gates)
    assert 0.35 < float((trained == 0).float().mean()) < 0.65  # the output's own mask
    assert not torch.equal(block.forward_gates(gates), trained)  # fresh masks per call
