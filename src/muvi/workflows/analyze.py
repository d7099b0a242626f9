"""``muvi analyze``: every analysis of a study, then its report.

:func:`analyze` opens the study (:func:`muvi.data.formats.open_study`), runs
the analysis pipeline (:func:`muvi.analysis.pipeline.analyze_dataset`: every
step of :mod:`muvi.analysis.steps`, tables, figures and ``summary.json``) and
then writes the report (``report.html``, one section per step, from
:mod:`muvi.report`). This module sits above both, so that analysis never
imports report (the flow: data -> annotations -> analysis -> report).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from muvi.analysis import pipeline
from muvi.analysis.outputs import REPORT_FILE
from muvi.errors import MuviError
from muvi.progress import ProgressCallback
from muvi.report import run_sections, study_title, write_report
from muvi.workflows.options import default_cache

if TYPE_CHECKING:
    from muvi.analysis.beyond import BeyondConfig
    from muvi.data.dataset import MuviDataset

__all__ = ["AnalyzeOptions", "analyze", "analyze_dataset", "run_analysis", "write_analysis_report"]


@dataclass(frozen=True)
class AnalyzeOptions:
    """What ``muvi analyze`` runs.

    Attributes:
        data: the study folder, in any layout :func:`muvi.data.formats.open_study` knows.
        out: the output folder (tables, figures, ``summary.json``, ``report.html``).
        figures: draw the figures (PNG at 300 dpi and SVG).
        window_samples: the analysis window in 2 Hz samples (default: the study's own,
            :attr:`muvi.data.dataset.MuviDataset.window`).
        title: the report's title (default: :func:`muvi.report.study_title`).
        beyond: also run the analyses beyond the paper.
        personalised: run the personalised-perception step of ``beyond``.
        permutations: permutations of the tests beyond the paper.
        lag_compensation: ``none``, ``others`` or ``features`` (see
            :mod:`muvi.analysis.beyond`).
        layout: the study's layout (default: recognised from the folder).
        cache_dir: where features extracted from media are cached (default:
            ``out/cache``).
    """

    data: Path
    out: Path
    figures: bool = True
    window_samples: int | None = None
    title: str | None = None
    beyond: bool = True
    personalised: bool = True
    permutations: int = 1000
    lag_compensation: str = "none"
    layout: str | None = None
    cache_dir: Path | None = None

    def beyond_config(self) -> BeyondConfig | None:
        """The settings of the analyses beyond the paper (None: ``beyond`` is off).

        Raises:
            MuviError: ``lag_compensation`` is not a known choice.
        """
        from muvi.analysis.beyond import LAG_COMPENSATION_CHOICES, BeyondConfig
        from muvi.analysis.reliability import ReliabilityConfig
        from muvi.analysis.static_prediction import StaticPredictionConfig

        if self.lag_compensation not in LAG_COMPENSATION_CHOICES:
            raise MuviError(
                f"--lag-compensation is {', '.join(LAG_COMPENSATION_CHOICES)}, "
                f"not {self.lag_compensation!r}"
            )
        if not self.beyond:
            return None
        return BeyondConfig(
            reliability=ReliabilityConfig(n_permutations=self.permutations),
            prediction=StaticPredictionConfig(n_permutations=self.permutations),
            run_personalised=self.personalised,
            lag_compensation=self.lag_compensation,
        )


def analyze(options: AnalyzeOptions, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """``muvi analyze``: open the study, run every analysis, write tables,
    figures, ``summary.json`` and ``report.html``.

    Args:
        options: what to run (:class:`AnalyzeOptions`).
        progress: called with a :class:`muvi.progress.ProgressEvent` (stage
            ``analyze``) as the work advances; None is silent.

    Returns:
        The summary, as written to ``summary.json``; its ``analysis_window``
        names the window used and where it came from.

    Raises:
        DataError: the folder is missing, in no known layout, or malformed.
    """
    return run_analysis(
        options.data,
        options.out,
        progress=progress,
        figures=options.figures,
        window_samples=options.window_samples,
        title=options.title,
        beyond=options.beyond_config(),
        layout=options.layout,
        cache_dir=default_cache(options.cache_dir, options.out),
    )


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
    """:func:`muvi.analysis.pipeline.analyze_dataset` on an opened study, then the report.

    Args:
        dataset: the study as opened (not yet filtered).
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
    layout: str | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Open a study folder, run every analysis, write tables, figures,
    ``summary.json`` and ``report.html`` (:func:`analyze` with its settings as
    arguments).

    Args:
        data_dir: a study folder (the public release, a simulated study, a
            study export, or any layout of :mod:`muvi.data.formats`).
        out_dir: where to write (see :mod:`muvi.analysis.outputs`).
        progress: called with a :class:`muvi.progress.ProgressEvent` (stage
            ``analyze``) as the work advances; None (the default) is silent.
        figures: draw the figures.
        window_samples: the analysis window in 2 Hz samples (default: the study's own).
        title: the report's title (see :func:`write_analysis_report`).
        beyond: also run the analyses beyond the paper; the item features are
            then loaded too.
        layout: the study's layout (default: recognised from the folder).
        cache_dir: where features extracted from media are cached.

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
        layout=layout,
        cache_dir=cache_dir,
    )
