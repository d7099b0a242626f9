"""A new music video -> valence/arousal curves at 2 Hz, per modality.

:func:`run_prediction` extracts the features that the saved model bundles
need (once, for all of them), runs each bundle, and returns one curve per
target modality (``music``, ``visual``, ``audiovisual``) and dimension, as
written by ``muvi predict``: ``curves.csv``, ``curves.json`` and
``curves.png`` (with ``curves.svg`` and ``curves.pdf``). :func:`predict_video` returns the
curves alone.

Every modality that can be predicted is: a bundle whose features cannot be
extracted (the pretrained weights of a visual extractor are absent) is
skipped, with the reason recorded per curve, and the other curves are still
made. Time is on the video's clock: sample ``k`` is at ``start + k / 2`` s,
where ``start`` is where the excerpt (the music) starts in the file.

Warnings are raised in the log, in ``curves.json`` (``warnings``) and drawn
on the figure when a feature came from a small randomly initialised test
model instead of the released weights, or a bundle was trained on simulated
data: such curves say nothing about the video.

A ratings file (:func:`align_ratings`: a plain CSV, or the 1000 Songs
``*_cont_average.csv`` row of the song) is compared with the curves: CCC and
RMSE per modality and dimension, over the samples that have both a rating and
a prediction. Ratings keep their own 2 Hz grid: when the music start found in
the audio shifts the curves' grid off it, the ratings are interpolated at the
curves' times and a note says which ``--start`` puts both on one grid.

Bundles are the folders written by ``muvi train``
(:func:`muvi.models.bundle.save_bundle`). When several bundles predict the
same modality and dimension (e.g. the audiovisual ratings from audio, from
visual, A1, A2 and PAIR), the richest model is used: PAIR, then A2 (late
fusion), A1 (early fusion), an LSTM, LASSO; the choice is recorded in
``curves.json``.

The first 4 samples of every curve are empty (NaN in the CSV, null in the
JSON): the models predict a rating from the 2 s of features before it.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from muvi.data.schema import (
    DIMENSIONS,
    MODALITIES,
    SAMPLE_PERIOD_S,
    emobase_feature_names,
    visual_feature_family,
)
from muvi.display import escape_mathtext
from muvi.errors import BundleError, DataError, MuviError
from muvi.progress import ProgressCallback, Steps

logger = logging.getLogger(__name__)


def architecture_preference() -> tuple[str, ...]:
    """Which bundle predicts a modality and dimension when several could: the
    architectures by their :attr:`~muvi.models.architectures.Architecture.preference`
    (PAIR first), then LASSO.

    Examples:
        >>> architecture_preference()[:2], architecture_preference()[-1]
        (('pair', 'late_fusion'), 'lasso')
    """
    from muvi.models.architectures import ARCHITECTURES

    ranked = sorted(ARCHITECTURES.values(), key=lambda a: -a.preference)
    return (*(a.name for a in ranked), "lasso")


CURVES_CSV = "curves.csv"
CURVES_JSON = "curves.json"
CURVES_PNG = "curves.png"
CURVES_SVG = "curves.svg"
CURVES_PDF = "curves.pdf"

RATINGS_TIME_TOLERANCE_S = SAMPLE_PERIOD_S / 4
"""How far a rating's ``time`` may be from a 2 Hz sample of the excerpt (s)."""


@dataclass
class CurveModel:
    """The bundle chosen for one curve."""

    column: str
    """``<modality>_<dimension>``, e.g. ``music_valence``."""
    bundle: Any
    """A :class:`muvi.models.bundle.ModelBundle`."""

    @property
    def name(self) -> str:
        return str(self.bundle.manifest.get("name", self.bundle.path.name))

    @property
    def modality(self) -> str:
        return str(self.bundle.target_modality)

    @property
    def dimension(self) -> str:
        return str(self.bundle.dimension)

    @property
    def display_name(self) -> str:
        """The model as a reader names it, e.g. ``LASSO, audio`` or ``PAIR``."""
        return bundle_display_name(self.bundle.manifest)

    @property
    def simulated(self) -> bool:
        return bool(self.bundle.manifest.get("simulated"))


def bundle_display_name(manifest: dict[str, Any]) -> str:
    """A bundle's model as a reader names it.

    Examples:
        >>> bundle_display_name({"architecture": "lasso", "feature_sets": ["audio"]})
        'LASSO, audio'
        >>> bundle_display_name({"architecture": "pair", "feature_sets": ["audio", "visual"]})
        'PAIR'
    """
    from muvi.plotting.names import ARCHITECTURE_NAMES

    architecture = str(manifest.get("architecture", "model"))
    name = ARCHITECTURE_NAMES.get(architecture, architecture)
    if architecture in ("lasso", "lstm"):
        sets = manifest.get("feature_sets") or ()
        if sets:
            name += ", " + "+".join(str(s) for s in sets)
    return name


