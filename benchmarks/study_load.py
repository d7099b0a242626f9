"""Load test of the study server: simulated participants post cursor samples
at 2 Hz while the server is killed with SIGKILL and restarted; nothing that
the server acknowledged may be lost.

Everything runs on 127.0.0.1: the server is ``muvi study serve`` in a child
process, the participants are asyncio clients in this process. Each client
logs one sample every 0.5 s and sends what is not yet acknowledged once a
second (the browser's behaviour), resending after a failure.

Usage (the full run: 50 participants, 3 minutes, a kill -9 half-way)::

    python benchmarks/study_load.py
    python benchmarks/study_load.py --postgres          # a throwaway PostgreSQL server
    python benchmarks/study_load.py --participants 50 --duration 300 --db postgresql://...

``--postgres`` starts a PostgreSQL server of its own (``initdb`` and
``pg_ctl`` of Debian's ``postgresql`` package) in the scratch folder and
deletes it afterwards. The test suite runs the same code for about 30 s
(tests/study/test_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import select

from muvi.study.db import open_database
from muvi.study.deps import participant_csrf_token
from muvi.study.localserver import StudyServerProcess, free_port
from muvi.study.models import Sample
from muvi.study.service import (
    MediaSpec,
    Profile,
    StudyConfig,
    create_study,
    enrol_participant,
    next_trial,
    server_secret,
)

PERIOD_S = 0.5
SEND_EVERY = 2
EXCERPT_S = 600.0
"""The excerpt length of the simulated trial (the longest a study allows): a
client on a busy machine may fall behind its timer, and its timestamps (media
time) must stay inside the excerpt."""


@dataclass
class LoadReport:
    """Figures of one load run (sample counts are over all participants)."""

    participants: int
    duration_s: float
    database: str
    samples_logged: int
    samples_acked: int
    samples_stored: int
    acked_but_lost: int
    logged_never_stored: int
    requests_ok: int
    requests_failed: int
    kills: int
    downtime_s: float
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_p99: float
    latency_ms_max: float
    failures: str
    """What the failed requests were: HTTP statuses and connection errors, with counts."""

    def lines(self) -> list[str]:
        return [f"{key:>22}: {value}" for key, value in asdict(self).items()]


@dataclass
class _Client:
    token: str
    trial: int
    csrf: str
    logged: list[dict[str, float]] = field(default_factory=list)
    pending: list[dict[str, float]] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)


@dataclass
class _Totals:
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    why: Counter[str] = field(default_factory=Counter)


async def _send(http: httpx.AsyncClient, client: _Client, totals: _Totals) -> None:
    batch = client.pending[:120]
    if not batch:
        return
    started = time.perf_counter()
    try:
        reply = await http.post(
            f"/api/p/{client.token}/trials/{client.trial}/samples",
            json={"samples": batch},
            headers={"X-CSRF-Token": client.csrf},
        )
    except httpx.HTTPError as err:
        totals.failed += 1
        totals.why[type(err).__name__] += 1
        return
    if reply.status_code != 200:
        totals.failed += 1
        totals.why[f"HTTP {reply.status_code}"] += 1
        return
    totals.ok += 1
    totals.latencies.append((time.perf_counter() - started) * 1000)
    acked = set(reply.json()["acked"])
    client.acked |= acked
    client.pending = [s for s in client.pending if s["seq"] not in acked]


async def _participant(
    http: httpx.AsyncClient, client: _Client, duration_s: float, totals: _Totals, seed: int
) -> None:
    rng = random.Random(seed)
    while True:  # start the trial (retried while the server is down)
        try:
            reply = await http.post(
                f"/api/p/{client.token}/trials/{client.trial}/start",
                headers={"X-CSRF-Token": client.csrf},
            )
            if reply.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    t0 = time.monotonic()
    await asyncio.sleep(rng.uniform(0, PERIOD_S))  # participants do not start in lockstep
    valence, arousal = 0.0, 0.0
    sending: asyncio.Task[None] | None = None
    for seq in range(int(duration_s / PERIOD_S)):
        valence = float(np.clip(valence + rng.gauss(0, 0.05), -1, 1))
        arousal = float(np.clip(arousal + rng.gauss(0, 0.05), -1, 1))
        sample = {
            "seq": seq,
            "timestamp": round(min(time.monotonic() - t0, EXCERPT_S), 3),
            "valence": round(valence, 3),
            "arousal": round(arousal, 3),
        }
        client.logged.append(sample)
        client.pending.append(sample)
        if seq % SEND_EVERY == SEND_EVERY - 1 and (sending is None or sending.done()):
            sending = asyncio.create_task(_send(http, client, totals))
        # the browser's timer: every 0.5 s with a little jitter
        await asyncio.sleep(max(0.0, PERIOD_S + rng.uniform(-0.03, 0.03)))
    if sending is not None:
        await sending
    deadline = time.monotonic() + 60
    while client.pending and time.monotonic() < deadline:
        await _send(http, client, totals)
        if client.pending:
            await asyncio.sleep(0.5)


async def _crash(
    server: StudyServerProcess, at_s: float, down_s: float, record: list[float]
) -> None:
    await asyncio.sleep(at_s)
    killed = time.monotonic()
    server.kill()
    await asyncio.sleep(down_s)
    await asyncio.to_thread(server.start)
    record.append(time.monotonic() - killed)


async def _drive(
    url: str,
    clients: list[_Client],
    duration_s: float,
    server: StudyServerProcess,
    kill_at_s: float | None,
    down_s: float,
) -> tuple[_Totals, list[float]]:
    totals = _Totals()
    downtimes: list[float] = []
    limits = httpx.Limits(max_connections=len(clients) + 10)
    async with httpx.AsyncClient(base_url=url, timeout=10.0, limits=limits) as http:
        tasks = [
            _participant(http, client, duration_s, totals, seed=i)
            for i, client in enumerate(clients)
        ]
        if kill_at_s is not None:
            tasks.append(_crash(server, kill_at_s, down_s, downtimes))
        await asyncio.gather(*tasks)
    return totals, downtimes


def _prepare(db: str, media: Path, participants: int, duration_s: float) -> list[_Client]:
    media.mkdir(parents=True, exist_ok=True)
    (media / "silence.webm").write_bytes(b"the load test plays no media")
    _engine, sessions = open_database(db)
    with sessions() as session:
        secret = server_secret(session)
    clients = []
    with sessions() as session:
        study = create_study(
            session,
            StudyConfig(
                "load test (simulated participants)",
                [MediaSpec(f"item{i:02d}", "silence.webm") for i in range(12)],
                items_per_participant=4,
                excerpt_seconds=EXCERPT_S,
            ),
            media,
        )
        for _ in range(participants):
            person = enrol_participant(
                session, study, Profile(25, "Female", "SG", "SG", "EN", "Pop", 1)
            )
            person.understood = True
            session.commit()
            trial = next_trial(session, person)
            assert trial is not None
            clients.append(
                _Client(person.token, trial.id, participant_csrf_token(secret, person.token))
            )
    return clients


def _stored(db: str, clients: list[_Client]) -> dict[int, set[int]]:
    _engine, sessions = open_database(db)
    stored: dict[int, set[int]] = {c.trial: set() for c in clients}
    with sessions() as session:
        rows = session.execute(
            select(Sample.trial_id, Sample.seq).where(Sample.trial_id.in_(list(stored)))
        )
        for trial_id, seq in rows:
            stored[trial_id].add(seq)
    return stored


def run_load(
    workdir: Path,
    *,
    participants: int = 50,
    duration_s: float = 180.0,
    kill_at_s: float | None = None,
    down_s: float = 2.0,
    db: str | None = None,
) -> LoadReport:
    """Run the load test and count what was logged, acknowledged and stored.

    Args:
        workdir: scratch folder (SQLite database, media, server log).
        participants: simulated participants, all rating at the same time.
        duration_s: how long each of them logs samples at 2 Hz.
        kill_at_s: when to SIGKILL the server (half-way by default; it is
            restarted ``down_s`` later on the same port).
        down_s: how long the server stays down.
        db: database URL; an SQLite file in ``workdir`` by default.

    Returns:
        The figures of the run.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    database = db or str(workdir / "load.db")
    clients = _prepare(database, workdir / "media", participants, duration_s)
    kill_at = duration_s / 2 if kill_at_s is None else kill_at_s
    server = StudyServerProcess(database, workdir / "media", log=workdir / "server.log")
    server.start()
    try:
        totals, downtimes = asyncio.run(
            _drive(server.url, clients, duration_s, server, kill_at, down_s)
        )
    finally:
        server.stop()
    stored = _stored(database, clients)
    logged = sum(len(c.logged) for c in clients)
    acked = sum(len(c.acked) for c in clients)
    lost = sum(len(c.acked - stored[c.trial]) for c in clients)
    never = sum(len({s["seq"] for s in c.logged} - stored[c.trial]) for c in clients)
    lat = np.array(totals.latencies) if totals.latencies else np.array([float("nan")])
    return LoadReport(
        participants=participants,
        duration_s=duration_s,
        database=database.split("@")[-1],
        samples_logged=logged,
        samples_acked=acked,
        samples_stored=sum(len(s) for s in stored.values()),
        acked_but_lost=lost,
        logged_never_stored=never,
        requests_ok=totals.ok,
        requests_failed=totals.failed,
        kills=len(downtimes),
        downtime_s=round(statistics.fmean(downtimes), 2) if downtimes else 0.0,
        latency_ms_p50=round(float(np.percentile(lat, 50)), 1),
        latency_ms_p95=round(float(np.percentile(lat, 95)), 1),
        latency_ms_p99=round(float(np.percentile(lat, 99)), 1),
        latency_ms_max=round(float(lat.max()), 1),
        failures=", ".join(f"{why} x{n}" for why, n in totals.why.most_common()) or "none",
    )


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise SystemExit(f"--postgres needs the PostgreSQL server program {name} (apt postgresql)")
    return found[-1]


