"""Bundles: round trip, and refusal of input that does not match."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from muvi.errors import BundleError
from muvi.models.bundle import load_bundle, save_bundle
from muvi.models.lasso import LassoConfig, LassoRegressor
from muvi.models.lstm import REFERENCE_BLOCK, BlockConfig, LateFusionRegressor, LSTMRegressor
from muvi.models.training import TrainingConfig
from muvi.models.windows import align_series

CFG = TrainingConfig(max_epochs=1, threads=1)


@pytest.fixture(scope="module")
def sets(synthetic_study):
    target = synthetic_study.target("audiovisual", "arousal")
    items = synthetic_study.items
    return (
        align_series(synthetic_study.features, target, items[:8]),
        align_series(synthetic_study.features, target, items[8:]),
        synthetic_study,
    )


def _item_frame(study, media_id, sets=("audio",)):
    parts = [study.features[s].xs(media_id, level="media_id", drop_level=False) for s in sets]
    return pd.concat(parts, axis=1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LSTMRegressor("audio", BlockConfig(hidden=(8, 8)), CFG),
        lambda: LSTMRegressor("audio", REFERENCE_BLOCK, CFG),
        lambda: LassoRegressor(("audio",), LassoConfig(n_alphas=5)),
    ],
    ids=["lstm", "lstm-reference-block", "lasso"],
)
def test_round_trip_predicts_the_same(make, sets, tmp_path):
    train, test, study = sets
    model = make().fit(train)
    folder = save_bundle(model, tmp_path / "b", target_modality="audiovisual", dimension="arousal",
                         simulated=False, trained_on=train.items)  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["architecture"] == model.architecture
    assert manifest["target_modality"] == "audiovisual" and manifest["dimension"] == "arousal"
    assert {"torch", "numpy", "scikit-learn", "muvi"} <= set(manifest["versions"])
    bundle = load_bundle(folder)
    assert bundle.feature_columns == list(study.features["audio"].columns)
    expected = model.predict(test)[0]
    curve = bundle.predict_frame(_item_frame(study, test.items[0]))
    assert curve.index.name == "sample" and curve.name == "arousal"
    assert curve.index.tolist() == list(range(118))
    np.testing.assert_allclose(curve.to_numpy(), expected, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.isnan(curve.iloc[:4]).all() and np.isfinite(curve.iloc[4:]).all()


def test_late_fusion_bundle_takes_audio_then_visual_columns(sets, tmp_path):
    train, test, study = sets
    model = LateFusionRegressor(BlockConfig(hidden=(8, 8)), CFG).fit(train)
    bundle = load_bundle(save_bundle(model, tmp_path / "lf", target_modality="audiovisual",
                                     dimension="valence"))  # fmt: skip
    frame = _item_frame(study, test.items[1], ("audio", "visual"))
    np.testing.assert_allclose(bundle.predict(frame), model.predict(test)[1], rtol=1e-5, atol=1e-6)
    with pytest.raises(BundleError, match="lacks 5 of the model's 11 feature columns"):
        bundle.predict_frame(_item_frame(study, test.items[1]))


def test_mismatched_input_is_refused_with_the_difference_named(sets, tmp_path):
    train, test, study = sets
    model = LassoRegressor(("audio",), LassoConfig(n_alphas=5)).fit(train)
    bundle = load_bundle(
        save_bundle(model, tmp_path / "b", target_modality="music", dimension="arousal")
    )
    frame = _item_frame(study, test.items[0])
    cols = list(frame.columns)
    with pytest.raises(BundleError, match=r"lacks 1 .*'mfcc_sma\[2\]_amean'"):
        bundle.predict_frame(frame.drop(columns=cols[2]))
    with pytest.raises(BundleError, match="not trained on .*'extra'"):
        bundle.predict_frame(frame.assign(extra=1.0))
    swapped = [cols[1], cols[0], *cols[2:]]
    with pytest.raises(BundleError, match=r"position 0 is 'mfcc_sma\[1\]_amean'"):
        bundle.predict_frame(frame[swapped])
    with pytest.raises(BundleError, match="predict one item at a time"):
        bundle.predict_frame(pd.concat([frame, _item_frame(study, test.items[1])]))
    with pytest.raises(BundleError, match="sample 9 is followed by 11"):
        bundle.predict_frame(frame.drop(index=(test.items[0], 10)))
    bad = frame.copy()
    bad.iloc[5, 3] = np.nan
    with pytest.raises(BundleError, match="not finite at sample 5"):
        bundle.predict_frame(bad)


def test_broken_bundles_are_refused(tmp_path):
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something else"}')
    with pytest.raises(BundleError, match="not a MuVi model bundle"):
        load_bundle(tmp_path)
