"""The long CSV layout: anyone's continuous ratings, one row per rating.

A folder with ``ratings.csv`` whose header has at least the columns

``item, rater, time_s, valence, arousal``

and optionally ``condition`` (``music``, ``visual`` / ``muted_video`` or
``audiovisual`` / ``video``; ``music`` when absent). Optional beside it: the
items' audio as ``<item>.mp3`` (or ``.wav``, ``.flac``, ``.ogg``, ``.m4a``),
in the folder or in ``audio/``, from which the emobase features are
extracted.

Rules (each broken rule is one error line naming the file and what is wrong):

- ``item`` and ``rater`` are any text (raters are numbered 1, 2, ... in the
  order they first appear; the numbering is kept in the metadata);
- ``time_s`` is seconds on a 2 Hz grid (a multiple of 0.5 from the file's
  earliest time, which becomes muvi's sample 0 and is recorded as the offset);
- each (item, rater, condition) series starts at that first time and has one
  rating every 0.5 s, with no gap and no repeat;
- ``valence`` and ``arousal`` are numbers in [-1, 1].

The audio features are taken from the same offset into each audio file, so
feature sample ``k`` is the 500 ms window starting at ``offset + 0.5 k`` s.
With one rater per item the ratings are read as averages (agreement and EWE
then do not apply); with several, per rater.

What it cannot supply: GEMS labels, participant profiles, video and visual
features (ratings of visual conditions are read, but models need features).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from muvi.data.dataset import MuviDataset
from muvi.data.formats import DatasetLayout, OpenOptions
from muvi.data.formats import _music as music
from muvi.data.schema import to_modality
from muvi.errors import DataError

RATINGS_FILE = "ratings.csv"
REQUIRED = ("item", "rater", "time_s", "valence", "arousal")
CONDITION = "condition"
AUDIO_FOLDERS = (".", "audio")

CANNOT_SUPPLY = {
    "gems": "the long format holds continuous valence/arousal only",
    "participants": "no rater profiles in the long format",
    "video": "no video or visual features in the long format",
}


def _recognise(root: Path) -> str | None:
    path = root / RATINGS_FILE
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", errors="replace") as handle:
        header = [c.strip(" \t\ufeff") for c in handle.readline().strip().split(",")]
    if set(REQUIRED) <= set(header):
        return f"{RATINGS_FILE} with {', '.join(REQUIRED)}"
    return None


def _read(root: Path, options: OpenOptions) -> MuviDataset:
    path = root / RATINGS_FILE
    frame = music.read_csv(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=path)
    items = music.item_ids(frame, "item", path)
    raters = music.item_ids(frame, "rater", path)
    if CONDITION in frame.columns:
        conditions = []
        for row, value in enumerate(frame[CONDITION].tolist(), start=1):
            try:
                conditions.append(to_modality(value or "music"))
            except ValueError:
                raise DataError(
                    f"condition {value!r} is none of music, visual, audiovisual", file=path, row=row
                ) from None
    else:
        conditions = ["music"] * len(frame)
    table = pd.DataFrame(
        {
            "media_id": items,
            "rater": raters,
            "modality": conditions,
            "time": music.numbers(frame, "time_s", path, allow_missing=False),
            "valence": music.numbers(frame, "valence", path, allow_missing=False),
            "arousal": music.numbers(frame, "arousal", path, allow_missing=False),
        }
    )
    for dimension in ("valence", "arousal"):
        music.check_range(table[dimension], -1.0, 1.0, dimension, path)
    offset = float(table["time"].min())
    rater_ids = {name: k for k, name in enumerate(dict.fromkeys(raters.tolist()), start=1)}
    table["participant_id"] = table["rater"].map(rater_ids)
    table = music.on_grid(table, offset, path, ["media_id", "participant_id", "modality"])
    dynamic = music.tidy_dynamic(table, offset)
    order = list(dict.fromkeys(items.tolist()))
    per_item = dynamic.groupby(["media_id", "modality"])["participant_id"].nunique()
    averaged = bool((per_item == 1).all())
    lacks = dict(CANNOT_SUPPLY)
    issues: list[str] = []
    if averaged:
        lacks["raters"] = "one rater per item: the ratings are read as averages"
    if "visual" not in set(dynamic["modality"]):
        lacks["visual"] = "only music conditions are rated"
    media = {}
    for item in order:
        for folder in AUDIO_FOLDERS:
            found = music.find_audio(root / folder, item)
            if found is not None:
                media[item] = found
                break
    audio = None
    if len(media) < len(order):
        absent = [i for i in order if i not in media]
        lacks["audio"] = (
            f"no audio file for {len(absent)} of {len(order)} items (first: {absent[0]})"
        )
    elif options.features:
        audio, computed = music.audio_features(media, offset, options.cache_dir, options.progress)
        issues.append(
            f"emobase features of {len(order)} items from their audio from {offset:g} s on "
            f"({computed} extracted now, {len(order) - computed} from the cache)."
        )
    window = music.common_window(
        dynamic,
        audio,
        options.window_samples,
        RATINGS_FILE,
        None if "audio" in lacks else media,
        offset,
    )
    metadata: dict[str, object] = {
        "layout": "long-csv",
        "time_offset_s": offset,
        "averaged": averaged,
        "raters": {str(name): k for name, k in rater_ids.items()},
    }
    return music.music_dataset(
        root,
        items=order,
        dynamic=dynamic,
        averaged=averaged,
        audio=audio,
        window=window,
        metadata=metadata,
        issues=issues,
        lacks=lacks,
    )


LAYOUT = DatasetLayout(
    name="long-csv",
    title="long CSV: item, rater, time_s, valence, arousal[, condition]",
    recognise=_recognise,
    read=_read,
    cannot_supply=CANNOT_SUPPLY,
    priority=1,
)
