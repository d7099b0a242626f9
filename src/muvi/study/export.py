"""Export a study from the database in exactly the published MuVi file formats.

Writes ``video_urls.csv`` (CRLF), ``participant_data.csv``, ``media_data.csv``,
``av_data.csv`` (the raw cursor logs resampled to 2 Hz by
:func:`muvi.annotations.resampling.resample_logs`), ``raw_av_logs.csv`` and
``muvi_metadata.json``, so that :func:`muvi.data.loaders.load_dataset` and
``muvi analyze`` read the export unchanged. Only finished trials (the rated
items, not the practice or attention trials) are exported; a trial in
progress is left out. The online-collection files (``panel_data.csv``,
``profile_questions.csv``, ``quality.csv``, ``attention.csv``) are written
beside them by :func:`muvi.study.online.export_online`.

Every CSV goes through :func:`muvi.study.csvsafe.write_csv`, the one place
cells are written:
a text cell that a spreadsheet would evaluate as a formula (one starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, e.g. a favourite genre
``-Rock`` typed by a participant) is written with a leading apostrophe
(``'-Rock``), so opening the export in a spreadsheet runs nothing. Numbers
(negative valence included) are written as numbers, unchanged. A line break
inside a text cell (which validation never lets in) is written as a space, so
that every row stays one line.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from muvi.annotations.resampling import resample_logs
from muvi.annotations.window import window_for_excerpt
from muvi.data import schema
from muvi.errors import MuviError
from muvi.study.csvsafe import write_csv
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
    items = study_items(session, study)

    write_csv(
        pd.DataFrame({"video_id": [item.media_id for item in items]}),
        out / schema.VIDEO_URLS_FILE,
        lineterminator="\r\n",
    )

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
        static_rows.append(
            {
                "participant_id": trial.participant_id,
                "media_id": media_id,
                "media_modality": schema.to_public_modality(trial.modality),
                "seen_previously": "True" if trial.seen_previously else "False",
                **{label: int(label in chosen) for label in schema.GEMS_LABELS},
                "overlay_type": schema.OVERLAY_TO_PUBLIC[
                    None
                    if trial.overlaid is None
                    else (schema.OVERLAID if trial.overlaid else schema.SIDE_BY_SIDE)
                ],
            }
        )
    write_csv(
        pd.DataFrame(static_rows, columns=list(schema.STATIC_COLUMNS_PUBLISHED)),
        out / schema.STATIC_FILE,
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
    write_csv(
        pd.DataFrame(participant_rows, columns=list(schema.PARTICIPANT_COLUMNS)),
        out / schema.PARTICIPANTS_FILE,
    )

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
                    "media_modality": schema.to_public_modality(trial.modality),
                    "timestamp": timestamp,
                    "valence": valence,
                    "arousal": arousal,
                }
            )
    raw = pd.DataFrame(raw_rows, columns=list(schema.RAW_LOG_COLUMNS))
    write_csv(raw, out / schema.RAW_LOGS_FILE)

    n_samples = max(round(study.excerpt_seconds / schema.SAMPLE_PERIOD_S), 1)
    if len(raw):
        dynamic, report = resample_logs(raw, n_samples=n_samples)
        mean_interval, std_interval = report.mean_interval_s, report.std_interval_s
        n_dynamic = report.n_logs
    else:
        dynamic = pd.DataFrame(columns=["participant_id", "media_id", "modality", "sample"])
        dynamic["valence"] = dynamic["arousal"] = []
        mean_interval = std_interval = float("nan")
        n_dynamic = 0
    av = pd.DataFrame(
        {
            "participant_id": dynamic["participant_id"],
            "media_id": dynamic["media_id"],
            "media_modality": dynamic["modality"].map(schema.to_public_modality),
            schema.DYNAMIC_SAMPLE_COLUMN: dynamic["sample"],
            "valence": dynamic["valence"],
            "arousal": dynamic["arousal"],
        },
        columns=list(schema.DYNAMIC_COLUMNS),
    )
    write_csv(av, out / schema.DYNAMIC_FILE)

    summary = ExportSummary(
        study=study.name,
        folder=out,
        participants=len(participant_rows),
        static_annotations=len(static_rows),
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
    (out / schema.METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    export_online(session, study, out)
    return summary
