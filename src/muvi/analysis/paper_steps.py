"""The analyses of the paper (Chua et al. 2022, §3.2 and §4) as steps of ``muvi analyze``.

Each function below computes one step (:class:`muvi.analysis.step.AnalysisStep`)
on a quality-filtered study, writes its tables and figures, and returns its
summary keys; :data:`PAPER_STEPS` lists them in the order they run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from muvi.analysis import (
    cooccurrence,
    dataset_size,
    distribution,
    dynamic_effects,
    gems,
    modality_agreement,
    participants,
    static_effects,
)
from muvi.analysis.outputs import AGREEMENT_FILE, GOLD_STANDARD_FILE, figure_path, table_path
from muvi.analysis.step import AnalysisStep, StepContext
from muvi.data.schema import DIMENSIONS, GEMS_LABELS, MODALITIES
from muvi.plotting.style import save_figure


def write_table(table: pd.DataFrame, path: Path, *, index: bool = False) -> None:
    """Write a table as CSV, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=index)


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table as dicts with string keys."""
    return [{str(k): v for k, v in row.items()} for row in table.to_dict("records")]


def _pairs(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"a": str(r["a"]), "b": str(r["b"]), "r": float(r["r"]), "p": float(r["p"])}
        for r in records(table)
    ]


def _participants(ctx: StepContext) -> dict[str, Any]:
    people = ctx.data.participants
    write_table(participants.describe_participants(people), table_path(ctx.out, "participants"))
    write_table(participants.count_participants(people), table_path(ctx.out, "participant_counts"))
    return {"participants": participants.participants_summary(people)}


def _dataset_size(ctx: StepContext) -> dict[str, Any]:
    data, out, excluded = ctx.data, ctx.out, ctx.excluded
    counts = dataset_size.annotation_counts(data.static, data.dynamic)
    per_item = dataset_size.annotations_per_item(data.static, data.items)
    item_range = dataset_size.per_item_range(per_item)
    write_table(counts, table_path(out, "annotation_counts"))
    write_table(per_item, table_path(out, "annotations_per_item"))
    write_table(item_range, table_path(out, "annotations_per_item_range"))
    write_table(excluded, table_path(out, "excluded_annotations"))
    issues = pd.DataFrame({"issue": data.issues}, dtype=object)
    write_table(issues, table_path(out, "data_issues"))
    overall = {r["modality"]: r for r in records(item_range)}["all"]
    by_modality = {r["modality"]: r for r in records(counts)}
    reasons = excluded["reason"].value_counts() if len(excluded) else pd.Series(dtype=int)
    per_participant = data.static.groupby("participant_id").size()
    return {
        "annotations": {
            "static_total": int(len(data.static)),
            "per_participant": {
                "min": int(per_participant.min()) if len(per_participant) else None,
                "max": int(per_participant.max()) if len(per_participant) else None,
            },
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
        }
    }


def _gems(ctx: StepContext) -> dict[str, Any]:
    static, out = ctx.data.static, ctx.out
    labels = gems.label_table(static)
    write_table(labels, table_path(out, "gems_labels"))
    write_table(gems.group_table(static, "category"), table_path(out, "gems_categories"))
    write_table(gems.group_table(static, "superfactor"), table_path(out, "gems_superfactors"))
    write_table(gems.labels_per_annotation(static), table_path(out, "gems_labels_per_annotation"))
    write_table(
        gems.distinct_labels_per_item(static), table_path(out, "gems_distinct_labels_per_item")
    )
    for modality in MODALITIES:
        if ctx.figures and (labels["modality"] == modality).any():
            ax = gems.label_bars_figure(labels, modality)
            save_figure(ax.figure, figure_path(out, f"gems_labels_{modality}"))
    return {"gems": {**gems.gems_summary(static), **_label_counts(labels, static)}}


def _label_counts(labels: pd.DataFrame, static: pd.DataFrame) -> dict[str, Any]:
    """Table 3's figures: label counts per modality, each label's share of all
    labels, the totals; and the §3.2 / §4.1.2 label figures (labels offered,
    median labels per annotation, the least selected labels)."""
    counts = {
        str(m): {str(r["label"]): int(r["count"]) for r in records(part)}
        for m, part in labels.groupby("modality", sort=False)
    }
    overall = counts.get("all", {})
    total = sum(overall.values())
    least = sorted(overall.items(), key=lambda kv: (kv[1], kv[0]))
    cut = least[min(1, len(least) - 1)][1] if least else 0
    fewest = [k for k, v in least if v <= cut]  # the two least selected, ties kept
    present = [c for c in GEMS_LABELS if c in static.columns]
    per_annotation = static[present].astype(float).sum(axis=1)
    return {
        "label_counts": {m: c for m, c in counts.items() if m != "all"},
        "labels_total": {m: sum(c.values()) for m, c in counts.items()},
        "label_share": {k: 100.0 * v / total for k, v in overall.items()} if total else {},
        "labels_offered": len(overall),
        "labels_per_annotation_median": {
            "all": float(per_annotation.median()) if len(per_annotation) else None
        },
        "least_frequent_labels": "; ".join(k.replace("_", " ") for k in fewest),
    }


def _cooccurrence(ctx: StepContext) -> dict[str, Any]:
    static, out = ctx.data.static, ctx.out
    r, _ = cooccurrence.label_correlation_matrix(static)
    correlations = cooccurrence.label_correlations(static)
    top_positive, top_negative = cooccurrence.strongest_pairs(correlations)
    write_table(correlations, table_path(out, "label_correlations"))
    write_table(r, table_path(out, "label_correlation_matrix"), index=True)
    if ctx.figures:
        ax = cooccurrence.cooccurrence_heatmap(r)
        save_figure(ax.figure, figure_path(out, "label_cooccurrence"))
    pairs: dict[str, float] = {}
    for row in records(correlations):
        pairs[f"{row['a']}-{row['b']}"] = pairs[f"{row['b']}-{row['a']}"] = float(row["r"])
    return {
        "label_correlations": {
            "top_positive": _pairs(top_positive),
            "top_negative": _pairs(top_negative),
            "pairs": pairs,
        }
    }


def _chi_square(ctx: StepContext) -> dict[str, Any]:
    out = ctx.out
    results = static_effects.static_effects(ctx.data.static, ctx.data.participants)
    write_table(static_effects.chi_square_table(results), table_path(out, "chi_square"))
    deviations = [static_effects.deviating_labels(res) for res in results.values()]
    write_table(pd.concat(deviations, ignore_index=True), table_path(out, "chi_square_deviations"))
    for grouping, res in results.items():
        write_table(res.observed, table_path(out, f"contingency_{grouping}"), index=True)
        if ctx.figures:
            fig = static_effects.observed_expected_figure(res)
            save_figure(fig, figure_path(out, f"observed_expected_{grouping}"))
    summary = static_effects.chi_square_summary(results)
    for block in summary.values():  # §4.2.2 prints some tests only as (not) significant
        p = block.get("p")
        block["verdict"] = None if p is None else ("significant" if p < 0.05 else "not significant")
    return {"chi_square": summary}


def _per_dimension(table: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    return {d: records(table[table["dimension"] == d]) for d in DIMENSIONS}


def _dynamic(ctx: StepContext) -> pd.DataFrame:
    assert ctx.data.dynamic is not None, "a dynamic step ran on a study without dynamic ratings"
    return ctx.data.dynamic


def _rating_distribution(ctx: StepContext) -> dict[str, Any]:
    dynamic = _dynamic(ctx)
    means = distribution.rating_means(dynamic)
    write_table(means, table_path(ctx.out, "rating_means"))
    for modality in MODALITIES:
        if ctx.figures and (dynamic["modality"] == modality).any():
            ax = distribution.density_figure(dynamic, modality)
            save_figure(ax.figure, figure_path(ctx.out, f"density_{modality}"))
    return {
        "mean": {
            d: {str(r["modality"]): float(r["mean"]) for r in rows}
            for d, rows in _per_dimension(means).items()
        }
    }


def _modality_agreement(ctx: StepContext) -> dict[str, Any]:
    correlations = modality_agreement.modality_correlations(_dynamic(ctx))
    summary = modality_agreement.modality_correlation_summary(correlations)
    write_table(correlations, table_path(ctx.out, "modality_correlations"))
    write_table(summary, table_path(ctx.out, "modality_correlation_summary"))
    return {
        "modality_correlation": {
            d: {str(r["pair"]): {"mean": float(r["mean"]), "sd": float(r["sd"])} for r in rows}
            for d, rows in _per_dimension(summary).items()
        }
    }


def _dynamic_effects(ctx: StepContext) -> dict[str, Any]:
    medians = dynamic_effects.annotation_medians(_dynamic(ctx), ctx.data.static)
    normality = dynamic_effects.normality_tests(medians)
    overlay = dynamic_effects.overlay_tests(medians)
    kruskal = dynamic_effects.modality_tests(medians)
    write_table(medians, table_path(ctx.out, "annotation_medians"))
    write_table(normality, table_path(ctx.out, "normality_tests"))
    write_table(overlay, table_path(ctx.out, "overlay_tests"))
    write_table(kruskal, table_path(ctx.out, "modality_tests"))
    centres: dict[str, dict[str, dict[str, float | None]]] = {}
    for d in DIMENSIONS:
        centres[d] = {}
        for m in MODALITIES:
            values = medians.loc[medians["modality"] == m, d].dropna()
            centres[d][m] = {
                "median": float(values.median()) if len(values) else None,
                "mean": float(values.mean()) if len(values) else None,
            }
    return {
        **dynamic_effects.dynamic_effects_summary(normality, overlay, kruskal),
        "annotation_median_centres": centres,
    }


def _agreement(ctx: StepContext) -> dict[str, Any]:
    from muvi.annotations import agreement, agreement_summary, gold_standard, pooled_agreement

    dynamic, out = _dynamic(ctx), ctx.out
    write_table(gold_standard(dynamic), out / GOLD_STANDARD_FILE)
    per_annotation = agreement(dynamic)
    table = agreement_summary(per_annotation)
    write_table(per_annotation, out / AGREEMENT_FILE)
    write_table(table, table_path(out, "agreement_summary"))
    pooled = pooled_agreement(per_annotation)
    write_table(pooled, table_path(out, "agreement_pooled"))
    return {
        "agreement": {
            d: {
                str(r["modality"]): {"mean": float(r["mean"]), "std": float(r["std"])} for r in rows
            }
            for d, rows in _per_dimension(table).items()
        },
        "agreement_pooled": {
            str(r["dimension"]): {
                "mean": float(r["mean"]),
                "std": float(r["std"]),
                "n": int(r["n"]),
            }
            for r in records(pooled)
        },
    }


PAPER_STEPS = (
    AnalysisStep(
        "dataset size",
        "static",
        _dataset_size,
        tables=(
            "annotation_counts",
            "annotations_per_item",
            "annotations_per_item_range",
            "excluded_annotations",
            "data_issues",
        ),
        summary_keys=("annotations",),
        section="study",
    ),
    AnalysisStep(
        "participants",
        "static",
        _participants,
        tables=("participants", "participant_counts"),
        summary_keys=("participants",),
        section="participants",
        needs=("participants",),
    ),
    AnalysisStep(
        "GEMS labels",
        "static",
        _gems,
        tables=(
            "gems_labels",
            "gems_categories",
            "gems_superfactors",
            "gems_labels_per_annotation",
            "gems_distinct_labels_per_item",
        ),
        figures=("gems_labels_*",),
        summary_keys=("gems",),
        section="gems",
        needs=("gems",),
    ),
    AnalysisStep(
        "label co-occurrence",
        "static",
        _cooccurrence,
        tables=("label_correlations", "label_correlation_matrix"),
        figures=("label_cooccurrence",),
        summary_keys=("label_correlations",),
        section="cooccurrence",
        needs=("gems",),
    ),
    AnalysisStep(
        "chi-square tests",
        "static",
        _chi_square,
        tables=("chi_square", "chi_square_deviations"),
        figures=("observed_expected_*",),
        summary_keys=("chi_square",),
        section="static effects",
        needs=("gems",),
    ),
    AnalysisStep(
        "rating distribution",
        "dynamic",
        _rating_distribution,
        tables=("rating_means",),
        figures=("density_*",),
        summary_keys=("mean",),
        section="rating distribution",
    ),
    AnalysisStep(
        "modality agreement",
        "dynamic",
        _modality_agreement,
        tables=("modality_correlations", "modality_correlation_summary"),
        summary_keys=("modality_correlation",),
        section="modality agreement",
        needs=("visual",),
    ),
    AnalysisStep(
        "effects on dynamic ratings",
        "dynamic",
        _dynamic_effects,
        tables=("annotation_medians", "normality_tests", "overlay_tests", "modality_tests"),
        summary_keys=("ks", "mann_whitney", "kruskal", "annotation_median_centres"),
        section="dynamic effects",
        needs=("visual",),
    ),
    AnalysisStep(
        "gold standard and agreement",
        "dynamic",
        _agreement,
        tables=("agreement_summary", "agreement_pooled"),
        summary_keys=("agreement", "agreement_pooled"),
        section="agreement",
        needs=("raters",),
    ),
)
"""The paper's analyses, in the order they run (and their sections appear)."""
