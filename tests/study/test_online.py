"""Online collection over HTTP (no browser): a study made with the runner's
form for Prolific, a participant arriving from a Prolific-style link, the
sound check, an attention trial, the completion code and redirect, and the
export of the panel parameters, new questions and quality outcomes beside
the unchanged published files; and the clear refusals of bad arrivals."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from studyhelpers import count_beeps

from muvi.data.loaders import load_dataset
from muvi.data.schema import PARTICIPANT_COLUMNS
from muvi.errors import DataError
from muvi.study import online
from muvi.study.app import create_app
from muvi.study.models import Item, Participant, Study, Trial
from muvi.study.online_models import ParticipantOnline
from muvi.study.service import create_runner

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PROFILE = {
    "consent": "yes", "age": "29", "gender": "Female", "country_live_longest": "SG",
    "country_musical_enculturation": "gb", "lyric_language": "EN",
    "favorite_genre": "Jazz", "years_formal_training": "2",
    "screen_width": "1280", "screen_height": "800", "q_handedness": "left",
}  # fmt: skip
ARRIVAL = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "st42", "SESSION_ID": "se7"}
EXCERPT_S = 4.0
TARGET = (0.8, 0.8)


@dataclass
class OnlineSetup:
    app: object
    runner: TestClient
    invite: str
    study_id: int

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.app.state.server.sessions  # type: ignore[attr-defined]


def csrf_of(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found is not None, page[:500]
    return found.group(1)


def runner_client(app: object) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    csrf = csrf_of(client.get("/runner/login").text)
    reply = client.post(
        "/runner/login",
        data={"username": "runner", "password": "correct horse", "csrf_token": csrf},
    )
    assert reply.status_code == 200
    return client


STUDY_FORM = {
    "name": "online study", "modality_music": "on", "modality_audiovisual": "on",
    "items_per_participant": "2", "excerpt_seconds": str(EXCERPT_S),
    "items": "item_a, a.webm\nitem_b, b.webm\nitem_c, c.webm", "practice": "prac, p.webm",
    "panel": "prolific", "completion_code": "C0MPL3TE", "sound_check": "on",
    "sound_check_attempts": "3", "consent_text": "We study **emotion**.\n\n- You may stop at any time.",
    "instructions_text": "Rate each clip of {seconds} seconds.",
    "questions": "handedness | choice | Which hand do you write with? | left; right; both\n"
                 "listening | number | Hours of music a day | 0-24 | optional",
    "attention": "check1, att.webm, 0, 0.8, 0.8, 0.4, For this clip, move the cursor to the "
                 "top right corner and keep it there.",
}  # fmt: skip


@pytest.fixture
def setup(tmp_path: Path) -> OnlineSetup:
    return make_setup(str(tmp_path / "study.db"), tmp_path)


def make_setup(db: str, tmp_path: Path) -> OnlineSetup:
    """The app on ``db`` with a runner, and a study made with the runner's form."""
    media = tmp_path / "media"
    media.mkdir()
    for name in ("a", "b", "c", "p", "att"):
        (media / f"{name}.webm").write_bytes(b"media bytes are not decoded in these tests")
    app = create_app(db, media)
    with app.state.server.sessions() as session:
        create_runner(session, "runner", "correct horse")
    runner = runner_client(app)
    csrf = csrf_of(runner.get("/runner/studies/new").text)
    created = runner.post("/runner/studies", data={**STUDY_FORM, "csrf_token": csrf})
    assert created.status_code == 200, unescape(created.text)[:2000]
    study_id = int(created.url.path.rsplit("/", 1)[1])
    invite = re.search(r'id="invite" href="[^"]*/s/([^"]+)"', created.text).group(1)
    return OnlineSetup(app, runner, invite, study_id)


def arrive(setup: OnlineSetup, query: dict[str, str], **fields: str):  # type: ignore[no-untyped-def]
    """A participant opens the link with ``query`` and submits the sign-up form."""
    client = TestClient(setup.app)  # type: ignore[arg-type]
    page = client.get(f"/s/{setup.invite}", params=query)
    assert page.status_code == 200, unescape(page.text)
    hidden = dict(re.findall(r'name="(panel__[^"]+)" value="([^"]*)"', page.text))
    form = {**PROFILE, **hidden, "csrf_token": csrf_of(page.text), **fields}
    return client, client.post(f"/s/{setup.invite}", data=form)


