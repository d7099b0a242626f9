"""Shared look of the analysis figures (matplotlib, written as PNG).

Figures are built on :class:`matplotlib.figure.Figure` directly, without
``pyplot``, so no global backend or window is involved: the PNG is rendered
by matplotlib's Agg canvas and the figure is freed when it goes out of scope.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from muvi.data.schema import GEMS_CATEGORIES

MODALITY_COLOURS = {"music": "#1b9e77", "visual": "#d95f02", "audiovisual": "#7570b3"}
"""One colour per modality, used by every figure."""

CATEGORY_COLOURS = dict(
    zip(
        GEMS_CATEGORIES,
        (
            "#4e79a7",
            "#59a14f",
            "#9c755f",
            "#f28e2b",
            "#edc948",
            "#e15759",
            "#ff9da7",
            "#76b7b2",
            "#b07aa1",
        ),
        strict=True,
    )
)
"""One colour per GEMS category."""

DPI = 110


def new_figure(width: float, height: float) -> Figure:
    """A blank figure of ``width`` x ``height`` inches, laid out tightly when saved."""
    return Figure(figsize=(width, height), dpi=DPI, layout="tight")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (creating the folder) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path
