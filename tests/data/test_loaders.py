"""The loaders on the real public files and on small tables made here.

Expected values on the real files are computed independently with the csv
module (never with the loaders themselves); the emobase name restoration is
proved by a property of the real values: the 104 ``...Pos`` columns are
exactly the integer-valued ones, in 0..49.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from muvi.data import schema
from muvi.data.loaders import (
    ItemCatalog,
    load_dataset,
    load_dynamic,
    load_emobase,
    load_static,
    load_video_urls,
    load_visual_features,
    short_id,
)
from muvi.errors import DataError

# --------------------------------------------------------------------------
# The real files
# --------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def real(muvi_dir: Path):
    return load_dataset(muvi_dir)


def test_items_in_cv_order(muvi_dir: Path) -> None:
    expected = [r["video_id"] for r in _csv_rows(muvi_dir / "video_urls.csv")]
    items = load_video_urls(muvi_dir / "video_urls.csv")
    assert len(items) == 81
    assert items == expected
    assert (muvi_dir / "video_urls.csv").read_bytes().count(
        b"\r\n"
    ) == 81  # CRLF, no final line end


def test_id_mapping_on_real_static(muvi_dir: Path, real) -> None:
    items = [r["video_id"] for r in _csv_rows(muvi_dir / "video_urls.csv")]
    rows = _csv_rows(muvi_dir / "media_data.csv")
    with_underscore = [i for i in items if "_" in i]
    assert "o_v9MY_FMcw" in with_underscore
    # Independent mapping: a raw id is the full id, or the text before the first "_".
    expected = []
    n_mapped = 0
    for r in rows:
        raw = r["media_id"]
        if raw in items:
            expected.append(raw)
        else:
            (full,) = [i for i in items if i.split("_")[0] == raw]
            expected.append(full)
            n_mapped += 1
    assert n_mapped > 0
    assert n_mapped == sum(r["media_id"] not in items for r in rows)
    assert real.static["media_id"].tolist() == expected
    assert set(real.static["media_id"]) <= set(items)
    # Spot check: the published short spelling "o" is item o_v9MY_FMcw.
    raw_o = [i for i, r in enumerate(rows) if r["media_id"] == "o"]
    assert raw_o, "the published media_data.csv spells o_v9MY_FMcw as 'o'"
    assert set(real.static["media_id"].iloc[raw_o]) == {"o_v9MY_FMcw"}
    catalog = ItemCatalog(items)
    assert catalog.ambiguous_short_ids == {}
    assert all(catalog.resolve(short_id(i)) == i for i in items)


def test_static_counts(muvi_dir: Path, real) -> None:
    rows = _csv_rows(muvi_dir / "media_data.csv")
    assert len(real.static) == len(rows) == 1494
    public = Counter(r["media_modality"] for r in rows)
    got = real.static["modality"].value_counts().to_dict()
    assert got == {
        "music": public["music"],
        "visual": public["muted_video"],
        "audiovisual": public["video"],
    }
    assert list(real.static.columns) == [
        "participant_id",
        "media_id",
        "modality",
        "seen_previously",
        *schema.GEMS_LABELS,
        "overlay",
    ]
    # Labels found by name although the file orders them differently.
    for label in schema.GEMS_LABELS:
        assert real.static[label].sum() == sum(int(r[label]) for r in rows), label
    assert real.static["seen_previously"].sum() == sum(r["seen_previously"] == "True" for r in rows)
    overlay = Counter(r["overlay_type"] for r in rows)
    assert (real.static["overlay"] == "overlaid").sum() == overlay["1"]
    assert (real.static["overlay"] == "side_by_side").sum() == overlay["0"]
    assert real.static["overlay"].isna().sum() == overlay["irrelevant"] == public["music"]


def test_participants(muvi_dir: Path, real) -> None:
    rows = _csv_rows(muvi_dir / "participant_data.csv")
    people = real.participants
    assert len(people) == len(rows) == 49
    assert people["participant_id"].dtype == np.int64
    assert people["participant_id"].tolist() == [int(r["participant_id"]) for r in rows]
    assert people["age"].mean() == pytest.approx(np.mean([float(r["age"]) for r in rows]))
    assert list(people.columns[: len(schema.PARTICIPANT_COLUMNS)]) == list(
        schema.PARTICIPANT_COLUMNS
    )
    assert set(real.static["participant_id"]) <= set(people["participant_id"])


def test_emobase_names_and_shapes(muvi_dir: Path, real) -> None:
    audio = real.audio_features
    assert audio is not None
    assert list(audio.columns) == list(schema.emobase_feature_names())
    assert audio.index.names == ["media_id", "sample"]
    sizes = audio.groupby(level="media_id", sort=False).size()
    assert list(sizes.index) == real.items
    assert set(sizes) <= {119, 120}
    for item in ("o_v9MY_FMcw", real.items[0]):
        with open(muvi_dir / "emobase_features" / f"{item}.csv", newline="") as handle:
            n_rows = sum(1 for _ in csv.reader(handle)) - 1
        assert sizes[item] == n_rows
        assert audio.loc[item].index.tolist() == list(range(n_rows))
    # The restoration order, proved on the real values.
    values = audio.to_numpy()
    integral = np.all(values == np.round(values), axis=0)
    in_range = (values.min(axis=0) >= 0) & (values.max(axis=0) <= 49)
    is_pos = np.array(["Pos" in name for name in audio.columns])
    assert is_pos.sum() == 104
    assert np.array_equal(integral & in_range, is_pos)


def test_emobase_values_match_the_file(muvi_dir: Path, real) -> None:
    item = real.items[5]
    with open(muvi_dir / "emobase_features" / f"{item}.csv", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    names = schema.emobase_feature_names()
    position = {name: i for i, name in enumerate(names)}
    for name in ("pcm_intensity_sma_max", "mfcc_sma[3]_amean", names[-1]):
        column = [float(r[2 + position[name]]) for r in rows]
        assert real.audio_features.loc[item, name].tolist() == column


def test_dataset_flags(real) -> None:
    assert real.simulated is False
    assert real.dynamic is None
    assert real.visual_features is None
    assert real.issues == []


# --------------------------------------------------------------------------
# The item catalog
# --------------------------------------------------------------------------


def test_catalog_ambiguous_short_form() -> None:
    catalog = ItemCatalog(["ab_1", "ab_2", "cd_9", "ef"])
    assert catalog.resolve("cd") == "cd_9"
    assert catalog.resolve("ab_2") == "ab_2"
    assert catalog.ambiguous_short_ids == {"ab": ("ab_1", "ab_2")}
    with pytest.raises(DataError, match="ambiguous"):
        catalog.resolve("ab")
    with pytest.raises(DataError, match="unknown media id 'zz'"):
        catalog.resolve("zz", file="x.csv", row=4)
    assert "cd" in catalog and "zz" not in catalog


def test_catalog_short_form_equal_to_a_full_id() -> None:
    # "ab" is an item and the short form of "ab_x": in a file that spells ids
    # by their short form, "ab" could be either item.
    catalog = ItemCatalog(["ab", "ab_x"])
    with pytest.raises(DataError, match="ambiguous"):
        catalog.resolve("ab")
    assert catalog.resolve("ab_x") == "ab_x"


# --------------------------------------------------------------------------
# Small files made here
# --------------------------------------------------------------------------

ITEMS = ["aa_1", "bb", "cc_3"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _static_text(rows: list[tuple[int, str, str, str, list[str], str]]) -> str:
    header = [*schema.STATIC_KEY_COLUMNS, *reversed(schema.GEMS_LABELS), "overlay_type"]
    lines = [",".join(header)]
    for pid, media, modality, seen, labels, overlay in rows:
        cells = [0] * 27
        for label in labels:
            cells[schema.GEMS_LABELS.index(label)] = 1
        lines.append(
            ",".join([str(pid), media, modality, seen, *map(str, reversed(cells)), overlay])
        )
    return "\n".join(lines) + "\n"


def test_static_tidy_form(tmp_path: Path) -> None:
    text = _static_text(
        [
            (1, "aa", "music", "True", ["moved", "nervous"], "irrelevant"),
            (1, "bb", "muted_video", "False", ["calm"], "1"),
            (2, "cc_3", "video", "False", ["blue", "joyful"], "0"),
        ]
    )
    static = load_static(_write(tmp_path / "media_data.csv", text), ItemCatalog(ITEMS))
    assert static["media_id"].tolist() == ["aa_1", "bb", "cc_3"]
    assert static["modality"].tolist() == ["music", "visual", "audiovisual"]
    assert static["seen_previously"].tolist() == [True, False, False]
    assert static["overlay"].tolist() == [None, "overlaid", "side_by_side"]
    assert static.loc[0, "moved"] == 1 and static.loc[0, "nervous"] == 1
    assert static.loc[0, list(schema.GEMS_LABELS)].sum() == 2
    assert static.loc[2, "blue"] == 1 and static.loc[2, "joyful"] == 1
    assert static.loc[1, list(schema.GEMS_LABELS)].sum() == 1


def _dynamic_frame(lengths: dict[tuple[int, str, str], int], column: str = "seq") -> pd.DataFrame:
    parts = []
    for (pid, media, modality), n in lengths.items():
        t = np.arange(n)
        parts.append(
            pd.DataFrame(
                {
                    "participant_id": pid,
                    "media_id": media,
                    "media_modality": modality,
                    column: t if column != "time" else t * 0.5 + 0.04,
                    "valence": np.sin(t / 10) * 0.9,
                    "arousal": np.cos(t / 7) * 0.5,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("column", ["seq", "sample", "time"])
def test_dynamic_tidy_form(tmp_path: Path, column: str) -> None:
    frame = _dynamic_frame(
        {
            (
                1,
                "aa",
                "video",
            ): 120,
            (2, "bb", "music"): 118,
        },
        column,
    )
    frame = frame.sample(frac=1.0, random_state=0)  # file order does not matter
    path = tmp_path / "av_data.csv"
    frame.to_csv(path, index=False)
    issues: list[str] = []
    dynamic = load_dynamic(path, ItemCatalog(ITEMS), issues=issues)
    assert list(dynamic.columns) == [
        "participant_id",
        "media_id",
        "modality",
        "sample",
        "time",
        "valence",
        "arousal",
    ]
    assert len(dynamic) == 238
    first = dynamic[dynamic["participant_id"] == 1]
    assert first["media_id"].unique().tolist() == ["aa_1"]
    assert first["modality"].unique().tolist() == ["audiovisual"]
    assert first["sample"].tolist() == list(range(120))
    assert first["time"].tolist() == [0.5 * i for i in range(120)]
    assert np.allclose(first["valence"], np.sin(np.arange(120) / 10) * 0.9)
    assert issues == []


def test_dynamic_short_annotation_is_kept_and_reported(tmp_path: Path) -> None:
    frame = _dynamic_frame({(1, "aa", "video"): 120, (3, "cc", "muted_video"): 100})
    path = tmp_path / "av_data.csv"
    frame.to_csv(path, index=False)
    issues: list[str] = []
    dynamic = load_dynamic(path, ItemCatalog(ITEMS), issues=issues)
    assert (dynamic["participant_id"] == 3).sum() == 100
    assert len(issues) == 1
    assert "participant 3" in issues[0] and "cc_3" in issues[0] and "100 samples" in issues[0]


def test_visual_features(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "media_id": ["cc", "cc", "aa", "aa", "aa"],
            "frame": [1, 0, 0, 1, 2],
            "colour__hue_00": [0.1, 0.2, 0.3, 0.4, 0.5],
            "note": ["x", "y", "z", "w", "v"],
        }
    )
    path = tmp_path / schema.VISUAL_FEATURES_FILE
    frame.to_csv(path, index=False)
    visual = load_visual_features(path, ItemCatalog(ITEMS))
    assert list(visual.columns) == ["colour__hue_00"]
    assert visual.index.tolist() == [
        ("aa_1", 0),
        ("aa_1", 1),
        ("aa_1", 2),
        ("cc_3", 0),
        ("cc_3", 1),
    ]
    assert visual["colour__hue_00"].tolist() == [0.3, 0.4, 0.5, 0.2, 0.1]


def test_emobase_with_real_names_in_header(tmp_path: Path) -> None:
    names = schema.emobase_feature_names()
    rng = np.random.default_rng(0)
    values = rng.normal(size=(119, len(names)))
    folder = tmp_path / "emobase_features"
    folder.mkdir()
    # Named header, columns shuffled: read by name, returned in standard order.
    order = rng.permutation(len(names))
    pd.DataFrame(values[:, order], columns=[names[i] for i in order]).to_csv(
        folder / "bb.csv", index=False
    )
    audio = load_emobase(folder)
    assert list(audio.columns) == list(names)
    assert np.allclose(audio.to_numpy(), values)
    assert audio.index.get_level_values("media_id").unique().tolist() == ["bb"]


def test_load_dataset_small(tmp_path: Path) -> None:
    _write(tmp_path / "video_urls.csv", "video_id\r\n" + "\r\n".join(ITEMS) + "\r\n")
    people = ",".join(schema.PARTICIPANT_COLUMNS) + "\n"
    people += "1,20,Female,SG,SG,EN,Pop,2,Yes,Overlaid\n2,31,Male,CN,CN,ZH,Rock,,Yes,Side-by-Side\n"
    _write(tmp_path / "participant_data.csv", people)
    _write(
        tmp_path / "media_data.csv",
        _static_text([(1, "aa", "video", "False", ["moved"], "1")]),
    )
    frame = _dynamic_frame({(1, "aa", "video"): 118, (2, "bb", "music"): 60})
    frame.to_csv(tmp_path / "av_data.csv", index=False)
    _write(tmp_path / "muvi_metadata.json", json.dumps({"simulated": True, "seed": 3}))
    study = load_dataset(tmp_path, require_dynamic=True)
    assert study.simulated is True and study.metadata["seed"] == 3
    assert study.items == ITEMS
    assert study.dynamic is not None and len(study.dynamic) == 178
    assert study.participants["years_formal_training"].isna().tolist() == [False, True]
    # one short annotation, one dynamic annotation without a static row
    assert len(study.issues) == 2
    assert any("60 samples" in s for s in study.issues)
    assert any("no static row" in s and "participant 2" in s for s in study.issues)


# --------------------------------------------------------------------------
# A simulated study (written by muvi.data.simulator)
# --------------------------------------------------------------------------


def test_simulated_study_loads(small_study: Path) -> None:
    study = load_dataset(small_study, require_dynamic=True)
    assert study.simulated is True
    items = [r["video_id"] for r in _csv_rows(small_study / "video_urls.csv")]
    assert study.items == items
    static_rows = _csv_rows(small_study / "media_data.csv")
    assert len(study.static) == len(static_rows)
    assert set(study.static["media_id"]) <= set(items)
    # Row counts and short annotations, counted independently with the csv module.
    dynamic_rows = _csv_rows(small_study / "av_data.csv")
    assert study.dynamic is not None and len(study.dynamic) == len(dynamic_rows)
    lengths = Counter(
        (r["participant_id"], r["media_id"], r["media_modality"]) for r in dynamic_rows
    )
    n_short = sum(n < schema.ANALYSIS_SAMPLES for n in lengths.values())
    assert sum("fewer than the 118" in s for s in study.issues) == n_short
    assert study.dynamic.groupby(["participant_id", "media_id", "modality"]).ngroups == len(lengths)
    for dimension in schema.DIMENSIONS:
        assert study.dynamic[dimension].between(-1, 1).all()
    assert study.audio_features is not None
    assert set(study.audio_features.groupby(level="media_id").size()) <= {119, 120}
    if study.visual_features is not None:
        assert set(study.visual_features.index.get_level_values("media_id")) <= set(items)
