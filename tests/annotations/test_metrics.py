"""CCC, RMSE and Pearson's r against hand arithmetic and second formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from muvi.annotations import ccc, pearson, rmse


def test_ccc_by_hand() -> None:
    # x = [1, 2, 3, 4], y = [2, 2, 4, 4]
    # mean x = 2.5, mean y = 3
    # var x = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, var y = (1 + 1 + 1 + 1) / 4 = 1
    # cov = ((-1.5)(-1) + (-0.5)(-1) + (0.5)(1) + (1.5)(1)) / 4 = 1
    # ccc = 2 * 1 / (1.25 + 1 + (2.5 - 3)^2) = 2 / 2.5 = 0.8
    assert ccc([1, 2, 3, 4], [2, 2, 4, 4]) == pytest.approx(0.8, abs=1e-12)


def test_ccc_identical_negated_and_shifted() -> None:
    x = np.array([0.1, -0.3, 0.5, -0.3])  # mean 0, so -x has the same mean
    assert ccc(x, x) == pytest.approx(1.0)
    assert ccc(x, -x) == pytest.approx(-1.0)
    # a pure shift by 1: cov = var = v, ccc = 2v / (2v + 1)
    v = float(np.var(x))
    assert ccc(x, x + 1.0) == pytest.approx(2 * v / (2 * v + 1))


@pytest.mark.parametrize("seed", range(5))
def test_ccc_matches_the_correlation_form(seed: int) -> None:
    # second formula: ccc = 2 r sx sy / (sx^2 + sy^2 + (mx - my)^2), r from scipy
    rng = np.random.default_rng(seed)
    x = rng.normal(size=50)
    y = 0.6 * x + rng.normal(scale=0.5, size=50) + 0.3
    r = stats.pearsonr(x, y).statistic
    sx, sy = np.std(x), np.std(y)
    expected = 2 * r * sx * sy / (sx**2 + sy**2 + (x.mean() - y.mean()) ** 2)
    assert ccc(x, y) == pytest.approx(expected, rel=1e-10)


def test_ccc_constant_series() -> None:
    # one constant series: cov = 0 -> ccc = 0; two equal constants: 0/0 -> nan
    assert ccc([0.1, 0.1, 0.1], [0.0, 0.5, 1.0]) == 0.0
    assert math.isnan(ccc([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]))


def test_rmse_by_hand() -> None:
    # differences 0.3, -0.4, 0 -> sqrt((0.09 + 0.16 + 0) / 3)
    assert rmse([0.0, 0.0, 0.5], [0.3, -0.4, 0.5]) == pytest.approx(math.sqrt(0.25 / 3))


def test_pearson_matches_scipy_and_is_nan_when_constant() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=30), rng.normal(size=30)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, rel=1e-10)
    # a constant series whose mean has rounding residue must still give nan
    assert math.isnan(pearson([0.1] * 7, list(range(7))))


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1.0, 2.0], [1.0], "differ in length"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "1-D"),
        ([1.0, float("nan")], [1.0, 2.0], "NaN"),
        ([], [], "empty"),
    ],
)
@pytest.mark.parametrize("metric", [ccc, rmse, pearson])
def test_bad_series_are_refused(metric, x, y, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        metric(x, y)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, 12, elements=st.floats(-1, 1)),
    arrays(np.float64, 12, elements=st.floats(-1, 1)),
)
def test_ccc_properties(x: np.ndarray, y: np.ndarray) -> None:
    # symmetric, never larger in size than Pearson's r, and bounded by 1
    value = ccc(x, y)
    assume(np.ptp(x) > 1e-3 and np.ptp(y) > 1e-3)
    assert value == pytest.approx(ccc(y, x), abs=1e-12)
    assert abs(value) <= abs(pearson(x, y)) + 1e-12
    assert -1.0 - 1e-12 <= value <= 1.0 + 1e-12
