"""Which modality carries the audiovisual rating, item by item?

The paper answers "how much do music and pictures contribute" only through
its models' scores, pooled over items. With the three conditions' gold
standards (the EWE of each item's music-only, visual-only and audiovisual
annotations) one can ask it per item and dimension: how well is the
audiovisual gold standard explained as a mix of the two isolated ones?

- :func:`mixing_weights`: a constrained regression of the centred
  audiovisual series on the centred music and visual series with
  non-negative weights; the **music share** is ``w_music / (w_music + w_visual)``.
- the **dominance share**: general dominance of the two predictors (the mean
  of each one's R^2 increment over the empty model and over the other one),
  music's part of the full model's R^2.
- uncertainty: a moving-block bootstrap over time (blocks of
  :class:`ContributionConfig` ``block_s`` seconds keep the series'
  autocorrelation), giving a percentile interval of the music share.

Incongruent items are those whose music and visual gold standards disagree
most (lowest Pearson r); for each, which isolated rating the audiovisual one
followed (the higher correlation).

Examples:
    >>> t = np.linspace(0, 6, 60)
    >>> music, visual = np.sin(t), np.cos(2 * t)
    >>> w = mixing_weights(0.8 * music + 0.2 * visual, music[None], visual[None])
    >>> np.round(w, 3).tolist()
    [[0.8, 0.2]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure

from muvi.data.schema import DIMENSIONS, SAMPLE_PERIOD_S
from muvi.errors import DataError
from muvi.plotting.names import AXIS_LABELS
from muvi.plotting.style import (
    MODALITY_COLOURS,
    PAGE_WIDTH_IN,
    figure_or_new,
    figure_style,
    legend_outside,
)


@dataclass
class ContributionConfig:
    """Settings of the per-item modality contribution (not from the paper).

    Attributes:
        block_s: length of the moving blocks of the bootstrap over time (s).
        n_bootstrap: bootstrap replicates per item and dimension.
        confidence: level of the intervals.
        n_incongruent: items listed as most incongruent, per dimension.
        seed: seed of the bootstrap.
    """

    block_s: float = 5.0
    n_bootstrap: int = 500
    confidence: float = 0.95
    n_incongruent: int = 10
    seed: int = 0


def mixing_weights(av: np.ndarray, music: np.ndarray, visual: np.ndarray) -> np.ndarray:
    """Non-negative least-squares weights of the centred music and visual series
    that best reproduce the centred audiovisual series.

    Args:
        av: the audiovisual series, ``(n_series, n_samples)``.
        music: the music series, row-matched with ``av`` (broadcastable).
        visual: the visual series, row-matched with ``av`` (broadcastable).

    Returns:
        ``(n_series, 2)``: the music and visual weights (>= 0).
    """
    y = np.atleast_2d(av)
    a = np.broadcast_to(np.atleast_2d(music), y.shape)
    b = np.broadcast_to(np.atleast_2d(visual), y.shape)
    y = y - y.mean(axis=-1, keepdims=True)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    aa, bb, ab = (a * a).sum(-1), (b * b).sum(-1), (a * b).sum(-1)
    ay, by = (a * y).sum(-1), (b * y).sum(-1)
    det = aa * bb - ab * ab
    with np.errstate(invalid="ignore", divide="ignore"):
        w_a = np.where(det > 1e-12, (bb * ay - ab * by) / det, np.nan)
        w_b = np.where(det > 1e-12, (aa * by - ab * ay) / det, np.nan)
        only_a = np.where(aa > 0, np.clip(ay / aa, 0, None), 0.0)
        only_b = np.where(bb > 0, np.clip(by / bb, 0, None), 0.0)
    # fit of each single-predictor candidate: SSE = yy - 2 w <x,y> + w^2 <x,x>
    sse_a = -2 * only_a * ay + only_a**2 * aa
    sse_b = -2 * only_b * by + only_b**2 * bb
    both_ok = np.isfinite(w_a) & (w_a >= 0) & (w_b >= 0)
    single_a = sse_a <= sse_b
    music_w = np.where(both_ok, w_a, np.where(single_a, only_a, 0.0))
    visual_w = np.where(both_ok, w_b, np.where(single_a, 0.0, only_b))
    return np.stack([music_w, visual_w], axis=-1)


def music_share(weights: np.ndarray) -> np.ndarray:
    """``w_music / (w_music + w_visual)``; NaN where both weights are 0.

    Examples:
        >>> music_share(np.array([[3.0, 1.0], [0.0, 0.0]])).tolist()
        [0.75, nan]
    """
    total = weights[..., 0] + weights[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weights[..., 0] / total, np.nan)


def dominance_shares(av: np.ndarray, music: np.ndarray, visual: np.ndarray) -> tuple[float, float]:
    """General dominance: music's share of the full R^2 and the full R^2 itself.

    Examples:
        >>> t = np.linspace(0, 6, 60)
        >>> share, r2 = dominance_shares(np.sin(t), np.sin(t), np.cos(3 * t))
        >>> round(share, 2), round(r2, 2)
        (1.0, 1.0)
    """

    def r2(columns: list[np.ndarray]) -> float:
        x = np.column_stack([np.ones(len(av)), *columns])
        coef, *_ = np.linalg.lstsq(x, av, rcond=None)
        resid = av - x @ coef
        total = ((av - av.mean()) ** 2).sum()
        return float(1 - (resid**2).sum() / total) if total > 0 else math.nan

    full, only_m, only_v = r2([music, visual]), r2([music]), r2([visual])
    dom_m = 0.5 * (only_m + (full - only_v))
    dom_v = 0.5 * (only_v + (full - only_m))
    total = dom_m + dom_v
    return (dom_m / total if total > 0 else math.nan), full


def _block_indices(rng: np.random.Generator, n: int, block: int, n_boot: int) -> np.ndarray:
    """Moving-block bootstrap indices, ``(n_boot, n)``."""
    block = max(1, min(block, n))
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, n_blocks))
    idx = (starts[..., None] + np.arange(block)).reshape(n_boot, -1)
    return idx[:, :n]


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def modality_contribution(
    gold: pd.DataFrame, config: ContributionConfig | None = None
) -> pd.DataFrame:
    """The music share of every item's audiovisual gold standard, per dimension.

    Args:
        gold: the gold standard (:func:`muvi.annotations.gold_standard`):
            ``media_id``, ``modality``, ``sample``, ``valence``, ``arousal``.
        config: bootstrap block, replicates, level, seed.

    Returns:
        One row per item and dimension (items with all three conditions):
        ``media_id``, ``dimension``, ``n_samples``, ``w_music``, ``w_visual``,
        ``music_share``, ``share_ci_low``, ``share_ci_high`` (block bootstrap),
        ``dominance_share``, ``r2``, ``r_music_visual``, ``r_av_music``,
        ``r_av_visual``, ``followed`` (``music`` or ``visual``: the higher of the
        two correlations).
    """
    cfg = config or ContributionConfig()
    missing = {"media_id", "modality", "sample", *DIMENSIONS} - set(gold.columns)
    if missing:
        raise DataError(f"the gold standard lacks column(s) {', '.join(sorted(missing))}")
    rng = np.random.default_rng(cfg.seed)
    block = int(round(cfg.block_s / SAMPLE_PERIOD_S))
    tail = (1.0 - cfg.confidence) / 2.0
    rows = []
    wide = gold.pivot_table(
        index=["media_id", "sample"], columns="modality", values=list(DIMENSIONS)
    )
    for media_id, part in wide.groupby(level=0, sort=False):
        for dim in DIMENSIONS:
            if not {"music", "visual", "audiovisual"} <= set(part[dim].columns):
                continue
            series = part[dim][["audiovisual", "music", "visual"]].dropna()
            if len(series) < 2 * block:
                continue
            av, mu, vi = (
                series[c].to_numpy(dtype=float) for c in ("audiovisual", "music", "visual")
            )
            weights = mixing_weights(av, mu, vi)[0]
            idx = _block_indices(rng, len(av), block, cfg.n_bootstrap)
            boot = music_share(mixing_weights(av[idx], mu[idx], vi[idx]))
            boot = boot[np.isfinite(boot)]
            dominance, r2 = dominance_shares(av, mu, vi)
            r_am, r_av_v = _pearson(av, mu), _pearson(av, vi)
            rows.append(
                {
                    "media_id": str(media_id),
                    "dimension": dim,
                    "n_samples": len(av),
                    "w_music": float(weights[0]),
                    "w_visual": float(weights[1]),
                    "music_share": float(music_share(weights)),
                    "share_ci_low": float(np.quantile(boot, tail)) if boot.size else math.nan,
                    "share_ci_high": float(np.quantile(boot, 1 - tail)) if boot.size else math.nan,
                    "dominance_share": dominance,
                    "r2": r2,
                    "r_music_visual": _pearson(mu, vi),
                    "r_av_music": r_am,
                    "r_av_visual": r_av_v,
                    "followed": "music"
                    if np.nan_to_num(r_am, nan=-2) >= np.nan_to_num(r_av_v, nan=-2)
                    else "visual",
                }
            )
    return pd.DataFrame(rows)


def contribution_distribution(
    table: pd.DataFrame, config: ContributionConfig | None = None
) -> pd.DataFrame:
    """The music share over items, per dimension.

    Returns:
        Columns ``dimension``, ``n_items``, ``mean_share``, ``mean_ci_low``,
        ``mean_ci_high`` (bootstrap over items), ``q25``, ``median``, ``q75``,
        ``share_music_led`` (items with a music share above 0.5),
        ``median_dominance_share``, ``median_r2``.
    """
    cfg = config or ContributionConfig()
    rng = np.random.default_rng(cfg.seed + 1)
    tail = (1.0 - cfg.confidence) / 2.0
    rows = []
    for dim in DIMENSIONS if len(table) else ():
        part = table[table["dimension"] == dim]
        shares = part["music_share"].to_numpy(dtype=float)
        shares = shares[np.isfinite(shares)]
        if not shares.size:
            continue
        boot = shares[rng.integers(0, shares.size, size=(1000, shares.size))].mean(axis=1)
        rows.append(
            {
                "dimension": dim,
                "n_items": int(shares.size),
                "mean_share": float(shares.mean()),
                "mean_ci_low": float(np.quantile(boot, tail)),
                "mean_ci_high": float(np.quantile(boot, 1 - tail)),
                "q25": float(np.quantile(shares, 0.25)),
                "median": float(np.median(shares)),
                "q75": float(np.quantile(shares, 0.75)),
                "share_music_led": float((shares > 0.5).mean()),
                "median_dominance_share": float(part["dominance_share"].median()),
                "median_r2": float(part["r2"].median()),
            }
        )
    return pd.DataFrame(rows)


def incongruent_items(table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Per dimension, the ``n`` items whose music and visual gold standards agree least
    (lowest Pearson r), with what the audiovisual rating followed."""
    columns = [
        "dimension",
        "media_id",
        "r_music_visual",
        "r_av_music",
        "r_av_visual",
        "followed",
        "music_share",
        "share_ci_low",
        "share_ci_high",
    ]
    if table.empty:
        return pd.DataFrame(columns=columns)
    parts = [
        table[table["dimension"] == dim].nsmallest(n, "r_music_visual")[columns]
        for dim in DIMENSIONS
    ]
    return pd.concat(parts, ignore_index=True)


