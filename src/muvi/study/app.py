"""The study web application (ASGI, FastAPI): runner pages, participant pages
and the JSON endpoints that receive cursor samples while a trial runs.

Create it with :func:`create_app` and serve it with uvicorn (``muvi study
serve`` does both). Security: runner pages and the export need a login
(session cookie signed with a key kept in the database); every form carries a
CSRF token; a participant is identified by the secret token of their personal
link and can read and write only their own trials; the sample endpoint also
checks an ``X-CSRF-Token`` header derived from that token.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

import hashlib
import hmac
import io
import json
import secrets
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from muvi.data.schema import GEMS, GEMS_CATEGORIES, GEMS_SUPERFACTORS, MODALITIES
from muvi.errors import MuviError
from muvi.study import online, service
from muvi.study.db import open_database
from muvi.study.models import AppSetting, Participant, Runner, Study, Trial
from muvi.study.online_routes import online_router
from muvi.study.service import StudyError

HERE = Path(__file__).parent
PARTICIPANT_COOKIE = "muvi_participant"
MAX_BATCH = 120
"""Most samples one request may carry (a minute at 2 Hz)."""


@dataclass
class StudyServer:
    """What the routes share: the database, the media folder and the signing key."""

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
    """The session signing key, made once and kept in the database so that
    sessions and links survive a restart of the server."""
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

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    seq: int = Field(ge=0, le=100_000)
    timestamp: float = Field(ge=0.0, le=3600.0)
    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=-1.0, le=1.0)


class SampleBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    samples: list[CursorSampleIn] = Field(min_length=1, max_length=MAX_BATCH)


class LoginRequired(Exception):
    pass


def create_app(db: str | Path, media_dir: str | Path) -> FastAPI:
    """Build the study application.

    Args:
        db: SQLite file/URL or ``postgresql://`` URL (migrated on start).
        media_dir: the folder of the media files the studies use.

    Returns:
        The ASGI application.
    """
    media = Path(media_dir)
    if not media.is_dir():
        raise MuviError(f"media folder {media} not found")
    engine, sessions = open_database(db)
    server = StudyServer(engine, sessions, media, server_secret(sessions))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["paragraphs"] = online.paragraphs

    app = FastAPI(title="MuVi study", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    app.add_middleware(
        SessionMiddleware,
        secret_key=server.secret,
        session_cookie="muvi_session",
        max_age=12 * 3600,
        same_site="lax",
    )

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        # participant links carry their token: never leak it in a Referer
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/media", StaticFiles(directory=str(media)), name="media")

    def db_session() -> Iterator[Session]:
        with sessions() as session:
            yield session

    DB = Annotated[Session, Depends(db_session)]

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(24)
            request.session["csrf"] = token
        return str(token)

    def check_csrf(request: Request, submitted: str) -> None:
        expected = request.session.get("csrf")
        if not expected or not hmac.compare_digest(str(expected), submitted or ""):
            raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("csrf", csrf_token(request))
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def current_runner(request: Request, session: DB) -> Runner:
        runner_id = request.session.get("runner")
        runner = session.get(Runner, runner_id) if isinstance(runner_id, int) else None
        if runner is None:
            raise LoginRequired()
        return runner

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

    def refuse(request: Request, status: int, message: str) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return render(request, "error.html", status, message=message, error=None)
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(StudyError)
    def _study_error(request: Request, exc: StudyError) -> Response:
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

    @app.exception_handler(HTTPException)
    def _http_error(request: Request, exc: HTTPException) -> Response:
        return refuse(request, exc.status_code, str(exc.detail))

    # ------------------------------------------------------------------ runner

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/runner", status_code=303)

    @app.get("/runner/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/runner") -> Response:
        return render(request, "login.html", next=_local(next), error=None)

    @app.post("/runner/login")
    def login(
        request: Request,
        session: DB,
        username: Annotated[str, Form(max_length=80)],
        password: Annotated[str, Form(max_length=200)],
        csrf_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/runner",
    ) -> Response:
        check_csrf(request, csrf_token)
        runner = service.authenticate_runner(session, username, password)
        if runner is None:
            return render(
                request, "login.html", 401, next=_local(next), error="wrong name or password"
            )
        request.session.clear()
        request.session["runner"] = runner.id
        return RedirectResponse(_local(next), status_code=303)

    @app.post("/runner/logout")
    def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf_token)
        request.session.clear()
        return RedirectResponse("/runner/login", status_code=303)

    @app.get("/runner", response_class=HTMLResponse)
    def runner_home(request: Request, runner: RunnerDep, session: DB) -> Response:
        studies = list(session.scalars(select(Study).order_by(Study.id)))
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
    def study_page(request: Request, study_id: int, runner: RunnerDep, session: DB) -> Response:
        study = session.get(Study, study_id)
        if study is None:
            raise HTTPException(404, f"no study {study_id}")
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
    def export_zip(study_id: int, runner: RunnerDep, session: DB) -> Response:
        from muvi.study.export import export_study

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
        request: Request, trial_id: int, person: ParticipantDep, session: DB
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
        trial_id: int,
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
        trial_id: int,
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
