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

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from muvi.data.dataset import MuviDataset
from muvi.data.schema import GEMS_LABELS, PARTICIPANT_COLUMNS, SAMPLE_PERIOD_S
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


@dataclass(frozen=True)
class MediaFeatures:
    """What extracts features from a study's media for the music layouts.

    The extractor lives in :mod:`muvi.features.aligned` (features are computed
    above the data layer), which registers one with
    :func:`register_media_features` when :mod:`muvi.features` is imported; the
    commands import it.

    Attributes:
        extract: ``extract(media, offset_s, cache_dir, progress)`` returns the
            emobase table indexed by (``media_id``, ``sample``), sample ``k``
            the 500 ms window from ``offset_s + 0.5 k`` s, and how many items
            were extracted now (not read from the cache).
        windows: ``windows(media, offset_s)``: the fewest complete 500 ms
            windows after the offset in the files (from their durations), or
            None when unknown.
        check: ``check(path)``: None when the file's audio can be read, else
            the problem as a :class:`DataError`.
    """

    extract: Callable[..., tuple[pd.DataFrame, int]]
    windows: Callable[[Mapping[str, Path], float], int | None]
    check: Callable[[Path], DataError | None]


_MEDIA_FEATURES: list[MediaFeatures] = []


def register_media_features(extractor: MediaFeatures) -> MediaFeatures:
    """Set the extractor the music layouts use (the last registered wins)."""
    _MEDIA_FEATURES[:] = [extractor]
    return extractor


def media_features() -> MediaFeatures | None:
    """The registered extractor, or None when :mod:`muvi.features` is not imported."""
    return _MEDIA_FEATURES[0] if _MEDIA_FEATURES else None


NO_EXTRACTOR = (
    "no media feature extractor is loaded (import muvi.features, as the muvi commands do)"
)


def audio_features(
    media: Mapping[str, Path],
    offset_s: float,
    cache_dir: Path | None,
    progress: object | None = None,
) -> tuple[pd.DataFrame, int]:
    """emobase of every item's audio through the registered extractor.

    Raises:
        DataError: no extractor is registered.
    """
    extractor = media_features()
    if extractor is None:
        raise DataError(NO_EXTRACTOR)
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    return extractor.extract(media, offset_s, cache, progress)


def audio_windows(media: Mapping[str, Path], offset_s: float) -> int | None:
    """The fewest complete windows after ``offset_s`` (None: no extractor or unknown)."""
    extractor = media_features()
    return None if extractor is None else extractor.windows(media, offset_s)


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
