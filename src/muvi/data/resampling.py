"""Raw cursor logs -> regular 2 Hz rating series, the time base of the published ratings.

This is how the published ``av_data.csv`` is made from the browser's
``raw_av_logs.csv`` (by the simulator and by the study export alike), so it
lives with the published formats in :mod:`muvi.data`;
:mod:`muvi.annotations` re-exports it.

The browser logged the cursor about every 0.5 s with jitter. A series is put
on the regular grid ``t_k = k * period`` (``k = 0 .. n_samples - 1``) by
linear interpolation between the logged points; before the first logged
point the first value is held, after the last one the last value is held.

Examples:
    >>> resample_series([0.0, 0.6, 0.9], [0.0, 0.6, 0.9], 3).tolist()
    [0.0, 0.5, 0.9]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from muvi.data.schema import ANNOTATION_KEYS, SAMPLE_PERIOD_S, to_modality
from muvi.data.tables import require_columns
from muvi.errors import DataError

RAW_TABLE = "the raw cursor logs"


def _sorted_log(timestamps: npt.ArrayLike, values: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(timestamps, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.ndim != 1 or v.ndim != 1 or t.shape != v.shape:
        raise ValueError(
            f"timestamps and values must be 1-D of the same length, got {t.shape} and {v.shape}"
        )
    if t.size == 0:
        raise ValueError("the log is empty")
    if not (np.isfinite(t).all() and np.isfinite(v).all()):
        raise ValueError("the log contains NaN or infinite timestamps or values")
    # Unsorted logs are sorted (stably); of several points logged at the same
    # timestamp the one logged last wins, as it is where the cursor ended up.
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    last_of_run = np.append(t[1:] != t[:-1], True)
    return t[last_of_run], v[last_of_run]


def resample_series(
    timestamps: npt.ArrayLike,
    values: npt.ArrayLike,
    n_samples: int,
    period: float = SAMPLE_PERIOD_S,
) -> np.ndarray:
    """Put one irregular cursor log on a regular grid.

    Args:
        timestamps: shape ``(n_points,)``, seconds since the media started.
            Unsorted timestamps are sorted; of duplicate timestamps the point
            logged last is kept.
        values: shape ``(n_points,)``, the logged coordinate (valence or arousal).
        n_samples: length of the regular series.
        period: grid step in seconds (0.5 s = 2 Hz).

    Returns:
        Shape ``(n_samples,)``: the value at ``t_k = k * period``, linearly
        interpolated, held constant outside the logged range.

    Raises:
        ValueError: empty log, mismatched lengths, non-finite values, or a
            non-positive ``n_samples``/``period``.

    Examples:
        >>> resample_series([0.2, 1.2], [0.0, 1.0], 4).tolist()  # held, then interpolated
        [0.0, 0.3, 0.8, 1.0]
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not period > 0:
        raise ValueError(f"period must be positive, got {period!r}")
    t, v = _sorted_log(timestamps, values)
    grid = np.arange(int(n_samples)) * float(period)
    return np.interp(grid, t, v)


@dataclass
class SamplingReport:
    """How regularly the cursor was logged.

    Attributes:
        n_logs: number of annotations (one log each).
        n_points: logged cursor positions over all logs.
        mean_interval_s: mean time between consecutive logged points (s).
        std_interval_s: population standard deviation of that interval (s).
    """

    n_logs: int
    n_points: int
    mean_interval_s: float
    std_interval_s: float


def default_n_samples(last_timestamp: float, period: float = SAMPLE_PERIOD_S) -> int:
    """Whole ``period`` steps covered by a log ending at ``last_timestamp``, plus
    the sample at 0 s: ``floor(last_timestamp / period) + 1``.

    Examples:
        >>> default_n_samples(59.5), default_n_samples(59.49), default_n_samples(0.0)
        (120, 119, 1)
    """
    # a tiny tolerance so that 59.5 written as 59.49999999999 still counts as 59.5
    return max(math.floor(last_timestamp / period + 1e-9), 0) + 1


