"""The one list of the analyses of ``muvi analyze``, and what is derived from it.

:data:`STEPS` holds every :class:`~muvi.analysis.step.AnalysisStep` in the
order it runs: the paper's (:data:`muvi.analysis.paper_steps.PAPER_STEPS`) and
those beyond it (:data:`muvi.analysis.beyond.BEYOND_STEPS`). The pipeline runs
them (:func:`run_stage`), counts its progress stages from them
(:func:`stage_count`), and :func:`tables` and :func:`figures` list the files
they write.
Adding an analysis is adding one step (:func:`register_step`), plus its report
section builder in :mod:`muvi.report` under the step's ``section`` name.

Examples:
    >>> [s.name for s in steps_for("dynamic")][:2]
    ['rating distribution', 'modality agreement']
    >>> stage_count(dynamic=True, beyond=False)
    11
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from muvi.analysis.beyond import BEYOND_STEPS
from muvi.analysis.paper_steps import PAPER_STEPS
from muvi.analysis.step import STAGES, SUMMARY_BLOCKS, AnalysisStep, StepContext
from muvi.errors import MuviError

SKIPPED = "skipped"
"""The key of :attr:`StepContext.shared` listing the steps skipped, one note each
(``<step>: skipped, as the study lacks <what>: <why>``)."""

FIXED_STAGES = ("quality filter", "summary and report")
"""The progress stages of every run besides its steps: the quality filter
first, writing the summary (and the report) last."""

STEPS: list[AnalysisStep] = [*PAPER_STEPS, *BEYOND_STEPS]
"""Every analysis, in the order it runs."""

STATIC_TABLES = tuple(t for s in PAPER_STEPS if s.stage == "static" for t in s.tables)
"""Tables of the paper's analyses written for every study (static files only suffice)."""
DYNAMIC_TABLES = tuple(t for s in PAPER_STEPS if s.stage == "dynamic" for t in s.tables)
"""Tables of the paper's analyses written when the study has dynamic ratings."""
BEYOND_TABLES = tuple(t for s in BEYOND_STEPS for t in s.tables)
"""Tables of the analyses beyond the paper (:mod:`muvi.analysis.beyond`)."""
BEYOND_FIGURES = tuple(f for s in BEYOND_STEPS for f in s.figures)
"""Figures (glob patterns) of the analyses beyond the paper, each written in every
format of :data:`muvi.analysis.outputs.FIGURE_FORMATS` (``<name>.png``, ``.svg``, ``.pdf``)."""


def register_step(step: AnalysisStep, *, before: str | None = None) -> AnalysisStep:
    """Add an analysis to :data:`STEPS`.

    Args:
        step: the step; its name must be new.
        before: the name of the step it runs before (default: after the last
            step of its stage).

    Returns:
        The step (so that it can be kept to :func:`unregister_step` it).

    Raises:
        ValueError: a step of that name exists, or ``before`` names none.
    """
    names = [s.name for s in STEPS]
    if step.name in names:
        raise ValueError(f"an analysis step named {step.name!r} is already registered")
    if before is not None:
        if before not in names:
            raise ValueError(f"no analysis step named {before!r} to register {step.name!r} before")
        STEPS.insert(names.index(before), step)
        return step
    order = STAGES.index(step.stage)
    at = sum(1 for s in STEPS if STAGES.index(s.stage) <= order)
    STEPS.insert(at, step)
    return step


def unregister_step(name: str) -> None:
    """Remove the step of that name from :data:`STEPS` (nothing if there is none)."""
    STEPS[:] = [s for s in STEPS if s.name != name]


def steps_for(*stages: str) -> list[AnalysisStep]:
    """The registered steps of these stages, in the order they run."""
    return [s for s in STEPS if s.stage in stages]


def stages_run(*, dynamic: bool, beyond: bool) -> tuple[str, ...]:
    """The stages a run goes through: static always, dynamic with dynamic
    ratings, the beyond stages with ``beyond``.

    Examples:
        >>> stages_run(dynamic=False, beyond=True)
        ('static', 'beyond-static')
    """
    stages = ["static"] + (["dynamic"] if dynamic else [])
    if beyond:
        stages += ["beyond-static"] + (["beyond-dynamic"] if dynamic else [])
    return tuple(stages)


def stage_count(*, dynamic: bool, beyond: bool) -> int:
    """The progress stages of an analysis run after loading: its steps and
    :data:`FIXED_STAGES`."""
    return len(FIXED_STAGES) + len(steps_for(*stages_run(dynamic=dynamic, beyond=beyond)))


def tables() -> list[str]:
    """Every table name a registered step may write (``OUT/tables/<name>.csv``)."""
    return [t for s in STEPS for t in s.tables]


def figures() -> list[str]:
    """Every figure name (glob pattern) a registered step may draw (``OUT/figures/<name>.*``)."""
    return [f for s in STEPS for f in s.figures]


def run_stage(
    stage: str, context: StepContext, step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run the steps of one stage and gather their summary keys.

    A step that needs what the study lacks (:meth:`AnalysisStep.skipped_for`)
    is skipped: its keys are None and its note is added to
    ``context.shared["skipped"]``.

    Args:
        stage: one of :data:`~muvi.analysis.step.STAGES`.
        context: the study and where to write.
        step: called with each step's name as it starts (for progress).

    Returns:
        The keys of the stage's block of ``summary.json``
        (:data:`~muvi.analysis.step.SUMMARY_BLOCKS`), in step order.

    Raises:
        MuviError: a step returned other keys than it declares.
    """
    summary: dict[str, Any] = {}
    for analysis in steps_for(stage):
        if step is not None:
            step(analysis.name)
        why = analysis.skipped_for(context.data)
        if why is not None:  # its keys stay, empty, so the summary keeps one shape
            context.shared.setdefault(SKIPPED, []).append(why)
            summary.update(dict.fromkeys(analysis.summary_keys))
            continue
        filled = analysis.run(context)
        if set(filled) != set(analysis.summary_keys):
            raise MuviError(
                f"analysis step {analysis.name!r} filled summary keys "
                f"{sorted(filled)}, not the declared {sorted(analysis.summary_keys)}"
            )
        summary.update(filled)
    return summary


__all__ = [
    "BEYOND_FIGURES",
    "BEYOND_TABLES",
    "DYNAMIC_TABLES",
    "FIXED_STAGES",
    "STATIC_TABLES",
    "SKIPPED",
    "STEPS",
    "figures",
    "SUMMARY_BLOCKS",
    "register_step",
    "run_stage",
    "stage_count",
    "stages_run",
    "steps_for",
    "tables",
    "unregister_step",
]
