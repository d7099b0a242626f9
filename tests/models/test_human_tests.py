"""Each model against human-level agreement (§7.1.1) and the paper block of results.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from muvi.cli import app
from muvi.models.human import HUMAN_TEST, human_per_item, human_tests


def _per_item(cccs: list[float], items: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": "exp2_lstm",
            "experiment": 2,
            "model": "lstm",
            "target_modality": "visual",
            "dimension": "valence",
            "media_id": items,
            "ccc": cccs,
        }
    )


def test_the_paired_test_on_hand_made_numbers():
    # four items; item d has only undefined human agreement, so it is left out
    agreement = pd.DataFrame(
        {
            "participant_id": [1, 2, 3, 1, 2, 1, 2, 3, 1],
            "media_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d"],
            "modality": "visual",
            "valence": [0.1, 0.3, 0.5, 0.0, 0.2, 0.6, np.nan, 0.8, np.nan],
            "arousal": 0.0,
        }
    )
    # the same items in another modality must not be used for a visual target
    other = agreement.assign(modality="music", valence=0.99)
    table = pd.concat([agreement, other], ignore_index=True)
    per_item = _per_item([0.5, 0.4, 0.2, 0.9], ["a", "b", "c", "d"])
    out = human_tests(per_item, table)
    assert len(out) == 1
    row = out.iloc[0]
    human = np.array([0.3, 0.1, 0.7])  # means by hand: (0.1+0.3+0.5)/3, (0+0.2)/2, (0.6+0.8)/2
    model = np.array([0.5, 0.4, 0.2])
    d = model - human
    t_by_hand = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    assert row["n_items"] == 3
    assert row["human_ccc_mean"] == pytest.approx(human.mean())
    assert row["model_ccc_mean"] == pytest.approx(model.mean())
    assert row["difference"] == pytest.approx(d.mean())
    assert row["t"] == pytest.approx(t_by_hand)
    assert row["t"] == pytest.approx(stats.ttest_rel(model, human).statistic)
    assert row["p"] == pytest.approx(stats.ttest_rel(model, human).pvalue)
    means = human_per_item(table).set_index(["media_id", "modality"])["valence"]
    assert means[("a", "visual")] == pytest.approx(0.3)
    assert np.isnan(means[("d", "visual")])


def test_no_agreement_table_gives_an_empty_table_and_one_pair_no_statistic():
    per_item = _per_item([0.5], ["a"])
    assert human_tests(per_item, None).empty
    table = pd.DataFrame(
        {
            "participant_id": [1],
            "media_id": ["a"],
            "modality": "visual",
            "valence": [0.2],
            "arousal": [0.0],
        }  # fmt: skip
    )
    row = human_tests(per_item, table).iloc[0]
    assert row["n_items"] == 1 and np.isnan(row["t"]) and np.isnan(row["p"])


def test_evaluate_writes_the_human_tests_and_the_paper_block(small_study, tmp_path):
    from muvi.annotations import agreement, quality_filter
    from muvi.data.loaders import load_dataset

    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--data", str(small_study), "--out", str(out), "--experiments", "1,4",
         "--models", "lstm", "--dimensions", "arousal", "--epochs", "1", "--threads", "1",
         "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["human_tests"]["test"] == HUMAN_TEST
    rows = {r["name"]: r for r in doc["human_tests"]["rows"]}
    assert set(rows) == {"exp1_lstm", "exp4_lstm"}
    # recomputed here from per_item.csv and the study's own leave-one-out agreement
    filtered, _ = quality_filter(load_dataset(small_study))
    table = agreement(filtered.dynamic)
    per_item = pd.read_csv(out / "per_item.csv")
    for name, modality in (("exp1_lstm", "music"), ("exp4_lstm", "audiovisual")):
        part = per_item[per_item["name"] == name]
        human = [
            table.loc[(table["media_id"] == m) & (table["modality"] == modality), "arousal"].mean()
            for m in part["media_id"]
        ]
        x, y = part["ccc"].to_numpy(), np.array(human)
        keep = np.isfinite(x) & np.isfinite(y)
        expected = stats.ttest_rel(x[keep], y[keep])
        assert rows[name]["n_items"] == keep.sum() >= 5
        assert rows[name]["t"] == pytest.approx(expected.statistic)
        assert rows[name]["p"] == pytest.approx(expected.pvalue)
        assert rows[name]["human_ccc_mean"] == pytest.approx(y[keep].mean())
    csv = pd.read_csv(out / "human_tests.csv")
    assert len(csv) == 2 and set(csv["dimension"]) == {"arousal"}
    # the paper block: present, and on simulated data never a match
    paper = doc["paper"]
    statuses = {c["status"] for c in paper["comparisons"]}
    assert paper["counts"]["reproduced"] == 0 and "reproduced" not in statuses
    assert any(c["key"] == "model_vs_human_t" for c in paper["comparisons"])
    assert "Table 6" in paper["models_tables"]


def test_the_paper_column_is_never_a_match_on_simulated_results(monkeypatch):
    from muvi.analysis import paper
    from muvi.report.models import paper_column, results_paper_block

    rows = pd.DataFrame({"name": ["exp1_lstm", "exp2_lstm"], "dimension": "arousal"})
    document = {
        "simulated": True,
        "experiments": [
            {"name": "exp1_lstm", "dimension": "arousal", "ccc_mean": 0.4449},
            {"name": "exp2_lstm", "dimension": "arousal", "ccc_mean": 0.1},
        ],
    }
    # the packaged file's Table 6 CCCs (0.4080, 0.1417): shown, never compared
    document.update(results_paper_block(document))
    column = paper_column(rows, document, "ccc_mean")
    assert column[0].startswith("0.4080 ± 0.2631 (not compared")
    assert column[1].startswith("0.1417 ± 0.2075 (not compared")
    # a hypothetical Table figure for exp1 (made here, not the paper's): shown, never a match
    made_up = paper.PaperValue(
        key="test_exp1_ccc", section="Table X", quantity="test only", printed="0.44",
        source="this test", results={"name": "exp1_lstm", "dimension": "arousal",
                                     "field": "ccc_mean"},
    )  # fmt: skip
    monkeypatch.setattr(paper, "paper_values", lambda: (made_up,))
    document.update(results_paper_block(document))
    column = paper_column(rows, document, "ccc_mean")
    assert column[0].startswith("0.44 (not compared") and column[1] == "not in the paper"
    real = {**document, "simulated": False}
    real.update(results_paper_block(real))
    assert paper_column(rows, real, "ccc_mean")[0] == "0.44 (reproduced)"  # 0.4449 rounds
