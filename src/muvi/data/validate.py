"""Check every file of a study folder and report every problem (``muvi validate``).

:func:`muvi.data.loaders.load_dataset` stops at the first problem, which suits
loading; before sharing or analysing a folder one wants the whole list.
:func:`validate_study` runs the same loaders, with the same rules (there is one
place for each rule: the loaders), in their collecting mode: each file's
independent checks (each column, each rule) report and carry on, and a file
whose structure is broken (unreadable, missing columns) reports that one
problem and the next file is checked. The emobase files are each checked in
full.

A folder in another layout (:mod:`muvi.data.formats`: 1000 Songs, DEAM,
PMEmo, the long CSV) is recognised and read by that layout's reader without
its features: a problem in its ratings is one line (the reader stops there),
and each audio file that cannot be read is one line more. The notes then
say what the study cannot supply.

Examples:
    >>> import tempfile
    >>> result = validate_study(tempfile.mkdtemp())
    >>> [str(p).split(": ", 1)[1] for p in result.problems]
    ['file not found; the files that name items were not checked', 'file not found', 'file not found']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd

from muvi.data import schema
from muvi.data.loaders import (
    ItemCatalog,
    _check_participants_known,
    _Invalid,
    _load_metadata,
    _metadata_window,
    feature_rows_allowed,
    load_dynamic,
    load_emobase,
    load_participants,
    load_static,
    load_video_urls,
    load_visual_features,
)
from muvi.errors import DataError

__all__ = ["ValidationResult", "validate_study"]

T = TypeVar("T")


@dataclass
class ValidationResult:
    """What :func:`validate_study` found.

    Attributes:
        root: the folder checked.
        problems: every problem, one :class:`DataError` each (its message names
            the file, the row or item, and what is wrong), in file order.
        notes: quirks that are not errors (e.g. a dynamic annotation shorter than
            the analysis window, which the loaders keep).
        checked: the files and folders that were checked, in order.
        counts: what the valid files hold (items, participants, annotations...).
    """

    root: Path
    problems: list[DataError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: ``ok`` and what was checked, or the number of problems.

        Examples:
            >>> ValidationResult(Path("s"), counts={"items": 2}, checked=["a", "b"]).summary()
            'ok: s: 2 files checked (items 2)'
        """
        if self.problems:
            noun = "problem" if len(self.problems) == 1 else "problems"
            return f"{self.root}: {len(self.problems)} {noun} found"
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"ok: {self.root}: {len(self.checked)} files checked ({counts})"


def _check(result: ValidationResult, name: str, load: Callable[[list[DataError]], T]) -> T | None:
    """Run one loader in collecting mode; None when the file has problems."""
    result.checked.append(name)
    found: list[DataError] = []
    value: T | None = None
    try:
        value = load(found)
    except _Invalid:
        value = None
    except DataError as err:  # a structural problem: the rest of the file is not checked
        found.append(err)
        value = None
    result.problems.extend(found)
    return None if found else value


def _validate_layout(result: ValidationResult, layout: str) -> ValidationResult:
    """Check a folder in one of the music layouts (see the module's docstring)."""
    from muvi.data.formats import open_study
    from muvi.data.formats._music import AUDIO_SUFFIXES, NO_EXTRACTOR, media_features

    root = result.root
    result.checked.append(f"{layout} ratings")
    try:
        dataset = open_study(root, layout=layout, features=False)
    except DataError as err:
        result.problems.append(err)
        return result
    assert dataset.dynamic is not None
    result.counts["items"] = len(dataset.items)
    result.counts["raters"] = (
        0 if dataset.averaged else int(dataset.dynamic["participant_id"].nunique())
    )
    result.counts["ratings"] = len(dataset.dynamic)
    result.counts["window samples"] = dataset.window.n_samples
    if "audio" not in dataset.lacks:
        audio = sorted(
            p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
        )
        extractor = media_features()
        if extractor is None:
            result.notes.append(f"audio files not checked: {NO_EXTRACTOR}.")
        else:
            for path in audio:
                result.checked.append(str(path.relative_to(root)))
                problem = extractor.check(path)
                if problem is not None:
                    result.problems.append(problem)
            result.counts["audio files"] = len(audio)
    offset = dataset.metadata.get("time_offset_s")
    result.notes.append(
        f"{layout} layout: {len(dataset.items)} items, "
        + ("ratings averaged over raters" if dataset.averaged else "per-rater ratings")
        + (f", sample 0 at {offset:g} s of each song" if isinstance(offset, int | float) else "")
        + f"; analysis window {dataset.window.describe()}."
    )
    result.notes.extend(dataset.issues)
    result.notes.extend(f"cannot supply {what}: {why}." for what, why in dataset.lacks.items())
    return result


