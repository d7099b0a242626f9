"""The GEMS label table (Chua et al. 2022, §4.1): which terms were ticked, how often, where.

Shares are percentages. A label's ``share`` is its part of all selections
(all ticks) in the modality; its ``item_share`` is the part of the
modality's annotations that ticked it.

Examples:
    >>> import pandas as pd
    >>> from muvi.data.schema import GEMS_LABELS
    >>> static = pd.DataFrame(0, index=range(2), columns=list(GEMS_LABELS))
    >>> static["modality"] = ["music", "visual"]
    >>> static.loc[0, ["calm", "serene"]] = 1
    >>> static.loc[1, "calm"] = 1
    >>> t = label_table(static).set_index(["modality", "label"])
    >>> t.loc[("all", "calm"), ["count", "share", "item_share"]].tolist()
    [2.0, 66.66666666666667, 100.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from muvi.data.schema import (
    GEMS,
    GEMS_CATEGORIES,
    GEMS_LABELS,
    GEMS_LABELS_OF_CATEGORY,
    GEMS_SUPERFACTORS,
    MODALITIES,
)
from muvi.errors import DataError
from muvi.plotting.names import MODALITY_NAMES
from muvi.plotting.style import (
    CATEGORY_COLOURS,
    PAGE_WIDTH_IN,
    axes_or_new,
    figure_style,
    legend_outside,
)

ALL = "all"
"""The modality key of results over all three modalities together."""


def _labels(static: pd.DataFrame) -> pd.DataFrame:
    missing = [label for label in GEMS_LABELS if label not in static.columns]
    if missing:
        raise DataError(f"static annotations lack GEMS label column(s) {', '.join(missing)}")
    return static[list(GEMS_LABELS)].astype(int)


def _by_modality(static: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(modality, its annotations) for each modality present, then ``all``."""
    parts = [(m, static[static["modality"] == m]) for m in MODALITIES]
    return [(m, part) for m, part in parts if len(part)] + [(ALL, static)]


def _percent(part: float, whole: float) -> float:
    return float(100.0 * part / whole) if whole else float("nan")


def label_table(static: pd.DataFrame) -> pd.DataFrame:
    """Selections of every GEMS label, per modality and over all modalities.

    Args:
        static: tidy static annotations (``modality`` and the 27 label columns).

    Returns:
        One row per modality (then ``all``) and label, in GEMS order, with
        columns ``modality``, ``superfactor``, ``category``, ``label``,
        ``count`` (times ticked), ``share`` (% of all selections in the
        modality), ``item_share`` (% of the modality's annotations that ticked it).
    """
    labels = _labels(static)
    rows = []
    for modality, part in _by_modality(static):
        counts = labels.loc[part.index].sum()
        total, n = float(counts.sum()), len(part)
        for term in GEMS:
            c = float(counts[term.label])
            rows.append(
                (
                    modality,
                    term.superfactor,
                    term.category,
                    term.label,
                    c,
                    _percent(c, total),
                    _percent(c, n),
                )
            )
    columns = ["modality", "superfactor", "category", "label", "count", "share", "item_share"]
    return pd.DataFrame(rows, columns=columns)


def group_table(static: pd.DataFrame, level: str = "category") -> pd.DataFrame:
    """Selections summed over the labels of each GEMS category or superfactor.

    Args:
        static: tidy static annotations.
        level: ``category`` or ``superfactor``.

    Returns:
        Columns ``modality``, ``level``, ``group``, ``count`` (ticks of the
        group's labels), ``share`` (% of all selections), ``any_share`` (% of
        annotations that ticked at least one of the group's labels).

    Examples:
        >>> static = pd.DataFrame(0, index=range(2), columns=list(GEMS_LABELS))
        >>> static["modality"] = "music"
        >>> static.loc[0, ["sad", "blue"]] = 1
        >>> static.loc[1, "calm"] = 1
        >>> t = group_table(static).set_index(["modality", "group"])
        >>> t.loc[("all", "Sadness"), ["count", "share", "any_share"]].tolist()
        [2.0, 66.66666666666667, 50.0]
    """
    if level == "category":
        groups = {c: list(GEMS_LABELS_OF_CATEGORY[c]) for c in GEMS_CATEGORIES}
    elif level == "superfactor":
        groups = {s: [t.label for t in GEMS if t.superfactor == s] for s in GEMS_SUPERFACTORS}
    else:
        raise ValueError(f"level must be 'category' or 'superfactor', not {level!r}")
    labels = _labels(static)
    rows = []
    for modality, part in _by_modality(static):
        sub = labels.loc[part.index]
        total, n = float(sub.to_numpy().sum()), len(part)
        for group, members in groups.items():
            count = float(sub[members].to_numpy().sum())
            any_ = float((sub[members].sum(axis=1) > 0).sum())
            rows.append((modality, level, group, count, _percent(count, total), _percent(any_, n)))
    columns = ["modality", "level", "group", "count", "share", "any_share"]
    return pd.DataFrame(rows, columns=columns)


