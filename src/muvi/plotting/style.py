"""The one look of every muvi figure: sizes, fonts, colour roles and the writer.

A figure function of the package (or of a new analysis step) follows four
habits, all provided here behind one import::

    from muvi.plotting import style

    def my_figure(table, *, ax=None):
        with style.figure_style():
            ax = style.axes_or_new(ax, style.COLUMN_WIDTH_IN, 2.6)
            ax.plot(...)
            ax.set_xlabel("Time (s)")             # every axis labelled, with units
            style.legend_outside(ax)              # legends never cover the data
        return ax

    style.save_figure(my_figure(table).figure, "out/figures/my_figure.png")

- **Sizes**: figures are drawn at their printed size (one journal column,
  :data:`COLUMN_WIDTH_IN`, or two, :data:`PAGE_WIDTH_IN`) with text of at least
  :data:`MIN_FONT_PT` points, so nothing is shrunk when the figure is placed.
- **Colour roles that never collide**: the human gold standard (the EWE of the
  annotators) is black with a grey band (:data:`GOLD_STANDARD_COLOUR`,
  :data:`GOLD_STANDARD_BAND`); models take the colour-blind-safe qualitative
  palette :data:`MODEL_PALETTE` (a fixed colour per model, :func:`model_colour`);
  the three modalities have fixed colours (:data:`MODALITY_COLOURS`); the nine
  GEMS categories theirs (:data:`CATEGORY_COLOURS`).
- **Out-of-range values are marked**: :func:`mark_out_of_range` draws a
  triangle on the axis edge where a curve leaves the visible range.
- **One panel per comparison**: :func:`draw_curves` draws annotators, gold
  standard and models over time in those roles.
- **One writer**: :func:`save_figure` writes a PNG at 300 dpi and, beside it,
  an SVG and a PDF whose text stays text (editable and searchable).

Figures are built on :class:`matplotlib.figure.Figure` without ``pyplot``, so
no global backend, window or global rcParams are touched: the style applies
only inside :func:`figure_style`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.text import Text

from muvi.data.schema import GEMS_CATEGORIES
from muvi.plotting.names import MODEL_ORDER, model_name

COLUMN_WIDTH_IN = 3.5
"""One journal column (about 89 mm), in inches."""

PAGE_WIDTH_IN = 7.2
"""The full width of a two-column journal page (about 183 mm), in inches."""

MIN_FONT_PT = 8.0
"""The smallest text size at the printed size, in points."""

DPI = 300
"""Resolution of the PNG files."""

FORMATS = ("png", "svg", "pdf")
"""The files :func:`save_figure` writes for each figure: a PNG, and the vector SVG and
PDF that a journal's production takes (text kept as text in both)."""

RC_PARAMS: dict[str, Any] = {
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "legend.title_fontsize": 8.0,
    "figure.titlesize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.2,
    "legend.frameon": False,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "svg.fonttype": "none",  # text stays <text>, editable in a journal's pipeline
    "pdf.fonttype": 42,  # TrueType fonts embedded whole, text selectable
    "image.interpolation": "nearest",
}
"""The matplotlib settings of every muvi figure (applied by :func:`figure_style`)."""

GOLD_STANDARD_COLOUR = "#000000"
"""The human gold standard (EWE of the annotators): a black line..."""

GOLD_STANDARD_BAND = "#b8b8b8"
"""...with a light grey band (± its standard deviation)."""

ANNOTATOR_COLOUR = "#d9d9d9"
"""Single annotators' series, drawn behind everything else."""

MODEL_PALETTE = (
    "#88ccee",
    "#332288",
    "#ddcc77",
    "#999933",
    "#cc6677",
    "#117733",
    "#44aa99",
    "#882255",
    "#aa4499",
)
"""The models' qualitative palette: Paul Tol's "muted" scheme, whose nine colours stay
distinct for colour-blind readers; in :data:`muvi.plotting.names.MODEL_ORDER` each LASSO
model takes the light partner of its LSTM's dark colour (audio: cyan / indigo; visual:
sand / olive). None is black or grey, so a model is never mistaken for the gold
standard."""

