"""The grid's LASSO fits scheduled together (shared rows, threads, alongside
the network stacks) and its shared series and scaling: the results equal a
sequential run's exactly."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from muvi.errors import DataError
from muvi.models import cv as cv_module
from muvi.models import lasso as lasso_module
from muvi.models.lasso import LassoConfig
from muvi.models.lstm import BlockConfig
from muvi.models.protocol import EvaluationConfig, run_evaluation
from muvi.models.training import TrainingConfig
from muvi.models.windows import MinMaxScaling, align_series, shared_scaling

CONFIG = EvaluationConfig(
    experiments=(1, 2, 3, 4, 5, 7),
    block=BlockConfig(hidden=(8, 8)),
    training=TrainingConfig(max_epochs=2, threads=1),
    lasso=LassoConfig(n_alphas=6, eps=1e-2),
)


def _same(a, b) -> None:
    for frame in ("per_item", "predictions", "coefficients", "fit_log"):
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame))


def test_lasso_in_threads_equals_one_thread(study_factory):
    study = study_factory(n_items=10, seed=4)
    config = replace(CONFIG, models=("lasso",))
    one = run_evaluation(study, config)
    three = run_evaluation(study, replace(config, workers=3))
    _same(one, three)
    assert set(three.coefficients["name"]) == {f"exp{k}_lasso" for k in (1, 2, 3, 4, 5)}
    assert three.per_item["fold"].nunique() == 5


def test_lasso_alongside_the_stacks_equals_lasso_after_them(study_factory, monkeypatch):
    """With the networks training elsewhere (as on a GPU), the LASSO fits start
    in threads before the stacks and are collected after: they overlap the
    stacks, and the results equal the run that fits them after the stacks."""
    study = study_factory(n_items=10, seed=4)
    after = run_evaluation(study, CONFIG)
    events: list[tuple[str, float]] = []
    original = lasso_module.fit_lasso_models

    def spy(models, trains):
        events.append(("lasso start", time.perf_counter()))
        original(models, trains)
        events.append(("lasso end", time.perf_counter()))

    monkeypatch.setattr(cv_module, "fit_lasso_models", spy)
    monkeypatch.setattr(cv_module, "_trains_elsewhere", lambda config: True)
    alongside = run_evaluation(
        study,
        replace(CONFIG, workers=2),
        on_stack=lambda *_: events.append(("stack end", time.perf_counter())),
    )
    _same(after, alongside)
    first_lasso = min(t for what, t in events if what == "lasso start")
    last_stack = max(t for what, t in events if what == "stack end")
    assert first_lasso < last_stack  # started before the stacks were done
    assert sum(what == "lasso end" for what, _ in events) == 10  # 5 folds x 2 dimensions


def test_shared_series_equal_aligned_series(study_factory):
    study = study_factory(n_items=8, seed=2)
    cache = cv_module._SeriesCache(study)
    items = study.items[:6]
    for modality in ("music", "audiovisual"):
        for dimension in ("valence", "arousal"):
            shared = cache.get(modality, dimension, items)
            direct = align_series(study.features, study.target(modality, dimension), items)
            assert shared.items == direct.items
            np.testing.assert_array_equal(shared.targets, direct.targets)
            for name, rows in direct.features.items():
                np.testing.assert_array_equal(shared.features[name], rows)
    # the feature rows are joined once for every modality and dimension
    a, b = cache.get("music", "valence", items), cache.get("audiovisual", "arousal", items)
    assert a.features["audio"] is b.features["audio"]
    assert not np.array_equal(a.targets, b.targets)


def test_shared_scaling_scales_an_array_once_with_the_same_result():
    rng = np.random.default_rng(0)
    rows, other = rng.random((5, 7, 3)), rng.random((5, 7, 3))
    plain = MinMaxScaling().fit(rows).transform(rows)
    with shared_scaling():
        first = MinMaxScaling().fit(rows)
        again = MinMaxScaling().fit(rows)
        np.testing.assert_array_equal(first.data_min_, again.data_min_)
        a, b = first.transform(rows), again.transform(rows)
        assert a is b  # computed once
        np.testing.assert_array_equal(a, plain)
        # other rows, or other minima and ranges, are scaled anew
        np.testing.assert_array_equal(
            first.transform(other), MinMaxScaling().fit(rows).transform(other.copy())
        )
        c = MinMaxScaling().fit(other).transform(rows)
        assert c is not a and not np.array_equal(c, a)
    assert MinMaxScaling().fit(rows).transform(rows) is not a  # the memo ended with the block


def test_grid_networks_scale_each_fold_s_rows_once(study_factory, monkeypatch):
    """fit_grid_networks scales each feature array once per scaler, not once
    per network (6 networks x 5 folds x 2 dimensions read them)."""
    study = study_factory(n_items=10, seed=4)
    computed = []
    original = MinMaxScaling.transform

    def count(self, rows):
        out = original(self, rows)
        computed.append(out)  # kept alive, so no two distinct arrays share an id
        return out

    monkeypatch.setattr(MinMaxScaling, "transform", count)
    config = replace(CONFIG, models=("lstm",), training=replace(CONFIG.training, max_epochs=1))
    from muvi.models.folds import cv_folds

    fitted = cv_module.fit_grid_networks(study, config, cv_folds(study.items))
    assert len(fitted) == 60  # 6 networks (PAIR's initialisers are exp 1 and 2) x 10
    # the calls hand back far fewer distinct arrays than networks x blocks x (train, validation)
    assert len(computed) >= 2 * 60
    assert len({id(a) for a in computed}) <= 5 * 2 * 2  # folds x (train, validation) x feature sets


def test_missing_training_ratings_are_one_clear_error(study_factory):
    study = study_factory(n_items=10, seed=4)
    gold = study.gold[study.gold["modality"] != "music"]
    broken = replace(study, gold=gold)
    with pytest.raises(DataError, match="no training item has music ratings"):
        run_evaluation(broken, replace(CONFIG, models=("lasso",), experiments=(1,)))
