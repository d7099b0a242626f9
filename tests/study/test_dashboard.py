"""The runner's dashboard over HTTP: totals per condition and item, the
target, pause and resume, edits before the first sign-up, and the preview
that records nothing."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from studyhelpers import CSRF_FIELD, PROFILE_FORM, Setup, login, make_setup, signup, trials_of

from muvi.study.models import Item, Participant, Sample, Study, Trial
from muvi.study.online_models import StudyOnline


def _csrf(page: str) -> str:
    return CSRF_FIELD.search(page).group(1)


def _cells(table: str, page: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _rows(setup: Setup) -> tuple[int, int, int, int, int]:
    with setup.sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table))
            for table in (Participant, Trial, Sample, Item, StudyOnline)
        )


def test_totals_per_condition_and_item_and_the_target(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    runner = login(setup)
    for _ in range(2):
        signup(setup)
    with setup.sessions() as session:  # counted here from the trials themselves
        rated = list(
            session.execute(
                select(Item.media_id, Trial.modality)
                .join(Item, Item.id == Trial.item_id)
                .where(Trial.practice.is_(False))
            )
        )
    page = unescape(runner.get("/runner/studies/1").text)
    per_condition = {row[0]: (int(row[1]), int(row[2])) for row in _cells("per-condition", page)}
    assigned = {
        m: sum(1 for _, mod in rated if mod == m) for m in ("music", "visual", "audiovisual")
    }
    assert {m: a for m, (_, a) in per_condition.items()} == assigned
    assert sorted(assigned.values()) == [1, 1, 2]  # 4 cells over 3 conditions, within one
    assert all(done == 0 for done, _ in per_condition.values())
    per_item = {row[0]: row[1:] for row in _cells("per-item", page)}
    assert set(per_item) == {"item_a", "item_b", "item_c"}
    assert 'id="study-state" class="state running"' in page
    assert "2 signed up · 0 finished" in page

    target = runner.post(
        "/runner/studies/1/target", data={"csrf_token": _csrf(page), "target": "8"}
    )
    assert target.status_code == 200
    assert "target 8 (0%)" in unescape(target.text)
    assert 'max="8" value="0"' in target.text
    bad = runner.post("/runner/studies/1/target", data={"csrf_token": _csrf(page), "target": "-3"})
    assert bad.status_code == 400 and "between 1 and 100000" in bad.text


def test_a_paused_study_refuses_newcomers_and_lets_others_finish(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    runner = login(setup)
    client, token = signup(setup)
    opened_before = TestClient(setup.app)  # a sign-up form opened before the pause
    form_csrf = _csrf(opened_before.get(f"/s/{setup.invite}").text)
    page = runner.get("/runner/studies/1").text
    paused = runner.post(
        "/runner/studies/1/pause", data={"csrf_token": _csrf(page), "paused": "yes"}
    )
    assert 'class="state paused"' in paused.text and 'id="resume"' in paused.text

    newcomer = setup.client.get(f"/s/{setup.invite}")
    assert newcomer.status_code == 503 and "This study is paused" in newcomer.text
    assert newcomer.headers["retry-after"] == "3600"
    before = _rows(setup)
    # the form opened before the pause is refused as well, and stores nothing
    late = opened_before.post(f"/s/{setup.invite}", data={**PROFILE_FORM, "csrf_token": form_csrf})
    assert late.status_code == 503 and _rows(setup) == before
    # the participant who signed up before goes on
    assert client.get(f"/p/{token}").url.path == f"/p/{token}/instructions"
    assert len(trials_of(client, token)) == 3

    resumed = runner.post(
        "/runner/studies/1/pause", data={"csrf_token": _csrf(page), "paused": "no"}
    )
    assert 'class="state running"' in resumed.text
    assert setup.client.get(f"/s/{setup.invite}").status_code == 200


def test_edits_before_the_first_sign_up_only(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    runner = login(setup)
    form_page = runner.get("/runner/studies/1/edit")
    assert form_page.status_code == 200 and "Save the study" in form_page.text
    fields = dict(re.findall(r'<input name="([a-z_]+)"[^>]*value="([^"]*)"', form_page.text))
    assert fields["name"] == "api test" and fields["items_per_participant"] == "2"
    assert "item_a, a.webm, 1" in unescape(form_page.text)  # the items as written
    saved = runner.post(
        "/runner/studies/1/edit",
        data={
            "csrf_token": _csrf(form_page.text),
            "name": "api test, two items",
            "items": "item_a, a.webm, 2\nitem_c, c.webm",
            "practice": "practice, p.webm",
            "items_per_participant": "1",
            "excerpt_seconds": "4",
            "modality_visual": "on",
            "modality_music": "on",
        },
    )
    assert saved.status_code == 200 and saved.url.path == "/runner/studies/1"
    with setup.sessions() as session:
        study = session.get(Study, 1)
        assert (study.name, study.modality_list, study.items_per_participant) == (
            "api test, two items", ["music", "visual"], 1,
        )  # fmt: skip
        items = {
            i.media_id: i.start_s
            for i in session.scalars(select(Item).where(Item.study_id == 1, Item.role == "item"))
        }
        assert items == {"item_a": 2.0, "item_c": 0.0}
        assert sorted(study.item_order.split(",")) == sorted(
            str(i)
            for i in session.scalars(select(Item.id).where(Item.study_id == 1, Item.role == "item"))
        )
        invite = study.invite_token
    assert invite == setup.invite  # the same link
    bad = runner.post(
        "/runner/studies/1/edit", data={"csrf_token": _csrf(form_page.text), "name": ""}
    )
    assert bad.status_code == 400 and 'class="error"' in bad.text

    signup(setup)
    refused = runner.get("/runner/studies/1/edit")
    assert refused.status_code == 409 and "can no longer be changed" in refused.text
    late = runner.post(
        "/runner/studies/1/edit",
        data={"csrf_token": _csrf(form_page.text), "name": "x", "items": "item_b, b.webm",
              "items_per_participant": "1", "excerpt_seconds": "4", "modality_music": "on"},
    )  # fmt: skip
    assert late.status_code == 409
    with setup.sessions() as session:
        assert session.get(Study, 1).name == "api test, two items"


def test_the_preview_walks_every_page_and_records_nothing(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    runner = login(setup)
    before = _rows(setup)
    page = runner.get("/runner/studies/1/preview")
    assert (
        page.url.path == "/runner/studies/1/preview/signup" and "nothing is recorded" in page.text
    )
    visited = []
    while True:
        visited.append(page.url.path.rsplit("/", 1)[1])
        if visited[-1] == "done":
            break
        found = re.search(r'method="get" action="([^"]+)"', page.text)
        assert found, visited
        page = runner.get(unescape(found.group(1)))
        assert page.status_code == 200 and "nothing is recorded" in page.text
    # practice, then one item per condition
    assert visited == ["signup", "instructions", "trial-0", "trial-1", "trial-2", "trial-3",
                       "preference", "done"]  # fmt: skip
    assert 'data-preview="yes"' in runner.get("/runner/studies/1/preview/trial-1").text
    assert _rows(setup) == before
    # only a logged-in runner may preview it
    assert TestClient(setup.app).get("/runner/studies/1/preview/signup").status_code == 401
