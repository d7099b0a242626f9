"""Every analysis figure draws on the caller's axes, follows the one style, and is
written as PNG (300 dpi) and SVG by the one writer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from muvi.analysis.cooccurrence import colour_limit, cooccurrence_heatmap, label_correlation_matrix
from muvi.analysis.distribution import density_figure
from muvi.analysis.gems import label_bars_figure, label_table
from muvi.analysis.modality_contribution import contribution_figure
from muvi.analysis.personalised import CV_SCHEME_COLOURS, personalised_figure
from muvi.analysis.reliability import reliability_figure
from muvi.analysis.static_effects import observed_expected_figure, static_effects
from muvi.analysis.static_prediction import static_prediction_figure
from muvi.annotations.lag import lag_figure
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


def _reliability_table() -> pd.DataFrame:
    """A reliability table by hand: music's Sublimity (-1.6) lies below the axis floor (-1)."""
    rows = []
    values = {"music": (0.5, -1.6, 0.2), "visual": (0.1, 0.3, -0.2)}
    for modality, reliabilities in values.items():
        for target, level, value in zip(
            ("Wonder", "Sublimity", "familiarity"),
            ("category", "superfactor", "familiarity"),
            reliabilities,
            strict=True,
        ):
            rows.append(
                {
                    "modality": modality,
                    "target": target,
                    "level": level,
                    "reliability": value,
                    "ci_low": value - 0.1,
                    "ci_high": value + 0.2,
                }
            )
    # a label-level row is not drawn
    rows.append(dict(rows[0], target="sad", level="label", reliability=0.9))
    return pd.DataFrame(rows)


def _prediction_table() -> pd.DataFrame:
    """Static prediction results by hand: two feature sets, three p < 0.05 for audio."""
    rows = []
    for features, p_values in (("audio", (0.01, 0.5, 0.03, 0.04)), ("visual", (0.01,) * 4)):
        for (modality, target), p in zip(
            [("music", "Power"), ("music", "Sadness"), ("visual", "Power"), ("visual", "Sadness")],
            p_values,
            strict=True,
        ):
            r2 = 0.1 if target == "Power" else -0.05
            rows.append(
                {
                    "features": features,
                    "modality": modality,
                    "target": target,
                    "r2": r2,
                    "r2_ci_low": r2 - 0.1,
                    "r2_ci_high": r2 + 0.05,
                    "p_value": p,
                }
            )
    return pd.DataFrame(rows)


def _gains_table() -> pd.DataFrame:
    """Personalised gains by hand: one row per scheme and target."""
    rows = []
    for cv, gains in (("annotators", (-0.05, 0.02)), ("items", (0.07, 0.01))):
        for target, gain in zip(("Power", "Sadness"), gains, strict=True):
            rows.append(
                {
                    "cv": cv,
                    "target": target,
                    "gain": gain,
                    "gain_ci_low": gain - 0.01,
                    "gain_ci_high": gain + 0.02,
                }
            )
    return pd.DataFrame(rows)


