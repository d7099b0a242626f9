"""``muvi reproduce``: its figure and its report section, rendered from the results
that :mod:`muvi.workflows.reproduce` gives them.

The paper's figures sit beside the table through :mod:`muvi.analysis.paper`
(compared with the ``published`` variant, the code as it ran, or else the
``reference-code`` profile); where the data file holds no figure for a
network, the column says so.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from muvi.analysis.correction import HOLM, corrected, stars, stars_legend
from muvi.models.reproduce import (
    PAIRING,
    PUBLISHED,
    REFERENCE,
    ReproductionResults,
)
from muvi.report.models import TABLES_NOT_HERE, results_paper_block

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

    from muvi.report.html import ReportSection

FIGURE = "figures/reproduce_changes.png"
"""The figure's PNG, relative to the output folder (the SVG lies beside it)."""

CORRECTION = HOLM
"""How the paired t-tests of the variants are corrected for their number (every
variant, network and dimension of one metric is one family): Holm's step-down."""

TESTED_METRICS = ("ccc", "mse")
"""The metrics whose change from the reference is t-tested (``<metric>_p``)."""

REPORT_COLUMNS = [
    "variant",
    "name",
    "dimension",
    "defects",
    "printed_error",
    "n_items",
    "n_seeds",
    "ccc_mean",
    "ccc_seed_sd",
    "d_ccc",
    "ccc_t",
    "ccc_p",
    "ccc_p_holm",
    "error_mean",
    "d_error",
    "mse_mean",
    "d_mse",
    "mse_t",
    "mse_p",
    "mse_p_holm",
    "rmse_mean",
    "paper",
]
"""The columns of the combined table shown in the report (the CSV has them all)."""


STARS = stars_legend(CORRECTION, "every bar")
"""What the figure's stars mean (its heading and the report's caption)."""


