"""`muvi evaluate --scheduler`: the grid's training jobs as Dask tasks on a
LocalCluster give exactly the results of a local run (batched stacks and
one-at-a-time jobs)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from muvi.errors import MuviError
from muvi.models.lasso import LassoConfig
from muvi.models.lstm import BlockConfig
from muvi.models.protocol import EvaluationConfig, run_evaluation
from muvi.models.training import TrainingConfig

distributed = pytest.importorskip("dask.distributed")

CONFIG = EvaluationConfig(
    experiments=(1, 2, 7),
    block=BlockConfig(hidden=(8, 8)),
    training=TrainingConfig(max_epochs=2, threads=1),
    lasso=LassoConfig(n_alphas=5, eps=1e-2),
)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.per_item, b.per_item)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    cols = ["fold", "name", "dimension", "epochs", "best_epoch"]
    pd.testing.assert_frame_equal(a.training[cols], b.training[cols])


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one_at_a_time"])
def test_dask_cluster_equals_local_run(study_factory, cluster, batched: bool) -> None:
    study = study_factory(n_items=10, seed=5)
    config = replace(CONFIG, training=replace(CONFIG.training, batched=batched))
    local = run_evaluation(study, config)
    remote = run_evaluation(study, replace(config, scheduler=cluster.scheduler_address))
    _same(local, remote)
    assert set(remote.training["name"]) >= {"exp1_lstm", "exp2_lstm", "exp7_pair"}
    # the training ran as tasks on the cluster: its scheduler saw them
    prefix = "train_stack_task" if batched else "run_job"
    assert prefix in cluster.scheduler.task_prefixes


def test_unreachable_scheduler_is_one_clear_error(study_factory) -> None:
    study = study_factory(n_items=10, seed=5)
    config = replace(CONFIG, experiments=(1,), scheduler="tcp://127.0.0.1:9")
    with pytest.raises(MuviError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_evaluation(study, config)
