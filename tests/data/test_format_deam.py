"""The DEAM layout on small folders built like the real archives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from muvi.data.formats import open_study, recognise
from muvi.errors import DataError

AVERAGED = Path("annotations", "annotations averaged per song", "dynamic (per second annotations)")
PER_RATER = Path("annotations", "annotations per each rater", "dynamic (per second annotations)")


def _wide(path: Path, rows: dict[str, list[float]], n_columns: int, first: str) -> None:
    """DEAM's wide form: a space after each comma in the header, NaN padding."""
    header = [first] + [f"sample_{15000 + 500 * k}ms" for k in range(n_columns)]
    lines = [", ".join(header)]
    for key, values in rows.items():
        cells = [f"{v:.3f}" for v in values] + ["NaN"] * (n_columns - len(values))
        lines.append(",".join([key, *cells]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _averaged(root: Path) -> dict[str, dict[str, list[float]]]:
    values = {
        "valence": {"2": [0.1, 0.2, 0.3, 0.4], "10": [-0.5, -0.4, -0.3]},
        "arousal": {"2": [0.5, 0.6, 0.7, 0.8], "10": [0.0, 0.05, 0.1]},
    }
    for dimension, rows in values.items():
        _wide(root / AVERAGED / f"{dimension}.csv", rows, 5, "song_id")
    return values


def test_averaged_ratings_read_back_with_the_padding_dropped(tmp_path: Path) -> None:
    values = _averaged(tmp_path)
    dataset = open_study(tmp_path, features=False)
    assert recognise(tmp_path)[0].name == "deam" and dataset.averaged
    for dimension, rows in values.items():
        for song, expected in rows.items():
            got = dataset.dynamic[dataset.dynamic["media_id"] == song].sort_values("sample")
            assert got["sample"].tolist() == list(range(len(expected)))
            assert got[dimension].tolist() == pytest.approx(expected)
    assert dataset.items == ["2", "10"]
    assert dataset.window.n_samples == 3  # the shortest song
    assert "raters" in dataset.lacks and "audio" in dataset.lacks


def test_renamed_mirror_folders_are_found(tmp_path: Path) -> None:
    renamed = Path("annotations", "annotations_averaged_per_song", "dynamic_per_second_annotations")
    _wide(tmp_path / renamed / "valence.csv", {"3": [0.1, 0.2]}, 2, "song_id")
    _wide(tmp_path / renamed / "arousal.csv", {"3": [0.3, 0.4]}, 2, "song_id")
    assert open_study(tmp_path, features=False).items == ["3"]


def _per_rater(root: Path) -> None:
    raters = {
        "valence": {"w1": [0.1, 0.2, 0.3], "w2": [0.3, 0.2, 0.1], "w3": [0.0, 0.1, 0.5]},
        "arousal": {"w1": [0.4, 0.5, 0.6], "w2": [0.6, 0.5, 0.4], "w3": [0.1, 0.1, 0.2]},
    }
    for dimension, rows in raters.items():
        _wide(root / PER_RATER / dimension / "2.csv", rows, 3, "WorkerId")
        # song 7's files lack the WorkerId column (as some real files do)
        header = ",".join(f"sample_{15000 + 500 * k}ms" for k in range(2))
        (root / PER_RATER / dimension / "7.csv").write_text(f"{header}\n0.1,0.2\n0.3,0.4\n")


def test_per_rater_files_give_raters_agreement_and_ewe(tmp_path: Path) -> None:
    from muvi.annotations import gold_standard
    from muvi.models.cv import prepare_study

    _per_rater(tmp_path)
    dataset = open_study(tmp_path, features=False)
    assert not dataset.averaged and "raters" not in dataset.lacks
    assert dataset.metadata["raters"] == {"w1": 1, "w2": 2, "w3": 3, "7#1": 4, "7#2": 5}
    song2 = dataset.dynamic[dataset.dynamic["media_id"] == "2"]
    w2 = song2[song2["participant_id"] == 2].sort_values("sample")
    assert w2["valence"].tolist() == pytest.approx([0.3, 0.2, 0.1])
    assert w2["arousal"].tolist() == pytest.approx([0.6, 0.5, 0.4])
    assert any("lack the WorkerId column" in note for note in dataset.issues)
    # per-rater data gets the quality filter and EWE within the window (2 samples):
    # w3's arousal (0.1, 0.1) is constant there, so w3 is left out of song 2
    dataset.audio_features = pd.DataFrame(
        {"f": 0.0},
        index=pd.MultiIndex.from_product([["2", "7"], range(2)], names=["media_id", "sample"]),
    )
    study = prepare_study(dataset)
    assert study.human_agreement is not None
    assert dataset.window.n_samples == 2
    d = dataset.dynamic
    kept = d[(d["sample"] < 2) & ~((d["media_id"] == "2") & (d["participant_id"] == 3))]
    expected = gold_standard(kept)
    assert study.gold.query("media_id == '2'")["valence"].tolist() == pytest.approx([0.2, 0.2])
    got = study.gold.sort_values(["media_id", "sample"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got[["media_id", "sample", "valence"]],
        expected.sort_values(["media_id", "sample"]).reset_index(drop=True)[
            ["media_id", "sample", "valence"]
        ],
    )


def test_a_tone_at_16_s_of_the_mp3_folder_is_sample_2(tmp_path: Path, tone, first_loud) -> None:
    _averaged(tmp_path)
    for song in ("2", "10"):
        tone(tmp_path / "DEAM_audio" / "MEMD_audio" / f"{song}.wav", 17.5, onset_s=16.0)
    dataset = open_study(tmp_path, cache_dir=tmp_path / "cache")
    assert first_loud(dataset.audio_features, "10") == 2  # (16.0 - 15.0) / 0.5
    assert dataset.window.n_samples == 3


def test_own_semicolon_features_are_placed_by_frame_time(tmp_path: Path) -> None:
    _averaged(tmp_path)
    folder = tmp_path / "features"
    folder.mkdir()
    for song in ("2", "10"):
        times = np.arange(0, 18.0, 0.5)  # frameTime from 0, a 0.5 s step
        lines = ["frameTime;F0final_sma_amean;pcm_fftMag_mfcc_sma[1]_stddev"]
        lines += [f"{t:.1f};{t * 10:.1f};{int(song) + t:.2f}" for t in times]
        (folder / f"{song}.csv").write_text("\n".join(lines) + "\n")
    dataset = open_study(tmp_path, cache_dir=tmp_path / "cache")
    table = dataset.audio_features
    # sample k is frameTime 15 + 0.5 k, so F0 = 10 * (15 + 0.5 k)
    assert table.loc[("2", 0), "F0final_sma_amean"] == pytest.approx(150.0)
    assert table.loc[("10", 4), "F0final_sma_amean"] == pytest.approx(170.0)
    assert any("own 2 openSMILE features" in note for note in dataset.issues)


def test_a_bad_value_is_one_line(tmp_path: Path) -> None:
    _averaged(tmp_path)
    path = tmp_path / AVERAGED / "arousal.csv"
    path.write_text(path.read_text().replace("0.600", "oops"))
    with pytest.raises(DataError) as caught:
        open_study(tmp_path, features=False)
    assert "arousal.csv, row 1: sample_15500ms is not a number: 'oops'" in str(caught.value)
