"""A corpus of malformed and hostile HTTP requests. Each one must get
a 4xx answer whose message is one clear line naming the problem, no
trace-back (in the answer or the server's log), and must leave every row of
the database exactly as it was."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import unescape

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from studyhelpers import CSRF_FIELD, PROFILE_FORM, Setup, make_setup, pcsrf, signup, trials_of

from muvi.study.app import SESSION_COOKIE
from muvi.study.service import MediaSpec, StudyConfig, create_runner, create_study


@dataclass
class World:
    """What the requests aim at: a participant with a started trial, a
    logged-in runner, and a study of another runner."""

    setup: Setup
    participant: TestClient
    token: str
    pcsrf: str
    trial: int
    runner: TestClient
    runner_csrf: str
    others_study: int

    def samples_url(self, trial: int | str | None = None) -> str:
        return f"/api/p/{self.token}/trials/{self.trial if trial is None else trial}/samples"

    def post_samples(self, body: object, **headers: str) -> httpx.Response:
        content = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.participant.post(
            self.samples_url(),
            content=content,
            headers={"X-CSRF-Token": self.pcsrf, "Content-Type": "application/json", **headers},
        )


def _postgres_database(port: int, name: str) -> str:
    import psycopg

    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    db_url = None
    if request.param == "postgresql":  # PostgreSQL enforces column lengths and 32-bit ids
        db_url = _postgres_database(request.getfixturevalue("postgres_server"), "muvi_corpus")
    setup = make_setup(tmp_path_factory.mktemp("corpus"), db_url)
    (setup.media / ".env").write_text("SECRET=1")
    (setup.media / "notes.txt").write_text("private")
    with setup.sessions() as session:
        other = create_runner(session, "other", "other password")
        theirs = create_study(
            session,
            StudyConfig("theirs", [MediaSpec("x", "a.webm")], items_per_participant=1),
            setup.media,
            other.id,
        )
    participant, token = signup(setup)
    csrf = pcsrf(participant, token)
    trial = trials_of(participant, token)[0]["id"]
    reply = participant.post(f"/api/p/{token}/trials/{trial}/start", headers={"X-CSRF-Token": csrf})
    assert reply.status_code == 200
    runner = TestClient(setup.app, raise_server_exceptions=False)
    login_csrf = CSRF_FIELD.search(runner.get("/runner/login").text).group(1)
    reply = runner.post(
        "/runner/login",
        data={"username": "runner", "password": "correct horse", "csrf_token": login_csrf},
    )
    assert reply.status_code == 200
    runner_csrf = CSRF_FIELD.search(runner.get("/runner/studies/new").text).group(1)
    participant = TestClient(setup.app, raise_server_exceptions=False, cookies=participant.cookies)
    yield World(setup, participant, token, csrf, trial, runner, runner_csrf, theirs.id)


def sample(**changes: object) -> dict[str, list[dict[str, object]]]:
    one: dict[str, object] = {"seq": 0, "timestamp": 0.5, "valence": 0.25, "arousal": -0.25}
    one.update(changes)
    return {"samples": [one]}


def _chunks(size: int) -> Iterator[bytes]:
    yield b'{"samples": ['
    for _ in range(size // 65536 + 1):
        yield b" " * 65536
    yield b"]}"


def new_signup(
    world: World, data: dict[str, str] | None = None, files: object = None
) -> httpx.Response:
    """A new visitor fills the sign-up form with some fields changed."""
    visitor = TestClient(world.setup.app, raise_server_exceptions=False)
    csrf = CSRF_FIELD.search(visitor.get(f"/s/{world.setup.invite}").text).group(1)
    form = {**PROFILE_FORM, "csrf_token": csrf, **(data or {})}
    if files:
        form.pop("favorite_genre")
    return visitor.post(f"/s/{world.setup.invite}", data=form, files=files)  # type: ignore[arg-type]


STUDY_FORM = {"name": "n" * 201, "modality_music": "on", "items_per_participant": "1",
              "excerpt_seconds": "30", "items": "x1, a.webm"}  # fmt: skip

Request = Callable[[World], httpx.Response]
CASES: list[tuple[str, Request, int, str]] = [
    # --- sample batches: types, ranges, shape
    ("valence as a string", lambda w: w.post_samples(sample(valence="0.5")), 422, "valence: Input should be a valid number"),
    ("valence as a boolean", lambda w: w.post_samples(sample(valence=True)), 422, "valence: Input should be a valid number"),
    ("arousal as null", lambda w: w.post_samples(sample(arousal=None)), 422, "arousal: Input should be a valid number"),
    ("seq as a string", lambda w: w.post_samples(sample(seq="1")), 422, "seq: Input should be a valid integer"),
    ("seq as a float", lambda w: w.post_samples(sample(seq=1.0)), 422, "seq: Input should be a valid integer"),
    ("valence NaN", lambda w: w.post_samples('{"samples": [{"seq": 0, "timestamp": 0.5, "valence": NaN, "arousal": 0}]}'), 422, "finite number"),
    ("valence out of range", lambda w: w.post_samples(sample(valence=1.5)), 422, "less than or equal to 1"),
    ("timestamp past the excerpt", lambda w: w.post_samples(sample(timestamp=4.6)), 400, "outside the excerpt"),
    ("negative timestamp", lambda w: w.post_samples(sample(timestamp=-0.1)), 422, "timestamp"),
    ("unknown field", lambda w: w.post_samples(sample(pressure=1)), 422, "Extra inputs are not permitted"),
    ("samples null", lambda w: w.post_samples({"samples": None}), 422, "samples: Input should be a valid list"),
    ("top-level array", lambda w: w.post_samples([sample()]), 422, "Input should be a valid dictionary"),
    ("121 samples", lambda w: w.post_samples({"samples": [sample(seq=i)["samples"][0] for i in range(121)]}), 422, "at most 120"),
    ("same seq twice", lambda w: w.post_samples({"samples": sample()["samples"] * 2}), 400, "same seq twice"),
    ("not JSON", lambda w: w.post_samples("valence=0.5"), 422, "JSON decode error"),
    ("invalid UTF-8", lambda w: w.post_samples(b'{"samples": [\xff\xfe]}'), 400, "the request body is not valid UTF-8"),
    ("deeply nested JSON", lambda w: w.post_samples("[" * 50_000 + "]" * 50_000), 400, "the request body's JSON is nested too deeply"),
    ("a number with 5000 digits", lambda w: w.post_samples('{"samples": [{"seq": ' + "9" * 5000 + ', "timestamp": 0.5, "valence": 0, "arousal": 0}]}'), 400, "a number in the request body has too many digits"),
    ("valence 1e400 (infinite)", lambda w: w.post_samples('{"samples": [{"seq": 0, "timestamp": 0.5, "valence": 1e400, "arousal": 0}]}'), 422, "valence: Input should be a finite number"),
    # --- sizes
    ("2 MiB body with Content-Length", lambda w: w.post_samples(b" " * (2 * 1024 * 1024)), 413, "limit of 1048576 bytes"),
    ("2 MiB chunked body", lambda w: w.participant.post(w.samples_url(), content=_chunks(2 * 1024 * 1024), headers={"X-CSRF-Token": w.pcsrf, "Content-Type": "application/json"}), 413, "limit of 1048576 bytes"),
    ("Content-Length not a number", lambda w: w.post_samples(sample(), **{"Content-Length": "lots"}), 400, "Content-Length header is not a whole number"),
    # --- ids and links
    ("huge trial id", lambda w: w.participant.post(w.samples_url("9" * 40), json=sample(), headers={"X-CSRF-Token": w.pcsrf}), 422, "trial_id: Input should be less than or equal to 2147483647"),
    ("trial id 0", lambda w: w.participant.post(f"/api/p/{w.token}/trials/0/start", headers={"X-CSRF-Token": w.pcsrf}), 422, "trial_id: Input should be greater than or equal to 1"),
    ("trial id not a number", lambda w: w.participant.post(w.samples_url("1e3"), json=sample(), headers={"X-CSRF-Token": w.pcsrf}), 422, "trial_id: Input should be a valid integer"),
    ("another participant's trial", lambda w: w.participant.post(w.samples_url(w.trial + 3), json=sample(), headers={"X-CSRF-Token": w.pcsrf}), 403, "not one of this participant's trials"),
    ("unknown participant token", lambda w: w.participant.post(f"/api/p/{'x' * 65}/trials/1/start"), 404, "unknown participant link"),
    ("unknown invite link", lambda w: w.participant.get("/s/not-an-invite"), 404, "unknown study link"),
    ("samples without the CSRF header", lambda w: w.participant.post(w.samples_url(), json=sample()), 403, "CSRF token is missing or wrong"),
    ("unknown GEMS term", lambda w: w.participant.post(f"/p/{w.token}/trials/{w.trial}/answers", data={"csrf_token": w.pcsrf, "seen_previously": "no", "labels": "=cmd|calc"}), 400, "unknown GEMS term(s): =cmd|calc"),
    ("genre that is a formula", lambda w: new_signup(w, data={"favorite_genre": "=1+1"}), 400, "favorite genre must be 1-80 letters"),
    ("file upload as a genre", lambda w: new_signup(w, files={"favorite_genre": ("x.exe", b"MZ", "application/octet-stream")}), 400, "favorite genre must be 1-80 letters"),
    ("age far too large", lambda w: new_signup(w, data={"age": "9" * 50}), 400, "age must be between 10 and 120"),
    # --- runner side
    ("huge study id", lambda w: w.runner.get(f"/runner/studies/{'9' * 30}"), 422, "study_id: Input should be less than or equal to 2147483647"),
    ("another runner's study", lambda w: w.runner.get(f"/runner/studies/{w.others_study}"), 404, "no study"),
    ("another runner's export", lambda w: w.runner.get(f"/runner/studies/{w.others_study}/export.zip"), 404, "no study"),
    ("export of a missing study", lambda w: w.runner.get("/runner/studies/4242/export.zip"), 404, "no study 4242"),
    ("forged session cookie", lambda w: TestClient(w.setup.app, cookies={SESSION_COOKIE: "A" * 43}).get("/runner/studies/1"), 401, "log in as a study runner first"),
    ("study name over 200 characters", lambda w: w.runner.post("/runner/studies", data={**STUDY_FORM, "csrf_token": w.runner_csrf}), 400, "the study name has 201 characters; at most 200 are allowed"),
    ("study item outside the media folder", lambda w: w.runner.post("/runner/studies", data={**STUDY_FORM, "name": "x", "items": "x1, ../study.db", "csrf_token": w.runner_csrf}), 400, "media file '../study.db' not found"),
    ("login name over 80 characters", lambda w: w.runner.post("/runner/login", data={"username": "u" * 81, "password": "x", "csrf_token": w.runner_csrf}), 422, "username: String should have at most 80 characters"),
    ("login without a CSRF token", lambda w: TestClient(w.setup.app).post("/runner/login", data={"username": "runner", "password": "correct horse"}), 403, "CSRF token is missing or wrong"),
    ("logout without a CSRF token", lambda w: w.runner.post("/runner/logout"), 403, "CSRF token is missing or wrong"),
    # --- media
    ("the database as media", lambda w: w.participant.get("/media/../study.db"), 404, "Not Found"),
    ("a hidden file as media", lambda w: w.participant.get("/media/.env"), 404, "no such media file"),
    ("a text file as media", lambda w: w.participant.get("/media/notes.txt"), 404, "no such media file"),
]  # fmt: skip


def _snapshot(setup: Setup) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table."""
    engine = setup.app.state.server.engine  # type: ignore[attr-defined]
    tables = inspect(engine).get_table_names()
    with engine.connect() as conn:
        return {
            table: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{table}"'))), key=repr)
            for table in tables
        }


