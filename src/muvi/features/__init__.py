"""Features from media: the study's audio and visual extractors on one 2 Hz grid.

One module per extractor (``audio``, ``colour``, ``lighting``, ``faces``,
``scenes``, ``objects``, ``actions``), each registering itself in
:mod:`muvi.features.registry`; :mod:`muvi.features.media` decodes files,
:mod:`muvi.features.excerpt` finds the one-minute excerpt, and
:mod:`muvi.features.batch` extracts one video (:func:`extract_video`) or a
corpus (:func:`extract_batch`, local processes or a Dask cluster);
:mod:`muvi.features.aligned` extracts emobase for the music dataset layouts,
aligned to their ratings' offset.
"""

import muvi.features.aligned  # noqa: F401  (registers the music layouts' extractor)
from muvi.features.batch import BatchReport, ExtractedFeatures, extract_batch, extract_video

__all__ = ["BatchReport", "ExtractedFeatures", "extract_batch", "extract_video"]
