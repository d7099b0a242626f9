"""The PMEmo layout on small folders built like the PMEmo2019 release."""

from __future__ import annotations

from pathlib import Path

import pytest

from muvi.data.formats import open_study, recognise
from muvi.errors import DataError

RATINGS = {"1": [(0.5, 0.25), (0.75, 1.0), (0.0, 0.5)], "4": [(0.1, 0.2), (0.3, 0.4)]}
"""musicId -> (arousal, valence) from frameTime 15.5 on, on [0, 1]."""


def _release(root: Path) -> None:
    (root / "annotations").mkdir(parents=True)
    lines = ["musicId,frameTime,Arousal(mean),Valence(mean)"]
    spread = ["musicId,frameTime,Arousal(std),Valence(std)"]
    for song, pairs in RATINGS.items():
        for k, (a, v) in enumerate(pairs):
            lines.append(f"{song},{15.5 + 0.5 * k},{a},{v}")
            spread.append(f"{song},{15.5 + 0.5 * k},0.1,0.2")
    (root / "annotations" / "dynamic_annotations.csv").write_text("\n".join(lines) + "\n")
    (root / "annotations" / "dynamic_annotations_std.csv").write_text("\n".join(spread) + "\n")
    (root / "metadata.csv").write_text(
        "musicId,fileName,title\n1,1.mp3,a\n4,4.mp3,b\n9,9.mp3,unrated\n"
    )


def test_ratings_start_at_15_5_s_and_map_to_minus_one_one(tmp_path: Path) -> None:
    _release(tmp_path)
    dataset = open_study(tmp_path, features=False)
    assert recognise(tmp_path)[0].name == "pmemo" and dataset.averaged
    assert dataset.metadata["time_offset_s"] == 15.5
    for song, pairs in RATINGS.items():
        got = dataset.dynamic[dataset.dynamic["media_id"] == song].sort_values("sample")
        assert got["sample"].tolist() == list(range(len(pairs)))
        assert got["arousal"].tolist() == pytest.approx([2 * a - 1 for a, _ in pairs])
        assert got["valence"].tolist() == pytest.approx([2 * v - 1 for _, v in pairs])
    assert dataset.metadata["rating_std"]["valence"]["4"] == pytest.approx([0.4, 0.4])
    assert any("1 song(s) of metadata.csv have no dynamic annotations" in n for n in dataset.issues)
    assert dataset.window.n_samples == 2


def test_a_tone_at_16_s_of_the_chorus_is_sample_1(tmp_path: Path, tone, first_loud) -> None:
    _release(tmp_path)
    for song in RATINGS:
        tone(tmp_path / "chorus" / f"{song}.wav", 17.5, onset_s=16.0)
    dataset = open_study(tmp_path, cache_dir=tmp_path / "cache")
    # [15.5, 16.0) is silent, [16.0, 16.5) is sample (16.0 - 15.5) / 0.5 = 1
    assert first_loud(dataset.audio_features, "1") == 1
    assert first_loud(dataset.audio_features, "4") == 1


def test_a_song_starting_at_15_s_is_named(tmp_path: Path) -> None:
    _release(tmp_path)
    path = tmp_path / "annotations" / "dynamic_annotations.csv"
    path.write_text(path.read_text().replace("4,15.5,", "4,15.0,"))
    with pytest.raises(DataError, match="before the first rated moment 15.5 s"):
        open_study(tmp_path, features=False)


def test_a_value_outside_zero_one_is_one_line(tmp_path: Path) -> None:
    _release(tmp_path)
    path = tmp_path / "annotations" / "dynamic_annotations.csv"
    path.write_text(path.read_text().replace("0.75,1.0", "0.75,1.5"))
    with pytest.raises(DataError, match=r"valence 1.5 lies outside \[0, 1\]"):
        open_study(tmp_path, features=False)
