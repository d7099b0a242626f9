"""The runner's pages: login, logout, password, the studies and their export.

Every page but the login needs a runner session (:data:`~muvi.study.deps.RunnerDep`);
a runner sees and exports only their own studies (an admin sees all). Logins
and password changes are throttled per account and per client address, and
the argon2 checks run in worker threads behind the server's
:class:`~muvi.study.deps.PasswordGate`. Every database change goes through
:mod:`muvi.study.service` and :mod:`muvi.study.online`.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from muvi.data.schema import MODALITIES
from muvi.study import online, service
from muvi.study.deps import (
    DB,
    SESSION_COOKIE,
    RowId,
    RunnerDep,
    StudyServer,
    check_csrf,
    form_dict,
    https,
    local_path,
    own_study,
    render,
    server_of,
    sync_form,
)
from muvi.study.security import (
    client_address,
    open_runner_session,
    retry_after_header,
    revoke_runner_session,
)
from muvi.study.service import StudyError

router = APIRouter()


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/runner", status_code=303)


@router.get("/runner/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/runner") -> Response:
    return render(request, "login.html", next=local_path(next), error=None)


def _check_password(server: StudyServer, username: str, password: str) -> str | None:
    """Verify a login (in a worker thread); a new session id when it is right."""
    with server.sessions() as session:
        runner = service.authenticate_runner(session, username, password)
        return None if runner is None else open_runner_session(session, runner, server.security)


def _login_refused(request: Request, status: int, message: str, wait: float, next: str) -> Response:
    response = render(request, "login.html", status, next=local_path(next), error=message)
    response.headers["Retry-After"] = retry_after_header(wait)
    return response


@router.post("/runner/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/runner",
) -> Response:
    check_csrf(request, csrf_token)
    server = server_of(request)
    security = server.security
    if server.gate.full():
        return _login_refused(
            request, 429, "too many logins at once; try again in a second", 1.0, next
        )
    account = ("account", username.lower())
    address = ("address", client_address(request.scope))
    wait = server.throttle.begin(
        [account, address], [security.account_free_failures, security.address_free_failures]
    )
    if wait > 0:
        message = f"too many failed logins; try again in {retry_after_header(wait)} s"
        return _login_refused(request, 429, message, wait, next)
    session_id = await server.gate.run(_check_password, server, username, password)
    if session_id is None:
        return render(
            request, "login.html", 401, next=local_path(next), error="wrong name or password"
        )
    server.throttle.succeeded(account, [address])
    response = RedirectResponse(local_path(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(security.session_absolute_s),
        httponly=True,
        samesite="lax",
        secure=https(request),
    )
    return response


@router.post("/runner/logout")
def logout(request: Request, session: DB, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    revoke_runner_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/runner/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=https(request))
    return response


@router.get("/runner/password", response_class=HTMLResponse)
def password_page(request: Request, runner: RunnerDep) -> Response:
    return render(request, "password.html", runner=runner, error=None)


def _change_password(server: StudyServer, username: str, current: str, new: str) -> bool:
    """Check the current password and set the new one (in a worker thread)."""
    with server.sessions() as session:
        if service.authenticate_runner(session, username, current) is None:
            return False
        service.set_runner_password(session, username, new)  # ends every session
        return True


@router.post("/runner/password")
async def password(
    request: Request,
    runner: RunnerDep,
    current: Annotated[str, Form(max_length=200)],
    new: Annotated[str, Form(max_length=200)],
    confirm: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    server = server_of(request)
    security = server.security

    def again(status: int, message: str, wait: float = 0.0) -> Response:
        response = render(request, "password.html", status, runner=runner, error=message)
        if wait:
            response.headers["Retry-After"] = retry_after_header(wait)
        return response

    if new != confirm:
        return again(400, "the two new passwords differ")
    try:
        service.check_runner_password(new)
    except StudyError as err:
        return again(400, str(err))
    if server.gate.full():
        return again(429, "too many password checks at once; try again in a second", 1.0)
    account = ("account", runner.username.lower())
    address = ("address", client_address(request.scope))
    wait = server.throttle.begin(
        [account, address], [security.account_free_failures, security.address_free_failures]
    )
    if wait > 0:
        return again(
            429, f"too many wrong passwords; try again in {retry_after_header(wait)} s", wait
        )
    if not await server.gate.run(_change_password, server, runner.username, current, new):
        return again(401, "the current password is wrong")
    server.throttle.succeeded(account, [address])
    response = RedirectResponse("/runner/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=https(request))
    return response


@router.get("/runner", response_class=HTMLResponse)
def runner_home(request: Request, runner: RunnerDep, session: DB) -> Response:
    studies = service.visible_studies(session, runner)
    counts = service.participant_counts(session)
    return render(request, "runner_home.html", runner=runner, studies=studies, counts=counts)


def _study_form(
    request: Request,
    runner: Any,
    form: dict[str, Any],
    editing: Any = None,
    error: str | None = None,
) -> Response:
    """The page that creates a study (``editing`` None) or edits one; 400 with ``error``."""
    return render(
        request,
        "study_new.html",
        200 if error is None else 400,
        runner=runner,
        error=error,
        form=form,
        editing=editing,
        **_choices(),
    )


@router.get("/runner/studies/new", response_class=HTMLResponse)
def new_study_page(request: Request, runner: RunnerDep) -> Response:
    return _study_form(request, runner, _default_form())


@router.post("/runner/studies")
def new_study(request: Request, runner: RunnerDep, session: DB) -> Response:
    form = form_dict(sync_form(request))
    check_csrf(request, form.get("csrf_token", ""))
    media_dir = server_of(request).media_dir
    try:
        config = _study_config(form)
        options = online.options_from_form(form, media_dir)
        study = service.create_study(session, config, media_dir, runner.id)
        online.save_options(session, study, options)
    except StudyError as err:
        session.rollback()
        return _study_form(request, runner, form, error=str(err))
    return RedirectResponse(f"/runner/studies/{study.id}", status_code=303)


def _study_page(
    request: Request,
    runner: Any,
    session: Any,
    study: Any,
    status: int = 200,
    message: str | None = None,
) -> Response:
    invite = str(request.url_for("signup_page", invite=study.invite_token))
    return render(
        request,
        "study.html",
        status,
        runner=runner,
        study=study,
        totals=service.study_totals(session, study),
        invite=invite,
        options=online.study_options(session, study.id),
        quality=online.quality_summary(session, study),
        message=message,
        error=None,
    )


@router.get("/runner/studies/{study_id}", response_class=HTMLResponse)
def study_page(request: Request, study_id: RowId, runner: RunnerDep, session: DB) -> Response:
    return _study_page(request, runner, session, own_study(session, runner, study_id))


@router.post("/runner/studies/{study_id}/pause")
def pause_study(
    request: Request,
    study_id: RowId,
    runner: RunnerDep,
    session: DB,
    csrf_token: Annotated[str, Form()] = "",
    paused: Annotated[str, Form(max_length=3)] = "yes",
) -> Response:
    check_csrf(request, csrf_token)
    study = own_study(session, runner, study_id)
    service.set_paused(session, study, paused == "yes")
    return RedirectResponse(f"/runner/studies/{study.id}", status_code=303)


@router.post("/runner/studies/{study_id}/target")
def study_target(
    request: Request,
    study_id: RowId,
    runner: RunnerDep,
    session: DB,
    csrf_token: Annotated[str, Form()] = "",
    target: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    study = own_study(session, runner, study_id)
    try:
        number = int(target) if target.strip() else None
        service.set_target(session, study, number)
    except ValueError:  # StudyError is a ValueError too
        session.rollback()
        message = "the target must be a whole number of participants between 1 and 100000"
        return _study_page(request, runner, session, study, 400, message)
    return RedirectResponse(f"/runner/studies/{study.id}", status_code=303)


def _form_of(session: Any, study: Any) -> dict[str, str]:
    """The study's definition in the fields of the study form (to edit it)."""
    options = online.study_options(session, study.id)

    def lines(role: str) -> str:
        return "\n".join(
            f"{i.media_id}, {i.media_file}, {i.start_s:g}"
            for i in service.study_items(session, study, role)
        )

    form = {
        "name": study.name,
        "items": lines("item"),
        "practice": lines("practice"),
        "items_per_participant": str(study.items_per_participant),
        "excerpt_seconds": f"{study.excerpt_seconds:g}",
        **{f"modality_{m}": "on" for m in study.modality_list},
        **{
            f"example_{i.quadrant}": f"{i.media_id}, {i.media_file}, {i.start_s:g}"
            for i in service.study_items(session, study, "example")
        },
        "panel": options.panel,
        "url_params": " ".join(options.url_params),
        "completion_code": options.completion_code,
        "redirect_url": options.redirect_url,
        "consent_text": options.consent_text,
        "instructions_text": options.instructions_text,
        "questions": online.questions_text(options.questions),
        "sound_check_attempts": str(options.sound_check_attempts),
        "min_screen_px": str(options.min_screen_px),
        "attention": "\n".join(
            f"{a.media_id}, {a.media_file}, {a.start_s:g}, {a.valence:g}, {a.arousal:g}, "
            f"{a.tolerance:g}" + (f", {a.instruction}" if a.instruction else "")
            for a in options.attention
        ),
    }
    for flag, value in (
        ("require_params", options.require_params),
        ("sound_check", options.sound_check),
        ("fullscreen", options.fullscreen),
    ):
        if value:
            form[flag] = "on"
    return form


