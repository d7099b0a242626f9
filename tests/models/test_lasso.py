"""The LASSO baseline: grouped inner cross-validation, recovered coefficients."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Lasso
from sklearn.model_selection import GroupKFold

from muvi.models.lasso import LassoConfig, LassoRegressor
from muvi.models.windows import SeriesSet


def _linear_series(n_items=6, n_samples=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n_items, n_samples, 5)).astype(np.float32)
    x[:, :, 4] = 7.0  # a constant column: scaled to 0, coefficient 0
    x[:, 0, 0], x[:, 1, 0] = 0.0, 1.0  # feature 0 spans exactly [0, 1] in every item
    y = (0.8 * x[:, :, 0] - 0.4 * x[:, :, 2] + 0.01 * rng.normal(size=(n_items, n_samples))).astype(
        np.float32
    )
    names = {"audio": [f"f{k}" for k in range(5)]}
    return SeriesSet(
        [f"m{i}" for i in range(n_items)], {"audio": x}, y, names, np.arange(n_samples)
    )


def test_lasso_recovers_a_sparse_linear_rule_from_the_same_time_step():
    train, test = _linear_series(seed=0), _linear_series(n_items=2, seed=1)
    model = LassoRegressor(("audio",), LassoConfig(n_alphas=20)).fit(train)
    coef = model.coefficients()
    assert coef["f0"] == pytest.approx(0.8, abs=0.05)
    assert coef["f2"] == pytest.approx(-0.4 * np.ptp(train.features["audio"][:, :, 2]), abs=0.05)
    assert coef["f4"] == 0.0
    pred = model.predict(test)
    assert np.isnan(pred[:, :4]).all()
    assert np.sqrt(np.mean((pred[:, 4:] - test.targets[:, 4:]) ** 2)) < 0.03


def test_alpha_is_chosen_by_cross_validation_grouped_by_item():
    train = _linear_series(n_items=5, n_samples=20, seed=3)
    model = LassoRegressor(
        ("audio",), LassoConfig(n_alphas=8, inner_folds=5, tol=1e-10, max_iter=100_000)
    ).fit(train)
    # a second method: for each candidate alpha, the mean validation MSE over
    # leave-one-item-out folds with plain Lasso fits
    rows = model.scalers_["audio"].transform(train.features["audio"][:, 4:])
    X = rows.reshape(-1, 5).astype(np.float64)
    y = train.targets[:, 4:].reshape(-1).astype(np.float64)
    groups = np.repeat(np.arange(5), 16)
    alphas = model.model_.alphas_
    scores = []
    for alpha in alphas:
        errs = []
        for tr, va in GroupKFold(n_splits=5).split(X, y, groups):
            assert not set(groups[tr]) & set(groups[va])  # no item on both sides
            fit = Lasso(alpha=alpha, max_iter=100_000, tol=1e-10).fit(X[tr], y[tr])
            errs.append(np.mean((fit.predict(X[va]) - y[va]) ** 2))
        scores.append(np.mean(errs))
    assert model.alpha_ == pytest.approx(alphas[int(np.argmin(scores))])
    # and the model's own inner splits never put one item on both sides
    for tr, va in model.model_.cv:
        assert not set(groups[tr]) & set(groups[va])
