"""The LASSO baseline: a linear model per time step, without history.

The feature row of sample t predicts the rating at t (``lag`` = 0); it is
scored on the same samples as the LSTMs (t = 4..117), so the per-item metrics
and the paired t-tests compare like with like. Features are min-max scaled on
the training items; the regularisation strength is chosen by
cross-validation inside the training items, with folds grouped by item so
that rows of one item never sit on both sides of an inner split.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LassoCV
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
        """
        self.config_ = self.config if self.config is not None else LassoConfig()
        self.scalers_ = {s: MinMaxScaling().fit(train.features[s]) for s in self.feature_sets}
        self.feature_names_ = {s: list(train.feature_names[s]) for s in self.feature_sets}
        rows = self._rows(train)
        n_items, n_scored, n_features = rows.shape
        X = rows.reshape(n_items * n_scored, n_features).astype(np.float64)
        y = np.asarray(train.targets[:, self.config_.history :], dtype=np.float64).reshape(-1)
        groups = np.repeat(np.arange(n_items), n_scored)
        n_inner = min(self.config_.inner_folds, n_items)
        if n_inner < 2:
            raise DataError("LASSO needs at least 2 training items for its inner cross-validation")
        splits = list(GroupKFold(n_splits=n_inner).split(X, y, groups))
        search = LassoCV(
            alphas=self.config_.n_alphas,
            eps=self.config_.eps,
            cv=splits,
            max_iter=self.config_.max_iter,
            tol=self.config_.tol,
            n_jobs=1,
            precompute=True,
        ).fit(X, y)
        self.alpha_ = float(search.alpha_)
        self.coef_ = np.asarray(search.coef_, dtype=np.float64)
        self.intercept_ = float(search.intercept_)
        self.model_ = search
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