def labels_per_annotation(static: pd.DataFrame) -> pd.DataFrame:
    """How many labels an annotation ticks, per modality and over all.

    Returns:
        Columns ``modality``, ``annotations``, ``selections`` (total ticks),
        ``mean``, ``std`` (sample), ``min``, ``max`` of labels per annotation.

    Examples:
        >>> static = pd.DataFrame(0, index=range(2), columns=list(GEMS_LABELS))
        >>> static["modality"] = "visual"
        >>> static.loc[0, ["sad", "blue", "tense"]] = 1
        >>> static.loc[1, "calm"] = 1
        >>> row = labels_per_annotation(static).iloc[-1]
        >>> int(row["annotations"]), int(row["selections"]), float(row["mean"])
        (2, 4, 2.0)
    """
    per_annotation = _labels(static).sum(axis=1)
    rows = []
    for modality, part in _by_modality(static):
        k = per_annotation.loc[part.index]
        rows.append(
            (
                modality,
                len(k),
                int(k.sum()),
                float(k.mean()),
                float(k.std(ddof=1)) if len(k) > 1 else float("nan"),
                int(k.min()),
                int(k.max()),
            )
        )
    columns = ["modality", "annotations", "selections", "mean", "std", "min", "max"]
    return pd.DataFrame(rows, columns=columns)


def distinct_labels_per_item(static: pd.DataFrame) -> pd.DataFrame:
    """How many different labels each item received, per modality and over all.

    Returns:
        Columns ``media_id``, ``modality``, ``distinct_labels``: the number of
        labels ticked at least once for the item in that modality; ``all`` counts
        the labels ticked at least once in any modality.

    Examples:
        >>> static = pd.DataFrame(0, index=range(3), columns=list(GEMS_LABELS))
        >>> static["media_id"] = ["a", "a", "a"]
        >>> static["modality"] = ["music", "music", "visual"]
        >>> static.loc[0, ["sad", "blue"]] = 1
        >>> static.loc[1, "sad"] = 1
        >>> static.loc[2, "calm"] = 1
        >>> distinct_labels_per_item(static)["distinct_labels"].tolist()
        [2, 1, 3]
    """
    labels = _labels(static)
    rows = []
    for modality, part in _by_modality(static):
        ticked = labels.loc[part.index].groupby(part["media_id"]).max()
        for media_id, distinct in ticked.sum(axis=1).items():
            rows.append((media_id, modality, int(distinct)))
    return pd.DataFrame(rows, columns=["media_id", "modality", "distinct_labels"])


def distinct_labels_per_stimulus(static: pd.DataFrame) -> dict[str, float]:
    """Distinct labels per media stimulus, as the paper counts them (§4.1.2).

    A stimulus is one item in one modality; its count is the number of labels
    ticked at least once by its annotators. ``all`` is the mean over every
    (item, modality) stimulus, the paper's "in total" figure (15.83 on the
    real release), not the count of an item's three modalities pooled (see
    :func:`distinct_labels_per_item_pooled`).

    Returns:
        {modality: mean over that modality's stimuli, ``all``: mean over all stimuli}.

    Examples:
        >>> static = pd.DataFrame(0, index=range(3), columns=list(GEMS_LABELS))
        >>> static["media_id"] = ["a", "a", "b"]
        >>> static["modality"] = ["music", "visual", "music"]
        >>> static.loc[0, ["sad", "blue"]] = 1
        >>> static.loc[1, "sad"] = 1
        >>> static.loc[2, ["calm", "sad", "tense"]] = 1
        >>> distinct_labels_per_stimulus(static)
        {'music': 2.5, 'visual': 1.0, 'all': 2.0}
    """
    table = distinct_labels_per_item(static)
    stimuli = table[table["modality"] != ALL]
    means = stimuli.groupby("modality", sort=False)["distinct_labels"].mean()
    out = {str(m): float(means[m]) for m in MODALITIES if m in means.index}
    out[ALL] = float(stimuli["distinct_labels"].mean()) if len(stimuli) else float("nan")
    return out