def rate_all(
    setup: OnlineSetup, client: TestClient, token: str, attention_at: tuple[float, float]
) -> None:
    """Play every trial: the cursor rests at (0, 0.2), or at ``attention_at`` on the attention trial."""
    with setup.sessions() as session:
        person = session.scalar(select(Participant).where(Participant.token == token))
        trials = session.execute(
            select(Trial.id, Item.role).join(Item).where(Trial.participant_id == person.id)
            .order_by(Trial.position)
        ).all()  # fmt: skip
    pcsrf = csrf_of(client.get(f"/p/{token}/instructions").text)
    headers = {"X-CSRF-Token": pcsrf}
    for done, (trial_id, role) in enumerate(trials):
        page = client.get(f"/p/{token}/trial")
        assert page.status_code == 200
        assert f'data-trial="{trial_id}"' in page.text
        assert f"{done} of {len(trials)} done" in page.text
        if role == "attention":
            assert "move the cursor to the top right corner" in page.text
            # the expected region (0.8, 0.8) and its tolerance 0.4 stay on the server
            assert not re.search(r"0\.[48]\b|tolerance|target|passed", page.text, re.I)
        else:
            assert 'id="attention-instruction"' not in page.text
        assert client.post(f"/api/p/{token}/trials/{trial_id}/start", headers=headers).is_success
        v, a = attention_at if role == "attention" else (0.0, 0.2)
        batch = [
            {"seq": k, "timestamp": k * 0.5, "valence": v if k else 0.0, "arousal": a if k else 0.0}
            for k in range(int(EXCERPT_S / 0.5) + 1)
        ]
        sent = client.post(
            f"/api/p/{token}/trials/{trial_id}/samples", json={"samples": batch}, headers=headers
        )
        assert sent.status_code == 200, sent.text
        assert "passed" not in sent.text  # nor is the verdict sent back
        answered = client.post(
            f"/p/{token}/trials/{trial_id}/answers",
            data={"csrf_token": pcsrf, "seen_previously": "no", "labels": "calm"},
        )
        assert answered.status_code == 200


def test_prolific_round_trip(setup: OnlineSetup, tmp_path: Path) -> None:
    prolific_round_trip(setup, tmp_path)


@pytest.mark.postgres
def test_prolific_round_trip_postgresql(postgres_url: str, tmp_path: Path) -> None:
    prolific_round_trip(make_setup(postgres_url, tmp_path), tmp_path)


