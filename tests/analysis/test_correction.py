"""Corrections for multiple comparisons, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from muvi.analysis.correction import benjamini_hochberg, corrected, holm, stars, stars_legend


def test_holm_on_four_p_values_by_hand() -> None:
    """Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04,
    raised to the running maximum 0.06."""
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    # 0.001 x 4, 0.02 x 3 = 0.06, 0.021 x 2 = 0.042 -> 0.06, 0.5 x 1; above 1 -> 1
    np.testing.assert_allclose(holm([0.02, 0.021, 0.5, 0.001]), [0.06, 0.06, 0.5, 0.004])
    np.testing.assert_allclose(holm([0.4, 0.6]), [0.8, 0.8])
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])


def test_holm_is_never_below_the_raw_p_nor_above_bonferroni() -> None:
    p = np.random.default_rng(3).uniform(0, 0.2, 30)
    adjusted = holm(p)
    assert (adjusted >= p - 1e-15).all()
    assert (adjusted <= np.minimum(p * len(p), 1.0) + 1e-15).all()
    # the order of the raw p-values is kept
    order = np.argsort(p)
    assert (np.diff(adjusted[order]) >= -1e-15).all()


def test_benjamini_hochberg_by_hand() -> None:
    """m = 4: 0.001 x 4 = 0.004, 0.02 x 4/2 = 0.04, 0.04 x 4/3 = 0.0533, 0.6 x 4/4 = 0.6;
    the running minimum from the largest leaves them as they are."""
    np.testing.assert_allclose(
        benjamini_hochberg([0.04, 0.001, 0.6, 0.02]), [0.04 * 4 / 3, 0.004, 0.6, 0.04]
    )
    # 0.03 x 3/2 = 0.045 is raised above by nothing, 0.04 x 3/3 = 0.04 pulls it down
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.03, 0.04]), [0.03, 0.04, 0.04])


def test_a_test_not_run_stays_missing_and_does_not_count() -> None:
    found = holm([0.01, np.nan, 0.04])
    assert np.isnan(found[1])
    np.testing.assert_allclose(found[[0, 2]], [0.02, 0.04])  # m = 2, not 3
    assert np.isnan(benjamini_hochberg([np.nan])).all()
    assert corrected([0.01, 0.04], "holm").tolist() == pytest.approx([0.02, 0.04])
    with pytest.raises(ValueError, match="unknown correction 'bonferroni'"):
        corrected([0.01], "bonferroni")


def test_stars_from_the_corrected_p_and_the_legend_names_the_correction() -> None:
    assert [stars(p) for p in holm([0.01, 0.04, 0.03, 0.005])] == ["*", "", "", "*"]
    assert [stars(p) for p in (0.01, 0.04, 0.03, 0.005)] == ["*", "*", "*", "**"]  # raw
    assert "Holm-corrected over every bar" in stars_legend("holm", "every bar")
    assert "Benjamini-Hochberg FDR-corrected" in stars_legend("fdr_bh", "every row")
