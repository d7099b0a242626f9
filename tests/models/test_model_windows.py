"""Windowing, joining and scaling, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.errors import DataError
from muvi.models.windows import (
    MinMaxScaling,
    align_series,
    window_positions,
    window_targets,
    windows,
)


def _frame(items, n, value, shuffle_seed=None, extra_rows=0):
    rows = [(m, s) for m in items for s in range(n + extra_rows)]
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(rows))
        rows = [rows[i] for i in order]
    index = pd.MultiIndex.from_tuples(rows, names=["media_id", "sample"])
    return pd.DataFrame(
        {"f0": [value(m, s) for m, s in rows], "f1": [-value(m, s) for m, s in rows]}, index=index
    )


def code(item: str, sample: int) -> float:
    return 100.0 * int(item[-1]) + sample


def test_windows_hold_the_four_previous_rows_and_the_next_rating():
    items = ["i1", "i2"]
    feats = _frame(items, 8, code)
    target = _frame(items, 8, lambda m, s: code(m, s) / 1000)["f0"]
    series = align_series({"audio": feats}, target, items, n_samples=8)
    X, y = windows(series.features["audio"], series.targets, history=4)
    # t = 4..7 for each item: 4 windows per item
    assert X.shape == (8, 4, 2) and y.shape == (8,)
    # by hand: item i1 window predicting t=4 holds samples 0,1,2,3 -> 100..103
    assert X[0, :, 0].tolist() == [100.0, 101.0, 102.0, 103.0]
    assert y[0] == pytest.approx(0.104)
    # item i2, last window predicts t=7 from samples 3..6
    assert X[7, :, 0].tolist() == [203.0, 204.0, 205.0, 206.0]
    assert X[7, :, 1].tolist() == [-203.0, -204.0, -205.0, -206.0]
    assert y[7] == pytest.approx(0.207)


def test_join_ignores_row_order_and_rows_past_the_window():
    items = ["i1", "i2", "i3"]
    ordered = align_series({"a": _frame(items, 118, code)}, None, items)
    shuffled = align_series(
        {"a": _frame(items, 118, code, shuffle_seed=1, extra_rows=2)}, None, items
    )
    np.testing.assert_array_equal(ordered.features["a"], shuffled.features["a"])
    assert shuffled.features["a"].shape == (3, 118, 2)
    assert shuffled.features["a"][2, 117, 0] == 300.0 + 117
    # the item order is the one asked for, not the table's
    reordered = align_series({"a": _frame(items, 118, code)}, None, ["i3", "i1"])
    assert reordered.features["a"][0, 0, 0] == 300.0


def test_missing_or_duplicate_rows_are_named():
    items = ["i1", "i2"]
    feats = _frame(items, 118, code).drop(index=("i2", 57))
    with pytest.raises(DataError, match="item i2"):
        align_series({"audio": feats}, None, items)
    with pytest.raises(DataError, match="sample 57"):
        align_series({"audio": feats}, None, items)
    dup = pd.concat([_frame(items, 118, code), _frame(["i1"], 1, code)])
    with pytest.raises(DataError, match="duplicate"):
        align_series({"audio": dup}, None, items)
    target = _frame(items, 118, code)["f0"].drop(index=("i1", 100))
    with pytest.raises(DataError, match="no rating for sample 100"):
        align_series({"audio": _frame(items, 118, code)}, target, items)


def test_window_positions_and_targets_by_hand():
    assert window_positions(1, 6, 4).tolist() == [[0, 1, 2, 3], [1, 2, 3, 4]]
    assert window_positions(2, 5, 4).tolist() == [[0, 1, 2, 3], [5, 6, 7, 8]]
    assert window_targets(np.arange(10.0).reshape(2, 5), 4).tolist() == [4.0, 9.0]


def test_min_max_scaling_by_hand_and_fitted_on_training_rows_only():
    train = np.array([[[1.0, 10.0, 3.0], [3.0, 20.0, 3.0]]])  # (1 item, 2 rows, 3 features)
    scaler = MinMaxScaling().fit(train)
    np.testing.assert_allclose(scaler.transform(train)[0], [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    # a test row outside the training range is not clipped: (5-1)/2 = 2, (0-10)/10 = -1
    np.testing.assert_allclose(scaler.transform(np.array([5.0, 0.0, 4.0])), [2.0, -1.0, 1.0])
    restored = MinMaxScaling.from_state(scaler.state())
    np.testing.assert_array_equal(restored.transform(train), scaler.transform(train))
    with pytest.raises(DataError, match="expected 3 feature columns, got 2"):
        scaler.transform(np.zeros((1, 2)))
