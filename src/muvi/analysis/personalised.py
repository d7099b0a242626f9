"""Personalised perception: does the annotator's profile help predict which labels they tick?

The paper names personalised models (annotator characteristics) as its future
work; its chi-square tests of section 4.2.2 (gender, musical training,
familiarity) are the prior evidence. Here, for every GEMS category and
superfactor, whether an annotation ticks it is predicted by an L2-penalised
logistic regression from

- **base**: the item's features (the first principal components of the
  item's feature summaries, fitted on the training items) and the condition;
- **full**: the same plus the annotator's profile: gender, years of musical
  training, familiarity with the item (``seen_previously``), age, favourite
  genre, lyric language, countries, overlay preference (rare levels pooled).

Both are cross-validated over annotators (test annotators never seen in
training: does the profile generalise to new people?) and over items (test
items never seen: does it help on new media?). The gain is the mean
out-of-fold log-loss of base minus full (nats per annotation; > 0: the
profile helps), its CI a bootstrap over the clusters the CV holds out
(annotators or items), its p-value a one-sided sign-flip test over those
clusters' mean gains. :func:`field_importance` drops one profile field at a
time (CV over annotators) to say which fields matter for which category.

Examples:
    >>> # four clusters all gaining: only 1 sign pattern in 16 does as well
    >>> round(cluster_sign_flip_p(np.array([0.1, 0.2, 0.3, 0.4]), n_flips=200, seed=0), 2)
    0.07
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from muvi.analysis.reliability import (
    BarGroup,
    annotation_targets,
    benjamini_hochberg,
    draw_grouped_bars,
    target_level,
)
from muvi.analysis.static_prediction import one_blas_thread, thin_svd
from muvi.data.schema import GEMS_CATEGORIES, GEMS_SUPERFACTORS, MODALITIES
from muvi.errors import DataError
from muvi.plotting.style import PAGE_WIDTH_IN, axes_or_new, figure_style, legend_outside

PROFILE_FIELDS: tuple[str, ...] = (
    "gender",
    "musical_training",
    "familiarity",
    "age",
    "favorite_genre",
    "lyric_language",
    "country_live_longest",
    "country_musical_enculturation",
    "overlay_pref",
)
"""The profile fields, each a group of design columns."""

_CATEGORICAL = (
    "gender",
    "favorite_genre",
    "lyric_language",
    "country_live_longest",
    "country_musical_enculturation",
    "overlay_pref",
)


@dataclass
class PersonalisedConfig:
    """Settings of the personalised models (not the paper's: it names them as future work).

    Attributes:
        n_components: principal components of the item features in the base model.
        n_folds: folds of annotators (and of items) in the cross-validation.
        c: inverse L2 penalty of the logistic regression (standardised design).
        min_level_annotators: levels of a categorical field with fewer
            annotators are pooled into ``other``.
        n_bootstrap: bootstrap replicates over clusters for the CIs.
        n_flips: sign flips for the p-values.
        confidence: level of the CIs.
        seed: seed of the folds, bootstrap and flips.
        targets: what is predicted (categories and superfactors).
        importance: compute the drop-one-field importance.
    """

    n_components: int = 10
    n_folds: int = 5
    c: float = 0.1
    min_level_annotators: int = 3
    n_bootstrap: int = 1000
    n_flips: int = 1000
    confidence: float = 0.95
    seed: int = 0
    targets: tuple[str, ...] = field(default=(*GEMS_CATEGORIES, *GEMS_SUPERFACTORS))
    importance: bool = True


def cluster_sign_flip_p(gains: np.ndarray, n_flips: int = 1000, seed: int = 0) -> float:
    """One-sided p-value of a mean gain > 0 by random sign flips of the clusters' gains.

    Args:
        gains: one mean gain per cluster (annotator or item).
        n_flips: random sign patterns.
        seed: their seed.

    Returns:
        ``(1 + #flipped mean >= observed mean) / (1 + n_flips)``.
    """
    g = np.asarray(gains, dtype=float)
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_flips, g.size))
    null = (signs * g).mean(axis=1)
    return float((1 + (null >= g.mean() - 1e-15).sum()) / (1 + n_flips))


def profile_design(
    static: pd.DataFrame, participants: pd.DataFrame, min_level_annotators: int = 3
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The profile columns of every annotation and which columns make each field.

    Args:
        static: tidy static annotations.
        participants: the annotators' profiles (``participant_data.csv``).
        min_level_annotators: rarer levels of a categorical field are pooled.

    Returns:
        ``(design, groups)``: one row per annotation (same index as ``static``),
        numeric columns; ``groups`` maps each field of :data:`PROFILE_FIELDS`
        present to its columns.
    """
    people = participants.set_index("participant_id")
    unknown = sorted(set(static["participant_id"]) - set(people.index))
    if unknown:
        raise DataError(f"participant {unknown[0]} of the static annotations has no profile")
    rows = people.loc[static["participant_id"]].reset_index(drop=True)
    rows.index = static.index
    design = pd.DataFrame(index=static.index)
    groups: dict[str, list[str]] = {}
    if "years_formal_training" in rows:
        training = pd.to_numeric(rows["years_formal_training"], errors="coerce")
        design["musical_training"] = np.log1p(training.fillna(training.median()).clip(lower=0))
        groups["musical_training"] = ["musical_training"]
    design["familiarity"] = static["seen_previously"].astype(bool).astype(float)
    groups["familiarity"] = ["familiarity"]
    if "age" in rows:
        age = pd.to_numeric(rows["age"], errors="coerce")
        design["age"] = age.fillna(age.median())
        groups["age"] = ["age"]
    for name in _CATEGORICAL:
        if name not in rows:
            continue
        values = rows[name].astype(str).str.strip()
        per_level = people[name].astype(str).str.strip().value_counts()
        rare = set(per_level[per_level < min_level_annotators].index)
        values = values.where(~values.isin(rare), "other")
        levels = sorted(set(values))
        if len(levels) < 2:
            continue
        cols = []
        for level in levels[1:]:  # the first level is the reference
            col = f"{name}={level}"
            design[col] = (values == level).astype(float)
            cols.append(col)
        groups[name] = cols
    return design, groups


def _item_components(
    summaries: pd.DataFrame, train_items: np.ndarray, n_components: int
) -> pd.DataFrame:
    """Principal components of the item summaries, fitted on ``train_items`` only."""
    train = summaries.loc[train_items].to_numpy(dtype=float)
    mean, scale = train.mean(axis=0), train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    _, _, vt = thin_svd((train - mean) / scale)
    k = min(n_components, vt.shape[0])
    # clipped to the training items' range, so that a feature nearly constant over them
    # cannot give a held-out item an enormous standardised value
    values = np.clip(summaries.to_numpy(dtype=float), train.min(axis=0), train.max(axis=0))
    scores = ((values - mean) / scale) @ vt[:k].T
    return pd.DataFrame(scores, index=summaries.index, columns=[f"pc{i}" for i in range(k)])


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float, n_iter: int = 25) -> np.ndarray:
    """L2-penalised logistic regressions of several 0/1 targets at once, by Newton's method.

    Minimises ``sum(log-loss) + ||w||^2 / (2 c)`` per target column (the
    intercept is not penalised), the objective of scikit-learn's
    ``LogisticRegression(C=c)``.

    Args:
        x: ``(n, p)`` design (standardise it first).
        y: ``(n, k)`` 0/1 targets.
        c: inverse penalty.
        n_iter: Newton steps (the objective is smooth and convex).

    Returns:
        ``(p + 1, k)`` coefficients, the intercept first.

    Examples:
        >>> x = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([[0.0], [1.0], [0.0], [1.0]])
        >>> w = fit_logistic(x, y, c=1e6)
        >>> bool(abs(w[0, 0]) < 1e-6)  # symmetric data: no intercept
        True
    """
    n, p = x.shape
    design = np.column_stack([np.ones(n), x])
    k = y.shape[1]
    w = np.zeros((p + 1, k))
    rate = np.clip(y.mean(axis=0), 1e-3, 1 - 1e-3)
    w[0] = np.log(rate / (1 - rate))
    penalty = np.full(p + 1, 1.0 / c)
    penalty[0] = 0.0
    for _ in range(n_iter):
        prob = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        grad = design.T @ (prob - y) + penalty[:, None] * w
        curvature = prob * (1 - prob)
        hess = np.stack([(design * curvature[:, t, None]).T @ design for t in range(k)])
        hess += np.diag(penalty + 1e-9)[None]
        step = np.linalg.solve(hess, grad.T[..., None])[..., 0].T
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _fit_predict(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, c: float
) -> np.ndarray:
    """Out-of-sample probabilities ``(n_test, k)`` from a model fitted on the training rows."""
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    w = fit_logistic((x_train - mean) / scale, y_train, c)
    logits = np.column_stack([np.ones(len(x_test)), (x_test - mean) / scale]) @ w
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))


