"""The workflows of the command line that load, compute, write and report.

``muvi analyze`` is :func:`run_analysis` here: the analysis pipeline
(:func:`muvi.analysis.run_analysis`: load the study, run every step of
:mod:`muvi.analysis.steps`, write tables, figures and ``summary.json``) and
then the report (``report.html``, one section per step, from
:mod:`muvi.report`). This module sits above both, so that analysis never
imports report (the flow: data -> annotations -> analysis -> report).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from muvi.analysis import pipeline
from muvi.analysis.outputs import REPORT_FILE
from muvi.progress import ProgressCallback
from muvi.report import run_sections, study_title, write_report

if TYPE_CHECKING:
    from muvi.analysis.beyond import BeyondConfig
    from muvi.data.dataset import MuviDataset

__all__ = ["analyze_dataset", "run_analysis", "write_analysis_report"]


def write_analysis_report(run: pipeline.AnalysisRun, title: str | None = None) -> Path:
    """Write ``report.html`` of a finished analysis run.

    Args:
        run: the run (its steps, summary and notes).
        title: the report's title (default: :func:`muvi.report.study_title`,
            from the study's metadata or "MuVi public release").

    Returns:
        The report's path.
    """
    dataset = run.dataset
    title = title or study_title(dataset.root, dataset.metadata, simulated=dataset.simulated)
    sections = run_sections(run.steps, run.out, run.summary, simulated=dataset.simulated)
    path = run.out / REPORT_FILE
    write_report(path, title, sections, simulated=dataset.simulated, notes=run.notes)
    return path


def analyze_dataset(
    dataset: MuviDataset,
    out_dir: str | Path,
    *,
    figures: bool = True,
    step: pipeline.Step | None = None,
    window_samples: int | None = None,
    title: str | None = None,
    beyond: BeyondConfig | None = None,
) -> dict[str, Any]:
    """:func:`muvi.analysis.analyze_dataset`, then the report.

    Args:
        dataset: the study as loaded (not yet filtered).
        out_dir: the output folder (created).
        figures: draw the figures (False: a report without figures).
        step: called with the name of each stage as it starts (for progress).
        window_samples: the analysis window in 2 Hz samples (default: the study's own).
        title: the report's title (see :func:`write_analysis_report`).
        beyond: also run the analyses beyond the paper with these settings.

    Returns:
        The summary (also written as ``summary.json``).
    """
    return pipeline.analyze_dataset(
        dataset,
        out_dir,
        figures=figures,
        step=step,
        window_samples=window_samples,
        beyond=beyond,
        finish=partial(write_analysis_report, title=title),
    )


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
    """``muvi analyze``: load a study folder, run every analysis, write tables,
    figures, ``summary.json`` and ``report.html``.

    Args:
        data_dir: a folder in the published layout (the public release, a
            simulated study, a study export).
        out_dir: where to write (see :mod:`muvi.analysis.outputs`).
        progress: called with a :class:`muvi.progress.ProgressEvent` (stage
            ``analyze``) as the work advances; None (the default) is silent.
        figures: draw the figures.
        window_samples: the analysis window in 2 Hz samples (default: the study's own).
        title: the report's title (see :func:`write_analysis_report`).
        beyond: also run the analyses beyond the paper; the item features are
            then loaded too.

    Returns:
        The summary, as written to ``summary.json``.

    Raises:
        DataError: the folder is missing or a file in it is malformed.
    """
    return pipeline.run_analysis(
        data_dir,
        out_dir,
        progress=progress,
        figures=figures,
        window_samples=window_samples,
        beyond=beyond,
        finish=partial(write_analysis_report, title=title),
    )
