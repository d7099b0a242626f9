"""The study web application (ASGI, FastAPI): runner pages, participant pages
and the JSON endpoints that receive cursor samples while a trial runs.

Create it with :func:`create_app` and serve it with uvicorn (``muvi study
serve`` does both). Security (see the README's "Security" section):

- runner pages and the export need a login: a server-side session whose random
  id is the only thing in the cookie; it expires when idle and at a fixed age
  and is revoked by logout and by a password change;
- logins are throttled per account and per client address, and at most a few
  password checks (argon2) run at once;
- a runner sees and exports only their own studies (an admin sees all); any
  other study answers 404, like a missing one;
- every form carries a CSRF token bound to a random cookie; a participant is
  identified by the secret token of their personal link and can read and write
  only their own trials; the sample endpoint also checks an ``X-CSRF-Token``
  header derived from that token;
- ``/media`` serves only audio, video and images from the media folder, and
  the server refuses to start when the database lies inside that folder;
- request bodies over 1 MiB are refused before they are parsed, sample values
  must be JSON numbers, and ids beyond the database's integer range answer 422.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

import asyncio
import hashlib
import hmac
import io
import json
import re
import secrets
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Form, Header, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from muvi.data.schema import GEMS, GEMS_CATEGORIES, GEMS_SUPERFACTORS, MODALITIES
from muvi.errors import MuviError
from muvi.study import online, service
from muvi.study.db import open_database
from muvi.study.models import AppSetting, Participant, Runner, Study, Trial
from muvi.study.online_routes import online_router
from muvi.study.security import (
    DEFAULT_SECURITY,
    MAX_ROW_ID,
    BodyLimit,
    LoginThrottle,
    MediaFiles,
    SecurityConfig,
    check_database_outside_media,
    client_address,
    open_runner_session,
    resolve_runner_session,
    retry_after_header,
    revoke_runner_session,
)
from muvi.study.service import StudyError

HERE = Path(__file__).parent
PARTICIPANT_COOKIE = "muvi_participant"
SESSION_COOKIE = "muvi_session"
"""Holds only the random id of a runner's server-side session."""
CSRF_COOKIE = "muvi_csrf"
"""A random value the CSRF tokens of forms are derived from (double submit)."""
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
"""A row id in a URL: refused (422) when it cannot be a row of the database."""
MAX_BATCH = 120
"""Most samples one request may carry (a minute at 2 Hz)."""


@dataclass
class StudyServer:
    """What the routes share: the database, the media folder and the key of the
    CSRF tokens."""

    engine: Engine
    sessions: sessionmaker[Session]
    media_dir: Path
    secret: str

    def participant_csrf(self, token: str) -> str:
        return participant_csrf_token(self.secret, token)


def participant_csrf_token(secret: str, token: str) -> str:
    """The CSRF token of a participant's pages and sample requests: an HMAC of
    their link token under the server's key (stateless, survives restarts)."""
    return hmac.new(secret.encode(), f"p:{token}".encode(), hashlib.sha256).hexdigest()


def server_secret(sessions: sessionmaker[Session]) -> str:
    """The key of the CSRF tokens, made once and kept in the database so that
    open pages keep working across a restart of the server."""
    with sessions() as session:
        setting = session.get(AppSetting, "secret_key")
        if setting is None:
            session.add(AppSetting(key="secret_key", value=secrets.token_hex(32)))
            try:
                session.commit()
            except Exception:  # another worker made it at the same moment
                session.rollback()
            setting = session.get(AppSetting, "secret_key")
        assert setting is not None
        return setting.value


class CursorSampleIn(BaseModel):
    """One logged cursor position as the browser sends it."""

    # strict: valence "0.5" (a string) or true (a boolean) is refused, not converted
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    seq: int = Field(ge=0, le=100_000)
    timestamp: float = Field(ge=0.0, le=3600.0)
    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=-1.0, le=1.0)


class SampleBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    samples: list[CursorSampleIn] = Field(min_length=1, max_length=MAX_BATCH)


class LoginRequired(Exception):
    pass


