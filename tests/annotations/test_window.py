"""The analysis window and the constant-cursor quality filter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from muvi.annotations import analysis_window, constant_annotations, quality_filter
from muvi.data.dataset import MuviDataset


def _annotation(pid: int, item: str, modality: str, n: int, valence=None, arousal=None):  # type: ignore[no-untyped-def]
    ramp = np.linspace(-0.5, 0.5, n)
    return pd.DataFrame(
        {
            "participant_id": pid,
            "media_id": item,
            "modality": modality,
            "sample": np.arange(n),
            "time": np.arange(n) * 0.5,
            "valence": ramp if valence is None else valence,
            "arousal": -ramp if arousal is None else arousal,
        }
    )


def test_window_keeps_the_first_118_samples_and_lists_short_series() -> None:
    dynamic = pd.concat(
        [
            _annotation(1, "a", "music", 120),
            _annotation(2, "a", "music", 118),
            _annotation(3, "a", "music", 117),
            _annotation(1, "b", "visual", 100),
        ],
        ignore_index=True,
    )
    kept, left_out = analysis_window(dynamic)
    assert kept.groupby("participant_id")["sample"].agg(["min", "max", "size"]).values.tolist() == [
        [0, 117, 118],
        [0, 117, 118],
    ]
    assert left_out[["participant_id", "media_id", "n_samples"]].values.tolist() == [
        [3, "a", 117],
        [1, "b", 100],
    ]
    assert set(left_out["reason"]) == {"shorter than the analysis window"}


def test_a_series_with_a_gap_is_not_complete() -> None:
    gap = _annotation(1, "a", "music", 120)
    gap = gap[gap["sample"] != 50]
    kept, left_out = analysis_window(gap)
    assert kept.empty and left_out["n_samples"].tolist() == [117]


def test_constant_annotations_and_their_reasons() -> None:
    dynamic = pd.concat(
        [
            _annotation(1, "a", "music", 5),
            _annotation(2, "a", "music", 5, valence=np.full(5, 0.1)),
            _annotation(3, "a", "music", 5, arousal=np.full(5, -0.2)),
            _annotation(4, "a", "music", 5, valence=np.zeros(5), arousal=np.zeros(5)),
        ],
        ignore_index=True,
    )
    found = constant_annotations(dynamic)
    assert found[["participant_id", "reason"]].values.tolist() == [
        [2, "constant valence"],
        [3, "constant arousal"],
        [4, "constant valence and arousal"],
    ]


def _static(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["participant_id", "media_id", "modality"]).assign(calm=1)


def test_quality_filter_removes_dynamic_and_static_rows() -> None:
    dynamic = pd.concat(
        [
            _annotation(1, "a", "music", 120),
            _annotation(2, "a", "music", 120, valence=np.full(120, 0.3)),
            _annotation(3, "a", "music", 110),
            # moves only after the window: constant inside it
            _annotation(4, "a", "music", 120, arousal=np.r_[np.zeros(118), 0.5, 0.5]),
            _annotation(2, "b", "visual", 120),
        ],
        ignore_index=True,
    )
    static = _static(
        [
            (1, "a", "music"),
            (2, "a", "music"),
            (3, "a", "music"),
            (4, "a", "music"),
            (2, "b", "visual"),
            (5, "b", "visual"),
        ]
    )
    dataset = MuviDataset(Path("."), ["a", "b"], pd.DataFrame(), static, dynamic=dynamic)
    filtered, excluded = quality_filter(dataset)
    assert excluded[["participant_id", "media_id", "reason"]].values.tolist() == [
        [3, "a", "shorter than the analysis window"],
        [2, "a", "constant valence"],
        [4, "a", "constant arousal"],
    ]
    assert filtered.dynamic is not None
    assert sorted(filtered.dynamic.groupby(["participant_id", "media_id"]).size().items()) == [
        ((1, "a"), 118),
        ((2, "b"), 118),
    ]
    # static rows of excluded annotations go too; a static-only annotation (5, b) stays
    assert filtered.static[["participant_id", "media_id"]].values.tolist() == [
        [1, "a"],
        [2, "b"],
        [5, "b"],
    ]
    # the input is untouched
    assert dataset.dynamic is not None
    assert len(dataset.dynamic) == 590 and len(dataset.static) == 6


def test_static_only_dataset_passes_through() -> None:
    static = _static([(1, "a", "music")])
    dataset = MuviDataset(Path("."), ["a"], pd.DataFrame(), static)
    filtered, excluded = quality_filter(dataset)
    assert filtered.dynamic is None
    assert filtered.static.equals(static)
    assert excluded.empty and list(excluded.columns) == [
        "participant_id",
        "media_id",
        "modality",
        "reason",
    ]
