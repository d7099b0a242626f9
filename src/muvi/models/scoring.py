"""Scoring a fold's test predictions: per item (the paper), or in the authors'
code's chunks of 111 windows (the ``chunked-scoring`` defect, on request only).

Each row carries the RMSE (the paper's metric), the MSE (what the authors'
code prints under that name) and the CCC.

Examples:
    >>> import numpy as np
    >>> y = np.zeros((1, 6)); p = np.full((1, 6), 0.5)
    >>> row = item_scores({"name": "exp1_lstm"}, ["a"], y, p)[0]
    >>> row["media_id"], row["mse"], row["rmse"]
    ('a', 0.25, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from muvi.annotations.metrics import ccc, rmse
from muvi.models.reference_code import CODE_CHUNK, chunked_scores


def mse(x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared difference of two series.

    Examples:
        >>> mse(np.array([0.0, 0.0]), np.array([0.3, -0.4]))
        0.125
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((a - b) ** 2))


def finite_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(x[i], y[i])`` where both are finite, as two float arrays.

    Examples:
        >>> finite_pairs(np.array([1.0, np.nan, 3.0]), np.array([0.0, 1.0, np.inf]))
        (array([1.]), array([0.]))
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def paired_ttest(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Paired t-test (``scipy.stats.ttest_rel``) over the pairs where both are finite.

    Returns:
        ``(t, p, n)``; t and p are NaN with fewer than 2 pairs or no difference at all.

    Examples:
        >>> # differences 1, 1, 3: mean 5/3, sd 2/sqrt(3), so t = (5/3) / (2/3) = 2.5
        >>> t, p, n = paired_ttest(np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0]))
        >>> round(t, 3), n
        (2.5, 3)
        >>> paired_ttest(np.array([1.0, np.nan]), np.array([0.0, 1.0]))[2]
        1
    """
    a, b = finite_pairs(x, y)
    if a.size < 2 or not np.any(a != b):
        return float("nan"), float("nan"), int(a.size)
    res = stats.ttest_rel(a, b)
    return float(res.statistic), float(res.pvalue), int(a.size)


def item_scores(
    base: dict[str, Any], items: Sequence[str], targets: np.ndarray, predictions: np.ndarray
) -> list[dict[str, Any]]:
    """One row per test item: ``base`` plus ``media_id``, ``rmse``, ``mse``, ``ccc``.

    Args:
        base: the columns every row shares (fold, name, experiment, ...).
        items: the test items, in the rows' order of ``targets``.
        targets: (n_items, n_windows) the scored ratings.
        predictions: the predictions, same shape.

    Returns:
        The rows.
    """
    return [
        {
            **base,
            "media_id": media_id,
            "rmse": rmse(targets[i], predictions[i]),
            "mse": mse(targets[i], predictions[i]),
            "ccc": ccc(targets[i], predictions[i]),
        }
        for i, media_id in enumerate(items)
    ]


def chunk_scores(
    base: dict[str, Any],
    items: Sequence[str],
    targets: np.ndarray,
    predictions: np.ndarray,
    chunk: int = CODE_CHUNK,
) -> list[dict[str, Any]]:
    """Rows as the authors' code scores a fold (defect ``chunked-scoring``).

    The items' windows are stacked item after item and cut into consecutive
    chunks of ``chunk`` (:func:`muvi.models.reference_code.chunked_scores`);
    chunk ``j`` is labelled with item ``j`` as the code labels it. Windows
    after the last whole chunk are never scored.

    Args:
        base: the columns every row shares.
        items: the fold's test items in stacking order.
        targets: (n_items, n_windows).
        predictions: same shape.
        chunk: the chunk length (code: 111).

    Returns:
        One row per chunk: ``base``, ``media_id`` (the code's label), ``rmse``
        (the root of the chunk's MSE), ``mse``, ``ccc``, ``chunk`` (its
        number) and ``chunk_items`` (the items whose windows it holds,
        joined by ``+``).
    """
    n_items, n_windows = targets.shape
    rows = chunked_scores(
        targets.reshape(-1), predictions.reshape(-1), list(items), n_windows, chunk, "mse"
    )
    return [
        {
            **base,
            "media_id": r["media_id"],
            "rmse": math.sqrt(r["error"]),
            "mse": r["error"],
            "ccc": r["ccc"],
            "chunk": r["chunk"],
            "chunk_items": "+".join(r["items"]),
        }
        for r in rows
    ]
