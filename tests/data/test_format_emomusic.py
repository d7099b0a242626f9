"""The 1000 Songs layout on the ten real songs and on small built folders."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from muvi.data.formats import open_study, recognise
from muvi.errors import DataError


def _csv_values(path: Path) -> dict[str, list[float]]:
    """A wide cont file read with the csv module (a second reader)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    assert header[1] == "sample_15000ms"
    return {row[0]: [float(x) for x in row[1:]] for row in rows[1:]}


@pytest.fixture(scope="module")
def real(realmusic_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache")
    return open_study(realmusic_dir, cache_dir=cache), cache


def test_real_ratings_read_back_equal_to_the_csv(real, realmusic_dir: Path) -> None:
    dataset, _ = real
    assert dataset.layout == "emomusic" and dataset.averaged
    for dimension in ("valence", "arousal"):
        expected = _csv_values(realmusic_dir / f"{dimension}_cont_average.csv")
        assert sorted(expected, key=int) == sorted(dataset.items, key=int)
        for item, values in expected.items():
            got = dataset.dynamic[dataset.dynamic["media_id"] == item].sort_values("sample")
            assert got["sample"].tolist() == list(range(61))
            assert got[dimension].tolist() == values  # exactly the file's numbers


def test_real_window_is_the_60_samples_with_ratings_and_features(real) -> None:
    dataset, _ = real
    # 45 s excerpts: 30 s after the 15 s offset hold 60 whole 500 ms windows; ratings have 61
    assert dataset.window.n_samples == 60
    assert dataset.audio_features.shape == (600, 988)
    assert set(dataset.lacks) >= {"raters", "video", "gems"}
    assert dataset.conditions == ["music"]


def test_real_features_start_at_15_s_of_the_mp3(real, realmusic_dir: Path) -> None:
    """Feature sample k is the window [15 + 0.5 k, 15.5 + 0.5 k) s of the file,
    computed here from a decode of the whole file cut by hand."""
    from muvi.features.audio import emobase_windows
    from muvi.features.media import read_audio

    dataset, _ = real
    audio, sr = read_audio(realmusic_dir / "2.mp3")  # from 0 s, no seeking
    start = 15 * sr
    by_hand = emobase_windows(audio[start : start + 3 * sr // 2], sr)
    ours = dataset.audio_features.xs("2", level="media_id").iloc[:3]
    column = "pcm_intensity_sma_amean"
    np.testing.assert_allclose(ours[column].to_numpy(), by_hand[column].to_numpy(), rtol=1e-3)
    shifted = emobase_windows(audio[start + sr // 2 : start + 2 * sr], sr)[column].to_numpy()
    assert not np.allclose(ours[column].to_numpy()[:3], shifted, rtol=1e-3)


def test_real_features_come_from_the_cache_the_second_time(real, realmusic_dir: Path) -> None:
    dataset, cache = real
    again = open_study(realmusic_dir, cache_dir=cache)
    assert any("0 extracted now, 10 from the cache" in note for note in again.issues)
    assert len(list((cache / "emobase").glob("*.csv"))) == 10
    np.testing.assert_allclose(
        again.audio_features.to_numpy(), dataset.audio_features.to_numpy(), rtol=1e-8
    )


def _write_cont(folder: Path, songs: dict[str, list[float]], start_ms: int = 15000) -> None:
    n = len(next(iter(songs.values())))
    header = "song_id," + ",".join(f"sample_{start_ms + 500 * k}ms" for k in range(n))
    for dimension, sign in (("valence", 1.0), ("arousal", -1.0)):
        lines = [header] + [
            f"{song}," + ",".join(f"{sign * v:.4f}" for v in values)
            for song, values in songs.items()
        ]
        (folder / f"{dimension}_cont_average.csv").write_text("\n".join(lines) + "\n")


def test_built_folder_aligns_a_tone_at_16_s_to_sample_2(tmp_path: Path, tone, first_loud) -> None:
    songs = {"1": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "4": [-0.1, -0.2, -0.3, -0.4, -0.5, -0.6]}
    _write_cont(tmp_path, songs)
    (tmp_path / "songs_info.csv").write_text(
        'song_id,file_name,Artist\n"1","\t1.wav","A\t"\n"4","4.wav\t","B"\n'
    )
    for song in songs:
        tone(tmp_path / f"{song}.wav", 18.0, onset_s=16.0)
    dataset = open_study(tmp_path, cache_dir=tmp_path / "cache")
    assert recognise(tmp_path)[0].name == "emomusic"
    # the window [16.0, 16.5) s is sample (16.0 - 15.0) / 0.5 = 2
    assert first_loud(dataset.audio_features, "1") == 2
    assert dataset.window.n_samples == 6  # 3 s after 15 s: 6 windows, 6 ratings
    rows = dataset.dynamic[dataset.dynamic["media_id"] == "4"]
    assert rows["arousal"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert dataset.metadata["songs"]["1"]["file_name"] == "1.wav"  # stray tabs stripped


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("0.2000", "abc", 1), "row 1: sample_15500ms is not a number: 'abc'"),
        (lambda t: t.replace("sample_15500ms", "sample_x", 1), "not named sample_<ms>ms"),
        (lambda t: t.replace("0.2000", "1.5000", 1), "valence 1.5 lies outside [-1, 1]"),
    ],
)
def test_a_bad_cont_file_is_one_line(tmp_path: Path, change, message: str) -> None:
    _write_cont(tmp_path, {"1": [0.1, 0.2, 0.3], "2": [0.0, 0.1, 0.2]})
    path = tmp_path / "valence_cont_average.csv"
    path.write_text(change(path.read_text()))
    with pytest.raises(DataError) as caught:
        open_study(tmp_path, features=False)
    text = str(caught.value)
    assert message in text and "valence_cont_average.csv" in text and "\n" not in text


def test_a_song_rated_in_one_file_only_is_named(tmp_path: Path) -> None:
    _write_cont(tmp_path, {"1": [0.1, 0.2], "2": [0.0, 0.1]})
    path = tmp_path / "arousal_cont_average.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:2]) + "\n")
    with pytest.raises(DataError, match="song 2 at 15 s is rated in valence_cont_average.csv"):
        open_study(tmp_path, features=False)


def test_a_time_off_the_2_hz_grid_is_one_line(tmp_path: Path) -> None:
    _write_cont(tmp_path, {"1": [0.1, 0.2, 0.3]})
    for name in ("valence_cont_average.csv", "arousal_cont_average.csv"):
        path = tmp_path / name
        path.write_text(path.read_text().replace("sample_15500ms", "sample_15750ms"))
    with pytest.raises(DataError, match=r"time 15\.75 s is not on the 2 Hz grid from 15 s"):
        open_study(tmp_path, features=False)
