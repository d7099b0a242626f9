"""``muvi evaluate``: cross-validate the study's models and write the results.

:func:`evaluate` opens the study (:func:`muvi.data.formats.open_study`),
prepares it within its own analysis window (:func:`muvi.models.cv.prepare_study`),
runs the grid (:func:`muvi.models.cv.run_evaluation`), writes ``results.json``
and the tables (:func:`muvi.models.results.write_results`) and draws the
figures (:func:`muvi.report.models.write_figures`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.errors import MuviError
from muvi.workflows.options import ModelOptions, default_cache

if TYPE_CHECKING:
    from muvi.data.dataset import MuviDataset
    from muvi.models.grid import EvaluationConfig
    from muvi.models.results import EvaluationResults

__all__ = ["EvaluateOptions", "Evaluation", "evaluate", "evaluate_dataset", "evaluate_study"]


@dataclass(frozen=True)
class EvaluateOptions:
    """What ``muvi evaluate`` runs.

    Attributes:
        data: the study folder, in any layout :func:`muvi.data.formats.open_study` knows.
        out: the folder for ``results.json``, the CSV tables and the figures.
        model: the experiments, models and training settings (:class:`ModelOptions`).
        items_for_figures: test items to plot (default: two test items of fold 0).
        lag_compensation: ``none``, or ``others`` / ``features``: shift every
            annotation earlier by its estimated reaction lag before the gold
            standards are made (:func:`muvi.annotations.lag.lag_compensated_dataset`).
        layout: the study's layout (default: recognised from the folder).
        cache_dir: where features extracted from media are cached (default: ``out/cache``).
    """

    data: Path
    out: Path
    model: ModelOptions = field(default_factory=ModelOptions)
    items_for_figures: tuple[str, ...] = ()
    lag_compensation: str = "none"
    layout: str | None = None
    cache_dir: Path | None = None


@dataclass
class Evaluation:
    """What :func:`evaluate` returns.

    Attributes:
        results: the cross-validation results.
        paths: the files written (``results``, the tables, ``figures``, and
            ``rater_lags`` under lag compensation).
        config: the evaluation configuration that ran.
        note: the device and precision the networks trained with.
    """

    results: EvaluationResults
    paths: dict[str, Path]
    config: EvaluationConfig
    note: str = ""


def evaluate_dataset(
    dataset: MuviDataset,
    out_dir: str | Path,
    config: EvaluationConfig | None = None,
    items_for_figures: Sequence[str] = (),
    on_fit: Callable[[str], None] | None = None,
) -> tuple[EvaluationResults, dict[str, Path]]:
    """Run the grid on an opened study; write ``results.json``, the tables and figures.

    Args:
        dataset: the study (:func:`muvi.data.formats.open_study`); its
            :attr:`~muvi.data.dataset.MuviDataset.window` is the analysis window.
        out_dir: the output folder.
        config: what to run (default: the full grid, paper settings).
        items_for_figures: test items to plot (default: two test items of fold 0).
        on_fit: progress callback, see :func:`muvi.models.cv.run_evaluation`.

    Returns:
        The results and the paths written (``figures`` names the PNG folder).
    """
    from muvi.models.cv import prepare_study, run_evaluation
    from muvi.models.results import write_results
    from muvi.report.models import results_paper_block, write_figures, write_paper_comparison

    study = prepare_study(dataset)
    results = run_evaluation(study, config, on_fit)
    paths = write_results(results, out_dir, results_paper_block)
    paths["paper"] = write_paper_comparison(out_dir)
    write_figures(results, study, out_dir, items_for_figures)
    paths["figures"] = Path(out_dir) / "figures"
    return results, paths


def evaluate_study(
    data_dir: str | Path,
    out_dir: str | Path,
    config: EvaluationConfig | None = None,
    items_for_figures: Sequence[str] = (),
    on_fit: Callable[[str], None] | None = None,
    *,
    layout: str | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[EvaluationResults, dict[str, Path]]:
    """Open a study folder and run :func:`evaluate_dataset` on it.

    Args:
        data_dir: a study folder with dynamic ratings and features.
        out_dir: the output folder.
        config: what to run (default: the full grid, paper settings).
        items_for_figures: test items to plot.
        on_fit: progress callback.
        layout: the study's layout (default: recognised).
        cache_dir: where features extracted from media are cached.

    Returns:
        The results and the paths written.
    """
    from muvi.data.formats import open_study

    dataset = open_study(data_dir, layout=layout, cache_dir=cache_dir)
    return evaluate_dataset(dataset, out_dir, config, items_for_figures, on_fit)


def evaluate(options: EvaluateOptions, on_fit: Callable[[str], None] | None = None) -> Evaluation:
    """``muvi evaluate``: cross-validate the study's models (5 outer folds) and
    write ``results.json``, ``per_item.csv``, ``ttests.csv``, the importance
    tables and the figures.

    Args:
        options: what to run (:class:`EvaluateOptions`).
        on_fit: called with a few words after each model fit.

    Returns:
        The :class:`Evaluation`.

    Raises:
        MuviError: an option that cannot run (one line naming it);
        DataError: the study is missing, malformed or lacks what the models need.
    """
    from muvi.annotations.lag import LAG_SOURCES, lag_compensated_dataset
    from muvi.data.formats import open_study

    source = options.lag_compensation
    if source != "none" and source not in LAG_SOURCES:
        raise MuviError(f"--lag-compensation is none, {', '.join(LAG_SOURCES)}, not {source!r}")
    config, note = options.model.config()
    dataset = open_study(
        options.data,
        layout=options.layout,
        cache_dir=default_cache(options.cache_dir, options.out),
    )
    if source == "none":
        results, paths = evaluate_dataset(
            dataset, options.out, config, options.items_for_figures, on_fit
        )
        return Evaluation(results, paths, config, note)
    shifted, lags = lag_compensated_dataset(dataset, source)
    results, paths = evaluate_dataset(
        shifted, options.out, config, options.items_for_figures, on_fit
    )
    paths["rater_lags"] = Path(options.out) / "rater_lags.csv"
    lags.to_csv(paths["rater_lags"], index=False)
    return Evaluation(results, paths, config, note)