MODALITY_COLOURS = {"music": "#1b7837", "visual": "#b35806", "audiovisual": "#542788"}
"""One fixed colour per modality, used by every figure."""

CATEGORY_COLOURS = dict(
    zip(
        GEMS_CATEGORIES,
        (
            "#88ccee",  # Wonder            (Sublimity: the cool and earthy colours)
            "#44aa99",  # Transcendence
            "#117733",  # Peacefulness
            "#ddcc77",  # Tenderness
            "#999933",  # Nostalgia
            "#cc6677",  # Power             (Vitality: the warm ones)
            "#aa4499",  # Joyful activation
            "#332288",  # Sadness           (Unease: the dark ones)
            "#882255",  # Tension
        ),
        strict=True,
    )
)
"""One colour per GEMS category: Paul Tol's "muted" scheme, the superfactors' categories
in neighbouring hues. Any two categories stay at least 15 CIELAB units apart for
normal vision and under simulated deuteranopia and protanopia (Machado et al., 2009),
as ``tests/plotting/test_style.py`` checks."""


def model_colour(name: str, order: Sequence[str] = ()) -> str:
    """The colour of a model: fixed for the models of the paper's grid, else by
    position in ``order`` (or a stable hash of the name).

    Args:
        name: a model code (``exp1_lstm``) or its display name (``LSTM, audio``).
        order: the models drawn together, for models outside the grid.

    Returns:
        A hex colour from :data:`MODEL_PALETTE`.

    Examples:
        >>> model_colour("exp7_pair") == model_colour("PAIR")
        True
        >>> model_colour("exp1_lasso") != model_colour("exp1_lstm")
        True
    """
    display = model_name(name)
    if display in MODEL_ORDER:
        return MODEL_PALETTE[MODEL_ORDER.index(display) % len(MODEL_PALETTE)]
    names = [model_name(n) for n in order]
    if display in names:
        return MODEL_PALETTE[names.index(display) % len(MODEL_PALETTE)]
    return MODEL_PALETTE[sum(display.encode()) % len(MODEL_PALETTE)]


@contextmanager
def figure_style() -> Iterator[None]:
    """Draw with muvi's style (:data:`RC_PARAMS`) inside the ``with`` block only.

    Examples:
        >>> with figure_style():
        ...     fig = new_figure(COLUMN_WIDTH_IN, 2.0)
        >>> float(fig.get_figwidth())
        3.5
    """
    with mpl.rc_context(cast(Any, RC_PARAMS)):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A blank figure of ``width`` x ``height`` inches (its printed size), with
    constrained layout.

    Args:
        width: in inches; at most :data:`PAGE_WIDTH_IN` keeps text at its
            printed size.
        height: in inches.

    Returns:
        The figure (not attached to pyplot).
    """
    with figure_style():
        return Figure(figsize=(width, height), layout="constrained")


def axes_or_new(ax: Axes | None, width: float, height: float) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``width`` x ``height`` inches.

    Args:
        ax: the caller's axes, or None.
        width: the new figure's width in inches.
        height: its height in inches.

    Returns:
        Axes to draw on.
    """
    if ax is not None:
        return ax
    with figure_style():
        return new_figure(width, height).add_subplot()


def figure_or_new(
    fig: Figure | SubFigure | None, width: float, height: float
) -> Figure | SubFigure:
    """``fig`` itself (cleared), or a new figure of ``width`` x ``height`` inches:
    for multi-panel figures, which take ``fig=`` rather than ``ax=``.

    Args:
        fig: the caller's figure, or a sub-figure of one (``Figure.subfigures``)
            to place the panels beside others; None for a new figure.
        width: the new figure's width in inches.
        height: its height in inches.

    Returns:
        A figure to draw panels on.
    """
    if fig is None:
        return new_figure(width, height)
    fig.clear()
    return fig


