"""The cap on cursor samples per trial: a client that posts far more samples
than an excerpt can hold at the cursor rate is refused (413, one line) once
it reaches the cap, the trial keeps what it stored before, and the export
holds no more than the cap. The cap of a 60 s excerpt is worked out by hand:
(60 s + 0.5 s tolerance) x 2 samples a second x a margin of 2 = 242."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from studyhelpers import CSRF_FIELD, PROFILE_FORM

from muvi.study.app import create_app
from muvi.study.export import export_study
from muvi.study.models import Sample, Trial
from muvi.study.service import MediaSpec, StudyConfig, create_runner, create_study

CAP_60_S = 242
BATCH = 120


def test_the_cap_follows_the_excerpt_length_and_the_cursor_rate() -> None:
    from muvi.study.service import max_samples_per_trial

    assert max_samples_per_trial(60.0) == CAP_60_S
    assert max_samples_per_trial(30.0) == 122  # (30 + 0.5) * 2 * 2
    assert max_samples_per_trial(0.5) == 4  # (0.5 + 0.5) * 2 * 2
    # the browser logs one sample every 0.5 s from 0 to the end: 121 for 60 s, well below
    assert int(60.0 / 0.5) + 1 < max_samples_per_trial(60.0)


def _one_trial_study(tmp_path: Path, db: str | None) -> tuple[object, TestClient, str, int, str]:
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.webm").write_bytes(b"media bytes are not decoded in these tests")
    app = create_app(db or tmp_path / "study.db", media)
    with app.state.server.sessions() as session:
        owner = create_runner(session, "runner", "correct horse")
        study = create_study(
            session,
            StudyConfig("cap", [MediaSpec("item_a", "a.webm")], items_per_participant=1,
                        modalities=("music",), excerpt_seconds=60.0),
            media,
            owner.id,
        )  # fmt: skip
    client = TestClient(app)
    csrf = CSRF_FIELD.search(client.get(f"/s/{study.invite_token}").text)[1]
    reply = client.post(f"/s/{study.invite_token}", data={**PROFILE_FORM, "csrf_token": csrf})
    token = re.search(r"/p/([^/]+)/instructions", str(reply.url))[1]
    pcsrf = CSRF_FIELD.search(client.get(f"/p/{token}/instructions").text)[1]
    trial = client.get(f"/api/p/{token}/trials").json()[0]["id"]
    headers = {"X-CSRF-Token": pcsrf}
    assert client.post(f"/api/p/{token}/trials/{trial}/start", headers=headers).status_code == 200
    return app, client, token, trial, pcsrf


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_one_hundred_thousand_and_one_samples_into_one_trial_are_capped(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    db = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    app, client, token, trial, pcsrf = _one_trial_study(tmp_path, db)
    url, headers = f"/api/p/{token}/trials/{trial}/samples", {"X-CSRF-Token": pcsrf}
    acked: list[int] = []
    statuses: dict[int, int] = {}
    messages = set()
    total = 100_001
    for start in range(0, total, BATCH):
        batch = [
            {"seq": i, "timestamp": round(60.0 * i / total, 4), "valence": 0.5, "arousal": -0.5}
            for i in range(start, min(start + BATCH, total))
        ]
        reply = client.post(url, json={"samples": batch}, headers=headers)
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        if reply.status_code == 200:
            acked += reply.json()["acked"]
        else:
            messages.add(reply.json()["detail"])
    # batches are stored whole or not at all: seq 0-119 and 120-239 fit under 242,
    # the batch 240-359 reaches past it and is refused, like every later one
    assert statuses == {200: 2, 413: -(-total // BATCH) - 2}
    assert acked == list(range(240))
    assert len(messages) > 0 and all("at most 242 cursor samples" in m for m in messages)
    assert all("\n" not in m and len(m) < 300 for m in messages)
    with app.state.server.sessions() as session:  # type: ignore[attr-defined]
        stored = session.scalar(select(func.count()).where(Sample.trial_id == trial))
        assert stored == 240
    done = client.post(
        f"/p/{token}/trials/{trial}/answers",
        data={"csrf_token": pcsrf, "seen_previously": "no", "labels": ["tense"]},
    )
    assert done.status_code == 200
    with app.state.server.sessions() as session:  # type: ignore[attr-defined]
        assert session.get(Trial, trial).completed_at is not None
        export_study(session, tmp_path / "export", None)
    raw = pd.read_csv(tmp_path / "export" / "raw_av_logs.csv")
    assert len(raw) == 240 <= CAP_60_S


def test_a_batch_past_the_cap_keeps_the_trials_samples(tmp_path: Path) -> None:
    app, client, token, trial, pcsrf = _one_trial_study(tmp_path, None)
    url, headers = f"/api/p/{token}/trials/{trial}/samples", {"X-CSRF-Token": pcsrf}
    first = [{"seq": i, "timestamp": i * 0.5, "valence": 0.1, "arousal": 0.2} for i in range(100)]
    assert client.post(url, json={"samples": first}, headers=headers).json() == {
        "acked": list(range(100))
    }
    # a batch whose last sample is the first beyond the cap: refused whole
    past = [{"seq": i, "timestamp": 60.0, "valence": 0.9, "arousal": 0.9} for i in range(200, 243)]
    reply = client.post(url, json={"samples": past}, headers=headers)
    assert reply.status_code == 413
    assert "seq 242 is beyond that" in reply.json()["detail"]
    # the last place under the cap is still free
    last = [{"seq": 241, "timestamp": 60.0, "valence": 0.3, "arousal": 0.3}]
    assert client.post(url, json={"samples": last}, headers=headers).json() == {"acked": [241]}
    with app.state.server.sessions() as session:  # type: ignore[attr-defined]
        seqs = session.scalars(select(Sample.seq).where(Sample.trial_id == trial)).all()
    assert sorted(seqs) == [*range(100), 241]
