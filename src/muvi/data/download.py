"""Getting the public MuVi release from its public locations.

* The GitHub repository AMAAI-Lab/MuVi, raw files at a pinned commit: the
  annotation files (``video_urls.csv``, ``participant_data.csv``,
  ``media_data.csv``, ``av_data.csv``) and ``emobase_features/<id>.csv``.
* Zenodo record 7128177 (all extracted features, audio and visual) and
  Zenodo record 7127775 (the media files of every modality), whose file lists
  come from the Zenodo records API.

Every file is streamed into ``<name>.part`` and renamed when complete; an
interrupted download resumes from the ``.part`` with an HTTP ``Range``
request. Files are checked against the release manifest shipped with the
package (``release_manifest.json``: sha256 of the files of the pinned commit)
or against the md5 that Zenodo publishes; a file without a known checksum is
kept and its computed sha256 recorded. A mismatch deletes that file (the
others are kept) and is reported. Every run writes ``download_manifest.json``
in the output folder: what was fetched, from where, its sha256 and how it
was verified. A second run skips the files that are already complete.

Examples:
    >>> sorted(PARTS)
    ['annotations', 'emobase', 'features', 'media']
    >>> Checksum.parse("md5:0cc175b9c0f1b6a831c399e269772661").algorithm
    'md5'
    >>> len(release_manifest()["files"])
    85
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import requests

from muvi.errors import DataError
from muvi.progress import ProgressCallback, Steps, emit

logger = logging.getLogger(__name__)

GITHUB_REPOSITORY = "AMAAI-Lab/MuVi"
GITHUB_COMMIT = "c9c8a973e184a26dcbec8791d1bae6f664b22e40"
GITHUB_RAW_URL = f"https://raw.githubusercontent.com/{GITHUB_REPOSITORY}/{GITHUB_COMMIT}"
"""Raw files of the pinned commit of the public repository."""
ZENODO_RECORDS_URL = "https://zenodo.org/api/records"
ZENODO_FEATURES_RECORD = "7128177"
"""All extracted features (audio and visual)."""
ZENODO_MEDIA_RECORD = "7127775"
"""The media files of every modality."""

PARTS: dict[str, str] = {
    "annotations": "the item list, participants, static and dynamic annotations (GitHub)",
    "emobase": "the emobase audio features, one CSV per item (GitHub)",
    "features": f"all extracted features, audio and visual (Zenodo record {ZENODO_FEATURES_RECORD})",
    "media": f"the media files of every modality (Zenodo record {ZENODO_MEDIA_RECORD})",
}
DEFAULT_PARTS: tuple[str, ...] = ("annotations", "emobase")
"""What ``muvi download`` fetches unless told otherwise (the GitHub files,
about 90 MB); the Zenodo records are large and fetched on request."""
ZENODO_FOLDERS: dict[str, tuple[str, str]] = {
    "features": (ZENODO_FEATURES_RECORD, "zenodo_features"),
    "media": (ZENODO_MEDIA_RECORD, "zenodo_media"),
}
"""Part -> (Zenodo record id, sub-folder of the output folder)."""
LOCAL_MANIFEST = "download_manifest.json"
CHUNK_BYTES = 1 << 16


# --------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algorithm`` (``sha256`` or ``md5``) and hex ``value``."""

    algorithm: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Checksum:
        """Parse ``"<algorithm>:<hex>"`` (Zenodo's form); a bare hex is sha256."""
        algorithm, sep, value = text.partition(":")
        if not sep:
            algorithm, value = "sha256", text
        algorithm = algorithm.strip().lower()
        if algorithm not in ("sha256", "md5"):
            raise ValueError(f"unsupported checksum algorithm {algorithm!r}")
        return cls(algorithm, value.strip().lower())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


def file_digests(path: Path) -> dict[str, str]:
    """The sha256 and md5 of a file, read once in chunks."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha256.update(chunk)
            md5.update(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}


# --------------------------------------------------------------------------
# The resumable fetcher
# --------------------------------------------------------------------------


@dataclass
class FetchResult:
    """What :func:`fetch` did with one file."""

    path: Path
    status: str
    """``downloaded``, ``resumed`` (continued a ``.part``) or ``skipped``."""
    sha256: str
    size: int
    verified: str
    """How the content was checked: ``sha256``/``md5`` against a published
    value, or ``unverified`` (no checksum known; the sha256 was computed)."""


class _Bytes:
    """Reports the bytes of one file in transfer (stage ``file``, unit ``bytes``)."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress
        self.name = ""
        self.total: int | None = None
        self.done = 0

    def start(self, name: str, total: int | None, done: int) -> None:
        self.name, self.total, self.done = name, total, done
        emit(self.progress, "file", done, total, name, unit="bytes")

    def advance(self, n: int) -> None:
        self.done += n
        emit(self.progress, "file", self.done, self.total, self.name, unit="bytes")


