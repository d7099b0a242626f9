"""The model evaluation's figures (muvi.report.models): drawn on the caller's axes or
figure, one panel per experiment, display names, the gold standard in black, marks
where a prediction leaves the axis, PNG and SVG written."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from muvi.models.grid import EvaluationConfig
from muvi.models.lasso import LassoConfig
from muvi.models.protocol import run_evaluation
from muvi.plotting import style
from muvi.plotting.names import model_name
from muvi.report.models import prediction_figure, prediction_panel, write_figures


@pytest.fixture(scope="module")
def evaluated(synthetic_study):
    config = EvaluationConfig(
        experiments=(1, 3, 4, 5),
        models=("lasso",),
        dimensions=("arousal",),
        lasso=LassoConfig(n_alphas=5, eps=1e-2),
    )
    results = run_evaluation(synthetic_study, config)
    item = results.folds[0].test[0]
    return results, synthetic_study, item


def _series(results, item, name, modality="audiovisual"):
    p = results.predictions
    chosen = p[
        (p["media_id"] == item)
        & (p["name"] == name)
        & (p["target_modality"] == modality)
        & (p["dimension"] == "arousal")
    ]
    return chosen.sort_values("sample")["prediction"].to_numpy()


def test_panel_draws_on_the_given_axes_with_display_names(evaluated):
    results, study, item = evaluated
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    returned = prediction_panel(
        results, study, item, "audiovisual", "arousal", ["exp3_lasso", "exp4_lasso"], ax=ax
    )
    assert returned is ax
    lines = {line.get_label(): line for line in ax.lines}
    assert {"Annotators (EWE)", "LASSO, audio", "LASSO, visual"} <= set(lines)
    # the curves are the stored predictions and gold standard, at 2 Hz
    for code in ("exp3_lasso", "exp4_lasso"):
        drawn = np.asarray(lines[model_name(code)].get_ydata(), dtype=float)
        # predictions start at sample 4 (the first complete window); before it, nothing
        assert np.isnan(drawn[:4]).all()
        np.testing.assert_allclose(drawn[4:], _series(results, item, code))
        assert to_hex(lines[model_name(code)].get_color()) == style.model_colour(code)
    gold = study.gold[(study.gold["media_id"] == item) & (study.gold["modality"] == "audiovisual")]
    gold_line = lines["Annotators (EWE)"]
    np.testing.assert_allclose(gold_line.get_ydata(), gold.sort_values("sample")["arousal"])
    assert to_hex(gold_line.get_color()) == style.GOLD_STANDARD_COLOUR
    assert np.asarray(gold_line.get_xdata())[:3].tolist() == [0.0, 0.5, 1.0]
    assert ax.get_xlabel() == "Time (s)" and ax.get_ylabel().startswith("Arousal")
    assert ax.get_legend() is not None


def test_one_panel_per_experiment_on_the_given_figure(evaluated):
    results, study, item = evaluated
    fig = Figure(figsize=(7, 6), layout="constrained")
    assert prediction_figure(results, study, item, "audiovisual", "arousal", fig=fig) is fig
    # experiments 3, 4 and 5 target the audiovisual ratings (1 targets music)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == [
        "Experiment 3 (audio features)",
        "Experiment 4 (visual features)",
        "Experiment 5 (audio+visual features)",
    ]
    for ax, code in zip(fig.axes, ("exp3_lasso", "exp4_lasso", "exp5_lasso"), strict=True):
        models = [line.get_label() for line in ax.lines if line.get_label() != "Annotators (EWE)"]
        assert models == [model_name(code)]
    assert fig.axes[-1].get_xlabel() == "Time (s)" and fig.axes[0].get_xlabel() == ""
    # the ratings are named once, in the first panel's legend; later ones name their models
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert "Annotators (EWE)" in legends[0] and legends[0][-1] == "LASSO, audio"
    assert legends[1:] == [["LASSO, visual"], ["LASSO, audio+visual"]]
    # and beside other panels, on a sub-figure
    outer = Figure(figsize=(10, 6), layout="constrained")
    left, right = outer.subfigures(1, 2)
    left.add_subplot().plot([0, 1], [0, 1])
    assert prediction_figure(results, study, item, "music", "arousal", fig=right) is right
    assert [ax.get_title(loc="left") for ax in right.axes] == ["Experiment 1 (audio features)"]
    assert len(outer.axes) == 2


def test_prediction_beyond_the_axis_is_marked(evaluated):
    results, study, item = evaluated
    preds = results.predictions.copy()
    hit = (
        (preds["media_id"] == item)
        & (preds["name"] == "exp1_lasso")
        & (preds["target_modality"] == "music")
        & (preds["sample"].isin([50, 51, 52]))
    )
    preds.loc[hit & (preds["dimension"] == "arousal"), "prediction"] = 3.0
    changed = dataclasses.replace(results, predictions=preds)
    ax = prediction_panel(changed, study, item, "music", "arousal")
    marks = [line for line in ax.lines if line.get_marker() == "^"]
    assert len(marks) == 1
    assert np.asarray(marks[0].get_xdata()).tolist() == [25.0, 25.5, 26.0]


def test_write_figures_saves_png_and_svg_at_300_dpi(evaluated, tmp_path):
    from PIL import Image

    results, study, item = evaluated
    written = write_figures(results, study, tmp_path, items=[item])
    # one figure per target condition (music, audiovisual) of the arousal dimension
    assert sorted(p.name for p in written) == [
        f"{item}_audiovisual_arousal.png",
        f"{item}_music_arousal.png",
    ]
    for png in written:
        assert png.with_suffix(".svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
        with Image.open(png) as image:
            dpi = image.info["dpi"]
        assert dpi == pytest.approx((300, 300), abs=0.5)