def find_bundles(model_dir: str | Path) -> list[Path]:
    """The bundle folders in ``model_dir`` (itself a bundle, or a folder of bundles).

    Raises:
        BundleError: no bundle there.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        problem = (
            "expected a model folder, found a file" if folder.exists() else "model folder not found"
        )
        raise BundleError(f"{folder}: {problem}")
    if (folder / "manifest.json").exists():
        return [folder]
    found = sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file())
    if not found:
        raise BundleError(
            f"{folder}: no model bundles here (folders with a manifest.json, written by `muvi train`)"
        )
    return found


def choose_models(bundles: Sequence[Any]) -> list[CurveModel]:
    """One bundle per target modality and dimension, by :func:`architecture_preference`
    (then the one reading more feature sets, then the name), in modality then
    dimension order."""
    rank = {a: i for i, a in enumerate(architecture_preference())}
    best: dict[tuple[str, str], Any] = {}

    def key(b: Any) -> tuple[int, int, str]:
        return (
            rank.get(str(b.manifest.get("architecture")), len(rank)),
            -len(b.manifest.get("feature_sets", ())),
            b.path.name,
        )

    for bundle in bundles:
        slot = (bundle.target_modality, bundle.dimension)
        if slot not in best or key(bundle) < key(best[slot]):
            best[slot] = bundle
    order = {(m, d): i for i, (m, d) in enumerate((m, d) for m in MODALITIES for d in DIMENSIONS)}
    chosen = sorted(best.items(), key=lambda kv: order.get(kv[0], len(order)))
    return [CurveModel(f"{m}_{d}", b) for (m, d), b in chosen]


def needed_families(columns: Sequence[str], bundle_name: str = "the model") -> list[str]:
    """The feature families (extractor names) that produce ``columns``.

    Examples:
        >>> needed_families(["pcm_intensity_sma_max", "colour__hue_00", "lighting__key"])
        ['audio', 'colour', 'lighting']

    Raises:
        BundleError: a column that no extractor produces.
    """
    audio = set(emobase_feature_names())
    families: list[str] = []
    for column in columns:
        family = "audio" if column in audio else visual_feature_family(column)
        if family == "other":
            raise BundleError(
                f"bundle {bundle_name}: feature column {column!r} is produced by no feature extractor"
            )
        if family not in families:
            families.append(family)
    from muvi.features.registry import family_names

    return [f for f in family_names() if f in families]


def parse_modalities(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """The modalities asked for (``--modalities music,visual``); None or ``all`` is every one.

    Examples:
        >>> parse_modalities("visual, music")
        ('music', 'visual')
        >>> parse_modalities(None)
        ('music', 'visual', 'audiovisual')

    Raises:
        MuviError: a name that is not a modality.
    """
    if text is None:
        return tuple(MODALITIES)
    names = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    if not names or names == ["all"]:
        return tuple(MODALITIES)
    unknown = [n for n in names if n not in MODALITIES]
    if unknown:
        raise MuviError(
            f"--modalities: {', '.join(repr(n) for n in unknown)} is not a modality "
            f"(choose from {', '.join(MODALITIES)}, or all)"
        )
    return tuple(m for m in MODALITIES if m in names)


@dataclass
class Agreement:
    """How a predicted curve agrees with the user's ratings."""

    modality: str
    dimension: str
    ccc: float
    rmse: float
    n: int
    """Samples with both a rating and a prediction."""


@dataclass
class Prediction:
    """What :func:`run_prediction` made.

    Attributes:
        curves: ``sample``, ``time`` (s on the video's clock), then one column
            ``<modality>_<dimension>`` per curve made.
        models: the bundle behind each curve.
        start: where the excerpt starts in the video (s).
        skipped: ``<modality>_<dimension>`` -> why no curve was made for it.
        notes: what is worth knowing (music start found, a preferred bundle
            replaced by another...).
        warnings: test weights used, bundles trained on simulated data.
        test_weight_families: the feature families computed with test weights.
        simulated_bundles: the bundles trained on simulated data.
        ratings: the user's ratings on the curves' samples (``sample`` and
            ``<modality>_<dimension>`` columns), or None.
        ratings_alignment: how the ratings' times were placed on the curves'
            samples when that is worth saying (:attr:`Ratings.note`), else None.
        agreement: CCC and RMSE of each curve against the ratings.
        paths: the files written (``csv``, ``json``, ``png``, ``svg``, ``pdf``).
    """

    curves: pd.DataFrame
    models: list[CurveModel]
    start: float
    video: Path
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    test_weight_families: list[str] = field(default_factory=list)
    simulated_bundles: list[str] = field(default_factory=list)
    ratings: pd.DataFrame | None = None
    ratings_file: Path | None = None
    ratings_alignment: str | None = None
    agreement: list[Agreement] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)

    def skipped_modalities(self) -> dict[str, str]:
        """Modality -> why (some of) its curves were not made, one sentence."""
        return _by_modality(self.skipped)


