"""benchmarks/reference_seeds.py: the study it builds and the figures it prints.

The study must be the real items, the real (participant, item, condition)
triples and the real features, with ratings marked SIMULATED; its concordance
stand-in must give audtorch's statistic (worked out by hand here); its table
must give the mean and the sample sd over seeds.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest


def test_concordance_stand_in_is_audtorchs_definition(load_benchmark) -> None:
    bench = load_benchmark("reference_seeds")
    x = np.array([0.1, 0.4, 0.2, 0.9])
    y = np.array([0.0, 0.5, 0.1, 0.7])
    # by hand: 2 r s_x s_y / (s_x^2 + s_y^2 + (m_x - m_y)^2), sample sds
    mx, my = x.mean(), y.mean()
    sxy = ((x - mx) * (y - my)).sum() / 3
    sx2, sy2 = ((x - mx) ** 2).sum() / 3, ((y - my) ** 2).sum() / 3
    expected = 2 * sxy / (sx2 + sy2 + (mx - my) ** 2)
    got = bench._ccc_like_audtorch(x, y)
    assert got.shape == (1,) and got[0] == pytest.approx(expected)
    assert bench._ccc_like_audtorch(x, x)[0] == pytest.approx(1.0)


def test_table_gives_mean_and_sample_sd(load_benchmark, tmp_path, capsys) -> None:
    bench = load_benchmark("reference_seeds")
    log = tmp_path / "seeds.jsonl"
    records = [
        {"code": "muvi", "seed": s, "dimension": "arousal", "ccc": c, "mse": 0.1}
        for s, c in enumerate((0.40, 0.44, 0.48))
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    (row,) = bench.table(log)
    assert row["seeds"] == 3 and row["ccc_mean"] == pytest.approx(0.44)
    assert row["ccc_sd"] == pytest.approx(0.04)  # sqrt((0.04^2 + 0 + 0.04^2) / 2)
    assert row["mse_sd"] == pytest.approx(0.0)
    assert "| muvi | arousal | 3 | 0.440 | 0.040 |" in capsys.readouterr().out
    assert math.isnan(bench.table(_one(tmp_path))[0]["ccc_sd"])


def _one(tmp_path):
    path = tmp_path / "one.jsonl"
    rec = {"code": "authors", "seed": 0, "dimension": "valence", "ccc": 0.2, "mse": 0.05}
    path.write_text(json.dumps(rec) + "\n")
    return path


def test_build_keeps_the_real_triples_and_marks_the_ratings_simulated(
    load_benchmark, muvi_dir, tmp_path
) -> None:
    bench = load_benchmark("reference_seeds")
    out = tmp_path / "study"
    bench.build(muvi_dir, out, rating_seed=3)
    meta = json.loads((out / "muvi_metadata.json").read_text())
    assert meta["simulated"] is True and "SIMULATED" in meta["notice"]
    dynamic = pd.read_csv(out / "av_data.csv")
    static = pd.read_csv(muvi_dir / "media_data.csv")
    keys = ["participant_id", "media_id", "media_modality"]
    triples = dynamic[keys].drop_duplicates()
    assert len(triples) == len(static) == 1494
    merged = triples.merge(static[keys], on=keys, how="inner")
    assert len(merged) == 1494  # every simulated series belongs to a real annotation
    assert (dynamic.groupby(keys).size() == bench.SAMPLES).all()
    assert dynamic[["valence", "arousal"]].abs().max().max() <= 1.0
    assert (out / "emobase_features").resolve() == (muvi_dir / "emobase_features").resolve()
    assert (out / "video_urls.csv").read_bytes() == (muvi_dir / "video_urls.csv").read_bytes()


def test_compare_weighs_the_gap_against_the_seed_spread(load_benchmark) -> None:
    bench = load_benchmark("reference_seeds")
    rows = [
        {"code": "muvi", "dimension": "arousal", "seeds": 3, "ccc_mean": 0.60, "ccc_sd": 0.02},
        {"code": "authors", "dimension": "arousal", "seeds": 3, "ccc_mean": 0.59, "ccc_sd": 0.01},
        {"code": "muvi", "dimension": "valence", "seeds": 3, "ccc_mean": 0.30, "ccc_sd": 0.01},
        {"code": "authors", "dimension": "valence", "seeds": 3, "ccc_mean": 0.25, "ccc_sd": 0.01},
    ]
    valence, arousal = bench.compare(rows)
    # by hand, arousal: se = sqrt(0.02^2/3 + 0.01^2/3) = sqrt(0.0005/3); t = 0.01 / se
    se = math.sqrt(0.0005 / 3)
    assert arousal["welch_t"] == pytest.approx(0.01 / se)
    # Welch-Satterthwaite: (va + vb)^2 / (va^2/2 + vb^2/2) with va = 0.0004/3, vb = 0.0001/3
    va, vb = 0.0004 / 3, 0.0001 / 3
    assert arousal["df"] == pytest.approx((va + vb) ** 2 / (va**2 / 2 + vb**2 / 2))
    assert arousal["verdict"] == "within seed spread"  # 0.01 <= 0.02
    # valence: equal sds, df = 4, t = 0.05 / sqrt(2 * 0.0001 / 3) = 6.124; p from t(4)
    assert valence["df"] == pytest.approx(4.0)
    assert valence["welch_t"] == pytest.approx(0.05 / math.sqrt(0.0002 / 3))
    assert valence["p"] == pytest.approx(0.0036, abs=2e-4)  # two-sided, t(4) = 6.12
    assert valence["verdict"] == "beyond seed spread"
    assert bench.compare(rows[:2] + [dict(rows[2], seeds=1)])[0]["dimension"] == "arousal"
