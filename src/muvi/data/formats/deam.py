"""The DEAM layout (MediaEval Database for Emotional Analysis in Music;
Aljanaki, Yang, Soleymani 2017): 1,802 songs rated at 2 Hz, averaged and per rater.

Files read (the folder is the unpacked archives' parent, or any folder above
``annotations/``):

- averaged dynamic ratings: ``annotations/annotations averaged per song/
  dynamic (per second annotations)/{arousal,valence}.csv``, wide:
  ``song_id, sample_15000ms, sample_15500ms, ...`` on [-1, 1];
- per-rater dynamic ratings (read instead when present):
  ``annotations/annotations per each rater/dynamic (per second annotations)/
  {arousal,valence}/<song_id>.csv``, one row per rater, ``WorkerId`` then the
  same ``sample_<ms>ms`` columns;
- the audio ``MEMD_audio/<song_id>.mp3`` (anywhere below the folder): emobase
  is extracted from it;
- without the audio, DEAM's own features ``features/<song_id>.csv``:
  ``;``-separated, ``frameTime`` then 260 openSMILE functionals per 500 ms.

Time base: the ratings of the first 15 s are left out, so ``sample_15000ms``
is muvi's sample 0 (offset 15 s) and the emobase features start at 15 s of
the MP3 (feature sample ``k`` is the window from ``15 + 0.5 k`` s). DEAM's own
feature rows are placed by their ``frameTime``: ``frameTime`` 15.0 is sample
0 (the earlier rows are dropped), as peers align them; whether ``frameTime``
marks the start or the middle of its window is not documented.

Quirks handled:

- folder names have spaces and parentheses, and mirrors rename them
  (``annotations_averaged_per_song``, ``dynamic_per_second_annotations``): the
  folders are found by their normalised names;
- headers carry a space after each comma (``' sample_15500ms'``): stripped;
- the wide files run up to ``sample_626500ms`` for the long 2015 songs and
  pad the shorter songs with NaN: padding is dropped, so each song keeps its
  own length and the analysis window is the shortest song's (or
  ``--window-samples``);
- some per-rater files lack the ``WorkerId`` column: their rows become raters
  of their own (``<song>#<row>``), with a note;
- raters are text ids (``WorkerId``), numbered 1, 2, ... for muvi (the
  numbering is kept in the metadata); a rater with only one of the two
  dimensions for a song is left out of that song, with a note;
- the static files (1-9 scale, two files with different columns) and the
  column-shifted ``metadata_2015.csv`` are not read.

What it cannot supply: video and visual conditions, GEMS labels, rater
profiles; with the averaged files only, per-rater series (agreement and EWE).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from muvi.data.dataset import MuviDataset
from muvi.data.formats import DatasetLayout, OpenOptions
from muvi.data.formats import _music as music
from muvi.data.formats.emomusic import read_averaged
from muvi.data.schema import ITEM_SAMPLE_INDEX, SAMPLE_PERIOD_S
from muvi.errors import DataError

OFFSET_S = 15.0
"""The song time of muvi's sample 0 (the column ``sample_15000ms``)."""
DIMENSIONS = ("valence", "arousal")
AVERAGED_FILES = {"arousal": "arousal.csv", "valence": "valence.csv"}
WORKER_COLUMN = "WorkerId"
_MAX_DEPTH = 5

CANNOT_SUPPLY = {
    "video": "a music dataset: no video or visual features",
    "visual": "a music dataset: only the music condition was rated",
    "gems": "no GEMS labels (its static ratings are valence/arousal on 1-9)",
    "participants": "no rater profiles are published",
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _folders(root: Path) -> list[Path]:
    found: list[Path] = []
    frontier = [root]
    for _ in range(_MAX_DEPTH):
        nxt = []
        for folder in frontier:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir())
            except OSError:
                continue
            found.extend(children)
            nxt.extend(children)
        frontier = nxt
    return found


def _is_dynamic(folder: Path, kind: str) -> bool:
    return _norm(folder.name).startswith("dynamic") and kind in _norm(folder.parent.name)


