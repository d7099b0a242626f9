"""Effects on the static GEMS labels: chi-square tests of independence (Chua et al. 2022, §4).

For a grouping of the annotations (modality, overlay type, gender, musical
training, familiarity) the contingency table counts, for each group and
label, how many times the label was ticked. Pearson's chi-square test of
independence compares it with the counts expected under independence,
``row total * column total / grand total``; ``dof = (rows - 1)(columns - 1)``.
Labels never ticked within the compared annotations (and empty groups) are
left out of the table first, since their expected count is 0. No Yates
correction is applied (it only concerns 2 x 2 tables).

The labels that deviate most are those with the largest adjusted
standardized residuals, ``(O - E) / sqrt(E (1 - row/N) (1 - col/N))``
(approximately standard normal under independence); the Pearson residual
``(O - E) / sqrt(E)`` is listed too.

Examples:
    >>> import pandas as pd
    >>> observed = pd.DataFrame([[10, 20], [30, 40]], index=["g1", "g2"], columns=["sad", "calm"])
    >>> result = chi_square_test(observed, "example")
    >>> round(result.chi2, 4), result.dof, float(result.expected.loc["g1", "sad"])
    (0.7937, 1, 12.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from muvi.analysis.correction import holm
from muvi.analysis.participants import training_group
from muvi.data.schema import GEMS_LABELS, MODALITIES, OVERLAY_TYPES
from muvi.errors import DataError
from muvi.plotting.style import PAGE_WIDTH_IN, figure_or_new, figure_style

GROUPINGS = ("modality", "overlay", "gender", "training", "familiarity")
"""The groupings of the paper's chi-square tests, in its order."""

GROUPING_TITLES = {
    "modality": "modality",
    "overlay": "overlay type (visual and audiovisual)",
    "gender": "gender",
    "training": "musical training (<= 3 years vs > 3)",
    "familiarity": "familiarity (seen or heard before)",
}

Grouper = Callable[[pd.DataFrame, "pd.DataFrame | None"], pd.Series]
"""``grouper(static, participants)``: one group name (or None) per static annotation."""

_REGISTERED: dict[str, Grouper] = {}


def register_grouping(name: str, title: str, grouper: Grouper) -> None:
    """Add a grouping to the chi-square tests beside the paper's (e.g. age).

    ``muvi analyze`` then tests it, writes its table rows and figure
    (``observed_expected_<name>``), and the report shows them: a new test of
    the static labels is this one call.

    Args:
        name: the grouping's name (a column of :func:`annotation_groups`).
        title: a few words for the figure's title.
        grouper: ``grouper(static, participants)`` -> one group (or None,
            left out) per row of ``static``.

    Raises:
        ValueError: the name is one of the paper's groupings.
    """
    if name in GROUPINGS:
        raise ValueError(f"{name!r} is one of the paper's groupings")
    _REGISTERED[name] = grouper
    GROUPING_TITLES[name] = title


def unregister_grouping(name: str) -> None:
    """Remove a grouping added by :func:`register_grouping` (unknown names are ignored)."""
    if _REGISTERED.pop(name, None) is not None:
        GROUPING_TITLES.pop(name, None)


def groupings() -> tuple[str, ...]:
    """The groupings tested: the paper's (:data:`GROUPINGS`), then the registered ones.

    Examples:
        >>> groupings()[:2]
        ('modality', 'overlay')
    """
    return (*GROUPINGS, *_REGISTERED)


TOP_DEVIATIONS = 5
"""How many of the most deviating cells are listed per grouping."""


def annotation_groups(static: pd.DataFrame, participants: pd.DataFrame | None) -> pd.DataFrame:
    """The static annotations with one column per grouping of :data:`GROUPINGS`.

    Args:
        static: tidy static annotations.
        participants: the participant table (for ``gender`` and training);
            ``None`` leaves those two groupings empty.

    Returns:
        ``static`` with the added columns ``overlay`` (kept; None for music),
        ``gender``, ``training`` (``<=3 years`` / ``>3 years``) and
        ``familiarity`` (``seen`` / ``not seen``).
    """
    table = static.copy()
    if participants is not None and len(participants):
        people = participants.drop_duplicates("participant_id").set_index("participant_id")
        if "gender" in people.columns:
            table["gender"] = table["participant_id"].map(people["gender"])
        if "years_formal_training" in people.columns:
            training = training_group(people["years_formal_training"])
            table["training"] = table["participant_id"].map(training)
    for column in ("gender", "training"):
        if column not in table.columns:
            table[column] = None
    seen = table["seen_previously"].map(
        lambda v: None if pd.isna(v) else ("seen" if bool(v) else "not seen")
    )
    table["familiarity"] = seen
    if "overlay" not in table.columns:
        table["overlay"] = None
    for name, grouper in _REGISTERED.items():
        table[name] = np.asarray(grouper(static, participants), dtype=object)
    return table


