"""Static emotion from the media: an item's share of GEMS ticks predicted from its features.

For each GEMS category and superfactor and each condition, the share of the
item's annotations that tick it (:func:`muvi.analysis.reliability.item_shares`)
is predicted from summaries of the item's feature series (mean and standard
deviation over the analysis window, :func:`item_feature_summaries`) with a
ridge regression under nested cross-validation over items:

- the outer loop (:class:`StaticPredictionConfig` ``outer_folds`` folds of
  items) holds items out and predicts them;
- inside, :class:`RidgeLooCV` standardises the training items' features and
  picks the ridge penalty per target by exact leave-one-out over the training
  items only (closed form from one SVD of the training features).

Because the SVD depends only on the features, every permutation of the
targets (shuffled over items) is one more column of the same solve, so the
permutation test (``n_permutations`` shuffles, p = (1 + #null R^2 >= observed)
/ (1 + n)) costs little. The confidence intervals are percentile bootstraps
over items of the out-of-fold predictions (they leave the refitting
variability out).

Examples:
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 3)); y = x[:, :1] * 2.0 + 0.1 * rng.normal(size=(40, 1))
    >>> model = RidgeLooCV().fit(x, y)
    >>> bool(np.corrcoef(model.predict(x)[:, 0], y[:, 0])[0, 1] > 0.99)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from muvi.analysis.correction import FDR_BH, stars, stars_legend
from muvi.analysis.reliability import (
    BarGroup,
    annotation_targets,
    benjamini_hochberg,
    draw_grouped_bars,
    item_shares,
    target_level,
)
from muvi.data.schema import ANALYSIS_SAMPLES, GEMS_CATEGORIES, GEMS_SUPERFACTORS, MODALITIES
from muvi.errors import DataError
from muvi.plotting.names import MODALITY_NAMES
from muvi.plotting.style import (
    MODALITY_COLOURS,
    PAGE_WIDTH_IN,
    axes_or_new,
    figure_style,
    legend_outside,
)

DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-1, 6, 15))
"""Ridge penalties tried by the inner leave-one-out (on standardised features)."""

TARGETS: tuple[str, ...] = (*GEMS_CATEGORIES, *GEMS_SUPERFACTORS)
"""What is predicted: the 9 categories and 3 superfactors."""


@dataclass
class StaticPredictionConfig:
    """Settings of the static prediction (the paper has none: it does not model the labels).

    Attributes:
        outer_folds: folds of items in the outer cross-validation.
        alphas: ridge penalties searched by the inner leave-one-out.
        n_permutations: shuffles of the targets over items for the p-value
            (the issue asks for at least 200).
        n_bootstrap: bootstrap replicates over items for the confidence intervals.
        confidence: level of the confidence intervals.
        n_samples: samples of each feature series summarised (the analysis window).
        seed: seed of the folds, permutations and bootstrap.
    """

    outer_folds: int = 10
    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    n_permutations: int = 1000
    n_bootstrap: int = 1000
    confidence: float = 0.95
    n_samples: int = ANALYSIS_SAMPLES
    seed: int = 0
    targets: tuple[str, ...] = field(default=TARGETS)


def item_feature_summaries(
    features: pd.DataFrame, n_samples: int = ANALYSIS_SAMPLES
) -> pd.DataFrame:
    """Mean and standard deviation of every feature over an item's first ``n_samples`` samples.

    Args:
        features: indexed by (``media_id``, ``sample``), one column per feature.
        n_samples: samples kept from the start of each series.

    Returns:
        One row per item (index ``media_id``), columns ``<feature>_mean`` and
        ``<feature>_std`` (population std).

    Examples:
        >>> idx = pd.MultiIndex.from_product([["a"], [0, 1, 2]], names=["media_id", "sample"])
        >>> item_feature_summaries(pd.DataFrame({"f": [1.0, 3.0, 100.0]}, index=idx), 2).values
        array([[2., 1.]])
    """
    if features.index.nlevels != 2:
        raise DataError("features must be indexed by (media_id, sample)")
    sample = features.index.get_level_values(1)
    kept = features[np.asarray(sample) < n_samples]
    groups = kept.groupby(level=0, sort=False)
    mean = groups.mean().add_suffix("_mean")
    std = groups.std(ddof=0).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    out.index.name = "media_id"
    return out


def thin_svd(x: np.ndarray, rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``u, s, vt`` of ``x`` ``(n, p)`` without the directions of (near) zero singular value.

    With fewer rows than columns (items against features) it goes through the
    ``n x n`` Gram matrix, much faster than a full SVD of a wide matrix.

    Examples:
        >>> x = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
        >>> u, s, vt = thin_svd(x)
        >>> np.allclose(u @ np.diag(s) @ vt, x), sorted(s.round(6).tolist())
        (True, [1.0, 2.0])
    """
    n, p = x.shape
    if n >= p:
        u, s, vt = np.linalg.svd(x, full_matrices=False)
    else:
        eigvals, u = np.linalg.eigh(x @ x.T)
        order = np.argsort(eigvals)[::-1]
        eigvals, u = eigvals[order], u[:, order]
        s = np.sqrt(np.clip(eigvals, 0.0, None))
        keep = s > (s[0] if s.size else 0.0) * rtol * 1e3
        u, s = u[:, keep], s[keep]
        vt = (u.T @ x) / s[:, None]
    keep = s > (s[0] if s.size else 0.0) * rtol
    return u[:, keep], s[keep], vt[keep]


