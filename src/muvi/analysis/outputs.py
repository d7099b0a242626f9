"""Where ``muvi analyze`` writes its results inside the output folder.

::

    OUT/summary.json          the headline numbers (keys fixed)
    OUT/report.html           everything below in one self-contained page
    OUT/gold_standard.csv     EWE of every item and modality (dynamic data only)
    OUT/agreement.csv         leave-one-out CCC of every annotation (dynamic data only)
    OUT/tables/<name>.csv     every result table (names: each step's ``tables``,
                              :mod:`muvi.analysis.steps`)
    OUT/figures/<name>.png    every figure (names: each step's ``figures``), PNG at 300 dpi...
    OUT/figures/<name>.svg    ...and the same figure as SVG and PDF (vector, text as text)
    OUT/figures/<name>.pdf

Examples:
    >>> table_path("out", "chi_square").as_posix()
    'out/tables/chi_square.csv'
"""

from __future__ import annotations

from pathlib import Path

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
GOLD_STANDARD_FILE = "gold_standard.csv"
AGREEMENT_FILE = "agreement.csv"
TABLES_DIR = "tables"
FIGURES_DIR = "figures"

LAG_COMPENSATED_GOLD_FILE = "lag_compensated_gold_standard.csv"
"""``OUT/lag_compensated_gold_standard.csv`` (``muvi analyze --lag-compensation``)."""


FIGURE_FORMATS = ("png", "svg", "pdf")
"""The files of every figure: a PNG at 300 dpi, an SVG and a PDF (as
:func:`muvi.plotting.style.save_figure` writes them)."""


def previous_outputs(out_dir: str | Path) -> list[Path]:
    """The files an earlier analysis run left in ``out_dir`` (and nothing else).

    Examples:
        >>> previous_outputs("/nonexistent")
        []
    """
    from muvi.analysis import steps  # the steps write their tables under this layout

    out = Path(out_dir)
    found = [out / name for name in (SUMMARY_FILE, REPORT_FILE, GOLD_STANDARD_FILE, AGREEMENT_FILE)]
    found.append(out / LAG_COMPENSATED_GOLD_FILE)
    found += [table_path(out, name) for name in steps.tables()]
    found += sorted((out / TABLES_DIR).glob("contingency_*.csv"))
    for pattern in steps.figures():
        for suffix in FIGURE_FORMATS:
            found += sorted((out / FIGURES_DIR).glob(f"{pattern}.{suffix}"))
    return [path for path in found if path.is_file()]


def table_path(out_dir: str | Path, name: str) -> Path:
    """``OUT/tables/<name>.csv``."""
    return Path(out_dir) / TABLES_DIR / f"{name}.csv"


def figure_path(out_dir: str | Path, name: str) -> Path:
    """``OUT/figures/<name>.png``."""
    return Path(out_dir) / FIGURES_DIR / f"{name}.png"
