"""Fidelity to the authors' code of what muvi's training path does under the
reference-code profile, for the items docs/reference_code.md section 9 lists
that no other test pins: where the dropout between the LSTM layers acts, and
Keras's early-stopping rule (strictly lower, min_delta 0, patience counted in
epochs without improvement, the last epoch scored, also when stopping never
triggers), in both training paths (batched and one at a time)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from muvi.models import lstm as lstm_module
from muvi.models.batched import train_stacked
from muvi.models.lstm import REFERENCE_CODE_BLOCK, UnimodalNet
from muvi.models.stacking import StackedDropout
from muvi.models.training import (
    TrainingConfig,
    WindowData,
    predict_windows,
    seed_everything,
    train_network,
)
from muvi.models.windows import window_positions

BLOCK = replace(REFERENCE_CODE_BLOCK, hidden=(32, 16), projection=8)


def _windows(n_items: int, n_samples: int, width: int, seed: int) -> WindowData:
    g = torch.Generator().manual_seed(seed)
    rows = torch.rand(n_items * n_samples, width, generator=g)
    positions = torch.from_numpy(window_positions(n_items, n_samples, 4))
    targets = torch.rand(positions.shape[0], generator=g) - 0.5
    return WindowData({"main": rows}, positions, targets)


# --------------------------------------------------------------------------
# dropout: the code's Dropout(0.2) after LSTM1 acts on the whole output
# sequence, one mask entry per window, step and unit
# --------------------------------------------------------------------------


def test_fast_path_dropout_between_the_layers_is_one_mask_per_step_and_unit(monkeypatch):
    seed_everything(0)
    net = UnimodalNet(5, ("audio",), BLOCK).train()
    block = net.block("main")
    seen: dict[str, torch.Tensor] = {}
    original = lstm_module.two_layer_lstm

    def spy(gx1, w_hh1, w_ih2, w_hh2, b2, mask1=None, mask2=None):
        seen["mask1"], seen["mask2"] = mask1, mask2
        return original(gx1, w_hh1, w_ih2, w_hh2, b2, mask1, mask2)

    monkeypatch.setattr(lstm_module, "two_layer_lstm", spy)
    data = _windows(8, 40, 5, seed=1)  # 8 * 36 = 288 windows
    rows, positions = data.rows["main"], data.positions
    out = net.forward_rows({"main": rows}, positions)
    mask1, mask2 = seen["mask1"], seen["mask2"]
    n = positions.shape[0]
    assert mask1.shape == (4, n, 32) and mask2.shape == (n, 16)
    keep = 0.8
    for mask in (mask1, mask2):
        assert torch.unique(mask).tolist() == pytest.approx([0.0, 1 / keep])
        dropped = float((mask == 0).float().mean())
        assert 0.17 < dropped < 0.23  # rate 0.2 (4*288*32 entries: sd about 0.004)
    # a mask per step: the steps of one window are not dropped alike
    assert not torch.equal(mask1[0], mask1[1])
    # the same output by hand: LSTM1 over the linear projection, its whole
    # output sequence times the mask, LSTM2, its last output times mask2, tanh head
    with torch.no_grad():
        x = rows[positions]  # (n, 4, 5)
        seq, _ = block.lstm1(block.projection(x))
        seq = seq * mask1.transpose(0, 1)
        last, _ = block.lstm2(seq)
        expected = torch.tanh(net.head(last[:, -1] * mask2)).squeeze(-1)
    torch.testing.assert_close(out.detach(), expected, atol=1e-5, rtol=1e-5)
    # eval mode: no mask at all (Keras's Dropout is off in predict/evaluate)
    net.eval()
    net.forward_rows({"main": rows}, positions)
    assert seen["mask1"] is None and seen["mask2"] is None


def test_stacked_path_draws_the_same_per_step_masks():
    gens = [torch.Generator().manual_seed(s) for s in (3, 4)]
    drop = StackedDropout(gens, [10, 7], 10, torch.device("cpu"))
    mask = drop.sequence_mask(4, 32, 0.8)
    assert mask.shape == (2, 4, 10, 32)
    # network 0's mask is what one-at-a-time training draws: rand((steps, batch, units))
    alone = (torch.rand((4, 10, 32), generator=torch.Generator().manual_seed(3)) < 0.8) / 0.8
    torch.testing.assert_close(mask[0], alone.float())
    assert not torch.equal(mask[0, 0], mask[0, 1])


# --------------------------------------------------------------------------
# early stopping: Keras's EarlyStopping(monitor="val_loss", patience=7)
# --------------------------------------------------------------------------


def _train(batched: bool, config: TrainingConfig, seed: int = 0):
    seed_everything(seed)
    net = UnimodalNet(5, ("audio",), BLOCK)
    train = _windows(6, 20, 5, seed=11)
    val = _windows(3, 20, 5, seed=12)
    val = WindowData(val.rows, val.positions, torch.full_like(val.targets, 0.9))
    if batched:
        history = train_stacked([net], [train], [val], config)[0]
    else:
        history = train_network(net, train, val, config)
    kept = float(torch.nn.functional.mse_loss(predict_windows(net, val), val.targets))
    return net, history, kept


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one-at-a-time"])
def test_an_equal_validation_loss_is_no_improvement(batched):
    """Keras improves only on a strictly lower loss (min_delta 0): with a zero
    learning rate every epoch's validation loss is the same, so epoch 0 is the
    best and training stops after ``patience`` more epochs (a rule counting
    equal losses as improvements would run to the epoch limit)."""
    config = TrainingConfig(
        learning_rate=0.0, max_epochs=20, patience=3, batch_size=32, threads=1,
        restore_best=False, keras_adam=True, adam_epsilon=1e-7,
    )  # fmt: skip
    _, history, _ = _train(batched, config)
    losses = history.validation_loss
    assert len(set(losses)) == 1
    assert history.best_epoch == 0 and history.epochs == 1 + 3


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one-at-a-time"])
def test_the_last_epoch_is_scored_seven_past_the_best(batched):
    config = TrainingConfig(
        learning_rate=3e-2, max_epochs=40, patience=7, batch_size=16, threads=1,
        restore_best=False,
    )  # fmt: skip
    _, history, kept = _train(batched, config)
    losses = history.validation_loss
    best = history.best_epoch
    # the best epoch is the first strict minimum; every later epoch is no lower
    assert best == int(np.argmin(losses)) and all(v >= losses[best] for v in losses[best:])
    assert history.epochs == best + 7 + 1 < config.max_epochs
    assert kept == pytest.approx(losses[-1], rel=1e-5)  # the last epoch's weights
    assert kept > losses[best]
    assert history.best_state is not None  # the best epoch, kept for PAIR


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one-at-a-time"])
def test_when_stopping_never_triggers_the_epoch_limit_is_scored(batched):
    config = TrainingConfig(
        learning_rate=3e-2, max_epochs=5, patience=7, batch_size=16, threads=1,
        restore_best=False,
    )  # fmt: skip
    _, history, kept = _train(batched, config)
    assert history.epochs == 5
    assert kept == pytest.approx(history.validation_loss[-1], rel=1e-5)
    # the paper's setting restores the best epoch here too
    _, paper, restored = _train(batched, replace(config, restore_best=True))
    assert restored == pytest.approx(min(paper.validation_loss), rel=1e-5)


# --------------------------------------------------------------------------
# the unimodal head's initialiser, and the CCC the code prints
# --------------------------------------------------------------------------


def test_unimodal_head_is_keras_dense_tanh():
    """``Dense(1, activation="tanh")`` on the 128 (here 16) outputs of LSTM2:
    Glorot-uniform kernel, limit sqrt(6 / (16 + 1)), zero bias."""
    seed_everything(2)
    net = UnimodalNet(5, ("audio",), BLOCK)
    head = net.head
    assert head.in_features == 16 and head.out_features == 1
    limit = (6.0 / (16 + 1)) ** 0.5
    assert float(head.weight.detach().abs().max()) <= limit
    assert torch.count_nonzero(head.bias) == 0
    with torch.no_grad():
        x = torch.rand(3, 4, 5)
        out = net.eval()({"main": x})
        last = net.block("main")(x)  # (3, 16): LSTM2's last step
        by_hand = torch.tanh(last @ head.weight.T + head.bias).squeeze(-1)
    assert out.shape == (3,)
    torch.testing.assert_close(out, by_hand)


def test_the_ccc_the_code_prints_is_muvis_population_ccc():
    """The code's CCC is audtorch's ``concordance_cc``: Pearson's r times the
    Bessel-corrected standard deviations, with the squared mean difference
    divided by (n - 1) / n; written out here, it equals Lin's population CCC
    (muvi's :func:`muvi.annotations.metrics.ccc`)."""
    from muvi.annotations.metrics import ccc

    rng = np.random.default_rng(4)
    for n in (5, 114):
        x = rng.normal(size=n)
        y = 0.5 * x + rng.normal(scale=0.3, size=n) + 0.2
        r = np.corrcoef(x, y)[0, 1]
        sx, sy = x.std(ddof=1), y.std(ddof=1)
        bessel = (n - 1) / n
        audtorch = 2 * r * sx * sy / (sx * sx + sy * sy + (x.mean() - y.mean()) ** 2 / bessel)
        assert ccc(x, y) == pytest.approx(audtorch, rel=1e-12)
        # and not the uncorrected form (sample deviations without the 1/bessel)
        plain = 2 * r * sx * sy / (sx * sx + sy * sy + (x.mean() - y.mean()) ** 2)
        assert ccc(x, y) != pytest.approx(plain, rel=1e-6)
