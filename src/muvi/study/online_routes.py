"""The participant pages that online collection adds: the headphone (sound)
check before the practice trials. Included by :func:`muvi.study.app.create_app`."""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from muvi.study import online
from muvi.study.models import Participant


def online_router(
    render: Callable[..., Response],
    db: Any,
    participant: Any,
    participant_csrf: Callable[[str], str],
) -> APIRouter:
    """The routes of online collection.

    Args:
        render: renders a template with the app's shared context.
        db: the app's database-session dependency (an ``Annotated`` type).
        participant: the app's participant dependency (from the link's token).
        participant_csrf: the participant CSRF token of a link token.

    Returns:
        A router for :meth:`fastapi.FastAPI.include_router`.
    """
    import hmac

    router = APIRouter()

    def check_csrf(person: Participant, submitted: str) -> None:
        if not hmac.compare_digest(participant_csrf(person.token), submitted or ""):
            raise HTTPException(403, "the CSRF token is missing or wrong; reload the page")

    def page(
        request: Request,
        person: Participant,
        session: Any,
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
            pcsrf=participant_csrf(person.token),
            error=error,
        )

    @router.get("/p/{token}/headphones")
    def headphones_page(request: Request, person: participant, session: db) -> Response:  # type: ignore[valid-type]
        if not online.needs_headphone_check(session, person) or not person.understood:
            return RedirectResponse(f"/p/{person.token}", status_code=303)
        return page(request, person, session)

    @router.post("/p/{token}/headphones")
    def headphones_answer(
        request: Request,
        person: participant,  # type: ignore[valid-type]
        session: db,  # type: ignore[valid-type]
        csrf_token: Annotated[str, Form()] = "",
        beeps: Annotated[str, Form(max_length=10)] = "",
    ) -> Response:
        check_csrf(person, csrf_token)
        outcome = online.answer_headphone_test(session, person, beeps)
        if outcome is None:
            options = online.study_options(session, person.study_id)
            record = online.participant_record(session, person)
            left = options.headphone_attempts - record.headphone_attempts
            return page(
                request,
                person,
                session,
                400,
                f"That was not the number of beeps played. Check that your sound is on, then "
                f"listen to a new test ({left} attempt{'s' if left != 1 else ''} left).",
            )
        return RedirectResponse(f"/p/{person.token}", status_code=303)

    return router