def contingency_table(groups: pd.DataFrame, grouping: str) -> pd.DataFrame:
    """Label selections per group: rows are the groups, columns the 27 labels.

    Args:
        groups: the table of :func:`annotation_groups`.
        grouping: one of :func:`groupings`.

    Returns:
        Counts of ticks (int), rows in a fixed order (modalities and overlay
        types in schema order, others sorted), columns in GEMS order.

    Examples:
        >>> from muvi.data.schema import GEMS_LABELS
        >>> g = pd.DataFrame(0, index=range(3), columns=list(GEMS_LABELS))
        >>> g["modality"] = ["music", "music", "visual"]
        >>> g.loc[:, "calm"] = 1
        >>> contingency_table(g, "modality")["calm"].tolist()
        [2, 1]
    """
    if grouping not in groupings():
        known = ", ".join(groupings())
        raise ValueError(f"unknown grouping {grouping!r} (expected one of {known})")
    missing = [c for c in (grouping, *GEMS_LABELS) if c not in groups.columns]
    if missing:
        raise DataError(f"static annotations lack column(s) {', '.join(missing)}")
    sub = groups[groups[grouping].notna()]
    table = sub[list(GEMS_LABELS)].astype(int).groupby(sub[grouping].astype(str)).sum()
    if grouping == "modality":
        order = [m for m in MODALITIES if m in table.index]
    elif grouping == "overlay":
        order = [o for o in OVERLAY_TYPES if o in table.index]
    else:
        order = sorted(table.index)
    table = table.loc[order]
    table.index.name = grouping
    return table


@dataclass
class ChiSquareResult:
    """A chi-square test of independence on a group x label table.

    Attributes:
        grouping: what the rows are (e.g. ``modality``).
        chi2: Pearson's chi-square statistic.
        dof: degrees of freedom, (rows - 1)(columns - 1).
        p: upper-tail p-value of chi2 with ``dof`` degrees of freedom.
        observed: the table tested (empty rows and columns removed).
        expected: expected counts under independence.
        dropped_labels: labels left out because nobody ticked them here.
    """

    grouping: str
    chi2: float
    dof: int
    p: float
    observed: pd.DataFrame
    expected: pd.DataFrame
    dropped_labels: list[str]

    @property
    def residuals(self) -> pd.DataFrame:
        """Pearson residuals ``(O - E) / sqrt(E)``."""
        return (self.observed - self.expected) / self.expected**0.5

    @property
    def adjusted_residuals(self) -> pd.DataFrame:
        """Adjusted standardized residuals ``(O - E) / sqrt(E (1 - r/N) (1 - c/N))``."""
        o = self.observed.to_numpy(float)
        total = o.sum()
        row = o.sum(axis=1, keepdims=True) / total
        col = o.sum(axis=0, keepdims=True) / total
        e = self.expected.to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (o - e) / np.sqrt(e * (1 - row) * (1 - col))
        return pd.DataFrame(z, index=self.observed.index, columns=self.observed.columns)


def chi_square_test(observed: pd.DataFrame, grouping: str = "") -> ChiSquareResult:
    """Chi-square test of independence of a contingency table.

    Args:
        observed: counts, groups as rows and labels as columns.
        grouping: the name of the grouping, kept in the result.

    Returns:
        A :class:`ChiSquareResult`; chi2 and p are NaN when fewer than two
        groups or two labels remain.
    """
    counts = observed.astype(float)
    kept_columns = counts.columns[counts.sum(axis=0) > 0]
    dropped = [str(c) for c in counts.columns if c not in set(kept_columns)]
    counts = counts.loc[counts.sum(axis=1) > 0, kept_columns]
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        empty = counts * np.nan
        return ChiSquareResult(grouping, float("nan"), 0, float("nan"), counts, empty, dropped)
    result = stats.chi2_contingency(counts.to_numpy(), correction=False)
    expected = pd.DataFrame(result.expected_freq, index=counts.index, columns=counts.columns)
    return ChiSquareResult(
        grouping=grouping,
        chi2=float(result.statistic),
        dof=int(result.dof),
        p=float(result.pvalue),
        observed=counts,
        expected=expected,
        dropped_labels=dropped,
    )


def static_effects(
    static: pd.DataFrame, participants: pd.DataFrame | None
) -> dict[str, ChiSquareResult]:
    """The chi-square test of every grouping of :func:`groupings`.

    Returns:
        ``{grouping: ChiSquareResult}`` in the order of :func:`groupings`.
    """
    groups = annotation_groups(static, participants)
    return {g: chi_square_test(contingency_table(groups, g), g) for g in groupings()}


RESIDUAL_COLOURS = {"above": "#b2182b", "below": "#2166ac", "within": "#bababa"}
"""The observed-and-expected bars: a cell above independence (adjusted residual > 2),
below it (< -2), or within (red, blue, grey of the ColorBrewer RdBu scheme)."""


