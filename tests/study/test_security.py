"""Attacks on the study server, each written as the attacker would try it: the
database asked for as media, unlimited login attempts, a cookie used after its
logout, one runner reading another runner's studies, huge ids and a long study
name (which must not end in a 500), and loose values that must be refused."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from studyhelpers import (
    CSRF_FIELD,
    PROFILE_FORM,
    Setup,
    _play,
    _started_trial,
    pcsrf,
    run_cli,
    trials_of,
)

from muvi.study.app import SESSION_COOKIE
from muvi.study.db import open_database
from muvi.study.localserver import StudyServerProcess
from muvi.study.models import Participant, Runner, RunnerSession, Sample, Study, utcnow
from muvi.study.service import (
    MediaSpec,
    StudyConfig,
    authenticate_runner,
    create_runner,
    create_study,
    set_runner_password,
)


def login_as(setup: Setup, name: str, password: str) -> TestClient:
    client = TestClient(setup.app)
    csrf = CSRF_FIELD.search(client.get("/runner/login").text).group(1)
    reply = client.post(
        "/runner/login", data={"username": name, "password": password, "csrf_token": csrf}
    )
    assert reply.status_code == 200 and reply.url.path == "/runner", reply.text
    return client


def try_login(client: TestClient, name: str, password: str, **headers: str) -> httpx.Response:
    csrf = CSRF_FIELD.search(client.get("/runner/login").text).group(1)
    return client.post(
        "/runner/login",
        data={"username": name, "password": password, "csrf_token": csrf},
        headers=headers,
        follow_redirects=False,
    )


# ---------------------------------------------------------------- item 1: media


def test_database_inside_the_media_folder_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`muvi study serve --media .` with the default --db (in the current folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.webm").write_bytes(b"media")
    assert run_cli(["study", "serve", "--media", "."]) == 2
    err = capsys.readouterr().err
    assert "muvi_study.db is inside the media folder" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "muvi_study.db").exists()  # refused before the database was made
    nested = tmp_path / "media"
    (nested / "db").mkdir(parents=True)
    assert run_cli(["study", "serve", "--media", "media", "--db", "media/db/s.db"]) == 2
    assert "inside the media folder" in capsys.readouterr().err


def test_media_mount_serves_only_media_files(setup: Setup) -> None:
    media = setup.media
    (media / "sub").mkdir()
    (media / "sub" / "song.mp3").write_bytes(b"ID3 not really an mp3")
    (media / ".hidden").mkdir()
    (media / ".hidden" / "a.webm").write_bytes(b"hidden")
    (media / ".env").write_text("SECRET=1")
    (media / "notes.txt").write_text("private notes")
    (media / "run.py").write_text("print('x')")
    shutil.copy(setup.db, media / "backup.db")  # a copy of the database left in the folder
    shutil.copy(setup.db, media / "disguised.webm")  # ... and one renamed to look like media
    (media / "study.db-wal").write_bytes(b"wal frames")
    outside = setup.db.parent / "outside.webm"
    outside.write_bytes(b"outside the media folder")
    os.symlink(outside, media / "link.webm")
    client = setup.client
    served = client.get("/media/a.webm")
    assert served.status_code == 200 and served.headers["content-type"] == "video/webm"
    assert served.content == (media / "a.webm").read_bytes()
    part = client.get("/media/a.webm", headers={"Range": "bytes=0-4"})  # seeking still works
    assert part.status_code == 206 and part.content == b"media"
    assert client.get("/media/sub/song.mp3").status_code == 200
    for path in (
        "/media/backup.db",
        "/media/disguised.webm",
        "/media/study.db-wal",
        "/media/.env",
        "/media/.hidden/a.webm",
        "/media/notes.txt",
        "/media/run.py",
        "/media/link.webm",
        "/media/../study.db",
        "/media/%2e%2e/study.db",
        "/media/sub",
        "/media/",
    ):
        reply = client.get(path)
        assert reply.status_code == 404, (path, reply.status_code)
        assert b"SQLite" not in reply.content and b"SECRET" not in reply.content


# ------------------------------------------------------------- item 3: sessions


def test_a_cookie_captured_before_logout_stops_working(setup: Setup) -> None:
    runner = login_as(setup, "runner", "correct horse")
    cookie = runner.cookies[SESSION_COOKIE]
    # the cookie holds only a random id; the database keeps its hash, not the id
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie)
    with setup.sessions() as session:
        stored = session.scalars(select(RunnerSession.id_hash)).all()
    assert stored == [hashlib.sha256(cookie.encode()).hexdigest()]
    attacker = TestClient(setup.app, cookies={SESSION_COOKIE: cookie})
    assert attacker.get("/runner").status_code == 200  # the stolen cookie works while logged in
    csrf = CSRF_FIELD.search(runner.get("/runner").text).group(1)
    assert runner.post("/runner/logout", data={"csrf_token": csrf}).status_code == 200
    for path in ("/runner", "/runner/studies/1", "/runner/studies/1/export.zip"):
        assert attacker.get(path).status_code == 401, path
        assert runner.get(path).status_code == 401, path
    forged = TestClient(setup.app, cookies={SESSION_COOKIE: "x" * 43})
    assert forged.get("/runner").status_code == 401


def test_password_change_ends_every_session(setup: Setup) -> None:
    first = login_as(setup, "runner", "correct horse")
    second = login_as(setup, "runner", "correct horse")
    with setup.sessions() as session:
        assert set_runner_password(session, "runner", "battery staple") == 2
    assert first.get("/runner").status_code == 401
    assert second.get("/runner").status_code == 401
    login_as(setup, "runner", "battery staple")
    assert try_login(TestClient(setup.app), "runner", "correct horse").status_code == 401


def test_password_change_on_the_runner_page_ends_every_session(setup: Setup) -> None:
    here = login_as(setup, "runner", "correct horse")
    elsewhere = login_as(setup, "runner", "correct horse")
    csrf = CSRF_FIELD.search(here.get("/runner/password").text).group(1)
    form = {"csrf_token": csrf, "current": "correct horse", "new": "battery staple", "confirm": "battery staple"}  # fmt: skip
    differ = here.post("/runner/password", data={**form, "confirm": "battery stapler"})
    assert differ.status_code == 400 and "the two new passwords differ" in differ.text
    wrong = here.post("/runner/password", data={**form, "current": "guess"})
    assert wrong.status_code == 401 and "the current password is wrong" in wrong.text
    short = here.post("/runner/password", data={**form, "new": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least 8 characters" in short.text
    assert elsewhere.get("/runner").status_code == 200  # nothing changed so far
    changed = here.post("/runner/password", data=form)
    assert changed.status_code == 200 and changed.url.path == "/runner/login"
    assert here.get("/runner").status_code == 401
    assert elsewhere.get("/runner").status_code == 401
    assert try_login(TestClient(setup.app), "runner", "correct horse").status_code == 401
    login_as(setup, "runner", "battery staple")


def test_password_change_through_the_command_line(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    browser = login_as(setup, "runner", "correct horse")
    args = ["study", "set-password", "runner", "--db", str(setup.db)]
    assert run_cli([*args, "--password", "new password!"]) == 0
    assert "1 open session(s) ended" in capsys.readouterr().err
    assert browser.get("/runner").status_code == 401
    assert run_cli(["study", "set-password", "nobody", "--db", str(setup.db), "--password", "long enough"]) == 2  # fmt: skip
    assert "no runner named 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize(("idle_h", "age_h"), [(3.0, 3.0), (0.0, 13.0)])
def test_sessions_expire_when_idle_and_at_a_fixed_age(
    setup: Setup, idle_h: float, age_h: float
) -> None:
    """Idle for 3 h (limit 2 h), or used a minute ago but logged in 13 h ago (limit 12 h)."""
    runner = login_as(setup, "runner", "correct horse")
    assert runner.get("/runner").status_code == 200
    now = utcnow()
    with setup.sessions() as session:
        session.execute(
            update(RunnerSession).values(
                created_at=now - timedelta(hours=age_h),
                last_seen_at=now - timedelta(hours=idle_h, minutes=1 if idle_h == 0 else 0),
            )
        )
        session.commit()
    assert runner.get("/runner").status_code == 401


def test_sessions_past_their_lifetime_are_deleted_at_the_next_login(setup: Setup) -> None:
    login_as(setup, "runner", "correct horse")
    with setup.sessions() as session:
        session.execute(update(RunnerSession).values(created_at=utcnow() - timedelta(hours=13)))
        session.commit()
    login_as(setup, "runner", "correct horse")
    login_as(setup, "runner", "correct horse")
    with setup.sessions() as session:
        ages = session.scalars(select(RunnerSession.created_at)).all()
    assert len(ages) == 2  # the two new ones; the 13 h old one is gone


def test_a_used_session_stays_alive(setup: Setup) -> None:
    runner = login_as(setup, "runner", "correct horse")
    now = utcnow()
    with setup.sessions() as session:  # last used 90 minutes ago: still inside the idle limit
        session.execute(update(RunnerSession).values(last_seen_at=now - timedelta(minutes=90)))
        session.commit()
    assert runner.get("/runner").status_code == 200
    with setup.sessions() as session:  # ... and the request moved its idle deadline
        seen = session.scalar(select(RunnerSession.last_seen_at))
    assert seen is not None and abs((seen.replace(tzinfo=now.tzinfo) - now).total_seconds()) < 60


# -------------------------------------------------------------- item 2: logins


def test_failed_logins_lock_the_account_with_retry_after(setup: Setup) -> None:
    clock = [1000.0]
    setup.app.state.throttle.clock = lambda: clock[0]  # type: ignore[attr-defined]
    attacker = TestClient(setup.app)
    for _ in range(5):
        assert try_login(attacker, "runner", "guess").status_code == 401
    locked = try_login(attacker, "runner", "guess")
    assert locked.status_code == 429 and locked.headers["retry-after"] == "2"
    assert "too many failed logins" in locked.text
    # the lock holds for the right password too, from another address
    owner = TestClient(setup.app, client=("10.0.0.9", 5000))
    assert try_login(owner, "runner", "correct horse").status_code == 429
    clock[0] += 2.0
    assert try_login(attacker, "runner", "guess").status_code == 401  # one more try ...
    again = try_login(attacker, "runner", "guess")
    assert again.status_code == 429 and again.headers["retry-after"] == "4"  # ... doubles the lock
    clock[0] += 4.0
    assert try_login(owner, "runner", "correct horse").status_code == 303
    assert try_login(attacker, "runner", "guess").status_code == 401  # success cleared the account


def test_failed_logins_lock_the_client_address(setup: Setup) -> None:
    clock = [0.0]
    setup.app.state.throttle.clock = lambda: clock[0]  # type: ignore[attr-defined]
    sprayer = TestClient(setup.app, client=("203.0.113.7", 4000))
    for i in range(20):  # one guess for each of 20 names: no account is locked
        assert try_login(sprayer, f"name{i}", "guess").status_code == 401
    refused = try_login(sprayer, "runner", "correct horse")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    other = TestClient(setup.app, client=("198.51.100.1", 4000))
    assert try_login(other, "runner", "correct horse").status_code == 303


def test_unknown_names_cost_the_same_argon2_work(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from muvi.study import service

    verified: list[str] = []
    real = service._hasher

    class CountingHasher:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, hash_: str, password: str) -> bool:
            verified.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(service, "_hasher", CountingHasher())
    with setup.sessions() as session:
        assert authenticate_runner(session, "runner", "wrong") is None
        assert authenticate_runner(session, "nobody-here", "wrong") is None
        real_hash = session.scalar(select(Runner.password_hash))
    assert len(verified) == 2 and verified[0] == real_hash
    parameters = re.compile(r"^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$")
    # the dummy hash has the same argon2 parameters (memory, time, lanes) as a real one
    assert parameters.match(verified[1]).group(0) == parameters.match(real_hash).group(0)


def test_password_checks_wait_for_a_slot_and_overflow_gets_429(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slot, one waiting place: of three logins at the same moment, one is
    checked, one waits its turn, one is told at once to retry (429, Retry-After 1).
    The check is slowed to 0.5 s so that the three overlap."""
    import asyncio

    from muvi.study import service
    from muvi.study.app import create_app
    from muvi.study.security import SecurityConfig

    media = tmp_path / "media"
    media.mkdir()
    app = create_app(tmp_path / "s.db", media, SecurityConfig(password_slots=1, password_queue=1))
    running, most = [0], [0]
    real = service.authenticate_runner

    def slow(session, username, password):  # type: ignore[no-untyped-def]
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.5)
        running[0] -= 1
        return real(session, username, password)

    monkeypatch.setattr(service, "authenticate_runner", slow)

    async def attempt(i: int) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(f"192.0.2.{i}", 1000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            page = await http.get("/runner/login")
            csrf = CSRF_FIELD.search(page.text).group(1)
            await asyncio.sleep(0.05 * i)  # arrive in order, all within the first check
            return await http.post(
                "/runner/login", data={"username": f"u{i}", "password": "p", "csrf_token": csrf}
            )

    async def flood() -> list[httpx.Response]:
        return list(await asyncio.gather(*(attempt(i) for i in range(3))))

    replies = asyncio.run(flood())
    assert [r.status_code for r in replies] == [401, 401, 429]
    assert replies[2].headers["retry-after"] == "1" and "too many logins at once" in replies[2].text
    assert most[0] == 1  # never two password checks at the same time


def _peak_rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_forty_concurrent_bad_logins_do_not_balloon_memory(tmp_path: Path) -> None:
    """40 bad logins at once, from 40 addresses for 40 names (so that the
    throttle does not stop them): the server's peak memory grows by at most a
    few argon2 checks (64 MiB each), not 40, and other pages still answer."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    media = tmp_path / "media"
    media.mkdir()
    db = tmp_path / "study.db"
    _engine, sessions = open_database(db)
    with sessions() as session:
        create_runner(session, "runner", "correct horse")
    with StudyServerProcess(db, media, log=tmp_path / "server.log") as server:
        assert server.process is not None
        pid = server.process.pid

        def attempt(i: int, results: list[int]) -> None:
            # a trusted proxy (127.0.0.1) forwards for 40 different addresses
            with httpx.Client(base_url=server.url, timeout=120) as http:
                page = http.get("/runner/login")
                csrf = CSRF_FIELD.search(page.text).group(1)
                reply = http.post(
                    "/runner/login",
                    data={"username": f"ghost{i}", "password": "guess", "csrf_token": csrf},
                    headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
                )
                results.append(reply.status_code)

        warm: list[int] = []
        attempt(99, warm)  # one check first: the baseline includes one argon2 buffer
        assert warm == [401]
        rss_before, peak_before = _peak_rss_mib(pid)
        results: list[int] = []
        threads = [threading.Thread(target=attempt, args=(i, results)) for i in range(40)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        started = time.perf_counter()
        assert httpx.get(server.url + "/runner/login", timeout=30).status_code == 200
        other_page_s = time.perf_counter() - started
        for thread in threads:
            thread.join()
        rss_after, peak_after = _peak_rss_mib(pid)
    print(
        f"\nserver RSS {rss_before:.0f} MiB before, peak {peak_after:.0f} MiB during 40 concurrent "
        f"bad logins (peak before {peak_before:.0f} MiB); login page answered in {other_page_s:.2f} s; "
        f"answers: {sorted(set(results))}"
    )
    assert len(results) == 40 and set(results) <= {401, 429} and results.count(401) >= 2
    # at most 2 checks run at once: one more 64 MiB buffer than the warm-up, plus slack
    assert peak_after - peak_before < 160, (peak_before, peak_after)
    assert other_page_s < 5.0


# ----------------------------------------------------------------- item 4: roles


def test_runners_see_only_their_own_studies_and_admins_see_all(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    with setup.sessions() as session:
        other = create_runner(session, "other", "other password")
        theirs = create_study(
            session, StudyConfig("other's secret study", [MediaSpec("x", "a.webm")], items_per_participant=1), setup.media, other.id
        )  # fmt: skip
    assert run_cli(["study", "create-runner", "boss", "--admin", "--db", str(setup.db), "--password", "admin password"]) == 0  # fmt: skip
    assert "admin 'boss' created" in capsys.readouterr().err
    with setup.sessions() as session:
        assert session.scalar(select(Runner.is_admin).where(Runner.username == "boss")) is True
        assert session.scalar(select(Runner.is_admin).where(Runner.username == "other")) is False
    runner = login_as(setup, "runner", "correct horse")
    home = runner.get("/runner").text
    assert "api test" in home and "other&#39;s secret study" not in home and "secret" not in home
    hidden = runner.get(f"/runner/studies/{theirs.id}")
    missing = runner.get("/runner/studies/999")
    assert hidden.status_code == missing.status_code == 404  # not 403: existence is not revealed
    assert hidden.json()["detail"] == f"no study {theirs.id}"
    assert runner.get(f"/runner/studies/{theirs.id}/export.zip").status_code == 404
    owner = login_as(setup, "other", "other password")
    assert owner.get(f"/runner/studies/{theirs.id}").status_code == 200
    assert owner.get("/runner/studies/1").status_code == 404
    boss = login_as(setup, "boss", "admin password")
    everything = boss.get("/runner").text
    assert "api test" in everything and "other&#39;s secret study" in everything
    assert boss.get(f"/runner/studies/{theirs.id}/export.zip").content[:2] == b"PK"
    assert boss.get("/runner/studies/1").status_code == 200


# ------------------------------------------------------ item 10: no server errors


def test_huge_ids_are_refused_not_500(setup: Setup) -> None:
    client, token, csrf, _trial = _started_trial(setup)
    huge = "9" * 30
    sample = {"samples": [{"seq": 0, "timestamp": 0.5, "valence": 0, "arousal": 0}]}
    safe = TestClient(setup.app, raise_server_exceptions=False, cookies=client.cookies)
    replies = [
        safe.post(f"/api/p/{token}/trials/{huge}/start", headers={"X-CSRF-Token": csrf}),
        safe.post(f"/api/p/{token}/trials/{huge}/samples", json=sample, headers={"X-CSRF-Token": csrf}),
        safe.post(f"/p/{token}/trials/{huge}/answers", data={"csrf_token": csrf, "seen_previously": "no", "labels": "calm"}),
        safe.post(f"/api/p/{token}/trials/2147483648/start", headers={"X-CSRF-Token": csrf}),
    ]  # fmt: skip
    runner = login_as(setup, "runner", "correct horse")
    replies += [
        runner.get(f"/runner/studies/{huge}"),
        runner.get(f"/runner/studies/{huge}/export.zip"),
    ]
    for reply in replies:
        assert reply.status_code == 422, reply.text
        assert "less than or equal to 2147483647" in reply.json()["detail"]


def test_export_of_a_missing_study_is_404_and_one_cli_line(
    setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = login_as(setup, "runner", "correct horse")
    reply = runner.get("/runner/studies/77/export.zip")
    assert reply.status_code == 404 and reply.json() == {"detail": "no study 77"}
    for study in ("77", "99999999999999999999"):
        args = ["study", "export", "--db", str(setup.db), "--out", str(tmp_path / "x"), "--study", study]  # fmt: skip
        assert run_cli(args) == 2
        err = capsys.readouterr().err
        assert (
            f"there is no study {study} in the database" in err
            and len(err.strip().splitlines()) == 1
        )


def test_export_prints_a_study_name_that_looks_like_markup(
    setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A study named ``[/] x`` made ``muvi study export`` crash in Rich's markup parser."""
    with setup.sessions() as session:
        session.execute(update(Study).values(name="[/] x [red]"))
        session.commit()
    out = tmp_path / "out"
    assert run_cli(["study", "export", "--db", str(setup.db), "--out", str(out)]) == 0
    assert "exported study '[/] x [red]'" in capsys.readouterr().err


def _long_name_refused(db: str, media: Path) -> str:
    _engine, sessions = open_database(db)
    with sessions() as session:
        from muvi.study.service import StudyError

        with pytest.raises(StudyError) as refused:
            create_study(
                session,
                StudyConfig("n" * 201, [MediaSpec("x", "a.webm")], items_per_participant=1),
                media,
            )
        session.rollback()
        ok = create_study(
            session,
            StudyConfig("n" * 200, [MediaSpec("x", "a.webm")], items_per_participant=1),
            media,
        )
        assert len(ok.name) == 200
        assert session.scalar(select(func.count()).select_from(Study)) == 1
    return str(refused.value)


def test_a_study_name_over_the_column_length_is_refused_by_the_form(setup: Setup) -> None:
    runner = login_as(setup, "runner", "correct horse")
    csrf = CSRF_FIELD.search(runner.get("/runner/studies/new").text).group(1)
    form = {"csrf_token": csrf, "name": "n" * 201, "modality_music": "on", "items_per_participant": "1",
            "excerpt_seconds": "30", "items": "x1, a.webm"}  # fmt: skip
    reply = TestClient(setup.app, raise_server_exceptions=False, cookies=runner.cookies).post(
        "/runner/studies", data=form
    )
    assert reply.status_code == 400
    assert "the study name has 201 characters; at most 200 are allowed" in reply.text
    with setup.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Study)) == 1  # only the fixture's
    assert "at most 200" in _long_name_refused(str(setup.db.parent / "other.db"), setup.media)