def _check(path: Path, expected: Checksum | None, name: str) -> tuple[dict[str, str], str]:
    digests = file_digests(path)
    if expected is None:
        return digests, "unverified"
    if digests[expected.algorithm] != expected.value:
        path.unlink()
        raise DataError(
            f"checksum mismatch (expected {expected}, got {expected.algorithm}:"
            f"{digests[expected.algorithm]}); the file was deleted, run again to retry",
            file=name,
        )
    return digests, expected.algorithm


def _http_error(response: requests.Response, url: str, name: str) -> DataError:
    reason = response.reason or "error"
    if response.status_code == 404:
        return DataError(f"not found on the server (HTTP 404) at {url}", file=name)
    return DataError(
        f"the server answered HTTP {response.status_code} {reason} for {url}", file=name
    )


def fetch(
    url: str,
    dest: str | Path,
    *,
    expected: Checksum | None = None,
    known_sha256: str | None = None,
    session: requests.Session | None = None,
    progress: ProgressCallback | None = None,
    name: str | None = None,
    timeout: float = 60.0,
) -> FetchResult:
    """Download ``url`` to ``dest``, resuming a ``.part`` file and checking it.

    Args:
        url: the file's address.
        dest: where it goes; the download is written to ``dest.part`` first.
        expected: the published checksum, when one is known.
        known_sha256: the sha256 recorded by an earlier run (lets a file
            without a published checksum be skipped when unchanged).
        session: a requests session to reuse.
        progress: called with a :class:`muvi.progress.ProgressEvent` (stage
            ``file``, unit ``bytes``, the message naming the file) as bytes
            arrive; None is silent.
        name: how the file is named in messages (default: ``dest``).
        timeout: seconds to wait for the server.

    Returns:
        What was done, with the file's sha256.

    Raises:
        DataError: HTTP error (404 named as such), connection failure or
            interrupted transfer (the ``.part`` is kept for the next run),
            checksum mismatch (the file is deleted).
    """
    dest = Path(dest)
    label = name or str(dest)
    if dest.exists():
        digests = file_digests(dest)
        if expected is not None and digests[expected.algorithm] == expected.value:
            return FetchResult(
                dest, "skipped", digests["sha256"], dest.stat().st_size, expected.algorithm
            )
        if expected is None and known_sha256 is not None and digests["sha256"] == known_sha256:
            return FetchResult(
                dest, "skipped", digests["sha256"], dest.stat().st_size, "unverified"
            )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    http = session or requests.Session()
    bar = _Bytes(progress)
    try:
        response = http.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.RequestException as err:
        raise DataError(f"could not reach {url} ({type(err).__name__})", file=label) from err
    with response:
        if offset and response.status_code == 416:
            # The .part may already hold the whole file; otherwise start over.
            response.close()
            try:
                digests, verified = _check(part, expected, label)
            except DataError:
                return fetch(
                    url,
                    dest,
                    expected=expected,
                    session=http,
                    progress=progress,
                    name=label,
                    timeout=timeout,
                )
            part.replace(dest)
            return FetchResult(dest, "resumed", digests["sha256"], dest.stat().st_size, verified)
        if response.status_code not in (200, 206):
            raise _http_error(response, url, label)
        resumed = offset > 0 and response.status_code == 206
        if not resumed:
            offset = 0  # the server sent the whole file
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        bar.start(label, total, offset)
        received = 0
        try:
            with open(part, "ab" if resumed else "wb") as handle:
                for chunk in response.iter_content(CHUNK_BYTES):
                    handle.write(chunk)
                    received += len(chunk)
                    bar.advance(len(chunk))
        except requests.RequestException as err:
            raise DataError(
                f"the download from {url} was interrupted after {offset + received} bytes; "
                "run again to resume",
                file=label,
            ) from err
    if total is not None and offset + received < total:
        raise DataError(
            f"the download from {url} stopped after {offset + received} of {total} bytes; "
            "run again to resume",
            file=label,
        )
    digests, verified = _check(part, expected, label)
    part.replace(dest)
    return FetchResult(
        dest,
        "resumed" if resumed else "downloaded",
        digests["sha256"],
        dest.stat().st_size,
        verified,
    )


