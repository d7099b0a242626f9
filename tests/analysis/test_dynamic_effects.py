"""KS, Mann-Whitney U and Kruskal-Wallis against computations by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from muvi.analysis.dynamic_effects import (
    annotation_medians,
    dynamic_effects_summary,
    modality_tests,
    normality_tests,
    overlay_tests,
)


def ranks_with_ties(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), written out without scipy."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def tie_term(x: np.ndarray) -> float:
    _, counts = np.unique(x, return_counts=True)
    return float((counts**3 - counts).sum())


@pytest.fixture
def medians() -> pd.DataFrame:
    """Annotation medians on a 0.05 grid (so there are ties), 40 per modality."""
    rng = np.random.default_rng(5)
    rows = []
    for m, shift in (("music", 0.0), ("visual", 0.15), ("audiovisual", 0.1)):
        for k in range(40):
            overlay = None if m == "music" else ("overlaid" if k % 2 else "side_by_side")
            bump = 0.1 if overlay == "overlaid" else 0.0
            rows.append(
                {
                    "participant_id": k,
                    "media_id": f"i{k % 7}",
                    "modality": m,
                    "valence": np.round((rng.normal(shift + bump, 0.3)) * 20) / 20,
                    "arousal": np.round(rng.uniform(-0.8, 0.8) * 20) / 20,
                    "overlay": overlay,
                }
            )
    return pd.DataFrame(rows)


def test_annotation_medians_and_overlay_join():
    dynamic = pd.DataFrame(
        {
            "participant_id": [1] * 4 + [2] * 4,
            "media_id": ["a"] * 8,
            "modality": ["visual"] * 8,
            "sample": [0, 1, 2, 3] * 2,
            "valence": [0.1, 0.4, 0.2, 0.9, -0.5, -0.1, 0.0, 0.3],
            "arousal": [0.0, 0.0, 0.5, 0.5, 1.0, 0.2, 0.4, 0.6],
        }
    )
    static = pd.DataFrame(
        {
            "participant_id": [1, 2],
            "media_id": ["a", "a"],
            "modality": ["visual", "visual"],
            "overlay": ["overlaid", "side_by_side"],
        }
    )
    table = annotation_medians(dynamic, static)
    # medians of 4 values: mean of the two middle ones
    assert table["valence"].tolist() == pytest.approx([0.3, -0.05])
    assert table["arousal"].tolist() == pytest.approx([0.25, 0.5])
    assert table["overlay"].tolist() == ["overlaid", "side_by_side"]


def test_ks_against_hand_statistic_and_scipy(medians):
    table = normality_tests(medians).set_index(["dimension", "modality"])
    x = np.sort(medians["valence"].to_numpy())
    n = len(x)
    cdf = stats.norm.cdf(x, loc=x.mean(), scale=x.std(ddof=1))
    d = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    row = table.loc[("valence", "all")]
    assert row["statistic"] == pytest.approx(d, abs=1e-12)
    assert row["n"] == n
    check = stats.kstest(x, stats.norm(x.mean(), x.std(ddof=1)).cdf)
    assert row["p"] == pytest.approx(check.pvalue, rel=1e-6)
    assert set(table.index.get_level_values("modality")) == {
        "music",
        "visual",
        "audiovisual",
        "all",
    }


def test_ks_rejects_a_bimodal_sample():
    values = np.r_[np.full(50, -0.8), np.full(50, 0.8)] + np.linspace(-0.01, 0.01, 100)
    frame = pd.DataFrame({"modality": "music", "valence": values, "arousal": values})
    row = normality_tests(frame).iloc[0]
    assert row["p"] < 1e-4


def test_mann_whitney_against_hand_ranks(medians):
    table = overlay_tests(medians).set_index("dimension")
    shown = medians[medians["modality"] != "music"]
    over = shown.loc[shown["overlay"] == "overlaid", "valence"].to_numpy()
    side = shown.loc[shown["overlay"] == "side_by_side", "valence"].to_numpy()
    n1, n2 = len(over), len(side)
    ranks = ranks_with_ties(np.r_[over, side])
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term(np.r_[over, side]) / (n * (n - 1))))
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / sigma  # continuity correction
    p = 2 * stats.norm.sf(z)
    row = table.loc["valence"]
    assert row["statistic"] == pytest.approx(u1)
    assert row["p"] == pytest.approx(p, rel=1e-9)
    assert (row["n_overlaid"], row["n_side_by_side"]) == (n1, n2)
    assert row["median_overlaid"] == pytest.approx(np.median(over))


def test_kruskal_against_hand_h(medians):
    table = modality_tests(medians).set_index("dimension")
    groups = [
        medians.loc[medians["modality"] == m, "arousal"].to_numpy()
        for m in ("music", "visual", "audiovisual")
    ]
    pooled = np.concatenate(groups)
    n = len(pooled)
    ranks = ranks_with_ties(pooled)
    sums, start = [], 0
    for g in groups:
        sums.append(ranks[start : start + len(g)].sum())
        start += len(g)
    h = 12 / (n * (n + 1)) * sum(s**2 / len(g) for s, g in zip(sums, groups, strict=True))
    h -= 3 * (n + 1)
    h /= 1 - tie_term(pooled) / (n**3 - n)
    row = table.loc["arousal"]
    assert row["statistic"] == pytest.approx(h, rel=1e-10)
    assert row["dof"] == 2
    assert row["p"] == pytest.approx(stats.chi2.sf(h, 2), rel=1e-9)
    assert row["median_visual"] == pytest.approx(np.median(groups[1]))


def test_summary_block_structure(medians):
    block = dynamic_effects_summary(
        normality_tests(medians), overlay_tests(medians), modality_tests(medians)
    )
    assert set(block) == {"ks", "mann_whitney", "kruskal"}
    for test in block.values():
        assert set(test) == {"valence", "arousal"}
        for result in test.values():
            assert set(result) == {"statistic", "p", "medians"}
    assert set(block["kruskal"]["valence"]["medians"]) == {"music", "visual", "audiovisual"}
    assert set(block["mann_whitney"]["arousal"]["medians"]) == {"overlaid", "side_by_side"}


def test_overlay_test_needs_both_layouts(medians):
    only_overlaid = medians[medians["overlay"] != "side_by_side"]
    assert overlay_tests(only_overlaid).empty
    assert overlay_tests(medians.drop(columns=["overlay"])).empty
