"""Export a study from the database in exactly the published MuVi file formats.

The export is a query step, :func:`query_study` (the database -> the tidy
tables the loaders return), and a write step, the writers of
:mod:`muvi.data.published` that the simulator uses too: ``video_urls.csv``
(CRLF), ``participant_data.csv``, ``media_data.csv``, ``av_data.csv`` (the raw
cursor logs resampled to 2 Hz by :func:`muvi.data.resampling.resample_logs`),
``raw_av_logs.csv`` and ``muvi_metadata.json``, so that
:func:`muvi.data.loaders.load_dataset` and ``muvi analyze`` read the export
unchanged. Items are written with their full ids (a study's own ids may
collide once cut at the first underscore; the loaders read both spellings). Only finished trials (the rated
items, not the practice or attention trials) are exported; a trial in
progress is left out. The online-collection files (``panel_data.csv``,
``profile_questions.csv``, ``quality.csv``, ``attention.csv``) are written
beside them by :func:`muvi.study.online.export_online`.

Every CSV goes through :func:`muvi.study.csvsafe.escape_frame` (the writers'
``escape`` hook), the one place exported cells are neutralised:
a text cell that a spreadsheet would evaluate as a formula (one starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, e.g. a favourite genre
``-Rock`` typed by a participant) is written with a leading apostrophe
(``'-Rock``), so opening the export in a spreadsheet runs nothing. Numbers
(negative valence included) are written as numbers, unchanged. A line break
inside a text cell (which validation never lets in) is written as a space, so
that every row stays one line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from muvi.data import published, schema
from muvi.data.resampling import resample_logs
from muvi.data.window import window_for_excerpt
from muvi.errors import MuviError
from muvi.study.csvsafe import escape_frame
from muvi.study.models import Item, Participant, Sample, Study, Trial
from muvi.study.online import export_online
from muvi.study.security import MAX_ROW_ID
from muvi.study.service import study_items


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    study: str
    folder: Path
    participants: int
    static_annotations: int
    dynamic_annotations: int
    raw_samples: int
    mean_interval_s: float
    std_interval_s: float


def choose_study(session: Session, study_id: int | None) -> Study:
    """The study to export: ``study_id``, or the only study in the database."""
    if study_id is not None:
        study = session.get(Study, study_id) if 1 <= study_id <= MAX_ROW_ID else None
        if study is None:
            raise MuviError(f"there is no study {study_id} in the database")
        return study
    studies = list(session.scalars(select(Study).order_by(Study.id)))
    if not studies:
        raise MuviError("the database holds no study")
    if len(studies) > 1:
        listed = ", ".join(f"{s.id} ({s.name})" for s in studies)
        raise MuviError(f"the database holds several studies, choose one with --study: {listed}")
    return studies[0]


@dataclass(frozen=True)
class StudyTables:
    """One study as the tidy tables of :mod:`muvi.data.loaders` (full ids,
    the toolkit's modality names), the result of :func:`query_study`.

    Attributes:
        study: the study's row.
        items: full media ids in the study's order.
        participants: the participants who finished a trial, the columns of
            :data:`muvi.data.schema.PARTICIPANT_COLUMNS`.
        static: one row per finished trial (the tidy static table).
        raw_logs: every cursor sample of a finished trial (``participant_id``,
            ``media_id``, ``modality``, ``timestamp``, ``valence``, ``arousal``).
    """

    study: Study
    items: list[str]
    participants: pd.DataFrame
    static: pd.DataFrame
    raw_logs: pd.DataFrame


_STATIC_COLUMNS = [
    "participant_id",
    "media_id",
    "modality",
    "seen_previously",
    *schema.GEMS_LABELS,
    "overlay",
]
_RAW_COLUMNS = ["participant_id", "media_id", "modality", "timestamp", "valence", "arousal"]


def query_study(session: Session, study: Study) -> StudyTables:
    """Read one study's finished trials from the database as tidy tables.

    Only finished trials of rated items are kept (not the practice or
    attention trials, nor a trial in progress).

    Args:
        session: an open database session.
        study: the study.

    Returns:
        The tables the published writers take.
    """
    items = [item.media_id for item in study_items(session, study)]
    finished = list(
        session.execute(
            select(Trial, Item.media_id)
            .join(Item, Item.id == Trial.item_id)
            .join(Participant, Participant.id == Trial.participant_id)
            .where(
                Participant.study_id == study.id,
                Trial.practice.is_(False),
                Item.role == "item",  # not the attention trials (see muvi.study.online)
                Trial.completed_at.is_not(None),
            )
            .order_by(Trial.participant_id, Trial.position)
        )
    )
    static_rows = []
    for trial, media_id in finished:
        chosen = set((trial.labels or "").split(","))
        overlay = None
        if trial.overlaid is not None:
            overlay = schema.OVERLAID if trial.overlaid else schema.SIDE_BY_SIDE
        static_rows.append(
            {
                "participant_id": trial.participant_id,
                "media_id": media_id,
                "modality": schema.to_modality(trial.modality),
                "seen_previously": bool(trial.seen_previously),
                **{label: int(label in chosen) for label in schema.GEMS_LABELS},
                "overlay": overlay,
            }
        )

    rated = {trial.participant_id for trial, _ in finished}
    participants = session.scalars(
        select(Participant).where(Participant.study_id == study.id).order_by(Participant.id)
    )
    participant_rows = [
        {
            "participant_id": p.id,
            "age": p.age,
            "gender": p.gender,
            "country_live_longest": p.country_live_longest,
            "country_musical_enculturation": p.country_musical_enculturation,
            "lyric_language": p.lyric_language,
            "favorite_genre": p.favorite_genre,
            "years_formal_training": p.years_formal_training,
            "understood_yes_or_no": "Yes" if p.understood else "No",
            "overlay_pref": p.overlay_pref or "",
        }
        for p in participants
        if p.id in rated
    ]

    media_of = {trial.id: media_id for trial, media_id in finished}
    trial_of = {trial.id: trial for trial, _ in finished}
    raw_rows = []
    if trial_of:
        samples = session.execute(
            select(Sample.trial_id, Sample.timestamp, Sample.valence, Sample.arousal)
            .where(Sample.trial_id.in_(list(trial_of)))
            .order_by(Sample.trial_id, Sample.seq)
        )
        for trial_id, timestamp, valence, arousal in samples:
            trial = trial_of[trial_id]
            raw_rows.append(
                {
                    "participant_id": trial.participant_id,
                    "media_id": media_of[trial_id],
                    "modality": schema.to_modality(trial.modality),
                    "timestamp": timestamp,
                    "valence": valence,
                    "arousal": arousal,
                }
            )
    return StudyTables(
        study=study,
        items=items,
        participants=pd.DataFrame(participant_rows, columns=list(schema.PARTICIPANT_COLUMNS)),
        static=pd.DataFrame(static_rows, columns=_STATIC_COLUMNS),
        raw_logs=pd.DataFrame(raw_rows, columns=_RAW_COLUMNS),
    )


def export_study(session: Session, out: Path, study_id: int | None = None) -> ExportSummary:
    """Write one study in the published layout.

    Args:
        session: an open database session.
        out: the folder to write (created if needed).
        study_id: which study; may be left out when the database holds one.

    Returns:
        A summary of what was written.
    """
    study = choose_study(session, study_id)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = query_study(session, study)
    raw = tables.raw_logs
    n_samples = max(round(study.excerpt_seconds / schema.SAMPLE_PERIOD_S), 1)
    if len(raw):
        dynamic, report = resample_logs(raw, n_samples=n_samples)
        mean_interval, std_interval = report.mean_interval_s, report.std_interval_s
        n_dynamic = report.n_logs
    else:
        dynamic = pd.DataFrame(
            {"participant_id": [], "media_id": [], "modality": [], "sample": []}
        ).assign(valence=[], arousal=[])
        mean_interval = std_interval = float("nan")
        n_dynamic = 0

    published.write_video_urls(tables.items, out / schema.VIDEO_URLS_FILE, escape=escape_frame)
    published.write_static(
        tables.static, out / schema.STATIC_FILE, short_ids=False, escape=escape_frame
    )
    published.write_participants(
        tables.participants, out / schema.PARTICIPANTS_FILE, escape=escape_frame
    )
    published.write_raw_logs(raw, out / schema.RAW_LOGS_FILE, short_ids=False, escape=escape_frame)
    published.write_dynamic(
        dynamic, out / schema.DYNAMIC_FILE, short_ids=False, escape=escape_frame
    )

    summary = ExportSummary(
        study=study.name,
        folder=out,
        participants=len(tables.participants),
        static_annotations=len(tables.static),
        dynamic_annotations=n_dynamic,
        raw_samples=len(raw),
        mean_interval_s=mean_interval,
        std_interval_s=std_interval,
    )
    metadata = {
        "simulated": False,
        "source": "muvi study export",
        "study": study.name,
        "study_id": study.id,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "excerpt_seconds": study.excerpt_seconds,
        "analysis_window_samples": window_for_excerpt(study.excerpt_seconds),
        "modalities": study.modality_list,
        "raw_sampling_interval_s": {
            "mean": None if math.isnan(mean_interval) else mean_interval,
            "std": None if math.isnan(std_interval) else std_interval,
        },
        "counts": {k: v for k, v in asdict(summary).items() if isinstance(v, int)},
    }
    published.write_metadata(metadata, out / schema.METADATA_FILE)
    export_online(session, study, out)
    return summary
