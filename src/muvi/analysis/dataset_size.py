"""How many annotations the study holds (Chua et al. 2022, §4.1).

An annotation is one participant's rating of one item in one modality: one
row of the static table, one series of the dynamic table.

Examples:
    >>> import pandas as pd
    >>> static = pd.DataFrame({"participant_id": [1, 2, 1], "media_id": ["a", "a", "b"],
    ...                        "modality": ["music", "music", "visual"]})
    >>> annotation_counts(static).values.tolist()
    [['music', 2, 0], ['visual', 1, 0], ['audiovisual', 0, 0], ['all', 3, 0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from muvi.data.schema import MODALITIES

ANNOTATION_KEY = ["participant_id", "media_id", "modality"]
"""The columns that identify one annotation."""


def _annotations(table: pd.DataFrame | None) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame(columns=ANNOTATION_KEY)
    return table[ANNOTATION_KEY].drop_duplicates()


def annotation_counts(static: pd.DataFrame, dynamic: pd.DataFrame | None = None) -> pd.DataFrame:
    """Annotations per modality, static and dynamic.

    Args:
        static: tidy static annotations (one row per annotation).
        dynamic: tidy dynamic ratings (one row per 2 Hz sample), or ``None``.

    Returns:
        Columns ``modality`` (the three modalities, then ``all``), ``static``,
        ``dynamic`` (0 when there are no dynamic ratings).
    """
    rows = []
    s = _annotations(static)
    d = _annotations(dynamic)
    for modality in MODALITIES:
        rows.append(
            (
                modality,
                int((s["modality"] == modality).sum()),
                int((d["modality"] == modality).sum()),
            )
        )
    rows.append(("all", len(s), len(d)))
    return pd.DataFrame(rows, columns=["modality", "static", "dynamic"])


def annotations_per_item(
    annotations: pd.DataFrame, items: Sequence[str] | None = None
) -> pd.DataFrame:
    """Number of annotations of every item in every modality.

    Args:
        annotations: a tidy static or dynamic table (``participant_id``,
            ``media_id``, ``modality``).
        items: every item of the study; an item or modality that got no
            annotation is listed with 0. Default: the items in the table.

    Returns:
        Columns ``media_id``, ``modality``, ``annotations``; one row per item
        and modality.

    Examples:
        >>> t = pd.DataFrame({"participant_id": [1, 2], "media_id": ["a", "a"],
        ...                   "modality": ["music", "music"]})
        >>> annotations_per_item(t, items=["a"])["annotations"].tolist()
        [2, 0, 0]
    """
    keys = _annotations(annotations)
    ids = list(items) if items is not None else sorted(keys["media_id"].unique())
    counts = keys.groupby(["media_id", "modality"]).size()
    grid = pd.MultiIndex.from_product([ids, list(MODALITIES)], names=["media_id", "modality"])
    counts = counts.reindex(grid, fill_value=0).astype(int)
    return counts.rename("annotations").reset_index()


def per_item_range(per_item: pd.DataFrame) -> pd.DataFrame:
    """Minimum, median and maximum annotations per item, per modality and over all.

    Args:
        per_item: the table of :func:`annotations_per_item`.

    Returns:
        Columns ``modality`` (three modalities, then ``all``: every item and
        modality together), ``min``, ``median``, ``max``.

    Examples:
        >>> t = pd.DataFrame({"media_id": ["a", "a", "b", "b"],
        ...     "modality": ["music", "visual", "music", "visual"], "annotations": [5, 6, 7, 9]})
        >>> per_item_range(t).set_index("modality").loc["all"].tolist()
        [5.0, 6.5, 9.0]
    """
    rows = []
    for modality in (*MODALITIES, "all"):
        n = per_item["annotations"]
        if modality != "all":
            n = n[per_item["modality"] == modality]
        if n.empty:
            continue
        rows.append((modality, float(n.min()), float(n.median()), float(n.max())))
    return pd.DataFrame(rows, columns=["modality", "min", "median", "max"])
