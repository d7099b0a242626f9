"""Every descriptive analysis and test of Chua et al. 2022 (§3.2, §4) in one run: ``muvi analyze``.

:func:`run_analysis` loads a study folder, applies the analysis window and
the constant-cursor filter (the paper leaves those annotations out of every
analysis, static labels included), runs the static analyses always and the
dynamic ones when ``av_data.csv`` is present, and writes tables, figures,
``summary.json`` and ``report.html`` (layout in :mod:`muvi.analysis.outputs`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from muvi.analysis import (
    cooccurrence,
    dataset_size,
    distribution,
    dynamic_effects,
    gems,
    modality_agreement,
    paper,
    participants,
    static_effects,
)
from muvi.analysis.outputs import (
    AGREEMENT_FILE,
    GOLD_STANDARD_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    figure_path,
    previous_outputs,
    table_path,
)
from muvi.annotations.window import AnalysisWindow, study_window
from muvi.data.dataset import MuviDataset
from muvi.data.schema import DIMENSIONS, MODALITIES
from muvi.errors import DataError
from muvi.plotting.style import save_figure
from muvi.progress import ProgressCallback, Steps

if TYPE_CHECKING:
    from muvi.analysis.beyond import BeyondConfig

Step = Callable[[str], None]


def _json_ready(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write(table: pd.DataFrame, path: Path, *, index: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=index)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in table.to_dict("records")]


def _pairs(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"a": str(r["a"]), "b": str(r["b"]), "r": float(r["r"]), "p": float(r["p"])}
        for r in _records(table)
    ]


def _static_analyses(
    data: MuviDataset, excluded: pd.DataFrame, out: Path, step: Step, figures: bool
) -> dict[str, Any]:
    static = data.static
    step("participants")
    people = data.participants
    _write(participants.describe_participants(people), table_path(out, "participants"))
    _write(participants.count_participants(people), table_path(out, "participant_counts"))

    step("dataset size")
    counts = dataset_size.annotation_counts(static, data.dynamic)
    per_item = dataset_size.annotations_per_item(static, data.items)
    item_range = dataset_size.per_item_range(per_item)
    _write(counts, table_path(out, "annotation_counts"))
    _write(per_item, table_path(out, "annotations_per_item"))
    _write(item_range, table_path(out, "annotations_per_item_range"))
    _write(excluded, table_path(out, "excluded_annotations"))
    _write(pd.DataFrame({"issue": data.issues}, dtype=object), table_path(out, "data_issues"))
    overall = {r["modality"]: r for r in _records(item_range)}["all"]
    by_modality = {r["modality"]: r for r in _records(counts)}
    reasons = excluded["reason"].value_counts() if len(excluded) else pd.Series(dtype=int)

    step("GEMS labels")
    labels = gems.label_table(static)
    _write(labels, table_path(out, "gems_labels"))
    _write(gems.group_table(static, "category"), table_path(out, "gems_categories"))
    _write(gems.group_table(static, "superfactor"), table_path(out, "gems_superfactors"))
    _write(gems.labels_per_annotation(static), table_path(out, "gems_labels_per_annotation"))
    _write(gems.distinct_labels_per_item(static), table_path(out, "gems_distinct_labels_per_item"))
    for modality in MODALITIES:
        if figures and (labels["modality"] == modality).any():
            ax = gems.label_bars_figure(labels, modality)
            save_figure(ax.figure, figure_path(out, f"gems_labels_{modality}"))

    step("label co-occurrence")
    r, _ = cooccurrence.label_correlation_matrix(static)
    correlations = cooccurrence.label_correlations(static)
    top_positive, top_negative = cooccurrence.strongest_pairs(correlations)
    _write(correlations, table_path(out, "label_correlations"))
    _write(r, table_path(out, "label_correlation_matrix"), index=True)
    if figures:
        ax = cooccurrence.cooccurrence_heatmap(r)
        save_figure(ax.figure, figure_path(out, "label_cooccurrence"))

    step("chi-square tests")
    results = static_effects.static_effects(static, people)
    _write(static_effects.chi_square_table(results), table_path(out, "chi_square"))
    deviations = [static_effects.deviating_labels(res) for res in results.values()]
    _write(pd.concat(deviations, ignore_index=True), table_path(out, "chi_square_deviations"))
    for grouping, res in results.items():
        _write(res.observed, table_path(out, f"contingency_{grouping}"), index=True)
        if figures:
            fig = static_effects.observed_expected_figure(res)
            save_figure(fig, figure_path(out, f"observed_expected_{grouping}"))

    return {
        "participants": participants.participants_summary(people),
        "annotations": {
            "static_per_modality": {m: int(by_modality[m]["static"]) for m in MODALITIES},
            "dynamic_per_modality": (
                {m: int(by_modality[m]["dynamic"]) for m in MODALITIES}
                if data.dynamic is not None
                else None
            ),
            "per_item_modality": {
                "min": float(overall["min"]),
                "median": float(overall["median"]),
                "max": float(overall["max"]),
            },
            "excluded": {str(k): int(v) for k, v in reasons.items()},
        },
        "gems": gems.gems_summary(static),
        "label_correlations": {
            "top_positive": _pairs(top_positive),
            "top_negative": _pairs(top_negative),
        },
        "chi_square": static_effects.chi_square_summary(results),
    }


def _dynamic_analyses(data: MuviDataset, out: Path, step: Step, figures: bool) -> dict[str, Any]:
    from muvi.annotations import agreement, agreement_summary, gold_standard, pooled_agreement

    dynamic = data.dynamic
    assert dynamic is not None
    step("rating distribution")
    means = distribution.rating_means(dynamic)
    _write(means, table_path(out, "rating_means"))
    for modality in MODALITIES:
        if figures and (dynamic["modality"] == modality).any():
            ax = distribution.density_figure(dynamic, modality)
            save_figure(ax.figure, figure_path(out, f"density_{modality}"))

    step("modality agreement")
    correlations = modality_agreement.modality_correlations(dynamic)
    correlation_summary = modality_agreement.modality_correlation_summary(correlations)
    _write(correlations, table_path(out, "modality_correlations"))
    _write(correlation_summary, table_path(out, "modality_correlation_summary"))

    step("effects on dynamic ratings")
    medians = dynamic_effects.annotation_medians(dynamic, data.static)
    normality = dynamic_effects.normality_tests(medians)
    overlay = dynamic_effects.overlay_tests(medians)
    kruskal = dynamic_effects.modality_tests(medians)
    _write(medians, table_path(out, "annotation_medians"))
    _write(normality, table_path(out, "normality_tests"))
    _write(overlay, table_path(out, "overlay_tests"))
    _write(kruskal, table_path(out, "modality_tests"))

    step("gold standard and agreement")
    _write(gold_standard(dynamic), out / GOLD_STANDARD_FILE)
    per_annotation = agreement(dynamic)
    agreement_table = agreement_summary(per_annotation)
    _write(per_annotation, out / AGREEMENT_FILE)
    _write(agreement_table, table_path(out, "agreement_summary"))
    pooled = pooled_agreement(per_annotation)
    _write(pooled, table_path(out, "agreement_pooled"))

    def per_dimension(table: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
        return {d: _records(table[table["dimension"] == d]) for d in DIMENSIONS}

    summary: dict[str, Any] = {
        "mean": {
            d: {str(r["modality"]): float(r["mean"]) for r in rows}
            for d, rows in per_dimension(means).items()
        },
        "modality_correlation": {
            d: {str(r["pair"]): {"mean": float(r["mean"]), "sd": float(r["sd"])} for r in rows}
            for d, rows in per_dimension(correlation_summary).items()
        },
    }
    summary.update(dynamic_effects.dynamic_effects_summary(normality, overlay, kruskal))
    summary["agreement"] = {
        d: {str(r["modality"]): {"mean": float(r["mean"]), "std": float(r["std"])} for r in rows}
        for d, rows in per_dimension(agreement_table).items()
    }
    summary["agreement_pooled"] = {
        str(r["dimension"]): {"mean": float(r["mean"]), "std": float(r["std"]), "n": int(r["n"])}
        for r in _records(pooled)
    }
    return summary


def _notes(data: MuviDataset, excluded: pd.DataFrame, window: AnalysisWindow) -> list[str]:
    notes = [f"Data: {data.root}."]
    if data.simulated:
        notes.append("This study was written by the MuVi simulator (simulated data).")
    if data.dynamic is None:
        notes.append(
            "No dynamic ratings (av_data.csv) in this folder: only the static analyses ran."
        )
    else:
        notes.append(f"Analysis window: {window.describe()}; dynamic ratings are cut to it.")
    if len(excluded):
        reasons = excluded["reason"].value_counts()
        listed = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        notes.append(
            f"{len(excluded)} annotation(s) left out of every analysis, static labels included "
            f"({listed}); see tables/excluded_annotations.csv."
        )
    else:
        notes.append("No annotation was left out by the quality filter.")
    if data.issues:
        notes.append(
            f"{len(data.issues)} note(s) from loading the data: see 'Study size and data "
            "quality' and tables/data_issues.csv."
        )
    return notes


def analyze_dataset(
    dataset: MuviDataset,
    out_dir: str | Path,
    *,
    figures: bool = True,
    step: Step | None = None,
    window_samples: int | None = None,
    title: str | None = None,
    beyond: BeyondConfig | None = None,
) -> dict[str, Any]:
    """Run every analysis on a loaded study and write the results.

    Files that an earlier run left in ``out_dir`` are removed first (only
    those: tables, figures, summary, report), so the folder never mixes runs.

    Args:
        dataset: the study as loaded (not yet filtered).
        out_dir: the output folder (created).
        figures: draw the figures (False is faster: tables, summary and a
            report without figures).
        step: called with the name of each stage as it starts (for progress).
        window_samples: the analysis window in 2 Hz samples; by default the
            study's own (:func:`muvi.annotations.study_window`: its
            ``muvi_metadata.json``, else the paper's 118).
        title: the report's title (default: :func:`muvi.report.study_title`,
            from the study's metadata or "MuVi public release").
        beyond: run the analyses beyond the paper (:mod:`muvi.analysis.beyond`,
            summary block ``beyond``) with these settings; None skips them.

    Returns:
        The summary (also written as ``summary.json``); its
        ``analysis_window`` names the window used.
    """
    from muvi.annotations import quality_filter
    from muvi.report import analysis_sections, study_title, write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in previous_outputs(out):
        stale.unlink()
    tell: Step = step or (lambda name: None)
    tell("quality filter")
    window = study_window(dataset.metadata, window_samples)
    data, excluded = quality_filter(dataset, n_samples=window.n_samples)
    if data.static.empty:
        reasons = ", ".join(f"{n} {r}" for r, n in excluded["reason"].value_counts().items())
        raise DataError(
            "no static annotation is left to analyse after the quality filter"
            + (f" ({reasons})" if reasons else ""),
            file=dataset.root,
        )
    summary = {
        "analysis_window": {
            "samples": window.n_samples,
            "seconds": window.seconds,
            "source": window.source,
        }
    }
    summary.update(_static_analyses(data, excluded, out, tell, figures))
    if data.dynamic is not None and len(data.dynamic):
        summary["dynamic"] = _dynamic_analyses(data, out, tell, figures)
    summary["paper"] = paper.paper_block(
        paper.compare_summary(
            summary,
            simulated=dataset.simulated,
            has_dynamic=data.dynamic is not None and len(data.dynamic) > 0,
        )
    )
    if beyond is not None:
        from muvi.analysis.beyond import beyond_dynamic, beyond_static

        summary["beyond"] = beyond_static(data, out, tell, figures, beyond)
        if data.dynamic is not None and len(data.dynamic):
            summary["beyond"].update(beyond_dynamic(data, out, tell, figures, beyond))
    summary = _json_ready(summary)
    tell("summary and report")
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    title = title or study_title(dataset.root, dataset.metadata, simulated=dataset.simulated)
    sections = analysis_sections(out, summary)
    if beyond is not None:
        from muvi.report.beyond_sections import beyond_sections

        sections += beyond_sections(out, summary, simulated=dataset.simulated)
    write_report(
        out / REPORT_FILE,
        title,
        sections,
        simulated=dataset.simulated,
        notes=_notes(data, excluded, window),
    )
    return summary


STATIC_STAGES = 7
"""Stages :func:`analyze_dataset` reports for every study (for a progress bar)."""
DYNAMIC_STAGES = 4
"""Further stages it reports when the study has dynamic ratings."""


def run_analysis(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    progress: ProgressCallback | None = None,
    figures: bool = True,
    window_samples: int | None = None,
    title: str | None = None,
    beyond: BeyondConfig | None = None,
) -> dict[str, Any]:
    """Load a study folder, run every analysis, write tables, figures, summary and report.

    Args:
        data_dir: a folder in the published layout (the public release, a
            simulated study, a study export).
        out_dir: where to write (see :mod:`muvi.analysis.outputs`).
        progress: called with a :class:`muvi.progress.ProgressEvent` (stage
            ``analyze``, the message naming the stage under way) as the work
            advances; None (the default) is silent.
        figures: draw the figures (see :func:`analyze_dataset`).
        window_samples: the analysis window in 2 Hz samples (default: the
            study's own, see :func:`analyze_dataset`).
        title: the report's title (see :func:`analyze_dataset`).
        beyond: also run the analyses beyond the paper (see :func:`analyze_dataset`);
            the item features are then loaded too.

    Returns:
        The summary, as written to ``summary.json``.

    Raises:
        DataError: the folder is missing or a file in it is malformed.
    """
    from muvi.data.loaders import load_dataset

    features = beyond is not None
    steps = Steps(progress, "analyze", 1 + STATIC_STAGES + DYNAMIC_STAGES)
    steps.start("loading the study")
    dataset = load_dataset(data_dir, features=features, window_samples=window_samples)
    total = 1 + STATIC_STAGES + (DYNAMIC_STAGES if dataset.dynamic is not None else 0)
    if beyond is not None:
        from muvi.analysis.beyond import DYNAMIC_STEPS, STATIC_STEPS

        total += STATIC_STEPS + (DYNAMIC_STEPS if dataset.dynamic is not None else 0)
    steps.total = total
    summary = analyze_dataset(
        dataset,
        out_dir,
        figures=figures,
        step=steps,
        window_samples=window_samples,
        title=title,
        beyond=beyond,
    )
    steps.done = total - 1
    steps("done")
    return summary
