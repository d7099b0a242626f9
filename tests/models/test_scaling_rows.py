"""Which feature rows fit the min-max scaling (departure ``scaling-rows``).

The authors' code (``aux_files.py:keras_load_data_music`` and the other
loaders, then ``scale_lstm_features`` -> ``scale_lm_features``) cuts every
item to 118 feature rows, stacks the windows of rows ``j..j+3`` for
``j = 0..113`` and fits its ``MinMaxScaler`` on the stacked windows' rows:
row 117, in no window, never reaches the scaler. muvi's paper profile fits on
every row of the training items (0..117); ``TrainingConfig.scaling_rows =
"windows"`` (the reference-code profile) fits on the code's rows.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from muvi.errors import DataError, MuviError
from muvi.models.bundle import load_bundle, save_bundle
from muvi.models.lstm import BlockConfig, LateFusionRegressor, LSTMRegressor
from muvi.models.profiles import profile_config, switch_departure
from muvi.models.training import TrainingConfig
from muvi.models.windows import (
    SeriesSet,
    align_series,
    scaling_samples,
    window_positions,
)

SMALL = BlockConfig(hidden=(4, 4))
N_SAMPLES = 118


def _codes_scaler_rows(features: np.ndarray, seq_len: int = 4) -> np.ndarray:
    """The rows the code's scaler is fitted on, built as the code builds them:
    per item the windows ``rows[j : j + seq_len]`` for ``j in range(len - seq_len)``,
    stacked, then flattened to (windows * seq_len, n_features)."""
    windows = [
        features[i, j : j + seq_len]
        for i in range(features.shape[0])
        for j in range(features.shape[1] - seq_len)
    ]
    return np.asarray(windows).reshape(-1, features.shape[-1])


def _ramp_series(n_items: int = 3) -> SeriesSet:
    """Feature 0 of item i at sample t is ``t + 1000 * i``; feature 1 is
    ``-t``; row 117 of every item is the extreme of both columns."""
    t = np.arange(N_SAMPLES, dtype=np.float64)
    feats = np.stack([np.stack([t + 1000.0 * i, -t], axis=1) for i in range(n_items)]).astype(
        np.float32
    )
    return SeriesSet(
        items=[f"m{i}" for i in range(n_items)],
        features={"audio": feats},
        targets=np.zeros((n_items, N_SAMPLES), dtype=np.float32),
        feature_names={"audio": ["a", "b"]},
    )


def test_window_rows_are_samples_0_to_116_of_118():
    # by hand: windows predict samples 4..117 from the 4 rows before them, so
    # the earliest row is 0 (window for sample 4) and the latest 116 (sample 117)
    assert scaling_samples(N_SAMPLES, 4, "windows").tolist() == list(range(117))
    assert scaling_samples(N_SAMPLES, 4, "all").tolist() == list(range(118))
    used = np.unique(window_positions(1, N_SAMPLES, 4))
    assert used.tolist() == list(range(117))
    with pytest.raises(DataError, match="scaling rows must be all or windows, not 'some'"):
        scaling_samples(N_SAMPLES, 4, "some")
    with pytest.raises(DataError, match="no window of 4 rows fits in 4 samples"):
        scaling_samples(4, 4, "windows")


@pytest.mark.parametrize(
    ("rows", "low", "high"),
    # feature 0 over items 0..2: min 0 (item 0, t=0); max 2000 + 117 or 2000 + 116
    # feature 1: min -117 or -116; max 0
    [("all", [0.0, -117.0], [2117.0, 0.0]), ("windows", [0.0, -116.0], [2116.0, 0.0])],
)
def test_the_scaler_takes_its_minimum_and_maximum_from_the_chosen_rows(rows, low, high):
    data = _ramp_series()
    model = LSTMRegressor("audio", SMALL, TrainingConfig(scaling_rows=rows, threads=1))
    model.prepare(data)
    scaler = model.scalers_["audio"]
    assert scaler.data_min_.tolist() == low
    assert (scaler.data_min_ + scaler.data_range_).tolist() == high
    # row 117 of item 2 scaled: (2117 - 0) / (high - low) and (-117 - low) / (high - low)
    scaled = model.scalers_["audio"].transform(data.features["audio"][2, 117])
    expected = [(2117.0 - low[0]) / (high[0] - low[0]), (-117.0 - low[1]) / (high[1] - low[1])]
    np.testing.assert_allclose(scaled, expected, rtol=1e-6)
    if rows == "windows":  # outside the training range, not clipped (as MinMaxScaler)
        assert scaled[0] > 1.0 and scaled[1] < 0.0


def test_late_fusion_scales_each_feature_set_on_the_code_rows():
    data = _ramp_series(2)
    data.features["visual"] = data.features["audio"][:, :, ::-1] * 2.0
    data.feature_names["visual"] = ["c", "d"]
    model = LateFusionRegressor(SMALL, TrainingConfig(scaling_rows="windows", threads=1))
    model.prepare(data)
    # audio: feature 0 over items 0, 1 up to 1116; visual column 1 = 2 * audio column 0
    assert model.scalers_["audio"].data_range_.tolist() == [1116.0, 116.0]
    assert model.scalers_["visual"].data_range_.tolist() == [232.0, 2232.0]


def test_on_the_real_emobase_files_the_scaler_sees_the_codes_rows(muvi_dir):
    """The real files: 119 or 120 rows per item; muvi's SeriesSet keeps samples
    0..117 (118 rows), as the code's ``truncate(after=117)``. Fitted on the
    first 64 items, the scaler under ``windows`` equals a MinMaxScaler over the
    code's stacked window rows (built here as the code builds them), and
    under ``all`` the min/max over samples 0..117 of the raw table."""
    from muvi.data.loaders import load_emobase

    table = load_emobase(muvi_dir / "emobase_features")
    per_item = table.groupby(level="media_id").size()
    assert set(per_item) <= {119, 120} and len(per_item) == 81
    items = list(per_item.index[:64])
    data = align_series({"audio": table}, None, items)
    assert data.features["audio"].shape == (64, 118, 988)

    code_rows = _codes_scaler_rows(data.features["audio"])
    assert code_rows.shape == (64 * 114 * 4, 988)
    raw = table.loc[table.index.get_level_values("media_id").isin(items)]
    samples = raw.index.get_level_values("sample")
    found = {}
    for rows, upto in (("windows", 116), ("all", 117)):
        model = LSTMRegressor("audio", SMALL, TrainingConfig(scaling_rows=rows, threads=1))
        model.prepare(data)
        scaler = model.scalers_["audio"]
        hand = raw[samples <= upto].to_numpy(dtype=np.float32).astype(np.float64)
        np.testing.assert_array_equal(scaler.data_min_, hand.min(axis=0))
        top = scaler.data_min_ + scaler.data_range_
        span = hand.max(axis=0) - hand.min(axis=0)
        np.testing.assert_allclose(top[span > 0], hand.max(axis=0)[span > 0], rtol=1e-12)
        found[rows] = (scaler.data_min_, top)
    code = code_rows.astype(np.float64)
    np.testing.assert_array_equal(found["windows"][0], code.min(axis=0))
    np.testing.assert_allclose(found["windows"][1], code.max(axis=0), rtol=1e-12)
    # the two settings differ on the real files: row 117 holds an extreme of some columns
    differs = (found["all"][0] != found["windows"][0]) | (found["all"][1] != found["windows"][1])
    assert differs.sum() >= 1


def test_the_reference_code_profile_sets_windows_and_the_switch_resets_it_alone():
    code = profile_config("reference-code")
    assert code.training.scaling_rows == "windows"
    assert profile_config("paper", code).training.scaling_rows == "all"
    back = switch_departure(code, "scaling-rows")
    assert back.training.scaling_rows == "all"
    assert back.training == replace(code.training, scaling_rows="all")
    assert back.block == code.block and back.reported_error == code.reported_error
    with pytest.raises(MuviError, match="scaling_rows must be all or windows, not 'last'"):
        TrainingConfig(scaling_rows="last")


def test_bundles_record_the_setting_and_older_bundles_load_unchanged(synthetic_study, tmp_path):
    target = synthetic_study.target("audiovisual", "arousal")
    train = align_series(synthetic_study.features, target, synthetic_study.items[:8])
    test = align_series(synthetic_study.features, target, synthetic_study.items[8:])
    cfg = TrainingConfig(max_epochs=1, threads=1, scaling_rows="windows")
    model = LSTMRegressor("audio", SMALL, cfg).fit(train)
    folder = save_bundle(model, tmp_path / "b", target_modality="audiovisual", dimension="arousal")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["params"]["training"]["scaling_rows"] == "windows"
    loaded = load_bundle(folder)
    assert loaded.model.training_config().scaling_rows == "windows"
    item = test.items[0]
    frame = synthetic_study.features["audio"].xs(item, level="media_id", drop_level=False)
    expected = model.predict(test)[0]
    np.testing.assert_allclose(loaded.predict_frame(frame).to_numpy(), expected, rtol=1e-5,
                               atol=1e-6, equal_nan=True)  # fmt: skip
    # a bundle saved before the field existed: no key, loads as "all"; the
    # fitted scaler travels in the bundle, so its predictions do not change
    del manifest["params"]["training"]["scaling_rows"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    old = load_bundle(folder)
    assert old.model.training_config().scaling_rows == "all"
    np.testing.assert_allclose(old.predict_frame(frame).to_numpy(), expected, rtol=1e-5,
                               atol=1e-6, equal_nan=True)  # fmt: skip


def test_scaling_rows_reach_the_grid(study_factory):
    """Under the reference-code profile every network of the grid is scaled on
    samples 0..116 of its training items."""
    from muvi.models.folds import cv_folds
    from muvi.models.grid import EvaluationConfig
    from muvi.models.protocol import fit_grid_networks

    study = study_factory(n_items=10, seed=3)
    fold = cv_folds(study.items)[0]
    audio = study.features["audio"].copy()
    audio.loc[(fold.train[0], 117), audio.columns[1]] = 40.0  # in no window
    study = replace(study, features={**study.features, "audio": audio})
    base = EvaluationConfig(
        experiments=(1,),
        models=("lstm",),
        dimensions=("arousal",),
        block=BlockConfig(hidden=(8, 8)),
        training=TrainingConfig(max_epochs=1, threads=1),
    )
    ranges = []
    for profile, upto in (("reference-code", 116), ("paper", 117)):
        fitted = fit_grid_networks(study, profile_config(profile, base), [fold])
        (model,) = fitted.values()
        train = audio[
            audio.index.get_level_values("media_id").isin(fold.train)
            & (audio.index.get_level_values("sample") <= upto)
        ]
        np.testing.assert_allclose(
            model.scalers_["audio"].data_min_, train.min().to_numpy(), rtol=1e-6
        )
        hand = pd.Series(train.max() - train.min()).to_numpy()
        np.testing.assert_allclose(model.scalers_["audio"].data_range_, hand, rtol=1e-5)
        ranges.append(model.scalers_["audio"].data_range_[1])
    assert ranges[0] < 10.0 < 40.0 < ranges[1]  # the planted 40 reached only the paper's scaler
