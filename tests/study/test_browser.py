"""End to end in a real browser (Debian's Chromium driven by Playwright): a
scripted participant signs up, reads the instructions, does the two practice
trials and two rated trials moving the mouse along a known path, picks GEMS
terms and a layout; the runner logs in and downloads the export. The export
must reproduce the mouse path at 2 Hz, and load with ``load_dataset``.
Run against SQLite and against a PostgreSQL server started by the test."""

from __future__ import annotations

import io
import math
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from muvi.data.loaders import load_dataset
from muvi.study.db import open_database
from muvi.study.localserver import StudyServerProcess
from muvi.study.models import Item, Trial
from muvi.study.service import MediaSpec, StudyConfig, create_runner, create_study

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
EXCERPT_S = 4.0
START_S = 0.5
LABELS_PICKED = ("calm", "joyful")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.timeout(240),
]


class TrialEnded(Exception):
    pass


Path2D = Callable[[float], tuple[float, float]]


def mouse_path(index: int) -> Path2D:
    """The known path of trial ``index``: valence sweeps across the plane
    (left to right, or back for odd trials) while arousal falls."""
    sign = 1.0 if index % 2 == 0 else -1.0
    return lambda t: (sign * (-0.8 + 0.4 * t), 0.7 - 0.3 * t)


def make_study(db: str, media: Path) -> str:
    """Runner account and a short study (4 s excerpts) through the Python API."""
    _engine, sessions = open_database(db)
    with sessions() as session:
        owner = create_runner(session, "runner", "correct horse")
        study = create_study(
            session,
            StudyConfig(
                name="browser test (generated media)",
                items=[
                    MediaSpec("red_clip", "red.webm", START_S),
                    MediaSpec("green_clip", "green.webm", START_S),
                    MediaSpec("blue_clip", "blue.webm", START_S),
                ],
                items_per_participant=2,
                excerpt_seconds=EXCERPT_S,
                practice=[
                    MediaSpec("practice_a", "blue.webm"),
                    MediaSpec("practice_b", "red.webm"),
                ],
                examples={
                    "positive_high_arousal": MediaSpec("ex1", "red.webm"),
                    "positive_low_arousal": MediaSpec("ex2", "green.webm"),
                    "negative_low_arousal": MediaSpec("ex3", "blue.webm"),
                    "negative_high_arousal": MediaSpec("ex4", "red.webm"),
                },
            ),
            media,
            owner.id,
        )
        return study.invite_token


