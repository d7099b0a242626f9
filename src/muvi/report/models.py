"""Figures and report sections of the model evaluation (outside
:mod:`muvi.models`, which never imports :mod:`muvi.report`). They render
results they are given; :mod:`muvi.workflows.evaluate` runs the grid."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from muvi.errors import DataError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from muvi.report.html import ReportSection

from muvi.models.cv import StudyData
from muvi.models.reference_code import defect_notice
from muvi.models.results import EvaluationResults


def figure_items(
    results: EvaluationResults, requested: Sequence[str] = (), n: int = 2
) -> list[str]:
    """The items to plot: those requested (they must be test items), else the
    first ``n`` test items of fold 0."""
    tested = set(results.per_item["media_id"]) if not results.per_item.empty else set()
    unknown = [m for m in requested if m not in tested]
    if unknown:
        raise DataError(
            f"item {unknown[0]} was not a test item of any fold, so it has no predictions"
        )
    if requested:
        return list(requested)
    return [m for m in results.folds[0].test if m in tested][:n]


_EXPERIMENT = re.compile(r"^exp(\d+)_")
"""A model code of the grid: ``exp<N>_<kind>``."""


def _experiment_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """Model codes grouped by experiment (``exp3_lasso`` and ``exp3_lstm`` share
    a panel), in order of appearance; a name outside the grid is its own group."""
    groups: dict[str, list[str]] = {}
    for name in names:
        match = _EXPERIMENT.match(name)
        key = f"Experiment {int(match.group(1))}" if match else name
        groups.setdefault(key, []).append(name)
    return groups


def prediction_panel(
    results: EvaluationResults,
    study: StudyData,
    media_id: str,
    modality: str,
    dimension: str,
    names: Sequence[str] = (),
    *,
    ax: Axes | None = None,
) -> Axes:
    """One comparison: an item's ratings in one condition and dimension (every
    annotator in light grey, the gold standard (EWE) in black with its ± SD
    band) and the predictions of a few models under their display names.

    Args:
        results: the evaluation results (their ``predictions``).
        study: the study the models were evaluated on (ratings and gold standard).
        media_id: a test item.
        modality: the target condition (``music``, ``visual``, ``audiovisual``).
        dimension: ``valence`` or ``arousal``.
        names: the model codes to draw (default: every model of this target).
        ax: the axes to draw on (default: a new figure at column width).

    Returns:
        The axes drawn on.
    """
    from muvi.plotting import style

    ax = style.axes_or_new(ax, style.COLUMN_WIDTH_IN * 1.6, 2.0)
    preds = results.predictions
    chosen = preds[
        (preds["media_id"] == media_id)
        & (preds["dimension"] == dimension)
        & (preds["target_modality"] == modality)
    ]
    wanted = list(names) or list(dict.fromkeys(chosen["name"]))
    gold = study.gold[(study.gold["media_id"] == media_id) & (study.gold["modality"] == modality)]
    gold = gold.sort_values("sample")
    samples = gold["sample"].to_numpy()
    curves = {}
    for name in wanted:
        part = chosen[chosen["name"] == name].set_index("sample")["prediction"]
        curves[str(name)] = part.reindex(samples).to_numpy(dtype=float)
    annotators = []
    if study.dynamic is not None:
        raters = study.dynamic[
            (study.dynamic["media_id"] == media_id) & (study.dynamic["modality"] == modality)
        ]
        for _, series in raters.groupby("participant_id"):
            values = series.set_index("sample")[dimension]
            annotators.append(values.reindex(samples).to_numpy(dtype=float))
    return style.draw_curves(
        ax,
        samples * 0.5,
        curves,
        dimension=dimension,
        gold=gold[dimension].to_numpy(dtype=float),
        gold_std=gold[f"{dimension}_std"].to_numpy(dtype=float),
        annotators=annotators,
    )


def prediction_figure(
    results: EvaluationResults,
    study: StudyData,
    media_id: str,
    modality: str,
    dimension: str,
    *,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """An item's ratings against the models' predictions, one panel per
    experiment (the LASSO and the network of an experiment share a panel), so
    that no panel holds more than a few models.

    Args:
        results: the evaluation results.
        study: the study the models were evaluated on.
        media_id: a test item.
        modality: the target condition.
        dimension: ``valence`` or ``arousal``.
        fig: the figure (or sub-figure) to draw on, cleared first; default a
            new one at page width.

    Returns:
        The figure drawn on (save it with :func:`muvi.plotting.style.save_figure`).
    """
    from muvi.plotting import style
    from muvi.plotting.names import EXPERIMENT_FEATURES, MODALITY_NAMES

    preds = results.predictions
    chosen = preds[
        (preds["media_id"] == media_id)
        & (preds["dimension"] == dimension)
        & (preds["target_modality"] == modality)
    ]
    groups = _experiment_groups(list(dict.fromkeys(chosen["name"].astype(str))))
    n = max(len(groups), 1)
    fig = style.figure_or_new(fig, style.PAGE_WIDTH_IN, 0.4 + 1.45 * n)
    with style.figure_style():
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        for ax, (title, names) in zip(axes, groups.items(), strict=False):
            prediction_panel(results, study, media_id, modality, dimension, names, ax=ax)
            match = _EXPERIMENT.match(names[0])
            if match and int(match.group(1)) in EXPERIMENT_FEATURES:
                title += f" ({EXPERIMENT_FEATURES[int(match.group(1))]} features)"
            ax.set_title(title, loc="left")
        for ax in axes[:-1]:
            ax.set_xlabel("")
        # the ratings' entries once, in the first panel's legend; the others list their models
        ratings = ("Single annotators", "Annotators (EWE)", "Annotators (EWE) ± SD")
        for ax in axes[1:]:
            handles, labels = ax.get_legend_handles_labels()
            kept = [(h, lab) for h, lab in zip(handles, labels, strict=True) if lab not in ratings]
            if kept:
                style.legend_outside(ax, handles=[h for h, _ in kept], labels=[x for _, x in kept])
        heading = f"{media_id}: {MODALITY_NAMES.get(modality, modality)}, {dimension}"
        if results.simulated:
            heading += " (SIMULATED study)"
        fig.suptitle(heading)
    return fig


def write_figures(
    results: EvaluationResults,
    study: StudyData,
    out_dir: str | Path,
    items: Sequence[str] = (),
) -> list[Path]:
    """For each chosen item, target condition and dimension, a
    :func:`prediction_figure` (PNG at 300 dpi, SVG and PDF).

    Returns:
        The PNG files written (in ``out_dir/figures``; the SVGs lie beside them).
    """
    from muvi.plotting import style

    folder = Path(out_dir) / "figures"
    written = []
    preds = results.predictions
    for media_id in figure_items(results, items):
        for dimension in results.config.dimensions:
            for modality in dict.fromkeys(preds["target_modality"]):
                chosen = preds[
                    (preds["media_id"] == media_id)
                    & (preds["dimension"] == dimension)
                    & (preds["target_modality"] == modality)
                ]
                if chosen.empty:
                    continue
                fig = prediction_figure(results, study, media_id, modality, dimension)
                path = folder / f"{media_id}_{modality}_{dimension}.png"
                written.append(style.save_figure(fig, path))
    return written


TABLES_NOT_HERE = (
    "the paper's figure for the row (Table 4 for the LASSO, Table 6 for the "
    "networks, whose 'RMSE' column holds the authors' code's MSE) with its status: reproduced "
    "at the printed precision, differs (by how much), or not compared (SIMULATED data); "
    "'not in the paper' where the paper prints none"
)
"""What the paper column of the models' tables holds."""