@contextlib.contextmanager
def throwaway_postgres(folder: Path) -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 with its data in ``folder`` (deleted
    afterwards); yields the URL of an empty database ``muvi_load``."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # not as root
    folder.mkdir(parents=True, exist_ok=True)
    if as_user:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    run = subprocess.run
    run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
        check=True, capture_output=True)  # fmt: skip
    try:
        import psycopg

        dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE muvi_load")
        yield f"postgresql://postgres@127.0.0.1:{port}/muvi_load"
    finally:
        run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of rating")
    parser.add_argument("--kill-at", type=float, default=None, help="seconds (default: half-way)")
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays down")
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--postgres", action="store_true", help="run on a throwaway PostgreSQL server"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="muvi-load-") as tmp, contextlib.ExitStack() as stack:
        os.chmod(tmp, 0o755)  # the postgres user reaches its folder inside
        db = args.db
        if args.postgres:
            db = stack.enter_context(throwaway_postgres(Path(tmp) / "pg"))
        report = run_load(
            Path(tmp),
            participants=args.participants,
            duration_s=args.duration,
            kill_at_s=args.kill_at,
            down_s=args.down,
            db=db,
        )
    print("\n".join(report.lines()))
    ok = report.acked_but_lost == 0 and report.logged_never_stored == 0
    print("RESULT:", "no acknowledged sample lost" if ok else "SAMPLES LOST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
