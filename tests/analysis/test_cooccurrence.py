"""Label co-occurrence against numpy.corrcoef and scipy.stats.pearsonr."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from muvi.analysis.cooccurrence import (
    label_correlation_matrix,
    label_correlations,
    strongest_pairs,
)
from muvi.data.schema import GEMS_LABELS


def test_matrix_matches_numpy_corrcoef(random_static):
    r, p = label_correlation_matrix(random_static)
    expected = np.corrcoef(random_static[list(GEMS_LABELS)].to_numpy(float), rowvar=False)
    np.testing.assert_allclose(r.to_numpy(), expected, atol=1e-12)
    assert r.index.tolist() == list(GEMS_LABELS)
    for a, b in [("moved", "allured"), ("sad", "joyful"), ("tense", "nervous")]:
        check = stats.pearsonr(random_static[a], random_static[b])
        assert r.loc[a, b] == pytest.approx(check.statistic, abs=1e-12)
        assert p.loc[a, b] == pytest.approx(check.pvalue, rel=1e-7)


def test_pairs_table_and_strongest_pairs(make_static):
    # "sad" and "blue" always together, "joyful" never with them, "calm" random
    rows = [
        (1, "a", "music", False, ("sad", "blue"), None),
        (2, "a", "music", False, ("sad", "blue", "calm"), None),
        (3, "a", "music", False, ("joyful",), None),
        (4, "a", "music", False, ("joyful", "calm"), None),
        (5, "a", "music", False, ("joyful",), None),
    ]
    table = label_correlations(make_static(rows))
    assert len(table) == 27 * 26 // 2
    sad_blue = table[(table["a"] == "sad") & (table["b"] == "blue")].iloc[0]
    assert sad_blue["r"] == pytest.approx(1.0) and sad_blue["p"] == pytest.approx(0.0)
    # phi of joyful vs sad: counts 2x2 [[0, 3], [2, 0]] -> r = -1
    joyful_sad = table[(table["a"] == "joyful") & (table["b"] == "sad")].iloc[0]
    assert joyful_sad["r"] == pytest.approx(-1.0)
    # labels nobody ticked have no correlation and never enter the top lists
    assert table[(table["a"] == "moved")]["r"].isna().all()
    positive, negative = strongest_pairs(table, k=3)
    assert (positive.iloc[0][["a", "b"]].tolist()) == ["sad", "blue"]
    assert negative["r"].iloc[0] == pytest.approx(-1.0)
    assert (positive["r"] > 0).all() and (negative["r"] < 0).all()
    assert positive[["a", "b", "r", "p"]].notna().all().all()