def _log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve, by the Mann-Whitney rank sum (ties count half)."""
    from scipy.stats import rankdata

    n_pos = float(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(p)
    return float((ranks[y > 0].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _fold_of(clusters: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    uniques = np.unique(clusters)
    order = np.random.default_rng(seed).permutation(len(uniques))
    fold_of = dict(zip(uniques[order], np.arange(len(uniques)) % n_folds, strict=True))
    return np.array([fold_of[c] for c in clusters])


@dataclass
class _Frame:
    """Everything the cross-validation needs, row-aligned with the annotations."""

    targets: pd.DataFrame
    items: np.ndarray
    annotators: np.ndarray
    condition: np.ndarray
    profile: pd.DataFrame
    groups: dict[str, list[str]]
    summaries: pd.DataFrame


def _frame(
    static: pd.DataFrame,
    participants: pd.DataFrame,
    summaries: pd.DataFrame,
    cfg: PersonalisedConfig,
) -> _Frame:
    kept = static[static["media_id"].isin(summaries.index)].reset_index(drop=True)
    if kept.empty:
        raise DataError("no static annotation is of an item with features")
    profile, groups = profile_design(kept, participants, cfg.min_level_annotators)
    condition = np.column_stack(
        [(kept["modality"] == m).to_numpy(dtype=float) for m in MODALITIES[1:]]
    )
    return _Frame(
        targets=annotation_targets(kept, familiarity=False)[list(cfg.targets)],
        items=kept["media_id"].to_numpy(),
        annotators=kept["participant_id"].to_numpy(),
        condition=condition,
        profile=profile,
        groups=groups,
        summaries=summaries,
    )


def _cv_losses(
    frame: _Frame,
    folds: np.ndarray,
    cfg: PersonalisedConfig,
    profile_columns: list[list[str]],
) -> list[np.ndarray]:
    """Out-of-fold probabilities ``(n_annotations, n_targets)`` for each set of profile columns."""
    y = frame.targets.to_numpy(dtype=float)
    outs = [np.empty_like(y) for _ in profile_columns]
    for fold in np.unique(folds):
        test = folds == fold
        train_items = np.unique(frame.items[~test])
        pcs = _item_components(frame.summaries, train_items, cfg.n_components)
        base = np.column_stack([pcs.loc[frame.items].to_numpy(), frame.condition])
        for k, cols in enumerate(profile_columns):
            x = np.column_stack([base, frame.profile[cols].to_numpy()]) if cols else base
            outs[k][test] = _fit_predict(x[~test], y[~test], x[test], cfg.c)
    return outs


def _gain_rows(
    frame: _Frame,
    scheme: str,
    clusters: np.ndarray,
    p_base: np.ndarray,
    p_full: np.ndarray,
    cfg: PersonalisedConfig,
) -> list[dict[str, Any]]:
    y = frame.targets.to_numpy(dtype=float)
    rng = np.random.default_rng(cfg.seed + 7)
    codes, uniques = pd.factorize(clusters)
    n_clusters = len(uniques)
    picks = rng.integers(0, n_clusters, size=(cfg.n_bootstrap, n_clusters))
    tail = (1.0 - cfg.confidence) / 2.0
    rows = []
    for t, name in enumerate(frame.targets.columns):
        gain = _log_loss(y[:, t], p_base[:, t]) - _log_loss(y[:, t], p_full[:, t])
        sums = np.bincount(codes, weights=gain, minlength=n_clusters)
        counts = np.bincount(codes, minlength=n_clusters).astype(float)
        boot = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
        rows.append(
            {
                "cv": scheme,
                "target": name,
                "level": target_level(name),
                "n_annotations": len(y),
                "n_clusters": n_clusters,
                "tick_rate": float(y[:, t].mean()),
                "log_loss_base": float(_log_loss(y[:, t], p_base[:, t]).mean()),
                "log_loss_full": float(_log_loss(y[:, t], p_full[:, t]).mean()),
                "gain": float(gain.mean()),
                "gain_ci_low": float(np.quantile(boot, tail)),
                "gain_ci_high": float(np.quantile(boot, 1 - tail)),
                "p_value": cluster_sign_flip_p(sums / counts, cfg.n_flips, cfg.seed + t),
                "auc_base": _auc(y[:, t], p_base[:, t]),
                "auc_full": _auc(y[:, t], p_full[:, t]),
            }
        )
    return rows


def personalised_perception(
    static: pd.DataFrame,
    participants: pd.DataFrame,
    summaries: pd.DataFrame,
    config: PersonalisedConfig | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item features alone against item features plus profile, CV over annotators and over items.

    Args:
        static: tidy static annotations (quality-filtered).
        participants: the annotators' profiles.
        summaries: per-item feature summaries
            (:func:`muvi.analysis.static_prediction.item_feature_summaries`).
        config: see :class:`PersonalisedConfig`.

    Returns:
        ``(gains, importance)``. ``gains``: one row per CV scheme (``annotators``,
        ``items``) and target: ``log_loss_base``, ``log_loss_full``, ``gain``
        (base - full, nats per annotation), ``gain_ci_low``, ``gain_ci_high``,
        ``p_value`` (one-sided, sign flips over held-out clusters), ``auc_base``,
        ``auc_full``. ``importance``: one row per target and profile field
        (CV over annotators): ``loss_increase`` when the field is dropped from
        the full model (> 0: the field helps), its CI and p-value (empty when
        ``config.importance`` is False). Both carry ``q_value`` (Benjamini-Hochberg:
        over every row of ``gains``; over the targets of each field in ``importance``).
    """
    with one_blas_thread():
        return _personalised_perception(static, participants, summaries, config)


