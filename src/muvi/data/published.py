"""Writing the files of a MuVi-style study: one writer per published file.

Each writer mirrors a loader of :mod:`muvi.data.loaders`: it takes the tidy
table that the loader returns (full video ids, the toolkit's modality names
``music``/``visual``/``audiovisual``, booleans, ``None`` for no overlay) and
writes the file in the layout of the public release, so that
``load(write(table))`` gives ``table`` back. The simulator
(:mod:`muvi.data.simulator`), the study export (:mod:`muvi.study.export`) and
batch feature extraction (:mod:`muvi.features.batch`) all write through these
functions; nothing else writes a published file.

The published spellings:

* ``video_urls.csv``: one column ``video_id``, CRLF line ends and no line end
  after the last id, as in the release;
* the annotation files (``media_data.csv``, ``av_data.csv``,
  ``raw_av_logs.csv``) spell a modality ``music``, ``muted_video`` or
  ``video`` and, in the release, an item by its id cut at the first underscore
  (:func:`~muvi.data.loaders.short_id`); ``short_ids=False`` keeps full ids
  (the loaders read both), for a study whose ids would collide once cut;
* ``media_data.csv``: familiarity ``True``/``False``, labels ``0``/``1`` in the
  release's column order, overlay ``1`` (overlaid), ``0`` (side by side) or
  ``irrelevant`` (music);
* ``av_data.csv``: the 2 Hz index in a column ``seq``;
* ``emobase_features/<video_id>.csv``: an unnamed index, ``name`` =
  ``liveturn_k``, the 988 features, ``class`` = ``unassigned``. The release's
  header is broken (every feature column carries one name); these files carry
  the 988 real names, which the loader reads by name;
* ``combined_visual_features.csv``: ``media_id``, ``frame``, the features;
* ``muvi_metadata.json``: a JSON object, two-space indent, final line end.

Every CSV except ``video_urls.csv`` has LF line ends and a final line end, as
in the release. A file is written to a temporary name and renamed into place,
so an interrupted write leaves the earlier file whole. The CSV writers take an
optional ``escape`` hook, a function applied to the finished table before it
is written (the study export passes :func:`muvi.study.csvsafe.escape_frame`,
which neutralises text a spreadsheet would run as a formula).

Examples:
    >>> import tempfile
    >>> from muvi.data.loaders import load_video_urls
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_video_urls(["o_v9MY_FMcw", "lDK9QqIzhwk"], f"{folder}/video_urls.csv")
    ...     raw, items = path.read_bytes(), load_video_urls(path)
    >>> raw
    b'video_id\\r\\no_v9MY_FMcw\\r\\nlDK9QqIzhwk'
    >>> items
    ['o_v9MY_FMcw', 'lDK9QqIzhwk']
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from muvi.data import schema
from muvi.data.loaders import short_id

Escape = Callable[[pd.DataFrame], pd.DataFrame]
"""A hook applied to a finished table just before it is written."""

__all__ = [
    "Escape",
    "published_dynamic",
    "published_participants",
    "published_raw_logs",
    "published_static",
    "write_atomically",
    "write_dynamic",
    "write_emobase",
    "write_metadata",
    "write_participants",
    "write_raw_logs",
    "write_static",
    "write_video_urls",
    "write_visual_features",
]


def write_atomically(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it
    to ``path``: an interrupted write leaves any earlier file whole.

    Args:
        path: the file to write (its folder is created if needed).
        write: writes the whole file to the path it is given.

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_csv(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    escape: Escape | None = None,
    float_format: str | None = None,
) -> Path:
    table = escape(frame) if escape is not None else frame
    return write_atomically(
        path,
        lambda tmp: table.to_csv(
            tmp, index=False, lineterminator="\n", float_format=float_format, encoding="utf-8"
        ),
    )


def _csv_cell(text: str) -> str:
    """One text cell as CSV writes it (quoted when it holds a comma, quote or line end)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


def _write_blocks(
    tmp: Path,
    header: Sequence[str],
    blocks: Sequence[tuple[Sequence[str], np.ndarray]],
    float_format: str,
) -> None:
    """A numeric CSV written block by block with :func:`numpy.savetxt` (many
    times faster than pandas with a ``float_format``): each block is
    ``(text cells, values)``, the first column of ``values`` an integer, the
    others numbers."""
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(_csv_cell(h) for h in header) + "\n")
        for before, values in blocks:
            cells = [_csv_cell(c).replace("%", "%%") for c in before]
            fmt = ",".join([*cells, "%d", *[float_format] * (values.shape[1] - 1)])
            np.savetxt(fh, values, fmt=fmt)


