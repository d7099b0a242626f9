"""The participant's JSON API, used by the trial page while an item plays:
the participant's trials, the start of a trial, and batches of cursor samples.

Every request carries the participant CSRF token in an ``X-CSRF-Token``
header; a batch holds at most :data:`MAX_BATCH` samples whose values must be
JSON numbers in range (strict: ``"0.5"`` or ``true`` is refused). The samples
are stored by :func:`muvi.study.service.store_samples`.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from muvi.study import service
from muvi.study.deps import DB, ParticipantDep, RowId, check_participant_csrf
from muvi.study.models import Study
from muvi.study.service import StudyError

MAX_BATCH = 120
"""Most samples one request may carry (a minute at 2 Hz)."""

router = APIRouter()


class CursorSampleIn(BaseModel):
    """One logged cursor position as the browser sends it."""

    # strict: valence "0.5" (a string) or true (a boolean) is refused, not converted
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    seq: int = Field(ge=0, le=100_000)
    timestamp: float = Field(ge=0.0, le=3600.0)
    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=-1.0, le=1.0)


class SampleBatch(BaseModel):
    """One request's samples (1 to :data:`MAX_BATCH`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    samples: list[CursorSampleIn] = Field(min_length=1, max_length=MAX_BATCH)


@router.get("/api/p/{token}/trials")
def my_trials(person: ParticipantDep, session: DB) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "position": t.position,
            "practice": t.practice,
            "modality": t.modality,
            "overlaid": t.overlaid,
            "completed": t.completed_at is not None,
        }
        for t in service.participant_trials(session, person)
    ]


@router.post("/api/p/{token}/trials/{trial_id}/start")
def start(
    request: Request,
    trial_id: RowId,
    person: ParticipantDep,
    session: DB,
    x_csrf_token: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    check_participant_csrf(request, person, x_csrf_token)
    trial = service.own_trial(session, person, trial_id)
    service.start_trial(session, trial)
    return {"trial": trial.id, "started": True}


@router.post("/api/p/{token}/trials/{trial_id}/samples")
def samples(
    request: Request,
    trial_id: RowId,
    batch: SampleBatch,
    person: ParticipantDep,
    session: DB,
    x_csrf_token: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    check_participant_csrf(request, person, x_csrf_token)
    trial = service.own_trial(session, person, trial_id)
    seqs = [s.seq for s in batch.samples]
    if len(set(seqs)) != len(seqs):
        raise StudyError("a batch holds the same seq twice")
    study = session.get(Study, person.study_id)
    assert study is not None
    acked = service.store_samples(
        session,
        trial,
        [service.CursorSample(**s.model_dump()) for s in batch.samples],
        study.excerpt_seconds,
    )
    return {"acked": acked}
