"""The paper's printed figures beside muvi's (src/muvi/data/paper_values.json).

The data file is checked against the paper's list of computable figures
(../shared/paper/figures.csv): every row is there, as printed, or listed as
not computed with a reason. On the real files (../shared/muvi) the figures
are worked out a second way here, with plain pandas on the published CSVs,
and muvi's status must agree with that count: reproduced exactly where the
plain count rounds to the printed figure.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from muvi.analysis.paper import (
    DIFFERS,
    NEEDS_DYNAMIC,
    NOT_COMPARED,
    NOT_DETERMINABLE,
    REPRODUCED,
    PaperValue,
    _parse,
    compare_results,
    compare_summary,
    compare_value,
    definitions,
    lookup,
    matches,
    not_computed,
    paper_block,
    paper_values,
)
from muvi.cli import main
from muvi.errors import DataError

SHARED = Path(os.environ.get("MUVI_SHARED", Path(__file__).resolve().parents[3] / "shared"))
"""The shared folder, found as tests/conftest.py finds it."""

PUBLIC = {"music": "music", "visual": "muted_video", "audiovisual": "video"}
"""The public files' spelling of the three conditions."""


@pytest.fixture(scope="module")
def figures() -> list[dict[str, str]]:
    path = SHARED / "paper" / "figures.csv"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return list(csv.DictReader(path.open(encoding="utf-8")))


# --- the data file ----------------------------------------------------------------------


def test_every_row_of_figures_csv_is_listed_as_printed(figures) -> None:
    values, skipped = paper_values(), not_computed()
    assert len(values) + len(skipped) == len(figures) == 288
    listed = sorted(
        [
            (v.section or "", v.quantity, v.condition or "", v.column or "", v.printed)
            for v in values
        ]
        + [
            (
                s.get("section") or "",
                s["quantity"],
                s.get("condition", ""),
                s.get("column", ""),
                s["printed"],
            )
            for s in skipped
        ]
    )
    expected = sorted(
        (
            r["section"] if not r["section"].startswith("Table") else "",
            r["quantity"],
            r["condition"],
            r["dimension_or_column"],
            r["printed"],
        )
        for r in figures
    )
    assert listed == expected
    for s in skipped:
        assert len(s["reason"]) > 20


def test_sources_cite_the_paper_only() -> None:
    values = paper_values()
    assert len({v.key for v in values}) == len(values)
    for v in values:
        assert v.source.startswith("Chua, Makris, Herremans, Roig and Agres (2022)"), v.key
        assert re.search(r"(§\d|Table \d)", v.source), v.key
        assert "issue" not in v.source.lower()
        assert v.summary or v.results or v.not_determinable, v.key
    for s in not_computed():
        assert s["source"].startswith("Chua, Makris")


def test_inconsistent_figures_carry_a_note() -> None:
    by_quantity = {(v.section, v.quantity, v.condition): v for v in paper_values()}
    assert "1041" in by_quantity[("§3.2", "annotations in the final dataset", "all")].notes
    valence = [v for v in paper_values() if "printed as 'mean'" in v.quantity]
    assert len(valence) == 3 and all("median" in v.notes for v in valence)
    t_test = next(v for v in paper_values() if v.section == "§7.1.2" and v.column == "valence CCC")
    assert "RMSE" in t_test.notes
    table6_error = [v for v in paper_values() if v.table == "Table 6" and "'RMSE'" in v.quantity]
    assert len(table6_error) == 14 and all(v.results["field"] == "mse_mean" for v in table6_error)


