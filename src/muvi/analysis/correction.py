"""Corrections for multiple comparisons, and the significance stars drawn from them.

A figure or table that tests many things at once (every target, condition and
feature set; every variant, network and dimension) states its correction:
the corrected p sits beside the raw one, the stars come from the corrected p,
and the caption names the correction (:func:`stars_legend`).

- :func:`holm`: Holm's step-down correction (controls the family-wise error
  rate, the chance of any false positive; uniformly more powerful than
  Bonferroni).
- :func:`benjamini_hochberg`: the Benjamini-Hochberg false discovery rate
  (q-values: the expected share of false positives among the tests called
  significant).

Missing p-values (NaN: a test that could not be run) stay missing and do not
count in the family's size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOLM = "holm"
FDR_BH = "fdr_bh"

CORRECTION_NAMES = {HOLM: "Holm", FDR_BH: "Benjamini-Hochberg FDR"}
"""How a caption names each correction."""

STAR_LEVELS = ((0.001, "***"), (0.01, "**"), (0.05, "*"))
"""Stars by corrected p: below 0.001, 0.01 and 0.05."""


def holm(p_values: np.ndarray | pd.Series) -> np.ndarray:
    """Holm-corrected p-values of a family of tests.

    The k-th smallest of the m p-values is multiplied by m - k + 1, then the
    running maximum is taken in that order (so the corrected p-values keep the
    raw ones' order), and values above 1 become 1.

    Args:
        p_values: the raw p-values (NaN for a test not run).

    Returns:
        The corrected p-values, in the input's order.

    Examples:
        >>> holm(np.array([0.01, 0.04, 0.03, 0.005])).round(3).tolist()
        [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ran = np.flatnonzero(np.isfinite(p))
    if ran.size == 0:
        return out
    order = ran[np.argsort(p[ran], kind="stable")]
    m = order.size
    scaled = p[order] * (m - np.arange(m))
    out[order] = np.clip(np.maximum.accumulate(scaled), 0.0, 1.0)
    return out


def benjamini_hochberg(p_values: np.ndarray | pd.Series) -> np.ndarray:
    """Benjamini-Hochberg q-values (false discovery rate) of a family of p-values.

    The k-th smallest of the m p-values is multiplied by m / k, then the
    running minimum is taken from the largest down, and values above 1 become 1.

    Args:
        p_values: the raw p-values (NaN for a test not run).

    Returns:
        The q-values, in the input's order.

    Examples:
        >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
        [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ran = np.flatnonzero(np.isfinite(p))
    if ran.size == 0:
        return out
    order = ran[np.argsort(p[ran], kind="stable")]
    m = order.size
    ranked = p[order] * m / np.arange(1, m + 1)
    out[order] = np.clip(np.minimum.accumulate(ranked[::-1])[::-1], 0.0, 1.0)
    return out


def corrected(p_values: np.ndarray | pd.Series, method: str = HOLM) -> np.ndarray:
    """The p-values corrected by ``method`` (:data:`HOLM` or :data:`FDR_BH`).

    Raises:
        ValueError: an unknown method.

    Examples:
        >>> corrected([0.01, 0.02], "fdr_bh").tolist()
        [0.02, 0.02]
    """
    if method == HOLM:
        return holm(p_values)
    if method == FDR_BH:
        return benjamini_hochberg(p_values)
    raise ValueError(f"unknown correction {method!r} (choose {HOLM} or {FDR_BH})")


def stars(p: float) -> str:
    """The significance stars of one (corrected) p-value: ``***``, ``**``, ``*`` or ``""``.

    Examples:
        >>> [stars(p) for p in (0.0005, 0.003, 0.04, 0.05, float("nan"))]
        ['***', '**', '*', '', '']
    """
    if not np.isfinite(p):
        return ""
    for level, mark in STAR_LEVELS:
        if p < level:
            return mark
    return ""


def stars_legend(method: str, family: str) -> str:
    """What the stars of a figure mean, for its caption or title.

    Args:
        method: :data:`HOLM` or :data:`FDR_BH`.
        family: the tests corrected together, e.g. ``"the 9 tests of this panel"``.

    Examples:
        >>> stars_legend("holm", "every bar")
        '* p < 0.05, ** p < 0.01, *** p < 0.001, Holm-corrected over every bar'
    """
    marks = ", ".join(f"{mark} p < {level:g}" for level, mark in reversed(STAR_LEVELS))
    return f"{marks}, {CORRECTION_NAMES[method]}-corrected over {family}"
