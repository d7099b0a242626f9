"""The grid's (fold, dimension) jobs run in parallel processes give exactly the
results of a one-process run (each fit is seeded on its own)."""

from __future__ import annotations

import pandas as pd
import pytest

from muvi.errors import MuviError
from muvi.models.lasso import LassoConfig
from muvi.models.lstm import BlockConfig
from muvi.models.protocol import EvaluationConfig, count_fits, run_evaluation
from muvi.models.training import TrainingConfig


def _config(workers: int) -> EvaluationConfig:
    return EvaluationConfig(
        experiments=(1, 2, 7),
        block=BlockConfig(hidden=(8, 8)),
        training=TrainingConfig(max_epochs=2, threads=1),
        lasso=LassoConfig(n_alphas=5, eps=1e-2),
        workers=workers,
    )


def test_two_worker_processes_equal_one_process(study_factory):
    study = study_factory(n_items=10, seed=3)
    serial = run_evaluation(study, _config(1))
    seen: list[str] = []
    parallel = run_evaluation(study, _config(2), seen.append)
    # every fit is reported to the progress callback, once
    assert len(seen) == count_fits(_config(2)) == len(set(seen))
    pd.testing.assert_frame_equal(serial.per_item, parallel.per_item)
    pd.testing.assert_frame_equal(serial.predictions, parallel.predictions)
    pd.testing.assert_frame_equal(serial.coefficients, parallel.coefficients)
    pd.testing.assert_frame_equal(serial.fit_log, parallel.fit_log)
    cols = ["fold", "name", "dimension", "epochs", "best_epoch"]
    pd.testing.assert_frame_equal(serial.training[cols], parallel.training[cols])
    # the jobs really ran: both dimensions of every fold scored test items
    assert set(parallel.per_item["dimension"]) == {"valence", "arousal"}
    assert parallel.per_item["fold"].nunique() == 5


def test_workers_must_be_positive():
    with pytest.raises(MuviError, match="workers"):
        EvaluationConfig(workers=0)
