"""The analysis window: the first samples of every 2 Hz series.

The paper analyses the first 118 samples (59 s) of its 60 s excerpts; a study
with other excerpt lengths gets its window from its ``muvi_metadata.json``
(:func:`study_window`): the excerpt less its last second, the same margin.

Examples:
    >>> import pandas as pd
    >>> dynamic = pd.DataFrame({"participant_id": [1] * 3 + [2] * 2, "media_id": "a",
    ...                         "modality": "music", "sample": [0, 1, 2, 0, 1],
    ...                         "valence": 0.0, "arousal": 0.0})
    >>> kept, left_out = analysis_window(dynamic, n_samples=3)
    >>> len(kept), left_out[["participant_id", "n_samples"]].values.tolist()
    (3, [[2, 2]])
"""

from __future__ import annotations

import pandas as pd

from muvi.annotations._tables import ANNOTATION_KEYS, check_dynamic
from muvi.data.schema import ANALYSIS_SAMPLES
from muvi.data.window import (
    EXCERPT_KEY,
    WINDOW_KEY,
    WINDOW_MARGIN_S,
    AnalysisWindow,
    study_window,
    window_for_excerpt,
)

__all__ = [
    "EXCERPT_KEY",
    "SHORTER_THAN_WINDOW",
    "WINDOW_KEY",
    "WINDOW_MARGIN_S",
    "AnalysisWindow",
    "analysis_window",
    "study_window",
    "window_for_excerpt",
]

SHORTER_THAN_WINDOW = "shorter than the analysis window"


def analysis_window(
    dynamic: pd.DataFrame, n_samples: int = ANALYSIS_SAMPLES
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep samples ``0 .. n_samples - 1`` of every annotation.

    An annotation that lacks any sample of the window (a series shorter than
    the window, as a few of the published ones are) is left out and listed.

    Args:
        dynamic: the tidy dynamic table (``participant_id``, ``media_id``,
            ``modality``, ``sample``, ...).
        n_samples: window length in 2 Hz samples (118 = 59 s, the paper's;
            :func:`study_window` gives a study's).

    Returns:
        ``(windowed, left_out)``: the rows of the complete annotations inside
        the window (index reset), and one row per left-out annotation with
        ``participant_id``, ``media_id``, ``modality``, ``n_samples`` (how many
        window samples it has) and ``reason``.
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    check_dynamic(dynamic)
    keys = list(ANNOTATION_KEYS)
    inside = dynamic[(dynamic["sample"] >= 0) & (dynamic["sample"] < n_samples)]
    counts = (
        dynamic[keys]
        .drop_duplicates()
        .merge(
            inside.groupby(keys, sort=False).size().rename("n_samples").reset_index(),
            on=keys,
            how="left",
        )
    )
    counts["n_samples"] = counts["n_samples"].fillna(0).astype(int)
    short = counts[counts["n_samples"] < n_samples].reset_index(drop=True)
    short["reason"] = SHORTER_THAN_WINDOW
    complete = counts.loc[counts["n_samples"] == n_samples, keys]
    windowed = inside.merge(complete, on=keys, how="inner")
    return windowed.reset_index(drop=True), short
