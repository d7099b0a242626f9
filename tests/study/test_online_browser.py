"""Online collection in a real browser (Debian's Chromium driven by
Playwright), at desktop size with the mouse and at 390 x 844 with touch: a
participant arrives from a Prolific-style link, signs up, passes the sound
check (the page plays the server's audio, which holds the beeps the server
drew, and never carries the count), rates a practice
trial, an item and an instructed attention trial, and is sent back to Prolific
with the completion code. The layouts are measured (the plane square, on the
picture or stacked under it, nothing overlapping, no sideways scrolling, the
plane in view in landscape). Screenshots go to ``MUVI_SCREENSHOT_DIR`` when
set (docs/screenshots)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from studyhelpers import count_beeps

from muvi.study import online
from muvi.study.db import open_database
from muvi.study.localserver import StudyServerProcess
from muvi.study.models import Item, Participant, Study, Trial
from muvi.study.online_models import ParticipantOnline
from muvi.study.service import MediaSpec, StudyConfig, create_study

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
EXCERPT_S = 3.0
ARRIVAL = {"PROLIFIC_PID": "60a1b2c3d4e5f60718293a4b", "STUDY_ID": "63f0aa", "SESSION_ID": "s1x"}
TARGET = (0.8, 0.8)
CODE = "MUVI2026"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.timeout(300),
]


def make_study(db: str, media: Path, fullscreen: bool, min_screen_px: int = 0) -> str:
    _engine, sessions = open_database(db)
    with sessions() as session:
        study = create_study(
            session,
            StudyConfig(
                name="online browser test (generated media)",
                items=[
                    MediaSpec("red_clip", "red.webm", 0.5),
                    MediaSpec("blue_clip", "blue.webm", 0.5),
                ],
                modalities=("audiovisual",),
                items_per_participant=1,
                excerpt_seconds=EXCERPT_S,
                practice=[MediaSpec("practice", "blue.webm")],
            ),
            media,
        )
        online.save_options(
            session,
            study,
            online.OnlineOptions(
                panel="prolific",
                url_params=online.PANEL_PRESETS["prolific"].params,
                completion_code=CODE,
                redirect_url=online.PANEL_PRESETS["prolific"].redirect_url,
                questions=online.parse_questions(
                    "hand | choice | Which hand do you write with? | left; right"
                ),
                sound_check=True,
                fullscreen=fullscreen,
                min_screen_px=min_screen_px,
                attention=online.parse_attention(
                    "check1, green.webm, 0.5, 0.8, 0.8, 0.3, For this clip, move the cursor to "
                    "the top right corner and keep it there."
                ),
            ),
        )
        return study.invite_token


class Pointer:
    """Moves the rating cursor with the mouse, or with a finger (touch events via CDP)."""

    def __init__(self, page: Any, touch: bool) -> None:
        self.page = page
        self.touch = touch
        self.down = False
        self.cdp = page.context.new_cdp_session(page) if touch else None

    def to(self, valence: float, arousal: float) -> bool:
        box = self.page.locator("#plane").bounding_box()
        if box is None:  # the trial ended and the plane was hidden
            return False
        x = box["x"] + (valence + 1) / 2 * box["width"]
        y = box["y"] + (1 - arousal) / 2 * box["height"]
        if not self.touch:
            self.page.mouse.move(x, y)
            return True
        kind = "touchMove" if self.down else "touchStart"
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        self.down = True
        return True

    def lift(self) -> None:
        if self.touch and self.down:
            self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        self.down = False


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def touch_targets(page: Any, *selectors: str) -> None:
    """Each selector's first element is at least 44 px high and wide."""
    for selector in selectors:
        found = box(page, selector)
        assert found["height"] >= 44 and found["width"] >= 44, (selector, found)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
    )  # fmt: skip


def inside(a: dict[str, float], b: dict[str, float], slack: float = 1.0) -> bool:
    return (
        a["x"] >= b["x"] - slack and a["y"] >= b["y"] - slack
        and a["x"] + a["width"] <= b["x"] + b["width"] + slack
        and a["y"] + a["height"] <= b["y"] + b["height"] + slack
    )  # fmt: skip


