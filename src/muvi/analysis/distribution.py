"""Where the dynamic ratings lie in the valence/arousal plane (SPEC 5.3).

All 2 Hz samples of all (kept) annotations count alike.

Examples:
    >>> import pandas as pd
    >>> dyn = pd.DataFrame({"modality": ["music", "music", "visual"],
    ...                     "valence": [0.2, 0.4, -0.3], "arousal": [0.1, 0.3, 0.5]})
    >>> rating_means(dyn).round(3).values.tolist()[:2]
    [['valence', 'music', 0.3, 0.141, 2], ['valence', 'visual', -0.3, nan, 1]]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from muvi.analysis.figures import MODALITY_COLOURS, new_figure, save_figure
from muvi.data.schema import DIMENSIONS, MODALITIES

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
    dynamic: pd.DataFrame, modality: str, path: str | Path, bins: int = DENSITY_BINS
) -> Path:
    """Write the 2-D density of one modality's ratings as a PNG.

    Args:
        dynamic: tidy dynamic ratings.
        modality: ``music``, ``visual`` or ``audiovisual``.
        path: the PNG to write.
        bins: bins per axis.

    Returns:
        ``path``.
    """
    sub = dynamic[dynamic["modality"] == modality]
    density = rating_density(sub, bins) if len(sub) else np.zeros((bins, bins))
    fig = new_figure(3.4, 3.2)
    ax = fig.add_subplot()
    image = ax.imshow(
        density.T,
        origin="lower",
        extent=(-1, 1, -1, 1),
        cmap="magma",
        aspect="equal",
        interpolation="nearest",
    )
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("density", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    ax.axhline(0, color="white", lw=0.6, alpha=0.6)
    ax.axvline(0, color="white", lw=0.6, alpha=0.6)
    if len(sub):
        ax.plot(
            sub["valence"].mean(),
            sub["arousal"].mean(),
            marker="+",
            color=MODALITY_COLOURS.get(modality, "cyan"),
            markersize=12,
            mew=2.5,
            label="mean",
        )
        ax.legend(loc="upper left", fontsize=7)
    n_annotations = (
        len(sub[["participant_id", "media_id"]].drop_duplicates())
        if ({"participant_id", "media_id"} <= set(sub.columns))
        else 0
    )
    ax.set_title(f"{modality}\n{n_annotations} annotations, {len(sub)} samples", fontsize=8)
    ax.set_xlabel("valence", fontsize=8)
    ax.set_ylabel("arousal", fontsize=8)
    ax.tick_params(labelsize=7)
    return save_figure(fig, path)
