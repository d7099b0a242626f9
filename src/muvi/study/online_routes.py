"""The participant pages that online collection adds: the headphone (sound)
check before the practice trials. Included by :func:`muvi.study.app.create_app`."""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from muvi.study import online
from muvi.study.deps import DB, ParticipantDep, check_participant_csrf, render, server_of
from muvi.study.models import Participant

router = APIRouter()
"""The routes of online collection, over the shared dependencies of :mod:`muvi.study.deps`."""


def _page(
    request: Request,
    person: Participant,
    session: Session,
    status: int = 200,
    error: str | None = None,
) -> Response:
    options = online.study_options(session, person.study_id)
    record = online.participant_record(session, person)
    beeps = online.new_headphone_test(session, person)
    return render(
        request,
        "headphones.html",
        status,
        person=person,
        beeps=beeps,
        attempt=record.headphone_attempts + 1,
        attempts=options.headphone_attempts,
        pcsrf=server_of(request).participant_csrf(person.token),
        error=error,
    )


@router.get("/p/{token}/headphones")
def headphones_page(request: Request, person: ParticipantDep, session: DB) -> Response:
    if not online.needs_headphone_check(session, person) or not person.understood:
        return RedirectResponse(f"/p/{person.token}", status_code=303)
    return _page(request, person, session)


@router.post("/p/{token}/headphones")
def headphones_answer(
    request: Request,
    person: ParticipantDep,
    session: DB,
    csrf_token: Annotated[str, Form()] = "",
    beeps: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_participant_csrf(request, person, csrf_token)
    outcome = online.answer_headphone_test(session, person, beeps)
    if outcome is None:
        options = online.study_options(session, person.study_id)
        record = online.participant_record(session, person)
        left = options.headphone_attempts - record.headphone_attempts
        return _page(
            request,
            person,
            session,
            400,
            f"That was not the number of beeps played. Check that your sound is on, then "
            f"listen to a new test ({left} attempt{'s' if left != 1 else ''} left).",
        )
    return RedirectResponse(f"/p/{person.token}", status_code=303)
