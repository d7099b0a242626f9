"""The study server's protections that are not study logic: runner sessions
kept in the database, login and sign-up throttling, the media mount, the
request body limit, the check that the database is not served as media, the
refusal of control characters in text fields, and the reading of a trusted
reverse proxy's forwarded headers.

Each piece is small and tested on its own (``tests/study/test_security.py``);
:func:`muvi.study.app.create_app` wires them together. The docs page
``docs/security.md`` says what they protect, their settings, and what the
operator must still do.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import mimetypes
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from muvi.errors import MuviError
from muvi.study.models import Runner, RunnerSession, utcnow

MAX_ROW_ID = 2_147_483_647
"""The largest id a table row can have (a 32-bit ``INTEGER`` on PostgreSQL);
larger ids in a URL are refused as invalid instead of reaching the database."""


@dataclass(frozen=True)
class SecurityConfig:
    """Limits of the study server. The defaults are this toolkit's choices
    (the paper does not describe its server); each is a named constant so a
    deployment can change it in one place.

    Attributes:
        session_idle_s: a runner session ends after this long without a request.
        session_absolute_s: ... and this long after the login, used or not.
        account_free_failures: failed logins of one account before it is slowed.
        address_free_failures: failed logins from one client address before it is slowed.
        lockout_base_s: the first lockout; each further failure doubles it.
        lockout_max_s: the longest lockout.
        failure_memory_s: failures this old (since the last one) are forgotten.
        password_slots: password checks (argon2, 64 MiB each) run at the same time.
        password_queue: logins that may wait for a slot; more get 429 at once.
        max_body_bytes: largest request body (checked before it is parsed).
        signup_limit: throttle sign-ups (False for a lab, where every
            participant comes from the same address: ``muvi study serve
            --no-signup-limit``).
        signups_per_address: sign-ups from one client address within
            ``signup_window_s``; more answer 429 with ``Retry-After``.
        signups_per_study: sign-ups to one study within ``signup_window_s``
            (from all addresses together).
        signup_window_s: the sliding window of the two sign-up limits.
        trusted_proxies: addresses (or networks, ``10.0.0.0/8``) of reverse
            proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are
            believed; a request from any other peer keeps the peer's address
            and scheme whatever its headers say. Loopback by default, so a
            proxy on the same machine works without configuration.
    """

    session_idle_s: float = 2 * 3600.0
    session_absolute_s: float = 12 * 3600.0
    account_free_failures: int = 5
    address_free_failures: int = 20
    lockout_base_s: float = 2.0
    lockout_max_s: float = 900.0
    failure_memory_s: float = 900.0
    password_slots: int = 2
    password_queue: int = 16
    max_body_bytes: int = 1024 * 1024
    signup_limit: bool = True
    signups_per_address: int = 10
    signups_per_study: int = 600
    signup_window_s: float = 600.0
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")


DEFAULT_SECURITY = SecurityConfig()


# --------------------------------------------------------------------------
# Runner sessions
# --------------------------------------------------------------------------


def _hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_runner_session(
    session: Session, runner: Runner, config: SecurityConfig = DEFAULT_SECURITY
) -> str:
    """Start a login: store a new session and return its random id (for the
    cookie; only its SHA-256 is kept, so a copy of the database opens no session).
    Sessions past their absolute lifetime are deleted on the way.

    Returns:
        The session id, 43 URL-safe characters (256 random bits).
    """
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(
        delete(RunnerSession).where(
            RunnerSession.created_at < now - timedelta(seconds=config.session_absolute_s)
        )
    )
    session.add(
        RunnerSession(
            id_hash=_hash_session_id(session_id),
            runner_id=runner.id,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.commit()
    return session_id


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns (stored as UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def resolve_runner_session(
    session: Session, session_id: str, config: SecurityConfig = DEFAULT_SECURITY
) -> Runner | None:
    """The runner of a live session, else ``None`` (unknown, revoked, idle too
    long or too old). Using a session moves its idle deadline (at most once a
    minute, to spare the database a write per request)."""
    if not session_id or len(session_id) > 100:
        return None
    row = session.get(RunnerSession, _hash_session_id(session_id))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now - _aware(row.created_at) > timedelta(seconds=config.session_absolute_s):
        return None
    if now - _aware(row.last_seen_at) > timedelta(seconds=config.session_idle_s):
        return None
    if now - _aware(row.last_seen_at) > timedelta(seconds=60):
        row.last_seen_at = now
        session.commit()
    return session.get(Runner, row.runner_id)


def revoke_runner_session(session: Session, session_id: str) -> None:
    """End one session (logout); unknown ids are ignored."""
    session.execute(
        update(RunnerSession)
        .where(
            RunnerSession.id_hash == _hash_session_id(session_id),
            RunnerSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()


def revoke_all_runner_sessions(session: Session, runner_id: int) -> int:
    """End every session of a runner (password change); returns how many were live."""
    result = session.execute(
        update(RunnerSession)
        .where(RunnerSession.runner_id == runner_id, RunnerSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def live_session_count(session: Session, runner_id: int) -> int:
    """How many sessions of a runner are not revoked (expired ones included)."""
    rows = session.scalars(
        select(RunnerSession.id_hash).where(
            RunnerSession.runner_id == runner_id, RunnerSession.revoked_at.is_(None)
        )
    )
    return len(list(rows))


# --------------------------------------------------------------------------
# Login throttling
# --------------------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass
class LoginThrottle:
    """Failed logins per key (an account name, a client address) with an
    exponential lockout.

    Every attempt is counted as a failure when it *starts* (so that many
    attempts at the same moment cannot all slip through before the first one
    fails); a successful login clears its account and gives the address its
    attempt back. After ``free`` failures a key is locked for
    ``base * 2**(failures - free)`` seconds (at most ``max_s``) after its last
    failure; failures are forgotten ``memory_s`` after the last one.

    Examples:
        >>> clock = [0.0]
        >>> throttle = LoginThrottle(clock=lambda: clock[0])
        >>> keys = [("account", "ana")]
        >>> [throttle.begin(keys, [5]) for _ in range(6)]
        [0.0, 0.0, 0.0, 0.0, 0.0, 2.0]
        >>> clock[0] = 2.0; throttle.begin(keys, [5]), throttle.begin(keys, [5])
        (0.0, 4.0)
    """

    base_s: float = DEFAULT_SECURITY.lockout_base_s
    max_s: float = DEFAULT_SECURITY.lockout_max_s
    memory_s: float = DEFAULT_SECURITY.failure_memory_s
    max_keys: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _records: dict[tuple[str, str], _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _locked_for(self, record: _Failures, free: int, now: float) -> float:
        if record.count < free:
            return 0.0
        lockout = min(self.base_s * 2.0 ** (record.count - free), self.max_s)
        return max(0.0, record.last + lockout - now)

    def begin(self, keys: list[tuple[str, str]], free: list[int]) -> float:
        """Count an attempt on every key, unless one of them is locked.

        Args:
            keys: ``(kind, value)`` pairs, e.g. ``("account", "ana")``.
            free: for each key, the failures allowed before it is locked.

        Returns:
            0 when the attempt may go ahead (and is counted), else the seconds
            until the longest lock of its keys ends (nothing counted).
        """
        now = self.clock()
        with self._lock:
            records = []
            for key in keys:
                record = self._records.get(key)
                if record is not None and now - record.last > self.memory_s:
                    record = None
                    del self._records[key]
                records.append(record or _Failures())
            wait = max(self._locked_for(r, n, now) for r, n in zip(records, free, strict=True))
            if wait > 0:
                return wait
            for key, record in zip(keys, records, strict=True):
                record.count += 1
                record.last = now
                self._records[key] = record
            if len(self._records) > self.max_keys:
                self._forget_oldest(now)
            return 0.0

    def succeeded(self, account: tuple[str, str], others: list[tuple[str, str]]) -> None:
        """A correct password: clear the account, give the other keys their attempt back."""
        with self._lock:
            self._records.pop(account, None)
            for key in others:
                record = self._records.get(key)
                if record is not None:
                    record.count = max(0, record.count - 1)

    def _forget_oldest(self, now: float) -> None:
        stale = [k for k, r in self._records.items() if now - r.last > self.memory_s]
        for key in stale:
            del self._records[key]
        if len(self._records) > self.max_keys:  # a flood of fresh names: drop the oldest half
            by_age = sorted(self._records, key=lambda k: self._records[k].last)
            for key in by_age[: len(by_age) // 2]:
                del self._records[key]


@dataclass
class SignupThrottle:
    """Sign-ups per key (a client address, a study) in a sliding window.

    A sign-up *reserves* a place on each of its keys before it is stored (so
    that many sign-ups at the same moment cannot all slip through) and gives
    it back when it is not stored after all (:meth:`release`).

    Examples:
        >>> clock = [0.0]
        >>> throttle = SignupThrottle(window_s=60.0, clock=lambda: clock[0])
        >>> keys = [(("address", "192.0.2.1"), 2)]
        >>> [throttle.reserve(keys) for _ in range(3)]
        [0.0, 0.0, 60.0]
        >>> clock[0] = 45.0; throttle.reserve(keys)
        15.0
        >>> clock[0] = 60.5; throttle.reserve(keys)
        0.0
    """

    window_s: float = DEFAULT_SECURITY.signup_window_s
    max_keys: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _hits: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        return hits

    def reserve(self, keys: Iterable[tuple[tuple[str, str], int]]) -> float:
        """Count a sign-up on every key, unless one of them is at its limit.

        Args:
            keys: ``((kind, value), limit)`` pairs, e.g. ``(("study", "3"), 600)``.

        Returns:
            0 when the sign-up may go ahead (and is counted), else the seconds
            until the fullest key has a free place again (nothing counted).
        """
        now = self.clock()
        pairs = list(keys)
        with self._lock:
            recent = [(key, self._recent(key, now), limit) for key, limit in pairs]
            waits = [
                hits[len(hits) - limit] + self.window_s - now
                for _key, hits, limit in recent
                if len(hits) >= limit
            ]
            if waits:
                return max(max(waits), 1e-3)
            for key, hits, _limit in recent:
                hits.append(now)
                self._hits[key] = hits
            if len(self._hits) > self.max_keys:
                self._forget(now)
            return 0.0

    def release(self, keys: Iterable[tuple[str, str]]) -> None:
        """Give back a reservation of :meth:`reserve` (the sign-up was not stored)."""
        with self._lock:
            for key in keys:
                hits = self._hits.get(key)
                if hits:
                    hits.pop()

    def _forget(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not self._recent(k, now)]:
            del self._hits[key]
        if len(self._hits) > self.max_keys:  # a flood of fresh addresses: drop the oldest half
            by_age = sorted(self._hits, key=lambda k: self._hits[k][-1])
            for key in by_age[: len(by_age) // 2]:
                del self._hits[key]


def retry_after_header(seconds: float) -> str:
    """Seconds for a ``Retry-After`` header (a whole number, at least 1).

    Examples:
        >>> retry_after_header(0.2), retry_after_header(4.0), retry_after_header(4.01)
        ('1', '4', '5')
    """
    return str(max(1, math.ceil(seconds - 1e-9)))


# --------------------------------------------------------------------------
# Media
# --------------------------------------------------------------------------

MEDIA_TYPES: tuple[str, ...] = ("audio/", "video/", "image/")
"""Only files whose type (by extension) starts with one of these are served as media."""
_EXTRA_TYPES = {".webm": "video/webm", ".mkv": "video/x-matroska", ".opus": "audio/ogg",
                ".m4a": "audio/mp4", ".flac": "audio/flac", ".webp": "image/webp"}  # fmt: skip
_NOT_MEDIA_MAGIC = (b"SQLite format 3\x00", b"PK\x03\x04", b"\x7fELF", b"PGDMP")


def media_type(name: str) -> str | None:
    """The media type of a file name when it is audio, video or an image, else ``None``.

    Examples:
        >>> media_type("clip.webm"), media_type("song.MP3"), media_type("muvi_study.db")
        ('video/webm', 'audio/mpeg', None)
        >>> media_type("muvi_study.db-wal"), media_type("notes.txt")
        (None, None)
    """
    suffix = PurePosixPath(name).suffix.lower()
    kind = _EXTRA_TYPES.get(suffix) or mimetypes.types_map.get(suffix)
    return kind if kind is not None and kind.startswith(MEDIA_TYPES) else None


def media_name_problem(path: str) -> str | None:
    """Why a path under the media folder may not be served, or ``None``.

    Examples:
        >>> media_name_problem("clips/a.webm") is None
        True
        >>> media_name_problem(".secret/a.webm"), media_name_problem("study.db")
        ('hidden files are not served', 'only audio, video and image files are served')
    """
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if any(part.startswith(".") for part in parts):
        return "hidden files are not served"
    if media_type(path) is None:
        return "only audio, video and image files are served"
    return None


class MediaFiles(StaticFiles):
    """The ``/media`` mount: audio, video and image files under the media
    folder, nothing else. Hidden files and folders, other types (a database,
    its ``-wal``, a script), files whose first bytes say they are a database or
    an archive, and anything outside the folder (``..``, links) answer 404."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if media_name_problem(path) is not None:
            raise HTTPException(404, "no such media file")
        response = await super().get_response(path, scope)
        full_path = getattr(response, "path", None)
        if full_path is not None and _looks_like_non_media(Path(full_path)):
            raise HTTPException(404, "no such media file")
        return response

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        kind = media_type(str(full_path))
        if kind is not None:  # the type the allow-list judged, whatever the system's table says
            response.headers["content-type"] = kind
        return response

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        full_path, stat_result = super().lookup_path(path)
        if full_path and self.directory is not None:  # a link out of the folder is refused
            root = os.path.realpath(self.directory)
            if os.path.commonpath([os.path.realpath(full_path), root]) != root:
                return "", None
        return full_path, stat_result


