"""A study of 20 s excerpts through every command that opens a study.

The study's own window follows from its excerpt length by hand: the excerpt
less its last second at 2 Hz, (20 - 1) / 0.5 = 38 samples (0 to 37). Every
command must cut the ratings to those 38 samples; with the paper's 118 every
annotation would be too short and no model could train.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from muvi.cli import main
from muvi.data.formats import open_study
from muvi.data.simulator import SimulationConfig, simulate
from muvi.models.windows import HISTORY

WINDOW = 38  # (20 s - 1 s) / 0.5 s


@pytest.fixture(scope="module")
def excerpt_study(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("excerpts") / "study"
    simulate(folder, seed=3, n_items=15, n_participants=8,
             config=SimulationConfig(annotation_samples=40))  # fmt: skip
    return folder


def run(*args: str) -> None:
    main([*args, "--quiet"])  # an error exits (status 2) and fails the test


def test_the_study_carries_its_20_s_window(excerpt_study):
    dataset = open_study(excerpt_study)
    assert dataset.window.n_samples == WINDOW
    assert dataset.dynamic is not None and dataset.dynamic["sample"].max() == 39


def test_analyze_uses_the_study_window(excerpt_study, tmp_path):
    run("analyze", "--data", str(excerpt_study), "--out", str(tmp_path / "a"),
        "--no-figures", "--no-beyond")  # fmt: skip
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["analysis_window"]["samples"] == WINDOW
    assert summary["analysis_window"]["seconds"] == 19.0


def test_evaluate_scores_every_sample_of_the_window(excerpt_study, tmp_path):
    out = tmp_path / "e"
    run("evaluate", "--data", str(excerpt_study), "--out", str(out), "--experiments", "1",
        "--models", "lasso", "--dimensions", "arousal")  # fmt: skip
    predictions = pd.read_csv(out / "predictions.csv", dtype={"media_id": str})
    # the first HISTORY samples have no full history; the window's last sample is 37
    assert predictions["sample"].min() == HISTORY
    assert predictions["sample"].max() == WINDOW - 1
    assert predictions.groupby("media_id").size().eq(WINDOW - HISTORY).all()


def test_train_fits_on_the_window(excerpt_study, tmp_path):
    out = tmp_path / "t"
    run("train", "--data", str(excerpt_study), "--out", str(out), "--experiments", "1",
        "--models", "lasso", "--dimensions", "valence")  # fmt: skip
    assert (out / "music_valence_lasso").is_dir()


def test_reproduce_trains_on_the_window(excerpt_study, tmp_path):
    out = tmp_path / "r"
    run("reproduce", "--data", str(excerpt_study), "--out", str(out), "--experiments", "1",
        "--dimensions", "arousal", "--variants", "paper", "--reduced", "--epochs", "1",
        "--threads", "1")  # fmt: skip
    per_item = pd.read_csv(out / "reproduce_per_item.csv", dtype={"media_id": str})
    assert set(per_item["variant"]) == {"paper", "reference-code"}
    assert per_item["media_id"].nunique() > 0