class RidgeLooCV:
    """Ridge regression of several targets at once, penalty chosen per target
    by exact leave-one-out over the rows it is fitted on.

    Features are standardised with the fitted rows' mean and std (constant
    features become 0; new rows are clipped to the fitted range) and the targets centred; the leave-one-out residual of
    ridge is ``e_i / (1 - H_ii)`` with ``H = 1/n + U diag(s^2/(s^2+alpha)) U'``.

    Args:
        alphas: the penalties searched.

    Attributes:
        alpha_: the chosen penalty per target, shape ``(n_targets,)``.
        loo_mse_: the leave-one-out MSE per penalty and target.
    """

    def __init__(self, alphas: tuple[float, ...] = DEFAULT_ALPHAS) -> None:
        self.alphas = alphas

    def fit(self, x: np.ndarray, y: np.ndarray) -> RidgeLooCV:
        """Fit on ``x`` ``(n, p)`` and ``y`` ``(n, k)``; returns self."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        n = x.shape[0]
        self.low_, self.high_ = x.min(axis=0), x.max(axis=0)
        self.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        xs = (x - self.mean_) / self.scale_
        self.y_mean_ = y.mean(axis=0)
        yc = y - self.y_mean_
        u, s, vt = thin_svd(xs)
        alphas = np.asarray(self.alphas, dtype=float)
        shrink = s**2 / (s**2 + alphas[:, None])  # (n_alpha, r)
        uty = u.T @ yc  # (r, k)
        leverage = 1.0 / n + (u**2) @ shrink.T  # (n, n_alpha)
        self.loo_mse_ = np.empty((len(alphas), y.shape[1]))
        for a in range(len(alphas)):
            resid = (yc - u @ (shrink[a][:, None] * uty)) / (1.0 - leverage[:, a : a + 1])
            self.loo_mse_[a] = (resid**2).mean(axis=0)
        best = np.argmin(self.loo_mse_, axis=0)
        self.alpha_ = alphas[best]
        self.v_ = vt.T
        self.coef_scale_ = (s / (s**2 + self.alpha_[:, None])).T * uty  # (r, k)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions ``(n, k)`` for new rows ``x`` ``(n, p)``.

        Features are clipped to the range seen in fitting first: a feature
        (nearly) constant over the training items would otherwise give a new
        item an enormous standardised value.
        """
        clipped = np.clip(np.asarray(x, dtype=float), self.low_, self.high_)
        xs = (clipped - self.mean_) / self.scale_
        return (xs @ self.v_) @ self.coef_scale_ + self.y_mean_


ModelFactory = Callable[[], Any]


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread.

    The matrices here are small (tens of items, a few thousand columns); on a
    machine shared with other jobs, OpenBLAS threads that spin waiting for a
    busy core made these solves up to 25 times slower (measured on 2 shared
    cores: 58 s against 2 s for the personalised models).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def outer_folds(n_items: int, n_folds: int, seed: int) -> np.ndarray:
    """A fold number per item: a seeded permutation cut into ``n_folds`` near-equal folds.

    Examples:
        >>> np.bincount(outer_folds(23, 5, 0)).tolist()
        [5, 5, 5, 4, 4]
    """
    folds = np.arange(n_items) % min(n_folds, n_items)
    return folds[np.random.default_rng(seed).permutation(n_items)]


def nested_cv_predict(
    x: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    model_factory: ModelFactory = RidgeLooCV,
) -> np.ndarray:
    """Out-of-fold predictions: for each fold, a model fitted on the other folds' rows only.

    Args:
        x: ``(n_items, p)`` features.
        y: ``(n_items, k)`` targets (several at once: targets and their permutations).
        folds: fold number per item.
        model_factory: makes an object with ``fit(x, y)`` and ``predict(x)``;
            its own model selection (the inner loop) sees only the rows it is fitted on.

    Returns:
        ``(n_items, k)`` predictions.
    """
    out = np.empty_like(np.asarray(y, dtype=float))
    for fold in np.unique(folds):
        test = folds == fold
        model = model_factory().fit(x[~test], y[~test])
        out[test] = model.predict(x[test])
    return out


