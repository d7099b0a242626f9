"""The runner's dashboard in a real browser (Debian's Chromium driven by
Playwright) at 1280 px and at 390 px with touch: nothing cut off (every
element's scrollWidth within its clientWidth, nothing past the viewport),
every touch target (links, buttons, fields, checkbox labels) at least 44 px
on the phone, pause and resume, the edit form, and a preview trial that
plays and sends nothing. Screenshots go to ``MUVI_SCREENSHOT_DIR`` when set
(docs/screenshots)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from muvi.study import online
from muvi.study.db import open_database
from muvi.study.localserver import StudyServerProcess
from muvi.study.models import Participant, Sample, Study, Trial
from muvi.study.service import (
    MediaSpec,
    Profile,
    StudyConfig,
    create_runner,
    create_study,
    enrol_participant,
    set_target,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.timeout(300),
]
TARGETS = "a, button, input:not([type=hidden]), select, textarea, label.check"

CUT_OFF = """() => {
  const width = document.documentElement.clientWidth;
  const bad = [];
  if (document.documentElement.scrollWidth > width) bad.push("document " + document.documentElement.scrollWidth);
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.display === "inline" || el.closest("[hidden]")) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && !["INPUT", "SELECT", "TEXTAREA", "PROGRESS"].includes(el.tagName))
      bad.push(`${el.tagName}#${el.id}.${el.className} scroll ${el.scrollWidth} > ${el.clientWidth}`);
    if (box.right > width + 0.5) bad.push(`${el.tagName}#${el.id}.${el.className} right ${box.right} > ${width}`);
  }
  return bad;
}"""

SMALL_TARGETS = """(selector) => {
  const bad = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest("[hidden]") || getComputedStyle(el).display === "none") continue;
    if (el.matches("input[type=checkbox], input[type=radio]") && el.closest("label.check")) continue; // its label is the target
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.width < 44 || box.height < 44) bad.push(`${el.tagName}#${el.id} ${el.textContent.trim().slice(0, 30)} ${box.width.toFixed(1)}x${box.height.toFixed(1)}`);
  }
  return bad;
}"""


def make_study(db: str, media: Path) -> None:
    """A 12-item, three-condition study with the online checks on; five
    participants signed up, four trials each, the first three finished."""
    _engine, sessions = open_database(db)
    with sessions() as session:
        owner = create_runner(session, "runner", "correct horse")
        study = create_study(
            session,
            StudyConfig(
                name="Music video pilot (generated media)",
                items=[
                    MediaSpec(f"clip_{i:02d}", ("red", "green", "blue")[i % 3] + ".webm", 0.5)
                    for i in range(12)
                ],
                items_per_participant=4,
                excerpt_seconds=2.0,
                practice=[MediaSpec("practice", "blue.webm")],
            ),
            media,
            owner.id,
        )
        online.save_options(
            session,
            study,
            online.OnlineOptions(
                panel="prolific",
                url_params=online.PANEL_PRESETS["prolific"].params,
                completion_code="PILOT26",
                redirect_url=online.PANEL_PRESETS["prolific"].redirect_url,
                sound_check=True,
            ),
        )
        now = datetime.now(UTC)
        for n in range(5):
            person = enrol_participant(
                session, study, Profile(25 + n, "Female", "SG", "SG", "EN", "Pop", n)
            )
            if n < 3:
                for trial in person.trials:
                    trial.started_at = trial.completed_at = now
                person.finished_at = now
        set_target(session, study, 20)
        session.commit()


def rows(db: str) -> tuple[int, int, int]:
    _engine, sessions = open_database(db)
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(t))
            for t in (Participant, Trial, Sample)
        )


def check_layout(page: Any, phone: bool, where: str) -> None:
    assert page.evaluate(CUT_OFF) == [], where
    if phone:
        assert page.evaluate(SMALL_TARGETS, TARGETS) == [], where


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_dashboard_in_browser(size: str, study_media: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    phone = size == "phone"
    db = str(tmp_path / "dashboard.db")
    make_study(db, study_media)
    shots = Path(os.environ.get("MUVI_SCREENSHOT_DIR", tmp_path))
    with (
        StudyServerProcess(db, study_media, log=tmp_path / "server.log") as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if phone:
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2,
                is_mobile=True, has_touch=True,
            )  # fmt: skip
        else:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{server.url}/runner/studies/1")
        page.wait_for_url("**/runner/login**")
        check_layout(page, phone, "login")
        page.fill("input[name=username]", "runner")
        page.fill("input[name=password]", "correct horse")
        page.click("button[type=submit]")
        page.wait_for_url("**/runner/studies/1")

        # totals as the database holds them: 5 x 4 cells, 3 x 4 completed
        cells = page.locator("#per-condition tbody tr").all_inner_texts()
        assigned = [int(row.split()[-1]) for row in cells]
        completed = [int(row.split()[-2]) for row in cells]
        assert sum(assigned) == 20 and max(assigned) - min(assigned) <= 1
        assert sum(completed) == 12
        assert page.locator("#per-item tbody tr").count() == 12
        assert (
            page.locator("#participants").inner_text()
            == "5 signed up · 3 finished · target 20 (15%)"
        )
        check_layout(page, phone, "dashboard")
        page.screenshot(path=str(shots / f"dashboard_{size}.png"), full_page=True)

        # pause: a newcomer sees the paused page; resume
        page.click("#pause")
        page.wait_for_selector("#resume")
        assert page.locator("#study-state").inner_text() == "paused"
        check_layout(page, phone, "paused dashboard")
        invite = page.locator("#invite").inner_text()
        newcomer = context.browser.new_context(**({"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True} if phone else {}))  # fmt: skip
        other = newcomer.new_page()
        reply = other.goto(invite)
        assert reply.status == 503 and other.locator("h1").inner_text() == "This study is paused"
        check_layout(other, phone, "paused page")
        if phone:
            other.screenshot(path=str(shots / "study_paused_phone.png"))
        newcomer.close()
        page.click("#resume")
        page.wait_for_selector("#pause")

        # the edit form is closed once participants signed up
        assert page.locator("#edit").count() == 0
        assert "can no longer be edited" in page.locator("#edit-closed").inner_text()
        page.goto(f"{server.url}/runner/studies/new")
        check_layout(page, phone, "new-study form")  # its checkboxes included

        # the preview plays a trial and sends nothing
        before = rows(db)
        sent: list[str] = []
        page.on(
            "request",
            lambda r: sent.append(r.url) if "/api/" in r.url or r.method == "POST" else None,
        )
        page.goto(f"{server.url}/runner/studies/1/preview/trial-1")
        check_layout(page, False, "preview trial")  # the participant's page: no cut-off
        page.wait_for_function("document.getElementById('media').readyState >= 2")
        page.click("#play")
        page.wait_for_selector("#answers:not([hidden])", timeout=20_000)
        stats = page.evaluate("window.muviTrial.stats")
        assert stats["logged"] >= 3 and stats["acked"] == stats["logged"]  # kept in the page
        page.check("input[name=seen_previously][value=no]")
        page.locator("input[name=labels]").first.check()
        page.click("#next")
        page.wait_for_url("**/preview/trial-2**")
        assert sent == [] and rows(db) == before
        if not phone:
            page.screenshot(path=str(shots / "dashboard_preview_desktop.png"))
        browser.close()
    with open_database(db)[1]() as session:
        assert session.get(Study, 1) is not None