def _looks_like_non_media(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return True
    return head.startswith(_NOT_MEDIA_MAGIC)


def database_files(db: str | Path) -> list[Path]:
    """The files of an SQLite database (the file, its ``-wal``, ``-shm`` and
    ``-journal``); none for a server database (PostgreSQL).

    Examples:
        >>> [p.name for p in database_files("sqlite:///tmp/x.db")]
        ['x.db', 'x.db-wal', 'x.db-shm', 'x.db-journal']
        >>> database_files("postgresql://u@host/db")
        []
    """
    text = str(db)
    if "://" in text:
        if not text.startswith("sqlite"):
            return []
        text = text.split(":///", 1)[-1] if ":///" in text else ""
        if not text or text == ":memory:":
            return []
    main = Path(text).expanduser()
    return [main] + [main.with_name(main.name + end) for end in ("-wal", "-shm", "-journal")]


def check_database_outside_media(db: str | Path, media_dir: Path) -> None:
    """Refuse to serve a media folder that holds the study database.

    Raises:
        MuviError: naming the database file and the media folder.
    """
    root = media_dir.resolve()
    for path in database_files(db):
        resolved = path.resolve()
        if resolved == root or root in resolved.parents:
            raise MuviError(
                f"the study database {path} is inside the media folder {media_dir}: "
                "keep it elsewhere (--db) so that it can never be served"
            )


# --------------------------------------------------------------------------
# Request body limit
# --------------------------------------------------------------------------


def _too_large_message(limit: int) -> str:
    return f"the request body is larger than the server's limit of {limit} bytes"


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413
    before anything reads them. A declared ``Content-Length`` over the limit
    is answered at once; a body sent without one (chunked) is counted as it
    arrives and stopped at the limit."""

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_SECURITY.max_body_bytes) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
        if declared is not None and (declared < 0 or declared > self.limit):
            status, message = (
                (400, "the Content-Length header is not a whole number of bytes")
                if declared < 0
                else (413, _too_large_message(self.limit))
            )
            await JSONResponse({"detail": message}, status_code=status)(scope, receive, send)
            return
        received = 0
        refused = False

        async def counted() -> Message:
            # Over the limit: answer 413 here and tell the application the client
            # left (it stops reading; whatever it answers then is dropped).
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    body = {"detail": _too_large_message(self.limit)}
                    await JSONResponse(body, status_code=413)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, guarded)


def client_address(scope: Scope) -> str:
    """The client's address as the server sees it: the peer's, or behind a
    trusted reverse proxy the forwarded one (:class:`TrustedProxies`
    rewrites the scope)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


# --------------------------------------------------------------------------
# Reverse proxies
# --------------------------------------------------------------------------


class ProxyList:
    """The reverse proxies whose forwarded headers are believed: addresses,
    networks, or (for test clients) plain host names.

    Examples:
        >>> proxies = ProxyList(["127.0.0.1", "10.0.0.0/8"])
        >>> proxies.trusts("127.0.0.1"), proxies.trusts("10.2.3.4"), proxies.trusts("192.0.2.7")
        (True, True, False)
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: set[str] = set()
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                self.names.add(entry.strip())

    def trusts(self, host: str) -> bool:
        """Whether ``host`` (a peer address) is one of the trusted proxies."""
        if host in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client_of(self, peer: str, forwarded_for: str) -> str:
        """The client's address: the right-most address of ``X-Forwarded-For``
        that is not a trusted proxy (each proxy appends the address it saw).

        Examples:
            >>> ProxyList(["127.0.0.1"]).client_of("127.0.0.1", "198.51.100.4, 127.0.0.1")
            '198.51.100.4'
            >>> ProxyList(["127.0.0.1"]).client_of("127.0.0.1", "203.0.113.9, 198.51.100.4")
            '198.51.100.4'
        """
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer


class TrustedProxies:
    """ASGI middleware: for a request whose peer is a trusted proxy, take the
    client's address from ``X-Forwarded-For`` and the scheme (``https``) from
    ``X-Forwarded-Proto``; from any other peer those headers are ignored, so a
    client cannot pose as another address or as HTTPS."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str] = DEFAULT_SECURITY.trusted_proxies):
        self.app = app
        self.proxies = ProxyList(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client and self.proxies.trusts(client[0]):
            headers = {n.decode("latin-1"): v.decode("latin-1") for n, v in scope["headers"]}
            scope = dict(scope)
            proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
            if "x-forwarded-for" in headers:
                scope["client"] = (self.proxies.client_of(client[0], headers["x-forwarded-for"]), 0)
        await self.app(scope, receive, send)


# --------------------------------------------------------------------------
# Text fields
# --------------------------------------------------------------------------

LINE_BREAKS = "\t\n\r"
"""The control characters a multi-line field (a ``<textarea>``) may hold."""


def forbidden_character(text: str, multiline: bool = False) -> str | None:
    r"""The first character a text field may not hold, or ``None``: the C0
    controls (U+0000 to U+001F; tab, line feed and carriage return are allowed
    in a multi-line field), DEL (U+007F), the C1 controls (U+0080 to U+009F)
    and lone surrogates (which no UTF-8 text can carry).

    Examples:
        >>> forbidden_character("Rock"), forbidden_character("a\x00b"), forbidden_character("\x85")
        (None, '\x00', '\x85')
        >>> forbidden_character("line 1\r\nline 2", multiline=True), forbidden_character("a\tb")
        (None, '\t')
    """
    for char in text:
        point = ord(char)
        if point < 0x20 or 0x7F <= point <= 0x9F or 0xD800 <= point <= 0xDFFF:
            if multiline and char in LINE_BREAKS:
                continue
            return char
    return None


def text_field_problem(name: str, value: str, multiline: bool = False) -> str | None:
    r"""Why a text field (form field, query parameter, JSON string) is refused, or ``None``.

    Examples:
        >>> text_field_problem("favorite_genre", "Rock\x00")
        "the field 'favorite_genre' holds the control character U+0000, which is not allowed"
        >>> text_field_problem("items", "a, a.webm\nb, b.webm", multiline=True) is None
        True
    """
    char = forbidden_character(name)
    if char is not None:
        return f"a field name holds the control character U+{ord(char):04X}, which is not allowed"
    char = forbidden_character(value, multiline)
    if char is None:
        return None
    shown = name if len(name) <= 60 else name[:57] + "..."
    where = (
        "a tab"
        if char == "\t"
        else "a line break"
        if char in LINE_BREAKS
        else f"the control character U+{ord(char):04X}"
    )
    return f"the field {shown!r} holds {where}, which is not allowed"


def json_strings(value: Any, name: str = "") -> Iterable[tuple[str, str]]:
    """Every ``(field name, string)`` in a parsed JSON value, keys included,
    walked without recursion (the body may be nested deeply).

    Examples:
        >>> list(json_strings({"a": ["x", {"b": "y"}], "n": 1}))
        [('a', 'a'), ('a', 'x'), ('b', 'b'), ('b', 'y'), ('n', 'n')]
    """
    stack: list[tuple[str, Any]] = [(name, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                stack.append((str(key), inner))
                stack.append((str(key), str(key)))
        elif isinstance(item, list):
            stack.extend((where, inner) for inner in reversed(item))