def chi_square_table(results: dict[str, ChiSquareResult]) -> pd.DataFrame:
    """One row per grouping: ``grouping``, ``chi2``, ``dof``, ``p``, ``p_holm`` (``p``
    Holm-corrected over the groupings' tests), ``groups``, ``selections``,
    ``dropped_labels`` (labels nobody ticked in that comparison)."""
    rows = [
        (
            name,
            r.chi2,
            r.dof,
            r.p,
            " / ".join(str(g) for g in r.observed.index),
            int(r.observed.to_numpy().sum()),
            " ".join(r.dropped_labels),
        )
        for name, r in results.items()
    ]
    columns = ["grouping", "chi2", "dof", "p", "groups", "selections", "dropped_labels"]
    table = pd.DataFrame(rows, columns=columns)
    table.insert(4, "p_holm", holm(table["p"].to_numpy(dtype=float)))
    return table


def deviating_labels(result: ChiSquareResult, k: int = TOP_DEVIATIONS) -> pd.DataFrame:
    """The ``k`` group-label cells that deviate most from independence.

    Returns:
        Columns ``grouping``, ``group``, ``label``, ``observed``, ``expected``,
        ``residual`` (Pearson), ``adjusted_residual``; largest absolute
        adjusted residual first.
    """
    columns = [
        "grouping",
        "group",
        "label",
        "observed",
        "expected",
        "residual",
        "adjusted_residual",
    ]
    if result.expected.isna().all().all():
        return pd.DataFrame(columns=columns)
    long = pd.DataFrame(
        {
            "observed": result.observed.stack(),
            "expected": result.expected.stack(),
            "residual": result.residuals.stack(),
            "adjusted_residual": result.adjusted_residuals.stack(),
        }
    )
    long.index.names = ["group", "label"]
    long = long.reset_index()
    long.insert(0, "grouping", result.grouping)
    order = long["adjusted_residual"].abs().sort_values(ascending=False, kind="stable").index
    return long.loc[order[:k], columns].reset_index(drop=True)


def chi_square_summary(results: dict[str, ChiSquareResult]) -> dict[str, dict[str, Any]]:
    """The ``chi_square`` block of ``summary.json``: {grouping: {chi2, dof, p}}."""

    def finite(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    return {
        name: {"chi2": finite(r.chi2), "dof": int(r.dof), "p": finite(r.p)}
        for name, r in results.items()
    }


def observed_expected_figure(
    result: ChiSquareResult, *, fig: Figure | SubFigure | None = None
) -> Figure | SubFigure:
    """Observed (bars) against expected (black ticks) selections, one panel per group.

    Args:
        result: a test of :func:`chi_square_test`.
        fig: the figure (or sub-figure) to draw the panels on (cleared first;
            default: a new page-wide figure).

    Returns:
        The figure drawn on.
    """
    groups = list(result.observed.index)
    n = max(1, len(groups))
    labels = list(result.observed.columns)
    x = np.arange(len(labels))
    title = GROUPING_TITLES.get(result.grouping, result.grouping)
    with figure_style():
        fig = figure_or_new(fig, PAGE_WIDTH_IN, 1.6 + 1.5 * n)
        if not np.isfinite(result.chi2):
            ax = fig.add_subplot()
            ax.text(0.5, 0.5, f"{title}: not enough groups to test", ha="center", va="center")
            ax.set_axis_off()
            return fig
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        z = result.adjusted_residuals
        for ax, group in zip(axes, groups, strict=True):
            colours = [
                RESIDUAL_COLOURS["above"]
                if v > 2
                else RESIDUAL_COLOURS["below"]
                if v < -2
                else RESIDUAL_COLOURS["within"]
                for v in z.loc[group]
            ]
            ax.bar(x, result.observed.loc[group], color=colours, width=0.8)
            ax.scatter(x, result.expected.loc[group], marker="_", s=120, color="black", zorder=3)
            ax.set_ylabel(f"{str(group).replace('_', ' ')}\n(selections)")
        axes[-1].set_xticks(
            x, [label.replace("_", " ") for label in labels], rotation=60, ha="right"
        )
        axes[-1].set_xlabel("GEMS label")
        handles = [
            Patch(color=RESIDUAL_COLOURS["above"], label="observed, adjusted residual > 2"),
            Patch(color=RESIDUAL_COLOURS["below"], label="observed, adjusted residual < −2"),
            Patch(color=RESIDUAL_COLOURS["within"], label="observed, |adjusted residual| ≤ 2"),
            Line2D(
                [],
                [],
                color="black",
                marker="_",
                linestyle="none",
                markersize=10,
                label="expected under independence",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        fig.suptitle(f"{title}: χ² = {result.chi2:.1f}, df = {result.dof}, p {_p_text(result.p)}")
    return fig


def _p_text(p: float) -> str:
    """``= 0.003`` or ``< 0.001``, as the report writes p-values."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