def resample_logs(
    raw: pd.DataFrame, n_samples: int | None = None
) -> tuple[pd.DataFrame, SamplingReport]:
    """Resample every raw cursor log of a study to 2 Hz.

    Args:
        raw: one row per logged cursor position: ``participant_id``,
            ``media_id``, ``modality`` (or ``media_modality`` in the published
            spelling), ``timestamp`` (s since the media started), ``valence``,
            ``arousal``.
        n_samples: length of every resampled series; by default each log gets
            ``floor(last_timestamp / 0.5) + 1`` samples (the whole 0.5 s steps
            it covers).

    Returns:
        ``(dynamic, report)``: the tidy dynamic table (``participant_id``,
        ``media_id``, ``modality``, ``sample``, ``time``, ``valence``,
        ``arousal``), annotations in order of first appearance, and the
        :class:`SamplingReport` of the raw intervals.

    Raises:
        DataError: a missing column, an unknown modality, a non-numeric or
            negative timestamp, a missing rating.

    Examples:
        >>> raw = pd.DataFrame({"participant_id": 1, "media_id": "a", "modality": "music",
        ...                     "timestamp": [0.0, 0.4, 1.1], "valence": [0.0, 0.4, 1.1],
        ...                     "arousal": 0.5})
        >>> dynamic, report = resample_logs(raw)
        >>> dynamic["valence"].round(6).tolist(), report.n_points
        ([0.0, 0.5, 1.0], 3)
    """
    table = raw.copy()
    if "modality" not in table.columns and "media_modality" in table.columns:
        table = table.rename(columns={"media_modality": "modality"})
    require_columns(table, (*ANNOTATION_KEYS, "timestamp", "valence", "arousal"), RAW_TABLE)
    try:
        table["modality"] = table["modality"].map(to_modality)
    except ValueError as err:
        raise DataError(str(err), file=RAW_TABLE) from None
    numeric = {}
    for col in ("timestamp", "valence", "arousal"):
        values = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError(
                f"{col} is missing or not a number", file=RAW_TABLE, row=int(bad[0]) + 1
            )
        numeric[col] = values
    negative = np.flatnonzero(numeric["timestamp"] < 0)
    if negative.size:
        raise DataError("timestamp is negative", file=RAW_TABLE, row=int(negative[0]) + 1)
    if n_samples is not None and (int(n_samples) != n_samples or n_samples < 1):
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")

    missing = table[list(ANNOTATION_KEYS)].isna().any(axis=1).to_numpy()
    if missing.any():
        raise DataError(
            "participant_id, media_id or modality is missing",
            file=RAW_TABLE,
            row=int(np.flatnonzero(missing)[0]) + 1,
        )
    codes = table.groupby(list(ANNOTATION_KEYS), sort=False).ngroup().to_numpy()
    n_logs = int(codes.max()) + 1 if codes.size else 0
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_logs + 1))
    first_rows = order[bounds[:-1]]

    lengths: list[int] = []
    grids: list[np.ndarray] = []
    valences: list[np.ndarray] = []
    arousals: list[np.ndarray] = []
    intervals: list[np.ndarray] = []
    for g in range(n_logs):
        rows = order[bounds[g] : bounds[g + 1]]
        t_raw = numeric["timestamp"][rows]
        t, valence = _sorted_log(t_raw, numeric["valence"][rows])
        _, arousal = _sorted_log(t_raw, numeric["arousal"][rows])
        intervals.append(np.diff(t))
        n = int(n_samples) if n_samples is not None else default_n_samples(float(t[-1]))
        grid = np.arange(n) * SAMPLE_PERIOD_S
        lengths.append(n)
        grids.append(grid)
        valences.append(np.interp(grid, t, valence))
        arousals.append(np.interp(grid, t, arousal))
    columns = [*ANNOTATION_KEYS, "sample", "time", "valence", "arousal"]
    repeat = np.repeat(np.arange(n_logs), lengths)
    dynamic = pd.DataFrame(
        {
            "participant_id": table["participant_id"].to_numpy()[first_rows][repeat],
            "media_id": table["media_id"].to_numpy()[first_rows][repeat],
            "modality": table["modality"].to_numpy()[first_rows][repeat],
            "sample": np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
            if lengths
            else np.empty(0, dtype=np.int64),
            "time": np.concatenate(grids) if grids else np.empty(0),
            "valence": np.concatenate(valences) if valences else np.empty(0),
            "arousal": np.concatenate(arousals) if arousals else np.empty(0),
        }
    )
    all_intervals = np.concatenate(intervals) if intervals else np.empty(0)
    report = SamplingReport(
        n_logs=n_logs,
        n_points=len(table),
        mean_interval_s=float(all_intervals.mean()) if all_intervals.size else float("nan"),
        std_interval_s=float(all_intervals.std()) if all_intervals.size else float("nan"),
    )
    return dynamic[columns], report