def prolific_round_trip(setup: OnlineSetup, tmp_path: Path) -> None:
    """Arrival with Prolific's parameters -> sound check -> trials with an
    attention trial -> completion code and redirect -> export."""
    runner = setup.runner
    study_page = unescape(runner.get(f"/runner/studies/{setup.study_id}").text)
    assert (
        "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
        in study_page
    )
    assert "C0MPL3TE" in study_page

    client, reply = arrive(setup, ARRIVAL)
    assert reply.status_code == 200 and reply.url.path.endswith("/instructions")
    token = reply.url.path.split("/")[2]
    instructions = reply.text
    assert "Rate each clip of 4 seconds." in instructions  # the runner's text, {seconds} filled
    assert "Continue to the sound check" in instructions
    pcsrf = csrf_of(instructions)

    # the completion page is closed until the end
    assert client.get(f"/p/{token}/done").url.path == f"/p/{token}/instructions"
    moved = client.post(f"/p/{token}/instructions", data={"csrf_token": pcsrf, "understood": "yes"})
    assert moved.url.path == f"/p/{token}/sound-check"
    # no trial before the sound check is decided
    assert client.get(f"/p/{token}/trial").url.path == f"/p/{token}/sound-check"

    def expected() -> int:
        with setup.sessions() as session:
            person = session.scalar(select(Participant).where(Participant.token == token))
            row = session.get(ParticipantOnline, person.id)
            assert row.headphone_expected in online.SOUND_CHECK_BEEPS
            return int(row.headphone_expected)

    page = client.get(f"/p/{token}/sound-check")
    assert "Attempt 1 of 3" in page.text and "data-beeps" not in page.text
    audio = client.get(f"/p/{token}/sound-check/test.wav?attempt=1")
    assert audio.headers["cache-control"] == "no-store"
    assert count_beeps(audio.content) == expected()  # the page plays what the server judges
    wrong = client.post(
        f"/p/{token}/sound-check", data={"csrf_token": pcsrf, "beeps": str(expected() + 1)}
    )
    assert wrong.status_code == 400 and "2 attempts left" in wrong.text
    assert "Attempt 2 of 3" in wrong.text
    right = client.post(
        f"/p/{token}/sound-check", data={"csrf_token": pcsrf, "beeps": str(expected())}
    )
    assert right.url.path == f"/p/{token}/trial"

    rate_all(setup, client, token, attention_at=(0.85, 0.75))  # within 0.4 of (0.8, 0.8)
    pref = client.post(
        f"/p/{token}/preference", data={"csrf_token": pcsrf, "overlay_pref": "Overlaid"}
    )
    assert pref.url.path == f"/p/{token}/done"
    assert 'id="completion-code">C0MPL3TE<' in pref.text
    link = re.search(r'id="return" href="([^"]+)"', pref.text).group(1)
    assert unescape(link) == "https://app.prolific.com/submissions/complete?cc=C0MPL3TE"

    # a second participant who rests away from the target fails the attention trial
    other, reply = arrive(
        setup, {**ARRIVAL, "PROLIFIC_PID": "aaaabbbbccccdddd", "SESSION_ID": "se8"}
    )
    token2 = reply.url.path.split("/")[2]
    pcsrf2 = csrf_of(reply.text)
    other.post(f"/p/{token2}/instructions", data={"csrf_token": pcsrf2, "understood": "yes"})
    with setup.sessions() as session:
        person = session.scalar(select(Participant).where(Participant.token == token2))
        expected2 = session.get(ParticipantOnline, person.id).headphone_expected
    for _ in range(3):  # every attempt wrong: recorded as failed, the participant goes on
        answer = other.post(f"/p/{token2}/sound-check", data={"csrf_token": pcsrf2, "beeps": "0"})
    assert answer.url.path == f"/p/{token2}/trial" and expected2 != 0
    rate_all(setup, other, token2, attention_at=(-0.5, -0.5))

    quality_page = unescape(runner.get(f"/runner/studies/{setup.study_id}").text)
    summary = re.sub(
        r"\s+", " ", re.search(r'id="quality-summary">(.*?)</p>', quality_page, re.S).group(1)
    )
    assert summary == (
        "2 signed up · 1 finished · sound check: 1 passed, 1 failed, 0 not yet "
        "· attention trials: 1 of 2 passed"
    )

    archive = runner.get(f"/runner/studies/{setup.study_id}/export.zip")
    out = tmp_path / "export"
    zipfile.ZipFile(io.BytesIO(archive.content)).extractall(out)
    participants = pd.read_csv(out / "participant_data.csv")
    assert participants.columns.tolist() == list(PARTICIPANT_COLUMNS)  # published layout kept
    assert participants["country_musical_enculturation"].tolist() == ["GB", "GB"]
    panel = pd.read_csv(out / "panel_data.csv", dtype=str, keep_default_na=False)
    assert panel.columns.tolist() == [
        "participant_id", "PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "finished",
        "completion_code", "signed_up_at", "finished_at",
    ]  # fmt: skip
    first = panel.iloc[0]
    assert (first["PROLIFIC_PID"], first["STUDY_ID"], first["SESSION_ID"]) == tuple(
        ARRIVAL.values()
    )
    assert (first["finished"], first["completion_code"]) == ("True", "C0MPL3TE")
    assert (panel.iloc[1]["finished"], panel.iloc[1]["completion_code"]) == ("False", "")
    assert panel["participant_id"].tolist() == [str(p) for p in participants["participant_id"]]
    questions = pd.read_csv(out / "profile_questions.csv", dtype=str, keep_default_na=False)
    assert questions.columns.tolist() == ["participant_id", "handedness", "listening"]
    assert questions["handedness"].tolist() == ["left", "left"]
    assert questions["listening"].tolist() == ["", ""]
    quality = pd.read_csv(out / "quality.csv")
    assert quality["sound_check"].tolist() == ["passed", "failed"]
    assert quality["sound_check_attempts"].tolist() == [2, 3]
    assert quality["attention_passed"].tolist() == [1, 0]
    assert quality["screen_width"].tolist() == [1280, 1280]
    attention = pd.read_csv(out / "attention.csv")
    assert attention["kind"].tolist() == ["instructed", "instructed"]
    assert attention["passed"].tolist() == [True, False]
    # the second half of the 4 s clip: samples at 2.0 .. 4.0 s, all at the resting point
    assert attention["mean_valence"].tolist() == pytest.approx([0.85, -0.5])
    assert attention["n_samples"].tolist() == [5, 5]
    assert attention["distance"].iloc[0] == pytest.approx(((0.05**2) + (0.05**2)) ** 0.5)
    # attention trials stay out of the published files and the analyses
    static = pd.read_csv(out / "media_data.csv")
    assert "check1" not in set(static["media_id"]) and len(static) == 4
    assert "check1" not in set(pd.read_csv(out / "av_data.csv")["media_id"])
    assert len(load_dataset(out, features=False).static) == 4


