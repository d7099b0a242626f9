"""Agreement between two rating series: Lin's CCC, RMSE and Pearson's r.

Small pure functions in the librosa style: two 1-D numpy arrays of the same
length in, one float out. Moments are population moments (divide by ``n``),
as in Lin's definition of the concordance correlation coefficient.

Examples:
    >>> x = [0.0, 0.5, 1.0]
    >>> ccc(x, x), rmse(x, x), pearson(x, x)
    (1.0, 0.0, 1.0)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike


def _pair(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate two series: 1-D, same non-zero length, finite."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"expected two 1-D series, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"the two series differ in length ({a.size} and {b.size} samples)")
    if a.size == 0:
        raise ValueError("the series are empty")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the series contain NaN or infinite values")
    return a, b


def centered(x: np.ndarray) -> np.ndarray:
    """Deviations from the mean along the last axis, exactly zero for a constant
    series (``x - x.mean()`` can leave rounding residue such as 1e-17, which would
    make a constant series look correlated).

    Args:
        x: array of shape ``(..., n_samples)``.

    Returns:
        Array of the same shape.

    Examples:
        >>> centered(np.array([0.1, 0.1, 0.1])).tolist()
        [0.0, 0.0, 0.0]
    """
    d = x - x.mean(axis=-1, keepdims=True)
    constant = np.ptp(x, axis=-1, keepdims=True) == 0
    return np.where(constant, 0.0, d)


def ccc(x: ArrayLike, y: ArrayLike) -> float:
    """Lin's concordance correlation coefficient of two series.

    ``2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))**2)`` with
    population moments. It is 1 for identical series and penalises both poor
    correlation and a difference in level or scale.

    Args:
        x: shape ``(n_samples,)``, e.g. a gold-standard valence series in [-1, 1].
        y: shape ``(n_samples,)``, e.g. a prediction of it.

    Returns:
        CCC in [-1, 1]; ``nan`` when both series are constant and equal
        (the ratio is 0/0).

    Examples:
        >>> round(ccc([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]), 6)  # 2*(2/3) / (2/3 + 2/3 + 1) = 4/7
        0.571429
    """
    a, b = _pair(x, y)
    da, db = centered(a), centered(b)
    cov = float(np.mean(da * db))
    denom = float(np.mean(da * da) + np.mean(db * db) + (a.mean() - b.mean()) ** 2)
    if denom == 0.0:
        return float("nan")
    return 2.0 * cov / denom


def rmse(x: ArrayLike, y: ArrayLike) -> float:
    """Root mean squared difference of two series (in rating units).

    Args:
        x: shape ``(n_samples,)``.
        y: shape ``(n_samples,)``.

    Returns:
        ``sqrt(mean((x - y)**2))``.

    Examples:
        >>> rmse([0.0, 0.0], [0.3, -0.4])  # sqrt((0.09 + 0.16) / 2)
        0.3535533905932738
    """
    a, b = _pair(x, y)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson's correlation coefficient of two series.

    Args:
        x: shape ``(n_samples,)``.
        y: shape ``(n_samples,)``.

    Returns:
        r in [-1, 1]; ``nan`` when either series is constant.

    Examples:
        >>> pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
        -1.0
        >>> pearson([1.0, 1.0, 1.0], [3.0, 2.0, 1.0])
        nan
    """
    a, b = _pair(x, y)
    da, db = centered(a), centered(b)
    norm = float(np.sqrt(np.sum(da * da) * np.sum(db * db)))
    if norm == 0.0:
        return float("nan")
    return float(np.clip(np.sum(da * db) / norm, -1.0, 1.0))
