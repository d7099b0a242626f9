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
    assert "DEFECTS" not in result.output and doc["defects"] == []  # nothing by default
    assert doc["profile"] == "paper" and doc["reported_error"] == "rmse"
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


@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        (
            "evaluate",
            ["--profile", "bogus"],
            "error: --profile is paper or reference-code, not 'bogus'",
        ),
        (
            "evaluate",
            ["--replicate-defects", "bogus"],
            "error: --replicate-defects: unknown defect 'bogus'; choose from pair-leak, "
            "chunked-scoring",
        ),
        ("train", ["--profile", "keras"], "error: --profile is paper or reference-code"),
        ("train", ["--replicate-defects", "pair-leak"], "error: --replicate-defects pair-leak:"),
    ],
    ids=["evaluate_profile", "evaluate_defect", "train_profile", "train_pair_leak"],
)
def test_profile_and_defect_options_give_one_error_line(
    small_study, tmp_path, capsys, command, options, message
):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--data", str(small_study), "--out", str(tmp_path / "o"),
              "--experiments", "1", "--dimensions", "arousal", "--epochs", "1", *options])  # fmt: skip
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(message), err
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_help_lists_profile_and_defects():
    for command in ("evaluate", "train"):
        out = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "--profile" in out and "--replicate-defects" in out and "--block" not in out
        assert "reference-code" in out


def test_evaluate_under_the_reference_code_profile_and_a_defect_says_so(small_study, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--data", str(small_study), "--out", str(out), "--experiments", "1",
         "--models", "lstm", "--dimensions", "arousal", "--epochs", "1", "--threads", "1",
         "--profile", "reference-code", "--replicate-defects", "chunked-scoring"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    warning = [line for line in lines if line.startswith("warning: DEFECTS OF THE PUBLISHED CODE")]
    assert len(warning) == 1 and "chunked-scoring" in warning[0]
    row = next(line for line in lines if line.startswith("exp1_lstm"))
    assert " MSE " in row and "RMSE" not in row  # the code's printed error
    doc = json.loads((out / "results.json").read_text())
    assert doc["profile"] == "reference-code" and doc["defects"] == ["chunked-scoring"]
    assert doc["config"]["block"]["hidden"] == [256, 128]
    assert doc["config"]["training"]["batch_size_fusion"] == 512
    mse = doc["experiments"][0]["mse_mean"]
    assert f"MSE {mse:5.3f}" in row


def test_train_records_the_profile_in_bundles(small_study, tmp_path):
    from muvi.models.bundle import load_bundle

    out = tmp_path / "bundles"
    result = CliRunner().invoke(
        app,
        ["train", "--data", str(small_study), "--out", str(out), "--experiments", "1",
         "--dimensions", "valence", "--epochs", "1", "--threads", "1", "--quiet",
         "--profile", "reference-code"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    bundle = load_bundle(out / "music_valence_lstm")
    assert bundle.manifest["profile"] == "reference-code"
    block = bundle.manifest["params"]["block"]
    assert block["projection"] == 256 and block["projection_activation"] is None
    assert block["initialisers"] == "keras" and block["single_bias"] is True
    assert bundle.model.block.single_bias
    assert not bundle.model.net_.block("main").lstm1.bias_hh_l0.requires_grad