def _spell_ids(ids: pd.Series, short_ids: bool) -> pd.Series:
    values = ids.astype(str)
    return values.map(short_id) if short_ids else values


def _public_modalities(modalities: pd.Series) -> pd.Series:
    return modalities.map(schema.to_public_modality)


def _whole_numbers(values: pd.Series) -> pd.Series:
    """Whole numbers as integers (``19``, not ``19.0``), a gap as an empty
    cell; a column with a fraction in it is left as it is."""
    numbers = pd.to_numeric(values, errors="coerce")
    present = numbers.dropna()
    if len(present) and (present % 1 != 0).any():
        return numbers
    return numbers.astype("Int64")


# --------------------------------------------------------------------------
# video_urls.csv
# --------------------------------------------------------------------------


def write_video_urls(
    items: Sequence[str], path: str | Path, *, escape: Escape | None = None
) -> Path:
    """Write ``video_urls.csv``: the items in cross-validation order.

    Mirrors :func:`muvi.data.loaders.load_video_urls`.

    Args:
        items: full video ids, in order.
        path: the file to write.
        escape: a hook applied to the one-column table before it is written.

    Returns:
        ``path``. The file has CRLF line ends and none after the last id, as
        the published file does.
    """
    frame = pd.DataFrame({schema.VIDEO_URLS_COLUMNS[0]: [str(i) for i in items]})
    table = escape(frame) if escape is not None else frame
    text = table.to_csv(index=False, lineterminator="\r\n")
    return write_atomically(
        path, lambda tmp: tmp.write_bytes(text.removesuffix("\r\n").encode("utf-8"))
    )


# --------------------------------------------------------------------------
# participant_data.csv
# --------------------------------------------------------------------------


def published_participants(participants: pd.DataFrame) -> pd.DataFrame:
    """The participants table in the published layout (the columns of
    :data:`~muvi.data.schema.PARTICIPANT_COLUMNS`, then any extra ones; whole
    ages and years of training as integers, a missing one as an empty cell).

    Args:
        participants: the table :func:`muvi.data.loaders.load_participants` returns.

    Returns:
        The table as it is written.

    Examples:
        >>> table = pd.DataFrame({"participant_id": [3], "age": [19.0], "gender": ["Male"],
        ...     "country_live_longest": ["SG"], "country_musical_enculturation": ["SG"],
        ...     "lyric_language": ["EN"], "favorite_genre": ["Pop"],
        ...     "years_formal_training": [float("nan")], "understood_yes_or_no": ["Yes"],
        ...     "overlay_pref": ["Overlaid"]})
        >>> published_participants(table).to_csv(index=False).splitlines()[1]
        '3,19,Male,SG,SG,EN,Pop,,Yes,Overlaid'
    """
    extra = [c for c in participants.columns if c not in schema.PARTICIPANT_COLUMNS]
    out = participants[[*schema.PARTICIPANT_COLUMNS, *extra]].copy()
    out["participant_id"] = out["participant_id"].astype("int64")
    for column in ("age", "years_formal_training"):
        out[column] = _whole_numbers(out[column])
    return out.reset_index(drop=True)


def write_participants(
    participants: pd.DataFrame, path: str | Path, *, escape: Escape | None = None
) -> Path:
    """Write ``participant_data.csv`` (mirrors :func:`~muvi.data.loaders.load_participants`).

    Args:
        participants: one row per participant, the loader's columns.
        path: the file to write.
        escape: a hook applied to the table before it is written.

    Returns:
        ``path``.
    """
    return _write_csv(published_participants(participants), path, escape=escape)


# --------------------------------------------------------------------------
# media_data.csv
# --------------------------------------------------------------------------


def published_static(static: pd.DataFrame, *, short_ids: bool = True) -> pd.DataFrame:
    """The static annotations in the published layout.

    Args:
        static: the tidy static table (:func:`muvi.data.loaders.load_static`).
        short_ids: spell items cut at the first underscore, as the release does.

    Returns:
        The columns of :data:`~muvi.data.schema.STATIC_COLUMNS_PUBLISHED`.

    Examples:
        >>> import muvi.data.schema as schema
        >>> tidy = pd.DataFrame({"participant_id": [7], "media_id": ["o_v9MY_FMcw"],
        ...     "modality": ["visual"], "seen_previously": [True], "overlay": ["overlaid"],
        ...     **{label: [int(label == "calm")] for label in schema.GEMS_LABELS}})
        >>> row = published_static(tidy).iloc[0]
        >>> row["media_id"], row["media_modality"], row["seen_previously"], row["overlay_type"]
        ('o', 'muted_video', 'True', '1')
    """
    out = pd.DataFrame(
        {
            "participant_id": static["participant_id"].astype("int64").to_numpy(),
            "media_id": _spell_ids(static["media_id"], short_ids).to_numpy(),
            "media_modality": _public_modalities(static["modality"]).to_numpy(),
            "seen_previously": np.where(static["seen_previously"].astype(bool), "True", "False"),
        }
    )
    for label in schema.GEMS_LABELS:
        out[label] = static[label].astype("int64").to_numpy()
    overlay = static["overlay"].astype(object).where(static["overlay"].notna(), None)
    out["overlay_type"] = [schema.OVERLAY_TO_PUBLIC[o] for o in overlay]
    return out[list(schema.STATIC_COLUMNS_PUBLISHED)]