def averaged_folder(root: Path) -> Path | None:
    """The folder of the averaged dynamic ``arousal.csv`` and ``valence.csv``."""
    for folder in _folders(root):
        if _is_dynamic(folder, "averaged") and all(
            (folder / f).is_file() for f in AVERAGED_FILES.values()
        ):
            return folder
    return None


def rater_folder(root: Path) -> Path | None:
    """The folder of the per-rater dynamic ``arousal/`` and ``valence/`` folders."""
    for folder in _folders(root):
        if _is_dynamic(folder, "rater") and all((folder / d).is_dir() for d in DIMENSIONS):
            return folder
    return None


def _recognise(root: Path) -> str | None:
    if (root / "annotations").is_dir() or any(
        _norm(p.name).startswith("deam") for p in root.iterdir() if p.is_dir()
    ):
        if rater_folder(root) is not None:
            return "DEAM per-rater dynamic annotations"
        if averaged_folder(root) is not None:
            return "DEAM averaged dynamic annotations (arousal.csv, valence.csv)"
    return None


def _per_rater(folder: Path, issues: list[str]) -> pd.DataFrame:
    """Every per-rater file: ``media_id, rater, time, valence, arousal``."""
    parts: dict[str, list[pd.DataFrame]] = {d: [] for d in DIMENSIONS}
    anonymous = 0
    for dimension in DIMENSIONS:
        files = sorted((folder / dimension).glob("*.csv"), key=lambda p: (len(p.stem), p.stem))
        if not files:
            raise DataError("no per-rater <song_id>.csv files", file=folder / dimension)
        for path in files:
            frame = music.read_csv(path)
            song = path.stem
            if WORKER_COLUMN in frame.columns:
                workers = music.item_ids(frame, WORKER_COLUMN, path)
                frame = frame.drop(columns=WORKER_COLUMN)
            else:
                workers = pd.Series([f"{song}#{k}" for k in range(1, len(frame) + 1)])
                anonymous += dimension == "valence"
            for column in frame.columns:
                if re.match(r"^sample_\d+ms$", column) is None:
                    raise DataError(f"column {column!r} is not named sample_<ms>ms", file=path)
            times = np.array([int(c[7:-2]) / 1000.0 for c in frame.columns])
            values = np.column_stack(
                [
                    music.numbers(frame, c, path, allow_missing=True).to_numpy()
                    for c in frame.columns
                ]
            )
            music.check_range(pd.Series(values[np.isfinite(values)]), -1.0, 1.0, dimension, path)
            long = pd.DataFrame(
                {
                    "media_id": song,
                    "rater": np.repeat(workers.to_numpy(), len(times)),
                    "time": np.tile(times, len(workers)),
                    dimension: values.reshape(-1),
                }
            ).dropna(subset=[dimension])
            parts[dimension].append(long)
    valence = pd.concat(parts["valence"], ignore_index=True)
    arousal = pd.concat(parts["arousal"], ignore_index=True)
    merged = valence.merge(arousal, on=["media_id", "rater", "time"], how="outer", indicator=True)
    lonely = merged[merged["_merge"] != "both"][["media_id", "rater"]].drop_duplicates()
    if len(lonely):
        issues.append(
            f"{len(lonely)} rater-song pair(s) have only one of valence and arousal at some "
            "moments; those moments are left out."
        )
    if anonymous:
        issues.append(
            f"{anonymous} per-rater valence file(s) lack the {WORKER_COLUMN} column: "
            "their rows are counted as raters of their own."
        )
    return merged[merged["_merge"] == "both"].drop(columns="_merge").reset_index(drop=True)


