"""How much do the items themselves explain? Item-level reliability of the static labels.

Before any model tries to predict an item's static GEMS labels (from its
music, :mod:`muvi.analysis.static_prediction`, or from the annotator,
:mod:`muvi.analysis.personalised`), this module measures how reproducible
an item's *share* of annotations that tick a label is, in each condition:

- :func:`split_half_reliability`: the annotators of a condition are split at
  random into two halves; each half gives every item a share; the Pearson r
  of the two halves' shares over items, Spearman-Brown corrected to the full
  panel (``2 r / (1 + r)``), is averaged over many random splits. Its
  confidence interval comes from a bootstrap over items in which every
  replicate also draws a new split.
- :func:`item_effect_test`: a permutation test of the item effect: the
  between-item sum of squares of the ticks, against the same statistic with
  the item ids shuffled over the annotations of the condition.
- :func:`between_condition_agreement`: the Pearson r of the items' shares
  between two conditions, with a Fisher-z confidence interval.

Targets are the 27 labels, the 9 categories and 3 superfactors (ticked when
any of their labels is ticked) and familiarity (``seen_previously``), which
should depend on the item whatever the condition (:func:`annotation_targets`).

Examples:
    >>> spearman_brown(0.5)
    0.6666666666666666
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import stats

from muvi.analysis.correction import benjamini_hochberg
from muvi.data.schema import (
    GEMS,
    GEMS_CATEGORIES,
    GEMS_LABELS,
    GEMS_LABELS_OF_CATEGORY,
    GEMS_SUPERFACTORS,
    MODALITIES,
    MODALITY_PAIRS,
)
from muvi.errors import DataError
from muvi.plotting.names import MODALITY_NAMES
from muvi.plotting.style import (
    MODALITY_COLOURS,
    PAGE_WIDTH_IN,
    axes_or_new,
    figure_style,
    legend_outside,
    mark_out_of_range,
)

FAMILIARITY = "familiarity"
"""The target name of ``seen_previously``."""


@dataclass
class ReliabilityConfig:
    """Settings of the reliability analysis (not from the paper, which has none).

    Attributes:
        n_splits: random annotator halves averaged for the estimate.
        n_bootstrap: bootstrap replicates over items for the confidence interval.
        n_permutations: shuffles of the item ids for the item-effect test.
        confidence: level of the confidence intervals.
        seed: seed of every random draw.
    """

    n_splits: int = 200
    n_bootstrap: int = 500
    n_permutations: int = 1000
    confidence: float = 0.95
    seed: int = 0


def spearman_brown(r: float | np.ndarray, factor: float = 2.0) -> float | np.ndarray:
    """The Spearman-Brown prophecy: the reliability of a panel ``factor`` times larger.

    Args:
        r: the reliability (or split-half correlation) of the smaller panel.
        factor: how many times larger the panel is (2 for split-half).

    Returns:
        ``factor * r / (1 + (factor - 1) * r)``, same shape as ``r``.

    Examples:
        >>> round(spearman_brown(0.6), 3), spearman_brown(0.0), spearman_brown(1.0)
        (0.75, 0.0, 1.0)
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return factor * r / (1.0 + (factor - 1.0) * r)


