"""The published writers: write -> load -> compare, byte for byte on the real files.

The real ``video_urls.csv``, ``participant_data.csv`` and ``media_data.csv``
are loaded and written again: the bytes must be those of the release (CRLF
and no final line end for the first, LF and a final line end for the others,
ids cut at the first underscore, ``muted_video``/``video``). The emobase
files keep their data rows byte for byte; their header is the one thing the
loaders do not keep (the release's header is broken, see
:mod:`muvi.data.published`). The release has no ``av_data.csv`` and no visual
features here, so those round trips use tables made in the test, with values
chosen by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from muvi.data import published, schema
from muvi.data.loaders import (
    ItemCatalog,
    _load_metadata,
    load_dynamic,
    load_emobase,
    load_participants,
    load_static,
    load_video_urls,
    load_visual_features,
)
from muvi.data.resampling import resample_logs
from muvi.study.csvsafe import escape_frame

ITEMS = ["o_v9MY_FMcw", "lDK9QqIzhwk", "3O1_3zBUKM8"]


# --------------------------------------------------------------------------
# The real files, byte for byte
# --------------------------------------------------------------------------


def test_video_urls_reproduces_the_release_byte_for_byte(muvi_dir: Path, tmp_path: Path) -> None:
    real = (muvi_dir / "video_urls.csv").read_bytes()
    out = published.write_video_urls(load_video_urls(muvi_dir / "video_urls.csv"), tmp_path / "v")
    assert out.read_bytes() == real
    assert real.count(b"\r\n") == 81 and not real.endswith(b"\n")  # 82 lines, CRLF, no final end


def test_participants_reproduce_the_release_byte_for_byte(muvi_dir: Path, tmp_path: Path) -> None:
    real = (muvi_dir / "participant_data.csv").read_bytes()
    table = load_participants(muvi_dir / "participant_data.csv")
    assert table["age"].dtype == "float64"  # the loader's floats are written as whole numbers
    out = published.write_participants(table, tmp_path / "p.csv")
    assert out.read_bytes() == real
    assert b"\r" not in real and real.endswith(b"\n")


def test_static_reproduces_the_release_byte_for_byte(muvi_dir: Path, tmp_path: Path) -> None:
    real = (muvi_dir / "media_data.csv").read_bytes()
    catalog = ItemCatalog(load_video_urls(muvi_dir / "video_urls.csv"))
    table = load_static(muvi_dir / "media_data.csv", catalog)
    assert "o_v9MY_FMcw" in set(table["media_id"])  # full ids in the tidy table ...
    out = published.write_static(table, tmp_path / "m.csv")
    assert out.read_bytes() == real  # ... cut at the underscore in the file, as published
    assert b",o,muted_video," in real or b",o,video," in real or b",o,music," in real


def test_emobase_rows_reproduce_the_release(muvi_dir: Path, tmp_path: Path) -> None:
    item = "3O1_3zBUKM8"
    catalog = ItemCatalog([item])
    features = load_emobase(muvi_dir / "emobase_features", catalog)
    out = published.write_emobase(features.loc[item], tmp_path / f"{item}.csv")
    real_header, real_rows = (
        (muvi_dir / "emobase_features" / f"{item}.csv").read_bytes().split(b"\n", 1)
    )
    header, rows = out.read_bytes().split(b"\n", 1)
    assert rows == real_rows
    # the release's header names every column alike; ours carries the real names
    assert len(set(real_header.split(b","))) == 2
    assert header.decode().split(",") == ["", "name", *schema.emobase_feature_names(), "class"]
    again = load_emobase(tmp_path, catalog)
    pd.testing.assert_frame_equal(again, features)


# --------------------------------------------------------------------------
# Round trips on tables made here
# --------------------------------------------------------------------------


def _static() -> pd.DataFrame:
    rows = []
    for pid, item, modality, seen, overlay in [
        (3, "o_v9MY_FMcw", "music", True, None),
        (3, "lDK9QqIzhwk", "visual", False, schema.OVERLAID),
        (5, "3O1_3zBUKM8", "audiovisual", True, schema.SIDE_BY_SIDE),
    ]:
        labels = {
            label: int(label in ("calm", "tense") and pid == 3) for label in schema.GEMS_LABELS
        }
        rows.append(
            {
                "participant_id": pid,
                "media_id": item,
                "modality": modality,
                "seen_previously": seen,
                **labels,
                "overlay": overlay,
            }
        )
    table = pd.DataFrame(rows)
    table["overlay"] = pd.Series([r["overlay"] for r in rows], dtype=object)  # None for music
    return table


def test_static_round_trip_and_public_spellings(tmp_path: Path) -> None:
    table = _static()
    path = published.write_static(table, tmp_path / schema.STATIC_FILE)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and "\r" not in path.read_text(encoding="utf-8")
    header = lines[0].split(",")
    assert header == list(schema.STATIC_COLUMNS_PUBLISHED)
    first = dict(zip(header, lines[1].split(","), strict=True))
    assert (first["media_id"], first["media_modality"], first["seen_previously"]) == (
        "o",
        "music",
        "True",
    )
    assert first["overlay_type"] == "irrelevant" and first["calm"] == "1"
    second = dict(zip(header, lines[2].split(","), strict=True))
    assert (second["media_modality"], second["overlay_type"]) == ("muted_video", "1")
    third = dict(zip(header, lines[3].split(","), strict=True))
    assert (third["media_id"], third["media_modality"], third["overlay_type"]) == (
        "3O1",
        "video",
        "0",
    )
    back = load_static(path, ItemCatalog(ITEMS))
    pd.testing.assert_frame_equal(back, table, check_dtype=False)


def test_static_with_full_ids(tmp_path: Path) -> None:
    path = published.write_static(_static(), tmp_path / "m.csv", short_ids=False)
    assert path.read_text(encoding="utf-8").split("\n")[1].startswith("3,o_v9MY_FMcw,music,")
    back = load_static(path, ItemCatalog(ITEMS))
    assert back["media_id"].tolist() == ITEMS


def test_dynamic_round_trip(tmp_path: Path) -> None:
    dynamic = pd.DataFrame(
        {
            "participant_id": [3, 3, 3, 5, 5],
            "media_id": ["o_v9MY_FMcw"] * 3 + ["lDK9QqIzhwk"] * 2,
            "modality": ["visual"] * 3 + ["audiovisual"] * 2,
            "sample": [0, 1, 2, 0, 1],
            "time": [0.0, 0.5, 1.0, 0.0, 0.5],
            "valence": [-1.0, 0.125, 1.0, 0.3, -0.3],
            "arousal": [0.0, -0.5, 0.1, 0.2, 0.7],
        }
    )
    path = published.write_dynamic(dynamic, tmp_path / schema.DYNAMIC_FILE)
    text = path.read_text(encoding="utf-8")
    assert text.split("\n")[0] == "participant_id,media_id,media_modality,seq,valence,arousal"
    assert text.split("\n")[1] == "3,o,muted_video,0,-1.0,0.0"
    assert text.split("\n")[4] == "5,lDK9QqIzhwk,video,0,0.3,0.2" and text.endswith("\n")
    back = load_dynamic(path, ItemCatalog(ITEMS), window_samples=2)
    pd.testing.assert_frame_equal(back, dynamic, check_dtype=False)


def test_raw_logs_round_trip_through_the_resampling(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "participant_id": [7, 7, 7],
            "media_id": "3O1_3zBUKM8",
            "modality": "visual",
            "timestamp": [0.0, 0.4, 1.1],
            "valence": [0.0, 0.4, 1.1],
            "arousal": [0.5, 0.5, 0.5],
        }
    )
    path = published.write_raw_logs(raw, tmp_path / schema.RAW_LOGS_FILE)
    read = pd.read_csv(path, dtype={"media_id": str})
    assert read.columns.tolist() == list(schema.RAW_LOG_COLUMNS)
    assert set(read["media_id"]) == {"3O1"} and set(read["media_modality"]) == {"muted_video"}
    dynamic, _ = resample_logs(read)
    # linear interpolation by hand: 0.5 s lies between (0.4, 0.4) and (1.1, 1.1)
    assert dynamic["valence"].round(12).tolist() == [0.0, 0.5, 1.0]
    assert set(dynamic["modality"]) == {"visual"}


def test_emobase_and_visual_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    names = list(schema.emobase_feature_names())
    audio = pd.DataFrame(rng.normal(size=(119, len(names))), columns=names)
    path = published.write_emobase(audio, tmp_path / "emo" / "lDK9QqIzhwk.csv")
    assert path.read_text(encoding="utf-8").split("\n")[1].startswith("0,liveturn_0,")
    assert path.read_text(encoding="utf-8").endswith(",unassigned\n")
    back = load_emobase(tmp_path / "emo", ItemCatalog(["lDK9QqIzhwk"]))
    np.testing.assert_array_equal(back.to_numpy(), audio.to_numpy())  # exact: shortest repr

    rounded = published.write_emobase(audio, tmp_path / "emo7" / "x.csv", float_format="%.7g")
    back7 = load_emobase(tmp_path / "emo7")
    expected = np.array([[float(f"{v:.7g}") for v in row] for row in audio.to_numpy()[:3]])
    np.testing.assert_array_equal(back7.to_numpy()[:3], expected)
    assert rounded.read_text(encoding="utf-8").endswith(",unassigned\n")

    index = pd.MultiIndex.from_arrays(
        [["o_v9MY_FMcw"] * 2 + ["lDK9QqIzhwk"] * 3, [0, 1, 0, 1, 2]],
        names=list(schema.ITEM_SAMPLE_INDEX),
    )
    visual = pd.DataFrame({"colour__hue_00": [0.5, 0.25, 1.0, 0.0, 0.125]}, index=index)
    visual["lighting__key"] = [1.5, -2.0, 3.25, 4.0, 0.0]
    for fmt in (None, "%.5g"):
        path = published.write_visual_features(visual, tmp_path / "v.csv", float_format=fmt)
        lines = path.read_text(encoding="utf-8").split("\n")
        assert lines[0] == "media_id,frame,colour__hue_00,lighting__key"
        assert lines[1] == ("o_v9MY_FMcw,0,0.5,1.5" if fmt is None else "o_v9MY_FMcw,0,0.5,1.5")
        assert lines[-1] == ""
        back = load_visual_features(path, ItemCatalog(ITEMS))
        pd.testing.assert_frame_equal(back, visual)


def test_metadata_round_trip(tmp_path: Path) -> None:
    metadata = {"simulated": True, "excerpt_seconds": 20, "nested": {"a": [1, 2.5, None]}}
    path = published.write_metadata(metadata, tmp_path / schema.METADATA_FILE)
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert _load_metadata(path) == metadata == json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(TypeError, match="'simulated' must be True or False"):
        published.write_metadata({"simulated": "yes"}, tmp_path / "bad.json")


def test_participants_round_trip_with_gaps_and_the_escape_hook(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "participant_id": [1, 2],
            "age": [19.0, float("nan")],
            "gender": ["Female", "Male"],
            "country_live_longest": ["SG", "CN"],
            "country_musical_enculturation": ["SG", "GB"],
            "lyric_language": ["EN", "ZH"],
            "favorite_genre": ["-Rock", "Pop"],
            "years_formal_training": [2.5, 0.0],
            "understood_yes_or_no": ["Yes", "No"],
            "overlay_pref": ["Overlaid", ""],
        }
    )
    plain = published.write_participants(table, tmp_path / "plain.csv")
    assert plain.read_text(encoding="utf-8").split("\n")[1:3] == [
        "1,19,Female,SG,SG,EN,-Rock,2.5,Yes,Overlaid",
        "2,,Male,CN,GB,ZH,Pop,0.0,No,",
    ]
    back = load_participants(plain)
    assert back["age"].isna().tolist() == [False, True]
    assert back["years_formal_training"].tolist() == [2.5, 0.0]
    escaped = published.write_participants(table, tmp_path / "safe.csv", escape=escape_frame)
    assert "'-Rock" in escaped.read_text(encoding="utf-8")
    assert load_participants(escaped)["favorite_genre"].tolist() == ["'-Rock", "Pop"]


def test_an_interrupted_write_keeps_the_earlier_file(tmp_path: Path) -> None:
    path = published.write_video_urls(ITEMS, tmp_path / "video_urls.csv")
    before = path.read_bytes()

    def fail(tmp: Path) -> None:
        tmp.write_text("half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        published.write_atomically(path, fail)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["video_urls.csv"]  # no temporary left


def test_a_simulated_study_is_what_the_writers_make_of_its_tables(
    small_study: Path, tmp_path: Path
) -> None:
    """Load the simulator's files and write them again: the bytes are the same,
    so the simulator writes the published layout and nothing else."""
    from muvi.data.loaders import load_dataset

    study = load_dataset(small_study)
    assert study.dynamic is not None and study.visual_features is not None
    written = {
        schema.VIDEO_URLS_FILE: published.write_video_urls(study.items, tmp_path / "v"),
        schema.PARTICIPANTS_FILE: published.write_participants(study.participants, tmp_path / "p"),
        schema.STATIC_FILE: published.write_static(study.static, tmp_path / "m"),
        schema.METADATA_FILE: published.write_metadata(study.metadata, tmp_path / "j"),
    }
    for name, path in written.items():
        assert path.read_bytes() == (small_study / name).read_bytes(), name
    # the loader sorts the 2 Hz rows by annotation; the file has them in log order
    dynamic = published.write_dynamic(study.dynamic, tmp_path / "d").read_text().split("\n")
    in_file = (small_study / schema.DYNAMIC_FILE).read_text().split("\n")
    assert dynamic[0] == in_file[0] and sorted(dynamic) == sorted(in_file)
    visual = published.write_visual_features(
        study.visual_features, tmp_path / "visual.csv", float_format="%.5g"
    )
    assert visual.read_bytes() == (small_study / schema.VISUAL_FEATURES_FILE).read_bytes()
    item = study.items[0]
    assert study.audio_features is not None
    emobase = published.write_emobase(
        study.audio_features.loc[item], tmp_path / "e.csv", float_format="%.7g"
    )
    assert emobase.read_bytes() == (small_study / schema.EMOBASE_DIR / f"{item}.csv").read_bytes()
