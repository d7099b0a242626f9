"""The gold standard: the Evaluator Weighted Estimator (EWE), as in Chua et al. 2022.

Per item, modality and dimension, with ``X`` the ratings of shape
``(n_annotators, n_samples)``:

1. ``mean = X.mean(axis=0)``, the unweighted mean series;
2. ``r_j`` = Pearson's r between annotator ``j`` and a reference series: the
   mean of ALL annotators (``variant="paper"``, the paper's definition) or the
   mean of the OTHER annotators (``variant="others"``, which keeps an
   annotator from raising its own weight);
3. ``w_j = r_j`` where ``r_j > 0``, otherwise 0 (an annotator who disagrees,
   or whose series is constant so that ``r`` is undefined, is left out);
4. ``ewe = sum_j w_j X_j / sum_j w_j``.

When every weight is 0 (e.g. a single annotator, or annotators that all
disagree with each other) no weighted mean exists; the EWE then falls back to
the plain mean and :attr:`EweResult.fallback` says so (a flag rather than a
warning, because whole-study runs would otherwise repeat it hundreds of
times). ``std`` is the per-sample population standard deviation across
annotators, kept for the plots' ``+/- std`` band.

Examples:
    >>> r = ewe(np.array([[0.0, 1.0, 0.0], [0.0, 0.5, 0.0]]))
    >>> r.weights.tolist(), r.ewe.round(3).tolist()
    ([1.0, 1.0], [0.0, 0.75, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from muvi.annotations._tables import check_dynamic, item_matrices
from muvi.annotations.metrics import centered
from muvi.data.schema import DIMENSIONS

EWE_VARIANTS = ("paper", "others")
GOLD_STANDARD_COLUMNS = (
    "media_id",
    "modality",
    "sample",
    "valence",
    "arousal",
    "valence_std",
    "arousal_std",
)


@dataclass
class EweResult:
    """The EWE of one item, modality and dimension.

    Attributes:
        ewe: shape ``(n_samples,)``, the weighted mean series.
        weights: shape ``(n_annotators,)``, each annotator's weight (>= 0).
        mean: shape ``(n_samples,)``, the unweighted mean series.
        std: shape ``(n_samples,)``, population std across annotators.
        fallback: True when every weight was 0 and ``ewe`` is the plain mean.
    """

    ewe: np.ndarray
    weights: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    fallback: bool = False


def _check_variant(variant: str) -> None:
    if variant not in EWE_VARIANTS:
        raise ValueError(f"unknown EWE variant {variant!r} (expected one of {EWE_VARIANTS})")


def ewe_batch(
    ratings: np.ndarray, variant: str = "paper"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The EWE of many panels at once.

    Args:
        ratings: shape ``(n_panels, n_annotators, n_samples)``, finite.
        variant: ``"paper"`` or ``"others"``.

    Returns:
        ``(ewe, weights, mean, fallback)`` of shapes ``(n_panels, n_samples)``,
        ``(n_panels, n_annotators)``, ``(n_panels, n_samples)``, ``(n_panels,)``.
    """
    _check_variant(variant)
    x = np.asarray(ratings, dtype=float)
    n = x.shape[1]
    mean = x.mean(axis=1)
    if variant == "paper":
        reference = np.broadcast_to(mean[:, None, :], x.shape)
    elif n > 1:
        reference = (x.sum(axis=1, keepdims=True) - x) / (n - 1)
    else:
        reference = np.zeros_like(x)  # no others: r is undefined (constant reference)
    dx, dr = centered(x), centered(reference)
    norm = np.sqrt(np.sum(dx * dx, axis=-1) * np.sum(dr * dr, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sum(dx * dr, axis=-1) / norm
    weights = np.where(norm > 0, np.clip(r, -1.0, 1.0), 0.0)
    weights = np.where(weights > 0, weights, 0.0)
    total = weights.sum(axis=1)
    fallback = total == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.einsum("pa,pas->ps", weights, x) / total[:, None]
    result = np.where(fallback[:, None], mean, weighted)
    return result, weights, mean, fallback


def ewe(ratings: npt.ArrayLike, variant: str = "paper") -> EweResult:
    """The Evaluator Weighted Estimator of one panel of annotators.

    Args:
        ratings: shape ``(n_annotators, n_samples)``, one row per annotator,
            values in rating units (valence or arousal in [-1, 1]).
        variant: ``"paper"`` (weights against the mean of all annotators, the
            paper's) or ``"others"`` (against the mean of the other annotators).

    Returns:
        :class:`EweResult` with the EWE, the weights, the plain mean and the
        per-sample population std.

    Raises:
        ValueError: not 2-D, empty, or not finite; unknown variant.

    Examples:
        >>> x = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
        >>> r = ewe(x)  # the contrary third annotator gets weight 0
        >>> r.weights.round(3).tolist(), r.ewe.tolist()
        ([1.0, 1.0, 0.0], [0.0, 1.0, 2.0])
    """
    _check_variant(variant)
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"ratings must have shape (n_annotators, n_samples), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("ratings contain NaN or infinite values")
    result, weights, mean, fallback = ewe_batch(x[None], variant)
    return EweResult(
        ewe=result[0],
        weights=weights[0],
        mean=mean[0],
        std=x.std(axis=0),
        fallback=bool(fallback[0]),
    )


def gold_standard(dynamic: pd.DataFrame, variant: str = "paper") -> pd.DataFrame:
    """The EWE of every item and modality, for valence and arousal.

    Args:
        dynamic: the tidy dynamic table, ideally already cut to the analysis
            window and quality-filtered (:func:`muvi.annotations.quality_filter`);
            per item and modality only the samples every annotator has are used.
        variant: ``"paper"`` or ``"others"`` (see :func:`ewe`).

    Returns:
        One row per item, modality and sample, columns exactly ``media_id``,
        ``modality``, ``sample``, ``valence``, ``arousal``, ``valence_std``,
        ``arousal_std``.

    Examples:
        >>> dynamic = pd.DataFrame({"participant_id": [1, 1, 2, 2], "media_id": "a",
        ...                         "modality": "music", "sample": [0, 1, 0, 1],
        ...                         "valence": [0.0, 1.0, 0.0, 0.5], "arousal": [0.0, 1.0, 0.0, 0.5]})
        >>> gold_standard(dynamic)["valence"].tolist()
        [0.0, 0.75]
    """
    _check_variant(variant)
    check_dynamic(dynamic, DIMENSIONS)
    parts: list[pd.DataFrame] = []
    for media_id, modality, _, samples, values in item_matrices(dynamic, DIMENSIONS):
        columns: dict[str, object] = {"media_id": media_id, "modality": modality}
        columns["sample"] = samples.astype(np.int64)
        for d, dim in enumerate(DIMENSIONS):
            result, _, _, _ = ewe_batch(values[d][None], variant)
            columns[dim] = result[0]
            columns[f"{dim}_std"] = values[d].std(axis=0)
        parts.append(pd.DataFrame(columns))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in GOLD_STANDARD_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(GOLD_STANDARD_COLUMNS)]
