"""Every analysis figure draws on the caller's axes, follows the one style, and is
written as PNG (300 dpi) and SVG by the one writer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from muvi.analysis.cooccurrence import colour_limit, cooccurrence_heatmap, label_correlation_matrix
from muvi.analysis.distribution import density_figure
from muvi.analysis.gems import label_bars_figure, label_table
from muvi.analysis.static_effects import observed_expected_figure, static_effects
from muvi.data.schema import GEMS_LABELS
from muvi.plotting import style
from muvi.plotting.names import MODEL_ORDER, model_name


@pytest.fixture
def dynamic() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    return pd.DataFrame(
        {
            "participant_id": rng.integers(0, 5, n),
            "media_id": rng.choice(["a", "b"], n),
            "modality": "music",
            "sample": np.arange(n) % 100,
            "valence": rng.uniform(-1, 1, n),
            "arousal": rng.uniform(-1, 1, n),
        }
    )


def _axes_figures(random_static, random_participants, dynamic):
    """(name, draw(ax) -> Axes) for every single-axes figure function."""
    labels = label_table(random_static)
    r, _ = label_correlation_matrix(random_static)
    return [
        ("label_bars", lambda ax: label_bars_figure(labels, "music", ax=ax)),
        ("cooccurrence", lambda ax: cooccurrence_heatmap(r, ax=ax)),
        ("density", lambda ax: density_figure(dynamic, "music", ax=ax)),
    ]


def _data_axes(fig: Figure) -> list:
    """The figure's axes except colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_every_axes_figure_draws_on_the_given_axes(random_static, random_participants, dynamic):
    for name, draw in _axes_figures(random_static, random_participants, dynamic):
        fig = Figure(figsize=(5, 4))
        ax = fig.add_subplot()
        assert not ax.has_data()
        returned = draw(ax)
        assert returned is ax, name
        assert ax.has_data(), name
        assert returned.figure is fig, name
        # every axis labelled (the issue: some figures had no y-axis label)
        assert ax.get_xlabel() and ax.get_ylabel(), name


def test_multi_panel_figure_draws_on_the_given_figure(random_static, random_participants):
    result = static_effects(random_static, random_participants)["gender"]
    fig = Figure(figsize=(6, 5))
    returned = observed_expected_figure(result, fig=fig)
    assert returned is fig
    panels = _data_axes(fig)
    assert len(panels) == len(result.observed.index) == 2
    for ax, group in zip(panels, result.observed.index, strict=True):
        assert ax.has_data()
        assert str(group) in ax.get_ylabel() and "(selections)" in ax.get_ylabel()
        # bar heights are the observed counts
        heights = [patch.get_height() for patch in ax.patches]
        assert heights == pytest.approx(result.observed.loc[group].tolist())
    assert panels[-1].get_xlabel() == "GEMS label"
    # or beside other panels, on a sub-figure of the caller's figure
    outer = Figure(figsize=(10, 5), layout="constrained")
    left, right = outer.subfigures(1, 2)
    left.add_subplot().plot([0, 1], [0, 1])
    assert observed_expected_figure(result, fig=right) is right
    assert len(_data_axes(outer)) == 1 + 2 and len(right.axes) == 2


def test_without_ax_a_new_figure_at_print_size(random_static, random_participants, dynamic):
    for name, draw in _axes_figures(random_static, random_participants, dynamic):
        ax = draw(None)
        width = ax.figure.get_figwidth()
        assert width in (style.COLUMN_WIDTH_IN, style.PAGE_WIDTH_IN), name


def test_saved_in_both_formats_at_300_dpi_with_readable_text(random_static, tmp_path):
    ax = cooccurrence_heatmap(label_correlation_matrix(random_static)[0])
    fig = ax.figure
    # a caller's tiny text is raised to the minimum before writing
    ax.text(0, 0, "tiny", fontsize=4)
    png = style.save_figure(fig, tmp_path / "figures" / "heat.png")
    assert png == tmp_path / "figures" / "heat.png"
    svg = png.with_suffix(".svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.read_text()[:200].lstrip().startswith("<?xml")
    assert "<svg" in svg.read_text()
    with Image.open(png) as image:
        dpi = image.info["dpi"]
        width_px, height_px = image.size
    assert dpi == pytest.approx((300, 300), abs=0.01)
    # a tight bounding box trims at most the margins: the PNG is about 300 px per inch
    assert 0.8 * 300 * fig.get_figwidth() < width_px < 1.1 * 300 * fig.get_figwidth()
    assert 0.8 * 300 * fig.get_figheight() < height_px < 1.1 * 300 * fig.get_figheight()
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
    assert min(sizes) >= style.MIN_FONT_PT


def test_cooccurrence_scale_symmetric_and_covers_the_real_largest_r(muvi_dir):
    # Largest |r| between two label columns of the real media_data.csv, by numpy
    # (a second method): the issue reports 0.402, beyond the old scale's 0.4.
    table = pd.read_csv(muvi_dir / "media_data.csv")
    r_np = np.corrcoef(table[list(GEMS_LABELS)].to_numpy(float), rowvar=False)
    np.fill_diagonal(r_np, np.nan)
    largest = float(np.nanmax(np.abs(r_np)))
    assert largest == pytest.approx(0.402, abs=0.0005)
    r = pd.DataFrame(r_np, index=list(GEMS_LABELS), columns=list(GEMS_LABELS))
    ax = cooccurrence_heatmap(r)
    low, high = ax.images[0].get_clim()
    assert low == -high
    assert high >= largest
    assert high == colour_limit(r_np) == 0.45
    bar = ax.images[0].colorbar
    assert bar is not None
    ticks = bar.get_ticks()
    assert ticks.min() == pytest.approx(-0.45) and ticks.max() == pytest.approx(0.45)


def test_out_of_range_curve_is_marked_on_the_edge():
    with style.figure_style():
        ax = style.new_figure(3.5, 2).add_subplot()
    t = np.arange(6) * 0.5
    y = np.array([0.0, 1.3, 1.6, 0.2, -1.4, 0.1])
    ax.plot(t, y)
    ax.set_ylim(-1.05, 1.05)
    before = len(ax.lines)
    assert style.mark_out_of_range(ax, t, y, color="#0072b2") == 3
    marks = ax.lines[before:]
    up = [m for m in marks if m.get_marker() == "^"]
    down = [m for m in marks if m.get_marker() == "v"]
    assert len(up) == 1 and len(down) == 1
    assert up[0].get_xdata().tolist() == [0.5, 1.0]
    assert up[0].get_ydata().tolist() == [1.0, 1.0]  # the top edge, in axes coordinates
    assert down[0].get_xdata().tolist() == [2.0]
    assert style.mark_out_of_range(ax, t, np.clip(y, -1, 1)) == 0


def test_legend_outside_the_data():
    with style.figure_style():
        fig = style.new_figure(style.COLUMN_WIDTH_IN, 2.2)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], label="a line")
        legend = style.legend_outside(ax)
    assert legend is not None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert box.x0 >= ax.get_window_extent(renderer).x1  # entirely right of the axes


