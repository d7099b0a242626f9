"""The participant's pages: sign-up from the study's invite link, the
instructions, each trial's questions, the overlay preference and the end.

A participant is identified by the secret token of their personal link
(:data:`~muvi.study.deps.ParticipantDep`) and reaches only their own trials;
every form carries the participant CSRF token derived from that link. Every
database change goes through :mod:`muvi.study.service` and
:mod:`muvi.study.online`.

Sign-ups are throttled per client address and per study
(:class:`muvi.study.security.SignupThrottle`, limits in
:class:`muvi.study.security.SecurityConfig`): one over a limit answers 429
with a ``Retry-After`` header and a page saying when to try again.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from muvi.data.schema import GEMS, GEMS_CATEGORIES, GEMS_SUPERFACTORS
from muvi.study import online, service
from muvi.study.deps import (
    DB,
    PARTICIPANT_COOKIE,
    ParticipantDep,
    RowId,
    check_csrf,
    check_participant_csrf,
    form_dict,
    https,
    render,
    server_of,
    sync_form,
)
from muvi.study.models import Study
from muvi.study.security import SignupThrottle, client_address, retry_after_header
from muvi.study.service import StudyError

router = APIRouter()


def _study_by_invite(session: Session, invite: str) -> Study:
    study = service.study_by_invite(session, invite)
    if study is None:
        raise HTTPException(404, "unknown study link")
    return study


def _paused(request: Request) -> Response:
    response = render(request, "paused.html", 503, message=service.PAUSED_MESSAGE, error=None)
    response.headers["Retry-After"] = "3600"
    return response


@router.get("/s/{invite}", response_class=HTMLResponse, name="signup_page")
def signup_page(request: Request, invite: str, session: DB) -> Response:
    study = _study_by_invite(session, invite)
    returning = service.participant_by_token(session, request.cookies.get(PARTICIPANT_COOKIE, ""))
    if returning is not None and returning.study_id == study.id:
        return RedirectResponse(f"/p/{returning.token}", status_code=303)
    if service.is_paused(session, study):  # those who signed up before may finish
        return _paused(request)
    options = online.study_options(session, study.id)
    try:
        panel = online.panel_values(options, request.query_params)
    except StudyError as err:
        return render(request, "error.html", 400, message=str(err), error=None)
    return render(
        request,
        "signup.html",
        study=study,
        error=None,
        form={},
        genders=service.GENDERS,
        options=options,
        panel=panel,
        countries=online.countries(),
    )


@router.post("/s/{invite}")
def signup(request: Request, invite: str, session: DB) -> Response:
    study = _study_by_invite(session, invite)
    form = form_dict(sync_form(request))
    check_csrf(request, form.get("csrf_token", ""))
    if service.is_paused(session, study):
        return _paused(request)
    options = online.study_options(session, study.id)
    panel: dict[str, str] = {}
    try:
        panel = online.panel_values(
            options, {k[7:]: v for k, v in form.items() if k.startswith("panel__")}
        )
        online.check_not_enrolled(session, study, panel, options)
        screen = online.check_screen(options, form)
        if form.get("consent") != "yes":
            raise StudyError("please give your consent to take part")
        for name in ("country_live_longest", "country_musical_enculturation"):
            form[name] = online.country_code(form.get(name, ""), name.replace("_", " "))
        profile = service.Profile.from_form(form)
        answers = online.check_answers(options.questions, form)
    except StudyError as err:
        return render(
            request,
            "signup.html",
            400,
            study=study,
            error=str(err),
            form=form,
            genders=service.GENDERS,
            options=options,
            panel=panel,
            countries=online.countries(),
        )
    keys = _signup_keys(request, study)
    throttle: SignupThrottle = request.app.state.signup_throttle
    wait = throttle.reserve(keys)
    if wait > 0:
        seconds = retry_after_header(wait)
        message = (
            f"too many sign-ups from this address or to this study; please try again in {seconds} s"
        )
        if float(seconds) >= 120:
            message += f" (about {round(float(seconds) / 60)} minutes)"
        response = render(request, "error.html", 429, message=message, error=None)
        response.headers["Retry-After"] = seconds
        return response
    try:
        attention = online.attention_items(session, study)
        person = service.enrol_participant(session, study, profile, attention)
        online.record_arrival(session, person, options, panel, answers, screen)
    except Exception:
        throttle.release(key for key, _limit in keys)  # not stored: the place is free again
        raise
    response = RedirectResponse(f"/p/{person.token}", status_code=303)
    response.set_cookie(
        PARTICIPANT_COOKIE,
        person.token,
        max_age=30 * 86400,
        httponly=True,
        samesite="lax",
        secure=https(request),
    )
    return response


def _signup_keys(request: Request, study: Study) -> list[tuple[tuple[str, str], int]]:
    """The sign-up throttle's keys and limits for this request (none when the
    server runs with the limit off)."""
    security = server_of(request).security
    if not security.signup_limit:
        return []
    return [
        (("address", client_address(request.scope)), security.signups_per_address),
        (("study", str(study.id)), security.signups_per_study),
    ]


@router.get("/p/{token}")
def resume(person: ParticipantDep, session: DB) -> Response:
    step = online.next_step(session, person)
    return RedirectResponse(f"/p/{person.token}/{step}", status_code=303)


@router.get("/p/{token}/instructions", response_class=HTMLResponse)
def instructions(request: Request, person: ParticipantDep, session: DB) -> Response:
    study = session.get(Study, person.study_id)
    assert study is not None
    examples = service.study_items(session, study, "example")
    return render(
        request,
        "instructions.html",
        person=person,
        study=study,
        examples=examples,
        options=online.study_options(session, study.id),
        quadrant_titles=service.QUADRANT_TITLES,
        pcsrf=server_of(request).participant_csrf(person.token),
    )


@router.post("/p/{token}/instructions")
def instructions_done(
    request: Request,
    person: ParticipantDep,
    session: DB,
    csrf_token: Annotated[str, Form()] = "",
    understood: Annotated[str, Form()] = "",
) -> Response:
    check_participant_csrf(request, person, csrf_token)
    if understood != "yes":
        raise StudyError("please confirm that you understood the instructions")
    service.confirm_instructions(session, person)
    return RedirectResponse(f"/p/{person.token}", status_code=303)


@router.get("/p/{token}/trial", response_class=HTMLResponse)
def trial_page(request: Request, person: ParticipantDep, session: DB) -> Response:
    if not person.understood or online.needs_sound_check(session, person):
        return RedirectResponse(f"/p/{person.token}", status_code=303)
    trial = service.next_trial(session, person)
    if trial is None:
        return RedirectResponse(f"/p/{person.token}", status_code=303)
    study = session.get(Study, person.study_id)
    assert study is not None
    trials = service.participant_trials(session, person)
    practice_total = sum(t.practice for t in trials)
    number = trial.position + 1 - (0 if trial.practice else practice_total)
    total = practice_total if trial.practice else len(trials) - practice_total
    return render(
        request,
        "trial.html",
        person=person,
        study=study,
        trial=trial,
        item=trial.item,
        number=number,
        total=total,
        pcsrf=server_of(request).participant_csrf(person.token),
        gems=_gems_groups(),
        progress=online.progress(session, person, study.excerpt_seconds),
        attention=online.attention_spec(session, trial),
        options=online.study_options(session, study.id),
    )


@router.post("/p/{token}/trials/{trial_id}/answers")
def trial_answers(
    request: Request, trial_id: RowId, person: ParticipantDep, session: DB
) -> Response:
    form = sync_form(request)
    check_participant_csrf(request, person, str(form.get("csrf_token", "")))
    trial = service.own_trial(session, person, trial_id)
    seen = form.get("seen_previously")
    if seen not in ("yes", "no"):
        raise StudyError("please say whether you had seen or heard the item before")
    labels = [str(v) for v in form.getlist("labels")]
    service.answer_trial(session, trial, seen == "yes", labels)
    return RedirectResponse(f"/p/{person.token}", status_code=303)


@router.get("/p/{token}/preference", response_class=HTMLResponse)
def preference_page(request: Request, person: ParticipantDep) -> Response:
    return render(
        request,
        "preference.html",
        person=person,
        pcsrf=server_of(request).participant_csrf(person.token),
        choices=service.OVERLAY_PREFERENCES,
    )


@router.post("/p/{token}/preference")
def preference(
    request: Request,
    person: ParticipantDep,
    session: DB,
    csrf_token: Annotated[str, Form()] = "",
    overlay_pref: Annotated[str, Form()] = "",
) -> Response:
    check_participant_csrf(request, person, csrf_token)
    service.set_preference(session, person, overlay_pref)
    return RedirectResponse(f"/p/{person.token}/done", status_code=303)


@router.get("/p/{token}/done", response_class=HTMLResponse)
def done(request: Request, person: ParticipantDep, session: DB) -> Response:
    if person.finished_at is None:  # the completion code only at the end
        return RedirectResponse(f"/p/{person.token}", status_code=303)
    options = online.study_options(session, person.study_id)
    record = online.participant_record(session, person)
    code, redirect = online.completion(options, json.loads(record.panel))
    return render(request, "done.html", person=person, code=code, redirect=redirect)


def _gems_groups() -> list[tuple[str, list[tuple[str, list[Any]]]]]:
    """GEMS terms grouped by superfactor, then category (for the label form)."""
    return [
        (
            superfactor,
            [
                (category, [t for t in GEMS if t.category == category])
                for category in GEMS_CATEGORIES
                if any(t.category == category and t.superfactor == superfactor for t in GEMS)
            ],
        )
        for superfactor in GEMS_SUPERFACTORS
    ]
