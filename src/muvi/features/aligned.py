"""emobase features of a music study's songs, aligned to its ratings and cached.

The music layouts of :mod:`muvi.data.formats` (1000 Songs, DEAM, PMEmo, the
long CSV) rate each song from an offset into it (15 s, 15.5 s...); this module
extracts the 988 emobase functionals per 500 ms from the same offset, so that
feature sample ``k`` is the window ``[offset + 0.5 k, offset + 0.5 (k + 1))``
s of the song and rating sample ``k`` the rating at ``offset + 0.5 k`` s.
Importing it registers it with
:func:`muvi.data.formats._music.register_media_features`.

Each song is decoded from its start at 16 kHz and cut at sample
``round(offset * 16000)``: a decode that seeks to the offset starts about 25 ms
early on the MP3s of 1000 Songs (measured on one: 401 samples at 16 kHz, the
usual MP3 encoder and decoder delay, which a seek does not skip). The tables are cached as
CSV under ``<cache>/emobase/``, keyed by the file's path, size, time stamp and
the offset.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from muvi.data.formats._music import MediaFeatures, register_media_features
from muvi.data.schema import ITEM_SAMPLE_INDEX, SAMPLE_PERIOD_S, emobase_feature_names
from muvi.errors import DataError
from muvi.features.audio import emobase_windows
from muvi.features.media import probe, read_audio

__all__ = ["audio_features", "audio_windows", "emobase_from_audio"]


def _cache_file(cache_dir: Path, media: Path, offset_s: float) -> Path:
    stat = media.stat()
    key = json.dumps(
        {
            "file": str(media.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "offset_ms": round(offset_s * 1000),
            "features": "emobase-988-500ms-16kHz-full-decode",
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / "emobase" / f"{media.stem}-{round(offset_s * 1000)}ms-{digest}.csv"


def emobase_from_audio(media: Path, offset_s: float, cache_dir: Path) -> tuple[pd.DataFrame, bool]:
    """emobase per 500 ms of one song from ``offset_s`` on, from the cache when there.

    Sample ``k`` is the window ``[offset_s + 0.5 k, offset_s + 0.5 (k + 1))`` of
    the song (the audio decoded from its start at 16 kHz, cut at sample
    ``round(offset_s * 16000)``); only complete windows are kept.

    Returns:
        The table (index ``sample``, the 988 emobase columns) and whether it
        came from the cache.

    Raises:
        DataError: the audio cannot be decoded or is shorter than the offset.
    """
    cached = _cache_file(cache_dir, media, offset_s)
    names = list(emobase_feature_names())
    if cached.is_file():
        try:
            table = pd.read_csv(cached, index_col="sample")
            if list(table.columns) == names:
                return table.astype("float64"), True
        except (pd.errors.ParserError, ValueError, KeyError):
            pass  # a damaged cache entry is computed again
    # decoded from the start and cut by sample count: a decode that seeks to the
    # offset lands up to ~25 ms off on MP3s (the encoder delay is then not skipped)
    audio, sr = read_audio(media)
    table = emobase_windows(audio[round(offset_s * sr) :], sr)
    if table.empty:
        raise DataError(f"no complete 500 ms window of audio after {offset_s:g} s", file=media)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".part")
    table.to_csv(partial, float_format="%.9g")
    partial.replace(cached)
    return table, False


def audio_features(
    media: Mapping[str, Path],
    offset_s: float,
    cache_dir: Path,
    progress: object | None = None,
) -> tuple[pd.DataFrame, int]:
    """emobase of every item's audio, indexed by (``media_id``, ``sample``).

    Returns:
        The table and how many items were extracted now (not from the cache).
    """
    from muvi.progress import ProgressEvent

    cache = cache_dir
    parts = []
    computed = 0
    for done, (item, path) in enumerate(media.items()):
        table, hit = emobase_from_audio(path, offset_s, cache)
        computed += not hit
        table = table.copy()
        table.index = pd.MultiIndex.from_arrays(
            [np.full(len(table), item, dtype=object), table.index.to_numpy(dtype=np.int64)],
            names=list(ITEM_SAMPLE_INDEX),
        )
        parts.append(table)
        if callable(progress):
            progress(ProgressEvent(stage="features", done=done + 1, total=len(media), message=item))
    return pd.concat(parts), computed


def audio_windows(media: Mapping[str, Path], offset_s: float) -> int | None:
    """The fewest complete 500 ms windows after ``offset_s`` in the items' audio,
    from the files' stated durations (no decoding); None when one cannot be read."""
    counts = []
    for path in media.values():
        try:
            duration = probe(path).duration
        except DataError:
            return None
        if duration is None:
            return None
        counts.append(int(np.floor((duration - offset_s) / SAMPLE_PERIOD_S + 1e-9)))
    return min(counts) if counts else None


def audio_problem(path: Path) -> DataError | None:
    """None when the file has a readable audio stream, else the problem."""
    try:
        if not probe(path).has_audio:
            return DataError("has no audio stream", file=path)
    except DataError as err:
        return err
    return None


MEDIA_FEATURES = register_media_features(
    MediaFeatures(extract=audio_features, windows=audio_windows, check=audio_problem)
)
"""The extractor the music layouts use."""