def distinct_labels_per_item_pooled(static: pd.DataFrame) -> float:
    """Mean over items of the labels ticked at least once in ANY modality.

    Not the paper's per-stimulus figure: an item's three modalities are
    pooled (24.35 on the real release, against the paper's 15.83 per stimulus).

    Examples:
        >>> static = pd.DataFrame(0, index=range(2), columns=list(GEMS_LABELS))
        >>> static["media_id"] = ["a", "a"]
        >>> static["modality"] = ["music", "visual"]
        >>> static.loc[0, ["sad", "blue"]] = 1
        >>> static.loc[1, "calm"] = 1
        >>> distinct_labels_per_item_pooled(static)
        3.0
    """
    table = distinct_labels_per_item(static)
    pooled = table.loc[table["modality"] == ALL, "distinct_labels"]
    return float(pooled.mean()) if len(pooled) else float("nan")


def gems_summary(static: pd.DataFrame) -> dict[str, Any]:
    """The ``gems`` block of ``summary.json``.

    Returns:
        ``labels_per_annotation`` {modality or ``all``: mean},
        ``distinct_labels_per_stimulus`` {modality: mean over its stimuli,
        ``all``: mean over all item x modality stimuli, the paper's §4.1.2
        figure}, ``distinct_labels_per_item_pooled`` (mean over items of the
        labels ticked in any modality), ``item_share`` {label: % of all
        annotations}, ``category_any_share`` {category: % of all annotations
        with at least one of its labels}.
    """
    per_annotation = labels_per_annotation(static)
    table = label_table(static)
    overall = table[table["modality"] == ALL]
    groups = group_table(static, "category")
    groups = groups[groups["modality"] == ALL]
    return {
        "labels_per_annotation": {
            str(m): float(v)
            for m, v in zip(per_annotation["modality"], per_annotation["mean"], strict=True)
        },
        "distinct_labels_per_stimulus": distinct_labels_per_stimulus(static),
        "distinct_labels_per_item_pooled": distinct_labels_per_item_pooled(static),
        "item_share": {
            str(k): float(v) for k, v in zip(overall["label"], overall["item_share"], strict=True)
        },
        "category_any_share": {
            str(k): float(v) for k, v in zip(groups["group"], groups["any_share"], strict=True)
        },
    }


def label_bars_figure(table: pd.DataFrame, modality: str, *, ax: Axes | None = None) -> Axes:
    """Bar chart of each label's item share in one modality, coloured by category.

    Args:
        table: the table of :func:`label_table`.
        modality: a modality or ``all``.
        ax: the axes to draw on (default: a new page-wide figure).

    Returns:
        The axes drawn on.
    """
    sub = table[table["modality"] == modality]
    with figure_style():
        ax = axes_or_new(ax, PAGE_WIDTH_IN, 3.4)
        x = np.arange(len(sub))
        colours = [CATEGORY_COLOURS[c] for c in sub["category"]]
        ax.bar(x, sub["item_share"], color=colours)
        ax.set_xticks(
            x, [label.replace("_", " ") for label in sub["label"]], rotation=60, ha="right"
        )
        ax.set_xlabel("GEMS label")
        ax.set_ylabel("Annotations that\nticked the label (%)")
        n = int(sub["count"].sum())
        ax.set_title(f"GEMS labels, {MODALITY_NAMES.get(modality, modality)} ({n} selections)")
        handles = [Patch(color=c, label=category) for category, c in CATEGORY_COLOURS.items()]
        legend_outside(ax, handles=handles, title="Category")
        ax.set_xlim(-0.7, len(sub) - 0.3)
        top = float(sub["item_share"].max()) if len(sub) else 1.0
        ax.set_ylim(0, max(1.0, top) * 1.08)
    return ax