def _by_modality(skipped: dict[str, str]) -> dict[str, str]:
    """``<modality>_<dimension>`` -> reason, as modality -> one sentence (each reason
    once; a skipped bundle's reason names the bundle, hence its dimension).

    Examples:
        >>> _by_modality({"visual_valence": "x", "visual_arousal": "x", "music_arousal": "y"})
        {'visual': 'x', 'music': 'y'}
    """
    out: dict[str, list[str]] = {}
    for column, reason in skipped.items():
        reasons = out.setdefault(column.split("_", 1)[0], [])
        if reason not in reasons:
            reasons.append(reason)
    return {modality: "; ".join(reasons) for modality, reasons in out.items()}


def skip_reason(blocked: Sequence[tuple[str, str, str]]) -> str:
    """Why bundles were skipped, each problem said once with how often it occurred.

    Args:
        blocked: ``(bundle, family, problem)`` for every feature family a
            bundle needs that cannot be extracted.

    Returns:
        One clause per problem: the families, the problem (with ``N times``
        when it blocks several family and bundle pairs) and the bundles skipped.

    Examples:
        >>> skip_reason([("a", "colour", "no video"), ("a", "faces", "no video"),
        ...              ("b", "colour", "no video")])
        'colour, faces features cannot be extracted (no video, 3 times): bundles a, b skipped'
        >>> skip_reason([("a", "faces", "weights missing")])
        'faces features cannot be extracted (weights missing): bundle a skipped'
    """
    problems: dict[str, list[tuple[str, str]]] = {}
    for bundle, family, problem in blocked:
        problems.setdefault(problem, []).append((bundle, family))
    clauses = []
    for problem, pairs in problems.items():
        families = ", ".join(dict.fromkeys(f for _, f in pairs))
        bundles = list(dict.fromkeys(b for b, _ in pairs))
        times = f", {len(pairs)} times" if len(pairs) > 1 else ""
        noun = "bundle" if len(bundles) == 1 else "bundles"
        clauses.append(
            f"{families} features cannot be extracted ({problem}{times}): "
            f"{noun} {', '.join(bundles)} skipped"
        )
    return "; ".join(clauses)


@dataclass
class Ratings:
    """A user's ratings placed on the samples of the predicted curves.

    Attributes:
        table: ``sample`` (0 .. n - 1), then ``<modality>_<dimension>`` for
            every rated modality and dimension (NaN where there is no rating).
        note: how the ratings' times were placed on the curves' samples, when
            that is worth saying (interpolated from their own grid, counted
            from a detected start...), else None.
    """

    table: pd.DataFrame
    note: str | None = None


EMOMUSIC_SAMPLE = re.compile(r"^sample_(\d+)ms$")
"""A column of the 1000 Songs continuous ratings: the time of the sample in ms."""


def _emomusic_ratings(file: Path, song: str | None) -> pd.DataFrame:
    """The 1000 Songs row of one song as a ``time, valence, arousal`` table.

    ``file`` is ``valence_cont_average.csv`` or ``arousal_cont_average.csv``
    (one row per ``song_id``, one column per sample, ``sample_15000ms`` ...),
    or the folder that holds them; the other dimension's file beside it is
    read too when present. The row is the song whose id is ``song``.
    """
    folder = file if file.is_dir() else file.parent
    beside = {d: folder / f"{d}_cont_average.csv" for d in DIMENSIONS}
    if file.is_dir():
        files = {d: f for d, f in beside.items() if f.is_file()}
    else:
        files = {d: file for d in DIMENSIONS if file.name.lower().startswith(d)}
        if not files:
            raise DataError(
                "a 1000 Songs ratings file is named for its dimension "
                "(valence_cont_average.csv, arousal_cont_average.csv)",
                file=file,
            )
        if file in beside.values():  # the other dimension's file beside it
            files.update({d: f for d, f in beside.items() if d not in files and f.is_file()})
    if not files:
        raise DataError(
            "a 1000 Songs ratings folder needs valence_cont_average.csv and/or "
            "arousal_cont_average.csv",
            file=file,
        )
    if song is None:
        raise DataError(
            "a 1000 Songs ratings file needs the song: name the audio <song_id>.mp3", file=file
        )
    series: dict[str, pd.Series] = {}
    for dimension, path in files.items():
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table.columns = [str(c).strip() for c in table.columns]
        if "song_id" not in table:
            raise DataError("a 1000 Songs ratings file needs a 'song_id' column", file=path)
        rows = table[table["song_id"].str.strip() == song]
        if rows.empty:
            raise DataError(
                f"no row for song_id {song} (the audio file's name without its suffix)", file=path
            )
        times = {
            c: int(m.group(1)) / 1000 for c in table.columns if (m := EMOMUSIC_SAMPLE.match(c))
        }
        values = rows.iloc[0][list(times)]
        series[dimension] = pd.Series(
            [v.strip() for v in values], index=list(times.values()), dtype=str
        )
    out = pd.DataFrame(series).fillna("")
    out.index.name = "time"
    return out.reset_index().astype(str)


def _is_emomusic(file: Path) -> bool:
    """A 1000 Songs ratings folder or file (``song_id`` then ``sample_<ms>ms`` columns)."""
    if file.is_dir():
        return True
    try:
        header = file.open(encoding="utf-8", errors="replace").readline()
    except OSError:
        return False
    names = [c.strip() for c in header.split(",")]
    return bool(names) and names[0] == "song_id" and any(EMOMUSIC_SAMPLE.match(n) for n in names)


