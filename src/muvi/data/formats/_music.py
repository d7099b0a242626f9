"""What the music-dataset layouts share: ratings put on muvi's time grid, and
emobase features extracted from the songs' audio, cached and aligned.

muvi's time grid is 2 Hz from 0: sample ``k`` is the moment ``k * 0.5`` s
after the grid's origin. The music datasets start their ratings later in the
song (1000 Songs and DEAM at 15 s, PMEmo at 15.5 s), so each layout maps its
first rated moment to sample 0 and records that *offset*; the audio features
are then taken from the same point of the song, so that feature sample ``k``
(the 500 ms window starting at ``offset + k * 0.5`` s) and rating sample ``k``
(the rating at ``offset + k * 0.5`` s) describe the same moment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from muvi.data.dataset import MuviDataset
from muvi.data.schema import (
    GEMS_LABELS,
    ITEM_SAMPLE_INDEX,
    PARTICIPANT_COLUMNS,
    SAMPLE_PERIOD_S,
    emobase_feature_names,
)
from muvi.data.window import AnalysisWindow
from muvi.errors import DataError

_SAMPLE_COLUMN = re.compile(r"^sample_(\d+)ms$")
_GRID_TOLERANCE_S = 1e-6
CACHE_ENV = "MUVI_CACHE"
"""Environment variable naming the feature cache when no ``--cache`` is given."""
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".m4a")


def read_csv(path: Path, *, sep: str = ",") -> pd.DataFrame:
    """A CSV as text cells, headers and cells stripped of spaces and tabs.

    Raises:
        DataError: the file is missing, empty or not parseable.
    """
    if not path.is_file():
        raise DataError("file not found", file=path)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"not a readable CSV table ({reason})", file=path) from None
    frame.columns = [str(c).strip(" \t\ufeff") for c in frame.columns]
    for column in frame.columns:
        frame[column] = frame[column].str.strip(" \t")
    if frame.empty:
        raise DataError("has a header but no rows", file=path)
    return frame


def numbers(frame: pd.DataFrame, column: str, path: Path, *, allow_missing: bool) -> pd.Series:
    """A text column as floats; a cell that is not a number is one error line."""
    text = frame[column].replace({"": np.nan, "NaN": np.nan, "nan": np.nan})
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise DataError(f"{column} is not a number: {text[bad].iloc[0]!r}", file=path, row=row)
    if not allow_missing and values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
        raise DataError(f"{column} is empty", file=path, row=row)
    return values.astype("float64")


def item_ids(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """An id column as clean text (``"2"``, not ``"2.0"``); empty ids are one error line."""
    if column not in frame.columns:
        raise DataError(f"missing column {column!r}", file=path)
    ids = frame[column].astype(str).str.strip()
    ids = ids.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    empty = ids == ""
    if empty.any():
        raise DataError(f"empty {column}", file=path, row=int(np.flatnonzero(empty)[0]) + 1)
    return ids


def wide_ratings(path: Path, id_column: str, *, scale: float = 1.0) -> pd.DataFrame:
    """A wide file of ratings (``<id>, sample_15000ms, sample_15500ms, ...``) in long form.

    Cells left empty or NaN (DEAM pads its short songs so) are dropped.

    Returns:
        Columns ``media_id``, ``time`` (s, the column's own time), ``value``.

    Raises:
        DataError: no ``sample_<ms>ms`` column, a column of another name, a
            value that is not a number, a duplicate id.
    """
    frame = read_csv(path)
    ids = item_ids(frame, id_column, path)
    if ids.duplicated().any():
        raise DataError(f"duplicate {id_column} {ids[ids.duplicated()].iloc[0]!r}", file=path)
    columns = [c for c in frame.columns if c != id_column]
    times: list[float] = []
    for column in columns:
        match = _SAMPLE_COLUMN.match(column)
        if match is None:
            raise DataError(f"column {column!r} is not named sample_<ms>ms", file=path)
        times.append(int(match.group(1)) / 1000.0)
    if not columns:
        raise DataError("no sample_<ms>ms columns", file=path)
    values = np.column_stack(
        [numbers(frame, c, path, allow_missing=True).to_numpy() for c in columns]
    )
    n_items, n_times = values.shape
    long = pd.DataFrame(
        {
            "media_id": np.repeat(ids.to_numpy(), n_times),
            "time": np.tile(np.asarray(times), n_items),
            "value": values.reshape(-1) * scale,
        }
    )
    return long.dropna(subset=["value"]).reset_index(drop=True)


def on_grid(frame: pd.DataFrame, offset_s: float, path: Path, keys: Sequence[str]) -> pd.DataFrame:
    """Add ``sample`` = (time - offset) / 0.5 and check every series runs 0..n-1.

    Args:
        frame: ratings with a ``time`` column (s) and the ``keys`` columns.
        offset_s: the time that becomes sample 0.
        path: the file named in errors.
        keys: the columns that identify one series (item, rater, condition).

    Raises:
        DataError: a time off the 0.5 s grid, before the offset, a series that
            does not start at the offset, has a gap or a repeated time.
    """
    steps = (frame["time"].to_numpy(dtype=float) - offset_s) / SAMPLE_PERIOD_S
    sample = np.round(steps)
    off = np.abs(steps - sample) * SAMPLE_PERIOD_S > _GRID_TOLERANCE_S
    if off.any():
        t = float(frame["time"].iloc[int(np.argmax(off))])
        raise DataError(f"time {t:g} s is not on the 2 Hz grid from {offset_s:g} s", file=path)
    if (sample < 0).any():
        t = float(frame["time"].iloc[int(np.argmax(sample < 0))])
        raise DataError(
            f"time {t:g} s lies before the first rated moment {offset_s:g} s", file=path
        )
    frame = frame.assign(sample=sample.astype(np.int64))
    frame = frame.sort_values([*keys, "sample"], kind="stable").reset_index(drop=True)
    grouped = frame.groupby(list(keys), sort=False)["sample"]
    position = grouped.cumcount().to_numpy()
    wrong = frame["sample"].to_numpy() != position
    if wrong.any():
        row = frame.iloc[int(np.argmax(wrong))]
        labels = {"media_id": "item", "participant_id": "rater", "modality": "condition"}
        where = ", ".join(f"{labels.get(k, k)} {row[k]}" for k in keys)
        expected = offset_s + int(position[int(np.argmax(wrong))]) * SAMPLE_PERIOD_S
        raise DataError(
            f"{where}: the ratings at 2 Hz have a gap, a repeat or a late start "
            f"(time {offset_s + row['sample'] * SAMPLE_PERIOD_S:g} s where {expected:g} s was due)",
            file=path,
        )
    return frame


def pseudo_participants(ids: Sequence[int]) -> pd.DataFrame:
    """A participants table with only the ids known (music datasets publish no profiles)."""
    table = pd.DataFrame({"participant_id": pd.Series(list(ids), dtype="int64")})
    for column in PARTICIPANT_COLUMNS[1:]:
        table[column] = np.nan if column in ("age", "years_formal_training") else None
    return table


def empty_static() -> pd.DataFrame:
    """The tidy static table with no rows (the music datasets have no GEMS labels)."""
    columns: dict[str, pd.Series] = {
        "participant_id": pd.Series(dtype="int64"),
        "media_id": pd.Series(dtype="object"),
        "modality": pd.Series(dtype="object"),
        "seen_previously": pd.Series(dtype="bool"),
    }
    for label in GEMS_LABELS:
        columns[label] = pd.Series(dtype="int64")
    columns["overlay"] = pd.Series(dtype="object")
    return pd.DataFrame(columns)


def tidy_dynamic(frame: pd.DataFrame, offset_s: float) -> pd.DataFrame:
    """The tidy dynamic table: ``participant_id, media_id, modality, sample, time,
    valence, arousal``; ``time`` is the grid's own (``sample * 0.5``), the song's
    time being ``offset_s`` later."""
    out = frame[["participant_id", "media_id", "modality", "sample", "valence", "arousal"]].copy()
    out["participant_id"] = out["participant_id"].astype("int64")
    out["media_id"] = out["media_id"].astype(str)
    out["sample"] = out["sample"].astype("int64")
    out.insert(4, "time", out["sample"] * SAMPLE_PERIOD_S)
    return out.sort_values(["participant_id", "media_id", "modality", "sample"]).reset_index(
        drop=True
    )


def check_range(values: pd.Series, low: float, high: float, what: str, path: Path) -> None:
    """Refuse a rating outside [low, high] in one line."""
    bad = (values < low) | (values > high)
    if bad.any():
        raise DataError(
            f"{what} {float(values[bad].iloc[0]):g} lies outside [{low:g}, {high:g}]", file=path
        )


# --------------------------------------------------------------------------
# emobase features from the audio, cached
# --------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$MUVI_CACHE``, else ``$XDG_CACHE_HOME/muvi``, else ``~/.cache/muvi``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "muvi"


def find_audio(folder: Path, item: str) -> Path | None:
    """``<folder>/<item>.<mp3|wav|...>`` when it exists."""
    for suffix in AUDIO_SUFFIXES:
        candidate = folder / f"{item}{suffix}"
        if candidate.is_file():
            return candidate
    return None


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
    from muvi.features.audio import emobase_windows
    from muvi.features.media import read_audio

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
    cache_dir: Path | None,
    progress: object | None = None,
) -> tuple[pd.DataFrame, int]:
    """emobase of every item's audio, indexed by (``media_id``, ``sample``).

    Returns:
        The table and how many items were extracted now (not from the cache).
    """
    from muvi.progress import ProgressEvent

    cache = cache_dir if cache_dir is not None else default_cache_dir()
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
    from muvi.features.media import probe

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


def common_window(
    dynamic: pd.DataFrame,
    features: pd.DataFrame | None,
    requested: int | None,
    what: str,
    media: Mapping[str, Path] | None = None,
    offset_s: float = 0.0,
) -> AnalysisWindow:
    """The analysis window of a music study: the user's, else the samples that
    every item has both ratings and audio features for (the features loaded,
    else the complete windows that the audio files' durations allow), so that
    ``muvi analyze`` and ``muvi evaluate`` use the same window."""
    if requested is not None:
        return AnalysisWindow(int(requested), "--window-samples")
    rated = dynamic.groupby(["media_id", "participant_id", "modality"])["sample"].max() + 1
    n = int(rated.min())
    source = f"the shortest rated item ({what})"
    if features is not None:
        have = int((features.reset_index().groupby("media_id")["sample"].max() + 1).min())
    elif media:
        have = audio_windows(media, offset_s) or n
    else:
        have = n
    if have < n:
        n = have
        source = f"the shortest rated item's audio after the offset ({what})"
    return AnalysisWindow(n, source)


def music_dataset(
    root: Path,
    *,
    items: list[str],
    dynamic: pd.DataFrame,
    averaged: bool,
    audio: pd.DataFrame | None,
    window: AnalysisWindow,
    metadata: dict[str, object],
    issues: list[str],
    lacks: dict[str, str],
    participant_ids: Sequence[int] | None = None,
) -> MuviDataset:
    """Assemble the study of a music dataset."""
    ids = (
        sorted(set(dynamic["participant_id"].tolist()))
        if participant_ids is None
        else participant_ids
    )
    short = dynamic.groupby(["media_id"])["sample"].max() + 1
    n_short = int((short < window.n_samples).sum())
    if n_short:
        issues.append(
            f"{n_short} item(s) are rated for fewer than the {window.n_samples} samples "
            "of the analysis window."
        )
    return MuviDataset(
        root=root,
        items=items,
        participants=pseudo_participants(ids),
        static=empty_static(),
        dynamic=dynamic,
        audio_features=audio,
        visual_features=None,
        simulated=False,
        metadata=metadata,
        issues=issues,
        lacks=lacks,
        averaged=averaged,
        _window=window,
    )
