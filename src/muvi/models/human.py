"""Each model against human-level agreement (Chua et al. 2022, §7.1.1).

The paper compares every model with how well humans agree with each other
and reports a t statistic for such a comparison (t = 1.82 in §7.1.1); the
text at hand does not say which test or pairing produced it, so muvi chooses
the one the paper's protocol implies and says so:

**A paired t-test over test items** (``scipy.stats.ttest_rel``), one pair per
test item of every fold:

- the model's side is its CCC on the item (its predictions against the
  item's gold standard, the EWE of all annotators, in the experiment's target
  modality and dimension), exactly the per-item value behind the results
  tables;
- the human side is the item's human agreement in the same modality and
  dimension: the mean, over the item's annotators, of each annotator's CCC
  with the EWE of the *other* annotators (the leave-one-out agreement of
  :func:`muvi.annotations.agreement`, the paper's human reference of §7.1).

Why this pairing: both sides are a CCC against an EWE consensus of the same
item, modality and dimension, so pairing by item removes what makes an item
easy or hard for everyone (a flat or a fast-changing excerpt); the models are
scored per test item (the unit of the results tables), so the item is the
unit on both sides; and averaging the annotators of an item gives one human
value per item, so that items with more annotators do not count more.
Items without a defined human agreement (fewer than three annotators) are
left out, and ``n_items`` says how many pairs remain. A positive ``t`` means
the model agrees with the consensus better than the humans agree with each
other.

Examples:
    >>> per_item = pd.DataFrame({"name": "exp1_lstm", "experiment": 1, "model": "lstm",
    ...     "target_modality": "music", "dimension": "arousal",
    ...     "media_id": ["a", "b", "c"], "ccc": [0.5, 0.6, 0.9]})
    >>> table = pd.DataFrame({"participant_id": [1, 2, 1, 2, 1], "modality": "music",
    ...     "media_id": ["a", "a", "b", "b", "c"], "valence": 0.0,
    ...     "arousal": [0.2, 0.4, 0.5, 0.5, 0.6]})
    >>> human_per_item(table)["arousal"].round(2).tolist()
    [0.3, 0.5, 0.6]
    >>> row = human_tests(per_item, table).iloc[0]
    >>> int(row["n_items"]), round(float(row["difference"]), 3)
    (3, 0.2)
"""

from __future__ import annotations

import pandas as pd

from muvi.data.schema import DIMENSIONS
from muvi.models.scoring import finite_pairs, paired_ttest

HUMAN_TEST = (
    "paired t-test over test items (scipy.stats.ttest_rel): the model's CCC on the item "
    "against the mean leave-one-out CCC of the item's annotators in the target modality "
    "and dimension"
)
"""The test, in words, for every output that shows it."""

HUMAN_TEST_COLUMNS = [
    "name",
    "experiment",
    "model",
    "target_modality",
    "dimension",
    "n_items",
    "model_ccc_mean",
    "human_ccc_mean",
    "difference",
    "t",
    "p",
]


def human_per_item(agreement_table: pd.DataFrame) -> pd.DataFrame:
    """The human agreement of each item and modality: the mean over its annotators.

    Args:
        agreement_table: :func:`muvi.annotations.agreement` output (one row per
            annotation: ``media_id``, ``modality``, ``valence``, ``arousal``).

    Returns:
        One row per (``media_id``, ``modality``) with the mean leave-one-out CCC
        per dimension (``nan`` where no annotator has a defined agreement).
    """
    dims = [d for d in DIMENSIONS if d in agreement_table.columns]
    if agreement_table.empty:
        return pd.DataFrame(columns=["media_id", "modality", *dims])
    return (
        agreement_table.groupby(["media_id", "modality"], sort=False)[dims]
        .mean()  # pandas skips nan: the annotators with a defined agreement
        .reset_index()
    )


def human_tests(per_item: pd.DataFrame, agreement_table: pd.DataFrame | None) -> pd.DataFrame:
    """The model-versus-human test of every scored model and dimension.

    Args:
        per_item: per-item results (``name``, ``experiment``, ``model``,
            ``target_modality``, ``dimension``, ``media_id``, ``ccc``); with
            several seeds pass the per-item means over seeds.
        agreement_table: :func:`muvi.annotations.agreement` output, or None
            (then the table is empty: no human reference).

    Returns:
        One row per (name, dimension): ``n_items`` pairs, ``model_ccc_mean``,
        ``human_ccc_mean``, ``difference`` (model minus human), ``t`` and
        ``p`` of the paired t-test (``nan`` with fewer than 2 pairs or no
        difference at all); see the module's docstring for the pairing.
    """
    if agreement_table is None or per_item.empty:
        return pd.DataFrame(columns=HUMAN_TEST_COLUMNS)
    human = human_per_item(agreement_table).set_index(["media_id", "modality"])
    rows = []
    keys = ["name", "experiment", "model", "target_modality", "dimension"]
    for key, part in per_item.groupby(keys, sort=False):
        name, experiment, model, modality, dimension = key
        index = pd.MultiIndex.from_arrays([part["media_id"], [modality] * len(part)])
        people = human.reindex(index)[dimension].to_numpy(dtype=float)
        machine = part["ccc"].to_numpy(dtype=float)
        x, y = finite_pairs(machine, people)
        t, p, _ = paired_ttest(x, y)
        rows.append(
            {
                "name": name,
                "experiment": int(str(experiment)),
                "model": model,
                "target_modality": modality,
                "dimension": dimension,
                "n_items": int(x.size),
                "model_ccc_mean": float(x.mean()) if x.size else float("nan"),
                "human_ccc_mean": float(y.mean()) if y.size else float("nan"),
                "difference": float((x - y).mean()) if x.size else float("nan"),
                "t": t,
                "p": p,
            }
        )
    return pd.DataFrame(rows, columns=HUMAN_TEST_COLUMNS)