def _axes_figures(random_static, random_participants, dynamic):
    """(name, draw(ax) -> Axes) for every single-axes figure function."""
    labels = label_table(random_static)
    r, _ = label_correlation_matrix(random_static)
    return [
        ("label_bars", lambda ax: label_bars_figure(labels, "music", ax=ax)),
        ("cooccurrence", lambda ax: cooccurrence_heatmap(r, ax=ax)),
        ("density", lambda ax: density_figure(dynamic, "music", ax=ax)),
        ("reliability", lambda ax: reliability_figure(_reliability_table(), ax=ax)),
        (
            "static_prediction",
            lambda ax: static_prediction_figure(_prediction_table(), "audio", ax=ax),
        ),
        ("personalised", lambda ax: personalised_figure(_gains_table(), ax=ax)),
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
    """Every public figure function of muvi.analysis and muvi.annotations (``*_figure``,
    ``*_heatmap``)."""
    import importlib
    import inspect
    import pkgutil

    import muvi.analysis
    import muvi.annotations

    found = []
    modules = [
        *pkgutil.iter_modules(muvi.analysis.__path__, "muvi.analysis."),
        *pkgutil.iter_modules(muvi.annotations.__path__, "muvi.annotations."),
    ]
    for info in modules:
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
        # the analyses beyond the paper
        "reliability_figure",
        "static_prediction_figure",
        "personalised_figure",
        "contribution_figure",
        "lag_figure",
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


# --- the figures of the analyses beyond the paper -------------------------------------


def _errorbar_extents(ax) -> list[list[tuple[float, float, float]]]:
    """(x, low, high) of every whisker, one list per errorbar call."""
    from matplotlib.collections import LineCollection

    out = []
    for collection in ax.collections:
        if isinstance(collection, LineCollection):
            out.append([(s[0][0], s[0][1], s[1][1]) for s in collection.get_segments()])
    return out


def _legend_right_of_axes(ax) -> bool:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = ax.get_legend()
    return legend is not None and (
        legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
    )


def test_reliability_bars_whiskers_colours_and_the_mark_below_the_floor():
    table = _reliability_table()
    ax = reliability_figure(table)
    music, visual = style.MODALITY_COLOURS["music"], style.MODALITY_COLOURS["visual"]
    bars = ax.patches
    assert len(bars) == 2 * 3  # two conditions x (category, superfactor, familiarity)
    heights = [round(b.get_height(), 6) for b in bars]
    assert heights == [0.5, -1.6, 0.2, 0.1, 0.3, -0.2]  # the label-level row is left out
    assert [to_hex(b.get_facecolor()) for b in bars] == [music] * 3 + [visual] * 3
    # whiskers span the CI of the table: value - 0.1 to value + 0.2
    whiskers = _errorbar_extents(ax)
    assert len(whiskers) == 2
    for segments, values in zip(whiskers, ((0.5, -1.6, 0.2), (0.1, 0.3, -0.2)), strict=True):
        assert [x for _, lo, hi in segments for x in (lo, hi)] == pytest.approx(
            [x for v in values for x in (v - 0.1, v + 0.2)]
        )
    # the axis stops near -1; music's Sublimity (-1.6) gets one triangle on the bottom edge
    low, high = ax.get_ylim()
    assert -1.2 < low < -1.0 and high >= 0.7
    marks = [line for line in ax.lines if line.get_marker() == "v"]
    assert len(marks) == 1
    assert marks[0].get_color() == music
    assert marks[0].get_xdata().tolist() == pytest.approx([whiskers[0][1][0]])
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["Wonder", "Sublimity", "Familiarity (seen before)"]
    assert "reliability" in ax.get_ylabel() and "Spearman" in ax.get_ylabel()
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Music", "Visual (muted video)"]
    assert _legend_right_of_axes(ax)


def test_static_prediction_draws_one_feature_set_and_stars_the_significant_bars():
    table = _prediction_table()
    ax = static_prediction_figure(table, "audio")
    assert [round(b.get_height(), 6) for b in ax.patches] == [0.1, -0.05, 0.1, -0.05]
    stars = [t for t in ax.texts if t.get_text() == "*"]
    # p < 0.05 for audio: music/Power, visual/Power, visual/Sadness (worked out by hand)
    assert len(stars) == 3
    # each star above its bar's whisker, inside the axes
    top = ax.get_ylim()[1]
    assert all(star.get_position()[1] <= top for star in stars)
    assert sorted(round(s.get_position()[1], 3) for s in stars)[0] >= 0.0
    assert "audio" in ax.get_title()
    assert ax.get_ylabel().startswith("Out-of-fold R²")
    assert _legend_right_of_axes(ax)
    # every feature set the table has gets its own figure with its own stars
    visual = static_prediction_figure(table, "visual")
    assert len([t for t in visual.texts if t.get_text() == "*"]) == 4


def test_personalised_gains_per_scheme_in_their_colours():
    ax = personalised_figure(_gains_table())
    heights = [round(b.get_height(), 6) for b in ax.patches]
    assert heights == [-0.05, 0.02, 0.07, 0.01]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["New annotators", "New items"]
    assert to_hex(ax.patches[0].get_facecolor()) == CV_SCHEME_COLOURS["annotators"]
    assert to_hex(ax.patches[2].get_facecolor()) == CV_SCHEME_COLOURS["items"]
    whiskers = _errorbar_extents(ax)
    assert [x for _, lo, hi in whiskers[1] for x in (lo, hi)] == pytest.approx(
        [0.06, 0.09, 0.0, 0.03]
    )
    assert "nats" in ax.get_ylabel()
    assert _legend_right_of_axes(ax)
    # the schemes keep colours that no modality uses
    assert not set(CV_SCHEME_COLOURS.values()) & set(style.MODALITY_COLOURS.values())


def test_contribution_histograms_count_the_items_per_dimension():
    shares = {"valence": [0.05, 0.15, 0.12, 0.95, np.nan], "arousal": [0.5, 0.55, 1.0]}
    table = pd.DataFrame(
        [{"dimension": d, "music_share": v} for d, values in shares.items() for v in values]
    )
    fig = Figure(figsize=(7, 3), layout="constrained")
    returned = contribution_figure(table, fig=fig)
    assert returned is fig
    valence, arousal = _data_axes(fig)
    # counts per 0.1-wide bin, worked out by hand: valence 1 in [0, .1), 2 in [.1, .2), 1 in [.9, 1]
    counts = [round(p.get_height()) for p in valence.patches]
    assert counts == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert [round(p.get_height()) for p in arousal.patches] == [0, 0, 0, 0, 0, 2, 0, 0, 0, 1]
    # the median of the finite shares as a dashed line: (0.12 + 0.15) / 2
    median = [line for line in valence.lines if line.get_linestyle() == "--"]
    assert median[0].get_xdata()[0] == pytest.approx(0.135)
    assert valence.get_title() == "Valence (4 items)" and arousal.get_title() == "Arousal (3 items)"
    assert valence.get_ylabel() == "Items (count)"
    assert all("Music share" in ax.get_xlabel() for ax in (valence, arousal))
    assert to_hex(valence.patches[0].get_facecolor()) == style.MODALITY_COLOURS["music"]
    assert _legend_right_of_axes(arousal)


def test_lag_histograms_use_the_joint_lags_per_source_and_condition():
    rows = [
        ("music", "both", 0.5, 2.0),
        ("music", "both", 0.5, 2.0),
        ("music", "both", 1.0, np.nan),
        ("visual", "both", -0.5, 3.0),
        ("music", "valence", 5.0, 5.5),  # a single dimension's lag: not drawn
    ]
    lags = pd.DataFrame(rows, columns=["modality", "dimension", "lag_others_s", "lag_features_s"])
    outer = Figure(figsize=(10, 3), layout="constrained")
    left, right = outer.subfigures(1, 2, width_ratios=[1, 3])
    left.add_subplot().plot([0, 1], [0, 1])
    assert lag_figure(lags, fig=right) is right
    others, features = right.axes
    assert others.get_xlabel() == "Lag behind the other\nannotators (s)"
    assert features.get_xlabel() == "Lag behind the media's\nfeatures (s)"
    assert others.get_ylabel() == features.get_ylabel() == "Annotations (count)"

    def outline(ax, label):
        (patch,) = [p for p in ax.patches if p.get_label() == label]
        return patch

    music = outline(others, "Music")
    assert to_hex(music.get_edgecolor()) == style.MODALITY_COLOURS["music"]
    # two music annotations at 0.5 s, one at 1.0 s: the step outline peaks at 2
    assert music.get_xy()[:, 1].max() == 2
    assert outline(others, "Visual (muted video)").get_xy()[:, 1].max() == 1
    # the valence-only row (5.0 s) is outside every bin
    assert max(p.get_xy()[:, 0].max() for p in others.patches) < 5.0
    assert outline(features, "Music").get_xy()[:, 1].max() == 2
    legend = features.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Music", "Visual (muted video)"]

    # without features the panel says so instead of drawing an empty histogram
    no_features = lags.assign(lag_features_s=np.nan)
    fig = lag_figure(no_features)
    assert fig.get_figwidth() == style.PAGE_WIDTH_IN
    empty = fig.axes[1]
    assert not empty.patches
    assert any("not estimated" in t.get_text() for t in empty.texts)


def test_reliability_figure_of_the_real_labels(muvi_dir):
    from muvi.analysis.reliability import ReliabilityConfig, split_half_reliability
    from muvi.data.loaders import load_dataset

    static = load_dataset(muvi_dir).static
    table = split_half_reliability(static, ReliabilityConfig(n_splits=10, n_bootstrap=10))
    ax = reliability_figure(table)
    drawn = table[table["level"].isin(["category", "superfactor", "familiarity"])]
    # 9 categories + 3 superfactors + familiarity, in each of the 3 conditions
    assert len(drawn) == 3 * 13 == len(ax.patches)
    expected = [
        float(drawn.loc[(drawn["modality"] == m) & (drawn["target"] == t), "reliability"].iloc[0])
        for m in ("music", "visual", "audiovisual")
        for t in dict.fromkeys(drawn["target"])
    ]
    assert [b.get_height() for b in ax.patches] == pytest.approx(expected)
    assert len(ax.get_xticklabels()) == 13


def test_beyond_figures_are_written_as_png_and_svg(small_study, tmp_path):
    from muvi.analysis import beyond
    from muvi.analysis.modality_contribution import ContributionConfig
    from muvi.analysis.outputs import FIGURE_FORMATS, figure_path, previous_outputs
    from muvi.analysis.steps import BEYOND_FIGURES
    from muvi.data.loaders import load_dataset

    assert style.FORMATS == FIGURE_FORMATS
    config = beyond.BeyondConfig(contribution=ContributionConfig(n_bootstrap=20))
    beyond.beyond_dynamic(load_dataset(small_study), tmp_path, lambda _: None, True, config)
    listed = previous_outputs(tmp_path)
    for name in ("rater_lags", "modality_contribution"):
        png = figure_path(tmp_path, name)
        assert name in BEYOND_FIGURES
        with Image.open(png) as image:
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        svg = png.with_suffix(".svg")
        assert "<svg" in svg.read_text()
        assert png in listed and svg in listed


def test_static_prediction_stars_come_from_the_corrected_p():
    """Raw permutation p 0.001, 0.02, 0.04, 0.6: three raw stars; Benjamini-Hochberg over
    the 4 rows (by hand: 0.004, 0.04, 0.053, 0.6) leaves ** and * on the first two."""
    table = _prediction_table()
    table = table[table["features"] == "audio"].assign(p_value=[0.001, 0.02, 0.04, 0.6])
    ax = static_prediction_figure(table, "audio")
    marks = sorted(t.get_text() for t in ax.texts if t.get_text().strip("*") == "")
    assert marks == ["*", "**"]
    assert "Benjamini-Hochberg FDR-corrected" in ax.get_title()