def prediction_r2(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Out-of-sample R^2 per column: ``1 - SSE / SS(y around its mean)``.

    Examples:
        >>> prediction_r2(np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [1.0], [1.0]]))
        array([0.])
    """
    sse = ((y - pred) ** 2).sum(axis=0)
    sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - sse / sst


def _pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    da, db = a - a.mean(axis=0), b - b.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (da * db).sum(axis=0) / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))


def predict_item_shares(
    features: pd.DataFrame,
    shares: pd.DataFrame,
    config: StaticPredictionConfig | None = None,
    model_factory: ModelFactory | None = None,
) -> pd.DataFrame:
    """Nested-CV prediction of item shares from item features, with permutation test and CIs.

    Args:
        features: one row per item (index ``media_id``), e.g. :func:`item_feature_summaries`.
        shares: one row per item (index ``media_id``), one column per target in [0, 1].
        config: folds, penalties, permutations, bootstrap, seed.
        model_factory: the fold model (default :class:`RidgeLooCV` with ``config.alphas``).

    Returns:
        One row per target: ``target``, ``level``, ``n_items``, ``r2``, ``r2_ci_low``,
        ``r2_ci_high``, ``r``, ``r_ci_low``, ``r_ci_high``, ``p_value``,
        ``n_permutations``, ``null_r2_mean``.
    """
    with one_blas_thread():
        return _predict_item_shares(features, shares, config, model_factory)


def _predict_item_shares(
    features: pd.DataFrame,
    shares: pd.DataFrame,
    config: StaticPredictionConfig | None,
    model_factory: ModelFactory | None,
) -> pd.DataFrame:
    cfg = config or StaticPredictionConfig()
    factory = model_factory or (lambda: RidgeLooCV(cfg.alphas))
    common = [i for i in shares.index if i in features.index]
    if len(common) < max(4, cfg.outer_folds):
        raise DataError(
            f"only {len(common)} item(s) have both features and labels "
            f"(at least {max(4, cfg.outer_folds)} are needed)"
        )
    x = features.loc[common].to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise DataError("the item features contain missing or infinite values")
    names = list(shares.columns)
    y = shares.loc[common, names].to_numpy(dtype=float)
    n, k = y.shape
    rng = np.random.default_rng(cfg.seed)
    perms = (
        np.stack([rng.permutation(n) for _ in range(cfg.n_permutations)])
        if cfg.n_permutations
        else np.empty((0, n), int)
    )
    # columns: the k targets, then each permutation of each target
    y_all = np.concatenate([y, *(y[p] for p in perms)], axis=1)
    folds = outer_folds(n, cfg.outer_folds, cfg.seed)
    pred_all = nested_cv_predict(x, y_all, folds, factory)
    r2_all = prediction_r2(y_all, pred_all).reshape(1 + len(perms), k)
    observed, null = r2_all[0], r2_all[1:]
    pred = pred_all[:, :k]
    r = _pearson_columns(y, pred)
    picks = rng.integers(0, n, size=(cfg.n_bootstrap, n))
    boot_r2 = np.stack([prediction_r2(y[p], pred[p]) for p in picks])
    boot_r = np.stack([_pearson_columns(y[p], pred[p]) for p in picks])
    tail = (1.0 - cfg.confidence) / 2.0

    def ci(values: np.ndarray) -> tuple[float, float]:
        values = values[np.isfinite(values)]
        if not values.size:
            return math.nan, math.nan
        return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))

    rows = []
    for t, name in enumerate(names):
        exceed = int((null[:, t] >= observed[t] - 1e-12).sum())
        r2_lo, r2_hi = ci(boot_r2[:, t])
        r_lo, r_hi = ci(boot_r[:, t])
        rows.append(
            {
                "target": name,
                "level": target_level(name),
                "n_items": n,
                "r2": float(observed[t]),
                "r2_ci_low": r2_lo,
                "r2_ci_high": r2_hi,
                "r": float(r[t]),
                "r_ci_low": r_lo,
                "r_ci_high": r_hi,
                "p_value": (1.0 + exceed) / (1.0 + len(perms)),
                "n_permutations": len(perms),
                "null_r2_mean": float(null[:, t].mean()) if len(perms) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def static_prediction(
    static: pd.DataFrame,
    feature_sets: dict[str, pd.DataFrame],
    config: StaticPredictionConfig | None = None,
) -> pd.DataFrame:
    """Every condition's item shares predicted from every feature set.

    Args:
        static: tidy static annotations (quality-filtered).
        feature_sets: name (``audio``, ``visual``, ``audio+visual``) -> per-item
            features (:func:`item_feature_summaries`).
        config: see :class:`StaticPredictionConfig`.

    Returns:
        :func:`predict_item_shares` rows with ``features`` and ``modality`` first
        and a ``q_value`` (Benjamini-Hochberg over every row of the table).
    """
    cfg = config or StaticPredictionConfig()
    shares = item_shares(static, annotation_targets(static, familiarity=False))
    parts = []
    for set_name, features in feature_sets.items():
        for modality in [m for m in MODALITIES if m in shares.index.get_level_values(0)]:
            per_item = pd.DataFrame(shares.xs(modality, level="modality")[list(cfg.targets)])
            if per_item.index.isin(features.index).sum() < max(4, cfg.outer_folds):
                continue  # too few items to cross-validate
            table = predict_item_shares(features, per_item, cfg)
            table.insert(0, "modality", modality)
            table.insert(0, "features", set_name)
            parts.append(table)
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    table["q_value"] = benjamini_hochberg(table["p_value"])
    return table


STARS_LEGEND = stars_legend(FDR_BH, "every target, condition and feature set")
"""What the stars of :func:`static_prediction_figure` mean (its title and caption)."""


def static_prediction_figure(table: pd.DataFrame, features: str, *, ax: Axes | None = None) -> Axes:
    """Out-of-fold R² (with its bootstrap CI) per target and condition for one feature
    set; stars mark the Benjamini-Hochberg q-value of the permutation test (the table's
    ``q_value``, corrected over every row: every target, condition and feature set),
    :func:`muvi.analysis.correction.stars`.

    Args:
        table: the table of :func:`static_prediction`.
        features: the feature set to draw (a value of its ``features`` column).
        ax: the axes to draw on (default: a new page-wide figure).

    Returns:
        The axes drawn on.
    """
    if "q_value" not in table.columns:  # a table made by hand: corrected over its rows
        table = table.assign(q_value=benjamini_hochberg(table["p_value"]))
    part = table[table["features"] == features]
    names = list(dict.fromkeys(part["target"]))
    modalities = [m for m in MODALITIES if (part["modality"] == m).any()]
    groups: list[BarGroup] = []
    rows_of = {}
    for modality in modalities:
        rows = part[part["modality"] == modality].set_index("target").reindex(names)
        rows_of[modality] = rows
        groups.append(
            (
                MODALITY_NAMES.get(modality, modality),
                MODALITY_COLOURS[modality],
                rows["r2"].to_numpy(dtype=float),
                rows["r2_ci_low"].to_numpy(dtype=float),
                rows["r2_ci_high"].to_numpy(dtype=float),
            )
        )
    with figure_style():
        ax = axes_or_new(ax, PAGE_WIDTH_IN, 3.0)
        positions = draw_grouped_bars(ax, names, groups)
        top = ax.get_ylim()[1]
        offset = 0.02 * (top - ax.get_ylim()[0])
        for modality, xs in zip(modalities, positions, strict=True):
            rows = rows_of[modality]
            for x, r2, high, q in zip(
                xs, rows["r2"], rows["r2_ci_high"], rows["q_value"], strict=True
            ):
                if stars(q):
                    y = min(max(r2, high if np.isfinite(high) else r2, 0.0) + offset, top)
                    ax.text(x, y, stars(q), ha="center", va="bottom")
        ax.set_ylim(ax.get_ylim()[0], top + 3 * offset)
        ax.set_xlabel("Item share of the GEMS category or superfactor (target)")
        ax.set_ylabel("Out-of-fold R²\n(nested CV)")
        ax.set_title(f"Predicted from the {features} features\n({STARS_LEGEND})")
        legend_outside(ax, title="Condition")
    return ax


def static_prediction_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Per feature set and condition: the targets predicted above chance (p < 0.05)
    and the best R^2 with its CI."""
    out: dict[str, Any] = {}
    for (features, modality), part in table.groupby(["features", "modality"], sort=False):
        best = part.iloc[int(np.argmax(part["r2"].to_numpy()))]
        out.setdefault(str(features), {})[str(modality)] = {
            "significant": sorted(part.loc[part["p_value"] < 0.05, "target"]),
            "significant_fdr": sorted(part.loc[part["q_value"] < 0.05, "target"]),
            "best_target": str(best["target"]),
            "best_r2": float(best["r2"]),
            "best_r2_ci": [float(best["r2_ci_low"]), float(best["r2_ci_high"])],
            "best_p": float(best["p_value"]),
        }
    return out