def _personalised_perception(
    static: pd.DataFrame,
    participants: pd.DataFrame,
    summaries: pd.DataFrame,
    config: PersonalisedConfig | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = config or PersonalisedConfig()
    frame = _frame(static, participants, summaries, cfg)
    all_profile = [c for cols in frame.groups.values() for c in cols]
    rows: list[dict[str, Any]] = []
    importance_rows: list[dict[str, Any]] = []
    for scheme, clusters in (("annotators", frame.annotators), ("items", frame.items)):
        folds = _fold_of(clusters, cfg.n_folds, cfg.seed)
        sets: list[list[str]] = [[], all_profile]
        fields = list(frame.groups) if (cfg.importance and scheme == "annotators") else []
        sets += [[c for c in all_profile if c not in frame.groups[f]] for f in fields]
        probs = _cv_losses(frame, folds, cfg, sets)
        rows += _gain_rows(frame, scheme, clusters, probs[0], probs[1], cfg)
        for f, p_without in zip(fields, probs[2:], strict=True):
            for r in _gain_rows(frame, scheme, clusters, p_without, probs[1], cfg):
                importance_rows.append(
                    {
                        "target": r["target"],
                        "level": r["level"],
                        "field": f,
                        "loss_increase": r["gain"],
                        "ci_low": r["gain_ci_low"],
                        "ci_high": r["gain_ci_high"],
                        "p_value": r["p_value"],
                    }
                )
    gains = pd.DataFrame(rows)
    gains["q_value"] = benjamini_hochberg(gains["p_value"])
    columns = ["target", "level", "field", "loss_increase", "ci_low", "ci_high", "p_value"]
    importance = pd.DataFrame(importance_rows, columns=columns)
    importance["q_value"] = np.nan
    for _, rows_of_field in importance.groupby("field", sort=False):
        importance.loc[rows_of_field.index, "q_value"] = benjamini_hochberg(
            rows_of_field["p_value"].to_numpy()
        )
    return gains, importance


def personalised_summary(gains: pd.DataFrame, importance: pd.DataFrame) -> dict[str, Any]:
    """Per CV scheme, the targets the profile helps (p < 0.05) and the mean gain; per
    target, the fields whose removal hurts (Benjamini-Hochberg q < 0.05 over the
    targets of the field)."""
    out: dict[str, Any] = {}
    for scheme, part in gains.groupby("cv", sort=False):
        out[str(scheme)] = {
            "targets_helped": sorted(part.loc[part["p_value"] < 0.05, "target"]),
            "targets_helped_fdr": sorted(part.loc[part["q_value"] < 0.05, "target"]),
            "mean_gain": float(part["gain"].mean()),
            "largest_gain": {
                "target": str(part["target"].iloc[int(np.argmax(part["gain"].to_numpy()))]),
                "gain": float(part["gain"].max()),
            },
        }
    if len(importance):
        helpful = importance[importance["q_value"] < 0.05]
        out["fields_that_matter"] = {
            str(t): sorted(part["field"]) for t, part in helpful.groupby("target", sort=False)
        }
    return out


CV_SCHEME_COLOURS = {"annotators": "#4477aa", "items": "#ee6677"}
"""The two cross-validation schemes' colours in :func:`personalised_figure` (Paul Tol's
"bright" blue and red; neither a modality's nor a GEMS category's colour)."""

CV_SCHEME_NAMES = {"annotators": "New annotators", "items": "New items"}
"""The schemes as the figure's legend names them: CV folds over annotators (the
model meets people it never saw) or over items."""


def personalised_figure(gains: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """The log-loss gain of adding the annotator's profile (with its CI) per target,
    one bar per cross-validation scheme.

    Args:
        gains: the gains table of :func:`personalised_perception`.
        ax: the axes to draw on (default: a new page-wide figure).

    Returns:
        The axes drawn on.
    """
    names = list(dict.fromkeys(gains["target"]))
    groups: list[BarGroup] = []
    for scheme, colour in CV_SCHEME_COLOURS.items():
        part = gains[gains["cv"] == scheme].set_index("target").reindex(names)
        if part["gain"].notna().any():
            groups.append(
                (
                    CV_SCHEME_NAMES[scheme],
                    colour,
                    part["gain"].to_numpy(dtype=float),
                    part["gain_ci_low"].to_numpy(dtype=float),
                    part["gain_ci_high"].to_numpy(dtype=float),
                )
            )
    with figure_style():
        ax = axes_or_new(ax, PAGE_WIDTH_IN, 3.0)
        draw_grouped_bars(ax, names, groups)
        ax.set_xlabel("GEMS category or superfactor (target)")
        ax.set_ylabel("Log-loss gain from\nthe profile (nats)")
        ax.set_title("Item features + annotator profile against item features alone")
        legend_outside(ax, title="Cross-validated on")
    return ax
