"""``muvi download --dataset``: the music datasets' fetch against a local HTTP server."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from muvi.data import download
from muvi.errors import DataError


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A folder served on 127.0.0.1 (started and stopped by the test)."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _annotations_archive(path: Path) -> bytes:
    """A tar.gz holding two cont files of the 1000 Songs layout."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("valence_cont_average.csv", "arousal_cont_average.csv"):
            body = b"song_id,sample_15000ms,sample_15500ms\n2,0.1,0.2\n3,-0.1,0.0\n"
            info = tarfile.TarInfo(f"annotations/{name}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def test_fetch_check_and_unpack(served, tmp_path: Path, monkeypatch) -> None:
    base, root = served
    body = _annotations_archive(root / "annotations.tar.gz")
    digest = hashlib.sha256(body).hexdigest()
    entry = download.MusicDataset(
        name="emomusic",
        title="a test copy",
        files=(
            download.DatasetFile(
                "annotations.tar.gz", "http://unused", download.Checksum("sha256", digest)
            ),
        ),
        terms="test",
        checksums="computed by the test",
    )
    monkeypatch.setitem(download.MUSIC_DATASETS, "emomusic", entry)
    out = tmp_path / "out"
    report = download.download_music_dataset("emomusic", out, base_url=base)
    assert report.downloaded == ["annotations.tar.gz"] and not report.unverified
    assert (out / "annotations" / "valence_cont_average.csv").is_file()
    from muvi.data.formats import open_study

    study = open_study(out / "annotations", features=False)
    assert study.layout == "emomusic" and study.items == ["2", "3"]
    again = download.download_music_dataset("emomusic", out, base_url=base)
    assert again.skipped == ["annotations.tar.gz"]


def test_the_real_checksums_refuse_other_bytes(served, tmp_path: Path) -> None:
    base, root = served
    for file in download.MUSIC_DATASETS["emomusic"].files:
        (root / file.name).write_bytes(b"not the published file")
    with pytest.raises(download.DownloadError) as caught:
        download.download_music_dataset("emomusic", tmp_path / "out", base_url=base)
    assert len(caught.value.report.failed) == 3
    assert not (tmp_path / "out" / "clips_45sec.tar.gz").exists()  # a mismatch deletes the file


def test_deam_has_no_published_checksum_so_the_sha256_is_recorded(served, tmp_path: Path) -> None:
    import json
    import zipfile

    base, root = served
    for file in download.MUSIC_DATASETS["deam"].files:
        with zipfile.ZipFile(root / file.name, "w") as zipped:
            zipped.writestr(f"{file.name[:-4]}/readme.txt", "x")
    report = download.download_music_dataset("deam", tmp_path / "out", base_url=base)
    assert sorted(report.unverified) == ["DEAM_Annotations.zip", "DEAM_audio.zip"]
    manifest = json.loads(report.manifest.read_text())
    expected = hashlib.sha256((root / "DEAM_audio.zip").read_bytes()).hexdigest()
    assert manifest["files"]["DEAM_audio.zip"]["sha256"] == expected
    assert (tmp_path / "out" / "DEAM_audio" / "readme.txt").is_file()


@pytest.mark.parametrize(
    ("name", "words"), [("pmemo", "no stable direct URL"), ("sewa", "agreement")]
)
def test_datasets_it_cannot_fetch_say_why(name: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"muvi cannot download {name}: .*{words}"):
        download.download_music_dataset(name, tmp_path)


def test_an_unknown_dataset_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown dataset 'x' .*emomusic, deam, pmemo"):
        download.download_music_dataset("x", tmp_path)