def contribution_summary(distribution: pd.DataFrame, incongruent: pd.DataFrame) -> dict[str, Any]:
    """Per dimension: mean music share with its CI, median, share of music-led items, and
    how often the audiovisual rating followed the music on the incongruent items."""
    out: dict[str, Any] = {}
    for row in distribution.to_dict("records"):
        dim = str(row["dimension"])
        inc = incongruent[incongruent["dimension"] == dim]
        out[dim] = {
            "mean_music_share": float(row["mean_share"]),
            "mean_ci": [float(row["mean_ci_low"]), float(row["mean_ci_high"])],
            "median_music_share": float(row["median"]),
            "music_led_items": float(row["share_music_led"]),
            "incongruent_followed_music": float((inc["followed"] == "music").mean())
            if len(inc)
            else math.nan,
        }
    return out


def contribution_figure(
    table: pd.DataFrame, *, fig: Figure | SubFigure | None = None
) -> Figure | SubFigure:
    """Histogram of the items' music share of the audiovisual rating, one panel per
    dimension, with the median as a dashed line.

    Args:
        table: the table of :func:`modality_contribution`.
        fig: the figure (or sub-figure) to draw the panels on (cleared first;
            default: a new page-wide figure).

    Returns:
        The figure drawn on.
    """
    bins = np.linspace(0.0, 1.0, 11)
    with figure_style():
        fig = figure_or_new(fig, PAGE_WIDTH_IN, 2.6)
        axes = fig.subplots(1, len(DIMENSIONS), sharey=True, squeeze=False)[0]
        for ax, dim in zip(axes, DIMENSIONS, strict=True):
            shares = table.loc[table["dimension"] == dim, "music_share"].dropna()
            ax.hist(
                shares,
                bins=bins,
                color=MODALITY_COLOURS["music"],
                edgecolor="white",
                label="Items",
            )
            if len(shares):
                ax.axvline(float(shares.median()), color="black", lw=1.0, ls="--", label="Median")
            ax.set_xlim(0.0, 1.0)
            ax.set_xlabel("Music share of the audiovisual\nrating (0 = visual, 1 = music)")
            ax.set_title(f"{AXIS_LABELS[dim].split(' (')[0]} ({len(shares)} items)")
        axes[0].set_ylabel("Items (count)")
        legend_outside(axes[-1])
    return fig