def _own_features(root: Path, items: list[str]) -> pd.DataFrame | None:
    folder = next((f for f in _folders(root) if _norm(f.name) == "features"), None)
    if folder is None:
        return None
    parts = []
    for item in items:
        path = folder / f"{item}.csv"
        if not path.is_file():
            return None
        frame = music.read_csv(path, sep=";")
        if "frameTime" not in frame.columns:
            raise DataError("missing column 'frameTime' (a ';'-separated feature file)", file=path)
        times = music.numbers(frame, "frameTime", path, allow_missing=False).to_numpy()
        sample = np.round((times - OFFSET_S) / SAMPLE_PERIOD_S).astype(np.int64)
        columns = [c for c in frame.columns if c != "frameTime"]
        table = pd.DataFrame(
            {c: music.numbers(frame, c, path, allow_missing=False).to_numpy() for c in columns}
        )
        keep = sample >= 0
        table = table[keep]
        table.index = pd.MultiIndex.from_arrays(
            [np.full(int(keep.sum()), item, dtype=object), sample[keep]],
            names=list(ITEM_SAMPLE_INDEX),
        )
        parts.append(table)
    return pd.concat(parts)


def _read(root: Path, options: OpenOptions) -> MuviDataset:
    issues: list[str] = []
    lacks = dict(CANNOT_SUPPLY)
    per_rater = rater_folder(root)
    if per_rater is not None:
        table = _per_rater(per_rater, issues)
        names = list(dict.fromkeys(table["rater"].tolist()))
        ids = {name: k for k, name in enumerate(names, start=1)}
        table["participant_id"] = table["rater"].map(ids)
        source = per_rater
        averaged = False
    else:
        folder = averaged_folder(root)
        if folder is None:
            raise DataError("no DEAM dynamic annotations found", file=root)
        table = read_averaged(folder, AVERAGED_FILES, "song_id")
        table["participant_id"] = 0
        ids = {}
        source = folder / AVERAGED_FILES["valence"]
        averaged = True
        lacks["raters"] = "only the averaged dynamic ratings are present (one series per song)"
    table["modality"] = "music"
    table = music.on_grid(table, OFFSET_S, source, ["media_id", "participant_id"])
    dynamic = music.tidy_dynamic(table, OFFSET_S)
    items = sorted(dict.fromkeys(dynamic["media_id"].tolist()), key=lambda i: (len(i), i))
    audio_dir = next((f for f in _folders(root) if _norm(f.name) == "memdaudio"), root)
    media = {i: p for i in items if (p := music.find_audio(audio_dir, i)) is not None}
    audio = None
    if len(media) == len(items):
        if options.features:
            audio, computed = music.audio_features(
                media, OFFSET_S, options.cache_dir, options.progress
            )
            issues.append(
                f"emobase features of {len(items)} songs from their audio from {OFFSET_S:g} s on "
                f"({computed} extracted now, {len(items) - computed} from the cache)."
            )
    elif options.features and (audio := _own_features(root, items)) is not None:
        issues.append(
            f"DEAM's own {audio.shape[1]} openSMILE features (features/*.csv), placed by "
            f"frameTime from {OFFSET_S:g} s: not the emobase set of muvi's other studies."
        )
    else:
        absent = [i for i in items if i not in media]
        lacks["audio"] = (
            f"no MEMD_audio file for {len(absent)} of {len(items)} songs (first: {absent[0]}) "
            "and no features/<song_id>.csv for every song"
        )
    window = music.common_window(
        dynamic,
        audio,
        options.window_samples,
        "DEAM",
        None if "audio" in lacks else media,
        OFFSET_S,
    )
    metadata: dict[str, object] = {
        "layout": "deam",
        "time_offset_s": OFFSET_S,
        "averaged": averaged,
        "rating_scale": [-1.0, 1.0],
    }
    if ids:
        metadata["raters"] = {str(name): k for name, k in ids.items()}
    return music.music_dataset(
        root,
        items=items,
        dynamic=dynamic,
        averaged=averaged,
        audio=audio,
        window=window,
        metadata=metadata,
        issues=issues,
        lacks=lacks,
    )


LAYOUT = DatasetLayout(
    name="deam",
    title="DEAM (averaged or per-rater dynamic annotations, 15 s offset)",
    recognise=_recognise,
    read=_read,
    cannot_supply=CANNOT_SUPPLY,
    priority=6,
)
