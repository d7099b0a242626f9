"""The workflows: what each command does, as functions of typed options.

Each workflow takes a frozen dataclass of options and returns its results;
the command line (:mod:`muvi.cli`) only parses arguments into those options
and prints what comes back, and :mod:`muvi.report` only renders results it is
given. Every workflow reaches its study through
:func:`muvi.data.formats.open_study` and reads the analysis window from the
study (:attr:`muvi.data.dataset.MuviDataset.window`).

==========================  ==============================  ==========================
command                     options                         function
==========================  ==============================  ==========================
``muvi analyze``            :class:`AnalyzeOptions`         :func:`analyze`
``muvi evaluate``           :class:`EvaluateOptions`        :func:`evaluate`
``muvi train``              :class:`TrainOptions`           :func:`train`
``muvi reproduce``          :class:`ReproduceOptions`       :func:`reproduce`
``muvi demo``               :class:`DemoConfig`             :func:`run_demo`
``muvi predict``            :class:`PredictOptions`         :func:`predict`
==========================  ==============================  ==========================

The model workflows share :class:`ModelOptions` (experiments, models,
dimensions, epochs, device, precision, profile, defects, threads).

Examples:
    >>> from pathlib import Path
    >>> options = EvaluateOptions(
    ...     Path("study"), Path("results"), ModelOptions(experiments=(1,), models=("lasso",))
    ... )
    >>> options.model.experiments, options.layout
    ((1,), None)
"""

import muvi.features  # noqa: F401  (registers the music layouts' feature extractor)
from muvi.workflows.analyze import (
    AnalyzeOptions,
    analyze,
    analyze_dataset,
    run_analysis,
    write_analysis_report,
)
from muvi.workflows.demo import DemoConfig, DemoOutputs, run_demo
from muvi.workflows.evaluate import (
    EvaluateOptions,
    Evaluation,
    evaluate,
    evaluate_dataset,
    evaluate_study,
)
from muvi.workflows.options import ModelOptions
from muvi.workflows.predict import PredictOptions, predict
from muvi.workflows.reproduce import ReproduceOptions, Reproduction, reproduce, reproduce_dataset
from muvi.workflows.train import Training, TrainOptions, train, train_study

__all__ = [
    "AnalyzeOptions",
    "DemoConfig",
    "DemoOutputs",
    "EvaluateOptions",
    "Evaluation",
    "ModelOptions",
    "PredictOptions",
    "ReproduceOptions",
    "Reproduction",
    "TrainOptions",
    "Training",
    "analyze",
    "analyze_dataset",
    "evaluate",
    "evaluate_dataset",
    "evaluate_study",
    "predict",
    "reproduce",
    "reproduce_dataset",
    "run_analysis",
    "run_demo",
    "train",
    "train_study",
    "write_analysis_report",
]