# --------------------------------------------------------------------------
# What the release holds
# --------------------------------------------------------------------------


def release_manifest() -> dict[str, Any]:
    """The release manifest shipped with the package (GitHub files and their sha256)."""
    text = resources.files("muvi.data").joinpath("release_manifest.json").read_text("utf-8")
    manifest: dict[str, Any] = json.loads(text)
    return manifest


@dataclass(frozen=True)
class ReleaseFile:
    """One file to fetch: its address, where it goes, and its checksum if known."""

    path: str
    """Relative path in the output folder (POSIX form)."""
    url: str
    part: str
    expected: Checksum | None = None
    size: int | None = None


def _safe_relative(path: str, source: str) -> str:
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or any(p in ("..", "") for p in parts):
        raise DataError(f"refusing the unsafe file name {path!r}", file=source)
    return str(PurePosixPath(*parts))


def github_files(parts: Iterable[str], base_url: str = GITHUB_RAW_URL) -> list[ReleaseFile]:
    """The GitHub files of the release for the chosen parts, from the manifest.

    Examples:
        >>> files = github_files(["annotations"], "http://127.0.0.1:8000")
        >>> [f.path for f in files]
        ['video_urls.csv', 'participant_data.csv', 'media_data.csv', 'av_data.csv']
        >>> files[0].url
        'http://127.0.0.1:8000/video_urls.csv'
    """
    wanted = set(parts)
    base = base_url.rstrip("/")
    out = []
    for entry in release_manifest()["files"]:
        if entry["part"] not in wanted:
            continue
        sha = entry.get("sha256")
        out.append(
            ReleaseFile(
                path=entry["path"],
                url=f"{base}/{entry['path']}",
                part=entry["part"],
                expected=Checksum("sha256", sha) if sha else None,
                size=entry.get("size"),
            )
        )
    return out


def zenodo_files(
    record: str,
    part: str,
    folder: str,
    *,
    records_url: str = ZENODO_RECORDS_URL,
    session: requests.Session | None = None,
    timeout: float = 60.0,
) -> list[ReleaseFile]:
    """The files of a Zenodo record, listed through the records API.

    Accepts both forms of the API's answer (``files`` as a list, or as
    ``{"entries": ...}``), takes each file's download link and md5.

    Args:
        record: the record id (e.g. ``7128177``).
        part: the part these files belong to.
        folder: sub-folder of the output folder that receives them.
        records_url: the records API (``https://zenodo.org/api/records``).
        session: a requests session to reuse.
        timeout: seconds to wait for the server.

    Returns:
        One :class:`ReleaseFile` per file of the record.

    Raises:
        DataError: the API cannot be reached or answers something unexpected.
    """
    url = f"{records_url.rstrip('/')}/{record}"
    name = f"Zenodo record {record}"
    http = session or requests.Session()
    try:
        response = http.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as err:
        raise DataError(
            f"could not reach the Zenodo records API at {url} ({type(err).__name__})", file=name
        ) from err
    if response.status_code != 200:
        raise _http_error(response, url, name)
    try:
        listing = response.json()
    except ValueError as err:
        raise DataError(f"the records API at {url} did not answer JSON", file=name) from err
    files = listing.get("files") if isinstance(listing, dict) else None
    if isinstance(files, dict):
        files = files.get("entries")
        files = list(files.values()) if isinstance(files, dict) else files
    if not isinstance(files, list) or not files:
        raise DataError(f"the records API at {url} lists no files", file=name)
    out = []
    for entry in files:
        key = entry.get("key") or entry.get("filename")
        links = entry.get("links") or {}
        link = links.get("content") or links.get("download") or links.get("self")
        if not key or not link:
            raise DataError(f"a file entry without a name or link at {url}", file=name)
        if (
            not str(link).endswith("/content")
            and "/api/records/" in str(link)
            and "/files/" in str(link)
        ):
            link = f"{link}/content"
        checksum = entry.get("checksum")
        out.append(
            ReleaseFile(
                path=f"{folder}/{_safe_relative(str(key), name)}",
                url=str(link),
                part=part,
                expected=Checksum.parse(checksum) if checksum else None,
                size=entry.get("size"),
            )
        )
    return out


# --------------------------------------------------------------------------
# Downloading the release
# --------------------------------------------------------------------------


