"""The LASSO baseline: grouped inner cross-validation, recovered coefficients."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Lasso, LassoCV
from sklearn.model_selection import GroupKFold

from muvi.errors import DataError
from muvi.models.lasso import LassoConfig, LassoRegressor, fit_lasso_models
from muvi.models.windows import SeriesSet, align_series


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


@pytest.fixture(scope="module")
def simulated_fold(tmp_path_factory):
    """The LASSO models and training sets of the grid's first fold (experiments
    1-5, both dimensions) on a small SIMULATED study (muvi.data.simulator: 16
    items; the first 120 emobase and 100 visual features, to keep it quick)."""
    from muvi.data.loaders import load_dataset
    from muvi.data.simulator import simulate
    from muvi.models.folds import cv_folds
    from muvi.models.grid import EXPERIMENTS
    from muvi.models.protocol import prepare_study

    path = tmp_path_factory.mktemp("lasso_sim") / "study"
    simulate(path, seed=3, n_items=16, n_participants=12)
    study = prepare_study(load_dataset(path))
    study.features = {"audio": study.features["audio"].iloc[:, :120],
                      "visual": study.features["visual"].iloc[:, :100]}  # fmt: skip
    fold = cv_folds(study.items)[0]
    models, trains = [], []
    for dimension in ("valence", "arousal"):
        for number in (1, 2, 3, 4, 5):
            exp = EXPERIMENTS[number]
            items = study.items_with_target(exp.target_modality, fold.train)
            target = study.target(exp.target_modality, dimension)
            trains.append(align_series(study.features, target, items))
            models.append(LassoRegressor(exp.features, LassoConfig()))
    return models, trains


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
    alphas = model.alphas_
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
    for tr, va in model.inner_splits_:
        assert not set(groups[tr]) & set(groups[va])


def _lasso_cv_reference(model: LassoRegressor, train: SeriesSet) -> LassoCV:
    """The fit as it was made before the shared path: scikit-learn's LassoCV on
    the model's scaled rows, grouped inner folds, precomputed Gram."""
    cfg = model.config_
    rows = np.concatenate(
        [
            model.scalers_[s].transform(train.features[s][:, cfg.history :])
            for s in model.feature_sets
        ],
        axis=-1,
    )
    n_items, n_scored, n_features = rows.shape
    X = rows.reshape(-1, n_features).astype(np.float64)
    y = np.asarray(train.targets[:, cfg.history :], dtype=np.float64).reshape(-1)
    groups = np.repeat(np.arange(n_items), n_scored)
    splits = list(GroupKFold(n_splits=min(cfg.inner_folds, n_items)).split(X, y, groups))
    return LassoCV(
        alphas=cfg.n_alphas, eps=cfg.eps, cv=splits, max_iter=cfg.max_iter, tol=cfg.tol,
        n_jobs=1, precompute=True,
    ).fit(X, y)  # fmt: skip


def test_shared_fits_equal_lasso_cv_on_a_simulated_fold(simulated_fold):
    """Ten LASSO fits of one fold of a SIMULATED study (experiments 1-5 x 2
    dimensions) fitted together, sharing rows and Gram matrices, equal
    scikit-learn's LassoCV fitted one by one: alphas, validation errors,
    chosen alpha, coefficients and intercept, to rounding."""
    models, trains = simulated_fold
    fit_lasso_models(models, trains)
    assert sum(np.count_nonzero(m.coef_) for m in models) > 0  # not a degenerate all-zero case
    for model, train in zip(models, trains, strict=True):
        ref = _lasso_cv_reference(model, train)
        np.testing.assert_allclose(model.alphas_, ref.alphas_, rtol=1e-12, atol=0)
        np.testing.assert_allclose(model.mse_path_, ref.mse_path_, rtol=1e-9, atol=1e-15)
        assert model.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
        assert model.intercept_ == pytest.approx(ref.intercept_, rel=1e-9, abs=1e-12)
    for model, train in list(zip(models, trains, strict=True))[3:6]:  # fitted alone: the same
        alone = LassoRegressor(model.feature_sets, model.config).fit(train)
        np.testing.assert_allclose(alone.coef_, model.coef_, rtol=1e-9, atol=1e-12)
        assert alone.alpha_ == pytest.approx(model.alpha_, rel=1e-12)


def test_fits_on_different_items_are_not_grouped():
    a, b = _linear_series(seed=0), _linear_series(seed=5)
    together = [LassoRegressor(("audio",), LassoConfig(n_alphas=6)) for _ in range(2)]
    fit_lasso_models(together, [a, b])
    for model, train in zip(together, (a, b), strict=True):
        alone = LassoRegressor(("audio",), LassoConfig(n_alphas=6)).fit(train)
        np.testing.assert_array_equal(alone.coef_, model.coef_)
    assert not np.array_equal(together[0].coef_, together[1].coef_)


def test_a_missing_feature_set_or_too_few_items_is_one_clear_error():
    train = _linear_series(n_items=1)
    with pytest.raises(DataError, match="at least 2 training items"):
        LassoRegressor(("audio",)).fit(train)
    with pytest.raises(DataError, match="needs visual features"):
        fit_lasso_models([LassoRegressor(("visual",))], [_linear_series()])
