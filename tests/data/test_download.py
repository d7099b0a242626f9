"""Downloading the release, against a local HTTP server on 127.0.0.1.

The server serves a temporary copy of the real files (``../shared/muvi``),
supports HTTP ``Range`` (or ignores it on request), can cut a transfer short,
and answers a Zenodo-style records API. It records every request, so the
tests see what the downloader asked for.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from muvi.cli import main
from muvi.data.download import (
    LOCAL_MANIFEST,
    Checksum,
    DownloadError,
    download_release,
    fetch,
    parse_parts,
    release_manifest,
)
from muvi.data.loaders import load_dataset
from muvi.errors import DataError

ANNOTATION_FILES = ["video_urls.csv", "participant_data.csv", "media_data.csv", "av_data.csv"]


@dataclass
class ServerState:
    root: Path
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    ignore_range: bool = False
    cut: dict[str, int] = field(default_factory=dict)
    """path -> bytes sent before the connection is dropped (once)."""
    records: dict[str, Any] = field(default_factory=dict)
    """record id -> JSON answered at /api/records/<id>."""


class _Handler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output quiet
        pass

    def do_GET(self) -> None:
        path = unquote(urlparse(self.path).path).lstrip("/")
        wanted = self.headers.get("Range")
        self.state.requests.append((path, wanted))
        if path.startswith("api/records/"):
            record = path.split("/")[2]
            if record not in self.state.records:
                self._send(404, b"no such record")
                return
            self._send(200, json.dumps(self.state.records[record]).encode(), "application/json")
            return
        if path.endswith("/content"):
            path = path[: -len("/content")]
        file = self.state.root / path
        if not file.is_file():
            self._send(404, b"not found")
            return
        data = file.read_bytes()
        if wanted and not self.state.ignore_range:
            start = int(wanted.removeprefix("bytes=").removesuffix("-"))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            body = data[start:]
        else:
            self.send_response(200)
            body = data
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = self.state.cut.pop(path, None)
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _send(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def release_copy(muvi_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary copy of the real files plus a small av_data.csv made here
    (the real one is not available on these machines)."""
    root = tmp_path_factory.mktemp("release")
    shutil.copytree(muvi_dir, root, dirs_exist_ok=True)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    with open(root / "media_data.csv", newline="") as handle:
        first = next(csv.DictReader(handle))
    with open(root / "av_data.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["participant_id", "media_id", "media_modality", "seq", "valence", "arousal"]
        )
        for k in range(118):
            writer.writerow(
                [first["participant_id"], first["media_id"], first["media_modality"], k, 0.1, -0.2]
            )
    return root


@pytest.fixture
def server(release_copy: Path, tmp_path: Path) -> Iterator[tuple[str, ServerState]]:
    """A server over a per-test copy of the annotation files and the
    module-wide emobase folder (linked, never modified by the tests)."""
    root = tmp_path / "served"
    root.mkdir()
    for name in ANNOTATION_FILES:
        shutil.copy(release_copy / name, root / name)
    (root / "emobase_features").symlink_to(release_copy / "emobase_features")
    state = ServerState(root=root)
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        httpd.shutdown()
        httpd.server_close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_requests(state: ServerState) -> list[str]:
    return [p for p, _ in state.requests if not p.startswith("api/")]


# --------------------------------------------------------------------------


def test_shipped_manifest_matches_the_real_files(muvi_dir: Path) -> None:
    manifest = release_manifest()
    assert manifest["github"]["commit"] == "c9c8a973e184a26dcbec8791d1bae6f664b22e40"
    entries = {e["path"]: e for e in manifest["files"]}
    with open(muvi_dir / "video_urls.csv", newline="") as handle:
        ids = [r["video_id"] for r in csv.DictReader(handle)]
    expected = {*ANNOTATION_FILES, *(f"emobase_features/{i}.csv" for i in ids)}
    assert set(entries) == expected
    for path, entry in entries.items():
        if path == "av_data.csv":
            assert entry["sha256"] is None and "note" in entry
            continue
        assert entry["sha256"] == _sha256(muvi_dir / path), path
        assert entry["size"] == (muvi_dir / path).stat().st_size


def test_download_the_github_files_and_load_them(
    server: tuple[str, ServerState], muvi_dir: Path, tmp_path: Path
) -> None:
    url, state = server
    out = tmp_path / "out"
    report = download_release(out, what="annotations,emobase", base_url=url)
    assert len(report.downloaded) == 4 + 81 and not report.failed
    for name in ["video_urls.csv", "media_data.csv", "emobase_features/o_v9MY_FMcw.csv"]:
        assert (out / name).read_bytes() == (muvi_dir / name).read_bytes()
    assert not list(out.rglob("*.part"))
    # The file without a published checksum is kept, its sha256 recorded with a note.
    assert report.unverified == ["av_data.csv"]
    local = json.loads((out / LOCAL_MANIFEST).read_text())
    assert local["files"]["av_data.csv"]["sha256"] == _sha256(out / "av_data.csv")
    assert "no published checksum" in local["files"]["av_data.csv"]["note"]
    assert local["files"]["media_data.csv"]["verified"] == "sha256"
    study = load_dataset(out)
    assert len(study.items) == 81 and len(study.static) == 1494
    assert study.audio_features is not None and study.audio_features.shape[1] == 988
    assert study.dynamic is not None and len(study.dynamic) == 118