def test_printed_forms_and_precision() -> None:
    v = PaperValue("k", "§1", "q", "0.26", "s")
    assert matches(v, 0.255) and matches(v, 0.2649)
    assert not matches(v, 0.2651) and not matches(v, 0.2549)
    integer = PaperValue("k", "§1", "q", "49", "s")
    assert integer.decimals == 0 and matches(integer, 49.4) and not matches(integer, 49.6)
    sd = PaperValue("k", None, "q", "0.2675 ± 0.1075", "s")
    assert (sd.value, sd.printed_sd, sd.decimals) == (0.2675, 0.1075, 4)
    t = PaperValue("k", "§7.1.2", "q", "t(40) = -13.0", "s")
    assert (t.value, t.half_unit) == (-13.0, 0.05)
    u = PaperValue("k", "§4.2.1", "q", "1.15e5", "s")
    assert matches(u, 115_400) and not matches(u, 115_600)
    of = PaperValue("k", "§4.2.1", "q", "31 of 49", "s", printed_number="31")
    assert of.value == 31


def test_compare_value_statuses() -> None:
    v = PaperValue("k", "§1", "q", "15.83", "s", known_difference="a filter")
    c = compare_value(v, 15.827)
    assert (c.status, c.difference) == (REPRODUCED, pytest.approx(-0.003))
    off = compare_value(v, 15.9)
    assert (off.status, off.why, off.difference) == (DIFFERS, "a filter", pytest.approx(0.07))
    sim = compare_value(v, 15.83, simulated=True)
    assert sim.status == NOT_COMPARED and "SIMULATED" in sim.why
    missing = compare_value(v, None, why_missing="needs x", status_missing=NEEDS_DYNAMIC)
    assert (missing.status, missing.why, missing.ours) == (NEEDS_DYNAMIC, "needs x", None)
    assert compare_value(v, float("nan")).status == NOT_DETERMINABLE
    text = PaperValue("k", "§4.2.2", "q", "not significant", "s", kind="text")
    assert compare_value(text, "not significant").status == REPRODUCED
    assert compare_value(text, "significant").status == DIFFERS
    both = PaperValue("k", "§4.1.2", "q", "soothed; feeling of transcendence", "s", kind="text")
    assert compare_value(both, "feeling_of_transcendence; soothed").status == REPRODUCED


def test_compare_summary_uses_paths_and_dynamic_rule() -> None:
    values = (
        PaperValue("a", "§1", "q", "2.5", "s", summary="x.y"),
        PaperValue("b", "§2", "q", "0.30", "s", summary="d.z", needs_dynamic=True),
        PaperValue("c", "§3", "q", "1.0", "s", summary="x.w", caveat_without_dynamic="approx"),
        PaperValue("d", "§4", "q", "1.82", "s", not_determinable="no locator"),
        PaperValue("e", "§5", "q", "0.5", "s", results={"name": "exp1_lstm"}),
        PaperValue("f", "§6", "q", "not significant", "s", kind="text", summary="x.v"),
    )
    summary = {"x": {"y": 2.46, "w": 3.0, "v": "not significant"}, "d": {"z": 0.3}}
    rows = {
        c.paper.key: c
        for c in compare_summary(summary, simulated=False, has_dynamic=False, values=values)
    }
    assert set(rows) == {"a", "b", "c", "f"}  # the others go to the results block
    assert rows["a"].status == REPRODUCED and rows["f"].status == REPRODUCED
    assert rows["b"].status == NEEDS_DYNAMIC and "av_data.csv" in rows["b"].why
    assert (rows["c"].status, rows["c"].why) == (DIFFERS, "approx")
    with_dynamic = compare_summary(summary, simulated=False, has_dynamic=True, values=values)
    assert {c.paper.key: c.status for c in with_dynamic}["b"] == REPRODUCED
    block = paper_block(list(rows.values()))
    assert block["counts"] == {
        REPRODUCED: 2,
        DIFFERS: 1,
        NEEDS_DYNAMIC: 1,
        NOT_DETERMINABLE: 0,
        NOT_COMPARED: 0,
    }
    assert block["not_computed"] and "table3_filter" in block["definitions"]


