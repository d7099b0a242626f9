"""Which GEMS labels are ticked together (SPEC 5.5).

Pearson correlation between the 27 binary label columns over all annotations
(the phi coefficient), with the two-sided p-value of the t-test of r = 0
(t = r sqrt((n - 2) / (1 - r^2)), n - 2 degrees of freedom; the same p as
``scipy.stats.pearsonr``). A label that nobody (or everybody) ticked has no
defined correlation: its r and p are NaN and it never enters the top pairs.

Examples:
    >>> import pandas as pd
    >>> from muvi.data.schema import GEMS_LABELS
    >>> static = pd.DataFrame(0, index=range(4), columns=list(GEMS_LABELS))
    >>> static.loc[[0, 1], ["sad", "blue"]] = 1
    >>> static.loc[[2, 3], "joyful"] = 1
    >>> r, p = label_correlation_matrix(static)
    >>> float(r.loc["sad", "blue"]), float(r.loc["sad", "joyful"])
    (1.0, -1.0)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from muvi.analysis.figures import new_figure, save_figure
from muvi.data.schema import GEMS_LABELS
from muvi.errors import DataError

TOP_PAIRS = 5
"""How many of the strongest positive and negative pairs the summary lists."""


def label_correlation_matrix(static: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pearson r and its p-value between every two GEMS label columns.

    Args:
        static: tidy static annotations with the 27 label columns (0/1).

    Returns:
        ``(r, p)``: two 27 x 27 tables indexed and labelled by the labels (GEMS
        order); the diagonal of ``r`` is 1 (p 0) for labels that vary.
    """
    missing = [label for label in GEMS_LABELS if label not in static.columns]
    if missing:
        raise DataError(f"static annotations lack GEMS label column(s) {', '.join(missing)}")
    x = static[list(GEMS_LABELS)].to_numpy(dtype=float)
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (centred.T @ centred) / np.outer(norms, norms)
        r = np.clip(r, -1.0, 1.0)
        dof = n - 2
        t = r * np.sqrt(dof / (1.0 - r**2)) if dof > 0 else np.full_like(r, np.nan)
        p = 2.0 * stats.t.sf(np.abs(t), dof) if dof > 0 else np.full_like(r, np.nan)
    p = np.where(np.isnan(r), np.nan, p)
    labels = list(GEMS_LABELS)
    return (
        pd.DataFrame(r, index=labels, columns=labels),
        pd.DataFrame(p, index=labels, columns=labels),
    )


def label_correlations(static: pd.DataFrame) -> pd.DataFrame:
    """Every pair of different labels with its r and p, strongest positive first.

    Returns:
        351 rows (27 choose 2) with columns ``a``, ``b`` (labels, ``a`` before
        ``b`` in GEMS order), ``r``, ``p``, ``n`` (annotations); sorted by
        ``r`` descending, undefined pairs last.
    """
    r, p = label_correlation_matrix(static)
    labels = list(GEMS_LABELS)
    i, j = np.triu_indices(len(labels), k=1)
    table = pd.DataFrame(
        {
            "a": [labels[k] for k in i],
            "b": [labels[k] for k in j],
            "r": r.to_numpy()[i, j],
            "p": p.to_numpy()[i, j],
            "n": len(static),
        }
    )
    return table.sort_values("r", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


def strongest_pairs(
    correlations: pd.DataFrame, k: int = TOP_PAIRS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``k`` most positive and ``k`` most negative label pairs.

    Args:
        correlations: the table of :func:`label_correlations`.
        k: pairs per list.

    Returns:
        ``(top_positive, top_negative)``, each with columns ``a``, ``b``, ``r``,
        ``p``; only pairs with r > 0 (resp. r < 0) appear.
    """
    valid = correlations.dropna(subset=["r"])
    positive = valid[valid["r"] > 0].nlargest(k, "r")[["a", "b", "r", "p"]]
    negative = valid[valid["r"] < 0].nsmallest(k, "r")[["a", "b", "r", "p"]]
    return positive.reset_index(drop=True), negative.reset_index(drop=True)


def cooccurrence_heatmap(r: pd.DataFrame, path: str | Path) -> Path:
    """Write the 27 x 27 correlation matrix as a heatmap PNG (diagonal blank)."""
    values = r.to_numpy(dtype=float).copy()
    np.fill_diagonal(values, np.nan)
    finite = np.abs(values[np.isfinite(values)])
    limit = float(max(0.1, finite.max())) if finite.size else 1.0
    fig = new_figure(8.0, 7.0)
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    names = [label.replace("_", " ") for label in r.index]
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, names, fontsize=7)
    # thin lines between the GEMS categories (3 labels each)
    for edge in np.arange(2.5, len(names) - 1, 3):
        ax.axhline(edge, color="grey", lw=0.4)
        ax.axvline(edge, color="grey", lw=0.4)
    fig.colorbar(image, ax=ax, label="Pearson r", shrink=0.8)
    ax.set_title("Co-occurrence of GEMS labels over annotations", fontsize=10)
    return save_figure(fig, path)
