"""Bundles: round trip, and refusal of input that does not match."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from muvi.errors import BundleError
from muvi.models.bundle import load_bundle, save_bundle
from muvi.models.lasso import LassoConfig, LassoRegressor
from muvi.models.lstm import (
    REFERENCE_CODE_BLOCK,
    RELU_REFERENCE_BLOCK,
    BlockConfig,
    LateFusionRegressor,
    LSTMRegressor,
)
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
        lambda: LSTMRegressor("audio", REFERENCE_CODE_BLOCK, CFG),
        lambda: LSTMRegressor("audio", RELU_REFERENCE_BLOCK, CFG),
        lambda: LassoRegressor(("audio",), LassoConfig(n_alphas=5)),
    ],
    ids=["lstm", "lstm-reference-code-block", "lstm-relu-block", "lasso"],
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


def test_bundle_of_the_earlier_relu_reference_block_loads_and_predicts_as_before(sets, tmp_path):
    """Bundles saved before the projection's activation was a field (muvi's
    earlier --block reference, ReLU) have no ``projection_activation`` in
    their manifest: they load as ReLU and predict what they predicted."""
    train, test, study = sets
    block = BlockConfig(hidden=(8, 4), projection=6, projection_activation="relu")
    model = LSTMRegressor("audio", block, CFG).fit(train)
    folder = save_bundle(model, tmp_path / "old", target_modality="music", dimension="arousal")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["params"]["block"]["projection_activation"]
    for key in ("initialisers", "single_bias"):
        del manifest["params"]["block"][key]
    del manifest["profile"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    bundle = load_bundle(folder)
    assert bundle.model.block == block
    curve = bundle.predict_frame(_item_frame(study, test.items[0]))
    np.testing.assert_allclose(curve.to_numpy(), model.predict(test)[0], rtol=1e-5, atol=1e-6,
                               equal_nan=True)  # fmt: skip
    # read as the code's linear projection instead, the same weights predict otherwise
    manifest["params"]["block"]["projection_activation"] = None
    (folder / "manifest.json").write_text(json.dumps(manifest))
    linear = load_bundle(folder).predict_frame(_item_frame(study, test.items[0]))
    assert not np.allclose(linear.iloc[4:], curve.iloc[4:], atol=1e-6)


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


# --------------------------------------------------------------------------
# Damaged bundles: one BundleError naming the file, never a crash or an abort
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_bundles(sets, tmp_path_factory):
    train, _test, _study = sets
    root = tmp_path_factory.mktemp("good_bundles")
    lstm = LSTMRegressor("audio", BlockConfig(hidden=(4, 4)), CFG).fit(train)
    lasso = LassoRegressor(("audio",), LassoConfig(n_alphas=3)).fit(train)
    save_bundle(lstm, root / "lstm", target_modality="music", dimension="valence")
    save_bundle(lasso, root / "lasso", target_modality="music", dimension="valence")
    return root


def _edit_json(name, change):
    def damage(folder):
        path = folder / name
        document = json.loads(path.read_text())
        change(document)
        path.write_text(json.dumps(document))

    return damage


def _write(name, data):
    def damage(folder):
        (folder / name).write_bytes(data)

    return damage


def _truncate(name):
    def damage(folder):
        path = folder / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return damage


def _to_folder(name):
    def damage(folder):
        (folder / name).unlink()
        (folder / name).mkdir()

    return damage


def _npz_without(key):
    def damage(folder):
        with np.load(folder / "lasso.npz") as arrays:
            kept = {k: arrays[k] for k in arrays.files if k != key}
        np.savez(folder / "lasso", **kept)

    return damage


def _state_with_wrong_shapes(folder):
    import torch

    state = torch.load(folder / "weights.pt", weights_only=True)
    name = next(iter(state))
    state[name] = torch.zeros(3)
    torch.save(state, folder / "weights.pt")


DAMAGE = {
    # (bundle, damage, file named, words of the problem)
    "lasso-npz-truncated": ("lasso", _truncate("lasso.npz"), "lasso.npz", "truncated or damaged"),
    "lasso-npz-zero": ("lasso", _write("lasso.npz", b""), "lasso.npz", "empty"),
    "lasso-npz-garbage": (
        "lasso",
        _write("lasso.npz", b"garbage" * 20),
        "lasso.npz",
        "not a readable .npz",
    ),
    "lasso-npz-missing-key": ("lasso", _npz_without("coef"), "lasso.npz", "'coef' is missing"),
    "lasso-npz-folder": ("lasso", _to_folder("lasso.npz"), "lasso.npz", "found a folder"),
    "weights-garbage": (
        "lstm",
        _write("weights.pt", b"\x80\x02garbage" * 30),
        "weights.pt",
        "not a readable PyTorch",
    ),
    "weights-zero": ("lstm", _write("weights.pt", b""), "weights.pt", "empty"),
    "weights-truncated": ("lstm", _truncate("weights.pt"), "weights.pt", "truncated or damaged"),
    "weights-folder": ("lstm", _to_folder("weights.pt"), "weights.pt", "found a folder"),
    "weights-wrong-shapes": (
        "lstm",
        _state_with_wrong_shapes,
        "weights.pt",
        "do not fit the lstm model",
    ),
    "manifest-binary": (
        "lstm",
        _write("manifest.json", b"\x00\xff\xfe binary"),
        "manifest.json",
        "undecodable byte",
    ),
    "manifest-list": (
        "lstm",
        _write("manifest.json", b"[1, 2]"),
        "manifest.json",
        "expected an object, found list",
    ),
    "manifest-folder": ("lasso", _to_folder("manifest.json"), "manifest.json", "found a folder"),
    "manifest-dimension-number": (
        "lstm",
        _edit_json("manifest.json", lambda m: m.update(dimension=3)),
        "manifest.json",
        "'dimension' must be str, found int",
    ),
    "manifest-params-list": (
        "lstm",
        _edit_json("manifest.json", lambda m: m.update(params=[1])),
        "manifest.json",
        "'params' must be dict",
    ),
    "manifest-no-architecture": (
        "lasso",
        _edit_json("manifest.json", lambda m: m.pop("architecture")),
        "manifest.json",
        "'architecture' is missing",
    ),
    "manifest-block-unknown-field": (
        "lstm",
        _edit_json("manifest.json", lambda m: m["params"]["block"].update(colour=1)),
        "manifest.json",
        "params.block does not fit",
    ),
    "manifest-history-text": (
        "lstm",
        _edit_json("manifest.json", lambda m: m["params"].update(history="4")),
        "manifest.json",
        "'history' must be int",
    ),
    "features-folder": ("lasso", _to_folder("features.json"), "features.json", "found a folder"),
    "features-names-numbers": (
        "lasso",
        _edit_json("features.json", lambda f: f.update(audio=[1, 2])),
        "features.json",
        "must be a list of text",
    ),
    "scalers-malformed": (
        "lasso",
        _edit_json("scalers.json", lambda s: s["audio"].pop("data_min")),
        "scalers.json",
        "malformed",
    ),
    "scalers-zero": ("lstm", _write("scalers.json", b""), "scalers.json", "empty"),
}


@pytest.mark.parametrize("case", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_bundle_is_refused_naming_the_file(case, good_bundles, tmp_path):
    import shutil

    kind, damage, file, problem = DAMAGE[case]
    folder = shutil.copytree(good_bundles / kind, tmp_path / kind)
    damage(folder)
    with pytest.raises(BundleError) as err:
        load_bundle(folder)
    message = str(err.value)
    assert file in message and problem in message, message
    assert "\n" not in message


def test_unknown_manifest_fields_are_tolerated(good_bundles, tmp_path):
    import shutil

    folder = shutil.copytree(good_bundles / "lstm", tmp_path / "lstm")
    _edit_json("manifest.json", lambda m: m.update(precision="bfloat16", later={"x": 1}))(folder)
    assert load_bundle(folder).manifest["precision"] == "bfloat16"


@pytest.mark.parametrize("case", ["weights-zero", "lasso-npz-zero", "weights-truncated"])
def test_cli_predict_with_a_damaged_bundle_is_one_line_not_aborted(
    case, good_bundles, tmp_path, capsys
):
    """A zero-byte weights file used to end in 'aborted' with exit status 130 (typer turns
    the EOFError of the reader into an abort); now it is one line naming the file."""
    import shutil

    from muvi.cli import main

    kind, damage, file, problem = DAMAGE[case]
    folder = shutil.copytree(good_bundles / kind, tmp_path / kind)
    damage(folder)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not read: the bundle is checked first")
    with pytest.raises(SystemExit) as exit_:
        main(["predict", str(video), "--model", str(folder), "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and file in lines[0] and problem in lines[0], err
    assert "aborted" not in err and "Traceback" not in err