def annotation_targets(static: pd.DataFrame, *, familiarity: bool = True) -> pd.DataFrame:
    """One 0/1 column per target for every annotation (same index as ``static``).

    Args:
        static: tidy static annotations (the 27 label columns, ``seen_previously``).
        familiarity: add the ``familiarity`` column (``seen_previously``).

    Returns:
        Columns: the 27 labels, the 9 categories, the 3 superfactors (1 when any
        of their labels is ticked) and ``familiarity``.

    Examples:
        >>> s = pd.DataFrame(0, index=[0], columns=list(GEMS_LABELS))
        >>> s.loc[0, "sad"] = 1; s["seen_previously"] = True
        >>> t = annotation_targets(s)
        >>> int(t.loc[0, "Sadness"]), int(t.loc[0, "Unease"]), int(t.loc[0, "Tension"])
        (1, 1, 0)
        >>> int(t.loc[0, "familiarity"]), t.shape[1]
        (1, 40)
    """
    missing = [c for c in GEMS_LABELS if c not in static.columns]
    if missing:
        raise DataError(f"the static annotations lack label column(s) {', '.join(missing)}")
    labels = static[list(GEMS_LABELS)].astype(int)
    out = {label: labels[label] for label in GEMS_LABELS}
    for category in GEMS_CATEGORIES:
        out[category] = labels[list(GEMS_LABELS_OF_CATEGORY[category])].max(axis=1)
    for factor in GEMS_SUPERFACTORS:
        members = [t.label for t in GEMS if t.superfactor == factor]
        out[factor] = labels[members].max(axis=1)
    if familiarity:
        if "seen_previously" not in static.columns:
            raise DataError("the static annotations lack column 'seen_previously'")
        out[FAMILIARITY] = static["seen_previously"].astype(bool).astype(int)
    return pd.DataFrame(out, index=static.index)


def target_level(name: str) -> str:
    """``label``, ``category``, ``superfactor`` or ``familiarity`` for a target name.

    Examples:
        >>> target_level("sad"), target_level("Sadness"), target_level("Unease")
        ('label', 'category', 'superfactor')
    """
    if name in GEMS_LABELS:
        return "label"
    if name in GEMS_CATEGORIES:
        return "category"
    if name in GEMS_SUPERFACTORS:
        return "superfactor"
    return FAMILIARITY