def legend_outside(ax: Axes, **kwargs: Any) -> Legend | None:
    """A legend to the right of the axes, so it never covers the data.

    Args:
        ax: the axes whose labelled artists are listed.
        kwargs: passed to :meth:`matplotlib.axes.Axes.legend` (e.g. ``handles``).

    Returns:
        The legend, or None when nothing is labelled.
    """
    handles, _ = ax.get_legend_handles_labels()
    if not handles and "handles" not in kwargs:
        return None
    options: dict[str, Any] = {
        "loc": "upper left",
        "bbox_to_anchor": (1.02, 1.0),
        "borderaxespad": 0.0,
        "frameon": False,
    }
    options.update(kwargs)
    return ax.legend(**options)


def mark_out_of_range(
    ax: Axes,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    color: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> int:
    """Mark where a curve leaves the y range of the axes: a triangle on the top
    (pointing up) or bottom edge (pointing down) at each such x, in the curve's colour.

    Call it after the axis limits are set (or pass ``ylim``); consecutive
    points outside the range get one mark each, so a long excursion shows as a
    row of triangles along the edge.

    Args:
        ax: the axes.
        x: the curve's x values.
        y: its y values.
        color: the marks' colour (default: the axes' text colour).
        ylim: the visible range (default: ``ax.get_ylim()``).

    Returns:
        The number of points marked.

    Examples:
        >>> with figure_style():
        ...     ax = new_figure(3, 2).add_subplot()
        >>> ax.set_ylim(-1, 1)
        (-1.0, 1.0)
        >>> mark_out_of_range(ax, [0, 1, 2, 3], [0.5, 1.4, -2.0, 0.0])
        2
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    low, high = sorted(ylim if ylim is not None else ax.get_ylim())
    colour = color or mpl.rcParams["text.color"]
    above = ys > high
    below = ys < low
    transform = ax.get_xaxis_transform()
    if above.any():
        ax.plot(
            xs[above],
            np.full(int(above.sum()), 1.0),
            linestyle="none",
            marker="^",
            markersize=5,
            color=colour,
            clip_on=False,
            transform=transform,
            zorder=5,
        )
    if below.any():
        ax.plot(
            xs[below],
            np.zeros(int(below.sum())),
            linestyle="none",
            marker="v",
            markersize=5,
            color=colour,
            clip_on=False,
            transform=transform,
            zorder=5,
        )
    return int(above.sum() + below.sum())


def gold_standard(
    ax: Axes,
    t: Sequence[float] | np.ndarray,
    mean: Sequence[float] | np.ndarray,
    std: Sequence[float] | np.ndarray | None = None,
    *,
    label: str = "Annotators (EWE)",
) -> None:
    """Draw the human gold standard: a black line, with a grey ± SD band when ``std``
    is given.

    Args:
        ax: the axes.
        t: times in seconds.
        mean: the EWE series.
        std: its standard deviation per sample, or None.
        label: the legend entry.
    """
    tt = np.asarray(t, dtype=float)
    mm = np.asarray(mean, dtype=float)
    if std is not None:
        ss = np.asarray(std, dtype=float)
        ax.fill_between(
            tt, mm - ss, mm + ss, color=GOLD_STANDARD_BAND, alpha=0.6, lw=0, label=f"{label} ± SD"
        )
    ax.plot(tt, mm, color=GOLD_STANDARD_COLOUR, lw=1.6, label=label, zorder=4)


def draw_curves(
    ax: Axes,
    t: Sequence[float] | np.ndarray,
    curves: Mapping[str, Sequence[float] | np.ndarray],
    *,
    dimension: str,
    gold: Sequence[float] | np.ndarray | None = None,
    gold_std: Sequence[float] | np.ndarray | None = None,
    annotators: Sequence[Sequence[float] | np.ndarray] = (),
    ylim: tuple[float, float] = (-1.05, 1.05),
    time_label: str = "time",
    colours: Mapping[str, str] | None = None,
) -> Axes:
    """One comparison panel of valence or arousal over time: the annotators' series
    in light grey, the gold standard in black with its grey band, each model in its
    fixed colour under its display name, marks where a curve leaves the range, both
    axes labelled with units and the legend outside.

    Draw one panel per comparison (e.g. per modality and dimension) rather than
    many models and targets in one.

    Args:
        ax: the axes.
        t: times in seconds (one per 2 Hz sample).
        curves: model code or name -> its series (same length as ``t``).
        dimension: ``valence`` or ``arousal`` (labels the y axis).
        gold: the EWE series, or None.
        gold_std: its standard deviation per sample, or None.
        annotators: single annotators' series, drawn behind.
        ylim: the y range; values beyond it are marked on the edge.
        time_label: ``time`` (excerpt time) or ``video_time`` (the video's clock).
        colours: a fixed colour for some curves (by their key in ``curves``), e.g.
            :data:`MODALITY_COLOURS` when the curves are modalities; the others
            take :func:`model_colour`.

    Returns:
        ``ax``.

    Examples:
        >>> with figure_style():
        ...     ax = new_figure(COLUMN_WIDTH_IN, 2.2).add_subplot()
        >>> _ = draw_curves(ax, [0, 0.5, 1.0], {"exp7_pair": [0.2, 1.4, 0.1]},
        ...                 dimension="valence", gold=[0.1, 0.3, 0.2])
        >>> ax.get_ylabel(), [line.get_label() for line in ax.lines][:2]
        ('Valence (rating, −1 to 1)', ['Annotators (EWE)', 'PAIR'])
    """
    from muvi.plotting.names import AXIS_LABELS

    tt = np.asarray(t, dtype=float)
    with figure_style():
        for k, series in enumerate(annotators):
            ax.plot(
                tt,
                np.asarray(series, dtype=float),
                color=ANNOTATOR_COLOUR,
                lw=0.6,
                zorder=1,
                label="Single annotators" if k == 0 else None,
            )
        if gold is not None:
            gold_standard(ax, tt, gold, gold_std)
        ax.set_ylim(*ylim)
        order = list(curves)
        for name, series in curves.items():
            values = np.asarray(series, dtype=float)
            colour = (colours or {}).get(name) or model_colour(name, order)
            ax.plot(tt, values, color=colour, lw=1.3, label=model_name(name), zorder=3)
            mark_out_of_range(ax, tt, values, color=colour, ylim=ylim)
        ax.set_xlabel(AXIS_LABELS.get(time_label, time_label))
        ax.set_ylabel(AXIS_LABELS.get(dimension, dimension))
        legend_outside(ax)
    return ax


def enforce_min_font(fig: Figure | SubFigure, minimum: float = MIN_FONT_PT) -> int:
    """Raise every text of ``fig`` smaller than ``minimum`` points to ``minimum``.

    Args:
        fig: the figure.
        minimum: the smallest size in points.

    Returns:
        How many texts were enlarged.
    """
    count = 0
    for text in fig.findobj(Text):
        if text.get_text() and float(text.get_fontsize()) < minimum:
            text.set_fontsize(minimum)
            count += 1
    return count


def save_figure(
    fig: Figure | SubFigure, path: str | Path, formats: Sequence[str] = FORMATS
) -> Path:
    """Write ``fig`` once per format (PNG at :data:`DPI` dpi, SVG and PDF vector) and
    return the PNG's path.

    ``path`` names the PNG (``figures/x.png``); the other formats are written
    beside it with their own suffix (``figures/x.svg``, ``figures/x.pdf``). Text smaller than
    :data:`MIN_FONT_PT` is enlarged first, and the figure's folder is created.

    Args:
        fig: the figure (for a sub-figure, the whole figure it belongs to is written).
        path: the PNG file (any suffix is replaced by each format's).
        formats: the formats to write (``png``, ``svg``, ``pdf``).

    Returns:
        The path of the first format's file (the PNG by default).
    """
    root: Figure = fig.figure if isinstance(fig, SubFigure) else fig  # type: ignore[assignment]
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    enforce_min_font(root)
    written = []
    with figure_style():
        for fmt in formats:
            target = base.with_suffix(f".{fmt}")
            options: dict[str, Any] = {"format": fmt, "dpi": DPI, "bbox_inches": "tight"}
            if fmt in ("svg", "pdf"):  # no date: the same figure writes the same file
                options["metadata"] = {"Date": None} if fmt == "svg" else {"CreationDate": None}
            root.savefig(target, **options)
            written.append(target)
    return written[0]
