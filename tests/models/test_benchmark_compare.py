"""benchmarks/batched_grid.py's ``compare`` part: the bfloat16-versus-float32
statistics against values worked out by hand, the training settings carried
from the seed files into the printout, figure and JSON, and a refusal to mix
settings."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("batched_grid")


# three seeds of one run and dimension; CCC: float32 0.60, 0.62, 0.64 (mean 0.62, sd 0.02),
# bfloat16 0.66, 0.68, 0.70 (mean 0.68, sd 0.02): diff +0.06 = 3 float32 sds,
# se = sqrt((0.02^2 + 0.02^2) / 3) = 0.016330, |diff| > 2 se. RMSE: both precisions
# 0.10, 0.11, 0.12 shifted by +0.001 in bfloat16: diff 0.001 = 0.1 sd, within noise.
F32_CCC, B16_CCC = (0.60, 0.62, 0.64), (0.66, 0.68, 0.70)
F32_RMSE = (0.10, 0.11, 0.12)
B16_RMSE = tuple(v + 0.001 for v in F32_RMSE)


def _frame(ccc: tuple[float, ...], rmse: tuple[float, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": "exp1_lstm",
            "dimension": "valence",
            "ccc_mean": ccc,
            "rmse_mean": rmse,
            "seed": [0, 1, 2],
        }
    )


def test_compare_precisions_matches_hand_values(bench) -> None:
    table = bench.compare_precisions(_frame(F32_CCC, F32_RMSE), _frame(B16_CCC, B16_RMSE))
    ccc = table[table["metric"] == "ccc"].iloc[0]
    assert ccc["diff"] == pytest.approx(0.06)
    assert ccc["float32_seed_sd"] == pytest.approx(0.02)
    assert ccc["diff_over_sd"] == pytest.approx(3.0)
    assert ccc["se"] == pytest.approx(math.sqrt(2 * 0.02**2 / 3))
    assert bool(ccc["beyond_noise"])
    rmse = table[table["metric"] == "rmse"].iloc[0]
    assert rmse["diff"] == pytest.approx(0.001)
    assert rmse["diff_over_sd"] == pytest.approx(0.1)
    assert not bool(rmse["beyond_noise"])
    # Welch: CCC t = 0.06 / 0.01633 = 3.67 on 4 degrees of freedom, between the table's
    # two-sided 5% (2.776) and 2% (3.747) points; RMSE t = 0.12, p near 0.9
    assert 0.02 < ccc["welch_p"] < 0.05
    assert rmse["welch_p"] > 0.8


def _seed_file(out: Path, precision: str, ccc, rmse, settings: str | None) -> None:
    records = {
        str(seed): [{"name": "exp1_lstm", "dimension": "valence", "ccc_mean": c, "rmse_mean": r}]
        for seed, c, r in zip((0, 1, 2), ccc, rmse, strict=True)
    }
    doc: dict = {"precision": precision, "seeds": [0, 1, 2], "summaries": records}
    if settings is not None:
        doc["settings"] = settings
    (out / f"seeds_{precision}_0-2.json").write_text(json.dumps(doc), encoding="utf-8")


def _args(out: Path, reduced: bool = False) -> argparse.Namespace:
    return argparse.Namespace(out=str(out), quick=False, reduced=reduced)


def test_compare_labels_the_settings_from_the_seed_files(bench, tmp_path, capsys) -> None:
    _seed_file(tmp_path, "float32", F32_CCC, F32_RMSE, "paper")
    _seed_file(tmp_path, "bfloat16", B16_CCC, B16_RMSE, "paper")
    bench.part_compare(_args(tmp_path, reduced=True))  # the files' settings win
    printed = capsys.readouterr().out
    assert "SIMULATED study, paper settings, seeds [0, 1, 2]" in printed
    assert "beyond seed noise (|diff| > 2 se) in 1 of 2 rows: exp1_lstm valence ccc" in printed
    doc = json.loads((tmp_path / "compare_bf16_float32.json").read_text())
    assert doc["settings"] == "paper" and doc["seeds"] == [0, 1, 2]
    assert (tmp_path / "compare_bf16_float32.png").stat().st_size > 0


def test_compare_takes_unrecorded_settings_from_its_flags(bench, tmp_path, capsys) -> None:
    _seed_file(tmp_path, "float32", F32_CCC, F32_RMSE, None)
    _seed_file(tmp_path, "bfloat16", B16_CCC, B16_RMSE, None)
    bench.part_compare(_args(tmp_path, reduced=True))
    assert "REDUCED settings" in capsys.readouterr().out


def test_compare_refuses_mixed_settings(bench, tmp_path, capsys) -> None:
    _seed_file(tmp_path, "float32", F32_CCC, F32_RMSE, "paper")
    _seed_file(tmp_path, "bfloat16", B16_CCC, B16_RMSE, "REDUCED")
    bench.part_compare(_args(tmp_path))
    printed = capsys.readouterr().out
    assert "mix settings (REDUCED, paper)" in printed
    assert not (tmp_path / "compare_bf16_float32.json").exists()