def test_model_names_and_colours_cover_the_grid():
    from muvi.models.protocol import EXPERIMENTS

    names = set()
    for exp in EXPERIMENTS.values():
        codes = [exp.name(exp.architecture), exp.name("lstm")]
        if exp.has_lasso:
            codes.append(exp.name("lasso"))
        for code in codes:
            display = model_name(code)
            assert display != code and not re.search(r"exp\d|_", display), code
            names.add(display)
            kind = code.split("_", 1)[1]
            if kind in ("lasso", "lstm") and exp.architecture == "lstm" or kind == "lasso":
                assert display.endswith(", " + exp.feature_label), code
    assert names == set(MODEL_ORDER)
    colours = [style.model_colour(n) for n in MODEL_ORDER]
    assert len(set(colours)) == len(colours)
    assert style.GOLD_STANDARD_COLOUR not in colours
    assert style.GOLD_STANDARD_BAND not in colours
    assert style.model_colour("exp5_early_fusion") == style.model_colour("Early fusion (A1)")


def _figure_functions():
    """Every public figure function of muvi.analysis (``*_figure``, ``*_heatmap``)."""
    import importlib
    import inspect
    import pkgutil

    import muvi.analysis

    found = []
    for info in pkgutil.iter_modules(muvi.analysis.__path__, "muvi.analysis."):
        if info.name == "muvi.analysis.figures":
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isfunction(obj)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
                and re.search(r"(_figure|_heatmap)$", name)
            ):
                found.append(obj)
    return found


def test_every_analysis_figure_function_takes_ax_or_fig_and_writes_nothing():
    import inspect

    functions = _figure_functions()
    names = {f.__name__ for f in functions}
    assert {
        "label_bars_figure",
        "cooccurrence_heatmap",
        "density_figure",
        "observed_expected_figure",
    } <= names
    for function in functions:
        parameters = inspect.signature(function).parameters
        where = f"{function.__module__}.{function.__name__}"
        assert "ax" in parameters or "fig" in parameters, f"{where} takes no ax= / fig="
        assert "path" not in parameters, f"{where} writes a file: return the Axes instead"
        keyword = "ax" if "ax" in parameters else "fig"
        assert parameters[keyword].default is None, where
        returns = str(inspect.signature(function).return_annotation)
        assert returns.split(" |")[0] in ("Axes", "Figure"), f"{where} returns {returns}"


def test_draw_curves_roles_marks_and_legend():
    with style.figure_style():
        fig = style.new_figure(style.PAGE_WIDTH_IN, 2.4)
        ax = fig.add_subplot()
    t = np.arange(4) * 0.5
    curves = {"exp1_lasso": [0.1, 0.2, 1.5, 0.0], "exp7_pair": [0.0, -0.1, 0.2, 0.3]}
    returned = style.draw_curves(
        ax,
        t,
        curves,
        dimension="arousal",
        gold=[0.0, 0.1, 0.2, 0.1],
        gold_std=[0.1, 0.1, 0.1, 0.1],
        annotators=[[0.0, 0.0, 0.1, 0.1], [0.2, 0.1, 0.0, 0.0]],
        time_label="video_time",
    )
    assert returned is ax
    by_label = {line.get_label(): line for line in ax.lines}
    assert by_label["Annotators (EWE)"].get_color() == style.GOLD_STANDARD_COLOUR
    assert by_label["LASSO, audio"].get_color() == style.model_colour("exp1_lasso")
    assert by_label["PAIR"].get_color() == style.model_colour("exp7_pair")
    assert by_label["Single annotators"].get_color() == style.ANNOTATOR_COLOUR
    # the LASSO curve leaves the range at t = 1.0 s: one triangle on the top edge, its colour
    marks = [line for line in ax.lines if line.get_marker() == "^"]
    assert len(marks) == 1 and marks[0].get_xdata().tolist() == [1.0]
    assert marks[0].get_color() == style.model_colour("exp1_lasso")
    assert ax.get_xlabel() == "Time in the video (s)"
    assert ax.get_ylabel() == "Arousal (rating, −1 to 1)"
    legend = ax.get_legend()
    assert legend is not None
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[:2] == ["Single annotators", "Annotators (EWE) ± SD"]
    assert {"LASSO, audio", "PAIR"} <= set(texts)