@router.get("/runner/studies/{study_id}/edit", response_class=HTMLResponse)
def edit_study_page(request: Request, study_id: RowId, runner: RunnerDep, session: DB) -> Response:
    study = own_study(session, runner, study_id)
    if service.participant_counts(session).get(study.id, 0):
        return _study_page(request, runner, session, study, 409, service.STARTED_MESSAGE)
    return _study_form(request, runner, _form_of(session, study), study)


@router.post("/runner/studies/{study_id}/edit")
def edit_study(request: Request, study_id: RowId, runner: RunnerDep, session: DB) -> Response:
    form = form_dict(sync_form(request))
    check_csrf(request, form.get("csrf_token", ""))
    study = own_study(session, runner, study_id)
    if service.participant_counts(session).get(study.id, 0):
        return _study_page(request, runner, session, study, 409, service.STARTED_MESSAGE)
    media_dir = server_of(request).media_dir
    try:
        config = _study_config(form)
        options = online.options_from_form(form, media_dir)
        service.update_study(session, study, config, media_dir)
        online.replace_options(session, study, options)
    except StudyError as err:
        session.rollback()
        return _study_form(request, runner, form, study, str(err))
    return RedirectResponse(f"/runner/studies/{study.id}", status_code=303)


@router.get("/runner/studies/{study_id}/export.zip")
def export_zip(study_id: RowId, runner: RunnerDep, session: DB) -> Response:
    from muvi.study.export import export_study

    own_study(session, runner, study_id)
    with tempfile.TemporaryDirectory() as tmp:
        export_study(session, Path(tmp), study_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(tmp).iterdir()):
                archive.write(path, path.name)
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="muvi_study_{study_id}.zip"'},
    )


