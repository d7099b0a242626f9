"""The quality filter: annotations whose cursor never moved, left out of every analysis.

A series whose valence (or arousal) never changes has no defined correlation,
so such an annotation is left out of every analysis, its static labels
included, and the exclusion is reported together with the annotations that
are shorter than the analysis window.

Examples:
    >>> import pandas as pd
    >>> dynamic = pd.DataFrame({"participant_id": [1, 1, 2, 2], "media_id": "a",
    ...                         "modality": "music", "sample": [0, 1, 0, 1],
    ...                         "valence": [0.1, 0.1, 0.0, 0.2], "arousal": [0.0, 0.3, 0.0, 0.2]})
    >>> constant_annotations(dynamic)[["participant_id", "reason"]].values.tolist()
    [[1, 'constant valence']]
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from muvi.annotations._tables import ANNOTATION_KEYS, check_dynamic, require_columns
from muvi.annotations.window import analysis_window
from muvi.data.dataset import MuviDataset
from muvi.data.schema import ANALYSIS_SAMPLES

CONSTANT_VALENCE = "constant valence"
CONSTANT_AROUSAL = "constant arousal"
CONSTANT_BOTH = "constant valence and arousal"
EXCLUSION_COLUMNS = (*ANNOTATION_KEYS, "reason")


def constant_annotations(dynamic: pd.DataFrame) -> pd.DataFrame:
    """The annotations whose valence or arousal never changes.

    Args:
        dynamic: the tidy dynamic table.

    Returns:
        One row per constant annotation: ``participant_id``, ``media_id``,
        ``modality``, ``reason`` (``constant valence``, ``constant arousal`` or
        ``constant valence and arousal``), in order of first appearance.
    """
    check_dynamic(dynamic, ("valence", "arousal"))
    keys = list(ANNOTATION_KEYS)
    grouped = dynamic.groupby(keys, sort=False)[["valence", "arousal"]]
    low, high = grouped.min(), grouped.max()
    flat_v = (high["valence"] == low["valence"]).to_numpy()
    flat_a = (high["arousal"] == low["arousal"]).to_numpy()
    spans = low
    reason = np.select(
        [flat_v & flat_a, flat_v, flat_a], [CONSTANT_BOTH, CONSTANT_VALENCE, CONSTANT_AROUSAL], ""
    )
    out = spans.index.to_frame(index=False)
    out["reason"] = reason
    return out[out["reason"] != ""].reset_index(drop=True)


def _is_listed(table: pd.DataFrame, listed: pd.DataFrame) -> np.ndarray:
    """Which rows of ``table`` belong to an annotation listed in ``listed``."""
    keys = list(ANNOTATION_KEYS)
    if listed.empty:
        return np.zeros(len(table), dtype=bool)
    wanted = pd.MultiIndex.from_frame(listed[keys])
    return np.asarray(pd.MultiIndex.from_frame(table[keys]).isin(wanted))


def quality_filter(
    dataset: MuviDataset, n_samples: int = ANALYSIS_SAMPLES
) -> tuple[MuviDataset, pd.DataFrame]:
    """Apply the analysis window and the constant-cursor filter to a study.

    Args:
        dataset: the study; it is not modified.
        n_samples: the analysis window in 2 Hz samples (118, the paper's).

    Returns:
        ``(filtered, excluded)``: a copy whose ``dynamic`` table is cut to the
        window, without the annotations that are shorter than the window or
        constant within it, and whose ``static`` table no longer has the rows
        of those annotations; and one row per excluded annotation
        (``participant_id``, ``media_id``, ``modality``, ``reason``). A study
        without dynamic ratings passes through unchanged with an empty table.
    """
    excluded_empty = pd.DataFrame({c: pd.Series(dtype=object) for c in EXCLUSION_COLUMNS})
    if dataset.dynamic is None:
        return dataclasses.replace(dataset, static=dataset.static.copy()), excluded_empty
    windowed, short = analysis_window(dataset.dynamic, n_samples)
    constant = constant_annotations(windowed)
    excluded = pd.concat(
        [short[list(EXCLUSION_COLUMNS)], constant[list(EXCLUSION_COLUMNS)]], ignore_index=True
    )
    if excluded.empty:
        excluded = excluded_empty
    dynamic = windowed[~_is_listed(windowed, excluded)]
    static = dataset.static
    if not excluded.empty:
        require_columns(static, ANNOTATION_KEYS, "the static annotations")
        static = static[~_is_listed(static, excluded)]
    filtered = dataclasses.replace(
        dataset,
        static=static.reset_index(drop=True),
        dynamic=dynamic.reset_index(drop=True),
        issues=[*dataset.issues],
    )
    return filtered, excluded
