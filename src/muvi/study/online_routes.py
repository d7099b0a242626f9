"""The participant pages that online collection adds: the sound check before
the practice trials. Included by :func:`muvi.study.app.create_app`.

The server draws the number of beeps (per participant and attempt) and keeps
it; the page carries neither the count nor anything derived from it, the test
is a WAV file of fixed length served from an address without the count, and
the participant's answer is judged on the server.
"""

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

NO_STORE = {"Cache-Control": "no-store"}


def _page(
    request: Request,
    person: Participant,
    session: Session,
    status: int = 200,
    error: str | None = None,
) -> Response:
    options = online.study_options(session, person.study_id)
    record = online.participant_record(session, person)
    online.new_sound_check(session, person)
    response = render(
        request,
        "sound_check.html",
        status,
        person=person,
        attempt=record.headphone_attempts + 1,
        attempts=options.sound_check_attempts,
        pcsrf=server_of(request).participant_csrf(person.token),
        error=error,
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/p/{token}/sound-check")
def sound_check_page(request: Request, person: ParticipantDep, session: DB) -> Response:
    if not online.needs_sound_check(session, person) or not person.understood:
        return RedirectResponse(f"/p/{person.token}", status_code=303)
    return _page(request, person, session)


@router.get("/p/{token}/sound-check/test.wav")
def sound_check_test(person: ParticipantDep, session: DB) -> Response:
    return Response(
        online.current_sound_check(session, person), media_type="audio/wav", headers=NO_STORE
    )


@router.get("/p/{token}/sound-check/calibration.wav")
def sound_check_calibration(person: ParticipantDep) -> Response:
    return Response(online.calibration_audio(), media_type="audio/wav")


@router.post("/p/{token}/sound-check")
def sound_check_answer(
    request: Request,
    person: ParticipantDep,
    session: DB,
    csrf_token: Annotated[str, Form()] = "",
    beeps: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_participant_csrf(request, person, csrf_token)
    outcome = online.answer_sound_check(session, person, beeps)
    if outcome is None:
        options = online.study_options(session, person.study_id)
        record = online.participant_record(session, person)
        left = options.sound_check_attempts - record.headphone_attempts
        return _page(
            request,
            person,
            session,
            400,
            f"That was not the number of beeps played. Check that your sound is on, then "
            f"listen to a new test ({left} attempt{'s' if left != 1 else ''} left).",
        )
    return RedirectResponse(f"/p/{person.token}", status_code=303)
