"""Exports while participants submit: every web export during a stream of
sample batches and answers succeeds, and the raw rows it holds never
decrease; the last export holds every finished rated trial's samples
(participants x items each x 9 samples of a 4 s excerpt at 2 Hz)."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from studyhelpers import login, make_setup, pcsrf, signup, trials_of

PARTICIPANTS, ITEMS_EACH, SAMPLES = 4, 2, 9  # 0, 0.5, ..., 4.0 s


def _raw_rows(archive: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return len(pd.read_csv(zipped.open("raw_av_logs.csv")))


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_exports_during_submissions_never_fail_or_shrink(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    db = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    setup = make_setup(tmp_path, db)
    runner = login(setup)
    people = [signup(setup) for _ in range(PARTICIPANTS)]
    errors: list[str] = []
    done = threading.Event()

    def participants() -> None:
        try:
            for client, token in people:
                csrf = pcsrf(client, token)
                headers = {"X-CSRF-Token": csrf}
                for trial in trials_of(client, token):
                    base = f"/api/p/{token}/trials/{trial['id']}"
                    if client.post(base + "/start", headers=headers).status_code != 200:
                        errors.append(f"start {trial['id']}")
                    for seq in range(0, SAMPLES, 3):
                        batch = [{"seq": i, "timestamp": i * 0.5, "valence": 0.1, "arousal": 0.2}
                                 for i in range(seq, seq + 3)]  # fmt: skip
                        reply = client.post(
                            base + "/samples", json={"samples": batch}, headers=headers
                        )
                        if reply.status_code != 200:
                            errors.append(f"samples {reply.status_code} {reply.text[:100]}")
                    reply = client.post(
                        f"/p/{token}/trials/{trial['id']}/answers",
                        data={"csrf_token": csrf, "seen_previously": "no", "labels": ["tense"]},
                    )
                    if reply.status_code != 200:
                        errors.append(f"answers {reply.status_code}")
        finally:
            done.set()

    writer = threading.Thread(target=participants)
    writer.start()
    counts: list[int] = []
    while not done.is_set() or len(counts) < 3:
        reply = runner.get("/runner/studies/1/export.zip")
        if reply.status_code != 200:
            errors.append(f"export {reply.status_code} {reply.text[:100]}")
            break
        counts.append(_raw_rows(reply.content))
    writer.join()
    final = runner.get("/runner/studies/1/export.zip")
    assert final.status_code == 200
    counts.append(_raw_rows(final.content))
    assert errors == []
    assert counts == sorted(counts), counts
    assert counts[-1] == PARTICIPANTS * ITEMS_EACH * SAMPLES
