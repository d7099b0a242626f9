"""The analysis figures' names for muvi's one figure style.

The style itself (sizes, colour roles, the writer) lives in
:mod:`muvi.plotting.style`; this module re-exports what the analysis modules
use, so ``from muvi.analysis.figures import new_figure, save_figure`` draws and
writes figures the same way as every other muvi figure: :func:`save_figure`
writes a PNG at 300 dpi with an SVG and a PDF beside it (their text kept as text),
and returns the PNG's path. Stars of significance come from corrected p-values
(:mod:`muvi.analysis.correction`).
"""

from __future__ import annotations

from muvi.plotting.style import (
    CATEGORY_COLOURS,
    DPI,
    MODALITY_COLOURS,
    axes_or_new,
    figure_or_new,
    figure_style,
    legend_outside,
    new_figure,
    save_figure,
)

__all__ = [
    "CATEGORY_COLOURS",
    "DPI",
    "MODALITY_COLOURS",
    "axes_or_new",
    "figure_or_new",
    "figure_style",
    "legend_outside",
    "new_figure",
    "save_figure",
]
