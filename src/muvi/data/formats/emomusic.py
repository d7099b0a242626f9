"""The "1000 Songs for Emotional Analysis of Music" layout (Soleymani et al. 2013;
MediaEval 2013 Emotion in Music), also called emoMusic.

Files read:

- ``arousal_cont_average.csv`` and ``valence_cont_average.csv`` (required):
  one row per song, ``song_id`` then ``sample_15000ms`` ... ``sample_45000ms``,
  the ratings averaged over the raters, at 2 Hz, on [-1, 1];
- ``songs_info.csv`` (optional): ``song_id, file_name, Artist, Song title,
  start of the segment (min.sec), end of the segment (min.sec), Genre,
  Mediaeval 2013 set``;
- the songs' audio (optional): ``<file_name>`` from ``songs_info.csv``, else
  ``<song_id>.mp3``, in the folder itself or in ``clips_45seconds/``.

Time base: the ratings of the first 15 s are left out by the dataset, so the
column ``sample_15000ms`` is muvi's sample 0 (offset 15 s) and
``sample_<15000 + 500 k>ms`` is sample ``k``. The emobase features are taken
from the same 15 s point of each excerpt: feature sample ``k`` is the 500 ms
window starting at ``15 + 0.5 k`` s of the MP3.

Quirks handled:

- the cont files hold 61 samples (15.0 to 45.0 s) while a 45 s excerpt has
  only 60 complete 500 ms windows after 15 s, so the analysis window is the 60
  samples that have both;
- every cell of ``songs_info.csv`` may carry stray tabs inside the quotes
  (``"\\t2.mp3"``); headers and cells are stripped;
- segment times are written ``min.sec`` (``1.3`` is 1:30), kept as text in
  the item metadata;
- the static file (``static_annotations.csv``) puts arousal before valence;
  it is 1-9 static valence/arousal, not GEMS labels, and is not read.

What it cannot supply: per-rater series (the ratings are averages: one
pseudo-rater per item, so rater agreement and EWE do not apply), video,
visual features and conditions other than music, GEMS labels, participant
profiles.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from muvi.data.dataset import MuviDataset
from muvi.data.formats import DatasetLayout, OpenOptions
from muvi.data.formats import _music as music
from muvi.errors import DataError

OFFSET_S = 15.0
"""The song time of muvi's sample 0 (the column ``sample_15000ms``)."""
FILES = {"arousal": "arousal_cont_average.csv", "valence": "valence_cont_average.csv"}
STD_FILES = {"arousal": "arousal_cont_std.csv", "valence": "valence_cont_std.csv"}
"""The standard deviation across raters at each moment (optional; kept for figures)."""
INFO_FILE = "songs_info.csv"
AUDIO_FOLDERS = (".", "clips_45seconds", "clips_45sec", "audio")
PSEUDO_RATER = 0
"""The participant id of the one averaged series per item."""

CANNOT_SUPPLY = {
    "raters": "the ratings are averages over raters (one series per song)",
    "video": "a music dataset: no video or visual features",
    "visual": "a music dataset: only the music condition was rated",
    "gems": "no GEMS labels (its static ratings are valence/arousal on 1-9)",
    "participants": "no rater profiles are published",
}


def _recognise(root: Path) -> str | None:
    if all((root / name).is_file() for name in FILES.values()):
        return " and ".join(FILES.values())
    return None


def _song_info(root: Path) -> pd.DataFrame | None:
    path = root / INFO_FILE
    if not path.is_file():
        return None
    info = music.read_csv(path)
    info["song_id"] = music.item_ids(info, "song_id", path)
    return info


def audio_paths(root: Path, items: list[str], info: pd.DataFrame | None) -> dict[str, Path]:
    """Each item's audio file, where one is found (``file_name`` of the song
    list first, then ``<song_id>.mp3``), in the folder or ``clips_45seconds/``."""
    names: dict[str, str] = {}
    if info is not None and "file_name" in info.columns:
        names = dict(zip(info["song_id"], info["file_name"], strict=True))
    found: dict[str, Path] = {}
    for item in items:
        for folder in AUDIO_FOLDERS:
            base = root / folder
            if item in names and names[item] and (base / names[item]).is_file():
                found[item] = base / names[item]
                break
            path = music.find_audio(base, item)
            if path is not None:
                found[item] = path
                break
    return found