@pytest.mark.postgres
def test_a_study_name_over_the_column_length_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL enforces VARCHAR(200) (SQLite does not): before the check this was a 500."""
    (tmp_path / "a.webm").write_bytes(b"media")
    assert "at most 200" in _long_name_refused(postgres_url, tmp_path)


# ------------------------------------------------------ item 11: loose validation


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("valence", "0.5", "valid number"),
        ("valence", True, "valid number"),
        ("arousal", "-0.2", "valid number"),
        ("timestamp", "1.0", "valid number"),
        ("seq", "1", "valid integer"),
        ("seq", 1.0, "valid integer"),
    ],
)
def test_sample_values_must_be_json_numbers(
    setup: Setup, field: str, value: object, words: str
) -> None:
    client, token, csrf, trial = _started_trial(setup)
    sample = {"seq": 0, "timestamp": 0.5, "valence": 0.25, "arousal": 0, field: value}
    reply = client.post(
        f"/api/p/{token}/trials/{trial}/samples",
        json={"samples": [sample]},
        headers={"X-CSRF-Token": csrf},
    )
    assert reply.status_code == 422 and words in reply.json()["detail"], reply.text
    assert field in reply.json()["detail"]
    with setup.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == 0


def test_timestamps_may_pass_the_excerpt_end_by_half_a_second_only(setup: Setup) -> None:
    client, token, csrf, trial = _started_trial(setup)  # the fixture's excerpts last 4 s
    url, headers = f"/api/p/{token}/trials/{trial}/samples", {"X-CSRF-Token": csrf}

    def send(seq: int, timestamp: float) -> httpx.Response:
        body = {"samples": [{"seq": seq, "timestamp": timestamp, "valence": 0, "arousal": 0}]}
        return client.post(url, json=body, headers=headers)

    assert send(0, 4.5).status_code == 200
    for seq, late in enumerate((4.51, 5.0, 9.0), start=1):
        reply = send(seq, late)
        assert reply.status_code == 400 and "outside the excerpt" in reply.json()["detail"]
    with setup.sessions() as session:
        assert session.scalars(select(Sample.timestamp)).all() == [4.5]


def test_oversized_bodies_are_refused_before_parsing(setup: Setup) -> None:
    client, token, csrf, trial = _started_trial(setup)
    url, headers = f"/api/p/{token}/trials/{trial}/samples", {"X-CSRF-Token": csrf}
    big = b'{"samples": [' + b" " * (2 * 1024 * 1024) + b"]}"
    declared = client.post(
        url, content=big, headers={**headers, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and "limit of 1048576 bytes" in declared.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"samples": ['
        for _ in range(40):
            yield b" " * 65536
        yield b"]}"

    streamed = client.post(
        url, content=chunks(), headers={**headers, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413 and "limit of 1048576 bytes" in streamed.json()["detail"]
    form = client.post(
        f"/s/{setup.invite}", data={**PROFILE_FORM, "favorite_genre": "x" * 2_000_000}
    )
    assert form.status_code == 413
    with setup.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == 0
        assert session.scalar(select(func.count()).select_from(Participant)) == 1


def test_export_escapes_cells_a_spreadsheet_would_evaluate(setup: Setup, tmp_path: Path) -> None:
    from muvi.data.loaders import load_dataset
    from muvi.study.csvsafe import write_csv

    client = TestClient(setup.app)
    csrf = CSRF_FIELD.search(client.get(f"/s/{setup.invite}").text).group(1)
    reply = client.post(
        f"/s/{setup.invite}", data={**PROFILE_FORM, "favorite_genre": "-2-3", "csrf_token": csrf}
    )
    token = re.search(r"/p/([^/]+)/instructions", str(reply.url)).group(1)
    csrf = pcsrf(client, token)
    client.post(f"/p/{token}/instructions", data={"csrf_token": csrf, "understood": "yes"})
    rated = next(t["id"] for t in trials_of(client, token) if not t["practice"])
    _play(client, token, csrf, rated, [-0.5, -0.25, 0.0], [0.0, 1.0, 2.0])
    out = tmp_path / "export"
    assert run_cli(["study", "export", "--db", str(setup.db), "--out", str(out)]) == 0
    with open(out / "participant_data.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["favorite_genre"] for r in rows] == ["'-2-3"]
    with open(out / "raw_av_logs.csv", newline="") as fh:
        valence = [r["valence"] for r in csv.DictReader(fh)]
    assert valence == ["-0.5", "-0.25", "0.0"]  # numbers stay numbers
    assert load_dataset(out).participants["favorite_genre"].tolist() == ["'-2-3"]
    import pandas as pd

    write_csv(
        pd.DataFrame({"a": ["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "\tx", "\rx", "ok", "-"], "n": range(7)}),
        tmp_path / "t.csv",
    )  # fmt: skip
    with open(tmp_path / "t.csv", newline="") as fh:
        cells = [r["a"] for r in csv.DictReader(fh)]
    assert cells == ['\'=HYPERLINK("http://x")', "'+1", "'@SUM(A1)", "'\tx", "' x", "ok", "'-"]
