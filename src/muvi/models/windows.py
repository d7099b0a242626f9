"""Aligning features with ratings, the 2 s input windows, and min-max scaling.

Features and ratings are pandas objects indexed by (``media_id``, ``sample``);
they are *joined* on that index for the analysis window (samples 0..117), never
sliced by a row count. A model sees the ``history`` (4) feature rows before a
sample, t-4..t-1, and predicts the rating at t, for t = 4..117.

Examples:
    >>> import numpy as np, pandas as pd
    >>> idx = pd.MultiIndex.from_product([["a"], range(6)], names=["media_id", "sample"])
    >>> feats = pd.DataFrame({"f": np.arange(6.0)}, index=idx)
    >>> target = pd.Series(np.linspace(0, 0.5, 6), index=idx)
    >>> series = align_series({"audio": feats}, target, ["a"], n_samples=6)
    >>> X, y = windows(series.features["audio"], series.targets, history=4)
    >>> X[:, :, 0].tolist(), y.tolist()
    ([[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]], [0.4000000059604645, 0.5])
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from muvi.data.schema import ANALYSIS_SAMPLES
from muvi.errors import DataError

HISTORY: int = 4
"""Feature rows before a sample that predict its rating (the paper's 2 s)."""


@dataclass
class SeriesSet:
    """Items' feature rows and targets as dense arrays, aligned by sample.

    Attributes:
        items: media ids, one per first axis entry.
        features: feature set name (``audio``, ``visual``) -> array of shape
            (n_items, n_samples, n_features), float32, in ``feature_names`` order.
        targets: (n_items, n_samples) float32 rating per sample (NaN where no
            rating is needed or known, e.g. when predicting new media).
        feature_names: feature set name -> column names.
        samples: the sample indices of the second axis (0..n_samples-1).
    """

    items: list[str]
    features: dict[str, np.ndarray]
    targets: np.ndarray
    feature_names: dict[str, list[str]]
    samples: np.ndarray = field(default_factory=lambda: np.arange(ANALYSIS_SAMPLES))

    @property
    def n_samples(self) -> int:
        return int(self.targets.shape[1])

    def subset(self, items: Sequence[str]) -> SeriesSet:
        """The same data for some of the items, in the given order."""
        pos = {m: i for i, m in enumerate(self.items)}
        missing = [m for m in items if m not in pos]
        if missing:
            raise DataError(f"item not in this series set: {missing[0]}")
        idx = np.array([pos[m] for m in items], dtype=int)
        return SeriesSet(
            items=list(items),
            features={k: v[idx] for k, v in self.features.items()},
            targets=self.targets[idx],
            feature_names=self.feature_names,
            samples=self.samples,
        )


def align_series(
    features: Mapping[str, pd.DataFrame],
    targets: pd.Series | None,
    items: Sequence[str],
    n_samples: int = ANALYSIS_SAMPLES,
) -> SeriesSet:
    """Join feature tables and a target series on (``media_id``, ``sample``).

    Args:
        features: feature set name -> DataFrame indexed by (``media_id``,
            ``sample``), one float column per feature.
        targets: the rating to predict (e.g. the EWE of one modality and
            dimension) indexed by (``media_id``, ``sample``), or None.
        items: the media ids to take, in this order.
        n_samples: length of the analysis window (samples 0..n_samples-1).

    Returns:
        The aligned :class:`SeriesSet`.

    Raises:
        DataError: an item lacks a feature row or a rating for a sample of the
            analysis window, or a feature value is not finite.
    """
    index = pd.MultiIndex.from_product(
        [list(items), range(n_samples)], names=["media_id", "sample"]
    )
    arrays: dict[str, np.ndarray] = {}
    names: dict[str, list[str]] = {}
    for set_name, table in features.items():
        _check_index(table.index, set_name)
        joined = table.reindex(index)
        values = joined.to_numpy(dtype=np.float32)
        bad_rows = ~np.isfinite(values).all(axis=1)
        if bad_rows.any():
            item, sample = index[int(np.argmax(bad_rows))]
            absent = not table.index.isin([(item, sample)]).any()
            problem = (
                f"no {set_name} feature row for sample {sample}"
                if absent
                else f"{set_name} features not finite at sample {sample}"
            )
            raise DataError(problem, item=str(item))
        # C order: pandas may hand back column-major blocks, slow to gather rows from
        arrays[set_name] = np.ascontiguousarray(
            values.reshape(len(items), n_samples, table.shape[1])
        )
        names[set_name] = [str(c) for c in table.columns]
    if targets is None:
        target_values = np.full((len(items), n_samples), np.nan, dtype=np.float32)
    else:
        _check_index(targets.index, "targets")
        target_values = (
            targets.reindex(index).to_numpy(dtype=np.float32).reshape(len(items), n_samples)
        )
        for i, item in enumerate(items):
            gaps = np.flatnonzero(~np.isfinite(target_values[i]))
            if gaps.size:
                raise DataError(f"no rating for sample {int(gaps[0])}", item=str(item))
    return SeriesSet(
        items=list(items),
        features=arrays,
        targets=target_values,
        feature_names=names,
        samples=np.arange(n_samples),
    )


def _check_index(index: pd.Index, what: str) -> None:
    if list(index.names) != ["media_id", "sample"]:
        raise DataError(f"{what} must be indexed by (media_id, sample), not {list(index.names)}")
    if index.has_duplicates:
        item, sample = index[index.duplicated()][0]
        raise DataError(f"duplicate {what} row for sample {sample}", item=str(item))


def window_positions(n_items: int, n_samples: int, history: int = HISTORY) -> np.ndarray:
    """Row positions of every window in the flattened (item, sample) rows.

    Args:
        n_items: number of items.
        n_samples: samples per item.
        history: rows per window.

    Returns:
        Integer array (n_items * (n_samples - history), history): window w of
        item i predicting sample t holds rows i*n_samples + (t-history .. t-1).

    Examples:
        >>> window_positions(2, 6, 4).tolist()
        [[0, 1, 2, 3], [1, 2, 3, 4], [6, 7, 8, 9], [7, 8, 9, 10]]
    """
    t = np.arange(history, n_samples)
    starts = (np.arange(n_items)[:, None] * n_samples + t[None, :] - history).reshape(-1)
    return starts[:, None] + np.arange(history)[None, :]


SCALING_ROWS: tuple[str, ...] = ("all", "windows")
"""Which feature rows of the training items fit the min-max scaling: ``all``
(every row of the analysis window, muvi's default; the paper does not say) or
``windows`` (only rows inside some input window, as the authors' code fits its
``MinMaxScaler`` on the stacked windows: samples 0..116 of 118)."""


def scaling_samples(n_samples: int, history: int = HISTORY, rows: str = "all") -> np.ndarray:
    """The sample indices of every item whose feature rows fit the scaling.

    Args:
        n_samples: samples per item (118 in the study).
        history: rows per window.
        rows: ``all`` (every sample) or ``windows`` (the samples that lie in
            some window: windows predict samples ``history..n_samples-1``
            from the rows before them, so the last sample is in none).

    Returns:
        Sorted sample indices.

    Raises:
        DataError: ``rows`` is neither ``all`` nor ``windows``, or no window
            fits in ``n_samples`` samples.

    Examples:
        >>> scaling_samples(6, 4, "windows").tolist(), scaling_samples(6, 4).tolist()
        ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5])
        >>> int(scaling_samples(118, 4, "windows")[-1])
        116
    """
    if rows not in SCALING_ROWS:
        raise DataError(f"scaling rows must be all or windows, not {rows!r}")
    if rows == "all":
        return np.arange(n_samples)
    if n_samples <= history:
        raise DataError(f"no window of {history} rows fits in {n_samples} samples")
    return np.unique(window_positions(1, n_samples, history))


def window_targets(targets: np.ndarray, history: int = HISTORY) -> np.ndarray:
    """The rating each window predicts: samples history..n-1 of every item, flattened.

    Examples:
        >>> window_targets(np.array([[0., 1, 2, 3, 4, 5]]), 4).tolist()
        [4.0, 5.0]
    """
    return np.asarray(targets[:, history:]).reshape(-1)


def windows(
    features: np.ndarray, targets: np.ndarray, history: int = HISTORY
) -> tuple[np.ndarray, np.ndarray]:
    """Materialise every window (the straightforward form, one copy per window).

    Args:
        features: (n_items, n_samples, n_features).
        targets: (n_items, n_samples).
        history: rows per window.

    Returns:
        ``X`` of shape (n_windows, history, n_features) and ``y`` (n_windows,).
    """
    n_items, n_samples, n_features = features.shape
    flat = features.reshape(n_items * n_samples, n_features)
    return flat[window_positions(n_items, n_samples, history)], window_targets(targets, history)


_SCALING_MEMO: contextvars.ContextVar[dict[tuple[Any, ...], Any] | None] = contextvars.ContextVar(
    "muvi_scaling_memo", default=None
)


@contextlib.contextmanager
def shared_scaling() -> Iterator[None]:
    """Within the block, :class:`MinMaxScaling` fits and transforms the same
    array object once: a later call with the same rows (and, for a
    transform, the same minima and ranges) gets the first call's result.

    The grid's networks of one fold read the same feature arrays (experiments
    1 and 3, both dimensions, every seed), so each fold's rows are scaled
    once instead of once per network. The results are the very arrays an
    uncached call would compute; callers must not modify them in place. The
    memo holds the arrays it was given, so an id is never reused while
    cached; it is dropped when the block ends. It is private to the calling
    thread's context (threads started inside the block do not share it);
    a block inside another shares the outer block's memo.
    """
    if _SCALING_MEMO.get() is not None:
        yield
        return
    token = _SCALING_MEMO.set({})
    try:
        yield
    finally:
        _SCALING_MEMO.reset(token)


@dataclass
class MinMaxScaling:
    """Min-max scaling of feature columns to [0, 1] on the training rows.

    Columns that are constant in the training rows are mapped to 0 (their
    range is taken as 1), as scikit-learn's ``MinMaxScaler`` does. Values of
    new rows outside the training range are not clipped.

    Examples:
        >>> s = MinMaxScaling().fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
        >>> s.transform(np.array([[1.0, 5.0], [4.0, 6.0]])).tolist()
        [[0.5, 0.0], [2.0, 1.0]]
    """

    data_min_: np.ndarray | None = None
    data_range_: np.ndarray | None = None

    def fit(self, rows: np.ndarray) -> MinMaxScaling:
        """Learn column minima and ranges from rows (n_rows, n_features) or (..., n_features)."""
        memo = _SCALING_MEMO.get()
        key = ("fit", id(rows))
        if memo is not None and key in memo:
            _, data_min, data_range = memo[key]
            self.data_min_, self.data_range_ = data_min.copy(), data_range.copy()
            return self
        flat = np.asarray(rows, dtype=np.float64).reshape(-1, np.shape(rows)[-1])
        self.data_min_ = flat.min(axis=0)
        span = flat.max(axis=0) - self.data_min_
        self.data_range_ = np.where(span > 0, span, 1.0)
        if memo is not None:
            memo[key] = (rows, self.data_min_.copy(), self.data_range_.copy())
        return self

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """Scale rows of any leading shape; returns float32."""
        if self.data_min_ is None or self.data_range_ is None:
            raise RuntimeError("MinMaxScaling.transform called before fit")
        if np.shape(rows)[-1] != self.data_min_.shape[0]:
            raise DataError(
                f"expected {self.data_min_.shape[0]} feature columns, got {np.shape(rows)[-1]}"
            )
        memo = _SCALING_MEMO.get()
        if memo is None:
            return ((np.asarray(rows) - self.data_min_) / self.data_range_).astype(np.float32)
        key = ("transform", id(rows), self.data_min_.tobytes(), self.data_range_.tobytes())
        if key not in memo:
            scaled = ((np.asarray(rows) - self.data_min_) / self.data_range_).astype(np.float32)
            memo[key] = (rows, scaled)
        return memo[key][1]

    def state(self) -> dict[str, Any]:
        """Plain lists, for a bundle's JSON manifest."""
        assert self.data_min_ is not None and self.data_range_ is not None
        return {"data_min": self.data_min_.tolist(), "data_range": self.data_range_.tolist()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> MinMaxScaling:
        return cls(
            data_min_=np.asarray(state["data_min"], dtype=np.float64),
            data_range_=np.asarray(state["data_range"], dtype=np.float64),
        )