def read_averaged(root: Path, files: dict[str, str], id_column: str) -> pd.DataFrame:
    """The two averaged wide files, merged: ``media_id, time, valence, arousal``."""
    parts = {}
    for dimension, name in files.items():
        long = music.wide_ratings(root / name, id_column)
        music.check_range(long["value"], -1.0, 1.0, dimension, root / name)
        parts[dimension] = long.rename(columns={"value": dimension})
    merged = parts["valence"].merge(
        parts["arousal"], on=["media_id", "time"], how="outer", indicator=True
    )
    lonely = merged[merged["_merge"] != "both"]
    if len(lonely):
        first = lonely.iloc[0]
        which = files["valence"] if first["_merge"] == "left_only" else files["arousal"]
        other = files["arousal"] if which == files["valence"] else files["valence"]
        raise DataError(
            f"song {first['media_id']} at {first['time']:g} s is rated in {which} but not in {other}",
            file=root / other,
        )
    return merged.drop(columns="_merge")


def rating_std(
    root: Path, files: dict[str, str], id_column: str, offset_s: float
) -> dict[str, dict[str, list[float]]]:
    """The raters' standard deviation of each item at each sample (0, 1, ...),
    from the ``*_std`` files present (JSON-ready: dimension -> item -> list)."""
    out: dict[str, dict[str, list[float]]] = {}
    for dimension, name in files.items():
        if (root / name).is_file():
            long = music.wide_ratings(root / name, id_column)
            long = music.on_grid(long, offset_s, root / name, ["media_id"])
            out[dimension] = {
                str(item): group.sort_values("sample")["value"].astype(float).tolist()
                for item, group in long.groupby("media_id", sort=False)
            }
    return out


def _read(root: Path, options: OpenOptions) -> MuviDataset:
    ratings = read_averaged(root, FILES, "song_id")
    ratings = music.on_grid(ratings, OFFSET_S, root / FILES["valence"], ["media_id"])
    ratings["participant_id"] = PSEUDO_RATER
    ratings["modality"] = "music"
    dynamic = music.tidy_dynamic(ratings, OFFSET_S)
    order = pd.read_csv(root / FILES["valence"], usecols=[0], dtype=str).iloc[:, 0]
    items = [i for i in dict.fromkeys(order.str.strip().tolist()) if i]
    info = _song_info(root)
    issues: list[str] = []
    lacks = dict(CANNOT_SUPPLY)
    audio = None
    media = audio_paths(root, items, info)
    if len(media) < len(items):
        missing = [i for i in items if i not in media]
        lacks["audio"] = (
            f"no audio file for {len(missing)} of {len(items)} songs (first: {missing[0]})"
        )
    elif options.features:
        audio, computed = music.audio_features(media, OFFSET_S, options.cache_dir, options.progress)
        issues.append(
            f"emobase features of {len(items)} songs from their audio from {OFFSET_S:g} s on "
            f"({computed} extracted now, {len(items) - computed} from the cache)."
        )
    window = music.common_window(
        dynamic,
        audio,
        options.window_samples,
        "1000 Songs",
        None if "audio" in lacks else media,
        OFFSET_S,
    )
    metadata: dict[str, object] = {
        "layout": "emomusic",
        "time_offset_s": OFFSET_S,
        "averaged": True,
        "rating_scale": [-1.0, 1.0],
    }
    spread = rating_std(root, STD_FILES, "song_id", OFFSET_S)
    if spread:
        metadata["rating_std"] = spread
    if info is not None:
        metadata["songs"] = info.set_index("song_id").to_dict(orient="index")
    return music.music_dataset(
        root,
        items=items,
        dynamic=dynamic,
        averaged=True,
        audio=audio,
        window=window,
        metadata=metadata,
        issues=issues,
        lacks=lacks,
    )


LAYOUT = DatasetLayout(
    name="emomusic",
    title="1000 Songs / MediaEval 2013 (averaged cont files, 15 s offset)",
    recognise=_recognise,
    read=_read,
    cannot_supply=CANNOT_SUPPLY,
    priority=5,
)