def with_corrected_p(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``<metric>_p_holm`` beside each ``<metric>_p``: the paired
    t-tests' p-values Holm-corrected over every row of the table (every variant,
    network and dimension; the reference itself has no test).

    Examples:
        >>> t = pd.DataFrame({"ccc_p": [0.01, 0.04, 0.03, 0.005, float("nan")]})
        >>> with_corrected_p(t)["ccc_p_holm"].round(3).tolist()
        [0.03, 0.06, 0.06, 0.02, nan]
    """
    out = table.copy()
    for metric in TESTED_METRICS:
        raw = f"{metric}_p"
        if raw in out.columns:
            values = corrected(out[raw].to_numpy(dtype=float), CORRECTION)
            if f"{raw}_holm" in out.columns:
                out[f"{raw}_holm"] = values
            else:
                out.insert(list(out.columns).index(raw) + 1, f"{raw}_holm", values)
    return out


def compared_variant(results: ReproductionResults) -> str:
    """The variant the paper's figures are compared with: ``published`` (the
    code with its defects, as it made the tables) when run, else the reference."""
    names = {v.name for v in results.variants}
    return PUBLISHED if PUBLISHED in names else REFERENCE


def paper_document(results: ReproductionResults, table: pd.DataFrame) -> dict[str, Any]:
    """A ``results.json``-like document of the compared variant, with its
    ``paper`` block (:func:`muvi.report.models.results_paper_block`)."""
    chosen = table[table["variant"] == compared_variant(results)]
    document: dict[str, Any] = {
        "simulated": results.simulated,
        "experiments": [
            {
                "name": r["name"],
                "dimension": r["dimension"],
                "ccc_mean": r["ccc_mean"],
                "rmse_mean": r["rmse_mean"],
                "mse_mean": r["mse_mean"],
            }
            for r in chosen.to_dict("records")
        ],
    }
    document.update(results_paper_block(document))
    document["paper"]["compared_variant"] = compared_variant(results)
    return document


def changes_figure(
    table: pd.DataFrame,
    *,
    metric: str = "ccc",
    simulated: bool = False,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """The change of each variant from the reference-code profile, one panel
    per network (rows) and dimension (columns).

    A bar per variant (the reference itself is the zero line); the whisker is
    the standard deviation over seeds of the per-seed change (with 2 seeds or
    more), and stars mark the paired t-test over test items, Holm-corrected over
    every bar of the figure (:func:`with_corrected_p`; ``*`` p < 0.05, ``**`` p <
    0.01, ``***`` p < 0.001).

    Args:
        table: :meth:`ReproductionResults.table`.
        metric: ``ccc``, ``mse`` or ``rmse``.
        simulated: label the figure SIMULATED.
        fig: the figure (or sub-figure) to draw on, cleared first; default a
            new one at page width.

    Returns:
        The figure drawn on (write it with :func:`muvi.plotting.style.save_figure`).
    """
    from matplotlib.ticker import MaxNLocator

    from muvi.plotting import style
    from muvi.plotting.names import model_name

    if f"{metric}_p" in table.columns:
        table = with_corrected_p(table)
    shown = table[table["variant"] != REFERENCE]
    names = list(dict.fromkeys(table["name"]))
    dims = list(dict.fromkeys(table["dimension"]))
    order = list(dict.fromkeys(shown["variant"]))
    height = 0.6 + max(1.0, 0.17 * len(order) + 0.65) * len(names)
    fig = style.figure_or_new(fig, style.PAGE_WIDTH_IN, height)
    palette = style.MODEL_PALETTE
    colours = {v: palette[i % len(palette)] for i, v in enumerate(order)}
    # more variants than colours: the ones that reuse a colour are hatched
    hatches = {v: "////" if i >= len(palette) else "" for i, v in enumerate(order)}
    with style.figure_style():
        axes = fig.subplots(len(names), len(dims), squeeze=False, sharey=True)
        for r, name in enumerate(names):
            for c, dimension in enumerate(dims):
                ax = axes[r, c]
                part = shown[(shown["name"] == name) & (shown["dimension"] == dimension)]
                part = part.set_index("variant").reindex(order)
                y = np.arange(len(order))[::-1]  # the first variant on top
                change = part[f"d_{metric}"].to_numpy(dtype=float)
                spread = part[f"d_{metric}_seed_sd"].to_numpy(dtype=float)
                bars = ax.barh(
                    y,
                    np.nan_to_num(change),
                    # whiskers only with several seeds (one seed has no spread)
                    xerr=np.where(np.isfinite(spread), spread, 0.0)
                    if np.isfinite(spread).any()
                    else None,
                    color=[colours[v] for v in order],
                    error_kw={"elinewidth": 0.7, "capsize": 1.5},
                    height=0.7,
                )
                for bar, variant in zip(bars, order, strict=True):
                    bar.set_hatch(hatches[variant])
                ax.axvline(0.0, color=style.GOLD_STANDARD_COLOUR, linewidth=0.6)
                column = f"{metric}_p_holm"
                p = (
                    part[column].to_numpy(dtype=float)
                    if column in part
                    else np.full(len(y), np.nan)
                )
                for k in (k for k in range(len(p)) if stars(p[k])):
                    ax.annotate(
                        stars(p[k]),
                        (np.nan_to_num(change[k]), y[k]),
                        xytext=(3 if change[k] >= 0 else -3, -3),
                        textcoords="offset points",
                        ha="left" if change[k] >= 0 else "right",
                    )
                ax.set_yticks(y, order)
                ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
                ax.set_title(_panel_title(table, name, dimension, model_name), loc="left")
                if r == len(names) - 1:
                    ax.set_xlabel(f"change in {metric.upper()} from reference-code")
        heading = (
            f"Each variant's change in {metric.upper()} from the reference-code profile\n"
            f"(whisker: SD over seeds; stars: paired t-test, {STARS}"
        )
        heading += ")"
        if simulated:
            heading += " (SIMULATED study)"
        fig.suptitle(heading)
    return fig


def _panel_title(
    table: pd.DataFrame, name: str, dimension: str, model_name: Callable[[str], str]
) -> str:
    """e.g. ``exp. 3: LSTM, audio, valence`` over ``-> audiovisual ratings``
    (experiments 1 and 3 share a display name; the number and the target tell
    them apart)."""
    row = table[table["name"] == name].iloc[0]
    if "experiment" not in table.columns or "target_modality" not in table.columns:
        return f"{model_name(name)}, {dimension}"
    return (
        f"exp. {int(row['experiment'])}: {model_name(name)}, {dimension}\n"
        f"\u2192 {row['target_modality']} ratings"
    )


def reproduce_sections(
    out_dir: str | Path, results: ReproductionResults, table: pd.DataFrame
) -> list[ReportSection]:
    """The report section of ``muvi reproduce``.

    Args:
        out_dir: the folder :func:`reproduce_study` wrote into (its figure is
            read from there).
        results: the results.
        table: the combined table as written (with its ``paper`` column).

    Returns:
        One section: the variants, the table, the human tests, the figure, and
        the defect notice of every variant that ran with a defect.
    """
    from muvi.models.human import HUMAN_TEST
    from muvi.report.html import ReportSection

    esc = html_lib.escape
    parts = []
    if results.simulated:
        parts.append("<p><strong>These results come from a SIMULATED study.</strong></p>")
    parts.append(
        "<p>The grid's networks trained under each variant and compared with the "
        f"reference-code profile (the authors' published code without its defects); "
        f"{len(results.seeds)} seed(s) per network ({', '.join(map(str, results.seeds))}). "
        "The LASSO baseline is the same under every variant and is not run here.</p>"
    )
    items = "".join(
        f"<li><strong>{esc(v.name)}</strong>: {esc(v.description)}"
        + (
            f" (networks of {esc(results.retrained_from[v.name])}, re-scored)"
            if v.name in results.retrained_from
            else ""
        )
        + (f"<br><strong>{esc(v.notice)}</strong>" if v.notice else "")
        + "</li>"
        for v in results.variants
    )
    parts.append(f"<ul>{items}</ul>")
    parts.append(f"<p>t-tests: {esc(PAIRING)}.</p>")
    parts.append(
        "<p>Printed error: what the variant prints beside the CCC (MSE under the code's "
        "metric, RMSE otherwise); both are in the table. Paper column: "
        f"{esc(TABLES_NOT_HERE)}.</p>"
    )
    table = with_corrected_p(table)
    shown = table[[c for c in REPORT_COLUMNS if c in table.columns]]
    tables = {
        "Each variant against the reference-code profile (p: paired t-test; beside it, "
        "the p Holm-corrected over every row)": shown
    }
    human = results.human_tests()
    if not human.empty:
        tables[f"Each model against human-level agreement (§7.1.1): {HUMAN_TEST}"] = human
    figure = Path(out_dir) / FIGURE
    caption = f"Change from the reference-code profile (stars: paired t-test, {STARS})"
    figures = {caption: figure} if figure.exists() else {}
    return [ReportSection("Reproducing the paper", "".join(parts), tables, figures)]
