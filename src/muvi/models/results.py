"""Results of the grid: per-item metrics, statistics, t-tests, LASSO
importance, and writing ``results.json`` and the CSV tables.

RMSE, MSE and CCC are computed per test item over its scored samples
(4..117); the tables give mean and standard deviation (``ddof=0``, as the
published reference code) over all test items of all folds. The RMSE is the
paper's metric; the MSE is what the authors' code prints under that name
(``EvaluationConfig.reported_error`` says which one a run prints).

Under replicated defects of the authors' code (``EvaluationConfig.defects``,
never by default) every output says so: ``results.json`` has ``defects`` and
``defect_notice``, every CSV table a ``defects`` column.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from muvi.models.folds import Fold
from muvi.models.human import HUMAN_TEST, human_tests
from muvi.models.reference_code import DEFECTS, defect_notice
from muvi.models.scoring import finite_pairs, paired_ttest

if TYPE_CHECKING:
    pass

from muvi.models.grid import EvaluationConfig


@dataclass
class EvaluationResults:
    """Everything the protocol produced.

    Attributes:
        per_item: one row per scored test item: ``fold``, ``name``,
            ``experiment``, ``model``, ``target_modality``, ``features``,
            ``dimension``, ``media_id``, ``rmse``, ``mse``, ``ccc``. Under the
            ``chunked-scoring`` defect the networks' rows are the code's
            chunks (``media_id`` is the label the code gives a chunk), with
            ``chunk`` and ``chunk_items``.
        predictions: ``fold``, ``name``, ``dimension``, ``media_id``,
            ``sample``, ``prediction``, ``target`` for every scored sample.
        coefficients: LASSO coefficients per fold: ``name``, ``dimension``,
            ``fold``, ``feature``, ``family``, ``coef``.
        fit_log: every (item, modality) whose ratings were given to ``fit`` of
            the model scored as ``name`` in ``fold`` (PAIR includes its
            initialisers): ``fold``, ``name``, ``dimension``, ``media_id``,
            ``modality``, ``role`` (train / validation).
        training: per fitted neural model: ``fold``, ``name``, ``dimension``,
            ``epochs``, ``best_epoch``, ``seconds``.
        folds: the outer folds.
        human_agreement: inter-rater agreement summary or None.
        config: the configuration that produced them.
        simulated: True when the study was simulated.
        agreement: each annotation's leave-one-out CCC
            (:func:`muvi.annotations.agreement`), for :meth:`human_tests`; None
            when the study had none.
        notes: what was adapted to the study (its folds, averaged ratings,
            skipped experiments), one sentence each.
    """

    per_item: pd.DataFrame
    predictions: pd.DataFrame
    coefficients: pd.DataFrame
    fit_log: pd.DataFrame
    training: pd.DataFrame
    folds: list[Fold]
    human_agreement: pd.DataFrame | None
    config: EvaluationConfig
    simulated: bool
    agreement: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def defects(self) -> list[str]:
        """The replicated defects of the authors' code, in a fixed order (empty by default)."""
        return [d for d in DEFECTS if d in self.config.defects]

    def summary(self) -> pd.DataFrame:
        """Mean ± std (ddof=0) of RMSE, MSE and CCC per experiment, model and dimension."""
        keys = ["name", "experiment", "model", "target_modality", "features", "dimension"]
        if self.per_item.empty:
            return pd.DataFrame(
                columns=[
                    *keys,
                    "rmse_mean",
                    "rmse_std",
                    "mse_mean",
                    "mse_std",
                    "ccc_mean",
                    "ccc_std",
                    "n_items",
                ]
            )
        grouped = self.per_item.groupby(keys, sort=False)
        table = grouped.agg(
            rmse_mean=("rmse", "mean"),
            rmse_std=("rmse", lambda v: float(np.std(v))),
            mse_mean=("mse", "mean"),
            mse_std=("mse", lambda v: float(np.std(v))),
            ccc_mean=("ccc", "mean"),
            ccc_std=("ccc", lambda v: float(np.std(v))),
            n_items=("media_id", "size"),
        )
        return table.reset_index()

    def ttests(self) -> pd.DataFrame:
        """Paired t-tests over test items between every two scored models, per
        dimension, for CCC, RMSE and MSE (``scipy.stats.ttest_rel``)."""
        rows = []
        for dimension, part in self.per_item.groupby("dimension", sort=False):
            names = list(dict.fromkeys(part["name"]))
            for a, b in itertools.combinations(names, 2):
                left = part[part["name"] == a].set_index("media_id")
                right = part[part["name"] == b].set_index("media_id")
                common = left.index.intersection(right.index)
                for metric in ("ccc", "rmse", "mse"):
                    x = left.loc[common, metric].to_numpy(dtype=float)
                    y = right.loc[common, metric].to_numpy(dtype=float)
                    x, y = finite_pairs(x, y)
                    t, p, _ = paired_ttest(x, y)
                    rows.append(
                        {
                            "dimension": dimension,
                            "metric": metric,
                            "a": a,
                            "b": b,
                            "n_items": int(x.size),
                            "mean_a": float(x.mean()) if x.size else float("nan"),
                            "mean_b": float(y.mean()) if y.size else float("nan"),
                            "t": t,
                            "p": p,
                        }
                    )
        return pd.DataFrame(
            rows, columns=["dimension", "metric", "a", "b", "n_items", "mean_a", "mean_b", "t", "p"]
        )

    def human_tests(self) -> pd.DataFrame:
        """Each model against human-level agreement (§7.1.1): a paired t-test
        over test items, see :mod:`muvi.models.human` for the test and why.

        Returns:
            One row per (name, dimension); empty without the agreement table.
        """
        return human_tests(self.per_item, self.agreement)

    def importance(self, top: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
        """LASSO feature importance.

        Args:
            top: features kept per experiment and dimension.

        Returns:
            ``(top_features, families)``: the ``top`` features by |mean
            coefficient over folds| (``name``, ``dimension``, ``feature``,
            ``family``, ``coef_mean``, ``coef_std``, ``abs_coef_mean``), and the
            sum of |mean coefficient| per feature family (``name``,
            ``dimension``, ``family``, ``abs_coef_sum``, ``n_features``,
            ``n_nonzero``).
        """
        if self.coefficients.empty:
            return pd.DataFrame(), pd.DataFrame()
        mean = (
            self.coefficients.groupby(["name", "dimension", "feature", "family"], sort=False)[
                "coef"
            ]
            .agg(coef_mean="mean", coef_std=lambda v: float(np.std(v)))
            .reset_index()
        )
        mean["abs_coef_mean"] = mean["coef_mean"].abs()
        top_table = (
            mean.sort_values("abs_coef_mean", ascending=False, kind="stable")
            .groupby(["name", "dimension"], sort=False)
            .head(top)
            .reset_index(drop=True)
        )
        families = (
            mean.groupby(["name", "dimension", "family"], sort=False)
            .agg(
                abs_coef_sum=("abs_coef_mean", "sum"),
                n_features=("feature", "size"),
                n_nonzero=("abs_coef_mean", lambda v: int((v > 0).sum())),
            )
            .reset_index()
            .sort_values(["name", "dimension", "abs_coef_sum"], ascending=[True, True, False])
            .reset_index(drop=True)
        )
        return top_table, families

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` document."""
        summary = self.summary()
        experiments = [
            {
                "name": r["name"],
                "model": r["model"],
                "target_modality": r["target_modality"],
                "features": r["features"],
                "dimension": r["dimension"],
                "rmse_mean": _num(r["rmse_mean"]),
                "rmse_std": _num(r["rmse_std"]),
                "mse_mean": _num(r["mse_mean"]),
                "mse_std": _num(r["mse_std"]),
                "ccc_mean": _num(r["ccc_mean"]),
                "ccc_std": _num(r["ccc_std"]),
                "n_items": int(r["n_items"]),
            }
            for r in summary.to_dict("records")
        ]
        human = [] if self.human_agreement is None else _records(self.human_agreement)
        config = asdict(self.config)
        config["defects"] = sorted(self.config.defects)
        defects = self.defects
        return {
            "simulated": self.simulated,
            "profile": self.config.profile,
            "reported_error": self.config.reported_error,
            "defects": defects,
            "defect_notice": defect_notice(defects),
            "experiments": experiments,
            "human_agreement": human,
            "ttests": _records(self.ttests()),
            "human_tests": {"test": HUMAN_TEST, "rows": _records(self.human_tests())},
            "folds": [
                {
                    "index": f.index,
                    "train": list(f.train),
                    "validation": list(f.validation),
                    "test": list(f.test),
                }
                for f in self.folds
            ],
            "config": config,
            "notes": list(self.notes),
        }


def _num(value: Any) -> float | None:
    x = float(value)
    return x if np.isfinite(x) else None


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in table.to_dict("records"):
        clean: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, float | np.floating):
                clean[str(k)] = _num(v)
            elif isinstance(v, np.integer):
                clean[str(k)] = int(v)
            else:
                clean[str(k)] = v
        out.append(clean)
    return out


# --------------------------------------------------------------------------
# Writing the results
# --------------------------------------------------------------------------

RESULT_FILES = {
    "results": "results.json",
    "per_item": "per_item.csv",
    "summary": "summary.csv",
    "ttests": "ttests.csv",
    "predictions": "predictions.csv",
    "importance_top": "importance_top_features.csv",
    "importance_families": "importance_families.csv",
    "coefficients": "lasso_coefficients.csv",
    "training": "training.csv",
    "fit_log": "fit_log.csv",
    "human_agreement": "human_agreement.csv",
    "human_tests": "human_tests.csv",
}


def write_results(
    results: EvaluationResults,
    out_dir: str | Path,
    blocks: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Path]:
    """Write ``results.json`` and the CSV tables into ``out_dir``.

    Args:
        results: the results.
        out_dir: the folder (created).
        blocks: called with the ``results.json`` document; the blocks it
            returns are added to it (e.g. the paper's figures beside ours,
            which :mod:`muvi.report.models` adds).

    Returns:
        Table key -> path written (see :data:`RESULT_FILES`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in RESULT_FILES.items()}
    document = results.to_json()
    if blocks is not None:
        document.update(blocks(document))
    paths["results"].write_text(json.dumps(document, indent=2), encoding="utf-8")
    top, families = results.importance()
    tables = {
        "per_item": results.per_item,
        "summary": results.summary(),
        "ttests": results.ttests(),
        "predictions": results.predictions,
        "importance_top": top,
        "importance_families": families,
        "coefficients": results.coefficients,
        "training": results.training,
        "fit_log": results.fit_log,
        "human_agreement": results.human_agreement
        if results.human_agreement is not None
        else pd.DataFrame(),
        "human_tests": results.human_tests(),
    }
    label = ";".join(results.defects)
    for key, table in tables.items():
        if label:  # every table written under replicated defects says so in a column
            table = table.assign(defects=label)
        table.to_csv(paths[key], index=False)
    return paths
