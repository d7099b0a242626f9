"""Colour features: HSV hue and saturation histograms of each 500 ms frame.

Hue is cut into :data:`muvi.data.schema.HUE_BINS` bins of 20 degrees
(``colour__hue_00`` covers 0-20 degrees, red; ``colour__hue_06`` green at
120 degrees; ``colour__hue_12`` blue at 240 degrees) and saturation into
:data:`muvi.data.schema.SATURATION_BINS` equal bins over [0, 1]. Each
histogram is the share of the frame's pixels in each bin (it sums to 1). As
in every plain HSV histogram, achromatic pixels (greys, black, white) have hue
0 and count in the first hue bin; their saturation bin (``colour__sat_00``)
tells them apart.

Examples:
    >>> import numpy as np
    >>> red = np.zeros((1, 4, 4, 3), dtype=np.uint8); red[..., 0] = 255
    >>> table = colour_histograms(red)
    >>> float(table.loc[0, "colour__hue_00"]), float(table.loc[0, "colour__sat_07"])
    (1.0, 1.0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from muvi.data.schema import HUE_BINS, SATURATION_BINS
from muvi.features.excerpt import ExcerptMedia
from muvi.features.registry import Extractor, family_columns, register


def colour_columns() -> list[str]:
    """The colour family's columns, in file order (registered in :mod:`muvi.data.schema`)."""
    return family_columns("colour")


def hsv_histograms(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised hue and saturation histograms of one RGB frame.

    Args:
        frame: uint8 RGB image, shape (h, w, 3).

    Returns:
        ``(hue, saturation)``: shapes (HUE_BINS,) and (SATURATION_BINS,), each summing to 1.
    """
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2HSV)
    # OpenCV's 8-bit hue is degrees / 2 in [0, 180); saturation is in [0, 255]
    hue = cv2.calcHist([hsv], [0], None, [HUE_BINS], [0, 180]).ravel()
    sat = cv2.calcHist([hsv], [1], None, [SATURATION_BINS], [0, 256]).ravel()
    pixels = float(frame.shape[0] * frame.shape[1])
    return hue / pixels, sat / pixels


def colour_histograms(frames: np.ndarray) -> pd.DataFrame:
    """Hue and saturation histograms of each frame.

    Args:
        frames: uint8 RGB frames, shape (n, h, w, 3).

    Returns:
        DataFrame indexed by ``sample`` (0..n-1), columns :func:`colour_columns`.
    """
    rows = np.zeros((len(frames), HUE_BINS + SATURATION_BINS))
    for k, frame in enumerate(frames):
        hue, sat = hsv_histograms(frame)
        rows[k, :HUE_BINS] = hue
        rows[k, HUE_BINS:] = sat
    return pd.DataFrame(
        rows, columns=colour_columns(), index=pd.RangeIndex(len(rows), name="sample")
    )


def _run(media: ExcerptMedia) -> pd.DataFrame:
    return colour_histograms(media.require_frames("colour"))


COLOUR = register(
    Extractor(
        name="colour",
        family="colour",
        kind="frames",
        columns=colour_columns,
        run=_run,
        description="HSV hue (18 bins) and saturation (8 bins) histograms per 500 ms frame",
    )
)
