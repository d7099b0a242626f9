"""The HTTP side without a browser: logins, refusals of anonymous and
cross-participant requests, validation of malformed requests (clear 4xx),
idempotent sample batches, resume, and the export through the command line."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from studyhelpers import (
    CSRF_FIELD,
    PROFILE_FORM,
    Setup,
    _play,
    _started_trial,
    login,
    pcsrf,
    run_cli,
    signup,
    trials_of,
)

from muvi.data.loaders import load_dataset
from muvi.study.models import Sample, Trial
from muvi.study.service import MediaSpec, StudyConfig, create_study


def test_runner_pages_refuse_anonymous_users(setup: Setup) -> None:
    anonymous = setup.client
    for path in (
        "/runner",
        "/runner/studies/new",
        "/runner/studies/1",
        "/runner/studies/1/export.zip",
    ):
        assert anonymous.get(path).status_code == 401, path
        browser_like = anonymous.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        assert browser_like.status_code == 303
        assert browser_like.headers["location"].startswith("/runner/login")
    assert anonymous.post("/runner/studies", data={"name": "x"}).status_code == 401
    # a participant's link gives no runner rights
    participant, _token = signup(setup)
    assert participant.get("/runner/studies/1/export.zip").status_code == 401


def test_login_needs_the_right_password_and_a_csrf_token(setup: Setup) -> None:
    client = TestClient(setup.app)
    csrf = CSRF_FIELD.search(client.get("/runner/login").text).group(1)
    wrong = client.post(
        "/runner/login", data={"username": "runner", "password": "wrong horse", "csrf_token": csrf}
    )
    assert wrong.status_code == 401 and "wrong name or password" in unescape(wrong.text)
    no_csrf = client.post("/runner/login", data={"username": "runner", "password": "correct horse"})
    assert no_csrf.status_code == 403 and "CSRF" in unescape(no_csrf.text)
    runner = login(setup)
    page = runner.get("/runner/studies/1")
    assert page.status_code == 200 and f"/s/{setup.invite}" in unescape(page.text)
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"
    export = runner.get("/runner/studies/1/export.zip")
    assert export.status_code == 200 and export.content[:2] == b"PK"
    with setup.sessions() as session:
        stored = session.execute(select(func.count()).select_from(Sample)).scalar()
    assert stored == 0


def test_runner_creates_a_study_with_the_form(setup: Setup) -> None:
    runner = login(setup)
    csrf = CSRF_FIELD.search(runner.get("/runner/studies/new").text).group(1)
    form = {
        "csrf_token": csrf, "name": "form study", "modality_music": "on", "modality_visual": "on",
        "items_per_participant": "2", "excerpt_seconds": "30", "items": "x1, a.webm, 2.5\nx2, b.webm",
        "practice": "p1, p.webm", "example_positive_high_arousal": "e1, c.webm, 1",
    }  # fmt: skip
    created = runner.post("/runner/studies", data=form)
    assert created.status_code == 200 and "form study" in unescape(created.text)
    missing = runner.post("/runner/studies", data={**form, "items": "x1, missing.webm\nx2, b.webm"})
    assert missing.status_code == 400 and "media file 'missing.webm' not found" in unescape(
        missing.text
    )
    escape = runner.post("/runner/studies", data={**form, "items": "x1, ../study.db\nx2, b.webm"})
    assert escape.status_code == 400 and "not found" in unescape(escape.text)
    too_many = runner.post("/runner/studies", data={**form, "items_per_participant": "3"})
    assert too_many.status_code == 400 and "items per participant" in unescape(too_many.text)


def test_participant_reads_and_writes_only_their_own_trials(setup: Setup) -> None:
    alice, alice_token = signup(setup)
    bob, bob_token = signup(setup)
    alice_csrf = pcsrf(alice, alice_token)
    alice_ids = {t["id"] for t in trials_of(alice, alice_token)}
    bob_ids = {t["id"] for t in trials_of(bob, bob_token)}
    assert alice_ids and bob_ids and not alice_ids & bob_ids
    bob_trial = min(bob_ids)
    headers = {"X-CSRF-Token": alice_csrf}
    base = f"/api/p/{alice_token}/trials/{bob_trial}"
    assert alice.post(base + "/start", headers=headers).status_code == 403
    batch = {"samples": [{"seq": 0, "timestamp": 0.0, "valence": 0, "arousal": 0}]}
    refused = alice.post(base + "/samples", json=batch, headers=headers)
    assert refused.status_code == 403 and "not one of this participant's trials" in unescape(
        refused.text
    )
    answers = alice.post(
        f"/p/{alice_token}/trials/{bob_trial}/answers",
        data={"csrf_token": alice_csrf, "seen_previously": "no", "labels": "calm"},
    )
    assert answers.status_code == 403
    # Bob's token with Alice's CSRF token is refused too, and unknown tokens are 404
    assert (
        alice.post(f"/api/p/{bob_token}/trials/{bob_trial}/start", headers=headers).status_code
        == 403
    )
    assert alice.get("/api/p/not-a-participant/trials").status_code == 404
    with setup.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == 0
        assert all(t.started_at is None for t in session.scalars(select(Trial)))


MALFORMED = [
    # (request body or raw text, expected status, words the error must contain)
    (
        {"samples": [{"seq": 0, "timestamp": 0.5, "valence": 1.5, "arousal": 0}]},
        422,
        "less than or equal to 1",
    ),
    (
        {"samples": [{"seq": 0, "timestamp": 0.5, "valence": 0, "arousal": -1.01}]},
        422,
        "greater than or equal to -1",
    ),
    ({"samples": [{"seq": 0, "timestamp": -0.5, "valence": 0, "arousal": 0}]}, 422, "timestamp"),
    (
        {"samples": [{"seq": 0, "timestamp": 100.0, "valence": 0, "arousal": 0}]},
        400,
        "outside the excerpt",
    ),
    ('{"samples": [{"seq": 0, "timestamp": 0.5, "valence": NaN, "arousal": 0}]}', 422, "finite"),
    ({"samples": [{"seq": 0, "timestamp": 0.5, "valence": 0}]}, 422, "arousal"),
    (
        {"samples": [{"seq": 0, "timestamp": 0.5, "valence": 0, "arousal": 0, "x": 1}]},
        422,
        "Extra inputs",
    ),
    ({"samples": [{"seq": 0, "timestamp": "soon", "valence": 0, "arousal": 0}]}, 422, "timestamp"),
    ({"samples": []}, 422, "at least 1"),
    (
        {"samples": [{"seq": i, "timestamp": 0.5, "valence": 0, "arousal": 0} for i in range(121)]},
        422,
        "at most 120",
    ),
    (
        {"samples": [{"seq": 3, "timestamp": 0.5, "valence": 0, "arousal": 0}] * 2},
        400,
        "same seq twice",
    ),
    ({"samples": [{"seq": -1, "timestamp": 0.5, "valence": 0, "arousal": 0}]}, 422, "seq"),
    ("this is not json", 422, "JSON"),
]


@pytest.mark.parametrize(("body", "status", "words"), MALFORMED)
def test_malformed_sample_batches_get_clear_4xx(
    setup: Setup, body: object, status: int, words: str
) -> None:
    client, token, csrf, trial = _started_trial(setup)
    url = f"/api/p/{token}/trials/{trial}/samples"
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    content = body if isinstance(body, str) else json.dumps(body)
    reply = client.post(url, content=content, headers=headers)
    assert reply.status_code == status, reply.text
    assert words.lower() in unescape(reply.text).lower()
    with setup.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == 0


def test_other_malformed_requests_get_clear_4xx(setup: Setup) -> None:
    client, token, csrf, trial = _started_trial(setup)
    sample = {"samples": [{"seq": 0, "timestamp": 0.5, "valence": 0, "arousal": 0}]}
    cases = [
        (client.post(f"/api/p/{token}/trials/{trial}/samples", json=sample), 403, "CSRF"),
        (
            client.post(
                f"/api/p/{token}/trials/{trial}/samples",
                json=sample,
                headers={"X-CSRF-Token": "forged"},
            ),
            403,
            "CSRF",
        ),
        (
            client.post(
                f"/api/p/{token}/trials/abc/samples", json=sample, headers={"X-CSRF-Token": csrf}
            ),
            422,
            "trial_id",
        ),
        (
            client.post(
                f"/p/{token}/trials/{trial}/answers",
                data={"csrf_token": csrf, "seen_previously": "no", "labels": ["calm", "happy-ish"]},
            ),
            400,
            "unknown GEMS term",
        ),
        (
            client.post(
                f"/p/{token}/trials/{trial}/answers",
                data={"csrf_token": csrf, "seen_previously": "no"},
            ),
            400,
            "at least one term",
        ),
        (
            client.post(
                f"/p/{token}/trials/{trial}/answers", data={"csrf_token": csrf, "labels": "calm"}
            ),
            400,
            "seen or heard",
        ),
        (
            client.post(
                f"/p/{token}/preference", data={"csrf_token": csrf, "overlay_pref": "maybe"}
            ),
            400,
            "layout preference",
        ),
        (client.post(f"/p/{token}/instructions", data={"csrf_token": csrf}), 400, "understood"),
    ]
    fresh = TestClient(setup.app)
    signup_csrf = CSRF_FIELD.search(fresh.get(f"/s/{setup.invite}").text).group(1)
    for field, value, words in (
        ("age", "abc", "whole number"),
        ("country_live_longest", "Singapore", "two-letter"),
        ("gender", "robot", "gender"),
        ("consent", "", "consent"),
    ):
        reply = fresh.post(
            f"/s/{setup.invite}", data={**PROFILE_FORM, field: value, "csrf_token": signup_csrf}
        )
        cases.append((reply, 400, words))
    for reply, status, words in cases:
        assert reply.status_code == status, (words, reply.text)
        assert words.lower() in unescape(reply.text).lower(), (words, reply.text)


def test_resent_batches_are_stored_once_and_restart_drops_the_unfinished_run(setup: Setup) -> None:
    client, token, csrf, trial = _started_trial(setup)
    url = f"/api/p/{token}/trials/{trial}/samples"
    headers = {"X-CSRF-Token": csrf}
    batch = {
        "samples": [
            {"seq": i, "timestamp": 0.5 * i, "valence": 0.1 * i, "arousal": -0.1 * i}
            for i in range(4)
        ]
    }
    for _ in range(3):  # a client that never saw the acknowledgement resends
        reply = client.post(url, json=batch, headers=headers)
        assert reply.json() == {"acked": [0, 1, 2, 3]}
    with setup.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Sample).where(Sample.trial_id == trial))
            == 4
        )
    # the tab was closed: the trial restarts from scratch
    assert client.post(f"/api/p/{token}/trials/{trial}/start", headers=headers).status_code == 200
    with setup.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Sample).where(Sample.trial_id == trial))
            == 0
        )


def test_resume_and_export_through_the_command_line(setup: Setup, tmp_path: Path) -> None:
    client, token = signup(setup)
    csrf = pcsrf(client, token)
    # coming back through the invite link (cookie) leads to the same participant
    assert client.get(f"/s/{setup.invite}").url.path == f"/p/{token}/instructions"
    client.post(f"/p/{token}/instructions", data={"csrf_token": csrf, "understood": "yes"})
    trials = trials_of(client, token)
    assert [t["practice"] for t in trials] == [True, False, False]
    timestamps = [0.03, 0.49, 1.07, 1.52, 1.98, 2.61, 3.02, 3.55, 3.97]
    valence = [round(0.2 * t - 0.4, 3) for t in timestamps]
    _play(client, token, csrf, trials[0]["id"], valence, timestamps)
    _play(client, token, csrf, trials[1]["id"], valence, timestamps)
    # a new browser with only the personal link resumes at the third trial
    other = TestClient(setup.app)
    page = other.get(f"/p/{token}")
    assert page.url.path == f"/p/{token}/trial" and f'data-trial="{trials[2]["id"]}"' in unescape(
        page.text
    )
    assert "Item 2 of 2" in unescape(page.text)
    # the third trial is left in progress: it is not exported
    other.post(f"/api/p/{token}/trials/{trials[2]['id']}/start", headers={"X-CSRF-Token": csrf})

    out = tmp_path / "export"
    assert run_cli(["study", "export", "--db", str(setup.db), "--out", str(out)]) == 0
    dataset = load_dataset(out)
    assert len(dataset.static) == 1 and dataset.static.iloc[0][["tense", "strong"]].tolist() == [
        1,
        1,
    ]
    assert dataset.static.iloc[0]["seen_previously"]
    expected = np.interp(np.arange(8) * 0.5, timestamps, valence)  # 2 Hz grid over the 4 s excerpt
    assert np.allclose(dataset.dynamic["valence"].to_numpy(), expected, atol=1e-9)
    assert np.allclose(dataset.dynamic["arousal"].to_numpy(), -expected, atol=1e-9)
    av = pd.read_csv(out / "av_data.csv")
    assert list(av.columns) == [
        "participant_id",
        "media_id",
        "media_modality",
        "seq",
        "valence",
        "arousal",
    ]
    assert set(av["media_modality"]) <= {"music", "muted_video", "video"}
    metadata = json.loads((out / "muvi_metadata.json").read_text())
    assert metadata["simulated"] is False
    assert metadata["raw_sampling_interval_s"]["mean"] == pytest.approx(np.diff(timestamps).mean())


def test_command_line_creates_runner_and_explains_bad_databases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    assert (
        run_cli(["study", "create-runner", "ana", "--db", str(db), "--password", "long enough"])
        == 0
    )
    assert (
        run_cli(["study", "create-runner", "ana", "--db", str(db), "--password", "long enough"])
        == 2
        and "exists already" in capsys.readouterr().err
    )
    assert (
        run_cli(["study", "export", "--db", str(db), "--out", str(tmp_path / "x")]) == 2
        and "holds no study" in capsys.readouterr().err
    )
    assert (
        run_cli(["study", "export", "--db", "mysql://nowhere/x", "--out", str(tmp_path / "x")]) == 2
        and "unsupported database URL" in capsys.readouterr().err
    )


def test_export_feeds_muvi_analyze(setup: Setup, tmp_path: Path) -> None:
    """Six participants rate full 60 s excerpts (the analysis window is 59 s);
    the export goes through ``muvi analyze`` unchanged."""
    with setup.sessions() as session:
        study = create_study(
            session,
            StudyConfig(
                "analysis test",
                [MediaSpec(f"item_{n}", f"{n}.webm") for n in "abc"],
                items_per_participant=2,
            ),
            setup.media,
        )
    setup.invite = study.invite_token
    rng = np.random.default_rng(5)
    timestamps = (np.arange(120) * 0.5 + rng.uniform(0, 0.04, 120)).round(3).tolist()
    for _ in range(6):
        client, token = signup(setup)
        csrf = pcsrf(client, token)
        client.post(f"/p/{token}/instructions", data={"csrf_token": csrf, "understood": "yes"})
        for trial in trials_of(client, token):
            walk = np.cumsum(rng.normal(0, 0.05, len(timestamps)))
            _play(
                client,
                token,
                csrf,
                trial["id"],
                np.clip(walk, -1, 1).round(3).tolist(),
                timestamps,
                batch=60,
            )
        reply = client.post(
            f"/p/{token}/preference", data={"csrf_token": csrf, "overlay_pref": "Side-by-Side"}
        )
        assert reply.status_code == 200 and "Thank you" in reply.text
    out, results = tmp_path / "export", tmp_path / "analysis"
    assert (
        run_cli(
            ["study", "export", "--db", str(setup.db), "--out", str(out), "--study", str(study.id)]
        )
        == 0
    )
    participants = pd.read_csv(out / "participant_data.csv")
    assert len(participants) == 6 and set(participants["overlay_pref"]) == {"Side-by-Side"}
    assert len(pd.read_csv(out / "media_data.csv")) == 12  # 6 x 2 rated items
    assert len(pd.read_csv(out / "av_data.csv")) == 12 * 120  # 60 s at 2 Hz each
    assert (
        run_cli(["analyze", "--data", str(out), "--out", str(results), "--no-figures", "--quiet"])
        == 0
    )
    summary = json.loads((results / "summary.json").read_text())
    assert "dynamic" in summary
