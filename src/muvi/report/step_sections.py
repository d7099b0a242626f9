"""The report section of each analysis step, and the sections of an analysis run.

Each :class:`muvi.analysis.step.AnalysisStep` names its section; the builder
is registered here under that name (:data:`SECTION_BUILDERS`,
:func:`register_section`). A builder reads back what the step wrote: it is
called with the output folder, the summary and whether the study is simulated,
and returns the step's sections (none when there is nothing to show).
The sections of a run follow the order of its steps, with the paper's figures
beside ours after the paper's analyses and before those beyond it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from muvi.analysis.step import AnalysisStep
from muvi.analysis.steps import stages_run, steps_for
from muvi.report import analysis_sections as paper_sections
from muvi.report import beyond_sections as extra
from muvi.report.html import ReportSection

SectionBuilder = Callable[[Path, dict[str, Any], bool], list[ReportSection]]
"""``(out_dir, summary, simulated) -> sections`` of one step."""


def _beyond(summary: dict[str, Any]) -> dict[str, Any]:
    block = summary.get("beyond")
    return block if isinstance(block, dict) else {}


def _lag(out: Path, summary: dict[str, Any], simulated: bool) -> list[ReportSection]:
    block = _beyond(summary).get("lag")
    return [extra._lag_section(out, block)] if block else []


def _contribution(out: Path, summary: dict[str, Any], simulated: bool) -> list[ReportSection]:
    block = _beyond(summary).get("modality_contribution")
    return [extra._contribution_section(out, block)] if block else []


SECTION_BUILDERS: dict[str, SectionBuilder] = {
    "study": lambda out, summary, sim: [paper_sections._study_section(out, summary)],
    "participants": lambda out, summary, sim: [paper_sections._participants_section(out, summary)],
    "gems": lambda out, summary, sim: [paper_sections._gems_section(out, summary)],
    "cooccurrence": lambda out, summary, sim: [paper_sections._cooccurrence_section(out, summary)],
    "static effects": lambda out, summary, sim: [paper_sections._static_effects_section(out)],
    "rating distribution": lambda out, summary, sim: [paper_sections._distribution_section(out)],
    "modality agreement": lambda out, summary, sim: [
        paper_sections._modality_agreement_section(out)
    ],
    "dynamic effects": lambda out, summary, sim: [paper_sections._dynamic_effects_section(out)],
    "agreement": lambda out, summary, sim: [paper_sections._agreement_section(out)],
    "reliability": lambda out, summary, sim: [
        extra._reliability_section(out, _beyond(summary).get("reliability", {}), sim)
    ],
    "static prediction": lambda out, summary, sim: [
        extra._prediction_section(out, _beyond(summary).get("static_prediction"))
    ],
    "personalised": lambda out, summary, sim: [
        extra._personalised_section(out, _beyond(summary).get("personalised"))
    ],
    "lag": _lag,
    "modality contribution": _contribution,
}
"""The section builder of each step, by the step's ``section`` name."""


def register_section(name: str, builder: SectionBuilder) -> None:
    """Register the section builder of a step (its ``section`` name).

    Raises:
        ValueError: a builder of that name exists.
    """
    if name in SECTION_BUILDERS:
        raise ValueError(f"a report section named {name!r} is already registered")
    SECTION_BUILDERS[name] = builder


def unregister_section(name: str) -> None:
    """Remove a section builder (nothing if there is none)."""
    SECTION_BUILDERS.pop(name, None)


def _sections_of(
    steps: Iterable[AnalysisStep], out: Path, summary: dict[str, Any], simulated: bool
) -> list[ReportSection]:
    sections: list[ReportSection] = []
    for step in steps:
        if step.section is None:
            continue
        builder = SECTION_BUILDERS.get(step.section)
        if builder is None:
            raise KeyError(
                f"analysis step {step.name!r}: no report section {step.section!r} is registered"
            )
        sections += builder(out, summary, simulated)
    return sections


def run_sections(
    steps: Iterable[AnalysisStep],
    out_dir: str | Path,
    summary: dict[str, Any],
    *,
    simulated: bool = False,
) -> list[ReportSection]:
    """The report sections of the steps that ran, with the paper's figures.

    Args:
        steps: the steps that ran, in order.
        out_dir: the folder they wrote.
        summary: its summary (the contents of ``summary.json``).
        simulated: the study is simulated (said in the text).

    Returns:
        The sections of the paper's steps, the "Paper vs this analysis"
        section when the summary has a ``paper`` block, then the sections of
        the steps beyond the paper.
    """
    out = Path(out_dir)
    ran = list(steps)
    own = [s for s in ran if not s.stage.startswith("beyond")]
    sections = _sections_of(own, out, summary, simulated)
    if summary.get("paper"):
        sections.append(paper_sections.paper_section(summary["paper"]))
    beyond = [s for s in ran if s.stage.startswith("beyond")]
    return sections + _sections_of(beyond, out, summary, simulated)


def analysis_sections(out_dir: str | Path, summary: dict[str, Any]) -> list[ReportSection]:
    """The report sections of the paper's analyses of a run.

    Args:
        out_dir: the folder :func:`muvi.analysis.run_analysis` wrote.
        summary: its summary (the contents of ``summary.json``).

    Returns:
        The sections of every static step (study size, participants, GEMS
        labels, label co-occurrence, effects on static labels), of the dynamic
        steps when the summary has a ``dynamic`` block, and "Paper vs this
        analysis" when it has a ``paper`` block.
    """
    stages = stages_run(dynamic=bool(summary.get("dynamic")), beyond=False)
    return run_sections(steps_for(*stages), out_dir, summary)


def beyond_sections(
    out_dir: str | Path, summary: dict[str, Any], *, simulated: bool = False
) -> list[ReportSection]:
    """The report sections of the analyses beyond the paper.

    Args:
        out_dir: the folder :func:`muvi.analysis.run_analysis` wrote.
        summary: its summary (with a ``beyond`` block).
        simulated: the study is simulated (said in the text).

    Returns:
        One section per analysis that ran (none without a ``beyond`` block).
    """
    if not _beyond(summary):
        return []
    ran = steps_for("beyond-static", "beyond-dynamic")
    return _sections_of(ran, Path(out_dir), summary, simulated)