@dataclass
class DownloadReport:
    """What :func:`download_release` did."""

    out: Path
    downloaded: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    """Files without a published checksum (their sha256 is in the local manifest)."""
    failed: dict[str, str] = field(default_factory=dict)
    """Relative path -> the error, one sentence."""
    manifest: Path | None = None


class DownloadError(DataError):
    """Some files of the release could not be fetched; the rest were kept.

    ``report`` says what was fetched and what failed.
    """

    def __init__(self, problem: str, report: DownloadReport) -> None:
        super().__init__(problem, file=report.out)
        self.report = report


def parse_parts(text: str | Sequence[str]) -> tuple[str, ...]:
    """Parse ``--what`` (comma-separated part names, or ``all``).

    Examples:
        >>> parse_parts("emobase, annotations")
        ('annotations', 'emobase')
        >>> parse_parts("all")
        ('annotations', 'emobase', 'features', 'media')
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    wanted = {n.strip() for n in names if n.strip()}
    if "all" in wanted:
        return tuple(PARTS)
    unknown = sorted(wanted - set(PARTS))
    if unknown or not wanted:
        raise DataError(
            f"unknown part {', '.join(unknown) or '(none given)'}; choose from {', '.join(PARTS)} or all"
        )
    return tuple(p for p in PARTS if p in wanted)


def _load_local_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"files": {}}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"files": {}}  # rebuilt from the files themselves on this run
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return {"files": {}}
    return data


def download_release(
    out: str | Path,
    *,
    what: str | Sequence[str] = DEFAULT_PARTS,
    base_url: str = GITHUB_RAW_URL,
    zenodo_url: str = ZENODO_RECORDS_URL,
    progress: ProgressCallback | None = None,
    timeout: float = 60.0,
) -> DownloadReport:
    """Fetch the public MuVi release into ``out``.

    Args:
        out: the output folder (created); the GitHub files land in the
            published layout, so ``muvi.data.loaders.load_dataset(out)``
            reads it; Zenodo files go to ``zenodo_features/`` and
            ``zenodo_media/``.
        what: parts to fetch (see :data:`PARTS`), a list or ``"a,b"``.
        base_url: raw files of the GitHub repository at the pinned commit.
        zenodo_url: the Zenodo records API.
        progress: called with :class:`muvi.progress.ProgressEvent` s: stage
            ``download`` (unit ``files``) after each file, stage ``file``
            (unit ``bytes``) as a file's bytes arrive; None (the default) is silent.
        timeout: seconds to wait for a server.

    Returns:
        The report; ``download_manifest.json`` in ``out`` lists every file
        with its source, sha256 and how it was verified.

    Raises:
        DownloadError: one or more files failed (404, checksum mismatch,
            interrupted transfer); the others are kept and recorded.
    """
    parts = parse_parts(what)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = DownloadReport(out=out)
    manifest_path = out / LOCAL_MANIFEST
    local = _load_local_manifest(manifest_path)
    records: dict[str, Any] = local["files"]
    http = requests.Session()

    files = github_files([p for p in parts if p in ("annotations", "emobase")], base_url)
    for part in parts:
        if part in ZENODO_FOLDERS:
            record, folder = ZENODO_FOLDERS[part]
            try:
                files += zenodo_files(
                    record, part, folder, records_url=zenodo_url, session=http, timeout=timeout
                )
            except DataError as err:
                report.failed[f"{folder}/"] = str(err)

    overall = Steps(progress, "download", len(files), unit="files")
    overall.start("MuVi release")
    for item in files:
        target = out / item.path
        try:
            result = fetch(
                item.url,
                target,
                expected=item.expected,
                known_sha256=(records.get(item.path) or {}).get("sha256"),
                session=http,
                progress=progress,
                name=item.path,
                timeout=timeout,
            )
        except DataError as err:
            report.failed[item.path] = str(err)
            records.pop(item.path, None)
        else:
            {"downloaded": report.downloaded, "resumed": report.resumed, "skipped": report.skipped}[
                result.status
            ].append(item.path)
            logger.debug("%s: %s (%s)", item.path, result.status, result.verified)
            record_entry: dict[str, Any] = {
                "url": item.url,
                "part": item.part,
                "size": result.size,
                "sha256": result.sha256,
                "verified": result.verified,
            }
            if item.expected is not None:
                record_entry["expected"] = str(item.expected)
            if result.verified == "unverified":
                report.unverified.append(item.path)
                record_entry["note"] = (
                    "no published checksum: this sha256 was computed after the download"
                )
            records[item.path] = record_entry
        overall(item.path)
        # Written after every file, so an interruption loses nothing already fetched.
        _write_local_manifest(manifest_path, records, base_url, zenodo_url)
    report.manifest = manifest_path
    _write_local_manifest(manifest_path, records, base_url, zenodo_url)
    if report.failed:
        first, problem = next(iter(report.failed.items()))
        n = len(report.failed)
        kept = len(report.downloaded) + len(report.resumed) + len(report.skipped)
        raise DownloadError(
            f"{n} file{'s' if n > 1 else ''} could not be fetched (first: {problem}); "
            f"the {kept} complete files are kept, run again to retry",
            report,
        )
    return report


def _write_local_manifest(
    path: Path, records: dict[str, Any], base_url: str, zenodo_url: str
) -> None:
    body = {
        "description": "Files fetched by `muvi download`, with their sha256 and how each was verified.",
        "github": {"repository": GITHUB_REPOSITORY, "commit": GITHUB_COMMIT, "base_url": base_url},
        "zenodo": {
            "records_url": zenodo_url,
            "features": ZENODO_FEATURES_RECORD,
            "media": ZENODO_MEDIA_RECORD,
        },
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": dict(sorted(records.items())),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------
# Music datasets (muvi download --dataset NAME)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetFile:
    """One published file of a music dataset."""

    name: str
    url: str
    checksum: Checksum | None = None
    """Published (or independently recorded) digest; None: unverified, the
    sha256 is recorded in the local manifest."""


@dataclass(frozen=True)
class MusicDataset:
    """A music dataset that ``muvi download --dataset`` can fetch."""

    name: str
    title: str
    files: tuple[DatasetFile, ...]
    terms: str
    """What its publishers say about its use, with the source."""
    checksums: str
    """Where the checksums come from, or that none are published."""


EMOMUSIC_URL = "http://cvml.unige.ch/databases/emoMusic"
DEAM_URL = "https://cvml.unige.ch/databases/DEAM"

MUSIC_DATASETS: dict[str, MusicDataset] = {
    "emomusic": MusicDataset(
        name="emomusic",
        title="1000 Songs for Emotional Analysis of Music (Soleymani et al. 2013)",
        files=(
            DatasetFile(
                "clips_45sec.tar.gz",
                f"{EMOMUSIC_URL}/clips_45sec.tar.gz",
                Checksum(
                    "sha256", "3994a5d5fefc27f9540d1a69cd7f1294c68e6cb311ce49765021e2e9c7a1057b"
                ),
            ),
            DatasetFile(
                "annotations.tar.gz",
                f"{EMOMUSIC_URL}/annotations.tar.gz",
                Checksum(
                    "sha256", "e0cb0b06e1b0ce7f04b1572fc410937699b7fad9dae67ddaa745f06cda4b0b33"
                ),
            ),
            DatasetFile(
                "dataset_manual.pdf",
                f"{EMOMUSIC_URL}/dataset_manual.pdf",
                Checksum(
                    "sha256", "2bfc7f7cc58ac22283f54593ed5104a8210972fa182c1aca1da478e0dae77d44"
                ),
            ),
        ),
        terms=(
            "Creative Commons music from the Free Music Archive; see the dataset manual "
            "(http://cvml.unige.ch/databases/emoMusic/)"
        ),
        checksums="sha256 as recorded by the jukemir project (p-lambda/jukemir, assets/emomusic.json)",
    ),
    "deam": MusicDataset(
        name="deam",
        title="DEAM, the MediaEval Database for Emotional Analysis in Music (Aljanaki et al. 2017)",
        files=(
            DatasetFile("DEAM_Annotations.zip", f"{DEAM_URL}/DEAM_Annotations.zip"),
            DatasetFile("DEAM_audio.zip", f"{DEAM_URL}/DEAM_audio.zip"),
        ),
        terms=(
            "Creative Commons licensed music and annotations (Aljanaki, Yang, Soleymani 2017, "
            "PLOS ONE, doi:10.1371/journal.pone.0173392)"
        ),
        checksums="none published: each file's sha256 is computed and recorded in the manifest",
    ),
}
"""The music datasets with public direct URLs."""

NOT_DOWNLOADABLE: dict[str, str] = {
    "pmemo": (
        "no stable direct URL (a web site or a shared drive folder) and no published "
        "checksums; its README states no data licence, only research use with a citation: "
        "fetch it by hand from http://pmemo.hellohui.cn/"
    ),
    "liris-accede": "behind a request form on http://liris-accede.ec-lyon.fr/",
    "recola": "distributed under an end-user agreement, not by URL",
    "sewa": "distributed under an end-user agreement (http://db.sewaproject.eu/), not by URL",
}
"""Datasets ``muvi download`` cannot fetch, and why."""


def _unpack(archive: Path, out: Path) -> list[str]:
    """Unpack a ``.tar.gz`` or ``.zip`` into ``out``; members leaving ``out`` are refused."""
    import tarfile
    import zipfile

    root = out.resolve()
    names: list[str] = []
    if archive.name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(archive) as tar:
            tar.extractall(out, filter="data")
            names = tar.getnames()
    elif archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                if not (out / member).resolve().is_relative_to(root):
                    raise DataError(
                        f"archive member {member!r} lies outside the folder", file=archive
                    )
            zipped.extractall(out)
            names = zipped.namelist()
    return names


def download_music_dataset(
    name: str,
    out: str | Path,
    *,
    base_url: str | None = None,
    unpack: bool = True,
    progress: ProgressCallback | None = None,
    timeout: float = 60.0,
) -> DownloadReport:
    """Fetch a music dataset of :data:`MUSIC_DATASETS` into ``out`` and unpack it.

    Args:
        name: ``emomusic`` or ``deam`` (:data:`NOT_DOWNLOADABLE` says why the
            others cannot be fetched).
        out: the output folder (created).
        base_url: fetch every file from ``<base_url>/<file name>`` instead of
            the publisher (a mirror).
        unpack: unpack the archives into ``out``.
        progress: called as files and bytes arrive.
        timeout: seconds to wait for the server.

    Returns:
        What was fetched; ``download_manifest.json`` records each file's
        source, sha256 and how it was verified.

    Raises:
        DataError: an unknown dataset, or one that cannot be fetched (why).
        DownloadError: some files failed (a checksum mismatch deletes that
            file; the others are kept).
    """
    key = name.strip().lower()
    if key in NOT_DOWNLOADABLE:
        raise DataError(f"muvi cannot download {key}: {NOT_DOWNLOADABLE[key]}")
    if key not in MUSIC_DATASETS:
        known = ", ".join([*MUSIC_DATASETS, *NOT_DOWNLOADABLE])
        raise DataError(f"unknown dataset {name!r} (known: muvi, {known})")
    dataset = MUSIC_DATASETS[key]
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    report = DownloadReport(out=folder)
    manifest_path = folder / LOCAL_MANIFEST
    previous = _load_local_manifest(manifest_path).get("files", {})
    records: dict[str, Any] = dict(previous)
    steps = Steps(progress, "download", len(dataset.files), unit="files")
    steps.start()
    with requests.Session() as session:
        for file in dataset.files:
            url = f"{base_url.rstrip('/')}/{file.name}" if base_url else file.url
            known = previous.get(file.name, {}).get("sha256")
            try:
                result = fetch(
                    url,
                    folder / file.name,
                    expected=file.checksum,
                    known_sha256=known,
                    session=session,
                    progress=progress,
                    name=file.name,
                    timeout=timeout,
                )
            except DataError as err:
                report.failed[file.name] = str(err)
                steps(file.name)
                continue
            getattr(report, result.status).append(file.name)
            if result.verified == "unverified":
                report.unverified.append(file.name)
            records[file.name] = {
                "url": url,
                "sha256": result.sha256,
                "size": result.size,
                "verified": result.verified,
            }
            if unpack and result.status != "skipped":
                try:
                    records[file.name]["unpacked"] = len(_unpack(folder / file.name, folder))
                except (OSError, ValueError) as err:
                    report.failed[file.name] = f"{file.name}: could not be unpacked ({err})"
            steps(file.name)
    body = {
        "description": f"Files of {dataset.title} fetched by `muvi download --dataset {key}`.",
        "dataset": key,
        "terms": dataset.terms,
        "checksums": dataset.checksums,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": dict(sorted(records.items())),
    }
    tmp = manifest_path.with_name(manifest_path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    tmp.replace(manifest_path)
    report.manifest = manifest_path
    if report.failed:
        first = next(iter(report.failed.values()))
        raise DownloadError(f"{len(report.failed)} file(s) failed (first: {first})", report)
    return report