def test_a_second_sign_up_with_the_same_panel_id_is_refused(setup: OnlineSetup) -> None:
    _client, first = arrive(setup, ARRIVAL)
    assert first.status_code == 200
    _client, again = arrive(setup, ARRIVAL)
    assert again.status_code == 400
    assert "you have signed up for this study already (PROLIFIC_PID" in unescape(again.text)


def test_bad_arrivals_get_one_clear_line(setup: OnlineSetup) -> None:
    client = TestClient(setup.app)  # type: ignore[arg-type]
    odd = client.get(f"/s/{setup.invite}", params={"PROLIFIC_PID": "<script>"})
    assert odd.status_code == 400
    assert "the link's PROLIFIC_PID parameter must be 1-128 letters" in unescape(odd.text)
    formula = client.get(f"/s/{setup.invite}", params={"PROLIFIC_PID": "@SUM(A1)"})
    assert formula.status_code == 400  # would be a formula in a spreadsheet
    _client, country = arrive(setup, ARRIVAL, country_live_longest="XX")
    assert country.status_code == 400
    assert "country live longest: choose a country from the list" in unescape(country.text)
    _client, missing = arrive(setup, ARRIVAL, q_handedness="")
    assert missing.status_code == 400
    assert "please answer: Which hand do you write with?" in unescape(missing.text)
    # the form kept the panel parameters for the next try
    assert 'name="panel__PROLIFIC_PID" value="5f1a2b3c4d5e6f7a8b9c0d1e"' in missing.text


def test_runner_form_options(setup: OnlineSetup) -> None:
    runner = setup.runner
    csrf = csrf_of(runner.get("/runner/studies/new").text)
    new_page = unescape(runner.get("/runner/studies/new").text)
    assert online.DEFAULT_CONSENT in new_page  # the MuVi study's texts, to edit
    for modality in ("music", "visual", "audiovisual"):  # all three conditions offered, ticked
        assert re.search(rf'name="modality_{modality}"\s+checked', new_page), modality

    def post(**changes: str):  # type: ignore[no-untyped-def]
        form = {**STUDY_FORM, "csrf_token": csrf, "name": "second", **changes}
        return runner.post("/runner/studies", data=form)

    for changes, message in (
        ({"questions": "Hand | choice | x | a; b"}, "questions, line 1: id 'Hand' must be"),
        ({"questions": "age | number | Age"}, "questions, line 1: id 'age' is used already"),
        (
            {"attention": "c, att.webm, 0, 2, 0, 0.3"},
            "attention trials, line 1: valence and arousal",
        ),
        ({"attention": "c, missing.webm, 0, 0, 0, 0.3"}, "media file 'missing.webm' not found"),
        ({"redirect_url": "javascript:alert(1)"}, "the redirect URL must be a full http"),
        ({"redirect_url": "https://x.org/?a={nope}"}, "the redirect URL names {nope}"),
        ({"url_params": "bad-name"}, "URL parameter 'bad-name' must be"),
        ({"min_screen_px": "-3"}, "min screen px must be between 0 and 4000"),
    ):
        reply = post(**changes)
        assert reply.status_code == 400, changes
        assert message in unescape(reply.text), (message, unescape(reply.text)[:3000])
    # MTurk: the preset's parameters, no redirect, a random code
    made = post(panel="mturk", completion_code="", attention="")
    assert made.status_code == 200
    study_id = int(made.url.path.rsplit("/", 1)[1])
    with setup.sessions() as session:
        options = online.study_options(session, study_id)
    assert options.url_params == ("workerId", "assignmentId", "hitId")
    assert options.redirect_url == "" and re.fullmatch(r"[0-9A-F]{8}", options.completion_code)