# ---------------------------------------------------------------------- the new-study form


def _default_form() -> dict[str, str]:
    """The new-study form as first shown: the MuVi study's texts to edit."""
    defaults = online.OnlineOptions()
    return {
        "consent_text": defaults.consent_text,
        "instructions_text": defaults.instructions_text,
        "sound_check_attempts": str(defaults.sound_check_attempts),
        "min_screen_px": "0",
        **{f"modality_{m}": "on" for m in MODALITIES},
    }


def _choices() -> dict[str, Any]:
    return {
        "modalities": MODALITIES,
        "quadrants": service.QUADRANTS,
        "quadrant_titles": service.QUADRANT_TITLES,
        "panels": online.PANEL_PRESETS,
    }


def _study_config(form: dict[str, str]) -> service.StudyConfig:
    def number(name: str, kind: type) -> Any:
        try:
            return kind(form.get(name, ""))
        except ValueError:
            raise StudyError(f"{name.replace('_', ' ')} must be a number") from None

    examples = {}
    for quadrant in service.QUADRANTS:
        specs = service.parse_media_lines(
            form.get(f"example_{quadrant}", ""), f"example {quadrant}"
        )
        if len(specs) > 1:
            raise StudyError(f"give one example clip for {quadrant}")
        if specs:
            examples[quadrant] = specs[0]
    return service.StudyConfig(
        name=form.get("name", ""),
        items=service.parse_media_lines(form.get("items", ""), "items"),
        modalities=tuple(m for m in MODALITIES if form.get(f"modality_{m}") == "on"),
        items_per_participant=number("items_per_participant", int),
        excerpt_seconds=number("excerpt_seconds", float),
        practice=service.parse_media_lines(form.get("practice", ""), "practice items"),
        examples=examples,
    )
