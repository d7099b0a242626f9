"""Inter-rater agreement (the human reference of Chua et al. 2022, §7.1): each annotation
against the others.

For every annotation, the CCC between its series and the EWE of the OTHER
annotators of the same item and modality (leave-one-out), so that an
annotation never agrees with itself. With fewer than two other annotators
the EWE of the others is not a consensus, and the agreement is ``nan``.

Examples:
    >>> import pandas as pd
    >>> dynamic = pd.DataFrame({"participant_id": [1] * 2 + [2] * 2 + [3] * 2,
    ...                         "media_id": "a", "modality": "music", "sample": [0, 1] * 3,
    ...                         "valence": [0.0, 1.0] * 3, "arousal": [0.0, 1.0] * 3})
    >>> agreement(dynamic)["valence"].tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from muvi.annotations._tables import (
    ANNOTATION_KEYS,
    check_dynamic,
    item_matrices,
    require_columns,
)
from muvi.annotations.ewe import _check_variant, ewe_batch
from muvi.annotations.metrics import centered
from muvi.data.schema import DIMENSIONS, MODALITIES

MIN_OTHERS = 2
"""Fewest other annotators for a leave-one-out EWE to count as a consensus."""


def _ccc_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lin's CCC of matching rows of two ``(n, n_samples)`` arrays."""
    dx, dy = centered(x), centered(y)
    cov = np.mean(dx * dy, axis=-1)
    denom = np.mean(dx * dx, axis=-1) + np.mean(dy * dy, axis=-1)
    denom = denom + (x.mean(axis=-1) - y.mean(axis=-1)) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * cov / denom, np.nan)


def leave_one_out_ccc(ratings: np.ndarray, variant: str = "paper") -> np.ndarray:
    """Each annotator's CCC with the EWE of the other annotators.

    Args:
        ratings: shape ``(n_annotators, n_samples)``.
        variant: EWE variant, ``"paper"`` or ``"others"``.

    Returns:
        Shape ``(n_annotators,)``; ``nan`` when fewer than 2 others remain.

    Examples:
        >>> leave_one_out_ccc(np.array([[0.0, 1.0], [0.0, 1.0]])).tolist()
        [nan, nan]
    """
    _check_variant(variant)
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"ratings must have shape (n_annotators, n_samples), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("ratings contain NaN or infinite values")
    n = x.shape[0]
    if n - 1 < MIN_OTHERS:
        return np.full(n, np.nan)
    # others[j] holds every annotator but j: shape (n, n - 1, n_samples)
    index = np.array([[k for k in range(n) if k != j] for j in range(n)])
    consensus, _, _, _ = ewe_batch(x[index], variant)
    return _ccc_rows(x, consensus)


def agreement(dynamic: pd.DataFrame, variant: str = "paper") -> pd.DataFrame:
    """Leave-one-out agreement of every dynamic annotation.

    Args:
        dynamic: the tidy dynamic table (window it and filter it first, see
            :func:`muvi.annotations.quality_filter`); per item and modality only
            the samples every annotator has are compared.
        variant: EWE variant, ``"paper"`` or ``"others"``.

    Returns:
        One row per annotation: ``participant_id``, ``media_id``, ``modality``,
        ``valence``, ``arousal`` (CCC with the EWE of the others; ``nan`` where
        fewer than 2 other annotators remain).
    """
    _check_variant(variant)
    check_dynamic(dynamic, DIMENSIONS)
    parts: list[pd.DataFrame] = []
    for media_id, modality, participants, _, values in item_matrices(dynamic, DIMENSIONS):
        part = pd.DataFrame(
            {"participant_id": participants, "media_id": media_id, "modality": modality}
        )
        for d, dim in enumerate(DIMENSIONS):
            part[dim] = leave_one_out_ccc(values[d], variant)
        parts.append(part)
    columns = [*ANNOTATION_KEYS, *DIMENSIONS]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    table = pd.concat(parts, ignore_index=True)
    table["participant_id"] = table["participant_id"].astype(dynamic["participant_id"].dtype)
    return table[columns]


def agreement_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of the agreement per dimension and modality.

    Args:
        table: the output of :func:`agreement`.

    Returns:
        Columns ``dimension``, ``modality``, ``mean``, ``std`` (population,
        ``ddof=0``), ``n`` (annotations with a defined agreement); dimensions
        in the order valence, arousal, modalities in the paper's order.

    Examples:
        >>> t = pd.DataFrame({"participant_id": [1, 2, 3], "media_id": "a",
        ...                   "modality": "music", "valence": [0.2, 0.4, np.nan],
        ...                   "arousal": [0.5, 0.5, 0.5]})
        >>> agreement_summary(t).round(3).values.tolist()
        [['valence', 'music', 0.3, 0.1, 2], ['arousal', 'music', 0.5, 0.0, 3]]
    """
    require_columns(table, ("modality", *DIMENSIONS), "the agreement table")
    present = [m for m in MODALITIES if m in set(table["modality"])]
    present += sorted(set(table["modality"]) - set(present))
    rows = []
    for dim in DIMENSIONS:
        for modality in present:
            values = table.loc[table["modality"] == modality, dim].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            rows.append(
                {
                    "dimension": dim,
                    "modality": modality,
                    "mean": float(values.mean()) if values.size else float("nan"),
                    "std": float(values.std()) if values.size else float("nan"),
                    "n": int(values.size),
                }
            )
    return pd.DataFrame(rows, columns=["dimension", "modality", "mean", "std", "n"])


def pooled_agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of the agreement per dimension, pooled over all modalities.

    Every annotation with a defined agreement counts once, whatever its
    modality (so this is not the mean of the per-modality means when the
    modalities have different numbers of annotations). The paper reports this
    pooled figure beside the per-modality ones.

    Args:
        table: the output of :func:`agreement`.

    Returns:
        Columns ``dimension``, ``mean``, ``std`` (population, ``ddof=0``, as
        :func:`agreement_summary`), ``n``; valence then arousal.

    Examples:
        >>> t = pd.DataFrame({"participant_id": [1, 2, 3], "media_id": "a",
        ...                   "modality": ["music", "music", "visual"],
        ...                   "valence": [0.2, 0.4, 0.9], "arousal": [0.5, np.nan, 0.1]})
        >>> pooled_agreement(t).round(3).values.tolist()
        [['valence', 0.5, 0.294, 3], ['arousal', 0.3, 0.2, 2]]
    """
    require_columns(table, DIMENSIONS, "the agreement table")
    rows = []
    for dim in DIMENSIONS:
        values = table[dim].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        rows.append(
            {
                "dimension": dim,
                "mean": float(values.mean()) if values.size else float("nan"),
                "std": float(values.std()) if values.size else float("nan"),
                "n": int(values.size),
            }
        )
    return pd.DataFrame(rows, columns=["dimension", "mean", "std", "n"])
