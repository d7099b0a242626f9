"""The report sections of the analyses beyond the paper, read back from an output folder.

Builders that turn what the steps of :mod:`muvi.analysis.beyond` wrote into
:class:`ReportSection` objects: item reliability, static emotion from the
features, personalised perception, rater lag and the modality that carries
the audiovisual rating (registered by step in :mod:`muvi.report.step_sections`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from muvi.analysis.outputs import figure_path, table_path
from muvi.analysis.static_prediction import STARS_LEGEND
from muvi.report.html import ReportSection, format_value


def _read(out_dir: Path, name: str) -> pd.DataFrame | None:
    path = table_path(out_dir, name)
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def _figures(out_dir: Path, names: dict[str, str]) -> dict[str, Path]:
    found = {caption: figure_path(out_dir, name) for caption, name in names.items()}
    return {caption: path for caption, path in found.items() if path.is_file()}


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _f(value: Any) -> str:
    return html.escape(format_value(value))


def _names(values: list[str]) -> str:
    return html.escape(", ".join(values)) if values else "none"


def _origin(simulated: bool) -> str:
    return "SIMULATED data" if simulated else "the study's data"


def _reliability_section(out: Path, block: dict[str, Any], simulated: bool) -> ReportSection:
    text = _p(
        "How much do the items themselves explain? For each condition, the annotators are "
        "split at random into two halves; each half gives every item the share of its "
        "annotations that tick a label (category, superfactor: any of its labels; "
        "familiarity: 'seen before'); the Pearson r of the two halves over items, "
        "Spearman-Brown corrected to the whole panel, is averaged over random splits. The CI "
        "is a bootstrap over items with a new split in every replicate. The item effect is "
        "tested by shuffling the item ids over the condition's annotations (statistic: the "
        "between-item sum of squares of the ticks)."
    )
    lines = []
    for modality in ("music", "visual", "audiovisual"):
        info = block.get(modality)
        if not info:
            continue
        ci = info.get("familiarity_ci") or [None, None]
        lines.append(
            f"<li>{html.escape(modality)}: median reliability of the 9 categories "
            f"{_f(info.get('median_category_reliability'))}; categories with an item effect "
            f"(p &lt; 0.05): {_names(info.get('categories_with_item_effect', []))}, after "
            "Benjamini-Hochberg (q &lt; 0.05): "
            f"{_names(info.get('categories_with_item_effect_fdr', []))}; familiarity "
            f"{_f(info.get('familiarity_reliability'))} (CI {_f(ci[0])} to {_f(ci[1])}).</li>"
        )
    between = block.get("between_conditions_median_category_r", {})
    text += _p(f"In {_origin(simulated)}:") + "<ul>" + "".join(lines) + "</ul>"
    text += _p(
        "Median r of the categories' item shares between conditions: "
        + ", ".join(f"{html.escape(k)} {_f(v)}" for k, v in between.items())
        + ". A reliability of R caps the correlation any predictor of the item shares can "
        "reach at about &radic;R: near 0, the labels mostly reflect who rated which item, "
        "not the item, and parts 1 and 2 below should be read with that in mind."
    )
    tables = {}
    for caption, name in (
        ("Split-half reliability of the item shares", "item_reliability"),
        ("Permutation tests of the item effect", "item_effect_tests"),
        ("Agreement of the item shares between conditions", "item_share_agreement"),
    ):
        table = _read(out, name)
        if table is not None:
            tables[caption] = table[table["level"] != "label"] if "level" in table else table
    figures = _figures(out, {"Reliability of the item shares": "item_reliability"})
    return ReportSection(
        "Beyond the paper: reliability of the static labels",
        html=text,
        tables=tables,
        figures=figures,
    )


def _prediction_section(out: Path, block: dict[str, Any] | None) -> ReportSection:
    text = _p(
        "Each category's and superfactor's item share, per condition, predicted from the "
        "item's features (mean and SD of every feature over the analysis window) by ridge "
        "regression under nested cross-validation over items: 10 outer folds; inside, the "
        "penalty is chosen by exact leave-one-out over the training items. R&sup2; is out of "
        "fold; its p-value comes from the same procedure on shares shuffled over items; CIs "
        "are bootstraps over items of the out-of-fold predictions."
    )
    if block:
        for features, per in block.items():
            text += _p(
                f"From {html.escape(features)} features, predicted above chance (p &lt; 0.05): "
                + "; ".join(
                    f"{html.escape(m)}: {_names(v['significant'])} (q &lt; 0.05: "
                    f"{_names(v.get('significant_fdr', []))}; best R&sup2; "
                    f"{_f(v['best_r2'])}, {html.escape(v['best_target'])})"
                    for m, v in per.items()
                )
                + "."
            )
    else:
        text += _p("No item features in this study: the step was skipped.")
    table = _read(out, "static_prediction")
    figures = {}
    if table is not None:
        for name in dict.fromkeys(table["features"]):
            figures.update(
                _figures(
                    out,
                    {
                        f"Out-of-fold R² from {name} features ({STARS_LEGEND})": "static_prediction_"
                        + str(name).replace("+", "_")
                    },
                )
            )
    return ReportSection(
        "Beyond the paper: static emotion from the features",
        html=text,
        tables={
            "Nested-CV prediction of the item shares (p: permutation test; q: "
            "Benjamini-Hochberg FDR over every row)": table
        }
        if table is not None
        else {},
        figures=figures,
    )


def _personalised_section(out: Path, block: dict[str, Any] | None) -> ReportSection:
    text = _p(
        "Whether an annotation ticks a category, by L2 logistic regression from the item's "
        "features (10 principal components) and the condition, against the same plus the "
        "annotator's profile (gender, musical training, familiarity with the item, age, "
        "favourite genre, lyric language, countries, overlay preference). Cross-validated over "
        "annotators (new people) and over items (new media), 5 folds each. Gain: mean "
        "out-of-fold log-loss without the profile minus with it (nats per annotation); CI: "
        "bootstrap over the held-out annotators or items; p: one-sided sign-flip test over "
        "them. Field importance: the loss increase when one field is dropped (CV over "
        "annotators). With CV over items the same annotators are in training, so the "
        "profile can stand for the annotator (their own ticking habits); CV over annotators "
        "asks whether profile effects carry over to new people."
    )
    if block:
        for scheme in ("annotators", "items"):
            info = block.get(scheme)
            if info:
                text += _p(
                    f"CV over {scheme}: mean gain {_f(info['mean_gain'])}; the profile helps "
                    f"(p &lt; 0.05) for {_names(info['targets_helped'])}; after "
                    f"Benjamini-Hochberg (q &lt; 0.05) for "
                    f"{_names(info.get('targets_helped_fdr', []))}."
                )
        fields = block.get("fields_that_matter", {})
        if fields:
            text += _p(
                "Fields whose removal hurts (Benjamini-Hochberg q &lt; 0.05 over the field's "
                "targets): "
                + "; ".join(f"{html.escape(t)}: {_names(f)}" for t, f in fields.items())
                + "."
            )
    else:
        text += _p("Skipped (no item features, or turned off).")
    tables = {}
    for caption, name in (
        ("Gain from the profile", "personalised_gains"),
        ("Profile fields: loss increase when dropped", "personalised_fields"),
    ):
        table = _read(out, name)
        if table is not None:
            tables[caption] = table
    figures = _figures(out, {"Gain from the annotator's profile": "personalised_gains"})
    return ReportSection(
        "Beyond the paper: personalised perception", html=text, tables=tables, figures=figures
    )


def _lag_section(out: Path, block: dict[str, Any]) -> ReportSection:
    text = _p(
        "Each annotation's reaction lag, searched within bounds (-4 to 6 s against the others, "
        "0 to 6 s against the features) with sub-sample refinement: against the others, the "
        "shift that maximises Pearson r with the leave-one-out EWE of the other annotators "
        "(a lag relative to the panel); against the features, the shift that maximises the "
        "R&sup2; of the annotation on the first 5 principal components of the item's features "
        "(audio for music, visual for the muted video, both for the video: a lag behind the "
        "media). 'both' is one lag for the cursor from the mean of the two dimensions' curves."
    )
    comp = block.get("compensation")
    if comp:
        text += _p(
            f"Lag compensation ({html.escape(comp['source'])}): every annotation shifted "
            "earlier by its joint lag; change of the mean leave-one-out CCC: "
            + ", ".join(f"{html.escape(k)} {_f(v)}" for k, v in comp["agreement_change"].items())
            + " (the lags were estimated against the same others, so the gain is optimistic)."
        )
    tables = {}
    for caption, name in (
        ("Lag distribution", "rater_lag_distribution"),
        ("Agreement before and after lag compensation", "lag_compensated_agreement"),
    ):
        table = _read(out, name)
        if table is not None:
            tables[caption] = table
    figures = _figures(out, {"Joint lags per modality": "rater_lags"})
    return ReportSection("Beyond the paper: rater lag", html=text, tables=tables, figures=figures)


def _contribution_section(out: Path, block: dict[str, Any]) -> ReportSection:
    text = _p(
        "Per item and dimension, the audiovisual gold standard as a non-negative mix of the "
        "music and the visual gold standards (all centred): the music share is w_music / "
        "(w_music + w_visual), with a moving-block bootstrap over time (5 s blocks); the "
        "dominance share splits the mix's R&sup2; by general dominance. Incongruent items: "
        "the lowest correlation between the music and the visual gold standards, with the "
        "one the audiovisual rating followed (the higher correlation)."
    )
    for dim, info in block.items():
        ci = info.get("mean_ci", [None, None])
        text += _p(
            f"{html.escape(dim)}: mean music share {_f(info['mean_music_share'])} (CI "
            f"{_f(ci[0])} to {_f(ci[1])}), median {_f(info['median_music_share'])}; music led "
            f"{_f(100 * info['music_led_items'])}% of the items; on the most incongruent items "
            f"the audiovisual rating followed the music {_f(100 * info['incongruent_followed_music'])}% "
            "of the time."
        )
    tables = {}
    for caption, name in (
        ("Music share over items", "modality_contribution_distribution"),
        ("Most incongruent items", "incongruent_items"),
        ("Every item", "modality_contribution"),
    ):
        table = _read(out, name)
        if table is not None:
            tables[caption] = table
    figures = _figures(out, {"Music share of the audiovisual rating": "modality_contribution"})
    return ReportSection(
        "Beyond the paper: which modality carries the audiovisual rating",
        html=text,
        tables=tables,
        figures=figures,
    )
