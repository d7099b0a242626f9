"""Batch extraction: outputs the loaders read, resume from the cache, error
report, local processes and a Dask cluster giving the same result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from videogen import BLUE, GREEN, RED, tone, write_video

from muvi.data.loaders import ItemCatalog, load_video_urls, load_visual_features
from muvi.errors import DataError, WeightsError
from muvi.features.batch import extract_batch, find_videos, read_starts
from muvi.features.registry import Extractor, register, unregister
from muvi.progress import ProgressEvent

CHEAP = "audio,colour,lighting"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three good clips and, second by name, a corrupt one."""
    folder = tmp_path_factory.mktemp("corpus")
    write_video(folder / "a_red.mp4", [(1.5, RED), (1.5, GREEN)], tone(3.0, 330.0))
    (folder / "b_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    write_video(folder / "c_blue.mp4", [(2.0, BLUE)], tone(2.0, 550.0, 0.2))
    write_video(folder / "d_green.mp4", [(2.5, GREEN)], tone(2.5, 440.0, 0.6))
    (folder / "notes.txt").write_text("not a video")
    return folder


def _read_emobase(folder: Path) -> pd.DataFrame:
    """The emobase CSVs read directly (the loader insists on the 119-120 rows
    of a full minute; these clips are seconds long)."""
    tables = {p.stem: pd.read_csv(p, index_col=0) for p in sorted(folder.glob("*.csv"))}
    for table in tables.values():
        assert table.columns[0] == "name" and table.columns[-1] == "class"
        assert table.shape[1] == 988 + 2
    return pd.concat(tables, names=["media_id", "sample"]).drop(columns=["name", "class"])


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.npz"))}


def test_resume_cache_and_error_report(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # an interrupted run: only the first video got done
    first = extract_batch([corpus / "a_red.mp4"], out, features=CHEAP)
    assert [o.status for o in first.outcomes] == ["done"]
    cached_a = _mtimes(out / "cache" / "a_red")
    assert set(cached_a) == {"audio.npz", "colour.npz", "lighting.npz"}

    seen: list[ProgressEvent] = []
    report = extract_batch([corpus], out, features=CHEAP, progress=seen.append)
    status = {o.media_id: o.status for o in report.outcomes}
    assert status == {"a_red": "cached", "b_broken": "failed", "c_blue": "done", "d_green": "done"}
    # one event when the stage starts, then one per video (the cached one first)
    assert [(e.stage, e.done, e.total, e.unit) for e in seen] == [
        ("extract", k, 4, "videos") for k in range(5)
    ]
    assert seen[1].message == "a_red cached"
    assert sorted(e.message for e in seen[1:]) == sorted(f"{m} {s}" for m, s in status.items())
    assert report.outcomes[0].computed == [] and report.outcomes[0].cached == [
        "audio",
        "colour",
        "lighting",
    ]
    assert _mtimes(out / "cache" / "a_red") == cached_a  # not recomputed

    errors = pd.read_csv(out / "errors.csv")
    assert errors["media_id"].tolist() == ["b_broken"]
    assert "b_broken.mp4: is not a readable media file" in errors["error"].iloc[0]
    assert json.loads((out / "errors.json").read_text())[0]["error_type"] == "DataError"

    # the outputs are a folder the loaders read; the failed video is left out
    items = load_video_urls(out / "video_urls.csv")
    assert items == ["a_red", "c_blue", "d_green"]
    catalog = ItemCatalog(items, source=out / "video_urls.csv")
    audio = _read_emobase(out / "emobase_features")
    assert audio.groupby(level="media_id").size().to_dict() == {
        "a_red": 6,
        "c_blue": 4,
        "d_green": 5,
    }
    visual = load_visual_features(out / "combined_visual_features.csv", catalog)
    assert visual.shape == (15, 29)
    # a_red: red for 1.5 s (frames 0-2) then green (frames 3-5, hue 120 deg = bin 6)
    np.testing.assert_allclose(visual.loc["a_red", "colour__hue_06"], [0, 0, 0, 1, 1, 1], atol=1e-9)
    excerpts = pd.read_csv(out / "excerpts.csv")
    assert excerpts.set_index("media_id")["rows"].to_dict()["c_blue"] == 4

    # a third run with one more family computes only that family; partial caches resume
    (out / "cache" / "c_blue" / "lighting.npz").unlink()
    again = extract_batch([corpus], out, features="colour,lighting")
    computed = {o.media_id: o.computed for o in again.outcomes}
    assert computed == {"a_red": [], "b_broken": [], "c_blue": ["lighting"], "d_green": []}
    assert _mtimes(out / "cache" / "a_red") == cached_a


def test_a_changed_video_is_recomputed(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "v.mp4", [(1.0, RED)], tone(1.0))
    out = tmp_path / "out"
    extract_batch([clip.path], out, features="colour")
    write_video(tmp_path / "v.mp4", [(1.0, BLUE)], tone(1.0))  # same name, new content
    report = extract_batch([clip.path], out, features="colour")
    assert report.outcomes[0].computed == ["colour"]
    table = pd.read_csv(out / "combined_visual_features.csv")
    np.testing.assert_allclose(table["colour__hue_12"], 1.0, atol=1e-9)


def test_process_pool_and_dask_cluster_equal_the_local_run(corpus: Path, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    local = extract_batch([corpus], tmp_path / "local", features=CHEAP)
    pooled = extract_batch([corpus], tmp_path / "pool", features=CHEAP, workers=2)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        distributed = extract_batch(
            [corpus], tmp_path / "dask", features=CHEAP, scheduler=cluster.scheduler_address
        )
    for other in (pooled, distributed):
        assert [o.status for o in other.outcomes] == [o.status for o in local.outcomes]
        for name in ("combined_visual_features.csv", "errors.csv", "video_urls.csv"):
            assert (other.out_dir / name).read_text() == (local.out_dir / name).read_text().replace(
                str(local.out_dir), str(other.out_dir)
            )
        pd.testing.assert_frame_equal(
            _read_emobase(other.out_dir / "emobase_features"),
            _read_emobase(local.out_dir / "emobase_features"),
        )


def test_unreachable_scheduler_is_a_clear_error(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from muvi.errors import MuviError
    from muvi.features import batch

    monkeypatch.setattr(batch, "DASK_CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(MuviError, match="could not connect to the Dask scheduler"):
        extract_batch(
            [corpus / "c_blue.mp4"], tmp_path, features="colour", scheduler="tcp://127.0.0.1:9"
        )


def test_missing_weights_stop_the_batch(corpus: Path, tmp_path: Path) -> None:
    def needs_weights(media):  # type: ignore[no-untyped-def]
        raise WeightsError("faces weights missing: run `muvi weights fetch fer`")

    register(
        Extractor("fake_faces", "faces", "frames", lambda: ["faces__count"], needs_weights, True)
    )
    try:
        with pytest.raises(WeightsError, match="muvi weights fetch"):
            extract_batch([corpus / "c_blue.mp4"], tmp_path, features="colour,fake_faces")
    finally:
        unregister("fake_faces")


def test_inputs_and_starts(corpus: Path, tmp_path: Path) -> None:
    jobs = find_videos([corpus])
    assert [j.media_id for j in jobs] == ["a_red", "b_broken", "c_blue", "d_green"]
    with pytest.raises(DataError, match="no such file or folder"):
        find_videos([tmp_path / "missing"])
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(corpus / "c_blue.mp4", other / "c_blue.mp4")
    with pytest.raises(DataError, match="two videos have the id 'c_blue'"):
        find_videos([corpus, other])
    starts = tmp_path / "starts.csv"
    starts.write_text("media_id,start\nc_blue,0.5\nd_green,1\n")
    assert read_starts(starts) == {"c_blue": 0.5, "d_green": 1.0}
    report = extract_batch(
        [corpus / "c_blue.mp4"], tmp_path / "o", features="colour", starts=read_starts(starts)
    )
    assert report.outcomes[0].start == 0.5 and report.outcomes[0].duration == 1.5
    starts.write_text("media_id,start\nc_blue,soon\n")
    with pytest.raises(DataError, match=r"starts.csv, row 1: start 'soon' is not a time"):
        read_starts(starts)


def test_cli_extract(corpus: Path, tmp_path: Path) -> None:
    from muvi.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "extract",
                str(corpus),
                "--out",
                str(tmp_path),
                "--features",
                "colour,lighting",
                "--workers",
                "1",
            ]
        )
    assert exit_.value.code == 1  # one video failed; the others are written
    table = pd.read_csv(tmp_path / "combined_visual_features.csv")
    assert table["media_id"].unique().tolist() == ["a_red", "c_blue", "d_green"]
    assert pd.read_csv(tmp_path / "errors.csv")["media_id"].tolist() == ["b_broken"]


# --------------------------------------------------------------------------
# The cache is validated on load and keyed by extractor, version and weights
# --------------------------------------------------------------------------


def _damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _damage_zero(path: Path) -> None:
    path.write_bytes(b"")


def _damage_garbage(path: Path) -> None:
    path.write_bytes(b"\x80\x04not a cache entry at all" * 10)


def _damage_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _damage_columns(path: Path) -> None:
    with np.load(path) as arrays:
        values, columns = arrays["values"], arrays["columns"]
    np.savez(path.with_suffix(""), values=values, columns=columns[::-1])  # same file name


def _damage_rows(path: Path) -> None:
    with np.load(path) as arrays:
        values, columns = arrays["values"], arrays["columns"]
    np.savez(path.with_suffix(""), values=values[:-1], columns=columns)


@pytest.mark.parametrize(
    "damage",
    [
        _damage_truncate,
        _damage_zero,
        _damage_garbage,
        _damage_folder,
        _damage_columns,
        _damage_rows,
    ],
    ids=["truncated", "zero-bytes", "garbage", "folder", "columns", "rows"],
)
def test_a_damaged_cache_entry_is_recomputed_with_a_note(
    corpus: Path, tmp_path: Path, damage
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    clip = corpus / "c_blue.mp4"
    extract_batch([clip], out, features="colour,lighting")
    expected = pd.read_csv(out / "combined_visual_features.csv")
    entry = out / "cache" / "c_blue" / "colour.npz"
    damage(entry)
    report = extract_batch([clip], out, features="colour,lighting")
    outcome = report.outcomes[0]
    assert outcome.status == "done" and outcome.computed == ["colour"]
    assert outcome.cached == ["lighting"]
    assert len(report.cache_notes) == 1
    assert "colour.npz is damaged" in report.cache_notes[0]
    pd.testing.assert_frame_equal(pd.read_csv(out / "combined_visual_features.csv"), expected)
    # repaired: the next run takes everything from the cache, without a note
    third = extract_batch([clip], out, features="colour,lighting")
    assert third.outcomes[0].status == "cached" and third.cache_notes == []


def test_a_damaged_cache_index_is_recomputed_with_a_note(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    clip = corpus / "c_blue.mp4"
    extract_batch([clip], out, features="colour")
    (out / "cache" / "c_blue" / "source.json").write_bytes(b'{"source": ')
    report = extract_batch([clip], out, features="colour")
    assert report.outcomes[0].computed == ["colour"]
    assert "source.json is damaged" in report.cache_notes[0]


def test_replacing_a_weights_file_recomputes_the_features(tmp_path: Path) -> None:
    """The cache key holds the weights' sha256: features made with the old
    test weights are not returned as 'cached' once the file is replaced."""
    from muvi.testing import build_test_weights

    clip = write_video(tmp_path / "v.mp4", [(1.0, RED), (1.0, BLUE)], tone(2.0)).path
    weights, out = tmp_path / "weights", tmp_path / "out"
    build_test_weights(weights, ["scenes"], seed=0)
    first = extract_batch([clip], out, features="scenes", weights_dir=weights)
    old = pd.read_csv(out / "combined_visual_features.csv")
    again = extract_batch([clip], out, features="scenes", weights_dir=weights)
    assert again.outcomes[0].status == "cached"  # same weights: the cache is used
    assert first.outcomes[0].computed == ["scenes"]

    build_test_weights(weights, ["scenes"], seed=1)  # a different file, same name
    report = extract_batch([clip], out, features="scenes", weights_dir=weights)
    assert report.outcomes[0].status == "done" and report.outcomes[0].computed == ["scenes"]
    assert "other weights" in report.cache_notes[0]
    new = pd.read_csv(out / "combined_visual_features.csv")
    features = [c for c in new.columns if c.startswith("scenes__")]
    assert not np.allclose(new[features], old[features])  # really recomputed


def test_an_extractor_version_bump_recomputes(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from muvi.features import batch

    out = tmp_path / "out"
    extract_batch([corpus / "c_blue.mp4"], out, features="colour")
    monkeypatch.setattr(batch, "EXTRACTOR_VERSION", batch.EXTRACTOR_VERSION + 1)
    report = extract_batch([corpus / "c_blue.mp4"], out, features="colour")
    assert report.outcomes[0].computed == ["colour"]


def test_when_every_video_fails_no_feature_file_is_written(corpus: Path, tmp_path: Path) -> None:
    report = extract_batch([corpus / "b_broken.mp4"], tmp_path, features="audio,colour")
    assert [o.status for o in report.outcomes] == ["failed"]
    assert report.emobase_dir is None and report.visual_file is None
    assert not (tmp_path / "combined_visual_features.csv").exists()
    assert not (tmp_path / "emobase_features").exists()
    assert not (tmp_path / "video_urls.csv").exists()
    assert pd.read_csv(tmp_path / "errors.csv")["media_id"].tolist() == ["b_broken"]


def test_cli_extract_where_every_video_fails(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from muvi.cli import main

    broken = tmp_path / "videos"
    broken.mkdir()
    shutil.copy(corpus / "b_broken.mp4", broken / "one.mp4")
    (broken / "two.mkv").write_bytes(b"")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["extract", str(broken), "--out", str(out), "--features", "colour"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "nothing was extracted: all 2 videos failed" in err
    assert "one.mp4" in err and "two.mkv" in err
    assert "visual features:" not in err and "audio features:" not in err
    assert "Traceback" not in err
    assert not (out / "combined_visual_features.csv").exists()
