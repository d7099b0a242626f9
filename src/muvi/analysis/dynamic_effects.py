"""Effects of modality and overlay on the dynamic ratings (Chua et al. 2022, §4).

Each annotation is summarised by its median valence and its median arousal.
On those medians:

- **normality**: a one-sample Kolmogorov-Smirnov test (two-sided, exact
  distribution of D) against a normal distribution whose mean and standard
  deviation are the sample's own (sample std, ddof 1). Because the
  parameters are estimated from the same data, this is the classical KS
  statistic without the Lilliefors correction; its p-value is conservative.
- **overlay**: the two-sided Mann-Whitney U test between overlaid and
  side-by-side annotations of the visual and audiovisual conditions
  (music has no overlay); normal approximation with tie and continuity
  correction unless both groups are small and tie-free (scipy's ``auto``).
  The reported statistic is U of the overlaid group.
- **modality**: the Kruskal-Wallis H test across the three modalities (tie
  corrected, chi-square with k - 1 degrees of freedom), with the median of
  each modality.

Examples:
    >>> import pandas as pd
    >>> dyn = pd.DataFrame({"participant_id": [1, 1, 1], "media_id": ["a"] * 3,
    ...     "modality": ["music"] * 3, "sample": [0, 1, 2],
    ...     "valence": [0.1, 0.5, 0.2], "arousal": [0.0, -0.4, 0.3]})
    >>> annotation_medians(dyn)[["valence", "arousal"]].values.tolist()
    [[0.2, 0.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from muvi.data.schema import DIMENSIONS, MODALITIES, OVERLAID, SIDE_BY_SIDE

ANNOTATION_KEY = ["participant_id", "media_id", "modality"]


def annotation_medians(dynamic: pd.DataFrame, static: pd.DataFrame | None = None) -> pd.DataFrame:
    """The median valence and arousal of every dynamic annotation.

    Args:
        dynamic: tidy dynamic ratings.
        static: tidy static annotations; when given, each annotation gets its
            ``overlay`` (``overlaid``, ``side_by_side`` or None) from there.

    Returns:
        Columns ``participant_id``, ``media_id``, ``modality``, ``valence``,
        ``arousal`` and, with ``static``, ``overlay``.
    """
    medians = dynamic.groupby(ANNOTATION_KEY, sort=True)[list(DIMENSIONS)].median().reset_index()
    if static is not None and "overlay" in static.columns:
        overlay = static[[*ANNOTATION_KEY, "overlay"]].drop_duplicates(subset=ANNOTATION_KEY)
        medians = medians.merge(overlay, on=ANNOTATION_KEY, how="left")
    return medians


def normality_tests(medians: pd.DataFrame) -> pd.DataFrame:
    """KS test of normality of the annotation medians, per dimension and modality.

    Returns:
        Columns ``dimension``, ``modality`` (three modalities present, then
        ``all``), ``statistic`` (D), ``p``, ``n``, ``mean``, ``std``, ``median``.
    """
    rows = []
    for dimension in DIMENSIONS:
        for modality in (*MODALITIES, "all"):
            values = (
                medians[dimension]
                if modality == "all"
                else medians.loc[medians["modality"] == modality, dimension]
            )
            x = values.dropna().to_numpy(float)
            if len(x) < 3:
                continue
            mean, std = float(x.mean()), float(x.std(ddof=1))
            if std > 0:
                result = stats.kstest(x, "norm", args=(mean, std), method="exact")
                statistic, p = float(result.statistic), float(result.pvalue)
            else:
                statistic, p = float("nan"), float("nan")
            rows.append((dimension, modality, statistic, p, len(x), mean, std, float(np.median(x))))
    columns = ["dimension", "modality", "statistic", "p", "n", "mean", "std", "median"]
    return pd.DataFrame(rows, columns=columns)


def overlay_tests(medians: pd.DataFrame) -> pd.DataFrame:
    """Mann-Whitney U between overlaid and side-by-side annotations (visual, audiovisual).

    Args:
        medians: the table of :func:`annotation_medians` with ``overlay``.

    Returns:
        Columns ``dimension``, ``statistic`` (U of the overlaid group), ``p``,
        ``n_overlaid``, ``n_side_by_side``, ``median_overlaid``,
        ``median_side_by_side``.
    """
    rows = []
    shown = medians[medians["modality"].isin(["visual", "audiovisual"])]
    if "overlay" not in shown.columns:  # no static table to say how the plane was shown
        shown = shown.assign(overlay=None)
    for dimension in DIMENSIONS:
        over = shown.loc[shown["overlay"] == OVERLAID, dimension].dropna().to_numpy(float)
        side = shown.loc[shown["overlay"] == SIDE_BY_SIDE, dimension].dropna().to_numpy(float)
        if len(over) == 0 or len(side) == 0:
            continue
        result = stats.mannwhitneyu(over, side, alternative="two-sided")
        rows.append(
            (
                dimension,
                float(result.statistic),
                float(result.pvalue),
                len(over),
                len(side),
                float(np.median(over)),
                float(np.median(side)),
            )
        )
    columns = [
        "dimension",
        "statistic",
        "p",
        "n_overlaid",
        "n_side_by_side",
        "median_overlaid",
        "median_side_by_side",
    ]
    return pd.DataFrame(rows, columns=columns)


def modality_tests(medians: pd.DataFrame) -> pd.DataFrame:
    """Kruskal-Wallis H across modalities, with each modality's median.

    Returns:
        Columns ``dimension``, ``statistic`` (H), ``dof``, ``p``, ``n``, then
        ``median_<modality>`` for each modality.
    """
    rows = []
    for dimension in DIMENSIONS:
        groups = {
            m: medians.loc[medians["modality"] == m, dimension].dropna().to_numpy(float)
            for m in MODALITIES
        }
        groups = {m: g for m, g in groups.items() if len(g)}
        row: dict[str, object] = {"dimension": dimension}
        if len(groups) >= 2:
            result = stats.kruskal(*groups.values())
            row.update(statistic=float(result.statistic), dof=len(groups) - 1)
            row["p"] = float(result.pvalue)
        else:
            row.update(statistic=float("nan"), dof=0, p=float("nan"))
        row["n"] = int(sum(len(g) for g in groups.values()))
        for m in MODALITIES:
            row[f"median_{m}"] = float(np.median(groups[m])) if m in groups else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _clean(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def dynamic_effects_summary(
    normality: pd.DataFrame, overlay: pd.DataFrame, modality: pd.DataFrame
) -> dict[str, dict[str, dict[str, object]]]:
    """The ``ks``, ``mann_whitney`` and ``kruskal`` blocks of ``summary.json``.

    Each is ``{dimension: {"statistic", "p", "medians": {group: median}}}``;
    the KS block is the test over all annotations (``medians`` {``all``: m}).
    """
    ks: dict[str, dict[str, object]] = {}
    for row in normality[normality["modality"] == "all"].itertuples(index=False):
        ks[str(row.dimension)] = {
            "statistic": _clean(row.statistic),
            "p": _clean(row.p),
            "medians": {"all": _clean(row.median)},
        }
    mann_whitney: dict[str, dict[str, object]] = {}
    for row in overlay.itertuples(index=False):
        mann_whitney[str(row.dimension)] = {
            "statistic": _clean(row.statistic),
            "p": _clean(row.p),
            "medians": {
                OVERLAID: _clean(row.median_overlaid),
                SIDE_BY_SIDE: _clean(row.median_side_by_side),
            },
        }
    kruskal: dict[str, dict[str, object]] = {}
    for record in modality.to_dict("records"):
        kruskal[str(record["dimension"])] = {
            "statistic": _clean(record["statistic"]),
            "p": _clean(record["p"]),
            "medians": {m: _clean(record[f"median_{m}"]) for m in MODALITIES},
        }
    return {"ks": ks, "mann_whitney": mann_whitney, "kruskal": kruskal}