def write_static(
    static: pd.DataFrame,
    path: str | Path,
    *,
    short_ids: bool = True,
    escape: Escape | None = None,
) -> Path:
    """Write ``media_data.csv`` (mirrors :func:`~muvi.data.loaders.load_static`).

    Args:
        static: the tidy static table.
        path: the file to write.
        short_ids: spell items cut at the first underscore, as the release does.
        escape: a hook applied to the table before it is written.

    Returns:
        ``path``.
    """
    return _write_csv(published_static(static, short_ids=short_ids), path, escape=escape)


# --------------------------------------------------------------------------
# av_data.csv and raw_av_logs.csv
# --------------------------------------------------------------------------


def published_dynamic(dynamic: pd.DataFrame, *, short_ids: bool = True) -> pd.DataFrame:
    """The 2 Hz dynamic annotations in the published layout.

    Args:
        dynamic: the tidy dynamic table (:func:`muvi.data.loaders.load_dynamic`,
            or :func:`muvi.data.resampling.resample_logs` of the raw logs).
        short_ids: spell items cut at the first underscore.

    Returns:
        The columns of :data:`~muvi.data.schema.DYNAMIC_COLUMNS` (the sample
        index in ``seq``), rows in the order given.
    """
    return pd.DataFrame(
        {
            "participant_id": dynamic["participant_id"].astype("int64").to_numpy(),
            "media_id": _spell_ids(dynamic["media_id"], short_ids).to_numpy(),
            "media_modality": _public_modalities(dynamic["modality"]).to_numpy(),
            schema.DYNAMIC_SAMPLE_COLUMN: dynamic["sample"].astype("int64").to_numpy(),
            "valence": dynamic["valence"].astype("float64").to_numpy(),
            "arousal": dynamic["arousal"].astype("float64").to_numpy(),
        },
        columns=list(schema.DYNAMIC_COLUMNS),
    )


def write_dynamic(
    dynamic: pd.DataFrame,
    path: str | Path,
    *,
    short_ids: bool = True,
    escape: Escape | None = None,
) -> Path:
    """Write ``av_data.csv`` (mirrors :func:`~muvi.data.loaders.load_dynamic`).

    Args:
        dynamic: the tidy dynamic table.
        path: the file to write.
        short_ids: spell items cut at the first underscore.
        escape: a hook applied to the table before it is written.

    Returns:
        ``path``.
    """
    return _write_csv(published_dynamic(dynamic, short_ids=short_ids), path, escape=escape)


def published_raw_logs(raw: pd.DataFrame, *, short_ids: bool = True) -> pd.DataFrame:
    """The browser's cursor logs in the published layout.

    Args:
        raw: ``participant_id``, ``media_id``, ``modality`` (toolkit name),
            ``timestamp`` (s since the media started), ``valence``, ``arousal``.
        short_ids: spell items cut at the first underscore.

    Returns:
        The columns of :data:`~muvi.data.schema.RAW_LOG_COLUMNS`.
    """
    return pd.DataFrame(
        {
            "participant_id": raw["participant_id"].astype("int64").to_numpy(),
            "media_id": _spell_ids(raw["media_id"], short_ids).to_numpy(),
            "media_modality": _public_modalities(raw["modality"]).to_numpy(),
            "timestamp": raw["timestamp"].astype("float64").to_numpy(),
            "valence": raw["valence"].astype("float64").to_numpy(),
            "arousal": raw["arousal"].astype("float64").to_numpy(),
        },
        columns=list(schema.RAW_LOG_COLUMNS),
    )