def test_compare_results_reads_entries_ttests_and_human_tests() -> None:
    values = (
        PaperValue(
            "pair_v",
            None,
            "q",
            "0.0886 ± 0.2198",
            "s",
            results={
                "name": "exp7_lstm",
                "dimension": "valence",
                "field": "ccc_mean",
                "sd_field": "ccc_std",
            },
        ),
        PaperValue(
            "pair_a",
            None,
            "q",
            "0.10",
            "s",
            results={"name": "exp7_lstm", "dimension": "arousal", "field": "mse_mean"},
        ),
        PaperValue(
            "lasso",
            None,
            "q",
            "0.2",
            "s",
            results={"name": "exp9_lasso", "dimension": "valence", "field": "ccc_mean"},
        ),
        PaperValue(
            "t",
            "§7.1.2",
            "q",
            "t(40) = 2.81",
            "s",
            results={
                "ttest_a": "exp7_lstm",
                "ttest_b": "exp5_lasso",
                "dimension": "arousal",
                "metric": "ccc",
                "field": "t",
            },
        ),
        PaperValue(
            "human",
            "§7.1.1",
            "q",
            "1.82",
            "s",
            results={"human_test": "exp1_lasso", "dimension": "arousal", "field": "t"},
        ),
        PaperValue("families", None, "q", "MFCC", "s", kind="text", not_determinable="no rule"),
        PaperValue("summary_only", "§4", "q", "1.0", "s", summary="a.b"),
    )
    results = {
        "simulated": False,
        "experiments": [
            {"name": "exp7_lstm", "dimension": "valence", "ccc_mean": 0.08859, "ccc_std": 0.25},
            {"name": "exp7_lstm", "dimension": "arousal", "mse_mean": 0.2},
        ],
        # stored the other way round: t(b, a) = -t(a, b)
        "ttests": [
            {
                "dimension": "arousal",
                "metric": "ccc",
                "a": "exp5_lasso",
                "b": "exp7_lstm",
                "t": -2.812,
            }
        ],
        "human_tests": {"rows": [{"name": "exp1_lasso", "dimension": "arousal", "t": 1.5}]},
    }
    rows = {c.paper.key: c for c in compare_results(results, values)}
    assert set(rows) == {"pair_v", "pair_a", "lasso", "t", "human", "families"}
    assert rows["pair_v"].status == REPRODUCED and rows["pair_v"].ours_sd == 0.25
    assert rows["pair_a"].status == DIFFERS and rows["pair_a"].difference == pytest.approx(0.1)
    assert rows["lasso"].status == NOT_DETERMINABLE and "exp9_lasso" in rows["lasso"].why
    assert rows["t"].status == REPRODUCED and rows["t"].ours == pytest.approx(2.812)
    assert rows["human"].status == DIFFERS
    assert (rows["families"].status, rows["families"].why) == (NOT_DETERMINABLE, "no rule")
    simulated = compare_results({**results, "simulated": True}, values)
    assert {c.status for c in simulated} == {NOT_COMPARED, NOT_DETERMINABLE}


def test_lookup_and_malformed_records() -> None:
    assert lookup({"a": {"b": {"c": 1}}}, "a.b.c") == 1.0
    assert lookup({"a": {"b": None}}, "a.b") is None
    assert lookup({"a": {"b": True}}, "a.b") is None
    assert lookup({"a": "x"}, "a") is None and lookup({"a": "x"}, "a", text=True) == "x"
    record = {"key": "x", "section": None, "quantity": "q", "printed": "1", "source": "s"}
    with pytest.raises(DataError, match="unknown field"):
        _parse({**record, "typo": 1}, "f.json")
    with pytest.raises(DataError, match="malformed paper value"):
        _parse({**record, "printed": "one"}, "f.json")
    with pytest.raises(DataError, match="malformed paper value"):
        _parse({**record, "kind": "picture"}, "f.json")
    assert _parse({**record, "printed": "one", "kind": "text"}, "f.json").is_text


