"""The long CSV layout: ``item, rater, time_s, valence, arousal[, condition]``."""

from __future__ import annotations

from pathlib import Path

import pytest

from muvi.data.formats import open_study, recognise
from muvi.errors import DataError


def _ratings(
    root: Path, rows: list[str], header: str = "item,rater,time_s,valence,arousal"
) -> Path:
    path = root / "ratings.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


ROWS = [
    "song a,ann,10.0,0.1,0.2",
    "song a,ann,10.5,0.2,0.3",
    "song a,bob,10.0,-0.1,0.0",
    "song a,bob,10.5,-0.2,0.1",
    "b,bob,10.0,0.5,0.5",
    "b,bob,10.5,0.6,0.4",
    "b,ann,10.0,0.4,0.4",
    "b,ann,10.5,0.3,0.3",
]


def test_raters_items_and_offset(tmp_path: Path) -> None:
    _ratings(tmp_path, ROWS)
    dataset = open_study(tmp_path, features=False)
    assert recognise(tmp_path)[0].name == "long-csv"
    assert dataset.items == ["song a", "b"] and not dataset.averaged
    assert dataset.metadata["time_offset_s"] == 10.0
    assert dataset.metadata["raters"] == {"ann": 1, "bob": 2}
    bob_b = dataset.dynamic.query("media_id == 'b' and participant_id == 2").sort_values("sample")
    assert bob_b["sample"].tolist() == [0, 1]
    assert bob_b["valence"].tolist() == pytest.approx([0.5, 0.6])
    assert dataset.conditions == ["music"] and "raters" not in dataset.lacks


def test_conditions_and_one_rater_per_item_means_averaged(tmp_path: Path) -> None:
    rows = ["x,avg,0,0.1,0.1,music", "x,avg,0.5,0.2,0.2,music", "x,avg,0,0.3,0.3,video"]
    rows.append("x,avg,0.5,0.4,0.4,video")
    _ratings(tmp_path, rows, "item,rater,time_s,valence,arousal,condition")
    dataset = open_study(tmp_path, features=False)
    assert dataset.conditions == ["music", "audiovisual"]
    assert dataset.averaged and "raters" in dataset.lacks


def test_audio_features_start_at_the_offset(tmp_path: Path, tone, first_loud) -> None:
    rows = [f"{item},r,{3.0 + 0.5 * k},0.0,0.0" for item in ("p", "q") for k in range(4)]
    _ratings(tmp_path, rows)
    for item in ("p", "q"):
        tone(tmp_path / "audio" / f"{item}.wav", 5.5, onset_s=4.0)
    dataset = open_study(tmp_path, cache_dir=tmp_path / "cache")
    assert first_loud(dataset.audio_features, "q") == 2  # (4.0 - 3.0) / 0.5
    assert dataset.window.n_samples == 4


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["a,r,0,0.1,0.1", "a,r,1.0,0.1,0.1"], "a gap, a repeat or a late start"),
        (["a,r,0,0.1,0.1", "a,r,0.25,0.1,0.1"], "time 0.25 s is not on the 2 Hz grid"),
        (["a,r,0,0.1,1.1"], "arousal 1.1 lies outside [-1, 1]"),
        (["a,r,0,0.1,0.1,nope"], "condition 'nope' is none of music, visual, audiovisual"),
        (["a,r,zero,0.1,0.1"], "time_s is not a number: 'zero'"),
    ],
)
def test_a_bad_ratings_file_is_one_line(tmp_path: Path, rows: list[str], message: str) -> None:
    header = "item,rater,time_s,valence,arousal" + (",condition" if "nope" in rows[0] else "")
    _ratings(tmp_path, rows, header)
    with pytest.raises(DataError) as caught:
        open_study(tmp_path, features=False)
    assert message in str(caught.value) and "ratings.csv" in str(caught.value)


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    _ratings(tmp_path, ["a,r,0,0.1"], "item,rater,time_s,valence,arousl")
    with pytest.raises(DataError, match="no known dataset layout"):
        open_study(tmp_path)
    with pytest.raises(DataError, match="missing column"):
        open_study(tmp_path, layout="long-csv")
