"""The report sections of the paper's analyses, read back from an output folder.

Each builder here turns what one step of :mod:`muvi.analysis.steps` wrote
(tables, figures and the summary) into a :class:`ReportSection`; they are
registered by step in :mod:`muvi.report.step_sections`, whose
:func:`~muvi.report.step_sections.analysis_sections` gives them in order, so a
caller (``muvi analyze``, the demo) can put them in one report together with
sections of its own, such as model results.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from muvi.analysis.outputs import figure_path, table_path
from muvi.analysis.static_effects import groupings
from muvi.data.schema import MODALITIES
from muvi.report.html import ReportSection, format_value


def _read(out_dir: Path, name: str) -> pd.DataFrame | None:
    path = table_path(out_dir, name)
    return pd.read_csv(path) if path.is_file() else None


def _figures(out_dir: Path, names: dict[str, str]) -> dict[str, Path]:
    found = {caption: figure_path(out_dir, name) for caption, name in names.items()}
    return {caption: path for caption, path in found.items() if path.is_file()}


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _fmt(value: Any, kind: str = "value") -> str:
    return html.escape(format_value(value, kind))


def _part_of(c: dict[str, Any]) -> str | None:
    """The report section a paper figure belongs to (None: a model's figure)."""
    section, table, q = c.get("section") or "", c.get("table") or "", c.get("quantity", "")
    if table == "Table 3" or (section == "§4.1.2" and not q.startswith("Pearson")):
        return "gems"
    if section == "§3.2":
        if "GEMS" in q:
            return "gems"
        return "study" if "annotat" in q else "participants"
    if section == "§4.1.2":
        return "cooccurrence"
    if section == "§4.2.2":
        return "static effects"
    if section == "§4.1.1":
        return "rating distribution"
    if section == "§4.2.1":
        if "interface" in q:
            return "participants"
        return "modality agreement" if "between modalities" in q else "dynamic effects"
    if table == "Table 5" or section == "§6.3":
        return "agreement"
    return None


PAPER_CAPTION = "The paper's figures of this section beside this run"
"""The caption of the paper table added to each analysis section."""


def _with_paper(
    out_dir: Path, part: str, tables: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """``tables`` with the paper's figures of report section ``part`` (from
    ``summary.json``'s ``paper`` block), each with its status."""
    path = Path(out_dir) / "summary.json"
    if not path.exists():
        return tables
    try:
        block = json.loads(path.read_text(encoding="utf-8")).get("paper", {})
    except (OSError, ValueError):
        return tables
    rows = [c for c in block.get("comparisons", []) if _part_of(c) == part]
    if rows:
        tables = {**tables, PAPER_CAPTION: paper_table({"comparisons": rows})}
    return tables


def _study_section(out_dir: Path, summary: dict[str, Any]) -> ReportSection:
    annotations = summary.get("annotations", {})
    static = annotations.get("static_per_modality", {})
    per_item = annotations.get("per_item_modality", {})
    excluded = annotations.get("excluded", {})
    text = _p(
        f"{sum(static.values())} static annotations ("
        + ", ".join(f"{_fmt(n)} {m}" for m, n in static.items())
        + f"); every item got between {_fmt(per_item.get('min'))} and "
        f"{_fmt(per_item.get('max'))} annotations per modality (median "
        f"{_fmt(per_item.get('median'))})."
    )
    if excluded:
        text += _p(
            "Left out of every analysis, static labels included: "
            + ", ".join(f"{_fmt(n)} ({html.escape(r)})" for r, n in excluded.items())
            + "."
        )
    tables: dict[str, pd.DataFrame] = {}
    for caption, name in (
        ("Annotations per modality (after the quality filter)", "annotation_counts"),
        ("Annotations per item and modality", "annotations_per_item_range"),
    ):
        table = _read(out_dir, name)
        if table is not None:
            tables[caption] = table
    left_out = _read(out_dir, "excluded_annotations")
    if left_out is not None and len(left_out):
        tables["Annotations left out, by modality and reason"] = (
            left_out.groupby(["modality", "reason"]).size().rename("annotations").reset_index()
        )
    issues = _read(out_dir, "data_issues")
    if issues is not None and len(issues):
        tables["Notes from loading the data"] = issues
    return ReportSection(
        "Study size and data quality", html=text, tables=_with_paper(out_dir, "study", tables)
    )


def _participants_section(out_dir: Path, summary: dict[str, Any]) -> ReportSection:
    people = summary.get("participants", {})
    gender = ", ".join(f"{_fmt(n)} {html.escape(g)}" for g, n in people.get("gender", {}).items())
    text = _p(
        f"{_fmt(people.get('n'))} participants ({gender}), aged {_fmt(people.get('age_min'))} to "
        f"{_fmt(people.get('age_max'))} years (mean {_fmt(people.get('age_mean'), 'years')}, "
        f"sample SD {_fmt(people.get('age_std'), 'years')})."
    )
    tables = {}
    for caption, name in (
        ("Age and years of formal musical training", "participants"),
        ("Answers to the profile questions", "participant_counts"),
    ):
        table = _read(out_dir, name)
        if table is not None:
            tables[caption] = table
    return ReportSection(
        "Participants", html=text, tables=_with_paper(out_dir, "participants", tables)
    )


def _gems_section(out_dir: Path, summary: dict[str, Any]) -> ReportSection:
    text = _p(
        "<i>count</i>: times a label was ticked; <i>share</i>: % of all selections in the "
        "modality; <i>item %</i>: % of the modality's annotations that ticked it."
    )
    per_annotation = summary.get("gems", {}).get("labels_per_annotation", {})
    if per_annotation:
        text += _p(
            "Labels per annotation: "
            + ", ".join(f"{html.escape(m)} {_fmt(v)}" for m, v in per_annotation.items())
            + "."
        )
    gems_block = summary.get("gems", {})
    per_stimulus = gems_block.get("distinct_labels_per_stimulus", {})
    if per_stimulus:
        text += _p(
            "Distinct labels per stimulus (one item in one modality, the paper's §4.1.2 "
            f"definition): {_fmt(per_stimulus.get('all'))} over all stimuli ("
            + ", ".join(
                f"{html.escape(m)} {_fmt(v)}" for m, v in per_stimulus.items() if m != "all"
            )
            + "). An item's three modalities pooled: "
            f"{_fmt(gems_block.get('distinct_labels_per_item_pooled'))} distinct labels per item."
        )
    tables: dict[str, pd.DataFrame] = {}
    labels = _read(out_dir, "gems_labels")
    if labels is not None:
        wide = labels.pivot_table(
            index=["superfactor", "category", "label"],
            columns="modality",
            values=["count", "share", "item_share"],
            sort=False,
        )
        order = [m for m in (*MODALITIES, "all") if m in set(labels["modality"])]
        columns = [(v, m) for m in order for v in ("count", "share", "item_share")]
        wide = wide[columns]
        names = {"count": "count", "share": "share %", "item_share": "item %"}
        wide.columns = [f"{m} {names[v]}" for v, m in columns]
        tables["GEMS labels per modality"] = wide
    categories = _read(out_dir, "gems_categories")
    if categories is not None:
        any_share = categories.pivot_table(
            index="group", columns="modality", values="any_share", sort=False
        )
        any_share.index.name = "category"
        any_share.columns = [f"{m} %" for m in any_share.columns]
        tables["Annotations with at least one label of each category (%)"] = any_share
    superfactors = _read(out_dir, "gems_superfactors")
    if superfactors is not None:
        tables["Selections per superfactor"] = superfactors.drop(columns=["level"]).rename(
            columns={"group": "superfactor"}
        )
    counts = _read(out_dir, "gems_labels_per_annotation")
    if counts is not None:
        tables["Labels per annotation"] = counts
    distinct = _read(out_dir, "gems_distinct_labels_per_item")
    if distinct is not None:
        tables["Distinct labels per item and modality ('all': the item's modalities pooled)"] = (
            distinct.groupby("modality", sort=False)["distinct_labels"]
            .agg(["mean", "std", "min", "max"])
            .reset_index()
        )
    figures = _figures(
        out_dir, {f"Item share of each label, {m}": f"gems_labels_{m}" for m in MODALITIES}
    )
    tables = _with_paper(out_dir, "gems", tables)
    return ReportSection("GEMS labels", html=text, tables=tables, figures=figures)


def _pairs_table(rows: list[Any]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["a", "b", "r", "p"])
    for column in ("a", "b"):
        table[column] = table[column].astype(str).str.replace("_", " ")
    return table.rename(columns={"a": "Label A", "b": "Label B"})


def _cooccurrence_section(out_dir: Path, summary: dict[str, Any]) -> ReportSection:
    block = summary.get("label_correlations", {})
    tables = {
        "Strongest positive pairs": _pairs_table(block.get("top_positive", [])),
        "Strongest negative pairs": _pairs_table(block.get("top_negative", [])),
    }
    text = _p(
        "Pearson correlation between the 27 binary label columns over all annotations, "
        "with the two-sided p-value of the t-test of r = 0."
    )
    figures = _figures(out_dir, {"Pearson r between labels": "label_cooccurrence"})
    tables = _with_paper(out_dir, "cooccurrence", tables)
    return ReportSection("Label co-occurrence", html=text, tables=tables, figures=figures)


def _static_effects_section(out_dir: Path) -> ReportSection:
    text = _p(
        "Chi-square tests of independence on the group &times; label table of selection "
        "counts (expected = row total &times; column total / grand total; labels nobody "
        "ticked in a comparison are left out). Overlay type compares the visual and "
        "audiovisual annotations only; musical training splits participants at 3 years or "
        "less against more than 3. The deviating cells are those with the largest adjusted "
        "standardized residuals."
    )
    tables: dict[str, pd.DataFrame] = {}
    for caption, name in (
        ("Chi-square tests (p beside its Holm correction over the five groupings)", "chi_square"),
        ("Labels that deviate most from independence", "chi_square_deviations"),
    ):
        table = _read(out_dir, name)
        if table is not None:
            tables[caption] = table
    names = groupings()
    figures = _figures(
        out_dir,
        {f"Observed and expected selections by {g}": f"observed_expected_{g}" for g in names},
    )
    tables = _with_paper(out_dir, "static effects", tables)
    return ReportSection("Effects on static labels", html=text, tables=tables, figures=figures)


def _distribution_section(out_dir: Path) -> ReportSection:
    means = _read(out_dir, "rating_means")
    return ReportSection(
        "Valence and arousal distribution",
        html=_p("All 2 Hz samples of the kept annotations, within the analysis window."),
        tables=_with_paper(
            out_dir, "rating distribution", {"Mean ratings": means} if means is not None else {}
        ),
        figures=_figures(out_dir, {f"Rating density, {m}": f"density_{m}" for m in MODALITIES}),
    )


def _modality_agreement_section(out_dir: Path) -> ReportSection:
    summary = _read(out_dir, "modality_correlation_summary")
    return ReportSection(
        "Modality agreement",
        html=_p(
            "Per item, the mean series of each modality; Pearson r between the mean "
            "series of two modalities; mean and SD over items."
        ),
        tables=_with_paper(
            out_dir,
            "modality agreement",
            {"Correlation between modalities": summary} if summary is not None else {},
        ),
    )


def _dynamic_effects_section(out_dir: Path) -> ReportSection:
    tables = {}
    for caption, name in (
        ("Kolmogorov-Smirnov test of normality of the annotation medians", "normality_tests"),
        ("Mann-Whitney U: overlaid against side-by-side (visual and audiovisual)", "overlay_tests"),
        ("Kruskal-Wallis across modalities", "modality_tests"),
    ):
        table = _read(out_dir, name)
        if table is not None:
            tables[caption] = table
    return ReportSection(
        "Effects on dynamic ratings",
        html=_p(
            "Each annotation is summarised by its median valence and arousal. Normality: "
            "one-sample two-sided Kolmogorov-Smirnov test against a normal distribution "
            "with the sample's own mean and SD (no Lilliefors correction). Overlay: "
            "two-sided Mann-Whitney U (statistic: U of the overlaid group). Modality: "
            "Kruskal-Wallis H with the median of each modality."
        ),
        tables=_with_paper(out_dir, "dynamic effects", tables),
    )


def _agreement_section(out_dir: Path) -> ReportSection:
    agreement = _read(out_dir, "agreement_summary")
    pooled = _read(out_dir, "agreement_pooled")
    agreement_tables: dict[str, pd.DataFrame] = {}
    if agreement is not None:
        agreement_tables["Leave-one-out CCC"] = agreement
    if pooled is not None:
        agreement_tables["Leave-one-out CCC pooled over all modalities"] = pooled
    return ReportSection(
        "Inter-rater agreement",
        html=_p(
            "For each annotation, Lin's CCC with the EWE of the other annotators of the "
            "same item and modality; mean and SD per modality, and over every annotation "
            "of all modalities pooled (agreement.csv lists every annotation; "
            "gold_standard.csv the EWE of every item and modality)."
        ),
        tables=_with_paper(out_dir, "agreement", agreement_tables),
    )


PUBLIC_RELEASE_TITLE = "MuVi public release"
"""The report title of the published MuVi files (Chua et al. 2022)."""


def is_public_release(folder: str | Path) -> bool:
    """Whether a study folder holds the published MuVi annotations: its
    ``media_data.csv`` and ``participant_data.csv`` have the sha256 listed in
    the release manifest shipped with muvi.

    Examples:
        >>> is_public_release("/nonexistent")
        False
    """
    from muvi.data.download import file_digests, release_manifest

    root = Path(folder)
    expected = {
        f["path"]: f.get("sha256")
        for f in release_manifest()["files"]
        if f["path"] in ("media_data.csv", "participant_data.csv")
    }
    for name, digest in expected.items():
        path = root / name
        if not digest or not path.is_file():
            return False
        if file_digests(path).get("sha256") != digest:
            return False
    return bool(expected)


def study_title(folder: str | Path, metadata: dict[str, Any], *, simulated: bool) -> str:
    """The report title of a study: ``title`` (or ``name``) of its
    ``muvi_metadata.json``; :data:`PUBLIC_RELEASE_TITLE` for the published files;
    else "Simulated MuVi study (seed N)" or "MuVi study: <folder name>".

    Args:
        folder: the study folder.
        metadata: the contents of its ``muvi_metadata.json`` (may be empty).
        simulated: whether the simulator wrote it.

    Returns:
        The title.

    Examples:
        >>> study_title("/x/my_study", {"title": "Pilot 2"}, simulated=False)
        'Pilot 2'
        >>> study_title("/x/my_study", {}, simulated=False)
        'MuVi study: my_study'
        >>> study_title("/x/sim", {"seed": 7}, simulated=True)
        'Simulated MuVi study (seed 7)'
    """
    for key in ("title", "name"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    if simulated:
        seed = metadata.get("seed")
        return "Simulated MuVi study" + (f" (seed {seed})" if seed is not None else "")
    if is_public_release(folder):
        return PUBLIC_RELEASE_TITLE
    path = Path(folder)
    return f"MuVi study: {path.resolve().name or path}"


STATUS_COLUMN = "status (why)"
"""The column of the paper table that gives each figure's status and its reason."""


def _where(c: dict[str, Any]) -> str:
    parts = [p for p in (c.get("table"), c.get("section")) if p]
    return ", ".join(parts) or "not stated"


def _shown(value: Any) -> Any:
    return "" if value is None else value


def paper_table(block: dict[str, Any]) -> pd.DataFrame:
    """The "Paper vs this analysis" table of a ``paper`` block.

    Args:
        block: the ``paper`` block of ``summary.json`` or ``results.json``.

    Returns:
        One row per figure: where the paper prints it (table, section), what
        it is, the condition and column, the paper's value as printed, ours
        (with its sd beside a ``mean ± sd`` figure), the difference, and the
        status (reproduced / differs / needs the dynamic ratings / not
        determinable / not compared) with its reason.
    """
    rows = []
    for c in block.get("comparisons", []):
        ours = c["ours"]
        if c.get("ours_sd") is not None and isinstance(ours, float | int):
            ours = f"{ours:.4f} ± {c['ours_sd']:.4f}"
        rows.append(
            {
                "where": _where(c),
                "quantity": c["quantity"],
                "condition": _shown(c.get("condition")),
                "column": _shown(c.get("column")),
                "paper": c["paper"],
                "this run": _shown(ours),
                "difference": _shown(c["difference"]),
                STATUS_COLUMN: c["status"] + (f": {c['why']}" if c.get("why") else ""),
            }
        )
    return pd.DataFrame(rows)


def paper_section(block: dict[str, Any], title: str = "Paper vs this analysis") -> ReportSection:
    """A report section putting the paper's printed figures beside ours.

    Args:
        block: the ``paper`` block of ``summary.json`` or ``results.json``.
        title: the section's title.

    Returns:
        The section: the counts per status, the paper's open definitions
        (Table 3's filter, §4.2.1's mean and median), the comparison table and
        the figures muvi does not compute, with why.
    """
    counts = block.get("counts", {})
    text = _p(
        "Each figure the paper prints that this run computes, beside ours. Reproduced: our "
        "value rounds to the printed one at its printed precision; differs: it does not (by "
        "the difference shown, with the reason where it is known); needs the dynamic ratings: "
        "only av_data.csv gives it; not determinable: no output of this run gives it. "
        "The paper's values: "
        + html.escape(str(block.get("source", "")))
        + ". "
        + ", ".join(f"{_fmt(n)} {html.escape(s)}" for s, n in counts.items())
        + "."
    )
    for name, definition in block.get("definitions", {}).items():
        label = {
            "table3_filter": "Table 3's 5,999 labels",
            "section_4_2_1_mean_median": "§4.2.1's mean and median",
        }.get(name, name)
        text += _p(f"<b>{html.escape(label)}.</b> {html.escape(definition)}")
    tables = {"The paper's figures beside this run": paper_table(block)}
    skipped = block.get("not_computed", [])
    if skipped:
        tables["The paper's figures muvi does not compute, and why"] = pd.DataFrame(
            [
                {
                    "where": _where(s),
                    "quantity": s.get("quantity"),
                    "paper": s.get("printed"),
                    "why": s.get("reason"),
                }
                for s in skipped
            ]
        )
    return ReportSection(title, html=text, tables=tables)
