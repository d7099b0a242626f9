"""The LASSO baseline: a linear model per time step, without history.

The feature row of sample t predicts the rating at t (``lag`` = 0); it is
scored on the same samples as the LSTMs (t = 4..117), so the per-item metrics
and the paired t-tests compare like with like. Features are min-max scaled on
the training items; the regularisation strength is chosen by
cross-validation inside the training items, with folds grouped by item so
that rows of one item never sit on both sides of an inner split.

The fit is scikit-learn's ``LassoCV`` (coordinate descent on a precomputed
Gram matrix, warm-started along the alpha path, the path's alphas from the
training rows), taken apart so that fits on the same training rows share
the work that does not depend on the target: the scaled rows, the inner
splits, and each split's centred Gram matrix (:func:`fit_lasso_models`;
the grid's experiments 1 and 3, 2 and 4, and both dimensions read the same
rows, experiment 5 their concatenation). The coefficients, chosen alpha and
scores equal ``LassoCV``'s to rounding (tests/models/test_lasso.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import lasso_path
from sklearn.model_selection import GroupKFold

from muvi.errors import DataError
from muvi.models.windows import HISTORY, MinMaxScaling, SeriesSet


@dataclass(frozen=True)
class LassoConfig:
    """Hyper-parameters of the LASSO baseline.

    Attributes:
        n_alphas: candidate regularisation strengths, on a log grid from the
            smallest alpha that zeroes every coefficient down to ``eps`` times it.
        eps: ratio of the smallest to the largest candidate alpha.
        inner_folds: grouped inner cross-validation folds (at most the number
            of training items).
        history: first scored sample, to score the same samples as the LSTMs.
        max_iter: coordinate-descent iterations.
        tol: coordinate-descent tolerance.
    """

    n_alphas: int = 30
    eps: float = 1e-3
    inner_folds: int = 5
    history: int = HISTORY
    max_iter: int = 5000
    tol: float = 1e-3


class LassoRegressor(BaseEstimator):  # type: ignore[misc]
    """LASSO per time step on one or more feature sets (concatenated).

    Args:
        feature_sets: e.g. ``("audio",)`` or ``("audio", "visual")``.
        config: hyper-parameters (None: the defaults of :class:`LassoConfig`).

    The estimator follows scikit-learn's conventions: the constructor stores
    its arguments as given, ``get_params``/``set_params`` mirror it and
    ``sklearn.base.clone`` gives an unfitted copy.

    Attributes (after fit):
        config_: the :class:`LassoConfig` used.
        alpha_: the chosen regularisation strength.
        alphas_: the candidate alphas, largest first.
        mse_path_: (n_alphas, n_inner_folds) validation MSE of each candidate.
        inner_splits_: the inner folds, (train rows, validation rows) each.
        coef_: (n_features,) coefficients on min-max scaled features.
        intercept_: the intercept.
        scalers_: feature set -> :class:`MinMaxScaling`.
        feature_names_: feature set -> column names.
    """

    architecture = "lasso"

    def __init__(
        self, feature_sets: tuple[str, ...] = ("audio",), config: LassoConfig | None = None
    ) -> None:
        self.feature_sets = feature_sets
        self.config = config

    def _settings(self) -> LassoConfig:
        """The configuration in use: the fitted one, else ``config`` or the defaults."""
        fitted = getattr(self, "config_", None)
        if fitted is not None:
            return cast(LassoConfig, fitted)
        return self.config if self.config is not None else LassoConfig()

    def manifest_params(self) -> dict[str, Any]:
        """The hyper-parameters as plain JSON values (what a bundle's manifest stores)."""
        return {"config": asdict(self._settings()), "feature_sets": list(self.feature_sets)}

    def _rows(self, data: SeriesSet) -> np.ndarray:
        """(n_items, n_scored, n_features) scaled rows that predict samples history..n-1."""
        for s in self.feature_sets:
            if s not in data.features:
                raise DataError(f"the LASSO model needs {s} features")
        # the row of sample t predicts the rating at t (same step)
        start = self._settings().history
        parts = [self.scalers_[s].transform(data.features[s][:, start:]) for s in self.feature_sets]
        return np.concatenate(parts, axis=-1)

    def fit(self, train: SeriesSet, validation: SeriesSet | None = None) -> LassoRegressor:
        """Choose alpha by grouped cross-validation on the training items and fit.

        Args:
            train: training items with targets.
            validation: unused (kept for the common estimator interface); the
                inner cross-validation replaces early stopping.

        Returns:
            self.

        Raises:
            DataError: fewer than 2 training items, or a feature set missing.
        """
        fit_lasso_models([self], [train])
        return self

    def predict(self, data: SeriesSet) -> np.ndarray:
        """(n_items, n_samples) predictions; the first ``history`` samples are NaN."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("LassoRegressor.predict called before fit")
        rows = self._rows(data)
        out = np.full(data.targets.shape, np.nan)
        out[:, self._settings().history :] = rows @ self.coef_ + self.intercept_
        return out

    def coefficients(self) -> dict[str, float]:
        """Feature name -> coefficient (on min-max scaled features)."""
        names = [n for s in self.feature_sets for n in self.feature_names_[s]]
        return dict(zip(names, self.coef_.tolist(), strict=True))


def _same_rows(a: SeriesSet, b: SeriesSet, feature_set: str) -> bool:
    x, y = a.features[feature_set], b.features[feature_set]
    return x is y or (x.shape == y.shape and bool(np.array_equal(x, y)))


def fit_lasso_models(models: Sequence[LassoRegressor], trains: Sequence[SeriesSet]) -> None:
    """Fit each LASSO model on its training set, sharing what fits on the same
    training rows have in common.

    Models whose training sets hold the same items, with the same feature rows
    of a feature set and the same ``history`` and ``inner_folds``, form a group:
    the group scales each feature set once, draws the inner splits once and
    computes each split's centred Gram matrix once over the union of its
    models' feature sets; a model takes its columns' block of it. Per model,
    the alphas, coordinate descent and validation errors are ``LassoCV``'s
    (``precompute=True``), so each model equals ``model.fit(train)`` with
    ``LassoCV`` to rounding, in any grouping.

    Args:
        models: unfitted (or to be refitted) estimators.
        trains: their training sets, one per model.

    Raises:
        DataError: a model needs a feature set its training set lacks, or has
            fewer than 2 training items.
    """
    if len(models) != len(trains):
        raise ValueError("fit_lasso_models needs one training set per model")
    groups: list[list[int]] = []
    for k, (model, train) in enumerate(zip(models, trains, strict=True)):
        for s in model.feature_sets:
            if s not in train.features:
                raise DataError(f"the LASSO model needs {s} features")
        settings = model.config if model.config is not None else LassoConfig()
        for group in groups:
            first = models[group[0]]
            other = trains[group[0]]
            first_settings = first.config if first.config is not None else LassoConfig()
            if (
                other.items == train.items
                and (settings.history, settings.inner_folds)
                == (first_settings.history, first_settings.inner_folds)
                and all(
                    _same_rows(other, train, s)
                    for s in model.feature_sets
                    if any(s in models[i].feature_sets for i in group)
                )
            ):
                group.append(k)
                break
        else:
            groups.append([k])
    for group in groups:
        _fit_group([models[i] for i in group], [trains[i] for i in group])


def _fit_group(models: list[LassoRegressor], trains: list[SeriesSet]) -> None:
    """Fit models that share training items and rows (see :func:`fit_lasso_models`)."""
    configs = [m.config if m.config is not None else LassoConfig() for m in models]
    start, inner_folds = configs[0].history, configs[0].inner_folds
    # the union of the feature sets, each set's rows scaled once
    sets: list[str] = []
    for model in models:
        sets += [s for s in model.feature_sets if s not in sets]
    source = {s: next(t for m, t in zip(models, trains, strict=True) if s in m.feature_sets)
              for s in sets}  # fmt: skip
    scalers = {s: MinMaxScaling().fit(source[s].features[s]) for s in sets}
    blocks = [scalers[s].transform(source[s].features[s][:, start:]) for s in sets]
    n_items, n_scored = blocks[0].shape[:2]
    if n_items < 2 or min(inner_folds, n_items) < 2:
        raise DataError("LASSO needs at least 2 training items for its inner cross-validation")
    X = np.concatenate(blocks, axis=-1).reshape(n_items * n_scored, -1).astype(np.float64)
    del blocks
    offsets = np.cumsum([0] + [source[s].features[s].shape[-1] for s in sets])
    span = {s: np.arange(offsets[i], offsets[i + 1]) for i, s in enumerate(sets)}
    columns = [np.concatenate([span[s] for s in m.feature_sets]) for m in models]
    Y = np.stack(
        [np.asarray(t.targets[:, start:], dtype=np.float64).reshape(-1) for t in trains], axis=1
    )
    row_groups = np.repeat(np.arange(n_items), n_scored)
    splits = list(GroupKFold(n_splits=min(inner_folds, n_items)).split(X, Y[:, 0], row_groups))

    # the candidate alphas, as LassoCV draws them from all training rows
    x_mean = np.average(X, axis=0)
    alphas = []
    for k, config in enumerate(configs):
        y = Y[:, k] - np.average(Y[:, k], axis=0)
        cols = columns[k]
        xy = X[:, cols].T @ y - x_mean[cols] * np.sum(y, axis=0)
        alpha_max = np.sqrt(np.max(xy**2)) / X.shape[0]
        if alpha_max <= np.finfo(np.float64).resolution:
            alphas.append(np.full(config.n_alphas, np.finfo(np.float64).resolution))
        else:
            alphas.append(np.geomspace(alpha_max, alpha_max * config.eps, num=config.n_alphas))

    def block(gram: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if len(cols) == gram.shape[0]:
            return gram
        if np.all(np.diff(cols) == 1):
            return np.ascontiguousarray(gram[cols[0] : cols[-1] + 1, cols[0] : cols[-1] + 1])
        return np.ascontiguousarray(gram[np.ix_(cols, cols)])

    def path(
        gram: np.ndarray, xy: np.ndarray, y: np.ndarray, grid: np.ndarray, config: LassoConfig
    ) -> np.ndarray:
        """Coordinate descent on the Gram matrix along ``grid`` (warm-started), as
        ``LassoCV`` runs it; X itself is not read (only its shape)."""
        shape_only = np.broadcast_to(np.float64(0.0), (y.shape[0], gram.shape[0]))
        _, coefs, _ = lasso_path(
            shape_only, y, alphas=grid, precompute=gram, Xy=xy, copy_X=False,
            max_iter=config.max_iter, tol=config.tol, check_input=False,
        )  # fmt: skip
        return cast(np.ndarray, coefs)

    # validation error of every candidate alpha on every inner split
    mse = [np.empty((config.n_alphas, len(splits))) for config in configs]
    for j, (train_rows, test_rows) in enumerate(splits):
        x = X[train_rows]
        x_offset = np.mean(x, axis=0)
        x -= x_offset
        gram = np.dot(x.T, x)
        x_test, y_test = X[test_rows], Y[test_rows]
        for k, (cols, config) in enumerate(zip(columns, configs, strict=True)):
            y = Y[train_rows, k]
            y_offset = np.mean(y)
            y = y - y_offset
            xy = np.ascontiguousarray(x[:, cols].T @ y)
            coefs = path(block(gram, cols), xy, y, alphas[k], config)
            intercepts = y_offset - np.dot(x_offset[cols], coefs)
            residues = x_test[:, cols] @ coefs - y_test[:, k, None]
            residues += intercepts
            mse[k][:, j] = (residues**2).mean(axis=0)
        del x, gram

    # the refit on all training rows with the chosen alpha (from zero, as LassoCV)
    x_offset = np.mean(X, axis=0)
    x = X - x_offset
    gram = np.dot(x.T, x)
    for k, (model, cols, config) in enumerate(zip(models, columns, configs, strict=True)):
        y = Y[:, k]
        y_offset = np.mean(y)
        y = y - y_offset
        xy = np.ascontiguousarray(x[:, cols].T @ y)
        best = int(np.argmin(np.mean(mse[k], axis=1)))
        coef = path(block(gram, cols), xy, y, alphas[k][best : best + 1], config)[:, 0]
        model.config_ = config
        model.scalers_ = {s: scalers[s] for s in model.feature_sets}
        model.feature_names_ = {s: list(source[s].feature_names[s]) for s in model.feature_sets}
        model.alphas_ = alphas[k]
        model.mse_path_ = mse[k]
        model.inner_splits_ = splits
        model.alpha_ = float(alphas[k][best])
        model.coef_ = np.asarray(coef, dtype=np.float64)
        model.intercept_ = float(y_offset - np.dot(x_offset[cols], coef))
