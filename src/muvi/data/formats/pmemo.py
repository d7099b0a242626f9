"""The PMEmo layout (Zhang et al., ICMR 2018; the PMEmo2019 release).

Files read:

- ``annotations/dynamic_annotations.csv`` (required): long,
  ``musicId, frameTime, Arousal(mean), Valence(mean)``, the ratings averaged
  over the raters every 0.5 s, on [0, 1];
- ``annotations/dynamic_annotations_std.csv`` (optional):
  ``musicId, frameTime, Arousal(std), Valence(std)``;
- ``metadata.csv`` (optional): ``musicId, fileName, title, artist, album,
  duration, chorus_start_time, chorus_end_time``;
- the chorus clips ``chorus/<musicId>.mp3`` (optional): the emobase
  features are extracted from them.

Time base: the release leaves out the first 15 s of ratings, and every
annotated song starts at ``frameTime`` 15.5, not 15.0; so 15.5 s is muvi's
sample 0 (offset 15.5 s), and feature sample ``k`` is the 500 ms window
starting at ``15.5 + 0.5 k`` s of the chorus clip.

Quirks handled:

- values lie on [0, 1]: they are mapped to muvi's [-1, 1] by ``2 x - 1``
  (recorded in the metadata; the standard deviations are doubled);
- the songs' lengths vary (2 to 146 samples, median 42 in the release): the
  analysis window is the shortest song's, unless ``--window-samples`` sets
  one (longer windows leave the shorter songs out of the models);
- songs listed in ``metadata.csv`` without annotations (27 in the release)
  are left out, with a note;
- the shipped ``features/dynamic_features.csv`` (260 ComParE functionals over
  1 s windows) is not read: muvi's models take emobase from the clips.

What it cannot supply: per-rater series (the release's dynamic ratings are
averages), video and visual conditions, GEMS labels, rater profiles.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from muvi.data.dataset import MuviDataset
from muvi.data.formats import DatasetLayout, OpenOptions
from muvi.data.formats import _music as music
from muvi.errors import DataError

OFFSET_S = 15.5
"""The song time of muvi's sample 0 (the first ``frameTime`` of every song)."""
DYNAMIC_FILE = Path("annotations") / "dynamic_annotations.csv"
STD_FILE = Path("annotations") / "dynamic_annotations_std.csv"
METADATA_FILE = "metadata.csv"
CHORUS_DIR = "chorus"
COLUMNS = {"Valence(mean)": "valence", "Arousal(mean)": "arousal"}
STD_COLUMNS = {"Valence(std)": "valence", "Arousal(std)": "arousal"}

CANNOT_SUPPLY = {
    "raters": "the dynamic ratings are averages over raters (one series per song)",
    "video": "a music dataset: no video or visual features",
    "visual": "a music dataset: only the music condition was rated",
    "gems": "no GEMS labels (its static ratings are valence/arousal on [0, 1])",
    "participants": "no rater profiles are read",
}


def _recognise(root: Path) -> str | None:
    if (root / DYNAMIC_FILE).is_file():
        return str(DYNAMIC_FILE)
    return None


def _long_table(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    frame = music.read_csv(path)
    missing = [c for c in ("musicId", "frameTime", *columns) if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=path)
    table = pd.DataFrame(
        {
            "media_id": music.item_ids(frame, "musicId", path),
            "time": music.numbers(frame, "frameTime", path, allow_missing=False),
        }
    )
    for column, dimension in columns.items():
        table[dimension] = music.numbers(frame, column, path, allow_missing=False)
    return table


def _read(root: Path, options: OpenOptions) -> MuviDataset:
    path = root / DYNAMIC_FILE
    table = _long_table(path, COLUMNS)
    for dimension in ("valence", "arousal"):
        music.check_range(table[dimension], 0.0, 1.0, dimension, path)
        table[dimension] = 2.0 * table[dimension] - 1.0
    table = music.on_grid(table, OFFSET_S, path, ["media_id"])
    table["participant_id"] = 0
    table["modality"] = "music"
    dynamic = music.tidy_dynamic(table, OFFSET_S)
    items = list(dict.fromkeys(table["media_id"].tolist()))
    issues: list[str] = []
    metadata: dict[str, object] = {
        "layout": "pmemo",
        "time_offset_s": OFFSET_S,
        "averaged": True,
        "rating_scale": [0.0, 1.0],
        "rating_mapping": "2 x - 1 (from [0, 1] to [-1, 1])",
    }
    if (root / METADATA_FILE).is_file():
        listed = music.item_ids(
            music.read_csv(root / METADATA_FILE), "musicId", root / METADATA_FILE
        )
        unrated = [i for i in dict.fromkeys(listed.tolist()) if i not in set(items)]
        if unrated:
            issues.append(
                f"{len(unrated)} song(s) of {METADATA_FILE} have no dynamic annotations "
                f"and are left out (first: {unrated[0]})."
            )
    if (root / STD_FILE).is_file():
        spread = music.on_grid(
            _long_table(root / STD_FILE, STD_COLUMNS), OFFSET_S, root / STD_FILE, ["media_id"]
        )
        metadata["rating_std"] = {
            dim: {
                str(item): (2.0 * group.sort_values("sample")[dim]).astype(float).tolist()
                for item, group in spread.groupby("media_id", sort=False)
            }
            for dim in ("valence", "arousal")
        }
    lacks = dict(CANNOT_SUPPLY)
    media = {i: p for i in items if (p := music.find_audio(root / CHORUS_DIR, i)) is not None}
    audio = None
    if len(media) < len(items):
        absent = [i for i in items if i not in media]
        lacks["audio"] = (
            f"no chorus clip for {len(absent)} of {len(items)} songs (first: {absent[0]})"
        )
    elif options.features:
        audio, computed = music.audio_features(media, OFFSET_S, options.cache_dir, options.progress)
        issues.append(
            f"emobase features of {len(items)} chorus clips from {OFFSET_S:g} s on "
            f"({computed} extracted now, {len(items) - computed} from the cache)."
        )
    window = music.common_window(
        dynamic,
        audio,
        options.window_samples,
        "PMEmo",
        None if "audio" in lacks else media,
        OFFSET_S,
    )
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
    name="pmemo",
    title="PMEmo2019 (long averaged annotations on [0, 1], 15.5 s offset)",
    recognise=_recognise,
    read=_read,
    cannot_supply=CANNOT_SUPPLY,
    priority=5,
)
