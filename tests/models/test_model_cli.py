"""`muvi evaluate` and `muvi train` on a small simulated study."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from muvi.cli import app, main


def test_evaluate_writes_results_json_tables_and_figures(small_study, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--data", str(small_study), "--out", str(out), "--experiments", "1,2",
         "--models", "lstm", "--dimensions", "arousal", "--epochs", "1", "--threads", "1", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["simulated"] is True
    assert {e["name"] for e in doc["experiments"]} == {"exp1_lstm", "exp2_lstm"}
    for e in doc["experiments"]:
        assert set(e) == {"name", "model", "target_modality", "features", "dimension",
                          "rmse_mean", "rmse_std", "mse_mean", "mse_std", "ccc_mean", "ccc_std",
                          "n_items"}  # fmt: skip
    assert {h["modality"] for h in doc["human_agreement"]} == {"music", "visual", "audiovisual"}
    assert len(doc["ttests"]) == 3  # one pair of models: CCC, RMSE and MSE
    for name in ("per_item.csv", "ttests.csv", "predictions.csv", "summary.csv"):
        assert (out / name).stat().st_size > 0
    assert (out / "importance_families.csv").exists()  # empty without LASSO
    figures = sorted((out / "figures").glob("*.png"))
    assert figures and all(f.stat().st_size > 1000 for f in figures)


def test_train_saves_bundles_that_predict(small_study, tmp_path):
    from muvi.data.loaders import load_dataset
    from muvi.models.bundle import load_bundle

    out = tmp_path / "bundles"
    result = CliRunner().invoke(
        app,
        ["train", "--data", str(small_study), "--out", str(out), "--experiments", "1,4",
         "--dimensions", "valence", "--epochs", "1", "--threads", "1", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["audiovisual_valence_lstm_from_visual", "music_valence_lstm"]
    bundle = load_bundle(out / "music_valence_lstm")
    assert bundle.manifest["simulated"] is True
    dataset = load_dataset(small_study)
    item = dataset.items[0]
    curve = bundle.predict_frame(
        dataset.audio_features.xs(item, level="media_id", drop_level=False)
    )
    assert np.isfinite(curve.iloc[4:]).all() and (curve.abs().iloc[4:] <= 1).all()


def test_bad_options_give_one_line_errors(small_study, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--data", str(small_study), "--out", str(tmp_path), "--experiments", "9"])
    assert exit_.value.code == 2
    assert "unknown experiment 9" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--precision", "half"], "unknown precision 'half' (expected float32, bfloat16 or auto)"),
        (["--device", "tpu"], "unknown device 'tpu' (expected auto, cpu or cuda)"),
        (["--precision", "bfloat16", "--one-at-a-time"], "needs batched training"),
        (
            ["--scheduler", "tcp://127.0.0.1:9"],
            "cannot reach the Dask scheduler at tcp://127.0.0.1:9",
        ),
    ],
    ids=["precision", "device", "bf16_one_at_a_time", "scheduler"],
)
def test_training_options_are_checked(small_study, tmp_path, capsys, options, message):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--data", str(small_study), "--out", str(tmp_path / "e"),
              "--experiments", "1", "--models", "lstm", "--dimensions", "arousal",
              "--epochs", "1", "--threads", "1", "--quiet", *options])  # fmt: skip
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_train_records_the_precision_in_bundles(small_study, tmp_path):
    from muvi.models.bundle import load_bundle

    out = tmp_path / "bundles"
    result = CliRunner().invoke(
        app,
        ["train", "--data", str(small_study), "--out", str(out), "--experiments", "1",
         "--dimensions", "valence", "--epochs", "1", "--threads", "1", "--quiet",
         "--precision", "bfloat16", "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "matrix products in bfloat16 (asked for)" in result.output
    bundle = load_bundle(out / "music_valence_lstm")
    assert bundle.manifest["precision"] == "bfloat16"
    assert bundle.manifest["params"]["training"]["precision"] == "bfloat16"
