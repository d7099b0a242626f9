"""Where the dynamic ratings lie in the valence/arousal plane (Chua et al. 2022, §4.2).

All 2 Hz samples of all (kept) annotations count alike.

Examples:
    >>> import pandas as pd
    >>> dyn = pd.DataFrame({"modality": ["music", "music", "visual"],
    ...                     "valence": [0.2, 0.4, -0.3], "arousal": [0.1, 0.3, 0.5]})
    >>> rating_means(dyn).round(3).values.tolist()[:2]
    [['valence', 'music', 0.3, 0.141, 2], ['valence', 'visual', -0.3, nan, 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from muvi.data.schema import DIMENSIONS, MODALITIES
from muvi.plotting.names import AXIS_LABELS, MODALITY_NAMES
from muvi.plotting.style import COLUMN_WIDTH_IN, MODALITY_COLOURS, axes_or_new, figure_style

DENSITY_BINS = 40
"""Bins per axis of the 2-D rating histogram (0.05 wide over [-1, 1])."""


def rating_means(dynamic: pd.DataFrame) -> pd.DataFrame:
    """Mean (and sample standard deviation) of valence and arousal over all samples.

    Args:
        dynamic: tidy dynamic ratings (``modality``, ``valence``, ``arousal``).

    Returns:
        Columns ``dimension``, ``modality`` (three modalities present, then
        ``all``), ``mean``, ``std``, ``n_samples``.
    """
    rows = []
    for dimension in DIMENSIONS:
        for modality in (*MODALITIES, "all"):
            values = (
                dynamic[dimension]
                if modality == "all"
                else dynamic.loc[dynamic["modality"] == modality, dimension]
            )
            values = pd.to_numeric(values, errors="coerce").dropna()
            if values.empty:
                continue
            rows.append(
                (dimension, modality, float(values.mean()), float(values.std(ddof=1)), len(values))
            )
    return pd.DataFrame(rows, columns=["dimension", "modality", "mean", "std", "n_samples"])


def rating_density(dynamic: pd.DataFrame, bins: int = DENSITY_BINS) -> np.ndarray:
    """2-D histogram of (valence, arousal) samples, normalised to a density over [-1, 1]^2.

    Returns:
        Array of shape ``(bins, bins)``, indexed ``[valence bin, arousal bin]``;
        it integrates to 1 over the plane.

    Examples:
        >>> d = rating_density(pd.DataFrame({"valence": [0.1, 0.1], "arousal": [-0.5, -0.5]}), 4)
        >>> float(d.sum() * 0.5 * 0.5), d[2, 1] > 0
        (1.0, np.True_)
    """
    edges = np.linspace(-1.0, 1.0, bins + 1)
    density, _, _ = np.histogram2d(
        dynamic["valence"].to_numpy(float),
        dynamic["arousal"].to_numpy(float),
        bins=[edges, edges],
        density=True,
    )
    return density


def density_figure(
    dynamic: pd.DataFrame, modality: str, *, bins: int = DENSITY_BINS, ax: Axes | None = None
) -> Axes:
    """The 2-D density of one modality's valence/arousal ratings, its mean marked "+".

    Args:
        dynamic: tidy dynamic ratings.
        modality: ``music``, ``visual`` or ``audiovisual``.
        bins: bins per axis.
        ax: the axes to draw on (default: a new one-column figure); the colour
            bar is added beside it.

    Returns:
        The axes drawn on.
    """
    sub = dynamic[dynamic["modality"] == modality]
    density = rating_density(sub, bins) if len(sub) else np.zeros((bins, bins))
    with figure_style():
        ax = axes_or_new(ax, COLUMN_WIDTH_IN, 3.3)
        image = ax.imshow(
            density.T,
            origin="lower",
            extent=(-1, 1, -1, 1),
            cmap="magma",
            aspect="equal",
            interpolation="nearest",
        )
        bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label("Density (per unit² of rating)")
        ax.axhline(0, color="white", lw=0.6, alpha=0.6)
        ax.axvline(0, color="white", lw=0.6, alpha=0.6)
        if len(sub):
            ax.plot(
                sub["valence"].mean(),
                sub["arousal"].mean(),
                marker="+",
                color="#00e5ff",
                markersize=12,
                mew=2.5,
            )
        n_annotations = (
            len(sub[["participant_id", "media_id"]].drop_duplicates())
            if ({"participant_id", "media_id"} <= set(sub.columns))
            else 0
        )
        ax.set_title(
            f"{MODALITY_NAMES.get(modality, modality)}: {n_annotations} annotations,\n"
            f"{len(sub)} samples at 2 Hz; cyan +: mean rating",
            color=MODALITY_COLOURS.get(modality, "black"),
        )
        ax.set_xlabel(AXIS_LABELS["valence"])
        ax.set_ylabel(AXIS_LABELS["arousal"])
    return ax
