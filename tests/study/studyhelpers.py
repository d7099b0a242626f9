"""Helpers of the study server tests (imported by the test modules; the
``setup`` fixture in conftest.py builds on :func:`make_setup`)."""

from __future__ import annotations

import io
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from muvi.cli import main
from muvi.study.app import create_app
from muvi.study.service import MediaSpec, StudyConfig, create_runner, create_study

PROFILE_FORM = {
    "consent": "yes", "age": "23", "gender": "Male", "country_live_longest": "SG",
    "country_musical_enculturation": "GB", "lyric_language": "EN",
    "favorite_genre": "Rock", "years_formal_training": "4",
}  # fmt: skip
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def run_cli(args: list[str]) -> int:
    """The exit status of ``muvi`` with these arguments."""
    try:
        main(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@dataclass
class Setup:
    app: object
    client: TestClient
    invite: str
    db: Path
    media: Path

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.app.state.server.sessions  # type: ignore[attr-defined]


def make_setup(tmp_path: Path, db_url: str | None = None) -> Setup:
    """Runner 'runner' (password 'correct horse') owning study 1 (4 s excerpts,
    3 items, 1 practice), on SQLite in ``tmp_path`` or on ``db_url``."""
    media = tmp_path / "media"
    media.mkdir()
    for name in ("a", "b", "c", "p"):
        (media / f"{name}.webm").write_bytes(b"media bytes are not decoded in these tests")
    db = tmp_path / "study.db"
    app = create_app(db_url or db, media)
    with app.state.server.sessions() as session:
        owner = create_runner(session, "runner", "correct horse")
        study = create_study(
            session,
            StudyConfig(
                "api test",
                [
                    MediaSpec("item_a", "a.webm", 1.0),
                    MediaSpec("item_b", "b.webm"),
                    MediaSpec("item_c", "c.webm"),
                ],
                items_per_participant=2,
                excerpt_seconds=4.0,
                practice=[MediaSpec("practice", "p.webm")],
            ),
            media,
            owner.id,
        )
    return Setup(app, TestClient(app), study.invite_token, db, media)


def signup(setup: Setup) -> tuple[TestClient, str]:
    """A new participant (own cookie jar) signs up; returns the client and token."""
    client = TestClient(setup.app)
    csrf = CSRF_FIELD.search(client.get(f"/s/{setup.invite}").text).group(1)
    reply = client.post(f"/s/{setup.invite}", data={**PROFILE_FORM, "csrf_token": csrf})
    assert reply.status_code == 200, reply.text
    token = re.search(r"/p/([^/]+)/instructions", str(reply.url)).group(1)
    return client, token


def pcsrf(client: TestClient, token: str) -> str:
    page = client.get(f"/p/{token}/instructions").text
    return CSRF_FIELD.search(page).group(1)


def trials_of(client: TestClient, token: str) -> list[dict]:
    reply = client.get(f"/api/p/{token}/trials")
    assert reply.status_code == 200
    return reply.json()


def login(setup: Setup) -> TestClient:
    client = TestClient(setup.app)
    csrf = CSRF_FIELD.search(client.get("/runner/login").text).group(1)
    reply = client.post(
        "/runner/login",
        data={"username": "runner", "password": "correct horse", "csrf_token": csrf},
    )
    assert reply.status_code == 200 and reply.url.path == "/runner"
    return client


def _started_trial(setup: Setup) -> tuple[TestClient, str, str, int]:
    client, token = signup(setup)
    csrf = pcsrf(client, token)
    trial = trials_of(client, token)[0]["id"]
    assert (
        client.post(
            f"/api/p/{token}/trials/{trial}/start", headers={"X-CSRF-Token": csrf}
        ).status_code
        == 200
    )
    return client, token, csrf, trial


def _play(
    client: TestClient,
    token: str,
    csrf: str,
    trial: int,
    valence: list[float],
    timestamps: list[float],
    batch: int = 2,
) -> None:
    headers = {"X-CSRF-Token": csrf}
    assert client.post(f"/api/p/{token}/trials/{trial}/start", headers=headers).status_code == 200
    samples = [
        {"seq": i, "timestamp": t, "valence": v, "arousal": -v}
        for i, (t, v) in enumerate(zip(timestamps, valence, strict=True))
    ]
    for start in range(0, len(samples), batch):
        reply = client.post(
            f"/api/p/{token}/trials/{trial}/samples",
            json={"samples": samples[start : start + batch]},
            headers=headers,
        )
        assert reply.status_code == 200
    reply = client.post(
        f"/p/{token}/trials/{trial}/answers",
        data={"csrf_token": csrf, "seen_previously": "yes", "labels": ["tense", "strong"]},
    )
    assert reply.status_code == 200


def count_beeps(wav: bytes) -> int:
    """Beeps in a WAV file, counted from its 10 ms loudness envelope (runs of
    windows above a quarter of the loudest), independently of how it was made."""
    with wave.open(io.BytesIO(wav)) as source:
        rate = source.getframerate()
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    window = rate // 100
    frames = np.abs(samples[: len(samples) // window * window].astype(float)).reshape(-1, window)
    loud = frames.max(axis=1) > frames.max() / 4
    return int(np.sum(loud[1:] & ~loud[:-1]) + loud[0])
