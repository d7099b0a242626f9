"""The LSTM blocks and the training function.

The fast path (row projections shared by overlapping windows) is checked
against PyTorch's own ``nn.LSTM`` run on each window separately: same outputs,
same gradients. Training is checked for seeding and early stopping."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from muvi.models.lstm import (
    PAPER_BLOCK,
    REFERENCE_CODE_BLOCK,
    RELU_REFERENCE_BLOCK,
    BlockConfig,
    LateFusionNet,
    LSTMRegressor,
    PairInitialisers,
    PairRegressor,
    UnimodalNet,
)
from muvi.models.training import (
    TrainingConfig,
    WindowData,
    _forward_batch,
    train_network,
)
from muvi.models.windows import SeriesSet, window_positions


def _rows_and_windows(n_items=3, n_samples=10, n_features=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    rows = torch.rand(n_items * n_samples, n_features, generator=g)
    positions = torch.from_numpy(window_positions(n_items, n_samples, 4))
    return rows, positions


@pytest.mark.parametrize(
    "block",
    [PAPER_BLOCK, REFERENCE_CODE_BLOCK, RELU_REFERENCE_BLOCK],
    ids=["paper", "reference-code", "relu-reference"],
)
def test_fast_path_equals_nn_lstm_on_each_window(block):
    torch.manual_seed(0)
    rows_a, positions = _rows_and_windows(n_features=7)
    rows_v, _ = _rows_and_windows(n_features=5, seed=1)
    net = LateFusionNet({"audio": 7, "visual": 5}, block).eval()
    reference = net({"audio": rows_a[positions], "visual": rows_v[positions]})
    fast = _forward_batch(net, {"audio": rows_a, "visual": rows_v}, positions)
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-6)
    assert net.blocks["audio"].lstm2.hidden_size == block.hidden[1]
    assert (net.blocks["audio"].projection is not None) == (block.projection is not None)


def test_fast_path_gives_the_same_gradients_as_nn_lstm():
    torch.manual_seed(0)
    block = BlockConfig(hidden=(16, 8), dropout=0.0)  # no dropout: masks would differ
    rows, positions = _rows_and_windows(n_features=9)
    target = torch.linspace(-0.5, 0.5, positions.shape[0])
    net_fast = UnimodalNet(9, ("audio",), block)
    net_ref = copy.deepcopy(net_fast)
    loss_fast = torch.nn.functional.mse_loss(
        _forward_batch(net_fast, {"main": rows}, positions), target
    )
    loss_ref = torch.nn.functional.mse_loss(net_ref({"main": rows[positions]}), target)
    loss_fast.backward()
    loss_ref.backward()
    torch.testing.assert_close(loss_fast, loss_ref)
    for (name, p_fast), (_, p_ref) in zip(
        net_fast.named_parameters(), net_ref.named_parameters(), strict=True
    ):
        torch.testing.assert_close(p_fast.grad, p_ref.grad, rtol=1e-4, atol=1e-6, msg=name)


def _series(n_items, n_samples, n_features, seed, feature_set="audio"):
    rng = np.random.default_rng(seed)
    x = rng.random((n_items, n_samples, n_features)).astype(np.float32)
    # the rating at t is the mean of feature 0 over t-4..t-1: learnable from the window
    y = np.full((n_items, n_samples), np.nan, dtype=np.float32)
    for t in range(4, n_samples):
        y[:, t] = x[:, t - 4 : t, 0].mean(axis=1) - 0.5
    y[:, :4] = 0.0
    names = [f"f{k}" for k in range(n_features)]
    return SeriesSet(
        [f"m{i}" for i in range(n_items)],
        {feature_set: x},
        y,
        {feature_set: names},
        np.arange(n_samples),
    )


def test_training_is_seeded_and_reproducible():
    block = BlockConfig(hidden=(8, 8))
    train, val = _series(4, 20, 3, 0), _series(2, 20, 3, 1)
    preds = []
    for _ in range(2):
        model = LSTMRegressor(
            "audio", block, TrainingConfig(max_epochs=3, batch_size=16, threads=1)
        )
        preds.append(model.fit(train, val).predict(val))
    np.testing.assert_array_equal(preds[0], preds[1])
    assert np.isnan(preds[0][:, :4]).all() and np.isfinite(preds[0][:, 4:]).all()
    other = LSTMRegressor(
        "audio", block, TrainingConfig(max_epochs=3, batch_size=16, seed=1, threads=1)
    )
    assert not np.array_equal(other.fit(train, val).predict(val), preds[0])


def test_early_stopping_keeps_the_best_epoch_and_restores_its_weights():
    torch.manual_seed(0)
    rows, positions = _rows_and_windows(n_items=4, n_samples=12, n_features=3)
    targets = torch.rand(positions.shape[0]) - 0.5
    train = WindowData({"main": rows}, positions, targets)
    # validation targets unrelated to training: the validation loss soon rises
    val_rows, val_pos = _rows_and_windows(n_items=2, n_samples=12, n_features=3, seed=5)
    validation = WindowData({"main": val_rows}, val_pos, torch.full((val_pos.shape[0],), 0.9))
    net = UnimodalNet(3, ("audio",), BlockConfig(hidden=(8, 8)))
    config = TrainingConfig(learning_rate=3e-2, max_epochs=30, patience=3, batch_size=16, threads=1)
    history = train_network(net, train, validation, config)
    losses = history.validation_loss
    assert history.best_epoch == int(np.argmin(losses))
    # the validation loss rises soon, so training stops early: exactly `patience` epochs
    # after the best one
    assert history.epochs < config.max_epochs
    assert history.epochs == history.best_epoch + config.patience + 1
    with torch.no_grad():
        restored = torch.nn.functional.mse_loss(
            _forward_batch(net.eval(), validation.rows, validation.positions), validation.targets
        )
    assert float(restored) == pytest.approx(min(losses), rel=1e-5)


def test_an_lstm_learns_a_windowed_signal():
    train, val = _series(6, 40, 3, 0), _series(3, 40, 3, 1)
    model = LSTMRegressor(
        "audio",
        BlockConfig(hidden=(16, 16)),
        TrainingConfig(learning_rate=1e-2, max_epochs=25, batch_size=32, threads=1),
    )
    pred = model.fit(train, val).predict(val)
    err = np.sqrt(np.mean((pred[:, 4:] - val.targets[:, 4:]) ** 2))
    baseline = np.sqrt(np.mean((val.targets[:, 4:] - train.targets[:, 4:].mean()) ** 2))
    assert err < 0.5 * baseline


def test_pair_starts_from_the_unimodal_blocks():
    block = BlockConfig(hidden=(8, 8))
    cfg = TrainingConfig(max_epochs=1, batch_size=32, threads=1)
    audio = LSTMRegressor("audio", block, cfg).fit(_series(3, 12, 3, 0, "audio"))
    visual = LSTMRegressor("visual", block, cfg).fit(_series(3, 12, 2, 1, "visual"))
    pair = PairRegressor(PairInitialisers(audio, visual), block, cfg)
    net = pair._build({"audio": 3, "visual": 2})
    pair._initialise(net)
    for s, model in (("audio", audio), ("visual", visual)):
        for key, value in model.net_.blocks["main"].state_dict().items():
            torch.testing.assert_close(net.blocks[s].state_dict()[key], value)
    with pytest.raises(RuntimeError, match="PAIR needs"):
        PairRegressor(None, block, cfg)._initialise(net)