# --- Table 3's filter (the definitions) ---------------------------------------------------


def _labels(raw: pd.DataFrame) -> list[str]:
    return list(raw.columns[4:31])


def test_table3_filter_candidates_measured_on_the_public_rows(muvi_dir, figures) -> None:
    raw = pd.read_csv(muvi_dir / "media_data.csv")
    labels = _labels(raw)
    raw["n"] = raw[labels].sum(axis=1)
    assert (len(raw), int(raw["n"].sum())) == (1494, 6091)
    table3 = {
        (r["condition"], r["dimension_or_column"]): int(r["printed"])
        for r in figures
        if r["table"] == "3" and r["quantity"] == "GEMS label count"
    }
    assert sum(table3.values()) == 5999
    # a filter that drops whole annotations can only lower counts: it holds for every cell
    for (condition, label), printed in table3.items():
        assert raw.loc[raw["media_modality"] == PUBLIC[condition], label].sum() >= printed

    per_participant = raw.groupby("participant_id").size()
    incomplete = per_participant[per_participant < 30].index
    by_hand = (raw["participant_id"] == 23) & (raw["media_id"] == "U0CGsw6h60k")
    candidates = {
        "incomplete session": int(raw.loc[~raw["participant_id"].isin(incomplete), "n"].sum()),
        "dropped by name": int(raw.loc[~by_hand, "n"].sum()),
        "both": int(raw.loc[~raw["participant_id"].isin(incomplete) & ~by_hand, "n"].sum()),
        "duplicates": int(
            raw.drop_duplicates(["participant_id", "media_id", "media_modality"])["n"].sum()
        ),
        "annotations without labels": int(raw.loc[raw["n"] > 0, "n"].sum()),
    }
    assert list(incomplete) == [39]
    assert candidates == {
        "incomplete session": 6053,
        "dropped by name": 6087,
        "both": 6049,
        "duplicates": 6091,
        "annotations without labels": 6091,
    }
    assert 5999 not in candidates.values()
    # the data file states these measured misses
    text = definitions()["table3_filter"]
    for total in ("6,053", "6,087", "6,049", "6,091", "5,999"):
        assert total in text
    # Table 3's shares of stimuli imply 1,476 annotations (energetic: 573 of them)
    energetic = sum(v for (c, label), v in table3.items() if label == "energetic")
    assert round(energetic / 0.3882) == 1476


# --- the real release --------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_analysis(muvi_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("paper_real")
    main(["analyze", "--data", str(muvi_dir), "--out", str(out), "--quiet", "--no-figures"])
    return out


def _plain_counts(muvi_dir) -> dict[tuple[str, str], int]:
    raw = pd.read_csv(muvi_dir / "media_data.csv")
    return {
        (condition, label): int(raw.loc[raw["media_modality"] == public, label].sum())
        for condition, public in PUBLIC.items()
        for label in _labels(raw)
    }


def test_table3_counts_reproduced_exactly_where_the_plain_count_agrees(
    real_analysis, muvi_dir
) -> None:
    summary = json.loads((real_analysis / "summary.json").read_text())
    plain = _plain_counts(muvi_dir)
    rows = [
        c
        for c in summary["paper"]["comparisons"]
        if c["table"] == "Table 3" and c["quantity"] == "GEMS label count"
    ]
    assert len(rows) == 81
    reproduced = 0
    for c in rows:
        ours = plain[(c["condition"], c["column"])]
        assert c["ours"] == ours
        expected = REPRODUCED if ours == int(c["paper"]) else DIFFERS
        assert c["status"] == expected, c
        reproduced += expected == REPRODUCED
        if expected == DIFFERS:
            assert "5,999" in c["why"]
    assert reproduced == 38  # of 81 cells: the other 43 are above the printed count