NOT_IN_THE_PAPER = "not in the paper"
"""The paper column where the paper prints no figure for a row."""


def results_paper_block(document: dict[str, Any]) -> dict[str, Any]:
    """The ``paper`` block of ``results.json`` (``muvi evaluate``, ``muvi reproduce``).

    Every figure of :mod:`muvi.analysis.paper` with a ``results`` locator
    (Tables 4 and 6, the §7.1 tests) beside the document's value, and the
    model-level figures no muvi output determines (Table 7, §7.2), with why.
    On SIMULATED results no figure is ever compared.

    Args:
        document: the ``results.json`` document (``simulated``, ``experiments``,
            ``ttests``, ``human_tests``).

    Returns:
        ``{"paper": block}`` (see :func:`muvi.analysis.paper.paper_block`), the
        block with ``models_tables`` saying what the paper column holds.
    """
    from muvi.analysis.paper import compare_results, paper_block

    block = paper_block(compare_results(document))
    block["models_tables"] = TABLES_NOT_HERE
    return {"paper": block}


def paper_column(table: pd.DataFrame, document: dict[str, Any], field: str) -> list[str]:
    """The paper's value of ``field`` for each row (``name``, ``dimension``) of a
    table, with its status; :data:`NOT_IN_THE_PAPER` where the paper prints none.

    Args:
        table: rows with ``name`` and ``dimension``.
        document: ``results.json`` with its ``paper`` block.
        field: ``ccc_mean``, ``rmse_mean`` or ``mse_mean``.

    Returns:
        One text per row, e.g. ``"0.4080 ± 0.2631 (differs by -0.012)"`` or
        ``"0.4080 ± 0.2631 (not compared: SIMULATED data...)"``.
    """
    from muvi.analysis.paper import DIFFERS, paper_values

    located = {
        (v.results.get("name"), v.results.get("dimension"), v.results.get("field")): v.key
        for v in paper_values()
        if v.results is not None and "name" in v.results
    }
    status = {c["key"]: c for c in document.get("paper", {}).get("comparisons", [])}
    out = []
    for name, dimension in zip(table["name"], table["dimension"], strict=True):
        key = located.get((name, dimension, field))
        if key is None or key not in status:
            out.append(NOT_IN_THE_PAPER)
            continue
        c = status[key]
        if c["status"] == DIFFERS and c.get("difference") is not None:
            out.append(f"{c['paper']} (differs by {c['difference']:+.4f})")
            continue
        out.append(f"{c['paper']} ({c['status']}{': ' + c['why'] if c['why'] else ''})")
    return out