def test_small_screens_can_be_refused(setup: OnlineSetup) -> None:
    runner = setup.runner
    csrf = csrf_of(runner.get("/runner/studies/new").text)
    made = runner.post(
        "/runner/studies",
        data={**STUDY_FORM, "csrf_token": csrf, "name": "no phones", "min_screen_px": "600"},
    )
    invite = re.search(r'id="invite" href="[^"]*/s/([^"]+)"', made.text).group(1)
    phones = OnlineSetup(setup.app, runner, invite, 0)
    page = TestClient(setup.app).get(f"/s/{invite}", params=ARRIVAL)  # type: ignore[arg-type]
    assert 'data-min-screen="600"' in page.text and 'id="small-screen"' in page.text
    _client, phone = arrive(phones, ARRIVAL, screen_width="390", screen_height="844")
    assert phone.status_code == 400
    assert "This study needs a larger screen (at least 600 pixels" in unescape(phone.text)
    _client, blind = arrive(phones, ARRIVAL, screen_width="", screen_height="")
    assert blind.status_code == 400 and "could not be read" in unescape(blind.text)
    _client, laptop = arrive(phones, ARRIVAL)
    assert laptop.status_code == 200


def test_progress_estimate_uses_the_participants_own_pace() -> None:
    # before any trial: excerpt + 20 s per trial; 5 trials of 4 s -> 120 s
    assert (
        online.Progress(0, 5, 5 * (4 + online.DEFAULT_ANSWER_SECONDS)).time_left()
        == "about 2 minutes"
    )
    assert online.completion(online.OnlineOptions(completion_code="X"), {}) == ("X", "")
    opts = online.OnlineOptions.from_json(online.OnlineOptions(
        url_params=("id",), questions=online.parse_questions("a | text | A?"),
        attention=online.parse_attention("c, c.webm, 0, 0, 0, 0.5"),
    ).to_json())  # fmt: skip
    assert opts.questions[0].label == "A?" and opts.attention[0].tolerance == 0.5
    assert json.loads(opts.to_json())["url_params"] == ["id"]


def test_the_country_list_is_iso_3166_alpha_2() -> None:
    listed = online.countries()
    codes = [code for code, _ in listed]
    assert len(codes) == len(set(codes)) == 249  # the officially assigned alpha-2 codes
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in codes)
    names = dict(listed)
    assert (names["SG"], names["GB"], names["KR"], names["CI"]) == (
        "Singapore", "United Kingdom", "Korea, Republic of", "Côte d'Ivoire",
    )  # fmt: skip
    assert "UK" not in names and "EU" not in names  # not ISO 3166-1 codes
    # a second, independent source when the system has one (Debian's iso-codes)
    system = Path("/usr/share/iso-codes/json/iso_3166-1.json")
    if system.exists():
        reference = {c["alpha_2"] for c in json.loads(system.read_text())["3166-1"]}
        assert set(codes) == reference


