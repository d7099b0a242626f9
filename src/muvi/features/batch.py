"""Feature extraction for one video and for whole corpora.

:func:`extract_video` turns one media file into the study's feature tables:
the emobase audio features and the visual features in the published
combined format, one row per 500 ms of the excerpt.

:func:`extract_batch` does it for many files and writes a folder that
:mod:`muvi.data.loaders` reads (``emobase_features/<id>.csv``,
``combined_visual_features.csv``, ``video_urls.csv``), with

- a per-video, per-extractor cache (``<out>/cache/<id>/<extractor>.npz``,
  written atomically, validated on load and keyed by the extractor, its version and
  its weights' sha256), so an interrupted run resumes where it stopped and a
  later run with more feature families computes only the new ones;
- a per-video error report (``errors.csv`` and ``errors.json``) that never
  stops the batch;
- local parallelism (``workers`` processes) or, for corpora that outgrow one
  machine, a Dask distributed cluster given its scheduler address. The
  workers of a cluster must see the video files at the same paths (shared
  storage); results come back to the caller, which writes the cache and the
  outputs.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from muvi.data import published
from muvi.data.published import write_atomically
from muvi.data.schema import (
    EMOBASE_DIR,
    ITEM_SAMPLE_INDEX,
    SAMPLE_PERIOD_S,
    VIDEO_URLS_FILE,
    VISUAL_FEATURES_FILE,
)
from muvi.errors import DataError, MuviError, WeightsError
from muvi.features.excerpt import ExcerptConfig, decode_frames, load_excerpt
from muvi.features.registry import Extractor, resolve
from muvi.progress import ProgressCallback, Steps

logger = logging.getLogger(__name__)

MEDIA_SUFFIXES = (
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".mpg",
    ".mpeg",
    ".mp3",
    ".wav",
    ".m4a",
    ".flac",
    ".ogg",
)
"""File suffixes taken from a folder given to :func:`extract_batch`."""

DASK_CONNECT_TIMEOUT_S = 20.0
"""How long to try reaching a Dask scheduler before giving up."""

CACHE_DIR = "cache"
ERRORS_CSV = "errors.csv"
ERRORS_JSON = "errors.json"
EXCERPTS_FILE = "excerpts.csv"
"""Per video: where its excerpt starts, its rows, and notes (short excerpt...)."""


# --------------------------------------------------------------------------
# One video
# --------------------------------------------------------------------------


@dataclass
class ExtractedFeatures:
    """The features of one video's excerpt.

    Attributes:
        media_id: the item's id.
        start: where the excerpt starts in the file (s).
        duration: seconds covered by the rows.
        families: one DataFrame per feature family, indexed by ``sample``.
        notes: what is worth reporting (music start found, short excerpt...).
    """

    media_id: str
    start: float
    duration: float
    families: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return round(self.duration / SAMPLE_PERIOD_S)

    @property
    def audio(self) -> pd.DataFrame | None:
        """emobase features indexed by (``media_id``, ``sample``), as
        :func:`muvi.data.loaders.load_emobase` returns them; None if not extracted."""
        table = self.families.get("audio")
        return None if table is None else _with_item_index(table, self.media_id)

    @property
    def visual(self) -> pd.DataFrame | None:
        """Visual features in the published combined format: ``media_id``,
        ``frame``, then the columns of each extracted family in family order;
        None if no visual family was extracted."""
        blocks = [t for f, t in self.families.items() if f != "audio"]
        if not blocks:
            return None
        table = pd.concat(blocks, axis=1)
        out = pd.DataFrame(
            {"media_id": self.media_id, "frame": np.arange(len(table), dtype="int64")}
        )
        return pd.concat([out, table.reset_index(drop=True)], axis=1)

    def table(self) -> pd.DataFrame:
        """Every extracted feature, indexed by (``media_id``, ``sample``):
        the tidy form used by the models (audio columns first)."""
        blocks = list(self.families.values())
        if not blocks:
            raise MuviError(f"no features were extracted for {self.media_id}")
        return _with_item_index(pd.concat(blocks, axis=1), self.media_id)


def _with_item_index(table: pd.DataFrame, media_id: str) -> pd.DataFrame:
    out = table.copy()
    out.index = pd.MultiIndex.from_arrays(
        [np.full(len(out), media_id, dtype=object), np.arange(len(out), dtype="int64")],
        names=list(ITEM_SAMPLE_INDEX),
    )
    return out


def extract_video(
    path: str | Path,
    *,
    features: str | Iterable[str] | None = None,
    start: float | None = None,
    media_id: str | None = None,
    weights_dir: str | Path | None = None,
    config: ExcerptConfig | None = None,
) -> ExtractedFeatures:
    """Extract the study's features from one video's excerpt.

    Args:
        path: the media file.
        features: extractor names (``"audio,colour,lighting"``, a list, or
            None for every family; see :func:`muvi.features.registry.resolve`).
        start: where the music starts (s); None finds it in the audio.
        media_id: the item's id; the file name without suffix by default.
        weights_dir: the pretrained weights folder (faces, scenes, objects, actions).
        config: how the excerpt is found and decoded.

    Returns:
        :class:`ExtractedFeatures` (``.audio``, ``.visual``, ``.table()``).

    Raises:
        DataError: an unreadable file or a missing stream.
        WeightsError: a needed weights file is missing.
        UnknownFeatureError: an extractor name nobody registered.
    """
    extractors = resolve(features)
    return _extract(
        path, extractors, start=start, media_id=media_id, weights_dir=weights_dir, config=config
    )


def _extract(
    path: str | Path,
    extractors: Sequence[Extractor],
    *,
    start: float | None,
    media_id: str | None,
    weights_dir: str | Path | None,
    config: ExcerptConfig | None,
) -> ExtractedFeatures:
    kinds = {e.kind for e in extractors}
    sound = [e for e in extractors if e.kind == "audio"]
    pictures = [e for e in extractors if e.kind != "audio"]
    # the audio first (it finds the music start), then the frames
    media = load_excerpt(
        path,
        start=start,
        media_id=media_id,
        kinds=kinds,
        weights_dir=weights_dir,
        config=config,
        defer_frames=True,
    )
    tables: dict[str, pd.DataFrame] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        # openSMILE and the video decoder both release the GIL: the audio
        # features are computed while the frames are decoded
        pending = [(e, pool.submit(e.extract, media)) for e in sound]
        if pictures:
            decode_frames(media, config)
            for e in pictures:
                tables[e.family] = e.extract(media)
        for e, future in pending:
            tables[e.family] = future.result()
    result = ExtractedFeatures(
        media_id=media.media_id, start=media.start, duration=media.duration, notes=list(media.notes)
    )
    result.families = {e.family: tables[e.family] for e in extractors}
    return result


# --------------------------------------------------------------------------
# Many videos
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoJob:
    """One video of a batch."""

    media_id: str
    path: Path
    start: float | None = None


@dataclass
class VideoOutcome:
    """What happened to one video of a batch.

    Attributes:
        media_id, path: the video.
        status: ``done`` (something computed), ``cached`` (all from the cache)
            or ``failed``.
        computed: extractors run in this batch.
        cached: extractors taken from the cache.
        start, duration: the excerpt (None when it failed before decoding).
        notes: the excerpt's notes.
        error: one-sentence reason when failed.
        error_type: the exception's class name.
        detail: the traceback, for unexpected errors (not user-input errors).
        seconds: time spent on this video.
        cache_notes: one sentence per cache entry found damaged or stale (recomputed).
    """

    media_id: str
    path: str
    status: str
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    start: float | None = None
    duration: float | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    detail: str | None = None
    seconds: float = 0.0
    cache_notes: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    """The result of :func:`extract_batch`.

    Attributes:
        out_dir: the output folder.
        outcomes: one per video, in input order.
        emobase_dir: ``<out>/emobase_features`` when audio was extracted.
        visual_file: ``<out>/combined_visual_features.csv`` when visual features were.
        errors_file: ``<out>/errors.csv`` (always written; empty when no error).
    """

    out_dir: Path
    outcomes: list[VideoOutcome]
    emobase_dir: Path | None = None
    visual_file: Path | None = None
    errors_file: Path | None = None

    @property
    def failed(self) -> list[VideoOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def succeeded(self) -> list[VideoOutcome]:
        return [o for o in self.outcomes if o.status != "failed"]

    @property
    def cache_notes(self) -> list[str]:
        """Every cache entry found damaged or stale and recomputed, one sentence each."""
        return [note for o in self.outcomes for note in o.cache_notes]

    def summary(self) -> str:
        """One line: counts of computed, cached and failed videos."""
        counts = {
            s: sum(o.status == s for o in self.outcomes) for s in ("done", "cached", "failed")
        }
        return (
            f"{len(self.outcomes)} videos: {counts['done']} extracted, {counts['cached']} "
            f"from the cache, {counts['failed']} failed"
        )


def find_videos(inputs: Iterable[str | Path]) -> list[VideoJob]:
    """The media files named by paths to files or folders (folders: their
    media files by suffix, sorted by name, not recursive).

    Raises:
        DataError: a path that does not exist, a folder without media files,
            or two files with the same id (file name without suffix).
    """
    jobs: list[VideoJob] = []
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES
            )
            if not found:
                raise DataError(
                    f"no media files ({', '.join(MEDIA_SUFFIXES[:5])}, ...) in this folder",
                    file=path,
                )
            jobs += [VideoJob(p.stem, p) for p in found]
        elif path.exists():
            jobs.append(VideoJob(path.stem, path))
        else:
            raise DataError("no such file or folder", file=path)
    seen: dict[str, Path] = {}
    for job in jobs:
        if job.media_id in seen and seen[job.media_id] != job.path:
            raise DataError(
                f"two videos have the id {job.media_id!r} (also {seen[job.media_id]}); rename one",
                file=job.path,
            )
        seen[job.media_id] = job.path
    return list({job.media_id: job for job in jobs}.values())


def read_starts(path: str | Path) -> dict[str, float]:
    """Excerpt starts from a CSV with columns ``media_id`` and ``start`` (s).

    Raises:
        DataError: missing columns, a start that is not a non-negative number,
            or an id given twice.
    """
    from muvi.data.loaders import _read_table, _require_columns

    path = Path(path)
    table = _read_table(path)  # refuses a missing, empty, binary or ill-formed file, or a folder
    _require_columns(table, ("media_id", "start"), path)
    starts: dict[str, float] = {}
    for row, (media_id, value) in enumerate(zip(table["media_id"], table["start"], strict=True), 1):
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(number) or number < 0:
            raise DataError(f"start {value!r} is not a time in seconds", file=path, row=row)
        if media_id in starts:
            raise DataError(f"item {media_id} is listed twice", file=path, row=row)
        starts[str(media_id)] = float(number)
    return starts


EXTRACTOR_VERSION = 2
"""Version of the extractors' outputs, part of every cache entry's key: bump it when an
extractor's output changes, and the entries made before are recomputed. (An extractor may
also carry its own ``version`` attribute; it joins the key.)"""

CACHE_SUFFIX = ".npz"
"""Cache entries are plain arrays (``values``, ``columns``) loaded without unpickling."""


def entry_key(extractor: Extractor, weights_dir: str | Path | None = None) -> dict[str, Any]:
    """What a cache entry of ``extractor`` depends on besides the video: the extractor's
    name, :data:`EXTRACTOR_VERSION` (and the extractor's own ``version`` if it has one),
    and for extractors with pretrained weights the sha256 of every weights file of its
    family in the weights folder (replacing a file invalidates the entries made with it).

    Args:
        extractor: the extractor.
        weights_dir: the weights folder it reads (None: the default folder).

    Returns:
        A JSON-serialisable mapping, stored with the entry and compared on load.

    Examples:
        >>> from muvi.features.registry import get
        >>> entry_key(get("colour"))
        {'extractor': 'colour', 'version': [2, None], 'weights': {}}
    """
    weights: dict[str, str] = {}
    if extractor.needs_weights:
        from muvi.features.weights import file_sha256, known_weights, resolve_weights_dir

        folder = resolve_weights_dir(weights_dir)
        for spec in known_weights(weights_dir).values():
            path = folder / spec.file_name
            if spec.family == extractor.family and path.is_file():
                weights[spec.name] = file_sha256(path)
    return {
        "extractor": extractor.name,
        "version": [EXTRACTOR_VERSION, getattr(extractor, "version", None)],
        "weights": weights,
    }


class _Cache:
    """``<out>/cache/<id>/``: one ``<extractor>.npz`` per extractor plus
    ``source.json`` (the file's size and modification time, the excerpt request,
    and each entry's :func:`entry_key`). An entry is used only when the source
    and its key match and it loads and has the extractor's columns and the
    excerpt's rows; a damaged entry is recomputed with a note, a stale one
    (another video, request, extractor version or weights file) silently."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, media_id: str) -> Path:
        return self.root / media_id

    def entry(self, media_id: str, name: str) -> Path:
        return self.folder(media_id) / f"{name}{CACHE_SUFFIX}"

    @staticmethod
    def _source(job: VideoJob, config: ExcerptConfig) -> dict[str, Any]:
        stat = job.path.stat()
        return {
            "path": str(job.path.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "start": job.start,
            "config": asdict(config),
        }

    def meta(
        self, job: VideoJob, config: ExcerptConfig, notes: list[str] | None = None
    ) -> dict[str, Any] | None:
        """The video's ``source.json`` when it describes this video and request; None
        otherwise (a note is added when the file is there but damaged)."""
        meta_file = self.folder(job.media_id) / "source.json"
        if not meta_file.exists():
            return None
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
            if not isinstance(meta.get("entries", {}), dict):
                raise ValueError("'entries' is not a JSON object")
            float(meta.get("duration"))  # type: ignore[arg-type]
        except (OSError, ValueError, TypeError) as err:  # JSONDecodeError, UnicodeDecodeError
            if notes is not None:
                notes.append(f"cache {meta_file} is damaged ({type(err).__name__}); recomputing")
            return None
        try:
            source = self._source(job, config)
        except OSError:
            return None
        if meta.get("source") != json.loads(json.dumps(source)):
            return None
        return meta

    def load(
        self, job: VideoJob, extractor: Extractor, meta: dict[str, Any], key: dict[str, Any]
    ) -> tuple[pd.DataFrame | None, str | None]:
        """One entry, validated: (table, None), or (None, None) when absent or stale,
        or (None, note) when damaged."""
        path = self.entry(job.media_id, extractor.name)
        if not path.exists() and not path.is_symlink():
            return None, None
        if meta.get("entries", {}).get(extractor.name) != json.loads(json.dumps(key)):
            return None, (
                f"cached {extractor.name} features of {job.media_id} were made by another "
                "extractor version or with other weights; recomputing"
            )
        rows = round(float(meta["duration"]) / SAMPLE_PERIOD_S)
        try:
            table = self._read(path, list(extractor.columns()), rows)
        except (OSError, ValueError) as err:
            return None, f"cache entry {path} is damaged ({err}); recomputing"
        return table, None

    @staticmethod
    def _read(path: Path, columns: list[str], rows: int | None) -> pd.DataFrame:
        """An entry's table; ValueError (or OSError) when it is not a complete entry."""
        if path.is_dir():
            raise ValueError("a folder, not a file")
        if path.stat().st_size == 0:
            raise ValueError("empty file")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                values = np.asarray(arrays["values"])
                names = [str(c) for c in np.asarray(arrays["columns"]).tolist()]
        except (OSError, ValueError):
            raise
        except Exception as err:  # truncated zip (BadZipFile), EOFError, a missing array
            raise ValueError(f"unreadable: {type(err).__name__}") from None
        if names != columns:
            raise ValueError("its columns differ from the extractor's")
        if (
            values.ndim != 2
            or values.shape[1] != len(columns)
            or (rows is not None and values.shape[0] != rows)
        ):
            raise ValueError(f"shape {values.shape}, expected ({rows}, {len(columns)})")
        if values.dtype.kind != "f":
            raise ValueError(f"values of type {values.dtype}, expected floats")
        return pd.DataFrame(
            values.astype("float64"),
            columns=columns,
            index=pd.RangeIndex(len(values), name="sample"),
        )

    def read(self, media_id: str, extractor: Extractor) -> pd.DataFrame:
        """An entry validated by :meth:`load` earlier in this batch (or just written)."""
        path = self.entry(media_id, extractor.name)
        try:
            return self._read(path, list(extractor.columns()), None)
        except (OSError, ValueError) as err:
            raise DataError(
                f"the cache entry changed during the batch ({err})", file=path
            ) from None

    def write(
        self,
        job: VideoJob,
        config: ExcerptConfig,
        result: ExtractedFeatures,
        extractors: Mapping[str, Extractor],
        keys: Mapping[str, dict[str, Any]],
    ) -> None:
        folder = self.folder(job.media_id)
        meta = self.meta(job, config)
        entries: dict[str, Any] = {}
        if meta is None and folder.exists():  # stale: the source or the request changed
            for old in folder.iterdir():
                if old.is_file() and old.suffix in (CACHE_SUFFIX, ".pkl"):
                    old.unlink()
        elif meta is not None:
            entries = dict(meta.get("entries", {}))
        for family, table in result.families.items():
            extractor = extractors[family]
            values = table.to_numpy(dtype="float64")
            columns = np.array([str(c) for c in table.columns])

            def save(tmp: Path, values: np.ndarray = values, columns: np.ndarray = columns) -> None:
                with open(tmp, "wb") as handle:
                    np.savez(handle, values=values, columns=columns)

            entry = self.entry(job.media_id, extractor.name)
            if entry.is_dir() and not entry.is_symlink():  # a damaged entry of our own cache
                shutil.rmtree(entry)
            write_atomically(entry, save)
            entries[extractor.name] = keys[extractor.name]
            legacy = entry.with_suffix(".pkl")  # the pickled entries of earlier versions
            if legacy.is_file():
                legacy.unlink()
        meta = {
            "source": self._source(job, config),
            "start": result.start,
            "duration": result.duration,
            "notes": result.notes,
            "entries": entries,
        }
        write_atomically(
            folder / "source.json",
            lambda tmp: tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8"),
        )


@dataclass
class _TaskResult:
    media_id: str
    features: ExtractedFeatures | None
    seconds: float
    error: str | None = None
    error_type: str | None = None
    detail: str | None = None


def _extract_task(
    job: VideoJob,
    names: Sequence[str],
    weights_dir: str | None,
    config: ExcerptConfig,
) -> _TaskResult:
    """Run in a worker process (or a Dask worker): never raises."""
    tic = time.perf_counter()
    try:
        extractors = resolve(list(names))
        result = _extract(
            job.path,
            extractors,
            start=job.start,
            media_id=job.media_id,
            weights_dir=weights_dir,
            config=config,
        )
        return _TaskResult(job.media_id, result, time.perf_counter() - tic)
    except MuviError as err:
        return _TaskResult(
            job.media_id, None, time.perf_counter() - tic, str(err), type(err).__name__
        )
    except Exception as err:  # an extractor bug must not stop the batch; keep the traceback
        return _TaskResult(
            job.media_id,
            None,
            time.perf_counter() - tic,
            f"{type(err).__name__}: {err}",
            type(err).__name__,
            traceback.format_exc(),
        )


def _run_local(
    tasks: list[tuple[VideoJob, list[str]]],
    workers: int,
    weights_dir: str | None,
    config: ExcerptConfig,
) -> Iterator[_TaskResult]:
    if workers <= 1 or len(tasks) <= 1:
        for job, names in tasks:
            yield _extract_task(job, names, weights_dir, config)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fresh interpreters, not forks: forking a process whose torch or OpenMP
    # threads already ran can deadlock the children
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(_extract_task, job, names, weights_dir, config) for job, names in tasks
        ]
        for future in as_completed(futures):
            yield future.result()


def _run_dask(
    tasks: list[tuple[VideoJob, list[str]]],
    scheduler: str,
    weights_dir: str | None,
    config: ExcerptConfig,
) -> Iterator[_TaskResult]:
    from dask.distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as err:
        raise MuviError(f"could not connect to the Dask scheduler at {scheduler} ({err})") from None
    try:
        futures = [
            client.submit(_extract_task, job, names, weights_dir, config, pure=False)
            for job, names in tasks
        ]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()


def family_weights(family: str) -> str | None:
    """The weights name the default extractor of a visual ``family`` loads, or
    None for the families that need no weights (audio, colour, lighting).

    Examples:
        >>> family_weights("faces"), family_weights("colour")
        ('fer2013-vgg19', None)
    """
    configs = {
        "faces": ("muvi.features.faces", "FacesConfig"),
        "scenes": ("muvi.features.scenes", "ScenesConfig"),
        "objects": ("muvi.features.objects", "ObjectsConfig"),
        "actions": ("muvi.features.actions", "ActionsConfig"),
    }
    if family not in configs:
        return None
    import importlib

    module, config = configs[family]
    return str(getattr(importlib.import_module(module), config)().weights)


def family_problem(family: str, weights_dir: str | Path | None) -> str | None:
    """Why the features of ``family`` cannot be extracted here (its weights are
    missing or corrupt), or None when they can."""
    name = family_weights(family)
    if name is None:
        return None
    from muvi.features.weights import require_weights

    try:
        require_weights(name, weights_dir)
    except WeightsError as err:
        return str(err)
    return None


def families_with_test_weights(
    families: Sequence[str], weights_dir: str | Path | None
) -> list[str]:
    """The families among ``families`` whose weights in ``weights_dir`` are a
    small randomly initialised test model (``muvi.testing.build_test_weights``)."""
    from muvi.features.weights import get_spec

    found = []
    for family in families:
        name = family_weights(family)
        if name is not None and get_spec(name, weights_dir).test_model:
            found.append(family)
    return found


def extract_batch(
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    *,
    features: str | Iterable[str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    starts: Mapping[str, float] | None = None,
    weights_dir: str | Path | None = None,
    config: ExcerptConfig | None = None,
    progress: ProgressCallback | None = None,
) -> BatchReport:
    """Extract features from many videos into a folder the loaders read.

    Args:
        inputs: video files and/or folders of videos.
        out_dir: the output folder (created).
        features: extractor names, as for :func:`extract_video`.
        workers: local worker processes (1: in this process).
        scheduler: a Dask scheduler address (``tcp://host:8786``); when given,
            the videos are extracted on that cluster and ``workers`` is ignored.
        starts: excerpt start (s) per media id; the others are found in the audio.
        weights_dir: the pretrained weights folder.
        config: how excerpts are found and decoded.
        progress: called with a :class:`muvi.progress.ProgressEvent` (stage
            ``extract``, unit ``videos``, the message ``<media id> <status>``)
            as each video finishes; None (the default) is silent.

    Returns:
        A :class:`BatchReport`. Written under ``out_dir``:
        ``emobase_features/<id>.csv`` (published layout),
        ``combined_visual_features.csv`` (``media_id``, ``frame``, features),
        ``video_urls.csv`` (the extracted ids, when the folder has none),
        ``excerpts.csv`` (start, rows and notes per video), ``errors.csv`` and
        ``errors.json`` (one row per failed video), and the cache.

    Raises:
        DataError: an input path that does not exist, or duplicate ids.
        UnknownFeatureError: an extractor name nobody registered.

    Examples:
        >>> import tempfile
        >>> report = extract_batch([], tempfile.mkdtemp(), features="colour")
        >>> report.summary()
        '0 videos: 0 extracted, 0 from the cache, 0 failed'
    """
    config = config or ExcerptConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extractors = resolve(features)
    names = [e.name for e in extractors]
    name_of_family = {e.family: e.name for e in extractors}
    starts = dict(starts or {})
    jobs = [VideoJob(j.media_id, j.path, starts.get(j.media_id)) for j in find_videos(inputs)]
    cache = _Cache(out / CACHE_DIR)
    weights = str(weights_dir) if weights_dir is not None else None
    keys = {e.name: entry_key(e, weights_dir) for e in extractors}
    by_family = {e.family: e for e in extractors}

    for family in families_with_test_weights([e.family for e in extractors], weights_dir):
        logger.warning(
            "%s features are computed with small randomly initialised TEST weights "
            "(meaningless; never use them for analysis)",
            family,
        )
    outcomes: dict[str, VideoOutcome] = {}
    tasks: list[tuple[VideoJob, list[str]]] = []
    finished = Steps(progress, "extract", len(jobs), unit="videos")
    finished.start()
    for job in jobs:
        cache_notes: list[str] = []
        meta = cache.meta(job, config, cache_notes)
        have: list[str] = []
        if meta is not None:
            for e in extractors:
                table, note = cache.load(job, e, meta, keys[e.name])
                if table is not None:
                    have.append(e.name)
                if note is not None:
                    cache_notes.append(note)
        for note in cache_notes:
            logger.info("%s", note)
        todo = [n for n in names if n not in have]
        if todo:
            tasks.append((job, todo))
            outcome = VideoOutcome(job.media_id, str(job.path), "done", cached=have)
            outcome.cache_notes = cache_notes
            outcomes[job.media_id] = outcome
        else:
            assert meta is not None
            outcome = VideoOutcome(
                job.media_id,
                str(job.path),
                "cached",
                cached=have,
                start=meta.get("start"),
                duration=meta.get("duration"),
                notes=list(meta.get("notes", [])),
                cache_notes=cache_notes,
            )
            outcomes[job.media_id] = outcome
            finished(f"{outcome.media_id} {outcome.status}")

    by_id = {job.media_id: job for job in jobs}
    if scheduler:
        results = _run_dask(tasks, scheduler, weights, config)
    else:
        results = _run_local(tasks, workers, weights, config)
    for result in results:
        if result.error_type == WeightsError.__name__:
            # missing weights concern every video: stop (the cache keeps what is done)
            raise WeightsError(result.error or "pretrained weights are missing")
        outcome = outcomes[result.media_id]
        outcome.seconds = result.seconds
        if result.features is None:
            outcome.status = "failed"
            outcome.error, outcome.error_type, outcome.detail = (
                result.error,
                result.error_type,
                result.detail,
            )
        else:
            cache.write(by_id[result.media_id], config, result.features, by_family, keys)
            outcome.computed = [name_of_family[f] for f in result.features.families]
            outcome.start, outcome.duration = result.features.start, result.features.duration
            outcome.notes = result.features.notes
            for note in outcome.notes:
                logger.debug("%s: %s", outcome.media_id, note)
        finished(f"{outcome.media_id} {outcome.status}")

    ordered = [outcomes[job.media_id] for job in jobs]
    report = BatchReport(out, ordered)
    _write_outputs(report, cache, extractors)
    return report


_OWN_VIDEO_URLS = "video_urls.written-by-extract"


def _update_video_urls(out: Path, media_ids: list[str]) -> None:
    """Keep ``video_urls.csv`` listing the extracted items (earlier runs' first),
    so the loaders accept the outputs; a list that extraction did not write
    (the folder is a study) is left alone."""
    urls, marker = out / VIDEO_URLS_FILE, out / CACHE_DIR / _OWN_VIDEO_URLS
    if urls.exists() and not marker.exists():
        return
    known = pd.read_csv(urls, dtype=str)["video_id"].tolist() if urls.exists() else []
    ids = list(dict.fromkeys(known + media_ids))
    if not ids or ids == known:
        return
    published.write_video_urls(ids, urls)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def _write_outputs(report: BatchReport, cache: _Cache, extractors: Sequence[Extractor]) -> None:
    out = report.out_dir
    done = report.succeeded
    audio = next((e for e in extractors if e.family == "audio"), None)
    visual = [e for e in extractors if e.family != "audio"]
    if not done:  # nothing extracted: no header-only feature files (earlier ones are kept)
        audio, visual = None, []
    if audio is not None:
        report.emobase_dir = out / EMOBASE_DIR
        report.emobase_dir.mkdir(parents=True, exist_ok=True)
        for o in done:
            published.write_emobase(
                cache.read(o.media_id, audio), report.emobase_dir / f"{o.media_id}.csv"
            )
    if visual:
        blocks = []
        for o in done:
            table = pd.concat([cache.read(o.media_id, e) for e in visual], axis=1)
            table.index = pd.MultiIndex.from_arrays(
                [np.full(len(table), o.media_id, dtype=object), np.arange(len(table))],
                names=list(ITEM_SAMPLE_INDEX),
            )
            blocks.append(table)
        columns = [c for e in visual for c in e.columns()]
        report.visual_file = published.write_visual_features(
            pd.concat(blocks)[columns], out / VISUAL_FEATURES_FILE
        )
    if done:
        _update_video_urls(out, [o.media_id for o in done])
    excerpts = pd.DataFrame(
        [
            {
                "media_id": o.media_id,
                "path": o.path,
                "status": o.status,
                "start": o.start,
                "rows": pd.NA if o.duration is None else round(o.duration / SAMPLE_PERIOD_S),
                "notes": "; ".join(o.notes),
            }
            for o in report.outcomes
        ],
        columns=["media_id", "path", "status", "start", "rows", "notes"],
    ).astype({"rows": "Int64"})
    if done or not report.failed:  # a run where everything failed keeps the earlier excerpts
        write_atomically(out / EXCERPTS_FILE, lambda tmp: excerpts.to_csv(tmp, index=False))
    errors = [
        {"media_id": o.media_id, "path": o.path, "error_type": o.error_type, "error": o.error}
        for o in report.failed
    ]
    report.errors_file = write_atomically(
        out / ERRORS_CSV,
        lambda tmp: pd.DataFrame(
            errors, columns=["media_id", "path", "error_type", "error"]
        ).to_csv(tmp, index=False),
    )
    detailed = [{**e, "traceback": o.detail} for e, o in zip(errors, report.failed, strict=True)]
    write_atomically(
        out / ERRORS_JSON,
        lambda tmp: tmp.write_text(json.dumps(detailed, indent=1), encoding="utf-8"),
    )