def plane_point(page, valence: float, arousal: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    box = page.locator("#plane").bounding_box()
    if box is None:  # the trial ended and the plane was hidden meanwhile
        raise TrialEnded
    return (
        box["x"] + (valence + 1) / 2 * box["width"],
        box["y"] + (1 - arousal) / 2 * box["height"],
    )


def do_trial(page, path: Path2D) -> int:  # type: ignore[no-untyped-def]
    """Play one trial, following ``path`` with the mouse in media time; returns its id."""
    page.wait_for_function("document.getElementById('media').readyState >= 1")
    trial_id = int(page.locator("#trial").get_attribute("data-trial"))
    page.mouse.move(*plane_point(page, *path(0.0)))
    page.focus("#play")
    page.keyboard.press("Enter")  # a user gesture that leaves the mouse on the plane
    page.wait_for_function("window.muviTrial.stats.logged > 0")
    while page.locator("#answers").is_hidden():
        t = page.evaluate("Math.max(0, muviTrial.media.currentTime - muviTrial.start)")
        try:
            page.mouse.move(*plane_point(page, *path(min(t, EXCERPT_S))))
        except TrialEnded:
            break
        page.wait_for_timeout(20)
    page.wait_for_selector("#answers", state="visible")
    page.check("input[name=seen_previously][value=no]")
    page.click("#next")  # no term ticked: the page asks for one and stays
    assert page.locator("#labels-needed").is_visible()
    for label in LABELS_PICKED:
        page.check(f"input[name=labels][value={label}]")
    page.click("#next")
    page.wait_for_load_state()
    return trial_id


def run_study_in_browser(db: str, media: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    invite = make_study(db, media)
    with (
        StudyServerProcess(db, media, log=tmp_path / "server.log") as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{server.url}/s/{invite}")
        page.check("input[name=consent]")
        for name, value in {
            "age": "31", "lyric_language": "EN", "favorite_genre": "Jazz",
            "years_formal_training": "5",
        }.items():  # fmt: skip
            page.fill(f"input[name={name}]", value)
        page.select_option("select[name=gender]", "Female")
        for name in ("country_live_longest", "country_musical_enculturation"):
            page.select_option(f"select[name={name}]", "SG")  # from the ISO 3166 list
        page.click("button[type=submit]")
        page.wait_for_url("**/instructions")
        assert page.locator("video[data-quadrant]").count() == 4
        # the demo plane answers the keyboard
        page.focus("#demo-plane")
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowUp")
        assert page.locator(".coords .v").first.inner_text() == "+0.20"
        assert page.locator(".coords .a").first.inner_text() == "+0.05"
        page.check("input[name=understood]")
        page.click("#begin")

        for index in range(2):
            page.wait_for_url("**/trial")
            assert page.locator("h1").inner_text() == f"Practice {index + 1} of 2"
            do_trial(page, mouse_path(index))
        rated: dict[int, int] = {}
        for index in range(2):
            page.wait_for_url("**/trial")
            assert page.locator("h1").inner_text() == f"Item {index + 1} of 2"
            rated[do_trial(page, mouse_path(index))] = index
        page.wait_for_url("**/preference")
        page.check("input[name=overlay_pref][value=Overlaid]")
        page.click("button[type=submit]")
        page.wait_for_url("**/done")

        # the runner's side: anonymous export refused, then login and download
        runner = browser.new_page()
        assert runner.request.get(f"{server.url}/runner/studies/1/export.zip").status == 401
        runner.goto(f"{server.url}/runner/studies/1")
        runner.wait_for_url("**/runner/login**")
        runner.fill("input[name=username]", "runner")
        runner.fill("input[name=password]", "correct horse")
        runner.click("button[type=submit]")
        runner.wait_for_url("**/runner/studies/1")
        completed = runner.locator("#per-condition tbody td:nth-child(2)").all_inner_texts()
        assert sum(int(c) for c in completed) == 2
        with runner.expect_download() as download:
            runner.click("#export")
        archive = Path(download.value.path()).read_bytes()
        browser.close()

    out = tmp_path / "export"
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        zf.extractall(out)
    check_export(out, db, rated)


def check_export(out: Path, db: str, rated: dict[int, int]) -> None:
    _engine, sessions = open_database(db)
    with sessions() as session:
        rows = session.execute(
            select(Trial.id, Item.media_id, Trial.modality, Trial.participant_id).join(Item)
        ).all()
    info = {trial_id: (media_id, modality, pid) for trial_id, media_id, modality, pid in rows}

    dataset = load_dataset(out)
    assert not dataset.simulated
    assert dataset.items == ["red_clip", "green_clip", "blue_clip"]
    assert len(dataset.participants) == 1
    profile = dataset.participants.iloc[0]
    assert (profile["gender"], profile["country_live_longest"], profile["overlay_pref"]) == (
        "Female", "SG", "Overlaid",
    )  # fmt: skip
    assert profile["understood_yes_or_no"] == "Yes"
    assert len(dataset.static) == 2  # the practice trials are not exported
    assert (dataset.static[list(LABELS_PICKED)] == 1).all().all()
    assert (
        dataset.static.drop(columns=list(LABELS_PICKED))
        .filter(regex="^(?!seen)")
        .select_dtypes("int64")
        .drop(columns="participant_id")
        .sum()
        .sum()
        == 0
    )
    assert not dataset.static["seen_previously"].any()
    assert b"\r\n" in (out / "video_urls.csv").read_bytes()

    dynamic = dataset.dynamic
    assert dynamic is not None
    raw = pd.read_csv(out / "raw_av_logs.csv")
    for trial_id, index in rated.items():
        media_id, modality, pid = info[trial_id]
        series = dynamic[(dynamic["media_id"] == media_id) & (dynamic["modality"] == modality)]
        assert len(series) == int(EXCERPT_S / 0.5)  # 2 Hz over the excerpt
        log = raw[raw["media_id"] == media_id]
        intervals = np.diff(log["timestamp"].to_numpy())
        assert abs(intervals.mean() - 0.5) < 0.1  # logged every 0.5 s
        path = mouse_path(index)
        # compare where the cursor was being followed (the log's time span)
        inside = series[
            (series["time"] >= log["timestamp"].min()) & (series["time"] <= log["timestamp"].max())
        ]
        assert len(inside) >= 6
        expected = np.array([path(t) for t in inside["time"]])
        assert np.abs(inside["valence"].to_numpy() - expected[:, 0]).max() < 0.08
        assert np.abs(inside["arousal"].to_numpy() - expected[:, 1]).max() < 0.08
        assert math.isclose(series["valence"].iloc[0], path(0)[0], abs_tol=0.1)


def test_participant_in_browser_sqlite(study_media: Path, tmp_path: Path) -> None:
    run_study_in_browser(str(tmp_path / "study.db"), study_media, tmp_path)


@pytest.mark.postgres
def test_participant_in_browser_postgresql(
    study_media: Path, tmp_path: Path, postgres_url: str
) -> None:
    run_study_in_browser(postgres_url, study_media, tmp_path)
    assert shutil.which("chromium") or Path(CHROMIUM).exists()


def _boxes_overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
    )  # fmt: skip


def test_trial_page_layouts(study_media: Path, tmp_path: Path) -> None:
    """Both layouts of a video trial: the plane drawn over the video, or beside
    it. Screenshots go to ``MUVI_SCREENSHOT_DIR`` when set (docs/screenshots)."""
    import os

    from playwright.sync_api import sync_playwright

    from muvi.study.service import Profile, enrol_participant

    db = str(tmp_path / "layouts.db")
    _engine, sessions = open_database(db)
    with sessions() as session:
        study = create_study(
            session,
            StudyConfig(
                "layouts (generated media)",
                [MediaSpec("red_clip", "red.webm"), MediaSpec("green_clip", "green.webm")],
                modalities=("music", "audiovisual"),
                items_per_participant=1,
                excerpt_seconds=EXCERPT_S,
            ),
            study_media,
        )
        tokens = {}
        for layout, overlaid in (("overlaid", True), ("side_by_side", False), ("music", None)):
            person = enrol_participant(
                session, study, Profile(30, "Male", "SG", "SG", "EN", "Pop", 0)
            )
            person.understood = True
            person.trials[0].modality = "music" if overlaid is None else "audiovisual"
            person.trials[0].overlaid = overlaid
            session.commit()
            tokens[layout] = person.token
        music_token = tokens.pop("music")
    shots = Path(os.environ.get("MUVI_SCREENSHOT_DIR", tmp_path))
    with (
        StudyServerProcess(db, study_media, log=tmp_path / "server.log") as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 880})
        for layout, token in tokens.items():
            page.goto(f"{server.url}/p/{token}/trial")
            page.wait_for_function("document.getElementById('media').readyState >= 2")
            assert page.locator("#trial").get_attribute("data-layout") == layout.replace("_", "-")
            page.mouse.move(*plane_point(page, 0.45, 0.6))
            page.focus("#play")
            page.keyboard.press("Enter")
            page.wait_for_function("window.muviTrial.stats.acked >= 2")
            page.evaluate("muviTrial.media.pause()")
            plane = page.locator("#plane").bounding_box()
            video = page.locator("#media").bounding_box()
            assert plane["width"] > 200 and video["width"] > 300
            if layout == "overlaid":  # the plane lies on the picture
                assert (
                    video["x"] <= plane["x"]
                    and plane["x"] + plane["width"] <= video["x"] + video["width"]
                )
                assert (
                    video["y"] <= plane["y"]
                    and plane["y"] + plane["height"] <= video["y"] + video["height"] + 1
                )
            else:  # beside it, not on it
                assert not _boxes_overlap(plane, video)
                assert plane["x"] >= video["x"] + video["width"]
            assert page.locator(".coords .v").first.inner_text() == "+0.45"
            assert page.locator(".coords .a").first.inner_text() == "+0.60"
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / f"trial_{layout}.png"))
        # music: sound only, no picture, the plane alone
        page.goto(f"{server.url}/p/{music_token}/trial")
        assert page.locator("video").count() == 0 and page.locator("audio#media").count() == 1
        page.wait_for_function("document.getElementById('media').readyState >= 2")
        page.mouse.move(*plane_point(page, -0.3, 0.2))
        page.focus("#play")
        page.keyboard.press("Enter")
        page.wait_for_function("window.muviTrial.stats.acked >= 2")
        assert page.evaluate("muviTrial.media.currentTime") > 0.4
        # touch input: a tap on the plane moves the cursor there
        touch = browser.new_context(has_touch=True, viewport={"width": 800, "height": 900})
        phone = touch.new_page()
        phone.goto(f"{server.url}/p/{music_token}/instructions")
        box = phone.locator("#demo-plane").bounding_box()
        phone.touchscreen.tap(box["x"] + 0.25 * box["width"], box["y"] + 0.75 * box["height"])
        assert phone.locator(".coords .v").first.inner_text() == "−0.50"
        assert phone.locator(".coords .a").first.inner_text() == "−0.50"
        browser.close()
    for layout in tokens:
        assert (shots / f"trial_{layout}.png").stat().st_size > 10_000