def test_static_figures_of_the_real_files(real_analysis, muvi_dir) -> None:
    summary = json.loads((real_analysis / "summary.json").read_text())
    rows = {
        (c["section"], c["quantity"], c["condition"]): c for c in summary["paper"]["comparisons"]
    }
    people = pd.read_csv(muvi_dir / "participant_data.csv")
    raw = pd.read_csv(muvi_dir / "media_data.csv")

    def status(section: str, quantity: str, condition: str | None = None) -> dict:
        return rows[(section, quantity, condition)]

    # §3.2, worked out with pandas on the raw files
    assert round(people["age"].mean(), 2) == 23.35
    assert round(people["age"].std(), 2) == 3.28
    assert (people["gender"] == "Male").sum() == 31
    for quantity in (
        "male participants",
        "age mean (years)",
        "age standard deviation (years)",
        "age minimum (years)",
        "age maximum (years)",
    ):
        assert status("§3.2", quantity)["status"] == REPRODUCED, quantity
    assert len(people) == 49
    recruited = status("§3.2", "participants recruited")
    assert (recruited["status"], recruited["ours"]) == (DIFFERS, 49)
    per_cell = raw.groupby(["media_id", "media_modality"]).size()
    assert (per_cell.min(), per_cell.median(), per_cell.max()) == (5, 6, 9)
    assert status("§3.2", "annotations in the final dataset", "all")["status"] == REPRODUCED
    music = status("§3.2", "annotations in the final dataset", "music")
    assert (music["status"], music["ours"]) == (DIFFERS, (raw["media_modality"] == "music").sum())
    # §4.1.2: distinct labels per stimulus, the share of stimuli labelled 'energetic'
    labels = _labels(raw)
    distinct = (raw.groupby(["media_id", "media_modality"])[labels].max() > 0).sum(axis=1)
    assert round(float(distinct.mean()), 2) == 15.83
    distinct_rows = [
        c
        for c in summary["paper"]["comparisons"]
        if c["quantity"].startswith("distinct GEMS labels")
    ]
    assert [c["status"] for c in distinct_rows] == [REPRODUCED] * 4
    assert round(100 * raw["energetic"].mean(), 2) == 38.82
    # §4.2.2 and §4.2.1's interface preference
    for grouping in (
        "gender",
        "formal musical training",
        "familiarity",
        "modality",
        "overlay type",
    ):
        c = status("§4.2.2", f"chi-square of label frequencies by {grouping}")
        assert c["status"] == REPRODUCED, c
    assert (people["overlay_pref"] == "Side-by-Side").sum() == 31
    # the dynamic figures say what they need
    for c in summary["paper"]["comparisons"]:
        if c["section"] in ("§4.1.1", "§6.3") or c["table"] == "Table 5":
            assert c["status"] == NEEDS_DYNAMIC and "av_data.csv" in c["why"]
    assert summary["paper"]["counts"][NOT_COMPARED] == 0


def test_real_report_has_the_paper_column(real_analysis) -> None:
    from html import escape

    html = (real_analysis / "report.html").read_text()
    assert ">Paper vs this analysis</h2>" in html
    assert "263.26" in html and "Table 3" in html and "§4.2.2" in html
    assert REPRODUCED in html and NEEDS_DYNAMIC in html
    assert "5,999" in html  # the Table 3 filter, named beside the figures
    # each analysis section carries its own figures of the paper, with their status
    from muvi.report.analysis_sections import PAPER_CAPTION

    assert (
        html.count(escape(PAPER_CAPTION).replace("&#x27;", "&#39;")) == 5
    )  # study, participants, GEMS, co-occurrence, chi-square
    participants = html.split(">Participants</h2>", 1)[1].split("</section>", 1)[0]
    assert "23.35" in participants and "reproduced" in participants
    table = pd.read_csv(real_analysis / "tables" / "paper_comparison.csv")
    assert {"section", "table", "paper", "ours", "status", "why"} <= set(table.columns)
    assert (table["status"] == REPRODUCED).sum() >= 60