def check_layout(page: Any, phone: bool) -> None:
    """The trial page's geometry: a square plane, usable size, nothing overlapping."""
    layout = page.locator("#trial").get_attribute("data-layout")
    plane, video = box(page, "#plane"), box(page, "#media")
    coords, play, heading = box(page, ".coords"), box(page, "#play"), box(page, "h1")
    assert abs(plane["width"] - plane["height"]) <= 1.0  # square
    assert plane["width"] >= (300 if phone else 260)  # large enough to aim with a finger
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    assert plane["x"] >= 0 and plane["x"] + plane["width"] <= width
    assert not overlap(coords, play) and not overlap(plane, play)
    assert not overlap(plane, heading) and not overlap(coords, heading)
    touch_targets(page, "#play")
    if layout == "overlaid":  # on the picture, coordinates too
        assert inside(plane, video) and inside(coords, video)
    elif phone:  # stacked: the plane under the video
        assert plane["y"] >= video["y"] + video["height"] - 1
    else:  # beside the video
        assert plane["x"] >= video["x"] + video["width"]


def do_trial(
    page: Any,
    pointer: Pointer,
    target: tuple[float, float] | None,
    phone: bool,
    shot: Path | None,
    fullscreen: bool = False,
) -> None:
    page.wait_for_function("document.getElementById('media').readyState >= 2")
    check_layout(page, phone)
    if shot is not None:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(shot))

    def path(t: float) -> tuple[float, float]:
        return target if target is not None else (-0.6 + 0.3 * t, 0.5 - 0.2 * t)

    if phone:
        page.tap("#play")
    else:
        pointer.to(*path(0.0))
        page.focus("#play")
        page.keyboard.press("Enter")
    page.wait_for_function("window.muviTrial.stats.logged > 0")
    if fullscreen:  # asked for when the item starts (the key press is a user gesture)
        page.wait_for_function("document.fullscreenElement !== null", timeout=5_000)
    while page.locator("#answers").is_hidden():
        t = page.evaluate("Math.max(0, muviTrial.media.currentTime - muviTrial.start)")
        if not pointer.to(*path(min(t, EXCERPT_S))):
            break
        page.wait_for_timeout(25)
    pointer.lift()
    page.wait_for_selector("#answers", state="visible")
    touch_targets(page, "#answers label.check", "#next")
    page.check("input[name=seen_previously][value=no]")
    page.check("input[name=labels][value=calm]")
    page.click("#next")
    page.wait_for_load_state()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_prolific_participant_in_browser(size: str, study_media: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    phone = size == "phone"
    db = str(tmp_path / "online.db")
    invite = make_study(db, study_media, fullscreen=not phone)
    no_phones = make_study(db, study_media, fullscreen=False, min_screen_px=600)
    shots = Path(os.environ.get("MUVI_SCREENSHOT_DIR", tmp_path))
    _engine, sessions = open_database(db)
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
        page.route(
            "https://app.prolific.com/**",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<p>Prolific</p>"
            ),
        )
        query = "&".join(f"{k}={v}" for k, v in ARRIVAL.items())
        page.goto(f"{server.url}/s/{invite}?{query}")
        page.check("input[name=consent]")
        for name, value in {"age": "27", "lyric_language": "EN", "favorite_genre": "Indie",
                            "years_formal_training": "1"}.items():  # fmt: skip
            page.fill(f"input[name={name}]", value)
        page.select_option("select[name=gender]", "Non-binary")
        page.select_option("select[name=country_live_longest]", "SG")
        page.select_option("select[name=country_musical_enculturation]", "JP")
        page.select_option("select[name=q_hand]", "right")
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(shots / f"online_{size}_signup.png"))
        page.click("button[type=submit]")
        page.wait_for_url("**/instructions")
        page.check("input[name=understood]")
        page.click("#begin")

        # the sound check: the page plays the server's audio and never holds the count
        page.wait_for_url("**/sound-check")
        with sessions() as session:
            person = session.scalar(select(Participant).order_by(Participant.id.desc()))
            token = person.token
            expected = session.get(ParticipantOnline, person.id).headphone_expected
            trials = list(
                session.scalars(
                    select(Trial).where(Trial.participant_id == person.id).order_by(Trial.position)
                )
            )
            roles = [session.get(Item, t.item_id).role for t in trials]
            # one of each layout, whatever the draw gave
            for trial, overlaid in zip(trials, (True, False, True), strict=True):
                trial.overlaid = overlaid
            session.commit()
        assert roles == ["practice", "item", "attention"]
        assert "data-beeps" not in page.content()
        page.click("#calibrate")
        with page.expect_response("**/sound-check/test.wav*") as played:
            page.click("#play-test")
        address = urlsplit(played.value.url)  # nothing in it but the token and attempt
        assert (address.path, address.query) == (f"/p/{token}/sound-check/test.wav", "attempt=1")
        assert count_beeps(played.value.body()) == expected
        page.wait_for_selector("#answer-beeps:enabled", timeout=15_000)
        state = page.evaluate("window.muviSoundCheck")
        assert (state["calibrations"], state["tests"], state["ended"]) == (1, 1, 1)
        page.fill("#beeps", str(expected))
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(shots / f"online_{size}_sound_check.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        touch_targets(page, "#calibrate", "#play-test", "#beeps", "#answer-beeps")
        page.click("#answer-beeps")

        pointer = Pointer(page, touch=phone)
        page.wait_for_url("**/trial")
        assert page.locator("#progress-text").inner_text().startswith("0 of 3 done")
        do_trial(
            page,
            pointer,
            None,
            phone,
            shots / f"online_{size}_trial_overlaid.png",
        )
        page.wait_for_url("**/trial")
        assert page.locator("#progress-text").inner_text().startswith("1 of 3 done")
        do_trial(
            page,
            pointer,
            None,
            phone,
            shots / f"online_{size}_trial_side_by_side.png",
        )
        page.wait_for_url("**/trial")
        instruction = page.locator("#attention-instruction")
        assert "top right corner" in instruction.inner_text()
        if not phone:
            page.wait_for_function("document.getElementById('media').readyState >= 2")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / f"online_{size}_attention.png"))
        do_trial(
            page,
            pointer,
            TARGET,
            phone,
            shots / f"online_{size}_attention.png" if phone else None,
            fullscreen=not phone,
        )

        page.wait_for_url("**/preference")
        page.check("input[name=overlay_pref][value=Side-by-Side]")
        page.click("button[type=submit]")
        page.wait_for_url("**/done")
        assert page.locator("#completion-code").inner_text() == CODE
        page.screenshot(path=str(shots / f"online_{size}_done.png"))
        page.wait_for_url(
            f"https://app.prolific.com/submissions/complete?cc={CODE}", timeout=10_000
        )

        # a study that refuses small screens says so at once (and keeps the form away)
        refusing = context.new_page()
        refusing.goto(f"{server.url}/s/{no_phones}?{query}")
        message = refusing.locator("#small-screen")
        if phone:
            assert message.is_visible() and refusing.locator("#signup").is_hidden()
            assert "needs a larger screen (at least 600 pixels" in message.inner_text()
            refusing.screenshot(path=str(shots / f"online_{size}_small_screen_refused.png"))
        else:
            assert message.is_hidden() and refusing.locator("#signup").is_visible()
        refusing.close()

        if phone:  # the same phone turned sideways: a fresh trial page of another participant
            landscape = browser.new_context(
                viewport={"width": 844, "height": 390}, device_scale_factor=2,
                is_mobile=True, has_touch=True,
            )  # fmt: skip
            sideways = landscape.new_page()
            with sessions() as session:
                study = session.scalar(select(Study).order_by(Study.id))
                from muvi.study.service import Profile, enrol_participant

                other = enrol_participant(
                    session, study, Profile(30, "Male", "SG", "SG", "EN", "Pop", 0)
                )
                other.understood = True
                online.participant_record(session, other).headphone_passed = True  # sound check
                other.trials[0].overlaid = False
                session.commit()
                other_token = other.token
            sideways.goto(f"{server.url}/p/{other_token}/trial")
            sideways.wait_for_function("document.getElementById('media').readyState >= 2")
            plane = box(sideways, "#plane")
            assert abs(plane["width"] - plane["height"]) <= 1.0 and plane["width"] >= 200
            assert plane["y"] + plane["height"] <= 390  # in view without scrolling
            assert not overlap(plane, box(sideways, "#media"))
            assert sideways.evaluate("document.documentElement.scrollWidth") <= 844
            video = box(sideways, "#media")
            assert video["y"] + video["height"] <= 390  # the picture in view too
            play = box(sideways, "#play")
            assert play["y"] + play["height"] <= 390  # and the Play button
            sideways.screenshot(path=str(shots / f"online_{size}_landscape.png"))
        browser.close()

    with sessions() as session:
        record = session.scalar(
            select(ParticipantOnline).where(ParticipantOnline.panel_id == ARRIVAL["PROLIFIC_PID"])
        )
        assert json.loads(record.panel) == ARRIVAL
        assert json.loads(record.answers) == {"hand": "right"}
        assert (record.headphone_passed, record.headphone_attempts) == (True, 1)
        assert record.screen_width == (390 if phone else 1280)
        results = online.attention_results(
            session, session.scalar(select(Study).order_by(Study.id))
        )
    assert len(results) == 1 and results[0]["passed"], results
    assert results[0]["distance"] < 0.05  # the pointer stayed on the target
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