def validate_study(root: str | Path, layout: str | None = None) -> ValidationResult:
    """Check every file of a study folder in the published layout, or in another
    layout of :mod:`muvi.data.formats`.

    Required files: ``video_urls.csv``, ``participant_data.csv``,
    ``media_data.csv``; checked when present: ``av_data.csv``,
    ``emobase_features/``, ``combined_visual_features.csv``,
    ``muvi_metadata.json``. The annotations are also checked against the
    participants file.

    Args:
        root: the study folder.
        layout: the layout's name (default: recognised; a folder that no
            layout recognises is checked as the published layout).

    Returns:
        A :class:`ValidationResult`; ``ok`` when no problem was found.
    """
    from muvi.data.formats import recognise

    root = Path(root)
    result = ValidationResult(root)
    if not root.is_dir():
        problem = (
            "expected a study folder, found a file" if root.exists() else "study folder not found"
        )
        result.problems.append(DataError(problem, file=root))
        return result
    try:
        found = recognise(root, layout)[0].name
    except DataError as err:
        if layout is not None:
            result.problems.append(err)
            return result
        found = "muvi"  # nothing recognised: say which of the published files are missing
    if found != "muvi":
        return _validate_layout(result, found)

    # a study's own excerpt length sets its analysis window, and with it the rows an
    # emobase file may have; a problem with the metadata is reported with that file, last
    metadata_file = root / schema.METADATA_FILE
    window_samples = schema.ANALYSIS_SAMPLES
    metadata_problem: DataError | None = None
    if metadata_file.exists():
        try:
            metadata = _load_metadata(metadata_file)
            window_samples = _metadata_window(metadata, metadata_file).n_samples
        except DataError as err:
            metadata_problem = err
    feature_rows = feature_rows_allowed(window_samples)

    urls_file = root / schema.VIDEO_URLS_FILE
    items = _check(result, urls_file.name, lambda _: load_video_urls(urls_file))
    catalog = ItemCatalog(items, source=urls_file) if items is not None else None
    if catalog is None:  # say once, on the same line, what could not be checked
        last = result.problems[-1]
        result.problems[-1] = DataError(
            f"{last.problem}; the files that name items were not checked",
            file=last.file,
            row=last.row,
            item=last.item,
        )
    if items is not None:
        result.counts["items"] = len(items)

    participants_file = root / schema.PARTICIPANTS_FILE
    participants = _check(
        result,
        participants_file.name,
        lambda found: load_participants(participants_file, problems=found),
    )
    known = None
    if participants is not None:
        known = set(participants["participant_id"].tolist())
        result.counts["participants"] = len(known)

    def annotations(
        path: Path, load: Callable[[ItemCatalog, list[DataError]], pd.DataFrame], *, in_order: bool
    ) -> Callable[[list[DataError]], pd.DataFrame]:
        def run(found: list[DataError]) -> pd.DataFrame:
            if catalog is None:
                if not path.exists():
                    raise DataError("file not found", file=path)
                raise _Invalid  # not checked (said on the line of video_urls.csv)
            table = load(catalog, found)
            if known is not None:
                _check_participants_known(
                    table, known, path, participants_file, in_file_order=in_order
                )
            return table

        return run

    static_file = root / schema.STATIC_FILE
    static = _check(
        result,
        static_file.name,
        annotations(
            static_file,
            lambda c, found: load_static(static_file, c, problems=found),
            in_order=True,
        ),
    )
    if static is not None:
        result.counts["static annotations"] = len(static)

    dynamic_file = root / schema.DYNAMIC_FILE
    if dynamic_file.exists():
        dynamic = _check(
            result,
            dynamic_file.name,
            annotations(
                dynamic_file,
                lambda c, found: load_dynamic(
                    dynamic_file,
                    c,
                    issues=result.notes,
                    problems=found,
                    window_samples=window_samples,
                ),
                in_order=False,
            ),
        )
        if dynamic is not None:
            result.counts["dynamic samples"] = len(dynamic)

    emobase_dir = root / schema.EMOBASE_DIR
    if emobase_dir.exists():

        def emobase(found: list[DataError]) -> pd.DataFrame:
            if catalog is None:
                raise _Invalid
            return load_emobase(emobase_dir, catalog, rows_allowed=feature_rows, problems=found)

        audio = _check(result, schema.EMOBASE_DIR + "/", emobase)
        if audio is not None:
            result.counts["emobase items"] = audio.index.get_level_values(0).nunique()

    visual_file = root / schema.VISUAL_FEATURES_FILE
    if visual_file.exists():

        def visual(found: list[DataError]) -> pd.DataFrame:
            if catalog is None:
                raise _Invalid
            return load_visual_features(visual_file, catalog, problems=found)

        table = _check(result, visual_file.name, visual)
        if table is not None:
            result.counts["visual feature columns"] = table.shape[1]

    if metadata_file.exists():

        def metadata_checked(_: list[DataError]) -> None:
            if metadata_problem is not None:
                raise metadata_problem

        _check(result, metadata_file.name, metadata_checked)
    return result
