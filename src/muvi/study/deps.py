"""What every router of the study server shares: the server's state, the
database session, the logged-in runner, the participant of a link, CSRF
tokens and page rendering.

:func:`muvi.study.app.create_app` puts one :class:`StudyServer` on
``app.state.server``; the dependencies below find it through the request, so
the routers (:mod:`muvi.study.runner_routes`,
:mod:`muvi.study.participant_routes`, :mod:`muvi.study.participant_api`,
:mod:`muvi.study.online_routes`) are plain module-level
:class:`fastapi.APIRouter` objects with no closure over the app.
"""

# No "from __future__ import annotations": FastAPI reads the annotations at run time.

import asyncio
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from muvi.study import service
from muvi.study.models import Participant, Runner, Study
from muvi.study.security import (
    MAX_ROW_ID,
    LoginThrottle,
    SecurityConfig,
    resolve_runner_session,
)

PARTICIPANT_COOKIE = "muvi_participant"
SESSION_COOKIE = "muvi_session"
"""Holds only the random id of a runner's server-side session."""
CSRF_COOKIE = "muvi_csrf"
"""A random value the CSRF tokens of forms are derived from (double submit)."""
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
"""A row id in a URL: refused (422) when it cannot be a row of the database."""


class LoginRequired(Exception):
    """A runner page was asked for without a valid session."""


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
        """The capacity limiter of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._loop, self._limiter = loop, anyio.CapacityLimiter(self.slots)
        return self._limiter

    def full(self) -> bool:
        """True when every slot is taken and the queue is full."""
        stats = self.limiter().statistics()
        return stats.borrowed_tokens >= self.slots and stats.tasks_waiting >= self.queue

    async def run(self, function: Any, *args: Any) -> Any:
        """Run ``function(*args)`` in a worker thread once a slot is free."""
        return await anyio.to_thread.run_sync(function, *args, limiter=self.limiter())


def participant_csrf_token(secret: str, token: str) -> str:
    """The CSRF token of a participant's pages and sample requests: an HMAC of
    their link token under the server's key (stateless, survives restarts)."""
    return hmac.new(secret.encode(), f"p:{token}".encode(), hashlib.sha256).hexdigest()


@dataclass
class StudyServer:
    """What the routes share: the database, the media folder, the key of the
    CSRF tokens, the templates and the login defences."""

    engine: Engine
    sessions: sessionmaker[Session]
    media_dir: Path
    secret: str
    templates: Jinja2Templates
    security: SecurityConfig
    throttle: LoginThrottle
    gate: PasswordGate

    def participant_csrf(self, token: str) -> str:
        """The participant CSRF token of a link token."""
        return participant_csrf_token(self.secret, token)


def server_of(request: Request) -> StudyServer:
    """The :class:`StudyServer` of the app that received ``request``."""
    server: StudyServer = request.app.state.server
    return server


def db_session(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with server_of(request).sessions() as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser's forms: an HMAC of its CSRF cookie."""
    seed = getattr(request.state, "csrf_seed", "")
    secret = server_of(request).secret
    return hmac.new(secret.encode(), f"f:{seed}".encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, submitted: str) -> None:
    """Refuse (403) a form whose CSRF token is missing or wrong."""
    expected = csrf_token(request)
    if not request.cookies.get(CSRF_COOKIE) or not hmac.compare_digest(expected, submitted or ""):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")


def check_participant_csrf(request: Request, person: Participant, submitted: str) -> None:
    """Refuse (403) a participant request whose CSRF token is missing or wrong."""
    expected = server_of(request).participant_csrf(person.token)
    if not hmac.compare_digest(expected, submitted or ""):
        raise HTTPException(403, "the CSRF token is missing or wrong; reload the page")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A page from the study's templates, with the form CSRF token in its context."""
    context.setdefault("csrf", csrf_token(request))
    templates = server_of(request).templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def current_runner(request: Request, session: DB) -> Runner:
    """The logged-in runner; :class:`LoginRequired` without a valid session."""
    runner = resolve_runner_session(
        session, request.cookies.get(SESSION_COOKIE, ""), server_of(request).security
    )
    if runner is None:
        raise LoginRequired()
    return runner


RunnerDep = Annotated[Runner, Depends(current_runner)]


def own_study(session: Session, runner: Runner, study_id: int) -> Study:
    """A study the runner may see; another runner's study answers 404 like a missing one."""
    study = service.study_for_runner(session, runner, study_id)
    if study is None:
        raise HTTPException(404, f"no study {study_id}")
    return study


def participant(token: str, session: DB) -> Participant:
    """The participant of a personal link (404 for an unknown token)."""
    found = service.participant_by_token(session, token)
    if found is None:
        raise HTTPException(404, "unknown participant link")
    return found


ParticipantDep = Annotated[Participant, Depends(participant)]


def https(request: Request) -> bool:
    """Cookies get the Secure flag when the page was asked for over HTTPS
    (behind a proxy: when it is trusted and says so in X-Forwarded-Proto,
    see :class:`muvi.study.security.TrustedProxies`)."""
    return request.url.scheme == "https"


def local_path(target: str) -> str:
    """Only same-site paths are followed after login (no open redirect).

    Examples:
        >>> local_path("/runner/studies/3"), local_path("//evil.example"), local_path("http://x")
        ('/runner/studies/3', '/runner', '/runner')
    """
    return target if target.startswith("/") and not target.startswith("//") else "/runner"


def sync_form(request: Request) -> Any:
    """The parsed form of a request inside a sync route (FastAPI caches it)."""

    async def read() -> Any:
        return await request.form()

    return anyio.from_thread.run(read)


def form_dict(form: Any) -> dict[str, str]:
    """A parsed form as a plain dict (the last value of a repeated field)."""
    return {key: str(form.get(key)) for key in form}