def _message(reply: httpx.Response) -> str:
    if reply.headers.get("content-type", "").startswith("application/json"):
        detail = reply.json()["detail"]
        assert isinstance(detail, str), detail
        return detail
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', reply.text, re.S)
    assert found, reply.text[:500]
    return unescape(found.group(1))


@pytest.mark.parametrize(
    ("request_", "status", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_request_is_refused_cleanly(
    world: World, request_: Request, status: int, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = _snapshot(world.setup)
    with caplog.at_level(logging.DEBUG):
        reply = request_(world)
    assert reply.status_code == status, reply.text[:500]
    message = _message(reply)
    assert words in message, message
    assert "\n" not in message and len(message) < 300
    assert "Traceback" not in reply.text and 'File "' not in reply.text
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert _snapshot(world.setup) == before


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20 and len({c[0] for c in CASES}) == len(CASES)


def test_a_good_request_still_changes_the_database(world: World) -> None:
    """The control: the same endpoint with a valid batch does store a row (so the
    unchanged snapshots above mean something)."""
    before = _snapshot(world.setup)
    reply = world.post_samples(sample(seq=7))
    assert reply.status_code == 200 and reply.json() == {"acked": [7]}
    after = _snapshot(world.setup)
    assert len(after["samples"]) == len(before["samples"]) + 1
    with world.setup.sessions() as session:
        from muvi.study.models import Sample

        assert session.scalar(select(Sample.valence).where(Sample.seq == 7)) == 0.25
