"""Lighting features: brightness statistics and the film "lighting key".

Brightness is the HSV value channel (the largest of R, G, B) scaled to
[0, 1]. Per 500 ms frame: its mean, its standard deviation, and their product,
the lighting key (high for bright, contrasted "high-key" pictures, low for
dark or flat ones).

Examples:
    >>> import numpy as np
    >>> half = np.zeros((1, 2, 2, 3), dtype=np.uint8); half[0, 0] = 255  # top row white
    >>> lighting_key(half).round(3).iloc[0].tolist()
    [0.5, 0.5, 0.25]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from muvi.features.excerpt import ExcerptMedia
from muvi.features.registry import Extractor, family_columns, register


def lighting_columns() -> list[str]:
    """The lighting family's columns, in file order (registered in :mod:`muvi.data.schema`)."""
    return family_columns("lighting")


def lighting_key(frames: np.ndarray) -> pd.DataFrame:
    """Brightness mean, standard deviation (population) and their product per frame.

    Args:
        frames: uint8 RGB frames, shape (n, h, w, 3).

    Returns:
        DataFrame indexed by ``sample`` (0..n-1), columns :func:`lighting_columns`.
    """
    import cv2

    rows = np.zeros((len(frames), 3))
    for k, frame in enumerate(frames):
        # V = max(R, G, B): OpenCV's channel-wise max is far faster than numpy's
        # reduction over a last axis of length 3
        value = cv2.max(cv2.max(frame[..., 0], frame[..., 1]), frame[..., 2])
        mean, std = cv2.meanStdDev(value)
        mean_v, std_v = float(mean[0, 0]) / 255.0, float(std[0, 0]) / 255.0
        rows[k] = (mean_v, std_v, mean_v * std_v)
    return pd.DataFrame(
        rows, columns=lighting_columns(), index=pd.RangeIndex(len(rows), name="sample")
    )


def _run(media: ExcerptMedia) -> pd.DataFrame:
    return lighting_key(media.require_frames("lighting"))


LIGHTING = register(
    Extractor(
        name="lighting",
        family="lighting",
        kind="frames",
        columns=lighting_columns,
        run=_run,
        description="brightness mean, std and their product (lighting key) per 500 ms frame",
    )
)
