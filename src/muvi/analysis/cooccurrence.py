"""Which GEMS labels are ticked together (Chua et al. 2022, §4).

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

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import stats

from muvi.data.schema import GEMS_LABELS
from muvi.errors import DataError
from muvi.plotting.style import PAGE_WIDTH_IN, axes_or_new, figure_style

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


def colour_limit(r: pd.DataFrame | np.ndarray) -> float:
    """The half-range of the co-occurrence colour scale: the largest |r| off the
    diagonal, rounded up to the next 0.05, so the scale is symmetric around 0 and
    covers every pair (at least 0.1; 1 when nothing is finite).

    Examples:
        >>> colour_limit(np.array([[1.0, 0.402], [0.402, 1.0]]))
        0.45
        >>> colour_limit(np.array([[1.0, -0.03], [-0.03, 1.0]]))
        0.1
    """
    values = np.asarray(r, dtype=float).copy()
    np.fill_diagonal(values, np.nan)
    finite = np.abs(values[np.isfinite(values)])
    if not finite.size:
        return 1.0
    return float(max(0.1, np.ceil(round(float(finite.max()) * 20, 9)) / 20))


def _tick_count(limit: float) -> int:
    """7, 5 or 3 colour-bar ticks, whichever puts them on multiples of 0.05."""
    steps = round(limit * 20)
    return next((n for n in (7, 5) if (2 * steps) % (n - 1) == 0), 3)


def cooccurrence_heatmap(r: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """The 27 x 27 correlation matrix as a heatmap (diagonal blank), on a colour
    scale symmetric around 0 that covers the largest |r| (:func:`colour_limit`).

    Args:
        r: the square matrix of the ``r`` of :func:`label_correlation_matrix`.
        ax: the axes to draw on (default: a new page-wide figure); the colour
            bar is added beside it.

    Returns:
        The axes drawn on.
    """
    values = r.to_numpy(dtype=float).copy()
    np.fill_diagonal(values, np.nan)
    limit = colour_limit(values)
    with figure_style():
        ax = axes_or_new(ax, PAGE_WIDTH_IN, 6.6)
        image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        names = [label.replace("_", " ") for label in r.index]
        ticks = np.arange(len(names))
        ax.set_xticks(ticks, names, rotation=90)
        ax.set_yticks(ticks, names)
        ax.set_xlabel("GEMS label")
        ax.set_ylabel("GEMS label")
        # thin lines between the GEMS categories (3 labels each)
        for edge in np.arange(2.5, len(names) - 1, 3):
            ax.axhline(edge, color="grey", lw=0.4)
            ax.axvline(edge, color="grey", lw=0.4)
        bar = ax.figure.colorbar(image, ax=ax, shrink=0.8)
        bar.set_label("Pearson r between the labels' 0/1 columns")
        bar.set_ticks(np.linspace(-limit, limit, _tick_count(limit)).tolist())
        ax.set_title("Co-occurrence of GEMS labels over annotations")
    return ax