def test_second_run_skips_complete_files(server: tuple[str, ServerState], tmp_path: Path) -> None:
    url, state = server
    out = tmp_path / "out"
    download_release(out, what="annotations", base_url=url)
    assert sorted(_file_requests(state)) == sorted(ANNOTATION_FILES)
    state.requests.clear()
    report = download_release(out, what="annotations", base_url=url)
    assert sorted(report.skipped) == sorted(ANNOTATION_FILES)
    assert report.downloaded == [] and report.resumed == []
    assert _file_requests(state) == []  # nothing fetched again, av_data.csv included


def test_resume_after_a_truncated_part(
    server: tuple[str, ServerState], muvi_dir: Path, tmp_path: Path
) -> None:
    url, state = server
    out = tmp_path / "out"
    out.mkdir()
    full = (muvi_dir / "media_data.csv").read_bytes()
    (out / "media_data.csv.part").write_bytes(full[:40_000])
    report = download_release(out, what="annotations", base_url=url)
    assert report.resumed == ["media_data.csv"]
    assert ("media_data.csv", "bytes=40000-") in state.requests
    assert (out / "media_data.csv").read_bytes() == full
    assert not (out / "media_data.csv.part").exists()


def test_interrupted_transfer_keeps_the_part_and_resumes(
    server: tuple[str, ServerState], muvi_dir: Path, tmp_path: Path
) -> None:
    url, state = server
    out = tmp_path / "out"
    state.cut["media_data.csv"] = 100_000
    with pytest.raises(DownloadError) as caught:
        download_release(out, what="annotations", base_url=url)
    assert set(caught.value.report.failed) == {"media_data.csv"}
    assert "run again to resume" in caught.value.report.failed["media_data.csv"]
    # What arrived before the cut stays in the .part (up to the last whole chunk read).
    kept = (out / "media_data.csv.part").stat().st_size
    assert 0 < kept <= 100_000
    assert (out / "video_urls.csv").exists()  # the others are kept
    report = download_release(out, what="annotations", base_url=url)
    assert report.resumed == ["media_data.csv"]
    assert ("media_data.csv", f"bytes={kept}-") in state.requests
    assert (out / "media_data.csv").read_bytes() == (muvi_dir / "media_data.csv").read_bytes()


def test_server_that_ignores_range_restarts_cleanly(
    server: tuple[str, ServerState], muvi_dir: Path, tmp_path: Path
) -> None:
    url, state = server
    state.ignore_range = True
    out = tmp_path / "out"
    out.mkdir()
    (out / "media_data.csv.part").write_bytes(b"x" * 1000)  # stale, would corrupt an append
    report = download_release(out, what="annotations", base_url=url)
    assert "media_data.csv" in report.downloaded
    assert (out / "media_data.csv").read_bytes() == (muvi_dir / "media_data.csv").read_bytes()


def test_checksum_mismatch_deletes_the_file_and_keeps_the_others(
    server: tuple[str, ServerState], tmp_path: Path
) -> None:
    url, state = server
    served = state.root / "participant_data.csv"
    served.write_bytes(served.read_bytes().replace(b"Female", b"female", 1))
    out = tmp_path / "out"
    with pytest.raises(DownloadError) as caught:
        download_release(out, what="annotations", base_url=url)
    failed = caught.value.report.failed
    assert set(failed) == {"participant_data.csv"}
    assert "checksum mismatch" in failed["participant_data.csv"]
    assert "sha256:329c3e42" in failed["participant_data.csv"]
    assert "participant_data.csv" in str(caught.value) and "checksum mismatch" in str(caught.value)
    assert not (out / "participant_data.csv").exists()
    assert not (out / "participant_data.csv.part").exists()
    for name in ("video_urls.csv", "media_data.csv", "av_data.csv"):
        assert (out / name).exists()
    local = json.loads((out / LOCAL_MANIFEST).read_text())
    assert "participant_data.csv" not in local["files"] and "media_data.csv" in local["files"]


def test_404_is_a_clear_error(server: tuple[str, ServerState], tmp_path: Path) -> None:
    url, state = server
    (state.root / "av_data.csv").unlink()
    out = tmp_path / "out"
    with pytest.raises(DownloadError) as caught:
        download_release(out, what="annotations", base_url=url)
    message = caught.value.report.failed["av_data.csv"]
    assert message.startswith("av_data.csv: not found on the server (HTTP 404)")
    assert f"{url}/av_data.csv" in message
    assert (out / "media_data.csv").exists()


