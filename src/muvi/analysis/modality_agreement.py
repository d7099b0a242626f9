"""Do the modalities agree? Per-item mean series compared across modalities (Chua et al. 2022, §4.2).

For each item, the mean series over the annotators of each modality; then
the Pearson correlation between the mean series of each pair of modalities,
sample by sample; then its mean and sample standard deviation over items,
for valence and arousal.

Examples:
    >>> import pandas as pd
    >>> dyn = pd.DataFrame({
    ...     "participant_id": [1, 1, 1, 2, 2, 2], "media_id": ["a"] * 6,
    ...     "modality": ["music"] * 3 + ["visual"] * 3, "sample": [0, 1, 2] * 2,
    ...     "valence": [0.0, 0.5, 1.0, 0.1, 0.2, 0.3], "arousal": [0.0, 0.1, 0.0, 0.2, 0.1, 0.2]})
    >>> r = modality_correlations(dyn)
    >>> r[["dimension", "pair", "r"]].values.tolist()
    [['valence', 'music-visual', 1.0], ['arousal', 'music-visual', -1.0]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from muvi.data.schema import DIMENSIONS, MODALITY_PAIRS


def pair_name(a: str, b: str) -> str:
    """The key of a pair of modalities, e.g. ``music-visual``."""
    return f"{a}-{b}"


def item_mean_series(dynamic: pd.DataFrame) -> pd.DataFrame:
    """The mean valence and arousal series of every item in every modality.

    Args:
        dynamic: tidy dynamic ratings (``participant_id``, ``media_id``,
            ``modality``, ``sample``, ``valence``, ``arousal``).

    Returns:
        Columns ``media_id``, ``modality``, ``sample``, ``valence``,
        ``arousal``, ``n_annotations``.
    """
    grouped = dynamic.groupby(["media_id", "modality", "sample"], sort=True)
    means = grouped[list(DIMENSIONS)].mean()
    means["n_annotations"] = grouped["participant_id"].nunique()
    return means.reset_index()


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:  # a constant series has no correlation
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    denominator = float(np.sqrt((x**2).sum() * (y**2).sum()))
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def modality_correlations(dynamic: pd.DataFrame) -> pd.DataFrame:
    """Pearson r between the mean series of each pair of modalities, per item.

    Series are aligned on their common samples. A pair is skipped for an item
    that lacks one of its modalities; r is NaN when a mean series is constant.

    Returns:
        Columns ``media_id``, ``dimension``, ``pair`` (``music-visual``,
        ``music-audiovisual``, ``visual-audiovisual``), ``r``, ``n_samples``.
    """
    means = item_mean_series(dynamic)
    rows = []
    for media_id, item in means.groupby("media_id", sort=True):
        for dimension in DIMENSIONS:
            wide = item.pivot(index="sample", columns="modality", values=dimension)
            for a, b in MODALITY_PAIRS:
                if a not in wide.columns or b not in wide.columns:
                    continue
                both = wide[[a, b]].dropna()
                if len(both) < 2:
                    continue
                r = _pearson(both[a].to_numpy(float), both[b].to_numpy(float))
                rows.append((media_id, dimension, pair_name(a, b), r, len(both)))
    columns = ["media_id", "dimension", "pair", "r", "n_samples"]
    return pd.DataFrame(rows, columns=columns)


def modality_correlation_summary(correlations: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over items of the per-item r.

    Args:
        correlations: the table of :func:`modality_correlations`.

    Returns:
        Columns ``dimension``, ``pair``, ``mean``, ``sd``, ``n_items`` (items
        with a defined r), in the order of dimensions and pairs of the schema.
    """
    rows = []
    for dimension in DIMENSIONS:
        for a, b in MODALITY_PAIRS:
            pair = pair_name(a, b)
            r = correlations.loc[
                (correlations["dimension"] == dimension) & (correlations["pair"] == pair), "r"
            ].dropna()
            if r.empty:
                continue
            sd = float(r.std(ddof=1)) if len(r) > 1 else float("nan")
            rows.append((dimension, pair, float(r.mean()), sd, len(r)))
    return pd.DataFrame(rows, columns=["dimension", "pair", "mean", "sd", "n_items"])