class PasswordGate:
    """At most ``slots`` password checks run at once (each argon2 check takes
    64 MiB); up to ``queue`` more wait for a slot, without holding a thread.
    The limiter belongs to the running event loop, so it is made on first use."""

    def __init__(self, slots: int, queue: int) -> None:
        self.slots = slots
        self.queue = queue
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    def limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._loop, self._limiter = loop, anyio.CapacityLimiter(self.slots)
        return self._limiter

    def full(self) -> bool:
        """True when every slot is taken and the queue is full."""
        stats = self.limiter().statistics()
        return stats.borrowed_tokens >= self.slots and stats.tasks_waiting >= self.queue

    async def run(self, function: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(function, *args, limiter=self.limiter())


def create_app(
    db: str | Path, media_dir: str | Path, security: SecurityConfig = DEFAULT_SECURITY
) -> FastAPI:
    """Build the study application.

    Args:
        db: SQLite file/URL or ``postgresql://`` URL (migrated on start).
        media_dir: the folder of the media files the studies use; it must not
            hold the database.
        security: session lifetimes, login throttling and size limits.

    Returns:
        The ASGI application.
    """
    media = Path(media_dir)
    if not media.is_dir():
        raise MuviError(f"media folder {media} not found")
    check_database_outside_media(db, media)
    engine, sessions = open_database(db)
    server = StudyServer(engine, sessions, media, server_secret(sessions))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    throttle = LoginThrottle(
        base_s=security.lockout_base_s,
        max_s=security.lockout_max_s,
        memory_s=security.failure_memory_s,
    )
    gate = PasswordGate(security.password_slots, security.password_queue)

    templates.env.filters["paragraphs"] = online.paragraphs

    app = FastAPI(title="MuVi study", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    app.state.security = security
    app.state.throttle = throttle

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        seed = request.cookies.get(CSRF_COOKIE, "")
        fresh = not re.fullmatch(r"[A-Za-z0-9_-]{32}", seed)
        if fresh:
            seed = secrets.token_urlsafe(24)
        request.state.csrf_seed = seed
        response: Response = await call_next(request)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE, seed, httponly=True, samesite="lax", secure=_https(request)
            )
        # participant links carry their token: never leak it in a Referer
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    # outermost: an oversized body is refused before any middleware or route reads it
    app.add_middleware(BodyLimit, limit=security.max_body_bytes)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/media", MediaFiles(directory=str(media)), name="media")

    def db_session() -> Iterator[Session]:
        with sessions() as session:
            yield session

    DB = Annotated[Session, Depends(db_session)]

    def csrf_token(request: Request) -> str:
        """The CSRF token of this browser's forms: an HMAC of its CSRF cookie."""
        seed = getattr(request.state, "csrf_seed", "")
        return hmac.new(server.secret.encode(), f"f:{seed}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(request: Request, submitted: str) -> None:
        expected = csrf_token(request)
        if not request.cookies.get(CSRF_COOKIE) or not hmac.compare_digest(
            expected, submitted or ""
        ):
            raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("csrf", csrf_token(request))
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def current_runner(request: Request, session: DB) -> Runner:
        runner = resolve_runner_session(session, request.cookies.get(SESSION_COOKIE, ""), security)
        if runner is None:
            raise LoginRequired()
        return runner

    def own_study(session: Session, runner: Runner, study_id: int) -> Study:
        study = service.study_for_runner(session, runner, study_id)
        if study is None:  # another runner's study looks exactly like a missing one
            raise HTTPException(404, f"no study {study_id}")
        return study

    RunnerDep = Annotated[Runner, Depends(current_runner)]

    def participant(token: str, session: DB) -> Participant:
        found = service.participant_by_token(session, token)
        if found is None:
            raise HTTPException(404, "unknown participant link")
        return found

    ParticipantDep = Annotated[Participant, Depends(participant)]

    app.include_router(online_router(render, DB, ParticipantDep, server.participant_csrf))

    @app.exception_handler(LoginRequired)
    def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"/runner/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": "log in as a study runner first"}, status_code=401)

    def refuse(
        request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        message = " ".join(message.split())  # always one line
        if "text/html" in request.headers.get("accept", ""):
            response = render(request, "error.html", status, message=message, error=None)
        else:
            response = JSONResponse({"detail": message}, status_code=status)
        response.headers.update(headers or {})
        return response

    @app.exception_handler(MuviError)
    def _study_error(request: Request, exc: MuviError) -> Response:
        return refuse(request, 400, str(exc))

    @app.exception_handler(PermissionError)
    def _forbidden(request: Request, exc: PermissionError) -> Response:
        return refuse(request, 403, str(exc))

    @app.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # One readable sentence per problem; the offending input is not echoed
        # back (it may be NaN, which JSON cannot carry).
        problems = [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        return refuse(request, 422, "invalid request: " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        cause = exc.__cause__  # FastAPI's "error parsing the body": say which error
        if isinstance(cause, UnicodeDecodeError):
            detail = "the request body is not valid UTF-8"
        elif isinstance(cause, RecursionError):
            detail = "the request body's JSON is nested too deeply"
        elif isinstance(cause, ValueError) and "digits" in str(cause):
            detail = "a number in the request body has too many digits"
        return refuse(request, exc.status_code, detail, dict(exc.headers or {}))

    # ------------------------------------------------------------------ runner

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/runner", status_code=303)

    @app.get("/runner/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/runner") -> Response:
        return render(request, "login.html", next=_local(next), error=None)

    def check_password(username: str, password: str) -> str | None:
        """Verify a login (in a worker thread); a new session id when it is right."""
        with sessions() as session:
            runner = service.authenticate_runner(session, username, password)
            return None if runner is None else open_runner_session(session, runner, security)

    def login_refused(
        request: Request, status: int, message: str, wait: float, next: str
    ) -> Response:
        response = render(request, "login.html", status, next=_local(next), error=message)
        response.headers["Retry-After"] = retry_after_header(wait)
        return response

    @app.post("/runner/login")
    async def login(
        request: Request,
        username: Annotated[str, Form(max_length=80)],
        password: Annotated[str, Form(max_length=200)],
        csrf_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/runner",
    ) -> Response:
        check_csrf(request, csrf_token)
        if gate.full():
            return login_refused(
                request, 429, "too many logins at once; try again in a second", 1.0, next
            )
        account = ("account", username.lower())
        address = ("address", client_address(request.scope))
        wait = throttle.begin(
            [account, address], [security.account_free_failures, security.address_free_failures]
        )
        if wait > 0:
            message = f"too many failed logins; try again in {retry_after_header(wait)} s"
            return login_refused(request, 429, message, wait, next)
        session_id = await gate.run(check_password, username, password)
        if session_id is None:
            return render(
                request, "login.html", 401, next=_local(next), error="wrong name or password"
            )
        throttle.succeeded(account, [address])
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=int(security.session_absolute_s),
            httponly=True,
            samesite="lax",
            secure=_https(request),
        )
        return response

    @app.post("/runner/logout")
    def logout(request: Request, session: DB, csrf_token: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf_token)
        revoke_runner_session(session, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/runner/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return response

    @app.get("/runner/password", response_class=HTMLResponse)
    def password_page(request: Request, runner: RunnerDep) -> Response:
        return render(request, "password.html", runner=runner, error=None)

    def change_password(username: str, current: str, new: str) -> bool:
        """Check the current password and set the new one (in a worker thread)."""
        with sessions() as session:
            if service.authenticate_runner(session, username, current) is None:
                return False
            service.set_runner_password(session, username, new)  # ends every session
            return True

    @app.post("/runner/password")
    async def password(
        request: Request,
        runner: RunnerDep,
        current: Annotated[str, Form(max_length=200)],
        new: Annotated[str, Form(max_length=200)],
        confirm: Annotated[str, Form(max_length=200)],
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf_token)

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
        if gate.full():
            return again(429, "too many password checks at once; try again in a second", 1.0)
        account = ("account", runner.username.lower())
        address = ("address", client_address(request.scope))
        wait = throttle.begin(
            [account, address], [security.account_free_failures, security.address_free_failures]
        )
        if wait > 0:
            return again(
                429, f"too many wrong passwords; try again in {retry_after_header(wait)} s", wait
            )
        if not await gate.run(change_password, runner.username, current, new):
            return again(401, "the current password is wrong")
        throttle.succeeded(account, [address])
        response = RedirectResponse("/runner/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return response

    @app.get("/runner", response_class=HTMLResponse)
    def runner_home(request: Request, runner: RunnerDep, session: DB) -> Response:
        studies = service.visible_studies(session, runner)
        counts = dict(
            session.execute(
                select(Participant.study_id, func.count()).group_by(Participant.study_id)
            ).all()
        )
        return render(request, "runner_home.html", runner=runner, studies=studies, counts=counts)

    @app.get("/runner/studies/new", response_class=HTMLResponse)
    def new_study_page(request: Request, runner: RunnerDep) -> Response:
        return render(
            request, "study_new.html", runner=runner, error=None, form=_default_form(), **_choices()
        )

    @app.post("/runner/studies")
    def new_study(request: Request, runner: RunnerDep, session: DB) -> Response:
        form = _form_dict(_sync_form(request))
        check_csrf(request, form.get("csrf_token", ""))
        try:
            config = _study_config(form)
            options = online.options_from_form(form, server.media_dir)
            study = service.create_study(session, config, server.media_dir, runner.id)
            online.save_options(session, study, options)
        except StudyError as err:
            session.rollback()
            return render(
                request,
                "study_new.html",
                400,
                runner=runner,
                error=str(err),
                form=form,
                **_choices(),
            )
        return RedirectResponse(f"/runner/studies/{study.id}", status_code=303)

    @app.get("/runner/studies/{study_id}", response_class=HTMLResponse)
    def study_page(request: Request, study_id: RowId, runner: RunnerDep, session: DB) -> Response:
        study = own_study(session, runner, study_id)
        progress = service.study_progress(session, study)
        n_participants = session.scalar(
            select(func.count()).select_from(Participant).where(Participant.study_id == study.id)
        )
        invite = str(request.url_for("signup_page", invite=study.invite_token))
        return render(
            request,
            "study.html",
            runner=runner,
            study=study,
            progress=progress,
            n_participants=n_participants,
            invite=invite,
            options=online.study_options(session, study.id),
            quality=online.quality_summary(session, study),
        )

    @app.get("/runner/studies/{study_id}/export.zip")
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

    # ------------------------------------------------------------- participant

    @app.get("/s/{invite}", response_class=HTMLResponse, name="signup_page")
    def signup_page(request: Request, invite: str, session: DB) -> Response:
        study = _study_by_invite(session, invite)
        returning = service.participant_by_token(
            session, request.cookies.get(PARTICIPANT_COOKIE, "")
        )
        if returning is not None and returning.study_id == study.id:
            return RedirectResponse(f"/p/{returning.token}", status_code=303)
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

    @app.post("/s/{invite}")
    def signup(request: Request, invite: str, session: DB) -> Response:
        study = _study_by_invite(session, invite)
        form = _form_dict(_sync_form(request))
        check_csrf(request, form.get("csrf_token", ""))
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
        attention = online.attention_items(session, study)
        person = service.enrol_participant(session, study, profile, attention)
        online.record_arrival(session, person, options, panel, answers, screen)
        response = RedirectResponse(f"/p/{person.token}", status_code=303)
        response.set_cookie(
            PARTICIPANT_COOKIE, person.token, max_age=30 * 86400, httponly=True, samesite="lax"
        )
        return response

    @app.get("/p/{token}")
    def resume(person: ParticipantDep, session: DB) -> Response:
        step = online.next_step(session, person)
        return RedirectResponse(f"/p/{person.token}/{step}", status_code=303)

    @app.get("/p/{token}/instructions", response_class=HTMLResponse)
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
            pcsrf=server.participant_csrf(person.token),
        )

    @app.post("/p/{token}/instructions")
    def instructions_done(
        person: ParticipantDep,
        session: DB,
        csrf_token: Annotated[str, Form()] = "",
        understood: Annotated[str, Form()] = "",
    ) -> Response:
        _check_participant_csrf(server, person, csrf_token)
        if understood != "yes":
            raise StudyError("please confirm that you understood the instructions")
        person.understood = True
        session.commit()
        return RedirectResponse(f"/p/{person.token}", status_code=303)

    @app.get("/p/{token}/trial", response_class=HTMLResponse)
    def trial_page(request: Request, person: ParticipantDep, session: DB) -> Response:
        if not person.understood or online.needs_headphone_check(session, person):
            return RedirectResponse(f"/p/{person.token}", status_code=303)
        trial = service.next_trial(session, person)
        if trial is None:
            return RedirectResponse(f"/p/{person.token}", status_code=303)
        study = session.get(Study, person.study_id)
        assert study is not None
        trials = list(session.scalars(select(Trial).where(Trial.participant_id == person.id)))
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
            pcsrf=server.participant_csrf(person.token),
            gems=_gems_groups(),
            progress=online.progress(session, person, study.excerpt_seconds),
            attention=online.attention_spec(session, trial),
            options=online.study_options(session, study.id),
        )

    @app.post("/p/{token}/trials/{trial_id}/answers")
    def trial_answers(
        request: Request, trial_id: RowId, person: ParticipantDep, session: DB
    ) -> Response:
        form = _sync_form(request)
        _check_participant_csrf(server, person, str(form.get("csrf_token", "")))
        trial = service.own_trial(session, person, trial_id)
        seen = form.get("seen_previously")
        if seen not in ("yes", "no"):
            raise StudyError("please say whether you had seen or heard the item before")
        labels = [str(v) for v in form.getlist("labels")]
        service.answer_trial(session, trial, seen == "yes", labels)
        return RedirectResponse(f"/p/{person.token}", status_code=303)

    @app.get("/p/{token}/preference", response_class=HTMLResponse)
    def preference_page(request: Request, person: ParticipantDep) -> Response:
        return render(
            request,
            "preference.html",
            person=person,
            pcsrf=server.participant_csrf(person.token),
            choices=service.OVERLAY_PREFERENCES,
        )

    @app.post("/p/{token}/preference")
    def preference(
        person: ParticipantDep,
        session: DB,
        csrf_token: Annotated[str, Form()] = "",
        overlay_pref: Annotated[str, Form()] = "",
    ) -> Response:
        _check_participant_csrf(server, person, csrf_token)
        service.set_preference(session, person, overlay_pref)
        return RedirectResponse(f"/p/{person.token}/done", status_code=303)

    @app.get("/p/{token}/done", response_class=HTMLResponse)
    def done(request: Request, person: ParticipantDep, session: DB) -> Response:
        if person.finished_at is None:  # the completion code only at the end
            return RedirectResponse(f"/p/{person.token}", status_code=303)
        options = online.study_options(session, person.study_id)
        record = online.participant_record(session, person)
        code, redirect = online.completion(options, json.loads(record.panel))
        return render(request, "done.html", person=person, code=code, redirect=redirect)

    # ---------------------------------------------------------------- JSON API

    @app.get("/api/p/{token}/trials")
    def my_trials(person: ParticipantDep, session: DB) -> list[dict[str, Any]]:
        trials = session.scalars(
            select(Trial).where(Trial.participant_id == person.id).order_by(Trial.position)
        )
        return [
            {
                "id": t.id,
                "position": t.position,
                "practice": t.practice,
                "modality": t.modality,
                "overlaid": t.overlaid,
                "completed": t.completed_at is not None,
            }
            for t in trials
        ]

    @app.post("/api/p/{token}/trials/{trial_id}/start")
    def start(
        trial_id: RowId,
        person: ParticipantDep,
        session: DB,
        x_csrf_token: Annotated[str, Header()] = "",
    ) -> dict[str, Any]:
        _check_participant_csrf(server, person, x_csrf_token)
        trial = service.own_trial(session, person, trial_id)
        service.start_trial(session, trial)
        return {"trial": trial.id, "started": True}

    @app.post("/api/p/{token}/trials/{trial_id}/samples")
    def samples(
        trial_id: RowId,
        batch: SampleBatch,
        person: ParticipantDep,
        session: DB,
        x_csrf_token: Annotated[str, Header()] = "",
    ) -> dict[str, Any]:
        _check_participant_csrf(server, person, x_csrf_token)
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

    return app


# ---------------------------------------------------------------------- helpers


def _https(request: Request) -> bool:
    """Cookies get the Secure flag when the page was asked for over HTTPS
    (behind a proxy: when uvicorn trusts its X-Forwarded-Proto)."""
    return request.url.scheme == "https"


def _local(target: str) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/runner"


def _sync_form(request: Request) -> Any:
    """The parsed form of a request inside a sync route (FastAPI caches it)."""
    import anyio.from_thread

    async def read() -> Any:
        return await request.form()

    return anyio.from_thread.run(read)


def _form_dict(form: Any) -> dict[str, str]:
    return {key: str(form.get(key)) for key in form}


def _check_participant_csrf(server: StudyServer, person: Participant, submitted: str) -> None:
    if not hmac.compare_digest(server.participant_csrf(person.token), submitted or ""):
        raise HTTPException(403, "the CSRF token is missing or wrong; reload the page")


def _study_by_invite(session: Session, invite: str) -> Study:
    study = session.scalar(select(Study).where(Study.invite_token == invite[:64]))
    if study is None:
        raise HTTPException(404, "unknown study link")
    return study


def _default_form() -> dict[str, str]:
    """The new-study form as first shown: the MuVi study's texts to edit."""
    defaults = online.OnlineOptions()
    return {
        "consent_text": defaults.consent_text,
        "instructions_text": defaults.instructions_text,
        "headphone_attempts": str(defaults.headphone_attempts),
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