def test_fetch_single_file_with_md5(server: tuple[str, ServerState], tmp_path: Path) -> None:
    url, state = server
    data = (state.root / "video_urls.csv").read_bytes()
    good = Checksum("md5", hashlib.md5(data).hexdigest())
    result = fetch(f"{url}/video_urls.csv", tmp_path / "v.csv", expected=good)
    assert (result.status, result.verified) == ("downloaded", "md5")
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    bad = Checksum("md5", "0" * 32)
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch(f"{url}/video_urls.csv", tmp_path / "w.csv", expected=bad)
    assert not (tmp_path / "w.csv").exists() and not (tmp_path / "w.csv.part").exists()


def test_zenodo_record_listing(server: tuple[str, ServerState], tmp_path: Path) -> None:
    url, state = server
    folder = state.root / "zenodo" / "7128177"
    folder.mkdir(parents=True)
    (folder / "visual_features.csv").write_text("media_id,frame,colour__hue_00\nbb,0,0.5\n")
    (folder / "audio.zip").write_bytes(b"PK\x03\x04 not really a zip")
    entries = []
    for file in sorted(folder.iterdir()):
        md5 = hashlib.md5(file.read_bytes()).hexdigest()
        entries.append(
            {
                "key": file.name,
                "size": file.stat().st_size,
                "checksum": f"md5:{md5}",
                "links": {"self": f"{url}/zenodo/7128177/{file.name}/content"},
            }
        )
    state.records["7128177"] = {"id": 7128177, "files": entries}
    out = tmp_path / "out"
    report = download_release(out, what="features", base_url=url, zenodo_url=f"{url}/api/records")
    assert sorted(report.downloaded) == [
        "zenodo_features/audio.zip",
        "zenodo_features/visual_features.csv",
    ]
    assert (out / "zenodo_features" / "audio.zip").read_bytes() == (
        folder / "audio.zip"
    ).read_bytes()
    local = json.loads((out / LOCAL_MANIFEST).read_text())
    assert local["files"]["zenodo_features/audio.zip"]["verified"] == "md5"
    # A record the API does not know is a clear error.
    with pytest.raises(
        DownloadError, match=r"Zenodo record 7127775: not found on the server \(HTTP 404\)"
    ):
        download_release(out, what="media", base_url=url, zenodo_url=f"{url}/api/records")


def test_zenodo_refuses_unsafe_names(server: tuple[str, ServerState], tmp_path: Path) -> None:
    url, state = server
    state.records["7128177"] = {
        "files": [{"key": "../evil.csv", "links": {"self": f"{url}/x"}, "checksum": "md5:00"}]
    }
    with pytest.raises(DownloadError, match="unsafe file name '../evil.csv'"):
        download_release(tmp_path / "out", what="features", zenodo_url=f"{url}/api/records")
    assert not (tmp_path / "evil.csv").exists()


def test_parse_parts() -> None:
    assert parse_parts("media,annotations") == ("annotations", "media")
    with pytest.raises(DataError, match="unknown part videos"):
        parse_parts("annotations,videos")


def test_cli_download(
    server: tuple[str, ServerState], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, state = server
    out = tmp_path / "out"
    main(["download", "--out", str(out), "--what", "annotations", "--base-url", url])
    assert "4 downloaded" in capsys.readouterr().err
    (state.root / "media_data.csv").unlink()
    (out / "media_data.csv").unlink()
    with pytest.raises(SystemExit) as exited:
        main(["download", "--out", str(out), "--what", "annotations", "--base-url", url])
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error:")
    assert "media_data.csv: not found on the server (HTTP 404)" in last


def test_progress_events_count_files_and_bytes(
    server: tuple[str, ServerState], tmp_path: Path
) -> None:
    """The ``progress`` callback sees every file once (stage ``download``) and the
    bytes of each file up to its size on disk (stage ``file``)."""
    from muvi.progress import ProgressEvent

    url, _state = server
    events: list[ProgressEvent] = []
    out = tmp_path / "out"
    download_release(out, what="annotations", base_url=url, progress=events.append)
    files = [e for e in events if e.stage == "download"]
    assert [(e.done, e.total, e.unit) for e in files] == [
        (k, len(ANNOTATION_FILES), "files") for k in range(len(ANNOTATION_FILES) + 1)
    ]
    assert sorted(e.message for e in files[1:]) == sorted(ANNOTATION_FILES)
    last_bytes = {e.message: e for e in events if e.stage == "file"}
    assert sorted(last_bytes) == sorted(ANNOTATION_FILES)
    for name, event in last_bytes.items():
        size = (out / name).stat().st_size
        assert event.unit == "bytes" and event.done == size and event.finished
