"""The analysis window of a study, from its ``muvi_metadata.json``.

The paper analyses the first 118 samples (59 s) of its 60 s excerpts; a study
with other excerpt lengths gets its window from its metadata
(:func:`study_window`): the excerpt less its last second, the same margin.
The loaders need it (to report annotations shorter than the window), so it
lives in :mod:`muvi.data`; :mod:`muvi.annotations` re-exports it beside
:func:`muvi.annotations.analysis_window`, which applies it.

Examples:
    >>> study_window({"excerpt_seconds": 20}).describe()
    'the first 38 samples (19 s at 2 Hz), from the excerpt length (20 s) in muvi_metadata.json'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from muvi.data.schema import ANALYSIS_SAMPLES, METADATA_FILE, SAMPLE_PERIOD_S
from muvi.errors import DataError

WINDOW_MARGIN_S = 1.0
"""Seconds at the end of an excerpt left out of the window (the paper: 59 of 60 s)."""
WINDOW_KEY = "analysis_window_samples"
"""The ``muvi_metadata.json`` field that names the window outright (written by the study export)."""
EXCERPT_KEY = "excerpt_seconds"
"""The ``muvi_metadata.json`` field with the excerpt length in seconds."""


def window_for_excerpt(excerpt_seconds: float, period: float = SAMPLE_PERIOD_S) -> int:
    """The analysis window of excerpts ``excerpt_seconds`` long, in samples:
    every sample of the excerpt less its last second (at least one sample).

    Args:
        excerpt_seconds: the excerpt length (60 s in MuVi).
        period: the sampling period of the series (0.5 s, 2 Hz).

    Returns:
        ``floor((excerpt_seconds - 1) / period)``, at least 1.

    Examples:
        >>> window_for_excerpt(60.0), window_for_excerpt(20.0), window_for_excerpt(45.0)
        (118, 38, 88)
        >>> window_for_excerpt(1.0)
        1
    """
    if not math.isfinite(excerpt_seconds) or excerpt_seconds <= 0:
        raise ValueError(
            f"excerpt length must be a positive number of seconds, got {excerpt_seconds!r}"
        )
    return max(math.floor((excerpt_seconds - WINDOW_MARGIN_S) / period + 1e-9), 1)


@dataclass(frozen=True)
class AnalysisWindow:
    """The window an analysis uses and where it came from.

    Attributes:
        n_samples: window length in 2 Hz samples.
        source: a few words naming where the length came from.
    """

    n_samples: int
    source: str

    @property
    def seconds(self) -> float:
        """The window's length in seconds."""
        return self.n_samples * SAMPLE_PERIOD_S

    def describe(self) -> str:
        """One sentence for reports.

        Examples:
            >>> AnalysisWindow(38, "--window-samples").describe()
            'the first 38 samples (19 s at 2 Hz), from --window-samples'
        """
        return (
            f"the first {self.n_samples} samples ({self.seconds:g} s at 2 Hz), from {self.source}"
        )


def study_window(metadata: Mapping[str, Any], override: int | None = None) -> AnalysisWindow:
    """The analysis window of a study: ``override`` when given, else the
    study's ``muvi_metadata.json`` (its ``analysis_window_samples``, else its
    ``excerpt_seconds`` through :func:`window_for_excerpt`), else the paper's
    118 samples (the published release has no metadata file).

    Args:
        metadata: the contents of ``muvi_metadata.json`` (empty when absent).
        override: a window length chosen by the user (``muvi analyze --window-samples``).

    Returns:
        The window and its source.

    Raises:
        DataError: the metadata holds a window or excerpt length that is not a
            positive number; ValueError: ``override`` is not a positive integer.

    Examples:
        >>> study_window({}).n_samples, study_window({"excerpt_seconds": 20}).n_samples
        (118, 38)
        >>> study_window({"excerpt_seconds": 20}, override=30).source
        '--window-samples'
    """
    if override is not None:
        if isinstance(override, bool) or int(override) != override or override < 1:
            raise ValueError(
                f"the window must be a positive whole number of samples, got {override!r}"
            )
        return AnalysisWindow(int(override), "--window-samples")
    if WINDOW_KEY in metadata:
        value = metadata[WINDOW_KEY]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(
                f"{WINDOW_KEY} must be a positive whole number, got {value!r}", file=METADATA_FILE
            )
        return AnalysisWindow(value, f"{WINDOW_KEY} in {METADATA_FILE}")
    if metadata.get(EXCERPT_KEY) is not None:
        value = metadata[EXCERPT_KEY]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise DataError(
                f"{EXCERPT_KEY} must be a positive number, got {value!r}", file=METADATA_FILE
            )
        return AnalysisWindow(
            window_for_excerpt(float(value)), f"the excerpt length ({value:g} s) in {METADATA_FILE}"
        )
    return AnalysisWindow(ANALYSIS_SAMPLES, "the paper's default (59 s of 60 s excerpts)")
