"""``muvi reproduce``: the variants, their table recomputed independently, the outputs, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from muvi.cli import app, main
from muvi.models.grid import EvaluationConfig
from muvi.models.lstm import BlockConfig
from muvi.models.reproduce import (
    VARIANTS,
    ReproduceConfig,
    ReproduceError,
    parse_variants,
    reproduce,
    variants,
)
from muvi.models.training import TrainingConfig

BASE = EvaluationConfig(
    experiments=(1, 7),
    dimensions=("arousal",),
    block=BlockConfig(hidden=(8, 8)),
    training=TrainingConfig(max_epochs=3, threads=1),
    workers=1,
)


@pytest.fixture(scope="module")
def two_seeds(synthetic_study):
    config = ReproduceConfig(
        base=BASE, variants=("paper", "restore-best", "metric"), seeds=(42, 43)
    )
    lines: list[str] = []
    return reproduce(synthetic_study, config, lines.append), lines


def test_every_variant_is_the_reference_with_one_thing_changed():
    chosen = {v.name: v for v in variants(BASE)}
    assert tuple(chosen) == VARIANTS
    ref = chosen["reference-code"].config
    assert ref.profile == "reference-code" and not ref.defects
    assert chosen["paper"].config.profile == "paper"
    assert chosen["restore-best"].config.training.restore_best
    assert not ref.training.restore_best
    assert ref.training.scaling_rows == "windows"
    assert chosen["scaling-rows"].config.training.scaling_rows == "all"
    assert chosen["pair-leak"].defects == {"pair-leak"}
    assert chosen["published"].defects == {"pair-leak", "chunked-scoring"}
    assert chosen["published"].notice.startswith("DEFECTS OF THE PUBLISHED CODE")
    assert chosen["metric"].printed == "rmse" and chosen["reference-code"].printed == "mse"
    assert all(v.config.models == ("lstm",) for v in chosen.values())  # no LASSO
    assert parse_variants("block") == ("reference-code", "block")
    with pytest.raises(ReproduceError, match="unknown variant 'nope'"):
        parse_variants("block,nope")


def test_the_table_is_recomputed_from_the_per_item_values(two_seeds):
    results, lines = two_seeds
    assert any("re-scoring the networks of reference-code" in line for line in lines)
    per_item = results.per_item
    assert set(per_item["variant"]) == {"paper", "reference-code", "restore-best", "metric"}
    assert set(per_item["seed"]) == {42, 43}
    table = results.table().set_index(["variant", "name", "dimension"])
    assert len(table) == 4 * 2
    for (variant, name, _dimension), row in table.iterrows():
        mine = per_item[(per_item["variant"] == variant) & (per_item["name"] == name)]
        ref = per_item[(per_item["variant"] == "reference-code") & (per_item["name"] == name)]

        # per-item means over the two seeds, by hand
        def means(part: pd.DataFrame, metric: str) -> pd.Series:
            a = part[part["seed"] == 42].set_index(["fold", "media_id"])[metric]
            b = part[part["seed"] == 43].set_index(["fold", "media_id"])[metric]
            return (a + b.reindex(a.index)) / 2

        x, y = means(mine, "ccc"), means(ref, "ccc")
        assert row["n_items"] == len(x) and row["n_seeds"] == 2
        assert row["ccc_mean"] == pytest.approx(x.mean())
        assert row["d_ccc"] == pytest.approx(x.mean() - y.mean(), abs=1e-12)
        # sd over two seeds of the per-seed means, ddof=1: |a - b| / sqrt(2)
        s42 = mine.loc[mine["seed"] == 42, "ccc"].mean()
        s43 = mine.loc[mine["seed"] == 43, "ccc"].mean()
        assert row["ccc_seed_sd"] == pytest.approx(abs(s42 - s43) / math.sqrt(2))
        # the printed error: MSE under the code's metric, RMSE otherwise
        printed = "rmse" if variant in ("paper", "metric") else "mse"
        assert row["printed_error"] == printed
        assert row["error_mean"] == pytest.approx(means(mine, printed).mean())
        assert row["mse_mean"] == pytest.approx(means(mine, "mse").mean())
        # per item, the MSE is the square of the RMSE (both over the item's samples)
        assert np.allclose(mine["mse"], mine["rmse"] ** 2)
        if variant == "reference-code" or variant == "metric":
            # the same networks: no change in CCC or MSE, no test
            assert row["d_ccc"] == 0 and math.isnan(row["ccc_t"])
            continue
        y = y.reindex(x.index)
        expected = stats.ttest_rel(x.to_numpy(), y.to_numpy())
        assert row["ccc_t"] == pytest.approx(expected.statistic, nan_ok=True)
        assert row["ccc_p"] == pytest.approx(expected.pvalue, nan_ok=True)
        assert row["ccc_n"] == len(x)
        mse_x, mse_y = means(mine, "mse"), means(ref, "mse").reindex(x.index)
        expected = stats.ttest_rel(mse_x, mse_y)
        assert row["mse_t"] == pytest.approx(expected.statistic, nan_ok=True)
    # the paper profile trains other networks: its changes are real numbers
    assert np.isfinite(table.loc[("paper", "exp1_lstm", "arousal"), "ccc_t"])


def test_the_metric_variant_prints_the_rmse_of_the_reference_networks(two_seeds):
    results, _ = two_seeds
    table = results.table().set_index(["variant", "name"])
    for name in ("exp1_lstm", "exp7_pair"):
        assert table.loc[("metric", name), "error_mean"] == pytest.approx(
            table.loc[("reference-code", name), "rmse_mean"]
        )
        assert table.loc[("metric", name), "d_error"] == pytest.approx(
            table.loc[("reference-code", name), "rmse_mean"]
            - table.loc[("reference-code", name), "mse_mean"]
        )
    assert results.retrained_from == {"metric": "reference-code"}


def test_cli_writes_tables_figure_json_and_report(small_study, tmp_path):
    out = tmp_path / "rep"
    result = CliRunner().invoke(
        app,
        ["reproduce", "--data", str(small_study), "--out", str(out), "--experiments", "1,2",
         "--dimensions", "arousal", "--variants", "chunked-scoring", "--reduced",
         "--epochs", "2", "--threads", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "reproduce.json").read_text())
    assert doc["simulated"] is True and doc["data"] == "SIMULATED"
    assert [v["name"] for v in doc["variants"]] == ["reference-code", "chunked-scoring"]
    chunked = doc["variants"][1]
    assert chunked["defect_notice"].startswith("DEFECTS OF THE PUBLISHED CODE REPLICATED")
    assert "not run" in doc["lasso"]
    # the paper block: present, never a match on simulated data, the tables not available
    assert doc["paper"]["counts"]["reproduced"] == 0
    assert doc["paper"]["compared_variant"] == "reference-code"
    assert all("not compared" in r["paper"] for r in doc["table"])
    for name in ("exp1_lstm", "exp2_lstm"):
        part = pd.read_csv(out / "tables" / f"{name}_arousal.csv")
        assert list(part["variant"]) == ["reference-code", "chunked-scoring"]
        assert set(part["data"]) == {"SIMULATED"}
        notice = part.set_index("variant")["defect_notice"]
        assert notice["chunked-scoring"].startswith("DEFECTS") and pd.isna(notice["reference-code"])
    combined = pd.read_csv(out / "reproduce_table.csv")
    assert len(combined) == 4
    assert (out / "figures" / "reproduce_changes.png").stat().st_size > 5000
    assert (out / "figures" / "reproduce_changes.svg").exists()
    assert (out / "figures" / "reproduce_changes.pdf").read_bytes()[:5] == b"%PDF-"
    # the t-tests Holm-corrected over the table's 2 tests (the reference has none), by hand:
    # the smaller p doubled, the larger one kept but never below the smaller's correction
    tested = combined[combined["variant"] == "chunked-scoring"]
    assert combined.loc[combined["variant"] == "reference-code", "ccc_p_holm"].isna().all()
    low, high = sorted(tested["ccc_p"])
    expected = {low: min(1.0, 2 * low), high: min(1.0, max(high, 2 * low))}
    for raw, holm in zip(tested["ccc_p"], tested["ccc_p_holm"], strict=True):
        assert holm == pytest.approx(expected[raw])
    assert list(combined.columns).index("ccc_p_holm") == list(combined.columns).index("ccc_p") + 1
    page = (out / "report.html").read_text()
    assert "Holm-corrected over every bar" in page and "CCC p, Holm-corrected" in page
    assert '<a href="figures/reproduce_changes.pdf">PDF</a>' in page
    assert "SIMULATED" in page and "Reproducing the paper" in page
    assert "DEFECTS OF THE PUBLISHED CODE REPLICATED" in page
    human = pd.read_csv(out / "reproduce_human_tests.csv")
    assert set(human["variant"]) == {"reference-code", "chunked-scoring"}
    assert "CCC" in result.output and "SIMULATED" in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--variants", "block,sideways", "unknown variant 'sideways'"),
        ("--experiments", "1,9", "unknown experiment 9"),
        ("--dimensions", "dominance", "unknown dimension 'dominance'"),
    ],
)
def test_bad_options_give_one_error_line(small_study, tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--data", str(small_study), "--out", str(tmp_path / "o"), option, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not (tmp_path / "o").exists()


def test_defect_variants_change_only_what_they_should(synthetic_study):
    config = ReproduceConfig(base=BASE, variants=("pair-leak", "published"), seeds=(42,))
    results = reproduce(synthetic_study, config)
    # published = pair-leak's networks scored in the code's chunks: not trained again
    assert results.retrained_from == {"published": "pair-leak"}
    table = results.table().set_index(["variant", "name"])
    # the leak concerns PAIR alone: the unimodal networks are the reference's
    assert table.loc[("pair-leak", "exp1_lstm"), "d_ccc"] == 0
    assert table.loc[("pair-leak", "exp1_lstm"), "d_mse"] == 0
    assert table.loc[("pair-leak", "exp7_pair"), "d_ccc"] != 0
    assert table.loc[("published", "exp1_lstm"), "defects"] == "chunked-scoring,pair-leak"
    per_item = results.per_item
    ref = per_item[per_item["variant"] == "reference-code"]
    chunks = per_item[per_item["variant"] == "published"]
    assert chunks["chunk"].notna().all() and ref["chunk"].isna().all()
    # one chunk per test item in every fold, labelled with the item (the code's labels)
    for (fold, name), part in chunks.groupby(["fold", "name"]):
        items = ref[(ref["fold"] == fold) & (ref["name"] == name)]["media_id"]
        assert list(part["media_id"]) == list(items)
        assert list(part["chunk"]) == list(range(len(items)))
    # chunk j is paired with the item whose label it carries
    for name in ("exp1_lstm", "exp7_pair"):
        x = chunks[chunks["name"] == name].set_index(["fold", "media_id"])["ccc"]
        y = ref[ref["name"] == name].set_index(["fold", "media_id"])["ccc"].reindex(x.index)
        row = table.loc[("published", name)]
        assert row["ccc_n"] == len(x) == row["n_items"]
        expected = stats.ttest_rel(x.to_numpy(), y.to_numpy())
        assert row["ccc_t"] == pytest.approx(expected.statistic)
        assert row["d_ccc"] == pytest.approx(x.mean() - y.mean())
    assert table.loc[("published", "exp1_lstm"), "defect_notice"].startswith("DEFECTS")
