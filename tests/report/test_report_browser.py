"""The report's wide tables in a real browser (Debian's Chromium driven by Playwright):
the hint shows only above tables wider than their box, and the header row stays in
view while the box scrolls."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from muvi.report import ReportSection, write_report

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.timeout(240),
]


def test_wide_table_hint_and_sticky_header(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    wide = pd.DataFrame({f"a_long_column_name_{i}": range(60) for i in range(30)})
    narrow = pd.DataFrame({"n": range(3)})
    out = write_report(
        tmp_path / "r.html",
        "Browser check",
        [ReportSection("Tables", tables={"Wide": wide, "Narrow": narrow})],
        simulated=False,
    )
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.goto(out.as_uri())
        hints = page.locator("p.hint")
        assert hints.count() == 2
        assert hints.nth(0).is_visible()  # before the wide table
        assert not hints.nth(1).is_visible()  # the narrow one fits
        box = page.locator("div.scroll").nth(0)
        widths = box.evaluate("b => [b.scrollWidth, b.clientWidth]")
        assert widths[0] > widths[1]
        header = box.locator("th").first
        top_before = header.bounding_box()["y"]
        box.evaluate("b => { b.scrollTop = 400; b.scrollLeft = 300; }")
        # the header row stays at the top of the scrolled box
        assert header.bounding_box()["y"] == pytest.approx(top_before, abs=1.5)
        first_row = box.locator("tbody tr").first.bounding_box()
        assert first_row["y"] < top_before  # the body moved up under it
        shadows = box.evaluate("b => getComputedStyle(b).backgroundAttachment")
        assert shadows == "local, local, scroll, scroll"
        browser.close()