def read_ratings(
    path: str | Path,
    *,
    start: float | None,
    n_samples: int,
    modalities: Sequence[str] = MODALITIES,
    song: str | None = None,
    start_detected: bool = False,
) -> pd.DataFrame:
    """A user's ratings of the video at 2 Hz, on the samples of the predicted curves
    (the ``table`` of :func:`align_ratings`, which this calls)."""
    return align_ratings(
        path,
        start=start,
        n_samples=n_samples,
        modalities=modalities,
        song=song,
        start_detected=start_detected,
    ).table


def align_ratings(
    path: str | Path,
    *,
    start: float | None,
    n_samples: int,
    modalities: Sequence[str] = MODALITIES,
    song: str | None = None,
    start_detected: bool = False,
) -> Ratings:
    r"""A user's ratings of the video at 2 Hz, placed on the samples of the predicted curves.

    The file is a CSV with a header: ``time`` (s on the video's clock) or
    ``sample`` (0, 1, ... counted at 2 Hz from the excerpt start), then
    ``valence`` and/or ``arousal`` (ratings in [-1, 1]; an empty cell is a
    missing rating), and optionally ``modality`` (music, visual or
    audiovisual: ratings of that condition; without it every curve is
    compared with the same ratings). The 1000 Songs layout is read too:
    ``valence_cont_average.csv`` / ``arousal_cont_average.csv`` (or their
    folder), the row of the song ``song``, its ``sample_15000ms`` ... columns
    being the times.

    Times keep their own 2 Hz grid: every ``time`` must lie within a quarter
    of a sample period (0.125 s) of ``t0 + k / 2``, ``t0`` the first time of
    the file. When that grid is the curves' (``start + k / 2``, within the
    same 0.125 s) each rating is the sample's; when it is shifted (the music
    start found in the audio moved the curves' grid), the ratings are
    interpolated linearly at the curves' times between two neighbouring
    ratings, and :attr:`Ratings.note` says so and which ``--start`` puts the
    curves on the ratings' own grid.

    Args:
        path: the CSV file (or the 1000 Songs folder).
        start: where the excerpt starts in the video (s); None checks the
            file's format only (times are not placed on samples: nothing is
            returned for them).
        n_samples: the curves' length; ratings beyond it are ignored.
        modalities: the modalities predicted (the columns made).
        song: the 1000 Songs ``song_id`` (the audio file's name without suffix).
        start_detected: ``start`` was found in the audio, not given (the note
            on ratings by ``sample`` says they count from it).

    Returns:
        The :class:`Ratings`.

    Raises:
        DataError: an unreadable file, no ``time``/``sample`` column, no
            ``valence``/``arousal`` column, a value that is not a number, a
            time off the ratings' own 2 Hz grid, ratings that do not overlap the
            curves, an unknown modality or a sample rated twice.

    Examples:
        >>> import tempfile
        >>> file = Path(tempfile.mkdtemp()) / "r.csv"
        >>> _ = file.write_text("time,valence\n1.0,0.2\n1.5,0.4\n2.0,0.6\n")
        >>> found = align_ratings(file, start=1.2, n_samples=3)
        >>> found.table["music_valence"].round(3).tolist()  # at 1.2, 1.7 s; 2.2 s not rated
        [0.28, 0.48, nan]
    """
    file = Path(path)
    emomusic = file.exists() and _is_emomusic(file)
    try:
        if emomusic:
            table = _emomusic_ratings(file, song)
        else:
            table = pd.read_csv(file, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError("ratings file not found", file=file) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"not a readable CSV file ({reason})", file=file) from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    if "time" not in table and "sample" not in table:
        raise DataError("a ratings file needs a 'time' (s) or a 'sample' column", file=file)
    dims = [d for d in DIMENSIONS if d in table]
    if not dims:
        raise DataError("a ratings file needs a 'valence' and/or an 'arousal' column", file=file)
    has_modality = "modality" in table

    def number(row: int, column: str, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise DataError(f"{column} {text!r} is not a number", file=file, row=row) from None
        if not math.isfinite(value):
            raise DataError(f"{column} {text!r} is not a finite number", file=file, row=row)
        return value

    # every row: (row, sample or None, time or None, modalities, {dimension index: value})
    records: list[tuple[int, int | None, float | None, list[str], dict[int, float]]] = []
    origin: float | None = None  # t0 of the ratings' own 2 Hz grid
    for row, record in enumerate(table.to_dict("records"), 1):
        sample: int | None = None
        time: float | None = None
        if "sample" in table and str(record["sample"]).strip():
            value = number(row, "sample", str(record["sample"]).strip())
            if value != int(value) or value < 0:
                raise DataError(
                    f"sample {record['sample']!r} is not a sample number (0, 1, ...)",
                    file=file,
                    row=row,
                )
            sample = int(value)
        elif "time" in table:
            time = number(row, "time", str(record["time"]).strip())
            origin = time if origin is None else origin
            position = (time - origin) / SAMPLE_PERIOD_S
            if abs(position - round(position)) * SAMPLE_PERIOD_S > RATINGS_TIME_TOLERANCE_S:
                raise DataError(
                    f"time {time:g} s is not on the 2 Hz grid of the ratings (their first time "
                    f"{origin:g} s + k * {SAMPLE_PERIOD_S:g} s): resample the ratings to 2 Hz",
                    file=file,
                    row=row,
                )
        else:
            raise DataError("no sample or time on this row", file=file, row=row)
        names = [str(record["modality"]).strip().lower()] if has_modality else list(MODALITIES)
        for modality in names:
            if modality not in MODALITIES:
                raise DataError(
                    f"modality {modality!r} is not one of {', '.join(MODALITIES)}",
                    file=file,
                    row=row,
                )
        values = {
            k: number(row, dimension, str(record[dimension]).strip())
            for k, dimension in enumerate(DIMENSIONS)
            if dimension in table and str(record[dimension]).strip()
        }
        records.append((row, sample, time, names, values))

    # the ratings' grid against the curves': the same (within the tolerance) or shifted
    shift = 0.0
    if start is not None and origin is not None:
        shift = (origin - start) / SAMPLE_PERIOD_S
        shift = (shift - round(shift)) * SAMPLE_PERIOD_S  # in [-0.25, 0.25] s
    interpolate = abs(shift) > RATINGS_TIME_TOLERANCE_S

    rated = {m: np.full((n_samples, len(DIMENSIONS)), np.nan) for m in MODALITIES}
    seen: set[tuple[str, int]] = set()  # (modality, sample of the curves)
    seen_on_own_grid: set[tuple[str, int]] = set()  # (modality, index on the ratings' grid)
    # with a shifted grid: (modality, dimension) -> the ratings' grid index -> value
    on_own_grid: dict[tuple[str, int], dict[int, float]] = {}
    for row, sample, time, names, values in records:
        if start is None and sample is None:
            continue  # the format check, before the excerpt start is known
        if sample is None and time is not None and start is not None and origin is not None:
            if interpolate:
                index = round((time - origin) / SAMPLE_PERIOD_S)
                for modality in names:
                    if (modality, index) in seen_on_own_grid:
                        raise DataError(
                            f"time {time:g} s of {modality} is rated twice", file=file, row=row
                        )
                    seen_on_own_grid.add((modality, index))
                    for k, value in values.items():
                        on_own_grid.setdefault((modality, k), {})[index] = value
                continue
            sample = round((time - start) / SAMPLE_PERIOD_S)
        assert sample is not None
        for modality in names:
            if (modality, sample) in seen:
                raise DataError(f"sample {sample} of {modality} is rated twice", file=file, row=row)
            seen.add((modality, sample))
        if not 0 <= sample < n_samples:
            continue  # before the excerpt, after the curves end, or not placed yet
        for k, value in values.items():
            for modality in names:
                rated[modality][sample, k] = value

    note = None
    if interpolate and start is not None and origin is not None:
        # curve sample j at start + j / 2 lies between the ratings' grid points i and i + 1
        grid_position = (start + np.arange(n_samples) * SAMPLE_PERIOD_S - origin) / SAMPLE_PERIOD_S
        below = np.floor(grid_position).astype(int)
        weight = grid_position - below
        for (modality, k), grid in on_own_grid.items():
            for j in range(n_samples):
                low, high = grid.get(int(below[j])), grid.get(int(below[j]) + 1)
                if low is not None and high is not None:
                    rated[modality][j, k] = (1 - weight[j]) * low + weight[j] * high
        # the time of the ratings' grid at or just before the start (never below 0 s)
        fix = origin + SAMPLE_PERIOD_S * math.floor((start - origin) / SAMPLE_PERIOD_S)
        fix = fix if fix >= 0 else fix + SAMPLE_PERIOD_S
        note = (
            f"the ratings' 2 Hz grid ({origin:g} s + k * {SAMPLE_PERIOD_S:g} s) is "
            f"{abs(shift):.2f} s off the curves' ({start:.2f} s + k * {SAMPLE_PERIOD_S:g} s"
            f"{', from the music start found in the audio' if start_detected else ''}): the "
            f"ratings are interpolated linearly at the curves' times; --start {fix:g} "
            "puts the curves on the ratings' own times"
        )
    elif start is not None and start_detected and any(r[1] is not None for r in records):
        note = (
            f"ratings by sample are counted from the music start found in the audio "
            f"({start:.2f} s); give --start to count them from another time"
        )

    out = pd.DataFrame({"sample": np.arange(n_samples, dtype="int64")})
    for modality in MODALITIES:
        if modality not in modalities:
            continue
        for k, dimension in enumerate(DIMENSIONS):
            series = rated[modality][:, k]
            if np.isfinite(series).any():
                out[f"{modality}_{dimension}"] = series
    times = [r[2] for r in records if r[2] is not None]
    if start is not None and n_samples and times:
        end = start + (n_samples - 1) * SAMPLE_PERIOD_S
        if min(times) > end + SAMPLE_PERIOD_S or max(times) < start - SAMPLE_PERIOD_S:
            raise DataError(
                f"the ratings' times ({min(times):g}-{max(times):g} s) do not overlap the "
                f"curves' ({start:.2f}-{end:.2f} s on the video's clock): give the times on "
                "the video's clock, or --start where the rated excerpt begins",
                file=file,
            )
    return Ratings(out, note)


def agreement_with_ratings(curves: pd.DataFrame, ratings: pd.DataFrame) -> list[Agreement]:
    """CCC and RMSE of every curve that has ratings, over the samples with both.

    Examples:
        >>> curves = pd.DataFrame({"sample": [0, 1, 2], "music_valence": [0.0, 0.5, 1.0]})
        >>> ratings = pd.DataFrame({"sample": [0, 1, 2], "music_valence": [0.0, 0.5, float("nan")]})
        >>> [(a.ccc, a.rmse, a.n) for a in agreement_with_ratings(curves, ratings)]
        [(1.0, 0.0, 2)]
    """
    from muvi.annotations.metrics import ccc, rmse

    found = []
    for modality in MODALITIES:
        for dimension in DIMENSIONS:
            column = f"{modality}_{dimension}"
            if column not in curves or column not in ratings:
                continue
            predicted = curves[column].to_numpy(dtype=float)
            rated = ratings[column].to_numpy(dtype=float)
            both = np.isfinite(predicted) & np.isfinite(rated)
            n = int(both.sum())
            if n < 2:
                found.append(Agreement(modality, dimension, math.nan, math.nan, n))
                continue
            found.append(
                Agreement(
                    modality,
                    dimension,
                    float(ccc(rated[both], predicted[both])),
                    float(rmse(rated[both], predicted[both])),
                    n,
                )
            )
    return found


def run_prediction(
    video: str | Path,
    model_dir: str | Path,
    *,
    start: float | None = None,
    out_dir: str | Path | None = None,
    weights_dir: str | Path | None = None,
    modalities: str | Sequence[str] | None = None,
    ratings: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> Prediction:
    """Valence/arousal curves of a video at 2 Hz for every modality that can be predicted.

    Args:
        video: the video file (an audio file works for music-only bundles).
        model_dir: a bundle folder, or a folder of bundles (``muvi train --out``).
        start: where the music starts (s); None finds it in the audio.
        out_dir: when given, ``curves.csv``, ``curves.json``, ``curves.png``,
            ``curves.svg`` and ``curves.pdf`` are written there.
        weights_dir: pretrained weights for the visual extractors that need them.
        modalities: the modalities to predict (names or ``"music,visual"``);
            None: every modality with a bundle.
        ratings: a ratings file (:func:`align_ratings`) to compare the curves with.
        progress: called with :class:`muvi.progress.ProgressEvent` s (stage
            ``predict``: the features, then each curve); None is silent.

    Returns:
        The :class:`Prediction`.

    Raises:
        BundleError: no bundle, an unreadable one, features that do not match
            it, or no curve that can be made (each reason named).
        DataError: an unreadable video, a missing stream, a malformed ratings file.
    """
    from muvi.features.batch import extract_video, families_with_test_weights, family_problem
    from muvi.features.media import probe
    from muvi.features.registry import FEATURE_FAMILIES
    from muvi.models.bundle import load_bundle

    wanted = parse_modalities(modalities)
    explicit = modalities is not None
    bundles = [load_bundle(p) for p in find_bundles(model_dir)]
    info = probe(video)
    problems: dict[str, str | None] = {}
    if not info.has_video:
        problems.update(
            {f: f"{Path(video).name} has no video stream" for f in FEATURE_FAMILIES if f != "audio"}
        )
    usable = []
    blocked: dict[Path, list[tuple[str, str, str]]] = {}  # (bundle, family, problem)
    for bundle in bundles:
        if bundle.target_modality not in wanted:
            continue
        name = str(bundle.manifest.get("name", bundle.path.name))
        reasons = []
        for family in needed_families(bundle.feature_columns, name):
            if family not in problems:
                problems[family] = family_problem(family, weights_dir)
            problem = problems[family]
            if problem is not None:
                reasons.append((name, family, problem))
        if reasons:
            blocked[bundle.path] = reasons
        else:
            usable.append(bundle)
    models = choose_models(usable)
    made = {m.column for m in models}
    preferred = {
        m.column: m for m in choose_models([b for b in bundles if b.target_modality in wanted])
    }
    skipped: dict[str, str] = {}
    notes: list[str] = []
    for modality in wanted:
        for dimension in DIMENSIONS:
            column = f"{modality}_{dimension}"
            if column in made:
                best = preferred[column]
                if best.bundle.path in blocked:
                    reason = skip_reason(blocked[best.bundle.path])
                    notes.append(f"{column}: {reason}; a simpler bundle is used")
                continue
            candidates = [
                b for b in bundles if (b.target_modality, b.dimension) == (modality, dimension)
            ]
            if candidates:
                skipped[column] = skip_reason([r for b in candidates for r in blocked[b.path]])
            elif explicit and not any(b.target_modality == modality for b in bundles):
                skipped[column] = f"no bundle in {model_dir} predicts it"
    # one line per modality, each problem once with its count (not once per family and bundle)
    by_modality: dict[str, list[tuple[str, str, str]]] = {}
    for path, reasons in blocked.items():
        column = next(f"{b.target_modality}_{b.dimension}" for b in bundles if b.path == path)
        if column in skipped:
            by_modality.setdefault(column.split("_", 1)[0], []).extend(reasons)
    if not models:
        why = "; ".join(f"{c}: {r}" for c, r in skipped.items()) or "no bundle of these modalities"
        raise BundleError(f"no curve can be made: {why}")
    for modality, reason in _by_modality(skipped).items():
        if modality in by_modality:
            reason = skip_reason(by_modality[modality])
        logger.warning("%s skipped: %s", modality, reason)
    for note in notes:
        logger.info("%s", note)

    if ratings is not None:  # a malformed file fails before the extraction, not after it
        read_ratings(ratings, start=start, n_samples=0, song=Path(video).stem)
    families: list[str] = []
    for m in models:
        for family in needed_families(m.bundle.feature_columns, m.name):
            if family not in families:
                families.append(family)
    steps = Steps(progress, "predict", 1 + len(models))
    steps.start(f"extracting {', '.join(families)} features")
    extracted = extract_video(video, features=families, start=start, weights_dir=weights_dir)
    steps("features extracted")
    for note in extracted.notes:
        logger.info("%s", note)
    table = extracted.table()
    n = len(table)
    curves = pd.DataFrame(
        {
            "sample": np.arange(n, dtype="int64"),
            "time": extracted.start + np.arange(n) * SAMPLE_PERIOD_S,
        }
    )
    for m in models:
        predicted = m.bundle.predict_frame(table[m.bundle.feature_columns])
        curves[m.column] = predicted.reindex(range(n)).to_numpy(dtype="float64")
        steps(m.column)

    result = Prediction(
        curves=curves,
        models=models,
        start=float(extracted.start),
        video=Path(video),
        skipped=skipped,
        notes=[*extracted.notes, *notes],
    )
    result.test_weight_families = families_with_test_weights(families, weights_dir)
    if result.test_weight_families:
        result.warnings.append(
            f"{', '.join(result.test_weight_families)} features came from small randomly "
            "initialised TEST weights, not the released ones: the curves that use them are "
            "meaningless"
        )
    result.simulated_bundles = [m.name for m in models if m.simulated]
    if result.simulated_bundles:
        result.warnings.append(
            f"bundles trained on SIMULATED data ({', '.join(result.simulated_bundles)}): "
            "their curves are not predictions learnt from real ratings"
        )
    for warning in result.warnings:
        logger.warning("%s", warning)
    if ratings is not None:
        result.ratings_file = Path(ratings)
        placed = align_ratings(
            ratings,
            start=result.start,
            n_samples=n,
            modalities=[m.modality for m in models],
            song=Path(video).stem,
            start_detected=start is None,
        )
        result.ratings = placed.table
        result.ratings_alignment = placed.note
        if placed.note is not None:
            result.notes.append(placed.note)
            logger.info("%s", placed.note)
        result.agreement = agreement_with_ratings(curves, result.ratings)
        if not result.agreement:
            logger.warning("%s: no rating of a predicted modality and dimension", ratings)
    if out_dir is not None:
        result.paths = write_prediction(result, out_dir)
    return result


def predict_video(
    video: str | Path,
    model_dir: str | Path,
    *,
    start: float | None = None,
    out_dir: str | Path | None = None,
    weights_dir: str | Path | None = None,
    modalities: str | Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Valence/arousal curves of a video at 2 Hz (see :func:`run_prediction`).

    Returns:
        Columns ``sample``, ``time`` (s on the video's clock: the excerpt
        start plus half a second per sample), then ``<modality>_<dimension>``
        per curve made (music, visual, audiovisual; valence then arousal),
        values in [-1, 1], NaN for the first 4 samples.
    """
    return run_prediction(
        video,
        model_dir,
        start=start,
        out_dir=out_dir,
        weights_dir=weights_dir,
        modalities=modalities,
        progress=progress,
    ).curves


def _finite(values: Any) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def prediction_payload(result: Prediction) -> dict[str, Any]:
    """What ``curves.json`` holds (see the prediction guide, docs/guide/prediction.md)."""
    payload: dict[str, Any] = {
        "video": str(result.video),
        "time_axis": "video",
        "excerpt_start_s": result.start,
        "sample_period_s": SAMPLE_PERIOD_S,
        "models": {
            m.column: {
                "bundle": m.name,
                "model": m.display_name,
                "architecture": m.bundle.manifest.get("architecture"),
                "feature_sets": m.bundle.manifest.get("feature_sets"),
                "trained_on_simulated_data": m.simulated,
            }
            for m in result.models
        },
        "skipped": dict(result.skipped),
        "trained_on_simulated_data": bool(result.simulated_bundles),
        "test_weights": list(result.test_weight_families),
        "warnings": list(result.warnings),
        "notes": list(result.notes),
        "sample": result.curves["sample"].astype(int).tolist(),
        "time": result.curves["time"].astype(float).tolist(),
        "curves": {m.column: _finite(result.curves[m.column]) for m in result.models},
    }
    if result.ratings is not None:
        payload["ratings"] = {
            "file": str(result.ratings_file),
            "alignment": result.ratings_alignment,
            "series": {
                c: _finite(result.ratings[c]) for c in result.ratings.columns if c != "sample"
            },
            "agreement": [
                {
                    "modality": a.modality,
                    "dimension": a.dimension,
                    "ccc": a.ccc if math.isfinite(a.ccc) else None,
                    "rmse": a.rmse if math.isfinite(a.rmse) else None,
                    "n_samples": a.n,
                }
                for a in result.agreement
            ],
        }
    return payload


def write_prediction(result: Prediction, out_dir: str | Path) -> dict[str, Path]:
    """Write ``curves.csv``, ``curves.json``, ``curves.png``, ``curves.svg`` and ``curves.pdf``.

    Returns:
        File kind (``csv``, ``json``, ``png``, ``svg``, ``pdf``) -> path.
    """
    from muvi.plotting.style import save_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / CURVES_CSV, "json": out / CURVES_JSON}
    result.curves.to_csv(paths["csv"], index=False)
    paths["json"].write_text(json.dumps(prediction_payload(result), indent=1), encoding="utf-8")
    paths["png"] = save_figure(curves_figure(result), out / CURVES_PNG)
    paths["svg"] = out / CURVES_SVG
    paths["pdf"] = out / CURVES_PDF
    return paths


def figure_warnings(result: Prediction) -> list[str]:
    """The warnings drawn on the figure, one short line each."""
    lines = []
    if result.test_weight_families:
        lines.append(
            f"WARNING: {', '.join(result.test_weight_families)} features from random TEST "
            "weights: curves meaningless"
        )
    if result.simulated_bundles:
        lines.append("WARNING: models trained on SIMULATED data, not the real study")
    return lines


def curves_figure(result: Prediction) -> Any:
    """The prediction figure: one panel per dimension, the curves on the video's
    clock with the excerpt start marked, the user's ratings (black) when given,
    CCC and RMSE in the legend, and the warnings in red above the panels.

    Returns:
        The :class:`matplotlib.figure.Figure`.
    """
    from muvi.plotting import style
    from muvi.plotting.names import MODALITY_NAMES

    curves = result.curves
    times = curves["time"].to_numpy(dtype=float)
    agreement = {(a.modality, a.dimension): a for a in result.agreement}
    dims = [d for d in DIMENSIONS if any(m.dimension == d for m in result.models)]
    warnings = figure_warnings(result)
    fig = style.new_figure(style.PAGE_WIDTH_IN, 1.2 + 2.1 * len(dims) + 0.25 * len(warnings))
    with style.figure_style():
        axes = fig.subplots(len(dims), 1, sharex=True, squeeze=False)[:, 0]
        for ax, dimension in zip(axes, dims, strict=True):
            ax.axhline(0, color="0.8", lw=0.6, zorder=0)
            ax.axvline(result.start, color="0.4", lw=0.8, ls=":", label="Excerpt start", zorder=0)
            if result.ratings is not None:
                rated = [c for c in result.ratings.columns if c.endswith(f"_{dimension}")]
                shared = len({tuple(_finite(result.ratings[c])) for c in rated}) == 1
                for k, column in enumerate(rated):
                    modality = column.split("_", 1)[0]
                    label = "Your ratings" if shared else f"Your ratings, {modality}"
                    if result.ratings_alignment and "interpolated" in result.ratings_alignment:
                        label += " (interpolated)"
                    style.gold_standard(
                        ax,
                        times,
                        result.ratings[column].to_numpy(dtype=float),
                        label=label,
                    )
                    if shared:
                        break
                    ax.lines[-1].set_linestyle(("-", "--", ":")[k % 3])
            drawn: dict[str, np.ndarray] = {}
            colours: dict[str, str] = {}
            for m in result.models:
                if m.dimension != dimension:
                    continue
                label = f"{MODALITY_NAMES.get(m.modality, m.modality)}: {m.display_name}"
                a = agreement.get((m.modality, m.dimension))
                if a is not None and math.isfinite(a.ccc):
                    label += f" (CCC {a.ccc:.2f}, RMSE {a.rmse:.2f})"
                drawn[escape_mathtext(label)] = curves[m.column].to_numpy(dtype=float)
                colours[escape_mathtext(label)] = style.MODALITY_COLOURS[m.modality]
            style.draw_curves(
                ax, times, drawn, dimension=dimension, time_label="video_time", colours=colours
            )
            if ax is not axes[-1]:
                ax.set_xlabel("")
        heading = f"Predicted valence and arousal: {escape_mathtext(result.video.name)}"
        fig.suptitle("\n".join([heading, *warnings]), color="#b2182b" if warnings else None)
    return fig