def paper_error_column(table: pd.DataFrame, document: dict[str, Any]) -> list[str]:
    """The paper's error for each row: Table 4's RMSE for the LASSO, Table 6's
    printed 'RMSE' (the code's MSE) for the networks; see :func:`paper_column`."""
    rmse = paper_column(table, document, "rmse_mean")
    mse = paper_column(table, document, "mse_mean")
    return [a if a != NOT_IN_THE_PAPER else b for a, b in zip(rmse, mse, strict=True)]


def write_paper_comparison(out_dir: str | Path) -> Path:
    """Write ``paper_comparison.csv`` beside ``results.json``: every paper figure
    of the models (Tables 4, 6 and 7, §7.1, §7.2) beside ours, with its status."""
    from muvi.analysis.paper import COMPARISON_COLUMNS, comparison_rows

    out = Path(out_dir)
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    path = out / "paper_comparison.csv"
    rows = comparison_rows(document.get("paper", {}))
    pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS)).to_csv(path, index=False)
    return path


def evaluation_sections(out_dir: str | Path, results: EvaluationResults) -> list[ReportSection]:
    """Report sections with the results tables and the figures found in
    ``out_dir/figures`` (written by :func:`write_figures`).

    Args:
        out_dir: the folder given to :func:`write_results` / :func:`write_figures`.
        results: the evaluation results.

    Returns:
        Sections for :func:`muvi.report.html.write_report`.
    """
    from muvi.report.html import ReportSection

    note = (
        " <strong>These results come from a SIMULATED study.</strong>" if results.simulated else ""
    )
    from muvi.models.human import HUMAN_TEST

    summary = results.summary()
    document = results.to_json()
    document.update(results_paper_block(document))
    summary["paper_ccc"] = paper_column(summary, document, "ccc_mean")
    summary["paper_error"] = paper_error_column(summary, document)
    config = results.config
    printed = "MSE" if config.reported_error == "mse" else "RMSE"
    intro = (
        "<p>Models trained and tested within the 5 outer folds; RMSE, MSE and CCC per test "
        "item, mean and standard deviation over the test items of all folds. Settings: the "
        f"<b>{html.escape(config.profile)}</b> profile; the error printed beside the CCC is "
        f"the {printed} (the paper reports the RMSE; the authors' code prints the MSE)."
        + note
        + "</p><p>The paper column: "
        + TABLES_NOT_HERE
        + "."
        + (
            " On simulated data the paper's figures are never compared."
            if results.simulated
            else ""
        )
        + "</p>"
    )
    if results.defects:
        intro = (
            '<div role="alert" style="background:#fff3e0;border:2px solid #e65100;'
            "padding:0.6em 1em;margin:0.8em 0\"><strong>Warning: defects of the authors' "
            "published code replicated on request.</strong> "
            + html.escape(defect_notice(results.defects))
            + " These numbers are not the paper's protocol.</div>"
            + intro
        )
    tables = {"Models: RMSE, MSE and CCC per experiment": summary}
    if results.human_agreement is not None:
        tables["Human inter-rater agreement (CCC, leave-one-out against the EWE)"] = (
            results.human_agreement
        )
    human = results.human_tests()
    if not human.empty:
        tables[f"Each model against human-level agreement (§7.1.1): {HUMAN_TEST}"] = human
    ttests = results.ttests()
    if not ttests.empty:
        tables["Paired t-tests over test items (smallest p first)"] = ttests.sort_values("p").head(
            60
        )
    top, families = results.importance()
    importance_tables = {}
    if not top.empty:
        importance_tables = {
            "LASSO: top features by |mean coefficient| over folds": top,
            "LASSO: sum of |mean coefficient| by feature family": families,
        }
    figures = {
        p.stem.replace("_", " "): p for p in sorted((Path(out_dir) / "figures").glob("*.png"))
    }
    from muvi.report.analysis_sections import paper_table

    tables[
        "The paper's figures of the models beside this run (Tables 4, 6 and 7, §7.1, §7.2), "
        "with their status"
    ] = paper_table(document["paper"])
    sections = [ReportSection("Model evaluation", intro, tables)]
    if importance_tables:
        sections.append(ReportSection("Feature importance", "", importance_tables))
    if figures:
        sections.append(
            ReportSection(
                "Predictions against the ratings",
                "<p>One panel per experiment. Light grey: every annotator; black: the "
                "gold standard (EWE) with its ± SD band; coloured lines: the models scored "
                "on this test item; triangles on an edge: a prediction beyond the axis.</p>",
                {},
                figures,
            )
        )
    return sections