def test_a_database_made_before_online_collection_is_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A study database at revision 0001 with a participant in it: the app
    upgrades it on start, the participant carries on, the export works."""
    from alembic import command
    from alembic.config import Config

    from muvi.study.db import MIGRATIONS_DIR, make_engine, session_factory
    from muvi.study.service import MediaSpec, Profile, StudyConfig, create_study, enrol_participant

    media = tmp_path / "media"
    media.mkdir()
    (media / "a.webm").write_bytes(b"x")
    db = tmp_path / "old.db"
    engine = make_engine(db)
    # revision 0001 has no study_state table: its studies are never paused
    monkeypatch.setattr("muvi.study.service.is_paused", lambda _session, _study: False)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with session_factory(engine)() as session:
        study = create_study(
            session, StudyConfig("old", [MediaSpec("a", "a.webm")], items_per_participant=1), media
        )
        token = enrol_participant(
            session, study, Profile(40, "Male", "SG", "SG", "EN", "Pop", 1)
        ).token
        study_id = study.id
    engine.dispose()

    app = create_app(db, media)  # migrates to the newest revision
    client = TestClient(app)
    assert client.get(f"/p/{token}").url.path == f"/p/{token}/instructions"
    page = client.get(f"/p/{token}/instructions").text
    assert "Each item plays for 60 seconds." in page  # the default instructions
    with app.state.server.sessions() as session:
        study = session.get(Study, study_id)
        out = tmp_path / "export"
        from muvi.study.export import export_study

        export_study(session, out, study_id)
    panel = pd.read_csv(out / "panel_data.csv")
    assert panel.columns.tolist() == [
        "participant_id", "finished", "completion_code", "signed_up_at", "finished_at",
    ]  # fmt: skip
    assert pd.read_csv(out / "quality.csv")["sound_check"].tolist() == ["off"]


def test_two_sign_ups_racing_with_one_panel_id_keep_one(setup: OnlineSetup) -> None:
    # both passed the check before either was stored: the database keeps the first
    from muvi.study.service import Profile, StudyError, enrol_participant

    with setup.sessions() as session:
        study = session.get(Study, setup.study_id)
        options = online.study_options(session, study.id)
        profile = Profile(30, "Male", "SG", "SG", "EN", "Pop", 0)
        first = enrol_participant(session, study, profile)
        second = enrol_participant(session, study, profile)
        online.record_arrival(session, first, options, ARRIVAL, {}, (None, None))
        second_id = second.id
        with pytest.raises(StudyError, match="signed up for this study already"):
            online.record_arrival(session, second, options, ARRIVAL, {}, (None, None))
        assert session.get(Participant, second_id) is None
        assert not session.scalars(select(Trial).where(Trial.participant_id == second_id)).all()
        assert session.get(ParticipantOnline, first.id).panel_id == ARRIVAL["PROLIFIC_PID"]


def test_time_left_follows_the_participants_median_trial(setup: OnlineSetup) -> None:
    from datetime import UTC, datetime, timedelta

    from muvi.study.service import Profile, enrol_participant

    with setup.sessions() as session:
        study = session.get(Study, setup.study_id)
        attention = online.attention_items(session, study)
        person = enrol_participant(
            session, study, Profile(30, "Male", "SG", "SG", "EN", "Pop", 0), attention
        )
        trials = list(
            session.scalars(
                select(Trial).where(Trial.participant_id == person.id).order_by(Trial.position)
            )
        )
        assert len(trials) == 4  # practice, two items, the attention trial
        before = online.progress(session, person, EXCERPT_S)
        assert (before.done, before.total) == (0, 4)
        assert before.seconds_left == 4 * (EXCERPT_S + online.DEFAULT_ANSWER_SECONDS)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for trial, seconds in zip(trials, (30, 50), strict=False):  # two done: median 40 s
            trial.started_at = start
            trial.completed_at = start + timedelta(seconds=seconds)
        session.commit()
        after = online.progress(session, person, EXCERPT_S)
    assert (after.done, after.total, after.seconds_left) == (2, 4, 2 * 40.0)
    assert after.time_left() == "about 2 minutes" and after.percent == 50


def test_text_answers_cannot_become_spreadsheet_formulas(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    online._write_csv(
        path,
        ("participant_id", "note", "hours"),
        [{"participant_id": 1, "note": "=HYPERLINK(\"x\")", "hours": -3},
         {"participant_id": 2, "note": "fine, thanks", "hours": None}],
    )  # fmt: skip
    table = pd.read_csv(path, keep_default_na=False)
    assert table["note"].tolist() == ['\'=HYPERLINK("x")', "fine, thanks"]
    assert table["hours"].astype(str).tolist() == ["-3", ""]  # numbers are left as they are


@pytest.mark.parametrize("count", online.SOUND_CHECK_BEEPS)
def test_sound_check_audio_holds_the_count_and_its_size_tells_nothing(count: int) -> None:
    audio = online.sound_check_audio(count, seed=count * 7)
    assert count_beeps(audio) == count
    assert len(audio) == len(online.sound_check_audio(3, seed=1))
    calibration = online.calibration_audio()
    import wave

    import numpy as np

    def peak(data: bytes) -> float:
        with wave.open(io.BytesIO(data)) as source:
            return float(np.abs(np.frombuffer(source.readframes(source.getnframes()), "<i2")).max())

    # the beeps 12 dB under the calibration tone: 20 log10 of the peak ratio
    assert 20 * np.log10(peak(calibration) / peak(audio)) == pytest.approx(12, abs=0.05)


def test_sound_check_names_before_the_rename_are_read(tmp_path: Path) -> None:
    old = online.OnlineOptions.from_json(
        '{"headphone_check": true, "headphone_attempts": 5, "url_params": []}'
    )
    assert (old.sound_check, old.sound_check_attempts) == (True, 5)
    (tmp_path / "quality.csv").write_text(
        "participant_id,screen_width,screen_height,headphone_check,headphone_attempts,"
        "attention_trials,attention_passed\n7,390,844,failed,3,1,1\n"
    )
    frame = online.read_quality(tmp_path / "quality.csv")
    assert frame.columns.tolist() == list(online.QUALITY_COLUMNS)
    assert (frame["sound_check"][0], frame["sound_check_attempts"][0]) == ("failed", 3)
    (tmp_path / "bad.csv").write_text("participant_id,sound_check\n1,passed\n")
    with pytest.raises(DataError, match="bad.csv: missing column.*sound_check_attempts"):
        online.read_quality(tmp_path / "bad.csv")
