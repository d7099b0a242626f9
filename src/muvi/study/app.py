"""The study web application (ASGI, FastAPI): runner pages, participant pages
and the JSON endpoints that receive cursor samples while a trial runs.

Create it with :func:`create_app` and serve it with uvicorn (``muvi study
serve`` does both). The routes live in routers, one per domain, over the
service layer (:mod:`muvi.study.service`, :mod:`muvi.study.online`), which
makes every database change: :mod:`muvi.study.runner_routes` (the runner's
pages), :mod:`muvi.study.participant_routes` (the participant's pages),
:mod:`muvi.study.participant_api` (the JSON endpoints of a running trial) and
:mod:`muvi.study.online_routes` (online collection); what they share (the
database session, the current runner, the participant of a link, CSRF) is in
:mod:`muvi.study.deps`. This module wires them together with the middleware
and the error pages. Security (the docs page ``docs/security.md`` says more):

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
  must be JSON numbers, and ids beyond the database's integer range answer 422;
- no text field (form field, query parameter, path segment, JSON string)
  may hold a control character: NUL, the other C0 controls, DEL and the C1
  controls answer 400 with one line naming the field; tab and line breaks are
  allowed only in the multi-line fields (the ``<textarea>`` fields of the
  templates);
- a trial stores at most :func:`muvi.study.service.max_samples_per_trial`
  samples (from the excerpt length and the 2 Hz cursor rate, with a margin);
  a batch beyond it answers 413;
- sign-ups are throttled per client address and per study (429 with
  ``Retry-After``; off for a lab with ``signup_limit=False``);
- behind a trusted reverse proxy (loopback by default) the client's address
  and scheme come from ``X-Forwarded-For`` and ``X-Forwarded-Proto``; every
  cookie is ``Secure`` when the request came over HTTPS.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

import json
import re
import secrets
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from muvi.errors import MuviError
from muvi.study import (
    online,
    online_routes,
    participant_api,
    participant_routes,
    preview_routes,
    runner_routes,
    service,
)
from muvi.study.db import open_database
from muvi.study.deps import (
    CSRF_COOKIE,
    PARTICIPANT_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    PasswordGate,
    StudyServer,
    https,
    participant_csrf_token,
    render,
)
from muvi.study.participant_api import MAX_BATCH, CursorSampleIn, SampleBatch
from muvi.study.security import (
    DEFAULT_SECURITY,
    BodyLimit,
    LoginThrottle,
    MediaFiles,
    SecurityConfig,
    SignupThrottle,
    TrustedProxies,
    check_database_outside_media,
    json_strings,
    text_field_problem,
)
from muvi.study.service import SampleCapError

__all__ = [
    "CSRF_COOKIE",
    "MAX_BATCH",
    "PARTICIPANT_COOKIE",
    "SESSION_COOKIE",
    "CursorSampleIn",
    "SampleBatch",
    "StudyServer",
    "create_app",
    "participant_csrf_token",
]

HERE = Path(__file__).parent
_TEXTAREA = re.compile(r"<textarea\b[^>]*\bname=\"([^\"]+)\"")


def multiline_fields(templates: Path = HERE / "templates") -> frozenset[str]:
    """The names of the form fields that may hold tab and line breaks: the
    ``<textarea>`` fields of the templates (a new one is multi-line at once).

    Examples:
        >>> sorted(multiline_fields())[:3]
        ['attention', 'consent_text', 'instructions_text']
    """
    return frozenset(
        name
        for page in sorted(templates.glob("*.html"))
        for name in _TEXTAREA.findall(page.read_text())
    )


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
    with sessions() as session:
        secret = service.server_secret(session)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["paragraphs"] = online.paragraphs
    throttle = LoginThrottle(
        base_s=security.lockout_base_s,
        max_s=security.lockout_max_s,
        memory_s=security.failure_memory_s,
    )
    server = StudyServer(
        engine=engine,
        sessions=sessions,
        media_dir=media,
        secret=secret,
        templates=templates,
        security=security,
        throttle=throttle,
        gate=PasswordGate(security.password_slots, security.password_queue),
    )

    app = FastAPI(
        title="MuVi study",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(_refuse_control_characters)],
    )
    app.state.server = server
    app.state.security = security
    app.state.throttle = throttle
    app.state.signup_throttle = SignupThrottle(window_s=security.signup_window_s)
    app.state.multiline_fields = multiline_fields()

    app.middleware("http")(_security_headers)
    app.add_middleware(TrustedProxies, trusted=security.trusted_proxies)
    # outermost: an oversized body is refused before any middleware or route reads it
    app.add_middleware(BodyLimit, limit=security.max_body_bytes)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/media", MediaFiles(directory=str(media)), name="media")

    app.include_router(online_routes.router)
    app.include_router(runner_routes.router)
    app.include_router(preview_routes.router)
    app.include_router(participant_routes.router)
    app.include_router(participant_api.router)

    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(SampleCapError, _over_cap)
    app.add_exception_handler(MuviError, _study_error)
    app.add_exception_handler(PermissionError, _forbidden)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    return app


async def _refuse_control_characters(request: Request) -> None:
    """Refuse (400, one line naming the field) a request whose path, query or
    body holds a control character in a text field (see
    :func:`muvi.study.security.forbidden_character`); runs before every route,
    so a field added to a form is covered without a line of its own."""
    multiline: frozenset[str] = request.app.state.multiline_fields
    fields: list[tuple[str, str, bool]] = [
        (name, str(value), False) for name, value in request.path_params.items()
    ]
    fields += [(name, value, False) for name, value in request.query_params.multi_items()]
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for name, value in form.multi_items():
            text = value if isinstance(value, str) else str(getattr(value, "filename", "") or "")
            fields.append((name, text, name in multiline))
    elif kind == "application/json" or kind.endswith("+json"):
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):  # the route's own parser says what is wrong
            body = None
        fields += [(name or "body", text, False) for name, text in json_strings(body)]
    for name, value, many_lines in fields:
        problem = text_field_problem(name, value, many_lines)
        if problem is not None:
            raise StarletteHTTPException(400, problem)


async def _security_headers(request: Request, call_next: Any) -> Response:
    seed = request.cookies.get(CSRF_COOKIE, "")
    fresh = not re.fullmatch(r"[A-Za-z0-9_-]{32}", seed)
    if fresh:
        seed = secrets.token_urlsafe(24)
    request.state.csrf_seed = seed
    response: Response = await call_next(request)
    if fresh:
        response.set_cookie(CSRF_COOKIE, seed, httponly=True, samesite="lax", secure=https(request))
    # participant links carry their token: never leak it in a Referer
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


# ---------------------------------------------------------------------- error pages


def _refuse(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    message = " ".join(message.split())  # always one line
    if "text/html" in request.headers.get("accept", ""):
        response = render(request, "error.html", status, message=message, error=None)
    else:
        response = JSONResponse({"detail": message}, status_code=status)
    response.headers.update(headers or {})
    return response


def _login_required(request: Request, _exc: Exception) -> Response:
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(f"/runner/login?next={request.url.path}", status_code=303)
    return JSONResponse({"detail": "log in as a study runner first"}, status_code=401)


def _study_error(request: Request, exc: Exception) -> Response:
    return _refuse(request, 400, str(exc))


def _over_cap(request: Request, exc: Exception) -> Response:
    return _refuse(request, 413, str(exc))


def _forbidden(request: Request, exc: Exception) -> Response:
    return _refuse(request, 403, str(exc))


def _invalid_request(request: Request, exc: Exception) -> Response:
    # One readable sentence per problem; the offending input is not echoed
    # back (it may be NaN, which JSON cannot carry).
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    ]
    return _refuse(request, 422, "invalid request: " + "; ".join(problems))


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    cause = exc.__cause__  # FastAPI's "error parsing the body": say which error
    if isinstance(cause, UnicodeDecodeError):
        detail = "the request body is not valid UTF-8"
    elif isinstance(cause, RecursionError):
        detail = "the request body's JSON is nested too deeply"
    elif isinstance(cause, ValueError) and "digits" in str(cause):
        detail = "a number in the request body has too many digits"
    return _refuse(request, exc.status_code, detail, dict(exc.headers or {}))