def item_shares(static: pd.DataFrame, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per item and condition, the share of annotations that tick each target.

    Args:
        static: tidy static annotations.
        targets: :func:`annotation_targets` of ``static`` (computed when None).

    Returns:
        Indexed by (``modality``, ``media_id``); a column ``n`` (annotations)
        and one share in [0, 1] per target.

    Examples:
        >>> s = pd.DataFrame(0, index=range(3), columns=list(GEMS_LABELS))
        >>> s["media_id"] = ["a", "a", "b"]; s["modality"] = "music"
        >>> s["seen_previously"] = [True, False, False]
        >>> item_shares(s)["familiarity"].tolist()
        [0.5, 0.0]
    """
    t = annotation_targets(static) if targets is None else targets
    keys = [static["modality"].rename("modality"), static["media_id"].rename("media_id")]
    shares = t.groupby(keys, sort=True).mean()
    shares.insert(0, "n", t.groupby(keys, sort=True).size())
    return shares


def _indexer(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _column_pearson(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pearson r of matching columns over the rows where ``valid``; shape ``a.shape[1:]``.

    ``a``, ``b``: ``(n_items, ...)``; ``valid``: broadcastable to them.
    """
    w = np.broadcast_to(valid, a.shape).astype(float)
    n = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = (w * np.nan_to_num(a)).sum(axis=0) / n
        mb = (w * np.nan_to_num(b)).sum(axis=0) / n
        da = np.where(w > 0, np.nan_to_num(a) - ma, 0.0)
        db = np.where(w > 0, np.nan_to_num(b) - mb, 0.0)
        cov = (da * db).sum(axis=0)
        r = cov / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
    return np.where(n >= 3, r, np.nan)


def _split_half_r(
    items: np.ndarray,
    annotators: np.ndarray,
    values: np.ndarray,
    halves: np.ndarray,
    item_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Split-half Pearson r of item shares for many splits at once.

    Args:
        items, annotators: integer codes per annotation.
        values: ``(n_annotations, n_targets)`` 0/1.
        halves: ``(n_annotators, n_splits)`` bool, True = first half.
        item_weights: ``(n_items, n_splits)`` bootstrap counts of each item (or None).

    Returns:
        ``(n_splits, n_targets)``.
    """
    n_items = int(items.max()) + 1
    onehot = np.zeros((n_items, len(items)))
    onehot[items, np.arange(len(items))] = 1.0
    in_a = halves[annotators].astype(float)  # (n_ann, n_splits)
    in_b = 1.0 - in_a
    n_a, n_b = onehot @ in_a, onehot @ in_b  # (n_items, n_splits)
    n_splits, n_targets = halves.shape[1], values.shape[1]
    sum_a = np.zeros((n_items, n_splits, n_targets))
    sum_b = np.zeros((n_items, n_splits, n_targets))
    for i in range(n_items):
        rows = items == i
        sum_a[i] = in_a[rows].T @ values[rows]
        sum_b[i] = in_b[rows].T @ values[rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        share_a = sum_a / n_a[..., None]
        share_b = sum_b / n_b[..., None]
    valid = ((n_a > 0) & (n_b > 0))[..., None]
    if item_weights is None:
        return _column_pearson(share_a, share_b, valid).reshape(n_splits, -1)
    # weighted Pearson: replicate items by their bootstrap counts
    w = (item_weights[..., None] * valid).astype(float)
    wa, wb = np.nan_to_num(share_a), np.nan_to_num(share_b)
    n = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma, mb = (w * wa).sum(axis=0) / n, (w * wb).sum(axis=0) / n
        cov = (w * (wa - ma) * (wb - mb)).sum(axis=0)
        r = cov / np.sqrt((w * (wa - ma) ** 2).sum(axis=0) * (w * (wb - mb) ** 2).sum(axis=0))
    distinct = ((item_weights > 0)[..., None] & valid).sum(axis=0)
    return np.where(distinct >= 3, r, np.nan)


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _random_halves(rng: np.random.Generator, n_annotators: int, n_splits: int) -> np.ndarray:
    order = np.argsort(rng.random((n_splits, n_annotators)), axis=1)
    halves = np.zeros((n_splits, n_annotators), dtype=bool)
    np.put_along_axis(halves, order[:, : n_annotators // 2], True, axis=1)
    return halves.T


def split_half_reliability(
    static: pd.DataFrame, config: ReliabilityConfig | None = None
) -> pd.DataFrame:
    """Split-half reliability of every target's item shares, per condition.

    Args:
        static: tidy static annotations (quality-filtered).
        config: numbers of splits and bootstrap replicates, level, seed.

    Returns:
        One row per condition and target: ``modality``, ``target``, ``level``,
        ``n_items``, ``n_annotators``, ``split_half_r`` (mean over splits of the
        uncorrected r), ``reliability`` (mean over splits of the Spearman-Brown
        corrected r), ``ci_low``, ``ci_high`` (percentile bootstrap over items,
        each replicate with a new split), ``mean_share``.
    """
    cfg = config or ReliabilityConfig()
    rng = np.random.default_rng(cfg.seed)
    targets = annotation_targets(static)
    names = list(targets.columns)
    tail = (1.0 - cfg.confidence) / 2.0
    rows = []
    for modality in [m for m in MODALITIES if (static["modality"] == m).any()]:
        mask = (static["modality"] == modality).to_numpy()
        items, _ = _indexer(static.loc[mask, "media_id"])
        annotators, people = _indexer(static.loc[mask, "participant_id"])
        values = targets.loc[mask].to_numpy(dtype=float)
        n_items = int(items.max()) + 1
        halves = _random_halves(rng, len(people), cfg.n_splits)
        corrected = np.asarray(spearman_brown(_split_half_r(items, annotators, values, halves)))
        boot_halves = _random_halves(rng, len(people), cfg.n_bootstrap)
        picks = rng.integers(0, n_items, size=(cfg.n_bootstrap, n_items))
        weights = np.zeros((n_items, cfg.n_bootstrap))
        for b in range(cfg.n_bootstrap):
            weights[:, b] = np.bincount(picks[b], minlength=n_items)
        boot = np.asarray(
            spearman_brown(_split_half_r(items, annotators, values, boot_halves, weights))
        )
        raw = _split_half_r(items, annotators, values, halves)
        for t, name in enumerate(names):
            col = boot[:, t]
            col = col[np.isfinite(col)]
            rows.append(
                {
                    "modality": modality,
                    "target": name,
                    "level": target_level(name),
                    "n_items": n_items,
                    "n_annotators": len(people),
                    "split_half_r": _finite_mean(raw[:, t]),
                    "reliability": _finite_mean(corrected[:, t]),
                    "ci_low": float(np.quantile(col, tail)) if col.size else math.nan,
                    "ci_high": float(np.quantile(col, 1 - tail)) if col.size else math.nan,
                    "mean_share": float(values[:, t].mean()),
                }
            )
    return pd.DataFrame(rows)


def item_effect_test(static: pd.DataFrame, config: ReliabilityConfig | None = None) -> pd.DataFrame:
    """Permutation test of the item effect on every target, per condition.

    The statistic is the between-item sum of squares of the 0/1 ticks,
    ``sum_i n_i (p_i - p)^2`` (the item x tick chi-square statistic times
    ``p (1 - p)``); the null shuffles the item ids over the condition's
    annotations (so every item keeps its number of annotations).

    Args:
        static: tidy static annotations.
        config: ``n_permutations`` and ``seed`` are used.

    Returns:
        One row per condition and target: ``modality``, ``target``, ``level``,
        ``statistic``, ``null_mean``, ``excess`` (``1 - null_mean/statistic``:
        the share of the between-item spread beyond chance), ``p_value``
        (``(1 + #null >= observed) / (1 + n_permutations)``), ``n_permutations``,
        ``q_value`` (Benjamini-Hochberg over every row).
    """
    cfg = config or ReliabilityConfig()
    rng = np.random.default_rng(cfg.seed + 1)
    targets = annotation_targets(static)
    names = list(targets.columns)
    rows = []
    for modality in [m for m in MODALITIES if (static["modality"] == m).any()]:
        mask = (static["modality"] == modality).to_numpy()
        items, _ = _indexer(static.loc[mask, "media_id"])
        values = targets.loc[mask].to_numpy(dtype=float)
        observed = between_item_ss(items, values)
        null = np.empty((cfg.n_permutations, values.shape[1]))
        for k in range(cfg.n_permutations):
            null[k] = between_item_ss(rng.permutation(items), values)
        exceed = (null >= observed - 1e-12).sum(axis=0)
        for t, name in enumerate(names):
            stat = float(observed[t])
            rows.append(
                {
                    "modality": modality,
                    "target": name,
                    "level": target_level(name),
                    "statistic": stat,
                    "null_mean": float(null[:, t].mean()),
                    "excess": 1.0 - float(null[:, t].mean()) / stat if stat > 0 else math.nan,
                    "p_value": (1.0 + exceed[t]) / (1.0 + cfg.n_permutations),
                    "n_permutations": cfg.n_permutations,
                }
            )
    table = pd.DataFrame(rows)
    table["q_value"] = benjamini_hochberg(table["p_value"]) if len(table) else []
    return table


def between_item_ss(items: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``sum_i n_i (mean_i - mean)^2`` per column of ``values`` (items as integer codes).

    Examples:
        >>> between_item_ss(np.array([0, 0, 1, 1]), np.array([[1.0], [1.0], [0.0], [0.0]]))
        array([1.])
    """
    n_items = int(items.max()) + 1
    counts = np.bincount(items, minlength=n_items).astype(float)
    sums = np.zeros((n_items, values.shape[1]))
    np.add.at(sums, items, values)
    grand = values.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts[:, None] > 0, sums / counts[:, None], grand)
    return (counts[:, None] * (means - grand) ** 2).sum(axis=0)


def between_condition_agreement(
    static: pd.DataFrame, config: ReliabilityConfig | None = None
) -> pd.DataFrame:
    """Pearson r of the items' shares between two conditions, for every target.

    Args:
        static: tidy static annotations.
        config: ``confidence`` is used.

    Returns:
        One row per pair of conditions and target: ``pair`` (``a-b``),
        ``target``, ``level``, ``n_items`` (items rated in both), ``r``,
        ``ci_low``, ``ci_high`` (Fisher z), ``p_value`` (two-sided t-test of r = 0).
    """
    cfg = config or ReliabilityConfig()
    shares = item_shares(static)
    names = [c for c in shares.columns if c != "n"]
    z_crit = stats.norm.ppf(0.5 + cfg.confidence / 2.0)
    rows = []
    present = set(shares.index.get_level_values("modality"))
    for a, b in MODALITY_PAIRS:
        if a not in present or b not in present:
            continue
        both = shares.loc[a][names].join(shares.loc[b][names].add_suffix("_b"), how="inner")
        n = len(both)
        for name in names:
            x, y = both[name].to_numpy(), both[f"{name}_b"].to_numpy()
            if n < 4 or x.std() == 0 or y.std() == 0:
                r, lo, hi, p = math.nan, math.nan, math.nan, math.nan
            else:
                r = float(np.corrcoef(x, y)[0, 1])
                z, se = math.atanh(min(max(r, -0.999999), 0.999999)), 1.0 / math.sqrt(n - 3)
                lo, hi = math.tanh(z - z_crit * se), math.tanh(z + z_crit * se)
                t = r * math.sqrt((n - 2) / max(1e-12, 1 - r * r))
                p = float(2 * stats.t.sf(abs(t), n - 2))
            rows.append(
                {
                    "pair": f"{a}-{b}",
                    "target": name,
                    "level": target_level(name),
                    "n_items": n,
                    "r": r,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p,
                }
            )
    return pd.DataFrame(rows)


def reliability_summary(
    reliability: pd.DataFrame, effects: pd.DataFrame, agreement: pd.DataFrame
) -> dict[str, object]:
    """The headline numbers for ``summary.json``: per condition, the median
    reliability over categories, the categories with a significant item effect
    (p < 0.05), familiarity's reliability, and the median between-condition r
    of the categories."""
    out: dict[str, object] = {}
    for modality, part in reliability.groupby("modality", sort=False):
        cats = part[part["level"] == "category"]
        fam = part[part["target"] == FAMILIARITY]
        eff = effects[(effects["modality"] == modality) & (effects["level"] == "category")]
        out[str(modality)] = {
            "median_category_reliability": float(cats["reliability"].median()),
            "categories_with_item_effect": sorted(eff.loc[eff["p_value"] < 0.05, "target"]),
            "categories_with_item_effect_fdr": sorted(eff.loc[eff["q_value"] < 0.05, "target"]),
            "familiarity_reliability": (
                float(fam["reliability"].iloc[0]) if len(fam) else math.nan
            ),
            "familiarity_ci": (
                [float(fam["ci_low"].iloc[0]), float(fam["ci_high"].iloc[0])] if len(fam) else []
            ),
        }
    cats = agreement[agreement["level"] == "category"]
    out["between_conditions_median_category_r"] = {
        str(pair): float(part["r"].median()) for pair, part in cats.groupby("pair", sort=False)
    }
    fam = agreement[agreement["target"] == FAMILIARITY]
    out["between_conditions_familiarity_r"] = {
        str(r["pair"]): float(r["r"]) for r in fam.to_dict("records")
    }
    return out


Values = Sequence[float] | np.ndarray
BarGroup = tuple[str, str, Values, Values, Values]
"""One series of :func:`draw_grouped_bars`: legend label, colour, values, CI low, CI high."""


def target_tick(name: str) -> str:
    """The tick label of a target: a GEMS label with spaces, familiarity as asked.

    Examples:
        >>> target_tick("Joyful Activation"), target_tick("strong"), target_tick("familiarity")
        ('Joyful Activation', 'strong', 'Familiarity (seen before)')
    """
    if name == FAMILIARITY:
        return "Familiarity (seen before)"
    return name.replace("_", " ")


def draw_grouped_bars(
    ax: Axes, names: Sequence[str], groups: Sequence[BarGroup], *, floor: float = -1.0
) -> list[np.ndarray]:
    """Bars with confidence intervals, one group of bars per target and one bar per series.

    The y axis spans the bars and their intervals (from at most ``floor``, with 0
    always shown); a bar below ``floor`` is cut at the axis and marked with a
    triangle on the bottom edge in its colour (:func:`muvi.plotting.style.mark_out_of_range`).

    Args:
        ax: the axes.
        names: the targets (x positions 0, 1, ...).
        groups: the series, each (legend label, colour, values, CI low, CI high),
            values in the order of ``names`` (NaN for a missing bar).
        floor: the lowest y shown.

    Returns:
        The x position of every bar, one array per series.
    """
    n = max(1, len(groups))
    width = 0.8 / n
    positions = []
    lows: list[float] = [0.0]
    highs: list[float] = [0.0]
    for j, (label, colour, values, low, high) in enumerate(groups):
        v = np.asarray(values, dtype=float)
        lo = np.asarray(low, dtype=float)
        hi = np.asarray(high, dtype=float)
        xs = np.arange(len(names)) + (j - (n - 1) / 2) * width
        ax.bar(xs, v, width, color=colour, label=label)
        err = np.clip(np.nan_to_num(np.vstack([v - lo, hi - v])), 0.0, None)
        ax.errorbar(xs, v, yerr=err, fmt="none", ecolor="black", lw=0.7)
        positions.append(xs)
        lows += [float(x) for x in np.concatenate([v, lo]) if np.isfinite(x)]
        highs += [float(x) for x in np.concatenate([v, hi]) if np.isfinite(x)]
    ax.axhline(0.0, color="black", lw=0.6)
    bottom, top = max(floor, min(lows)), max(highs)
    pad = 0.05 * max(top - bottom, 0.1)
    ax.set_ylim(bottom - pad, top + pad)
    for (_, colour, values, _, _), xs in zip(groups, positions, strict=True):
        mark_out_of_range(ax, xs, np.asarray(values, dtype=float), color=colour)
    ax.set_xticks(np.arange(len(names)), [target_tick(n) for n in names], rotation=40, ha="right")
    ax.set_xlim(-0.6, len(names) - 0.4)
    return positions


def reliability_figure(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Split-half reliability (with its bootstrap CI) of the categories, superfactors
    and familiarity, one bar per condition in the modality colours.

    Args:
        table: the table of :func:`split_half_reliability`.
        ax: the axes to draw on (default: a new page-wide figure).

    Returns:
        The axes drawn on.
    """
    part = table[table["level"].isin(["category", "superfactor", FAMILIARITY])]
    names = list(dict.fromkeys(part["target"]))
    modalities = [m for m in MODALITIES if (part["modality"] == m).any()]
    groups: list[BarGroup] = []
    for modality in modalities:
        rows = part[part["modality"] == modality].set_index("target").reindex(names)
        groups.append(
            (
                MODALITY_NAMES.get(modality, modality),
                MODALITY_COLOURS[modality],
                rows["reliability"].to_numpy(dtype=float),
                rows["ci_low"].to_numpy(dtype=float),
                rows["ci_high"].to_numpy(dtype=float),
            )
        )
    with figure_style():
        ax = axes_or_new(ax, PAGE_WIDTH_IN, 3.0)
        draw_grouped_bars(ax, names, groups)
        ax.set_xlabel("GEMS category, superfactor or familiarity")
        ax.set_ylabel("Split-half reliability\n(Spearman–Brown r)")
        ax.set_title("Item reliability of the label shares (whiskers: bootstrap CI)")
        legend_outside(ax, title="Condition")
    return ax
