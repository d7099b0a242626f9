"""Chi-square tests of static effects against a computation by hand with numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from muvi.analysis.static_effects import (
    GROUPINGS,
    annotation_groups,
    chi_square_table,
    chi_square_test,
    contingency_table,
    deviating_labels,
    static_effects,
)
from muvi.data.schema import GEMS_LABELS


def chi_square_by_hand(observed: np.ndarray) -> tuple[float, int, np.ndarray]:
    """Pearson's chi2 with expected = row * col / total, written out."""
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return chi2, dof, expected


def test_chi_square_matches_hand_computation(random_static, random_participants):
    groups = annotation_groups(random_static, random_participants)
    for grouping in GROUPINGS:
        observed = contingency_table(groups, grouping)
        result = chi_square_test(observed, grouping)
        kept = observed.loc[:, observed.sum(axis=0) > 0].to_numpy(float)
        chi2, dof, expected = chi_square_by_hand(kept)
        assert result.chi2 == pytest.approx(chi2, rel=1e-10)
        assert result.dof == dof
        # the p-value is the upper tail of the chi-square distribution
        assert result.p == pytest.approx(stats.chi2.sf(chi2, dof), rel=1e-9)
        np.testing.assert_allclose(result.expected.to_numpy(), expected)


def test_contingency_table_counts_selections_per_group(make_static):
    static = make_static(
        [
            (1, "a", "music", False, ("calm", "sad"), None),
            (2, "a", "visual", True, ("calm",), "overlaid"),
            (3, "b", "audiovisual", False, ("sad", "tense"), "side_by_side"),
            (1, "b", "visual", True, ("sad",), "side_by_side"),
        ]
    )
    people = pd.DataFrame(
        {
            "participant_id": [1, 2, 3],
            "gender": ["Female", "Male", "Female"],
            "years_formal_training": [3, 4, 10],
        }
    )
    groups = annotation_groups(static, people)
    modality = contingency_table(groups, "modality")
    assert modality.index.tolist() == ["music", "visual", "audiovisual"]
    assert modality.columns.tolist() == list(GEMS_LABELS)
    assert modality.loc["visual", ["calm", "sad", "tense"]].tolist() == [1, 1, 0]
    overlay = contingency_table(groups, "overlay")  # music has no overlay type
    assert overlay.index.tolist() == ["overlaid", "side_by_side"]
    assert overlay.loc["side_by_side", ["calm", "sad", "tense"]].tolist() == [0, 2, 1]
    training = contingency_table(groups, "training")  # 3 years is "<= 3"
    assert training.loc["<=3 years", ["calm", "sad"]].tolist() == [1, 2]
    assert training.loc[">3 years", ["calm", "sad", "tense"]].tolist() == [1, 1, 1]
    gender = contingency_table(groups, "gender")
    assert gender.loc["Female"].sum() == 5 and gender.loc["Male"].sum() == 1
    familiarity = contingency_table(groups, "familiarity")
    assert familiarity.loc["seen", ["calm", "sad"]].tolist() == [1, 1]
    assert familiarity.loc["not seen"].sum() == 4


def test_never_ticked_labels_are_dropped_before_the_test():
    observed = pd.DataFrame(
        [[10, 0, 20], [30, 0, 40]], index=["g1", "g2"], columns=["sad", "calm", "blue"]
    )
    result = chi_square_test(observed, "x")
    assert result.dropped_labels == ["calm"]
    assert result.dof == 1
    # 2 x 2 by hand: expected g1 sad = 30 * 40 / 100 = 12, ...
    assert result.chi2 == pytest.approx(4 / 12 + 4 / 18 + 4 / 28 + 4 / 42)


def test_one_group_gives_no_test():
    result = chi_square_test(pd.DataFrame([[3, 4]], index=["g"], columns=["sad", "calm"]), "x")
    assert np.isnan(result.chi2) and np.isnan(result.p)
    assert deviating_labels(result).empty


def test_deviating_labels_are_the_largest_adjusted_residuals(random_static, random_participants):
    results = static_effects(random_static, random_participants)
    result = results["modality"]
    top = deviating_labels(result, k=4)
    o = result.observed.to_numpy(float)
    total = o.sum()
    e = result.expected.to_numpy()
    row = o.sum(axis=1, keepdims=True) / total
    col = o.sum(axis=0, keepdims=True) / total
    z = (o - e) / np.sqrt(e * (1 - row) * (1 - col))
    largest = np.sort(np.abs(z).ravel())[::-1][:4]
    np.testing.assert_allclose(np.abs(top["adjusted_residual"]), largest)
    first = top.iloc[0]
    i = result.observed.index.get_loc(first["group"])
    j = result.observed.columns.get_loc(first["label"])
    assert first["residual"] == pytest.approx((o[i, j] - e[i, j]) / np.sqrt(e[i, j]))


def test_chi_square_table(random_static, random_participants):
    results = static_effects(random_static, random_participants)
    table = chi_square_table(results)
    assert table["grouping"].tolist() == list(GROUPINGS)
    # Holm over the groupings, by its definition: the k-th smallest p times (m - k + 1),
    # never below the correction of a smaller p, at most 1
    m = len(table)
    ordered = table.sort_values("p")
    running = 0.0
    for k, (p, p_holm) in enumerate(zip(ordered["p"], ordered["p_holm"], strict=True)):
        running = max(running, min(1.0, (m - k) * p))
        assert p_holm == pytest.approx(running)
    assert (table["dof"] > 0).all()
