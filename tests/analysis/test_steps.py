"""The analyses as one list of steps: a toy step registered once shows up
as a table, a summary key, a progress stage and a report section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from muvi.analysis import steps
from muvi.analysis.outputs import figure_path, previous_outputs, table_path
from muvi.analysis.paper_steps import PAPER_STEPS
from muvi.analysis.step import AnalysisStep, StepContext
from muvi.data.schema import MODALITIES
from muvi.errors import MuviError
from muvi.progress import ProgressEvent
from muvi.report import ReportSection, register_section
from muvi.report.step_sections import unregister_section
from muvi.workflows import run_analysis


def _toy(ctx: StepContext) -> dict[str, Any]:
    counts = ctx.data.static.groupby("modality").size().rename("n").reset_index()
    path = table_path(ctx.out, "toy_counts")
    counts.to_csv(path, index=False)
    return {"toy_total": int(counts["n"].sum())}


def _toy_section(out: Path, summary: dict[str, Any], simulated: bool) -> list[ReportSection]:
    return [ReportSection("Toy count", html=f"<p>toy total {summary['toy_total']}</p>")]


@pytest.fixture
def toy_step():
    step = steps.register_step(
        AnalysisStep(
            "toy count",
            "static",
            _toy,
            tables=("toy_counts",),
            figures=("toy_*",),
            summary_keys=("toy_total",),
            section="toy",
        )
    )
    register_section("toy", _toy_section)
    yield step
    steps.unregister_step("toy count")
    unregister_section("toy")


def test_the_built_in_lists_are_derived_from_the_steps():
    assert [s.name for s in steps.steps_for("static")] == [
        "dataset size",
        "participants",
        "GEMS labels",
        "label co-occurrence",
        "chi-square tests",
    ]
    # counted by hand from the stages the pipeline reported before the steps existed:
    # quality filter, 5 static steps, summary and report; 4 dynamic; 3 + 2 beyond
    assert steps.stage_count(dynamic=False, beyond=False) == 7
    assert steps.stage_count(dynamic=True, beyond=False) == 7 + 4
    assert steps.stage_count(dynamic=True, beyond=True) == 7 + 4 + 3 + 2
    assert len(steps.STATIC_TABLES) == 16 and len(steps.DYNAMIC_TABLES) == 9
    assert len(steps.BEYOND_TABLES) == 12
    names = steps.tables()
    assert len(names) == len(set(names)) == 16 + 9 + 12
    assert sum(len(s.tables) for s in PAPER_STEPS) == 16 + 9


def test_a_toy_step_appears_everywhere(toy_step, muvi_dir, tmp_path):
    events: list[ProgressEvent] = []
    summary = run_analysis(muvi_dir, tmp_path, progress=events.append, figures=False)

    # its table: the kept static annotations per modality; the real file has one
    # row per annotation and the quality filter keeps them all (no dynamic ratings)
    raw = pd.read_csv(muvi_dir / "media_data.csv")
    table = pd.read_csv(table_path(tmp_path, "toy_counts")).set_index("modality")["n"]
    expected = raw["media_modality"].value_counts()
    assert set(table.index) == set(MODALITIES)
    public = {"music": "music", "visual": "muted_video", "audiovisual": "video"}
    for modality in MODALITIES:
        assert table[modality] == expected[public[modality]]

    # its summary key, in the summary and in summary.json
    assert summary["toy_total"] == len(raw) == 493 + 491 + 510
    assert json.loads((tmp_path / "summary.json").read_text())["toy_total"] == len(raw)

    # its progress stage: one more than the 1 + 7 stages of a static run
    messages = [e.message for e in events]
    assert messages.count("toy count") == 1
    assert messages.index("toy count") == messages.index("chi-square tests") + 1
    # before loading, the total assumes dynamic ratings (4 more stages); then it is known
    assert events[0].total == 1 + 7 + 4 + 1
    assert {e.total for e in events[1:]} == {1 + 7 + 1}
    assert events[-1].done == events[-1].total == 9

    # its report section, after the paper's static sections and before the comparison
    html = (tmp_path / "report.html").read_text()
    assert "<p>toy total 1494</p>" in html
    assert html.index(">Effects on static labels</h2>") < html.index(">Toy count</h2>")
    assert html.index(">Toy count</h2>") < html.index(">Paper vs this analysis</h2>")

    # and a later run removes its table and figures like every other output
    drawn, other = figure_path(tmp_path, "toy_bars"), figure_path(tmp_path, "other")
    drawn.parent.mkdir(parents=True, exist_ok=True)
    drawn.write_bytes(b"not a real figure")
    other.write_bytes(b"not ours")
    stale = previous_outputs(tmp_path)
    assert table_path(tmp_path, "toy_counts") in stale and drawn in stale
    assert other not in stale


def test_registering_is_checked(toy_step):
    with pytest.raises(ValueError, match="already registered"):
        steps.register_step(toy_step)
    with pytest.raises(ValueError, match="stage must be one of"):
        AnalysisStep("x", "sometimes", _toy)
    with pytest.raises(ValueError, match="already registered"):
        register_section("toy", _toy_section)


def test_a_step_must_fill_the_keys_it_declares(muvi_dir, tmp_path):
    liar = AnalysisStep("liar", "static", lambda ctx: {"other": 1}, summary_keys=("said",))
    steps.register_step(liar)
    try:
        with pytest.raises(MuviError, match="'liar' filled summary keys"):
            run_analysis(muvi_dir, tmp_path, figures=False)
    finally:
        steps.unregister_step("liar")
    assert "liar" not in [s.name for s in steps.STEPS]
