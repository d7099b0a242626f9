"""The study's evaluation protocol, in one place for callers.

The protocol is laid out by responsibility:

- :mod:`muvi.models.grid`: the seven experiments, their configuration
  (:class:`EvaluationConfig`) and :func:`build_model`;
- :mod:`muvi.models.architectures`: the one table of network architectures;
- :mod:`muvi.models.cv`: the cross-validation runner (:func:`run_evaluation`,
  batched training of the grid's networks, worker processes, Dask);
- :mod:`muvi.models.results`: statistics, t-tests, importance and writing;
- :mod:`muvi.models.final`: final models on all items (``muvi train``);
- :mod:`muvi.report.models`: figures and report sections;
- :mod:`muvi.workflows`: the commands (open the study, run, write, render).

This module re-exports the names callers use.
"""

from __future__ import annotations

from muvi.models.cv import (
    GridKey,
    StudyData,
    fit_grid_networks,
    prepare_study,
    run_evaluation,
)
from muvi.models.final import (
    FINAL_VALIDATION_SHARE,
    final_bundle_name,
    train_final_models,
)
from muvi.models.grid import (
    EXPERIMENTS,
    EvaluationConfig,
    Experiment,
    build_model,
    count_fits,
    demo_config,
)
from muvi.models.results import RESULT_FILES, EvaluationResults, write_results

__all__ = [
    "EXPERIMENTS",
    "FINAL_VALIDATION_SHARE",
    "RESULT_FILES",
    "EvaluationConfig",
    "EvaluationResults",
    "Experiment",
    "GridKey",
    "StudyData",
    "build_model",
    "count_fits",
    "demo_config",
    "final_bundle_name",
    "fit_grid_networks",
    "prepare_study",
    "run_evaluation",
    "train_final_models",
    "write_results",
]
