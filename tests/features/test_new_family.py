"""A new colour statistic, colourfulness (Hasler and Suesstrunk 2003), added
as documented in :mod:`muvi.features.registry`: one family registration and
one extractor, in this file. ``muvi simulate`` then writes its column and
``muvi evaluate`` fits the visual LASSO with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.cli import main
from muvi.data.schema import FeatureFamily, visual_feature_columns
from muvi.features.registry import (
    Extractor,
    register,
    register_family,
    unregister,
    unregister_family,
)

COLUMN = "colourfulness__hasler"


def colourfulness(frames: np.ndarray) -> np.ndarray:
    """M = sigma_rgyb + 0.3 mu_rgyb per RGB frame, (n, h, w, 3) -> (n,)."""
    rgb = frames.astype(float)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    axes = (1, 2)
    spread = np.sqrt(rg.std(axis=axes) ** 2 + yb.std(axis=axes) ** 2)
    mean = np.sqrt(rg.mean(axis=axes) ** 2 + yb.mean(axis=axes) ** 2)
    return spread + 0.3 * mean


def run(media) -> pd.DataFrame:
    values = colourfulness(media.require_frames("colourfulness"))
    return pd.DataFrame({COLUMN: values}, index=pd.RangeIndex(len(values), name="sample"))


@pytest.fixture
def colourfulness_family():
    register_family(FeatureFamily("colourfulness", "visual", lambda: (COLUMN,), "colourfulness"))
    register(Extractor("colourfulness", "colourfulness", "frames", lambda: [COLUMN], run))
    yield
    unregister("colourfulness")
    unregister_family("colourfulness")


def test_colourfulness_by_hand():
    grey = np.full((1, 4, 4, 3), 128, dtype=np.uint8)
    red = np.zeros((1, 4, 4, 3), dtype=np.uint8)
    red[..., 0] = 255
    # pure red: rg = 255, yb = 127.5, no spread: 0.3 * sqrt(255^2 + 127.5^2)
    assert colourfulness(np.concatenate([grey, red])) == pytest.approx([0.0, 85.5295], abs=1e-3)


def test_simulate_and_evaluate_with_a_registered_family(colourfulness_family, tmp_path):
    assert visual_feature_columns()[-1] == COLUMN
    study = tmp_path / "study"
    main(["simulate", "--out", str(study), "--items", "12", "--participants", "6", "--quiet"])
    header = (study / "combined_visual_features.csv").read_text().split("\n", 1)[0].split(",")
    assert header[-1] == COLUMN and len(header) == 2 + 883 + 1  # media_id, frame, 883, new
    visual = pd.read_csv(study / "combined_visual_features.csv", usecols=[COLUMN])
    assert visual[COLUMN].between(0, 1, inclusive="neither").all()  # the simulator's sigmoid
    out = tmp_path / "evaluation"
    main(["evaluate", "--data", str(study), "--out", str(out), "--experiments", "2",
          "--models", "lasso", "--dimensions", "arousal", "--quiet"])  # fmt: skip
    coefficients = pd.read_csv(out / "lasso_coefficients.csv")
    new = coefficients[coefficients["feature"] == COLUMN]
    assert len(new) == 5 and set(new["family"]) == {"visual: colourfulness"}  # a row per fold


def test_registering_a_family_leaves_the_other_simulated_columns_alone(
    colourfulness_family, tmp_path
):
    main(["simulate", "--out", str(tmp_path / "with"), "--items", "3", "--participants", "2",
          "--quiet"])  # fmt: skip
    unregister("colourfulness")
    unregister_family("colourfulness")
    main(["simulate", "--out", str(tmp_path / "without"), "--items", "3", "--participants", "2",
          "--quiet"])  # fmt: skip
    with_new = pd.read_csv(tmp_path / "with" / "combined_visual_features.csv")
    without = pd.read_csv(tmp_path / "without" / "combined_visual_features.csv")
    pd.testing.assert_frame_equal(with_new.drop(columns=[COLUMN]), without)
