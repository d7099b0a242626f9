"""Every descriptive analysis and test of Chua et al. 2022 (§3.2, §4) in one run.

:func:`run_analysis` loads a study folder, applies the analysis window and
the constant-cursor filter (the paper leaves those annotations out of every
analysis, static labels included), runs the steps of :mod:`muvi.analysis.steps`
(the static ones always, the dynamic ones when ``av_data.csv`` is present, the
ones beyond the paper when asked) and writes tables, figures and
``summary.json`` (layout in :mod:`muvi.analysis.outputs`). The report is
written by the workflow of ``muvi analyze`` (:func:`muvi.workflows.run_analysis`),
which hands its report writer in as ``finish``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from muvi.analysis import paper, steps
from muvi.analysis.outputs import SUMMARY_FILE, previous_outputs
from muvi.analysis.step import SUMMARY_BLOCKS, AnalysisStep, StepContext
from muvi.annotations.window import AnalysisWindow
from muvi.data.dataset import MuviDataset
from muvi.errors import DataError
from muvi.progress import ProgressCallback, Steps

if TYPE_CHECKING:
    from muvi.analysis.beyond import BeyondConfig

Step = Callable[[str], None]


@dataclass(frozen=True)
class AnalysisRun:
    """A finished analysis run, as handed to ``finish`` (e.g. to write its report).

    Attributes:
        dataset: the study as loaded (before the quality filter).
        out: the output folder.
        summary: the summary, as written to ``summary.json``.
        notes: notes on the data and the filter, for the report.
        steps: the steps that ran, in order.
    """

    dataset: MuviDataset
    out: Path
    summary: dict[str, Any]
    notes: list[str]
    steps: tuple[AnalysisStep, ...]


Finish = Callable[[AnalysisRun], object]
"""Called once the summary is written (the workflow writes the report there)."""


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
    beyond: BeyondConfig | None = None,
    finish: Finish | None = None,
) -> dict[str, Any]:
    """Run every analysis step on a loaded study and write tables, figures and summary.

    Files that an earlier run left in ``out_dir`` are removed first (only
    those: tables, figures, summary, report), so the folder never mixes runs.

    Args:
        dataset: the study as loaded (not yet filtered).
        out_dir: the output folder (created).
        figures: draw the figures (False is faster).
        step: called with the name of each stage as it starts (for progress).
        window_samples: the analysis window in 2 Hz samples; by default the
            study's own (:func:`muvi.annotations.study_window`: its
            ``muvi_metadata.json``, else the paper's 118).
        beyond: run the analyses beyond the paper (:mod:`muvi.analysis.beyond`,
            summary block ``beyond``) with these settings; None skips them.
        finish: called with the :class:`AnalysisRun` once the summary is
            written (the ``muvi analyze`` workflow writes the report there).

    Returns:
        The summary (also written as ``summary.json``); its
        ``analysis_window`` names the window used.
    """
    from muvi.annotations import quality_filter

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in previous_outputs(out):
        stale.unlink()
    tell: Step = step or (lambda name: None)
    tell(steps.FIXED_STAGES[0])
    window = dataset.with_window(window_samples).window
    data, excluded = quality_filter(dataset, n_samples=window.n_samples)
    if data.static.empty and "gems" not in dataset.lacks:
        reasons = ", ".join(f"{n} {r}" for r, n in excluded["reason"].value_counts().items())
        raise DataError(
            "no static annotation is left to analyse after the quality filter"
            + (f" ({reasons})" if reasons else ""),
            file=dataset.root,
        )
    has_dynamic = data.dynamic is not None and len(data.dynamic) > 0
    stages = steps.stages_run(dynamic=has_dynamic, beyond=beyond is not None)
    context = StepContext(data, excluded, out, figures=figures, beyond=beyond)
    summary: dict[str, Any] = {
        "analysis_window": {
            "samples": window.n_samples,
            "seconds": window.seconds,
            "source": window.source,
        }
    }
    for stage in stages:
        if stage == "beyond-static":  # the paper's block compares the paper's analyses only
            summary["paper"] = _paper_block(summary, dataset, has_dynamic)
        block = SUMMARY_BLOCKS[stage]
        filled = steps.run_stage(stage, context, tell)
        if block is None:
            summary.update(filled)
        else:
            summary.setdefault(block, {}).update(filled)
    if "paper" not in summary:
        summary["paper"] = _paper_block(summary, dataset, has_dynamic)
    skipped = context.shared.get(steps.SKIPPED, [])
    if skipped or dataset.layout != "muvi":
        summary["study"] = {"layout": dataset.layout, "averaged": dataset.averaged}
        summary["study"]["lacks"] = dict(dataset.lacks)
        summary["study"]["skipped"] = list(skipped)
    summary = _json_ready(summary)
    _write_paper_table(summary["paper"], out)
    tell(steps.FIXED_STAGES[1] if finish is not None else "summary")
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if finish is not None:
        ran = tuple(s for s in steps.steps_for(*stages) if s.skipped_for(data) is None)
        notes = _notes(data, excluded, window) + list(context.shared.get(steps.SKIPPED, []))
        finish(AnalysisRun(dataset, out, summary, notes, ran))
    return summary


def _write_paper_table(block: dict[str, Any], out: Path) -> None:
    """The paper's figures beside ours as ``tables/paper_comparison.csv``."""
    from muvi.analysis.outputs import table_path

    path = table_path(out, "paper_comparison")
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = paper.comparison_rows(block)
    pd.DataFrame(rows, columns=list(paper.COMPARISON_COLUMNS)).to_csv(path, index=False)


def _paper_block(summary: dict[str, Any], dataset: MuviDataset, has_dynamic: bool) -> Any:
    return paper.paper_block(
        paper.compare_summary(summary, simulated=dataset.simulated, has_dynamic=has_dynamic)
    )


def run_analysis(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    progress: ProgressCallback | None = None,
    figures: bool = True,
    window_samples: int | None = None,
    beyond: BeyondConfig | None = None,
    finish: Finish | None = None,
    layout: str | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Load a study folder, run every analysis, write tables, figures and summary.

    ``muvi analyze`` (:func:`muvi.workflows.run_analysis`) adds the report.

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
        beyond: also run the analyses beyond the paper (see :func:`analyze_dataset`);
            the item features are then loaded too.
        finish: see :func:`analyze_dataset`.
        layout: the study's layout (default: recognised, see
            :func:`muvi.data.formats.open_study`).
        cache_dir: where features extracted from media are cached.

    Returns:
        The summary, as written to ``summary.json``.

    Raises:
        DataError: the folder is missing or a file in it is malformed.
    """
    from muvi.data.formats import open_study

    with_beyond = beyond is not None
    progress_steps = Steps(
        progress, "analyze", 1 + steps.stage_count(dynamic=True, beyond=with_beyond)
    )
    progress_steps.start("loading the study")
    dataset = open_study(
        data_dir,
        layout=layout,
        features=with_beyond,
        window_samples=window_samples,
        cache_dir=cache_dir,
    )
    total = 1 + steps.stage_count(dynamic=dataset.dynamic is not None, beyond=with_beyond)
    progress_steps.total = total
    summary = analyze_dataset(
        dataset,
        out_dir,
        figures=figures,
        step=progress_steps,
        window_samples=window_samples,
        beyond=beyond,
        finish=finish,
    )
    progress_steps.done = total - 1
    progress_steps("done")
    return summary
