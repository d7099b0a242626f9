"""Raw cursor logs -> 2 Hz: exact recovery of a linear path and the interval report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from muvi.annotations import resample_logs, resample_series
from muvi.errors import DataError


def test_linear_path_with_jittered_timestamps_is_recovered_exactly() -> None:
    # a straight-line cursor path v(t) = -0.8 + 0.025 t logged every ~0.5 s with jitter:
    # linear interpolation of a linear function is exact between logged points
    rng = np.random.default_rng(0)
    stamps = np.arange(122) * 0.5 + rng.uniform(-0.15, 0.15, 122)
    stamps[0] = 0.0
    values = -0.8 + 0.025 * stamps
    series = resample_series(stamps, values, 120)
    grid = np.arange(120) * 0.5
    assert series == pytest.approx(-0.8 + 0.025 * grid, abs=1e-12)


def test_values_are_held_outside_the_logged_range() -> None:
    # first point at 0.7 s: samples at 0 s and 0.5 s hold its value; after 2.0 s the last is held
    series = resample_series([0.7, 2.0], [0.2, 0.6], 7)
    assert series[:2].tolist() == [0.2, 0.2]
    assert series[2] == pytest.approx(0.2 + 0.4 * (1.0 - 0.7) / 1.3)
    assert series[4:].tolist() == [0.6, 0.6, 0.6]


def test_unsorted_and_duplicate_timestamps() -> None:
    # unsorted: same as sorted; duplicate timestamp 0.5: the point logged last (0.9) wins
    assert resample_series([1.0, 0.0, 0.5], [1.0, 0.0, 0.5], 3).tolist() == [0.0, 0.5, 1.0]
    assert resample_series([0.0, 0.5, 0.5, 1.0], [0.0, 0.1, 0.9, 1.0], 3).tolist() == [
        0.0,
        0.9,
        1.0,
    ]


def _raw(pid: int, item: str, modality: str, stamps: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": pid,
            "media_id": item,
            "media_modality": modality,
            "timestamp": stamps,
            "valence": np.asarray(stamps) / 10,
            "arousal": -np.asarray(stamps) / 10,
        }
    )


def test_resample_logs_and_the_interval_report() -> None:
    # log 1 intervals: 0.4, 0.6, 0.5; log 2: 0.5, 0.7 (unsorted in the file)
    # all five: mean = 2.7 / 5 = 0.54; deviations -0.14, 0.06, -0.04, -0.04, 0.16
    # population var = (0.0196 + 0.0036 + 0.0016 + 0.0016 + 0.0256) / 5 = 0.0104
    raw = pd.concat(
        [_raw(3, "a", "video", [0.0, 0.4, 1.0, 1.5]), _raw(5, "b", "muted_video", [1.2, 0.0, 0.5])]
    )
    dynamic, report = resample_logs(raw)
    assert list(dynamic.columns) == [
        "participant_id",
        "media_id",
        "modality",
        "sample",
        "time",
        "valence",
        "arousal",
    ]
    assert report.n_logs == 2 and report.n_points == 7
    assert report.mean_interval_s == pytest.approx(0.54)
    assert report.std_interval_s == pytest.approx(math.sqrt(0.0104))
    first = dynamic[dynamic["participant_id"] == 3]
    # floor(1.5 / 0.5) + 1 = 4 samples; floor(1.2 / 0.5) + 1 = 3 samples
    assert first["sample"].tolist() == [0, 1, 2, 3]
    assert first["time"].tolist() == [0.0, 0.5, 1.0, 1.5]
    assert first["valence"].to_numpy() == pytest.approx([0.0, 0.05, 0.1, 0.15])
    assert first["modality"].unique().tolist() == ["audiovisual"]
    second = dynamic[dynamic["participant_id"] == 5]
    assert second["modality"].unique().tolist() == ["visual"]
    assert second["arousal"].to_numpy() == pytest.approx([0.0, -0.05, -0.1])
    fixed, _ = resample_logs(raw, n_samples=6)
    assert fixed.groupby("participant_id").size().tolist() == [6, 6]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.drop(columns="arousal"), "lack column\\(s\\) 'arousal'"),
        (lambda r: r.assign(media_modality="radio"), "unknown modality 'radio'"),
        (lambda r: r.assign(timestamp=["0", "x", "1", "2"]), "row 2: timestamp is missing"),
        (lambda r: r.assign(timestamp=[0.0, -1.0, 1.0, 2.0]), "row 2: timestamp is negative"),
        (lambda r: r.assign(valence=[0.0, np.nan, 1.0, 2.0]), "row 2: valence is missing"),
    ],
)
def test_bad_logs_are_refused(change, message) -> None:  # type: ignore[no-untyped-def]
    raw = _raw(1, "a", "music", [0.0, 0.5, 1.0, 1.5])
    with pytest.raises(DataError, match=message):
        resample_logs(change(raw))