def write_raw_logs(
    raw: pd.DataFrame,
    path: str | Path,
    *,
    short_ids: bool = True,
    escape: Escape | None = None,
) -> Path:
    """Write ``raw_av_logs.csv``, the input of :func:`muvi.data.resampling.resample_logs`.

    Args:
        raw: the logs (see :func:`published_raw_logs`).
        path: the file to write.
        short_ids: spell items cut at the first underscore.
        escape: a hook applied to the table before it is written.

    Returns:
        ``path``.
    """
    return _write_csv(published_raw_logs(raw, short_ids=short_ids), path, escape=escape)


# --------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------


def write_emobase(
    features: pd.DataFrame, path: str | Path, *, float_format: str | None = None
) -> Path:
    """Write one item's ``emobase_features/<video_id>.csv`` (mirrors
    :func:`~muvi.data.loaders.load_emobase`).

    Args:
        features: the 988 emobase columns (names of
            :func:`muvi.data.schema.emobase_feature_names`), one row per
            500 ms window, in order (any index is dropped).
        path: the file to write.
        float_format: a ``%`` format for the values; by default the shortest
            text that reads back as the same number, as in the release
            (``0.0``, ``30.0``, ``1.514214e-05``).

    Returns:
        ``path``.
    """
    values = features.reset_index(drop=True)
    n_rows = len(values)
    if float_format is not None:  # numpy writes fixed formats many times faster than pandas
        header = ["", "name", *map(str, values.columns), "class"]
        numbers = values.to_numpy(dtype="float64")
        return write_atomically(
            path, lambda tmp: _write_emobase_numbers(tmp, header, numbers, float_format)
        )
    out = pd.concat(
        [
            pd.DataFrame({"name": [f"liveturn_{k}" for k in range(n_rows)]}),
            values,
            pd.DataFrame({"class": ["unassigned"] * n_rows}),
        ],
        axis=1,
    )
    return write_atomically(
        path,
        lambda tmp: out.to_csv(tmp, index=True, lineterminator="\n", float_format=float_format),
    )


def _write_emobase_numbers(
    tmp: Path, header: list[str], numbers: np.ndarray, float_format: str
) -> None:
    index = np.arange(len(numbers))
    fmt = ",".join(["%d", "liveturn_%d", *[float_format] * numbers.shape[1], "unassigned"])
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(_csv_cell(h) for h in header) + "\n")
        np.savetxt(fh, np.column_stack([index, index, numbers]), fmt=fmt)


def write_visual_features(
    features: pd.DataFrame, path: str | Path, *, float_format: str | None = None
) -> Path:
    """Write ``combined_visual_features.csv`` (mirrors
    :func:`~muvi.data.loaders.load_visual_features`).

    Args:
        features: indexed by (``media_id``, ``sample``) as the loader returns
            it, one column per feature.
        path: the file to write.
        float_format: a ``%`` format for the values (shortest exact text by default).

    Returns:
        ``path``.
    """
    keys = features.index.to_frame(index=False)
    if float_format is not None:
        ids = keys.iloc[:, 0].astype(str).to_numpy()
        frames = keys.iloc[:, 1].astype("int64").to_numpy()
        values = features.to_numpy(dtype="float64")
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        ends = np.r_[starts[1:], len(ids)]
        blocks = [
            ((ids[a],), np.column_stack([frames[a:b], values[a:b]]))
            for a, b in zip(starts, ends, strict=True)
        ]
        header = [*schema.VISUAL_KEY_COLUMNS, *map(str, features.columns)]
        return write_atomically(path, lambda tmp: _write_blocks(tmp, header, blocks, float_format))
    out = pd.concat(
        [
            pd.DataFrame(
                {
                    schema.VISUAL_KEY_COLUMNS[0]: keys.iloc[:, 0].astype(str).to_numpy(),
                    schema.VISUAL_KEY_COLUMNS[1]: keys.iloc[:, 1].astype("int64").to_numpy(),
                }
            ),
            features.reset_index(drop=True),
        ],
        axis=1,
    )
    return _write_csv(out, path, float_format=float_format)


# --------------------------------------------------------------------------
# muvi_metadata.json
# --------------------------------------------------------------------------


def write_metadata(metadata: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``muvi_metadata.json`` (read by :func:`muvi.data.loaders.load_dataset`).

    Args:
        metadata: a JSON-serialisable mapping; ``simulated`` must be a bool when present.

    Returns:
        ``path``.

    Raises:
        TypeError: ``simulated`` is not a bool, or a value cannot be written as JSON.
    """
    if "simulated" in metadata and not isinstance(metadata["simulated"], bool):
        raise TypeError(f"'simulated' must be True or False, got {metadata['simulated']!r}")
    text = json.dumps(dict(metadata), indent=2) + "\n"
    return write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
