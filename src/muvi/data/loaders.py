"""Loading and validating the files of a MuVi-style study.

Each published file has its own loader that returns the toolkit's tidy form
(see :mod:`muvi.data.dataset` and the end of :mod:`muvi.data.schema`);
:func:`load_dataset` reads a whole folder into one
:class:`~muvi.data.dataset.MuviDataset`.

The quirks of the public release are handled by general rules:

* annotation files spell an item by its id cut at the first underscore
  (``o_v9MY_FMcw`` is ``o`` there): :class:`ItemCatalog` maps both spellings
  to the full id and refuses unknown or ambiguous ids;
* modalities are spelled ``music``, ``muted_video``, ``video`` and become
  ``music``, ``visual``, ``audiovisual``;
* the emobase files carry a broken header (every feature column has the same
  name); the 988 real names are restored by position after the layout has
  been checked;
* a dynamic annotation shorter than the analysis window (118 samples in the
  paper; a study's own, see :func:`muvi.data.window.study_window`) is kept
  and reported, not refused.

Every problem with the input raises :class:`~muvi.errors.DataError`, whose
message names the file, the 1-based data row (header excluded) or the item,
and what is wrong.

Examples:
    >>> catalog = ItemCatalog(["o_v9MY_FMcw", "lDK9QqIzhwk"])
    >>> catalog.resolve("o"), catalog.resolve("o_v9MY_FMcw")
    ('o_v9MY_FMcw', 'o_v9MY_FMcw')
    >>> catalog.items
    ['o_v9MY_FMcw', 'lDK9QqIzhwk']
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from muvi.data import schema
from muvi.data.dataset import MuviDataset
from muvi.data.window import AnalysisWindow, study_window
from muvi.errors import DataError

__all__ = [
    "ItemCatalog",
    "check_emobase",
    "load_dataset",
    "load_dynamic",
    "load_emobase",
    "load_participants",
    "load_static",
    "load_video_urls",
    "load_visual_features",
    "short_id",
]

_SAMPLE_COLUMNS = ("seq", "sample")
_TIME_COLUMN = "time"
_TRUE = frozenset({"true"})
_FALSE = frozenset({"false"})


# --------------------------------------------------------------------------
# Items and their two spellings
# --------------------------------------------------------------------------


def short_id(video_id: str) -> str:
    """The short spelling of a video id used by the annotation files: the id
    cut at its first underscore.

    Examples:
        >>> short_id("o_v9MY_FMcw"), short_id("lDK9QqIzhwk")
        ('o', 'lDK9QqIzhwk')
    """
    return video_id.split("_", 1)[0]


class ItemCatalog:
    """The study's media items and the rule that maps both spellings of an id
    to the full video id.

    A short form shared by two items (or equal to another item's full id) is
    ambiguous: it is refused, and those items resolve only by their full id.

    Args:
        items: full video ids in cross-validation order (``video_urls.csv``).
        source: the file the ids came from, named in error messages.

    Raises:
        DataError: an empty or duplicate id.

    Examples:
        >>> catalog = ItemCatalog(["ab_c", "ab_d", "xyz"])
        >>> catalog.resolve("xyz"), catalog.resolve("ab_d")
        ('xyz', 'ab_d')
        >>> catalog.resolve("ab")
        Traceback (most recent call last):
        ...
        muvi.errors.DataError: media id 'ab' is ambiguous: it is the short form of ab_c, ab_d; use the full id
    """

    def __init__(self, items: Sequence[str], *, source: str | Path | None = None) -> None:
        self._items: list[str] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(items, start=1):
            item = str(raw).strip()
            if not item:
                raise DataError("empty video id", file=source, row=i)
            if item in seen:
                raise DataError(
                    f"duplicate video id {item!r} (first in row {seen[item]})", file=source, row=i
                )
            seen[item] = i
            self._items.append(item)
        self._full = frozenset(self._items)
        by_short: dict[str, list[str]] = {}
        for item in self._items:
            by_short.setdefault(short_id(item), []).append(item)
        self._short: dict[str, str] = {}
        self._ambiguous: dict[str, tuple[str, ...]] = {}
        for short, fulls in by_short.items():
            # An item whose full id equals this short form is spelled the same way.
            owners = set(fulls) | ({short} if short in self._full else set())
            if len(owners) == 1:
                self._short[short] = fulls[0]
            else:
                self._ambiguous[short] = tuple(sorted(owners))

    @property
    def items(self) -> list[str]:
        """Full video ids in cross-validation order."""
        return list(self._items)

    @property
    def ambiguous_short_ids(self) -> dict[str, tuple[str, ...]]:
        """Short forms that more than one item shares -> those items."""
        return dict(self._ambiguous)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, raw_id: object) -> bool:
        try:
            self.resolve(str(raw_id))
        except DataError:
            return False
        return True

    def resolve(
        self, raw_id: str, *, file: str | Path | None = None, row: int | None = None
    ) -> str:
        """The full video id of ``raw_id`` (full or short spelling).

        Args:
            raw_id: an id as written in a data file.
            file: the file it was read from, for the error message.
            row: its 1-based data row, for the error message.

        Returns:
            The full video id.

        Raises:
            DataError: the id is unknown or an ambiguous short form.
        """
        key = str(raw_id).strip()
        if key in self._ambiguous:
            owners = ", ".join(self._ambiguous[key])
            raise DataError(
                f"media id {key!r} is ambiguous: it is the short form of {owners}; use the full id",
                file=file,
                row=row,
            )
        if key in self._full:
            return key
        if key in self._short:
            return self._short[key]
        raise DataError(
            f"unknown media id {key!r} (not in {schema.VIDEO_URLS_FILE})", file=file, row=row
        )

    def resolve_column(self, values: pd.Series, *, file: str | Path | None = None) -> pd.Series:
        """Resolve a whole column of ids (each distinct value once).

        Args:
            values: ids as read; the error names the row of the first bad one,
                counted by position (row 1 is the first value).
            file: the file they were read from.

        Returns:
            The full ids, same index as ``values``.
        """
        as_text = values.fillna("").astype(str).str.strip()  # an empty cell is '', not NaN
        mapping: dict[str, str] = {}
        positions = pd.Series(np.arange(1, len(as_text) + 1), index=as_text.index)
        first_row = positions.groupby(as_text.to_numpy(), sort=False).min()
        for key, row in first_row.items():
            mapping[str(key)] = self.resolve(str(key), file=file, row=int(row))
        return as_text.map(mapping)


# --------------------------------------------------------------------------
# Reading CSV files safely
# --------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The text of a CSV file, refusing a missing, empty or binary file."""
    if not path.exists():
        raise DataError("file not found", file=path)
    if path.is_dir():
        raise DataError("expected a CSV file, found a folder", file=path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read the file ({err.strerror or err})", file=path) from None
    if not data.strip():
        raise DataError("the file is empty", file=path)
    if b"\x00" in data[:65536]:
        raise DataError("not a CSV text file (binary content)", file=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(
            f"not a UTF-8 CSV text file (undecodable byte at offset {err.start})", file=path
        ) from err


def _read_table(path: Path, *, as_text: bool = True) -> pd.DataFrame:
    """Read a CSV with a header; cells as stripped strings when ``as_text``,
    else numbers where they parse (ids and modalities always as text)."""
    text = _read_text(path)
    try:
        if as_text:
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
            )
        else:
            frame = pd.read_csv(
                io.StringIO(text),
                skipinitialspace=True,
                dtype={"media_id": str, "media_modality": str},
            )
    except pd.errors.ParserError as err:
        raise DataError(f"not a well-formed CSV file ({_parser_reason(err)})", file=path) from err
    except pd.errors.EmptyDataError as err:
        raise DataError("the file is empty", file=path) from err
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_last_row(text, len(frame.columns), len(frame), path)
    if as_text:
        for col in frame.columns:
            frame[col] = frame[col].str.strip()
    return frame


def _check_last_row(text: str, n_columns: int, n_rows: int, path: Path) -> None:
    """Refuse a file whose last row has fewer cells than the header: a file cut
    short (pandas would fill the missing cells with empty values)."""
    body = text.rstrip("\r\n")
    if n_rows == 0 or "\n" not in body:
        return
    last = body.rsplit("\n", 1)[1]
    cells = next(csv.reader([last]), [])
    if len(cells) < n_columns:
        raise DataError(
            f"the last row has {len(cells)} of the header's {n_columns} cells (the file looks truncated)",
            file=path,
            row=n_rows,
        )


def _parser_reason(err: Exception) -> str:
    message = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    return message.rstrip(".")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise DataError(f"missing {noun} {names}", file=path)


def _first_row(mask: pd.Series | np.ndarray) -> int:
    """1-based data row of the first True in a positional mask."""
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _integers(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """A column of whole numbers (as int64), refusing anything else."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        row = _first_row(bad)
        raise DataError(
            f"{column} must be a whole number, found {frame[column].iloc[row - 1]!r}",
            file=path,
            row=row,
        )
    return values.astype("int64")


def _numbers(frame: pd.DataFrame, column: str, path: Path, *, allow_missing: bool) -> pd.Series:
    """A numeric column; an empty cell is missing (NaN) when allowed."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    bad = values.isna() & ~empty
    if not allow_missing:
        bad = bad | empty
    bad = bad | np.isinf(values)
    if bad.any():
        row = _first_row(bad)
        raise DataError(
            f"{column} must be a number, found {raw.iloc[row - 1]!r}", file=path, row=row
        )
    return values


def _shown(value: object) -> str:
    """`` (found 'x')`` for a cell worth quoting; empty for a missing one."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f" (found {str(value)!r})"


def _modalities(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    raw = frame[column].fillna("").astype(str).str.strip()  # an empty cell is '', not NaN
    mapping: dict[str, str] = {}
    for value in raw.unique():
        try:
            mapping[value] = schema.to_modality(value)
        except ValueError as err:
            raise DataError(str(err), file=path, row=_first_row(raw == value)) from err
    return raw.map(mapping)


NO_ROWS = "has a header but no rows"
"""The problem of a file with a header and no data rows."""


class _Invalid(Exception):
    """Raised by a loader in collecting mode when it found problems (already collected)."""


class _Report:
    """Where a loader's checks go: raised at the first problem (loading), or collected
    so that every problem of a file is reported (:mod:`muvi.data.validate`).

    A check that the later ones depend on (the file reads as a table, the columns
    exist) still raises in both modes; independent checks (each column, each rule)
    go through :meth:`attempt` or :meth:`__call__` and the loader carries on.
    """

    def __init__(self, problems: list[DataError] | None) -> None:
        self.problems = problems
        self.found = 0

    def __call__(self, problem: DataError) -> None:
        if self.problems is None:
            raise problem
        self.problems.append(problem)
        self.found += 1

    def attempt(self, check: Any, *args: Any, **kwargs: Any) -> Any:
        """``check(*args, **kwargs)``; None (the problem collected) when it raises DataError."""
        try:
            return check(*args, **kwargs)
        except DataError as err:
            self(err)
            return None

    def done(self) -> None:
        """End of the loader: in collecting mode, stop if anything was found (the
        result would be built from invalid values)."""
        if self.found:
            raise _Invalid


# --------------------------------------------------------------------------
# The individual files
# --------------------------------------------------------------------------


def load_video_urls(path: str | Path) -> list[str]:
    """The media items in cross-validation order, from ``video_urls.csv``.

    Args:
        path: the file (one column ``video_id``; CRLF or LF line ends).

    Returns:
        Full video ids in file order.

    Raises:
        DataError: missing file, wrong header, empty or duplicate id, extra
            columns, no items.
    """
    path = Path(path)
    text = _read_text(path)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [c.strip() for c in rows[0]]
    if header != list(schema.VIDEO_URLS_COLUMNS):
        raise DataError(f"expected the header 'video_id', found {','.join(rows[0])!r}", file=path)
    items: list[str] = []
    for i, row in enumerate(rows[1:], start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            if i == len(rows) - 1:  # a trailing blank line
                continue
            raise DataError("empty video id", file=path, row=i)
        if len(cells) != 1:
            raise DataError(f"expected one column, found {len(cells)}", file=path, row=i)
        items.append(cells[0])
    if not items:
        raise DataError(NO_ROWS, file=path)
    ItemCatalog(items, source=path)  # refuses duplicates with their rows
    return items


AGE_RANGE = (1, 120)
"""Ages (years) a participant can have; anything else is a typing error."""


def load_participants(path: str | Path, *, problems: list[DataError] | None = None) -> pd.DataFrame:
    """The annotators' profiles, from ``participant_data.csv``.

    Args:
        path: the file.
        problems: when given, every problem found is appended there (as
            :class:`DataError`) rather than raised at the first one.

    Returns:
        One row per participant, the columns of
        :data:`muvi.data.schema.PARTICIPANT_COLUMNS` in that order (then any
        extra columns): ``participant_id`` int, ``age`` and
        ``years_formal_training`` float (an empty cell is NaN), the others
        text.

    Raises:
        DataError: missing column, no rows, non-integer id, non-numeric age or
            training, an age outside :data:`AGE_RANGE`, training that is negative
            or longer than the participant's life, duplicate participant.
    """
    path = Path(path)
    report = _Report(problems)
    frame = _read_table(path)
    _require_columns(frame, schema.PARTICIPANT_COLUMNS, path)
    if frame.empty:
        raise DataError(NO_ROWS, file=path)
    ids = report.attempt(_integers, frame, "participant_id", path)
    if ids is not None:
        frame["participant_id"] = ids
        duplicated = frame["participant_id"].duplicated()
        if duplicated.any():
            row = _first_row(duplicated)
            pid = int(frame["participant_id"].iloc[row - 1])
            report(DataError(f"duplicate participant_id {pid}", file=path, row=row))
    numbers = {
        column: report.attempt(_numbers, frame, column, path, allow_missing=True)
        for column in ("age", "years_formal_training")
    }
    age, training = numbers["age"], numbers["years_formal_training"]
    low, high = AGE_RANGE
    absurd = None
    if age is not None:
        absurd = (age < low) | (age > high)
        if absurd.any():
            row = _first_row(absurd)
            report(
                DataError(
                    f"age {frame['age'].iloc[row - 1]!r} is not an age (expected {low} to {high} years)",
                    file=path,
                    row=row,
                )
            )
    if training is not None:
        wrong = training < 0
        if age is not None and absurd is not None:  # longer than a plausible age
            wrong = wrong | ((training > age) & ~absurd)
        if wrong.any():
            row = _first_row(wrong)
            report(
                DataError(
                    f"years_formal_training {frame['years_formal_training'].iloc[row - 1]!r} is "
                    "negative or longer than the participant's age",
                    file=path,
                    row=row,
                )
            )
    report.done()
    frame["age"], frame["years_formal_training"] = age, training
    extra = [c for c in frame.columns if c not in schema.PARTICIPANT_COLUMNS]
    return frame[[*schema.PARTICIPANT_COLUMNS, *extra]].reset_index(drop=True)


def load_static(
    path: str | Path, catalog: ItemCatalog, *, problems: list[DataError] | None = None
) -> pd.DataFrame:
    """The static annotations (familiarity, GEMS labels, overlay type), from
    ``media_data.csv``.

    Columns are found by name, so the order of the label columns in the file
    does not matter.

    Args:
        path: the file.
        catalog: the study's items (maps short ids to full ids).
        problems: when given, every problem found is appended there rather
            than raised at the first one.

    Returns:
        The tidy static table: ``participant_id``, ``media_id`` (full id),
        ``modality`` (toolkit name), ``seen_previously`` (bool), the 27 labels
        (int 0/1, GEMS order), ``overlay`` (``overlaid``, ``side_by_side`` or
        None for music); rows in file order.

    Raises:
        DataError: missing column, no rows, unknown item or modality, a label other
            than 0/1, a familiarity other than True/False, an overlay type
            other than 1/0/irrelevant or inconsistent with the modality, a
            duplicate (participant, item, modality).
    """
    path = Path(path)
    report = _Report(problems)
    frame = _read_table(path)
    _require_columns(frame, schema.STATIC_COLUMNS, path)
    if frame.empty:
        raise DataError(NO_ROWS, file=path)
    out = pd.DataFrame(index=frame.index)
    ids = report.attempt(_integers, frame, "participant_id", path)
    media = report.attempt(catalog.resolve_column, frame["media_id"], file=path)
    modality = report.attempt(_modalities, frame, "media_modality", path)

    seen = frame["seen_previously"].str.lower()
    bad = ~seen.isin(_TRUE | _FALSE)
    if bad.any():
        row = _first_row(bad)
        report(
            DataError(
                f"seen_previously must be True or False, found {frame['seen_previously'].iloc[row - 1]!r}",
                file=path,
                row=row,
            )
        )

    labels: dict[str, pd.Series] = {}
    for label in schema.GEMS_LABELS:
        column = frame[label]
        bad = ~column.isin(("0", "1"))
        if bad.any():
            row = _first_row(bad)
            report(
                DataError(
                    f"label {label} must be 0 or 1, found {column.iloc[row - 1]!r}",
                    file=path,
                    row=row,
                )
            )
        labels[label] = (column == "1").astype("int64")

    overlay = frame["overlay_type"]
    bad = ~overlay.isin(tuple(schema.PUBLIC_OVERLAY))
    if bad.any():
        row = _first_row(bad)
        report(
            DataError(
                f"overlay_type must be 1, 0 or irrelevant, found {overlay.iloc[row - 1]!r}",
                file=path,
                row=row,
            )
        )
    elif modality is not None:
        is_music = modality == "music"
        inconsistent = is_music != (overlay == "irrelevant")
        if inconsistent.any():
            row = _first_row(inconsistent)
            if is_music.iloc[row - 1]:
                problem = f"overlay_type {overlay.iloc[row - 1]!r} for a music annotation (music has no overlay; expected 'irrelevant')"
            else:
                kind = modality.iloc[row - 1]
                article = "an" if kind == "audiovisual" else "a"
                problem = (
                    f"overlay_type 'irrelevant' for {article} {kind} annotation (expected 1 or 0)"
                )
            item = None if media is None else str(media.iloc[row - 1])
            report(DataError(problem, file=path, row=row, item=item))

    keys = ["participant_id", "media_id", "modality"]
    if ids is not None and media is not None and modality is not None:
        out["participant_id"], out["media_id"], out["modality"] = ids, media, modality
        duplicated = out.duplicated(keys)
        if duplicated.any():
            row = _first_row(duplicated)
            first = _first_row((out[keys] == out[keys].iloc[row - 1]).all(axis=1))
            record = out.iloc[row - 1]
            report(
                DataError(
                    f"duplicate static annotation of participant {record['participant_id']} in "
                    f"modality {record['modality']} (first in row {first})",
                    file=path,
                    row=row,
                    item=str(record["media_id"]),
                )
            )
    report.done()
    out["seen_previously"] = seen.isin(_TRUE).astype(bool)
    for label in schema.GEMS_LABELS:
        out[label] = labels[label]
    out["overlay"] = overlay.map(schema.PUBLIC_OVERLAY).astype(object)
    out.loc[overlay == "irrelevant", "overlay"] = None
    return out.reset_index(drop=True)


def load_dynamic(
    path: str | Path,
    catalog: ItemCatalog,
    *,
    issues: list[str] | None = None,
    window_samples: int = schema.ANALYSIS_SAMPLES,
    problems: list[DataError] | None = None,
) -> pd.DataFrame:
    """The dynamic valence/arousal annotations at 2 Hz, from ``av_data.csv``.

    The sample of each row comes from a ``seq`` or ``sample`` column (2 Hz
    index) or from a ``time`` column in seconds (``round(time / 0.5)``).

    Args:
        path: the file (long format, one row per sample).
        catalog: the study's items.
        issues: a list that receives one sentence per annotation shorter than
            the analysis window; such annotations are kept.
        window_samples: the analysis window in samples (the paper's
            :data:`~muvi.data.schema.ANALYSIS_SAMPLES` by default).
        problems: when given, every problem found in the columns is appended
            there rather than raised at the first one.

    Returns:
        The tidy dynamic table: ``participant_id``, ``media_id``, ``modality``,
        ``sample`` (int from 0), ``time`` (s), ``valence``, ``arousal``;
        sorted by participant, item, modality and sample.

    Raises:
        DataError: missing column, unknown item or modality, a value that is
            not finite or outside [-1, 1], a duplicate sample, samples that
            are not 0..n-1 without gaps.
    """
    path = Path(path)
    report = _Report(problems)
    frame = _read_table(path, as_text=False)
    _require_columns(frame, (*schema.DYNAMIC_KEY_COLUMNS, "valence", "arousal"), path)
    sample_column = next((c for c in (*_SAMPLE_COLUMNS, _TIME_COLUMN) if c in frame.columns), None)
    if sample_column is None:
        raise DataError(
            "missing a sample column ('seq' or 'sample') or a time column ('time', seconds)",
            file=path,
        )
    if frame.empty:
        raise DataError(NO_ROWS, file=path)

    out = pd.DataFrame(index=frame.index)
    ids = report.attempt(_integers, frame, "participant_id", path)
    media = report.attempt(catalog.resolve_column, frame["media_id"], file=path)
    modality = report.attempt(_modalities, frame, "media_modality", path)
    sample: pd.Series | None = None
    if sample_column == _TIME_COLUMN:
        seconds = report.attempt(_numbers, frame, _TIME_COLUMN, path, allow_missing=False)
        if seconds is not None:
            samples = np.round(seconds.to_numpy() / schema.SAMPLE_PERIOD_S)
            negative = samples < 0
            if negative.any():
                row = _first_row(negative)
                report(DataError(f"negative time {seconds.iloc[row - 1]}", file=path, row=row))
            else:
                sample = pd.Series(samples.astype("int64"), index=frame.index)
    else:
        sample = report.attempt(_integers, frame, sample_column, path)
        if sample is not None and (sample < 0).any():
            row = _first_row(sample < 0)
            report(DataError(f"negative sample index {sample.iloc[row - 1]}", file=path, row=row))
            sample = None
    for dimension in schema.DIMENSIONS:
        raw = frame[dimension]
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = ~np.isfinite(values.to_numpy())
        outside = (values < -1) | (values > 1)
        if bad.any():
            row = _first_row(bad)
            problem = f"{dimension} is missing or not a finite number{_shown(raw.iloc[row - 1])}"
        elif outside.any():
            row = _first_row(outside)
            problem = f"{dimension} {values.iloc[row - 1]} is outside [-1, 1]"
        else:
            out[dimension] = values
            continue
        item = None if media is None else str(media.iloc[row - 1])
        report(DataError(problem, file=path, row=row, item=item))
    report.done()  # the checks below need every column
    assert ids is not None and media is not None and modality is not None and sample is not None
    out["participant_id"], out["media_id"], out["modality"] = ids, media, modality
    out["sample"] = sample
    out["time"] = out["sample"] * schema.SAMPLE_PERIOD_S
    out = out[["participant_id", "media_id", "modality", "sample", "time", *schema.DIMENSIONS]]

    keys = ["participant_id", "media_id", "modality"]
    out["_row"] = np.arange(1, len(out) + 1)
    out = out.sort_values([*keys, "sample", "_row"], kind="stable").reset_index(drop=True)

    duplicated = out.duplicated([*keys, "sample"])
    if duplicated.any():
        at = int(np.flatnonzero(duplicated.to_numpy())[0])
        record = out.iloc[at]
        raise DataError(
            f"duplicate sample {record['sample']} of participant {record['participant_id']} "
            f"in modality {record['modality']} (also in row {out['_row'].iloc[at - 1]})",
            file=path,
            row=int(record["_row"]),
            item=str(record["media_id"]),
        )

    # Samples must run 0..n-1: after sorting, each sample equals its position
    # within its annotation.
    position = out.groupby(keys, sort=False).cumcount().to_numpy()
    wrong = out["sample"].to_numpy() != position
    if wrong.any():
        at = int(np.flatnonzero(wrong)[0])
        record = out.iloc[at]
        expected = int(position[at])
        if expected == 0:
            problem = f"starts at sample {record['sample']} instead of 0"
        else:
            missing = (
                f"{expected}"
                if record["sample"] == expected + 1
                else f"{expected}..{record['sample'] - 1}"
            )
            problem = f"has a gap (sample {missing} missing before sample {record['sample']})"
        raise DataError(
            f"the annotation of participant {record['participant_id']} in modality "
            f"{record['modality']} {problem}",
            file=path,
            row=int(record["_row"]),
            item=str(record["media_id"]),
        )

    lengths = out.groupby(keys, sort=False).size()
    short = lengths[lengths < window_samples]
    if issues is not None:
        for key, n in short.items():
            participant, item, modality = cast(tuple[int, str, str], key)
            issues.append(
                f"{path.name}: the {modality} annotation of participant {participant} for item "
                f"{item} has {n} samples, fewer than the {window_samples} of the "
                "analysis window; it is kept here and left out of the analyses."
            )
    return out.drop(columns="_row")


def _emobase_file(
    path: Path,
    item: str,
    names: tuple[str, ...],
    rows_allowed: tuple[int, ...] = schema.FEATURE_ROWS_ALLOWED,
) -> np.ndarray:
    """The 988 feature values of one emobase file, rows x features."""
    text = _read_text(path)
    header = [h.strip() for h in next(csv.reader(io.StringIO(text, newline="")))]
    by_name = set(names).issubset(header)
    n_expected = len(names) + 3
    if not by_name and len(header) != n_expected:
        raise DataError(
            f"expected {n_expected} columns (an unnamed index, 'name', "
            f"{len(names)} emobase features, a class column), found {len(header)}",
            file=path,
            item=item,
        )
    # Two passes of the C parser (layout columns, then all features as float)
    # are faster than one mixed-type frame sliced afterwards.
    columns: list[Any] = (
        [header.index(n) for n in names] if by_name else list(range(2, n_expected - 1))
    )
    try:
        if not by_name:
            layout = pd.read_csv(
                io.StringIO(text), header=None, skiprows=1, usecols=[1, n_expected - 1], dtype=str
            )
            turn_names = layout.iloc[:, 0].fillna("")
            not_turn = ~turn_names.str.startswith("liveturn_")
            if not_turn.any():
                row = _first_row(not_turn)
                raise DataError(
                    "the second column must hold the window name (liveturn_k), found "
                    f"{turn_names.iloc[row - 1]!r}",
                    file=path,
                    row=row,
                    item=item,
                )
            if pd.to_numeric(layout.iloc[:, 1], errors="coerce").notna().any():
                raise DataError(
                    "the last column must be the class column (e.g. 'unassigned'), found numbers",
                    file=path,
                    item=item,
                )
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                header=None,
                skiprows=1,
                usecols=columns,
                dtype="float64",
                low_memory=False,
            )
            # usecols keeps file order; put the columns in the order of `names`.
            order = np.argsort(np.argsort(columns))
            values = frame.to_numpy()[:, order]
        except ValueError as err:
            if isinstance(err, pd.errors.ParserError):
                raise
            cells = pd.read_csv(
                io.StringIO(text), header=None, skiprows=1, usecols=columns, dtype=str
            )
            cells = cells[columns]
            numbers = cells.apply(pd.to_numeric, errors="coerce")
            bad = numbers.isna().to_numpy() & cells.notna().to_numpy()
            r, c = np.argwhere(bad)[0]
            raise DataError(
                f"feature {names[c]} is not a number ({cells.iloc[r, c]!r})",
                file=path,
                row=int(r) + 1,
                item=item,
            ) from err
    except pd.errors.ParserError as err:
        raise DataError(
            f"not a well-formed CSV file ({_parser_reason(err)})", file=path, item=item
        ) from err
    n_rows = len(values)
    if n_rows not in rows_allowed:
        allowed = " or ".join(str(n) for n in rows_allowed)
        raise DataError(f"{n_rows} rows, expected {allowed}", file=path, item=item)
    finite = np.isfinite(values)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise DataError(
            f"feature {names[c]} is missing or not finite ({values[r, c]})",
            file=path,
            row=int(r) + 1,
            item=item,
        )
    return values


_NUMBER = rb"[-+.0-9eE]+"
"""A cell of number characters (the full parse checks the number itself)."""


def _emobase_looks_valid(
    path: Path, n_features: int, rows_allowed: tuple[int, ...] = schema.FEATURE_ROWS_ALLOWED
) -> bool:
    """A fast check of one emobase file in the published layout: the header's
    column count, an allowed number of data rows (119 or 120 for 60 s excerpts), and on every row an index, ``liveturn_k``,
    ``n_features`` cells of number characters and a class cell. False means "parse it fully to
    find out" (:func:`_emobase_file` names the problem, or accepts a layout this
    check does not know, e.g. columns in another order)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    header_end = data.find(b"\n")
    if header_end < 0 or data[:header_end].count(b",") != n_features + 2:
        return False
    body = data[header_end + 1 :]
    rows = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
    if rows not in rows_allowed:
        return False
    line = re.compile(
        rb"^[^,\r\n]*,liveturn_\d+(?:," + _NUMBER + rb"){%d},[^,\r\n]*\r?$" % n_features, re.M
    )
    return sum(1 for _ in line.finditer(body)) == rows


def check_emobase(
    folder: str | Path,
    catalog: ItemCatalog,
    *,
    rows_allowed: tuple[int, ...] = schema.FEATURE_ROWS_ALLOWED,
    problems: list[DataError] | None = None,
) -> None:
    """Check every item's emobase file without building the feature table (about
    four times faster than :func:`load_emobase`): what :func:`load_dataset` does
    when the features are not needed, so a damaged file is found at load time.

    Args:
        folder: the ``emobase_features/`` folder.
        catalog: the items (each needs a file).
        rows_allowed: the row counts a file may have (as for :func:`load_emobase`).
        problems: when given, every problem is appended there rather than raised.

    Raises:
        DataError: a missing folder or file, or a file :func:`load_emobase` would refuse.
    """
    folder = Path(folder)
    report = _Report(problems)
    if not folder.is_dir():
        problem = "expected a folder, found a file" if folder.exists() else "not found"
        raise DataError(f"emobase feature folder {problem}", file=folder)
    names = schema.emobase_feature_names()
    for item in catalog.items:
        path = folder / f"{item}.csv"
        if not path.exists():
            report(DataError("no emobase feature file for this item", file=path, item=item))
        elif not _emobase_looks_valid(path, len(names), rows_allowed):
            report.attempt(_emobase_file, path, item, names, rows_allowed)
    report.done()


def load_emobase(
    folder: str | Path,
    catalog: ItemCatalog | None = None,
    *,
    rows_allowed: tuple[int, ...] = schema.FEATURE_ROWS_ALLOWED,
    problems: list[DataError] | None = None,
) -> pd.DataFrame:
    """The openSMILE emobase features of every item, from ``emobase_features/``.

    The published files have a broken header (all feature columns share one
    name); their layout (unnamed index, ``name`` with ``liveturn_k``, 988
    numbers, a trailing class column) is checked and the real names are
    restored by position in the order of
    :func:`muvi.data.schema.emobase_feature_names`. Files whose header already
    carries the 988 real names are read by name.

    Args:
        folder: the folder of ``<video_id>.csv`` files.
        catalog: the items to read (every one must have a file); without it,
            every CSV file in the folder, sorted by name.
        rows_allowed: the row counts a file may have: 119 or 120 for the
            published 60 s excerpts (:func:`load_dataset` passes the two
            beyond a study's own analysis window, e.g. 39 or 40 for 20 s).
        problems: when given, the problem of every file is appended there
            rather than raised at the first file.

    Returns:
        Index (``media_id``, ``sample``), 988 float columns.

    Raises:
        DataError: a missing folder or file, a wrong layout, a row count not
            in ``rows_allowed``, a non-numeric or non-finite value.
    """
    folder = Path(folder)
    if not folder.is_dir():
        problem = "expected a folder, found a file" if folder.exists() else "not found"
        raise DataError(f"emobase feature folder {problem}", file=folder)
    if catalog is None:
        items = sorted(p.stem for p in folder.glob("*.csv"))
        if not items:
            raise DataError("no emobase feature files (*.csv)", file=folder)
    else:
        items = catalog.items
    names = schema.emobase_feature_names()
    report = _Report(problems)
    blocks: list[np.ndarray] = []
    index_items: list[np.ndarray] = []
    index_samples: list[np.ndarray] = []
    for item in items:
        path = folder / f"{item}.csv"
        if not path.exists():
            report(DataError("no emobase feature file for this item", file=path, item=item))
            continue
        values = report.attempt(_emobase_file, path, item, names, rows_allowed)
        if values is None:
            continue
        blocks.append(values)
        index_items.append(np.full(len(values), item, dtype=object))
        index_samples.append(np.arange(len(values), dtype="int64"))
    report.done()
    index = pd.MultiIndex.from_arrays(
        [np.concatenate(index_items), np.concatenate(index_samples)],
        names=list(schema.ITEM_SAMPLE_INDEX),
    )
    return pd.DataFrame(np.vstack(blocks), index=index, columns=list(names))


def load_visual_features(
    path: str | Path, catalog: ItemCatalog, *, problems: list[DataError] | None = None
) -> pd.DataFrame:
    """The combined visual features CSV (one row per 500 ms frame).

    Args:
        path: the file: a ``media_id`` column (full or short id), an optional
            ``frame`` column (else the row order within each item), then
            feature columns. Text-only columns (names, notes) are dropped.
        catalog: the study's items.
        problems: when given, every problem found is appended there rather
            than raised at the first one.

    Returns:
        Index (``media_id``, ``sample``), one float column per feature, rows
        sorted by item (catalog order) and sample.

    Raises:
        DataError: missing ``media_id``, an unknown item, a bad or duplicate
            frame, a feature column with non-numeric cells, no feature column.
    """
    path = Path(path)
    report = _Report(problems)
    frame = _read_table(path, as_text=False)
    _require_columns(frame, ("media_id",), path)
    if frame.empty:
        raise DataError(NO_ROWS, file=path)
    media = report.attempt(catalog.resolve_column, frame["media_id"], file=path)
    sample: pd.Series | None = None
    if "frame" in frame.columns:
        sample = report.attempt(_integers, frame, "frame", path)
        if sample is not None and (sample < 0).any():
            row = _first_row(sample < 0)
            report(DataError(f"negative frame {sample.iloc[row - 1]}", file=path, row=row))
            sample = None
    elif media is not None:
        sample = media.groupby(media, sort=False).cumcount().astype("int64")
    if media is not None and sample is not None:
        duplicated = pd.DataFrame({"m": media, "s": sample}).duplicated()
        if duplicated.any():
            row = _first_row(duplicated)
            report(
                DataError(
                    f"duplicate frame {sample.iloc[row - 1]}",
                    file=path,
                    row=row,
                    item=str(media.iloc[row - 1]),
                )
            )
    features: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column in schema.VISUAL_KEY_COLUMNS:
            continue
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            features[column] = values.astype("float64")
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        text = values.notna() & numbers.isna()
        if text.all():
            continue  # a text column, not a feature
        if numbers.notna().any() and text.any():
            row = _first_row(text)
            report(
                DataError(
                    f"feature {column} is not a number ({values.iloc[row - 1]!r})",
                    file=path,
                    row=row,
                )
            )
            continue
        features[column] = numbers.astype("float64")
    if not features and not report.found:
        raise DataError("no numeric feature columns", file=path)
    report.done()
    assert media is not None and sample is not None
    order = {item: i for i, item in enumerate(catalog.items)}
    table = pd.DataFrame(features)
    table.index = pd.MultiIndex.from_arrays(
        [media.to_numpy(dtype=object), sample.to_numpy()], names=list(schema.ITEM_SAMPLE_INDEX)
    )
    rank = media.map(order).to_numpy() * (int(sample.max()) + 1) + sample.to_numpy()
    return table.iloc[np.argsort(rank, kind="stable")]


# --------------------------------------------------------------------------
# The whole study
# --------------------------------------------------------------------------


def _metadata_window(
    metadata: dict[str, Any], path: Path, override: int | None = None
) -> AnalysisWindow:
    """:func:`muvi.data.window.study_window`, a problem named in the study's metadata file."""
    try:
        return study_window(metadata, override)
    except DataError as err:
        raise DataError(err.problem, file=path) from None


def feature_rows_allowed(window_samples: int) -> tuple[int, int]:
    """The row counts a study's 2 Hz feature file may have: its analysis window plus the
    1 s margin (119 or 120 for the published 60 s excerpts).

    Examples:
        >>> feature_rows_allowed(118), feature_rows_allowed(38)
        ((119, 120), (39, 40))
    """
    return (window_samples + 1, window_samples + 2)


def _load_metadata(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    if path.is_dir():
        raise DataError("expected a JSON file, found a folder", file=path)
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(f"cannot read the file ({err.strerror or err})", file=path) from None
    except UnicodeDecodeError as err:
        raise DataError(
            f"not a JSON text file (undecodable byte at offset {err.start})", file=path
        ) from None
    except json.JSONDecodeError as err:
        raise DataError(f"not valid JSON ({err})", file=path) from None
    if not isinstance(metadata, dict):
        raise DataError("expected a JSON object", file=path)
    if "simulated" in metadata and not isinstance(metadata["simulated"], bool):
        raise DataError(
            f"'simulated' must be true or false, found {json.dumps(metadata['simulated'])}",
            file=path,
        )
    return metadata


def _check_participants_known(
    table: pd.DataFrame,
    known: set[int],
    path: Path,
    participants_file: Path,
    *,
    in_file_order: bool,
) -> None:
    unknown = ~table["participant_id"].isin(known)
    if unknown.any():
        at = int(np.flatnonzero(unknown.to_numpy())[0])
        pid = int(table["participant_id"].iloc[at])
        raise DataError(
            f"participant {pid} is not in {participants_file.name}",
            file=path,
            row=at + 1 if in_file_order else None,
            item=str(table["media_id"].iloc[at]),
        )


def load_dataset(
    root: str | Path,
    *,
    require_dynamic: bool = False,
    features: bool = True,
    window_samples: int | None = None,
) -> MuviDataset:
    """Load a study folder in the published layout.

    Required: ``video_urls.csv``, ``participant_data.csv``, ``media_data.csv``.
    Optional: ``av_data.csv``, ``emobase_features/``,
    ``combined_visual_features.csv``, ``muvi_metadata.json`` (its
    ``simulated`` flag marks a simulated study).

    Args:
        root: the folder.
        require_dynamic: refuse a folder without ``av_data.csv``.
        features: load the audio and visual feature files (the analyses of
            the ratings do not need them; skipping them saves a few seconds).
        window_samples: the analysis window that the notes about short
            annotations refer to; by default the study's own
            (:func:`muvi.data.window.study_window`).
            Without them the emobase files are still checked, quickly
            (:func:`check_emobase`).

    Returns:
        The study; ``issues`` lists the quirks met (short dynamic annotations,
        dynamic annotations without a static row).

    Raises:
        DataError: a missing required file, any malformed file, a participant
            in the annotations who is not in ``participant_data.csv``.
    """
    root = Path(root)
    if not root.is_dir():
        problem = (
            "expected a study folder, found a file" if root.exists() else "dataset folder not found"
        )
        raise DataError(problem, file=root)
    issues: list[str] = []
    items = load_video_urls(root / schema.VIDEO_URLS_FILE)
    catalog = ItemCatalog(items, source=root / schema.VIDEO_URLS_FILE)
    participants_file = root / schema.PARTICIPANTS_FILE
    participants = load_participants(participants_file)
    static_file = root / schema.STATIC_FILE
    static = load_static(static_file, catalog)
    known = set(participants["participant_id"].tolist())
    _check_participants_known(static, known, static_file, participants_file, in_file_order=True)

    metadata_file = root / schema.METADATA_FILE
    metadata = _load_metadata(metadata_file)
    window = _metadata_window(metadata, metadata_file, window_samples)
    own_window = _metadata_window(metadata, metadata_file).n_samples  # whatever the user asks
    dynamic = None
    dynamic_file = root / schema.DYNAMIC_FILE
    if dynamic_file.exists():
        dynamic = load_dynamic(
            dynamic_file, catalog, issues=issues, window_samples=window.n_samples
        )
        _check_participants_known(
            dynamic, known, dynamic_file, participants_file, in_file_order=False
        )
        keys = ["participant_id", "media_id", "modality"]
        annotations = dynamic[keys].drop_duplicates()
        matched = annotations.merge(static[keys], on=keys, how="left", indicator=True)
        orphans = matched[matched["_merge"] == "left_only"]
        if len(orphans):
            first = orphans.iloc[0]
            issues.append(
                f"{dynamic_file.name}: {len(orphans)} dynamic annotation(s) have no static row in "
                f"{static_file.name} (first: participant {first['participant_id']}, item "
                f"{first['media_id']}, {first['modality']})."
            )
    elif require_dynamic:
        raise DataError(
            "the dynamic annotations are required but the file is missing", file=dynamic_file
        )

    audio = None
    if (root / schema.EMOBASE_DIR).is_dir():
        rows = feature_rows_allowed(own_window)
        if features:
            audio = load_emobase(root / schema.EMOBASE_DIR, catalog, rows_allowed=rows)
        else:  # not needed, but a damaged file is reported now rather than by a later model
            check_emobase(root / schema.EMOBASE_DIR, catalog, rows_allowed=rows)
    visual = None
    if features and (root / schema.VISUAL_FEATURES_FILE).exists():
        visual = load_visual_features(root / schema.VISUAL_FEATURES_FILE, catalog)
    return MuviDataset(
        root=root,
        items=items,
        participants=participants,
        static=static,
        dynamic=dynamic,
        audio_features=audio,
        visual_features=visual,
        simulated=bool(metadata.get("simulated", False)),
        metadata=metadata,
        issues=issues,
        _window=window,
    )
