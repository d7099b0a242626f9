"""Rater lag: how late each continuous annotation follows what it rates.

Annotators react to the media with a delay (1-6 s are documented for
continuous emotion ratings: Mariooryad & Busso, IEEE Trans. Affective
Computing 2015). For every annotation and dimension this module estimates
its lag within a bounded range, two ways:

- against the **others** (:func:`lag_against_reference`): the shift that
  maximises the Pearson r between the annotation and the EWE of the other
  annotators of the same item and modality (leave-one-out, as in
  :func:`muvi.annotations.agreement`). Since the others lag too, this is the
  lag *relative* to the panel;
- against the **features** (:func:`feature_lag`): the shift that maximises
  the R^2 of the annotation regressed on the first principal components of
  the item's features (audio for music, visual for the muted video, both for
  the audiovisual condition), an *absolute* lag behind the media.

Sub-sample lags come from a parabola through the best shift and its two
neighbours. :func:`lag_compensate` shifts every annotation earlier by its
lag, giving lag-compensated series for a new gold standard, agreement, or
the models' targets (``muvi evaluate --lag-compensation``).

Examples:
    >>> t = np.arange(100) * 0.5
    >>> ref = np.sin(t / 2.0)
    >>> late = np.sin((t - 1.5) / 2.0)  # 1.5 s = 3 samples late
    >>> lag, r = lag_against_reference(late[None], ref[None], max_lag=8)
    >>> round(float(lag[0]), 1), bool(r[0] > 0.99)
    (3.0, True)
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from muvi.annotations._tables import ANNOTATION_KEYS, check_dynamic, item_matrices
from muvi.annotations.ewe import ewe_batch
from muvi.data.dataset import MuviDataset
from muvi.data.schema import DIMENSIONS, MODALITIES, SAMPLE_PERIOD_S
from muvi.errors import DataError

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

LAG_SOURCES = ("others", "features")
"""What a lag is estimated against."""
BOTH = "both"
"""The ``dimension`` of the joint lag of valence and arousal (one cursor, one reaction)."""


@dataclass
class LagConfig:
    """Settings of the lag estimation (not in the paper, which does not model lag).

    Attributes:
        max_lag_s: the largest lag searched (s); 6 s is the upper end reported
            by Mariooryad & Busso (2015).
        min_relative_lag_s: the most negative lag searched against the others
            (an annotator can react earlier than the panel's average).
        n_components: principal components of the item features in :func:`feature_lag`.
        min_others: fewest other annotators for a consensus (as in the agreement).
    """

    max_lag_s: float = 6.0
    min_relative_lag_s: float = -4.0
    n_components: int = 5
    min_others: int = 2


def _shifted_pearson(x: np.ndarray, ref: np.ndarray, shift: int) -> np.ndarray:
    """Pearson r of ``x[t]`` with ``ref[t - shift]`` over their overlap, per row."""
    n = x.shape[-1]
    if shift >= 0:
        a, b = x[..., shift:], ref[..., : n - shift]
    else:
        a, b = x[..., : n + shift], ref[..., -shift:]
    da = a - a.mean(axis=-1, keepdims=True)
    db = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (da * db).sum(axis=-1) / np.sqrt((da * da).sum(axis=-1) * (db * db).sum(axis=-1))


def _peak(scores: np.ndarray, shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best shift per row (parabolic sub-sample refinement) and the score there.

    ``scores``: ``(n_rows, n_shifts)``, NaN where undefined.
    """
    filled = np.where(np.isfinite(scores), scores, -np.inf)
    best = np.argmax(filled, axis=1)
    rows = np.arange(len(scores))
    top = filled[rows, best]
    lag = shifts[best].astype(float)
    inner = (best > 0) & (best < len(shifts) - 1) & np.isfinite(top)
    left = np.where(inner, filled[rows, np.clip(best - 1, 0, None)], 0.0)
    right = np.where(inner, filled[rows, np.clip(best + 1, None, len(shifts) - 1)], 0.0)
    curvature = left - 2 * top + right
    ok = inner & np.isfinite(left) & np.isfinite(right) & (curvature < 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = np.where(ok, 0.5 * (left - right) / curvature, 0.0)
    lag = lag + np.clip(offset, -0.5, 0.5)
    undefined = ~np.isfinite(top)
    return np.where(undefined, np.nan, lag), np.where(undefined, np.nan, top)


def lag_against_reference(
    ratings: np.ndarray, references: np.ndarray, max_lag: int, min_lag: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The lag (in samples) at which each rating series best follows its reference.

    Args:
        ratings: ``(n, n_samples)``.
        references: ``(n, n_samples)``, one reference per rating series.
        max_lag: the largest lag searched (samples; the rating is late).
        min_lag: the smallest (may be negative: the rating is early).

    Returns:
        ``(lag, r)``: the lag in samples (fractional, from a parabola through
        the peak) and the Pearson r at the best whole shift, each ``(n,)``;
        NaN where the series is constant.
    """
    x = np.atleast_2d(np.asarray(ratings, dtype=float))
    ref = np.atleast_2d(np.asarray(references, dtype=float))
    if x.shape != ref.shape:
        raise ValueError(f"ratings {x.shape} and references {ref.shape} differ in shape")
    if not min_lag <= max_lag < x.shape[1] - 2:
        raise ValueError(f"lags {min_lag}..{max_lag} do not fit {x.shape[1]} samples")
    shifts = np.arange(min_lag, max_lag + 1)
    return _peak(_reference_curves(x, ref, shifts), shifts)


def _reference_curves(x: np.ndarray, ref: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    return np.stack([_shifted_pearson(x, ref, int(s)) for s in shifts], axis=1)


def _lagged_r2(x: np.ndarray, components: np.ndarray, shift: int) -> np.ndarray:
    """R^2 of ``x[:, t]`` on ``components[t - shift]`` (+ intercept), per row of ``x``."""
    n = x.shape[1]
    y = x[:, shift:]
    z = components[: n - shift]
    design = np.column_stack([np.ones(len(z)), z])
    coef, *_ = np.linalg.lstsq(design, y.T, rcond=None)
    resid = y.T - design @ coef
    total = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - (resid**2).sum(axis=0) / total


def feature_components(features: np.ndarray, n_components: int) -> np.ndarray:
    """The first principal components of one item's feature series, ``(n_samples, k)``.

    Examples:
        >>> f = np.column_stack([np.arange(10.0), 2 * np.arange(10.0), np.ones(10)])
        >>> feature_components(f, 2).shape
        (10, 1)
    """
    f = np.asarray(features, dtype=float)
    scale = f.std(axis=0)
    z = (f[:, scale > 0] - f[:, scale > 0].mean(axis=0)) / scale[scale > 0]
    if z.shape[1] == 0:
        return np.zeros((len(f), 0))
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    keep = s > s[0] * 1e-8
    k = min(n_components, int(keep.sum()))
    return u[:, :k] * s[:k]


def feature_lag(
    ratings: np.ndarray, components: np.ndarray, max_lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """The lag (samples, 0..max_lag) at which each rating series is best explained
    by the item's feature components.

    Args:
        ratings: ``(n, n_samples)``.
        components: ``(n_samples, k)`` (:func:`feature_components`).
        max_lag: the largest lag searched (samples).

    Returns:
        ``(lag, r2)`` per rating series (the R^2 at the best whole shift).
    """
    x = np.atleast_2d(np.asarray(ratings, dtype=float))
    shifts = np.arange(0, max_lag + 1)
    return _peak(_feature_curves(x, components, shifts), shifts)


def _feature_curves(x: np.ndarray, components: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    return np.stack([_lagged_r2(x, components, int(s)) for s in shifts], axis=1)


def _modality_features(
    modality: str, audio: pd.DataFrame | None, visual: pd.DataFrame | None
) -> list[pd.DataFrame]:
    if modality == "music":
        return [f for f in (audio,) if f is not None]
    if modality == "visual":
        return [f for f in (visual,) if f is not None]
    return [f for f in (audio, visual) if f is not None]


def estimate_lags(
    dynamic: pd.DataFrame,
    audio_features: pd.DataFrame | None = None,
    visual_features: pd.DataFrame | None = None,
    config: LagConfig | None = None,
) -> pd.DataFrame:
    """Every dynamic annotation's lag, per dimension, against the others and the features.

    Args:
        dynamic: the tidy dynamic table (window and filter it first).
        audio_features: emobase features indexed by (``media_id``, ``sample``), or None.
        visual_features: visual features indexed the same way, or None.
        config: lag range, components, fewest others.

    Returns:
        One row per annotation and dimension (``valence``, ``arousal`` and
        ``both``, the joint lag from the mean of the two dimensions' curves):
        ``participant_id``, ``media_id``, ``modality``, ``dimension``, ``lag_others_s`` (relative to the EWE of the
        others; NaN with fewer than ``min_others`` others), ``r_others``,
        ``lag_features_s`` (behind the media; NaN without features), ``r2_features``.
    """
    from threadpoolctl import threadpool_limits

    # many tiny least-squares fits: BLAS threads only contend (see static_prediction)
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate_lags(dynamic, audio_features, visual_features, config or LagConfig())


def _estimate_lags(
    dynamic: pd.DataFrame,
    audio_features: pd.DataFrame | None,
    visual_features: pd.DataFrame | None,
    cfg: LagConfig,
) -> pd.DataFrame:
    check_dynamic(dynamic, DIMENSIONS)
    max_lag = int(round(cfg.max_lag_s / SAMPLE_PERIOD_S))
    min_lag = int(round(cfg.min_relative_lag_s / SAMPLE_PERIOD_S))
    parts = []
    for media_id, modality, people, samples, values in item_matrices(dynamic, DIMENSIONS):
        n = len(people)
        if len(samples) < 3 * max_lag:  # too short to search the lag range: no estimate
            for dim in (*DIMENSIONS, BOTH):
                parts.append(
                    pd.DataFrame(
                        {"participant_id": people, "media_id": media_id, "modality": modality}
                    ).assign(
                        dimension=dim,
                        lag_others_s=np.nan,
                        r_others=np.nan,
                        lag_features_s=np.nan,
                        r2_features=np.nan,
                    )
                )
            continue
        components = None
        sources = _modality_features(modality, audio_features, visual_features)
        if sources:
            try:
                blocks = [f.loc[media_id].reindex(samples).to_numpy(dtype=float) for f in sources]
            except KeyError:
                blocks = []
            if blocks and all(np.isfinite(b).all() for b in blocks):
                components = feature_components(np.hstack(blocks), cfg.n_components)
        rel_shifts = np.arange(min_lag, max_lag + 1)
        abs_shifts = np.arange(0, max_lag + 1)
        curves_o: list[np.ndarray] = []
        curves_f: list[np.ndarray] = []
        for d in range(len(DIMENSIONS)):
            x = values[d]
            if n - 1 >= cfg.min_others:
                index = np.array([[k for k in range(n) if k != j] for j in range(n)])
                consensus, _, _, _ = ewe_batch(x[index])
                curves_o.append(_reference_curves(x, consensus, rel_shifts))
            else:
                curves_o.append(np.full((n, len(rel_shifts)), np.nan))
            if components is not None and components.shape[1] > 0:
                curves_f.append(_feature_curves(x, components, abs_shifts))
            else:
                curves_f.append(np.full((n, len(abs_shifts)), np.nan))
        # "both": one lag for the cursor, from the mean of the two dimensions' curves
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            curves_o.append(np.nanmean(np.stack(curves_o), axis=0))
            curves_f.append(np.nanmean(np.stack(curves_f), axis=0))
        for dim, c_o, c_f in zip((*DIMENSIONS, BOTH), curves_o, curves_f, strict=True):
            lag_o, r_o = _peak(c_o, rel_shifts)
            lag_f, r2_f = _peak(c_f, abs_shifts)
            parts.append(
                pd.DataFrame(
                    {
                        "participant_id": people,
                        "media_id": media_id,
                        "modality": modality,
                        "dimension": dim,
                        "lag_others_s": lag_o * SAMPLE_PERIOD_S,
                        "r_others": r_o,
                        "lag_features_s": lag_f * SAMPLE_PERIOD_S,
                        "r2_features": r2_f,
                    }
                )
            )
    columns = [
        *ANNOTATION_KEYS,
        "dimension",
        "lag_others_s",
        "r_others",
        "lag_features_s",
        "r2_features",
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    table = pd.concat(parts, ignore_index=True)[columns]
    table["participant_id"] = table["participant_id"].astype(dynamic["participant_id"].dtype)
    return table


def lag_distribution(lags: pd.DataFrame) -> pd.DataFrame:
    """Distribution of the lags per source, modality and dimension.

    Returns:
        Columns ``source``, ``modality``, ``dimension``, ``n``, ``mean_s``,
        ``sd_s``, ``q25_s``, ``median_s``, ``q75_s``.

    Examples:
        >>> t = pd.DataFrame({"modality": "music", "dimension": "valence",
        ...                   "lag_others_s": [0.0, 1.0, 2.0], "lag_features_s": np.nan})
        >>> row = lag_distribution(t).iloc[0]
        >>> int(row["n"]), float(row["median_s"])
        (3, 1.0)
    """
    rows = []
    for source in LAG_SOURCES:
        column = f"lag_{source}_s"
        for modality in [m for m in MODALITIES if (lags["modality"] == m).any()]:
            for dim in (*DIMENSIONS, BOTH):
                mask = (lags["modality"] == modality) & (lags["dimension"] == dim)
                v = lags.loc[mask, column].to_numpy(dtype=float)
                v = v[np.isfinite(v)]
                if not v.size:
                    continue
                rows.append(
                    {
                        "source": source,
                        "modality": modality,
                        "dimension": dim,
                        "n": int(v.size),
                        "mean_s": float(v.mean()),
                        "sd_s": float(v.std()),
                        "q25_s": float(np.quantile(v, 0.25)),
                        "median_s": float(np.median(v)),
                        "q75_s": float(np.quantile(v, 0.75)),
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "source",
            "modality",
            "dimension",
            "n",
            "mean_s",
            "sd_s",
            "q25_s",
            "median_s",
            "q75_s",
        ],
    )


def lag_compensate(
    dynamic: pd.DataFrame, lags: pd.DataFrame, source: str = "others", joint: bool = True
) -> pd.DataFrame:
    """The dynamic table with every annotation shifted earlier by its estimated lag.

    The value at sample ``t`` becomes the annotation's value at ``t + lag``
    (linear interpolation between samples; the last value is held past the
    end). Annotations without an estimate (NaN) are left as they are.

    Args:
        dynamic: the tidy dynamic table.
        lags: :func:`estimate_lags` of it.
        source: ``others`` (relative lags: aligns annotators with each other)
            or ``features`` (absolute lags: aligns ratings with the media).
        joint: shift both dimensions by the joint lag (``dimension == "both"``),
            as one cursor draws them; False uses each dimension's own lag.

    Returns:
        A copy of ``dynamic`` with ``valence`` and ``arousal`` replaced.

    Examples:
        >>> d = pd.DataFrame({"participant_id": 1, "media_id": "a", "modality": "music",
        ...                   "sample": [0, 1, 2, 3], "valence": [0.0, 0.0, 1.0, 2.0],
        ...                   "arousal": [0.0, 1.0, 2.0, 3.0]})
        >>> lags = pd.DataFrame({"participant_id": [1, 1], "media_id": "a", "modality": "music",
        ...                      "dimension": ["valence", "arousal"], "lag_others_s": [0.5, np.nan]})
        >>> lag_compensate(d, lags, joint=False)["valence"].tolist()
        [0.0, 1.0, 2.0, 2.0]
    """
    if source not in LAG_SOURCES:
        raise ValueError(f"unknown lag source {source!r} (expected one of {LAG_SOURCES})")
    column = f"lag_{source}_s"
    check_dynamic(dynamic, DIMENSIONS)
    out = dynamic.sort_values([*ANNOTATION_KEYS, "sample"]).copy()
    keys = list(ANNOTATION_KEYS)
    for dim in DIMENSIONS:
        shift = lags.loc[lags["dimension"] == (BOTH if joint else dim), [*keys, column]]
        merged = out[keys].merge(shift, on=keys, how="left")[column].to_numpy(dtype=float)
        values = out[dim].to_numpy(dtype=float).copy()
        samples = out["sample"].to_numpy(dtype=float)
        group = out.groupby(keys, sort=False).ngroup().to_numpy()
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[starts[1:], len(group)]
        for a, b in zip(starts, ends, strict=True):
            lag = merged[a]
            if not math.isfinite(lag) or lag == 0:
                continue
            t = samples[a:b]
            values[a:b] = np.interp(t + lag / SAMPLE_PERIOD_S, t, values[a:b])
        out[dim] = values
    return out.loc[dynamic.index]


def lag_summary(distribution: pd.DataFrame) -> dict[str, object]:
    """Median lag per source, modality and dimension, for ``summary.json``."""
    out: dict[str, object] = {}
    for row in distribution.to_dict("records"):
        block = out.setdefault(str(row["source"]), {})
        assert isinstance(block, dict)
        block.setdefault(str(row["dimension"]), {})[str(row["modality"])] = {
            "median_s": float(row["median_s"]),
            "q25_s": float(row["q25_s"]),
            "q75_s": float(row["q75_s"]),
        }
    return out


def lag_compensated_dataset(
    dataset: MuviDataset, source: str = "others", config: LagConfig | None = None
) -> tuple[MuviDataset, pd.DataFrame]:
    """A copy of a study whose dynamic ratings are shifted earlier by each annotation's lag.

    The lags are estimated on the analysis window of the quality-filtered
    ratings (:func:`estimate_lags`, joint lag of both dimensions) and applied
    to the study's full series; annotations the filter leaves out, or without
    an estimate, are left as they are. ``muvi evaluate --lag-compensation``
    uses it to give the models lag-compensated targets.

    Args:
        dataset: a study with dynamic ratings.
        source: ``others`` or ``features`` (see :func:`lag_compensate`).
        config: the lag range and settings.

    Returns:
        ``(compensated study, lags table)``.

    Raises:
        DataError: the study has no dynamic ratings.
    """
    from muvi.annotations.quality import quality_filter

    if dataset.dynamic is None:
        raise DataError("lag compensation needs dynamic ratings (av_data.csv)", file=dataset.root)
    if source not in LAG_SOURCES:
        raise DataError(f"unknown lag source {source!r} (expected one of {', '.join(LAG_SOURCES)})")
    filtered, _ = quality_filter(dataset, dataset.window.n_samples)
    assert filtered.dynamic is not None
    lags = estimate_lags(filtered.dynamic, dataset.audio_features, dataset.visual_features, config)
    shifted = lag_compensate(dataset.dynamic, lags, source)
    return dataclasses.replace(dataset, dynamic=shifted), lags


LAG_AXIS_LABELS = {
    "others": "Lag behind the other\nannotators (s)",
    "features": "Lag behind the media's\nfeatures (s)",
}
"""The x-axis label of each lag source in :func:`lag_figure`."""


def lag_figure(lags: pd.DataFrame, *, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Histograms of the joint (valence and arousal) lags, one panel per source and
    one outlined histogram per condition in the modality colours.

    Args:
        lags: the table of :func:`estimate_lags`.
        fig: the figure (or sub-figure) to draw the panels on (cleared first;
            default: a new page-wide figure).

    Returns:
        The figure drawn on.
    """
    # matplotlib is imported only here: the models import this module to compensate lags
    from muvi.plotting.names import MODALITY_NAMES
    from muvi.plotting.style import (
        MODALITY_COLOURS,
        PAGE_WIDTH_IN,
        figure_or_new,
        figure_style,
        legend_outside,
    )

    joint = lags[lags["dimension"] == BOTH]
    with figure_style():
        fig = figure_or_new(fig, PAGE_WIDTH_IN, 2.6)
        axes = fig.subplots(1, len(LAG_SOURCES), squeeze=False)[0]
        for ax, source in zip(axes, LAG_SOURCES, strict=True):
            column = f"lag_{source}_s"
            values = joint[column].dropna()
            ax.set_xlabel(LAG_AXIS_LABELS[source])
            ax.set_ylabel("Annotations (count)")
            if values.empty:
                ax.text(
                    0.5,
                    0.5,
                    "not estimated\n(no features)" if source == "features" else "not estimated",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                )
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            low, high = float(values.min()), float(values.max())
            bins = np.arange(math.floor(low * 2) / 2 - 0.25, high + 0.75, 0.5)
            for modality in MODALITIES:
                v = joint.loc[joint["modality"] == modality, column].dropna()
                if len(v):
                    ax.hist(
                        v,
                        bins=bins,
                        histtype="step",
                        lw=1.4,
                        color=MODALITY_COLOURS[modality],
                        label=MODALITY_NAMES.get(modality, modality),
                    )
            ax.axvline(0.0, color="black", lw=0.6, ls=":")
        handles: dict[str, Any] = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, handle)
        if handles:
            legend_outside(axes[-1], handles=list(handles.values()), title="Condition")
    return fig
