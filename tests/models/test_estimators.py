"""The estimators follow scikit-learn's conventions: ``clone``, ``get_params``/``set_params``.

scikit-learn's full ``check_estimator`` does not apply: these estimators take a
:class:`muvi.models.windows.SeriesSet` (items x samples x features, with targets)
rather than ``X, y`` arrays, so only the checks about parameters and the
constructor are run, by calling those check functions directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from muvi.models.lasso import LassoConfig, LassoRegressor
from muvi.models.lstm import (
    BlockConfig,
    EarlyFusionRegressor,
    LateFusionRegressor,
    LSTMRegressor,
    PairInitialisers,
    PairRegressor,
)
from muvi.models.training import TrainingConfig
from muvi.models.windows import align_series

TINY = BlockConfig(hidden=(4, 4))
ONE_EPOCH = TrainingConfig(max_epochs=1, threads=1)

MAKERS: dict[str, Callable[[], Any]] = {
    "lasso": lambda: LassoRegressor(("audio", "visual"), LassoConfig(n_alphas=4)),
    "lstm": lambda: LSTMRegressor("visual", TINY, ONE_EPOCH, 3),
    "early_fusion": lambda: EarlyFusionRegressor(TINY, ONE_EPOCH),
    "late_fusion": lambda: LateFusionRegressor(TINY, ONE_EPOCH),
    "pair": lambda: PairRegressor(None, TINY, ONE_EPOCH),
}
DEFAULTS: dict[str, type] = {
    "lasso": LassoRegressor,
    "lstm": LSTMRegressor,
    "early_fusion": EarlyFusionRegressor,
    "late_fusion": LateFusionRegressor,
    "pair": PairRegressor,
}


@pytest.fixture(scope="module")
def train(synthetic_study):
    target = synthetic_study.target("audiovisual", "arousal")
    return align_series(synthetic_study.features, target, synthetic_study.items[:6])


@pytest.mark.parametrize("kind", list(MAKERS))
def test_clone_gives_an_unfitted_estimator_with_equal_params(kind):
    model = MAKERS[kind]()
    assert isinstance(model, BaseEstimator)
    copy = clone(model)
    assert type(copy) is type(model) and copy is not model
    assert copy.get_params() == model.get_params()
    assert not [k for k in vars(copy) if k.endswith("_")]


@pytest.mark.parametrize("kind", list(MAKERS))
def test_params_are_the_constructor_arguments_as_given(kind):
    model = MAKERS[kind]()
    params = model.get_params()
    if kind == "lasso":
        assert params == {"feature_sets": ("audio", "visual"), "config": LassoConfig(n_alphas=4)}
    else:
        assert params["block"] is TINY and params["training"] is ONE_EPOCH
        assert params["history"] == (3 if kind == "lstm" else 4)
    if kind == "lstm":
        assert params["features"] == "visual" and model.feature_sets == ("visual",)
    if kind == "pair":
        assert params["initialisers"] is None


@pytest.mark.parametrize("kind", list(MAKERS))
def test_scikit_learn_parameter_checks(kind):
    model = MAKERS[kind]()
    check_get_params_invariance(kind, model)
    check_set_params(kind, model)
    check_no_attributes_set_in_init(kind, model)


@pytest.mark.parametrize("kind", list(DEFAULTS))
def test_every_estimator_is_default_constructible(kind):
    # every default is None, a number, text or a tuple, except ``block``, whose
    # default is the paper's frozen BlockConfig (an immutable value)
    cls = DEFAULTS[kind]
    model = cls()
    assert clone(model).get_params() == model.get_params()
    if kind == "lasso":
        check_parameters_default_constructible(kind, model)
    else:
        with pytest.raises(AssertionError, match="block"):
            check_parameters_default_constructible(kind, model)


def test_lasso_set_params_changes_the_alpha_grid_of_fit(train):
    model = LassoRegressor(("audio",), LassoConfig(n_alphas=4))
    assert len(model.fit(train).alphas_) == 4
    model.set_params(config=LassoConfig(n_alphas=7))
    assert model.get_params()["config"].n_alphas == 7
    assert len(model.fit(train).alphas_) == 7
    assert model.config_.n_alphas == 7
    # a clone of the fitted model is unfitted and refits to the same coefficients
    again = clone(model)
    assert not hasattr(again, "coef_")
    np.testing.assert_allclose(again.fit(train).coef_, model.coef_)


def test_lstm_set_params_changes_the_epochs_of_fit(train):
    model = LSTMRegressor("audio", TINY, ONE_EPOCH)
    assert model.fit(train).history_.epochs == 1
    model.set_params(training=replace(ONE_EPOCH, max_epochs=3))
    assert model.get_params()["training"].max_epochs == 3
    assert model.fit(train).history_.epochs == 3
    assert len(model.history_.train_loss) == 3
    # fit does not change the parameters it was given
    assert model.training == replace(ONE_EPOCH, max_epochs=3) and model.history == 4
    model.set_params(features="visual")
    model.fit(train)
    assert model.feature_sets == ("visual",) and list(model.scalers_) == ["visual"]


def test_clone_of_a_fitted_lstm_retrains_to_the_same_predictions(train):
    model = LSTMRegressor("audio", TINY, ONE_EPOCH).fit(train)
    again = clone(model)
    assert not hasattr(again, "net_")
    np.testing.assert_allclose(again.fit(train).predict(train), model.predict(train), atol=1e-6)


def test_pair_clone_and_set_params_carry_the_initialisers(train):
    audio = LSTMRegressor("audio", TINY, ONE_EPOCH).fit(train)
    visual = LSTMRegressor("visual", TINY, ONE_EPOCH).fit(train)
    pair = PairRegressor(None, TINY, ONE_EPOCH)
    with pytest.raises(RuntimeError, match="PAIR needs"):
        pair.fit(train)
    pair.set_params(initialisers=PairInitialisers(audio, visual))
    pair.fit(train)
    assert pair.net_ is not None
    copy = clone(pair)
    assert not hasattr(copy, "net_")
    assert isinstance(copy.initialisers, PairInitialisers)
    assert copy.initialisers is not pair.initialisers  # deep-copied, as clone does
    np.testing.assert_allclose(copy.fit(train).predict(train), pair.predict(train), atol=1e-6)
