"""The study's evaluation protocol (SPEC section 7).

Seven experiments for valence and arousal, plus the LASSO baseline for
experiments 1 to 5, trained and tested within each outer fold of
:func:`muvi.models.folds.cv_folds`:

1. music ratings from audio features;
2. visual ratings from visual features;
3. audiovisual ratings from audio features;
4. audiovisual ratings from visual features;
5. audiovisual ratings from both, A1 early fusion;
6. audiovisual ratings from both, A2 late fusion;
7. PAIR: A2 started from the fold's models of experiments 1 and 2 (trained on
   the music and visual ratings of the fold's *training* items only), then
   fine-tuned on the audiovisual ratings of the same training items.

Every call to a model's ``fit`` is recorded (fold, model, item, modality,
role) in :attr:`EvaluationResults.fit_log`, so one can check that no test item's
ratings, in any modality, reached a model scored on it.

RMSE and CCC are computed per test item over its scored samples (4..117);
the tables give mean and standard deviation (``ddof=0``, as the published
reference code) over all test items of all folds.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from muvi.annotations.metrics import ccc, rmse
from muvi.data.schema import (
    ANALYSIS_SAMPLES,
    DIMENSIONS,
    audio_feature_family,
    visual_feature_family,
)
from muvi.errors import DataError, MuviError
from muvi.models.folds import Fold, cv_folds
from muvi.models.lasso import LassoConfig, LassoRegressor
from muvi.models.lstm import (
    PAPER_BLOCK,
    BlockConfig,
    EarlyFusionRegressor,
    LateFusionRegressor,
    LSTMRegressor,
    PairInitialisers,
    PairRegressor,
)
from muvi.models.training import TrainingConfig
from muvi.models.windows import HISTORY, SeriesSet, align_series

if TYPE_CHECKING:
    from muvi.data.dataset import MuviDataset
    from muvi.report.html import ReportSection

MODEL_KINDS = ("lasso", "lstm", "early_fusion", "late_fusion", "pair")
"""The ``model`` values of ``results.json``."""


@dataclass(frozen=True)
class Experiment:
    """One experiment of the grid: which ratings, from which features, how."""

    number: int
    target_modality: str
    features: tuple[str, ...]
    architecture: str
    """The neural model: ``lstm``, ``early_fusion``, ``late_fusion`` or ``pair``."""

    @property
    def feature_label(self) -> str:
        """``audio``, ``visual`` or ``audio+visual``, as in ``results.json``."""
        return "+".join(self.features)

    @property
    def has_lasso(self) -> bool:
        return self.number <= 5

    def name(self, model: str) -> str:
        """e.g. ``exp1_lstm``, ``exp3_lasso``, ``exp7_pair``."""
        return f"exp{self.number}_{model}"


EXPERIMENTS: dict[int, Experiment] = {
    1: Experiment(1, "music", ("audio",), "lstm"),
    2: Experiment(2, "visual", ("visual",), "lstm"),
    3: Experiment(3, "audiovisual", ("audio",), "lstm"),
    4: Experiment(4, "audiovisual", ("visual",), "lstm"),
    5: Experiment(5, "audiovisual", ("audio", "visual"), "early_fusion"),
    6: Experiment(6, "audiovisual", ("audio", "visual"), "late_fusion"),
    7: Experiment(7, "audiovisual", ("audio", "visual"), "pair"),
}


@dataclass
class EvaluationConfig:
    """What to run; the defaults are the full grid with the paper's settings.

    Attributes:
        experiments: experiment numbers (1-7).
        models: ``lasso`` (experiments 1-5) and/or ``lstm`` (the neural model
            of each experiment: unimodal LSTM, A1, A2 or PAIR).
        dimensions: ``valence`` and/or ``arousal``.
        block: the LSTM block (paper default; ``REFERENCE_BLOCK`` for the
            reference code's variant).
        training: the training hyper-parameters (paper defaults).
        lasso: the LASSO baseline's settings.
        workers: processes that run the grid's (fold, dimension) jobs at once
            (e.g. valence and arousal of a fold side by side). With more than
            one, each process trains with ``max(1, training.threads //
            workers)`` CPU threads; every fit is seeded on its own, so the
            results equal a one-process run with that many threads. Default
            1 (measured on 2 shared cores with benchmarks/train_grid.py: one
            2-thread training runs two epochs in 3.6 s, two 1-thread trainings
            side by side in 5.0 s; a 1-epoch grid took 4.7 min with 1 worker,
            5.0 min with 2).
        scheduler: address of a Dask scheduler (``tcp://host:8786``): the
            grid's training jobs (the stacks of batched training, or the
            (fold, dimension) jobs one at a time) run there as tasks, with
            results equal to a local run. None: run here.
    """

    experiments: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    models: tuple[str, ...] = ("lasso", "lstm")
    dimensions: tuple[str, ...] = DIMENSIONS
    block: BlockConfig = PAPER_BLOCK
    training: TrainingConfig = field(default_factory=TrainingConfig)
    lasso: LassoConfig = field(default_factory=LassoConfig)
    workers: int = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise MuviError(f"workers must be at least 1 (got {self.workers})")
        bad = [e for e in self.experiments if e not in EXPERIMENTS]
        if bad:
            raise MuviError(f"unknown experiment {bad[0]} (expected numbers 1 to 7)")
        bad_models = [m for m in self.models if m not in ("lasso", "lstm")]
        if bad_models:
            raise MuviError(f"unknown model family {bad_models[0]!r} (expected lasso or lstm)")
        bad_dims = [d for d in self.dimensions if d not in DIMENSIONS]
        if bad_dims:
            raise MuviError(f"unknown dimension {bad_dims[0]!r} (expected valence or arousal)")

    def runs(self) -> list[tuple[Experiment, str]]:
        """(experiment, model kind) pairs to score, in grid order."""
        out = []
        for number in sorted(set(self.experiments)):
            exp = EXPERIMENTS[number]
            if "lasso" in self.models and exp.has_lasso:
                out.append((exp, "lasso"))
            if "lstm" in self.models:
                out.append((exp, exp.architecture))
        return out


@dataclass
class StudyData:
    """What the protocol needs from a study.

    Attributes:
        items: media ids in cross-validation order.
        features: ``audio`` / ``visual`` -> DataFrame indexed by (media_id, sample).
        gold: the gold standard (:func:`muvi.annotations.gold_standard`):
            ``media_id``, ``modality``, ``sample``, ``valence``, ``arousal``,
            ``valence_std``, ``arousal_std``.
        human_agreement: :func:`muvi.annotations.agreement_summary` output, or None.
        dynamic: the quality-filtered ratings (for figures), or None.
        simulated: True for a simulated study.
    """

    items: list[str]
    features: dict[str, pd.DataFrame]
    gold: pd.DataFrame
    human_agreement: pd.DataFrame | None = None
    dynamic: pd.DataFrame | None = None
    simulated: bool = False

    def target(self, modality: str, dimension: str) -> pd.Series:
        rows = self.gold[self.gold["modality"] == modality]
        return rows.set_index(["media_id", "sample"])[dimension]

    def items_with_target(self, modality: str, items: Sequence[str]) -> list[str]:
        have = set(self.gold.loc[self.gold["modality"] == modality, "media_id"])
        return [m for m in items if m in have]


def prepare_study(dataset: MuviDataset) -> StudyData:
    """Quality filter, gold standard and human agreement of a loaded study.

    Args:
        dataset: a study with dynamic ratings and at least one feature table.

    Returns:
        The :class:`StudyData` that :func:`run_evaluation` reads.

    Raises:
        DataError: the study has no dynamic ratings or no features.
    """
    from muvi.annotations import agreement, agreement_summary, gold_standard, quality_filter

    if dataset.dynamic is None:
        raise DataError(
            "the study has no dynamic ratings (av_data.csv), so models cannot be trained"
        )
    filtered, _ = quality_filter(dataset)
    assert filtered.dynamic is not None
    features = {
        name: table
        for name, table in (("audio", dataset.audio_features), ("visual", dataset.visual_features))
        if table is not None
    }
    if not features:
        raise DataError("the study has no audio or visual features to train on")
    return StudyData(
        items=list(dataset.items),
        features=features,
        gold=gold_standard(filtered.dynamic),
        human_agreement=agreement_summary(agreement(filtered.dynamic)),
        dynamic=filtered.dynamic,
        simulated=dataset.simulated,
    )


@dataclass
class EvaluationResults:
    """Everything the protocol produced.

    Attributes:
        per_item: one row per scored test item: ``fold``, ``name``,
            ``experiment``, ``model``, ``target_modality``, ``features``,
            ``dimension``, ``media_id``, ``rmse``, ``ccc``.
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

    def summary(self) -> pd.DataFrame:
        """Mean ± std (ddof=0) of RMSE and CCC per experiment, model and dimension."""
        keys = ["name", "experiment", "model", "target_modality", "features", "dimension"]
        if self.per_item.empty:
            return pd.DataFrame(
                columns=[*keys, "rmse_mean", "rmse_std", "ccc_mean", "ccc_std", "n_items"]
            )
        grouped = self.per_item.groupby(keys, sort=False)
        table = grouped.agg(
            rmse_mean=("rmse", "mean"),
            rmse_std=("rmse", lambda v: float(np.std(v))),
            ccc_mean=("ccc", "mean"),
            ccc_std=("ccc", lambda v: float(np.std(v))),
            n_items=("media_id", "size"),
        )
        return table.reset_index()

    def ttests(self) -> pd.DataFrame:
        """Paired t-tests over test items between every two scored models, per
        dimension, for CCC and RMSE (``scipy.stats.ttest_rel``)."""
        rows = []
        for dimension, part in self.per_item.groupby("dimension", sort=False):
            names = list(dict.fromkeys(part["name"]))
            for a, b in itertools.combinations(names, 2):
                left = part[part["name"] == a].set_index("media_id")
                right = part[part["name"] == b].set_index("media_id")
                common = left.index.intersection(right.index)
                for metric in ("ccc", "rmse"):
                    x = left.loc[common, metric].to_numpy(dtype=float)
                    y = right.loc[common, metric].to_numpy(dtype=float)
                    ok = np.isfinite(x) & np.isfinite(y)
                    x, y = x[ok], y[ok]
                    t, p = (float("nan"), float("nan"))
                    if x.size >= 2 and np.any(x != y):
                        res = stats.ttest_rel(x, y)
                        t, p = float(res.statistic), float(res.pvalue)
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
                "ccc_mean": _num(r["ccc_mean"]),
                "ccc_std": _num(r["ccc_std"]),
                "n_items": int(r["n_items"]),
            }
            for r in summary.to_dict("records")
        ]
        human = [] if self.human_agreement is None else _records(self.human_agreement)
        config = asdict(self.config)
        return {
            "simulated": self.simulated,
            "experiments": experiments,
            "human_agreement": human,
            "ttests": _records(self.ttests()),
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


def build_model(
    experiment: Experiment,
    model: str,
    config: EvaluationConfig,
    initialisers: PairInitialisers | None = None,
) -> Any:
    """A fresh estimator for one experiment and model kind."""
    if model == "lasso":
        return LassoRegressor(experiment.features, config.lasso)
    if model == "lstm":
        return LSTMRegressor(experiment.features[0], config.block, config.training)
    if model == "early_fusion":
        return EarlyFusionRegressor(config.block, config.training)
    if model == "late_fusion":
        return LateFusionRegressor(config.block, config.training)
    if model == "pair":
        return PairRegressor(initialisers, config.block, config.training)
    raise MuviError(f"unknown model {model!r}")


def count_fits(config: EvaluationConfig, n_folds: int = 5) -> int:
    """Models the grid fits (for progress bars), PAIR's initialisers included."""
    runs = config.runs()
    per_dim = len(runs)
    numbers = {e.number for e, m in runs if m != "lasso"}
    if 7 in numbers:
        per_dim += len({1, 2} - numbers)
    return per_dim * len(config.dimensions) * n_folds


class _FoldRunner:
    """Fits and scores the grid of one fold and one dimension."""

    def __init__(
        self,
        study: StudyData,
        config: EvaluationConfig,
        fold: Fold,
        dimension: str,
        on_fit: Callable[[str], None] | None,
        prefitted: dict[str, Any] | None = None,
    ) -> None:
        self.study, self.config, self.fold, self.dimension = study, config, fold, dimension
        self.on_fit = on_fit
        self.prefitted = prefitted or {}
        self.series: dict[tuple[str, str], SeriesSet] = {}
        self.unimodal: dict[int, tuple[LSTMRegressor, list[dict[str, Any]]]] = {}
        self.per_item: list[dict[str, Any]] = []
        self.predictions: list[pd.DataFrame] = []
        self.coefficients: list[pd.DataFrame] = []
        self.fit_log: list[dict[str, Any]] = []
        self.training: list[dict[str, Any]] = []
        self.last_model: Any = None

    def _sets(self, modality: str) -> dict[str, SeriesSet]:
        out = {}
        for role, items in (
            ("train", self.fold.train),
            ("validation", self.fold.validation),
            ("test", self.fold.test),
        ):
            key = (modality, role)
            if key not in self.series:
                chosen = self.study.items_with_target(modality, items)
                self.series[key] = align_series(
                    self.study.features,
                    self.study.target(modality, self.dimension),
                    chosen,
                    ANALYSIS_SAMPLES,
                )
            out[role] = self.series[key]
        return out

    def _fit(
        self, model: Any, name: str, modality: str, sets: dict[str, SeriesSet]
    ) -> list[dict[str, Any]]:
        """Fit and return the fit records (what ratings reached the model)."""
        if not sets["train"].items:
            raise DataError(f"fold {self.fold.index}: no training item has {modality} ratings")
        validation = sets["validation"] if sets["validation"].items else None
        if name not in self.prefitted:
            model.fit(sets["train"], validation)
        records = [
            {"media_id": m, "modality": modality, "role": role}
            for role, s in (("train", sets["train"]), ("validation", validation))
            if s is not None
            for m in s.items
        ]
        history = getattr(model, "history_", None)
        if history is not None:
            self.training.append(
                {
                    "fold": self.fold.index,
                    "name": name,
                    "dimension": self.dimension,
                    "epochs": history.epochs,
                    "best_epoch": history.best_epoch,
                    "seconds": history.seconds,
                }
            )
        if self.on_fit is not None:
            self.on_fit(f"fold {self.fold.index + 1} {self.dimension} {name}")
        return records

    def _unimodal(self, number: int) -> tuple[LSTMRegressor, list[dict[str, Any]]]:
        """The fold's LSTM of experiment 1 or 2 (also PAIR's initialisers), fitted once."""
        if number not in self.unimodal:
            exp = EXPERIMENTS[number]
            model = self.prefitted.get(exp.name("lstm")) or build_model(exp, "lstm", self.config)
            sets = self._sets(exp.target_modality)
            records = self._fit(model, exp.name("lstm"), exp.target_modality, sets)
            self.unimodal[number] = (model, records)
        return self.unimodal[number]

    def run(self, experiment: Experiment, model_kind: str) -> None:
        name = experiment.name(model_kind)
        sets = self._sets(experiment.target_modality)
        model: Any
        if model_kind == "lstm" and experiment.number in (1, 2):
            model, records = self._unimodal(experiment.number)
        elif model_kind == "pair":
            audio, audio_records = self._unimodal(1)
            visual, visual_records = self._unimodal(2)
            init = PairInitialisers(audio, visual)
            model = self.prefitted.get(name) or build_model(
                experiment, model_kind, self.config, init
            )
            records = audio_records + visual_records
            records += self._fit(model, name, experiment.target_modality, sets)
        else:
            model = self.prefitted.get(name) or build_model(experiment, model_kind, self.config)
            records = self._fit(model, name, experiment.target_modality, sets)
        self.last_model = model
        for rec in records:
            self.fit_log.append(
                {"fold": self.fold.index, "name": name, "dimension": self.dimension, **rec}
            )
        if model_kind == "lasso":
            coefs = model.coefficients()
            self.coefficients.append(
                pd.DataFrame(
                    {
                        "name": name,
                        "dimension": self.dimension,
                        "fold": self.fold.index,
                        "feature": list(coefs),
                        "family": [_family(f, model.feature_names_) for f in coefs],
                        "coef": list(coefs.values()),
                    }
                )
            )
        test = sets["test"]
        if not test.items:
            return
        pred = model.predict(test)
        for i, media_id in enumerate(test.items):
            y, p = test.targets[i, HISTORY:], pred[i, HISTORY:]
            self.per_item.append(
                {
                    "fold": self.fold.index,
                    "name": name,
                    "experiment": experiment.number,
                    "model": model_kind,
                    "target_modality": experiment.target_modality,
                    "features": experiment.feature_label,
                    "dimension": self.dimension,
                    "media_id": media_id,
                    "rmse": rmse(y, p),
                    "ccc": ccc(y, p),
                }
            )
        n_items, n_samples = test.targets.shape
        self.predictions.append(
            pd.DataFrame(
                {
                    "fold": self.fold.index,
                    "name": name,
                    "dimension": self.dimension,
                    "target_modality": experiment.target_modality,
                    "media_id": np.repeat(test.items, n_samples - HISTORY),
                    "sample": np.tile(test.samples[HISTORY:], n_items),
                    "prediction": pred[:, HISTORY:].reshape(-1),
                    "target": test.targets[:, HISTORY:].reshape(-1),
                }
            )
        )


def _family(feature: str, names: dict[str, list[str]]) -> str:
    if feature in set(names.get("visual", ())):
        return f"visual: {visual_feature_family(feature)}"
    return f"audio: {audio_feature_family(feature)}"


@dataclass
class _JobOutput:
    """What one (fold, dimension) job hands back: the lists of a :class:`_FoldRunner`."""

    per_item: list[dict[str, Any]]
    predictions: list[pd.DataFrame]
    coefficients: list[pd.DataFrame]
    fit_log: list[dict[str, Any]]
    training: list[dict[str, Any]]
    fits: list[str]


def _run_job(
    study: StudyData,
    config: EvaluationConfig,
    fold: Fold,
    dimension: str,
    on_fit: Callable[[str], None] | None,
    prefitted: dict[str, Any] | None = None,
) -> _JobOutput:
    """Fit and score every run of the grid for one fold and one dimension
    (``prefitted``: name -> model already trained, e.g. by batched training)."""
    fits: list[str] = []

    def record(description: str) -> None:
        fits.append(description)
        if on_fit is not None:
            on_fit(description)

    runner = _FoldRunner(study, config, fold, dimension, record, prefitted)
    for experiment, model_kind in config.runs():
        runner.run(experiment, model_kind)
    return _JobOutput(
        runner.per_item,
        runner.predictions,
        runner.coefficients,
        runner.fit_log,
        runner.training,
        fits,
    )


GridKey = tuple[int, int, str, str]
"""(seed, fold index, dimension, run name) of one network of the grid."""


def _stack_key(net: Any) -> tuple[Any, ...]:
    """Networks with equal keys share a stack: same class, parameter names and shapes."""
    return (type(net), tuple((n, tuple(p.shape)) for n, p in net.named_parameters()))


def fit_grid_networks(
    study: StudyData,
    config: EvaluationConfig,
    folds: Sequence[Fold],
    seeds: Sequence[int] | None = None,
    on_stack: Callable[[str, int, float], None] | None = None,
    client: Any = None,
) -> dict[GridKey, Any]:
    """Train every neural network of the grid in stacks (batched training).

    Networks of one architecture and input width are trained together by
    :func:`muvi.models.batched.train_stacked`: across folds, dimensions,
    seeds and experiments (experiments 1 and 3 share the audio LSTM's shape,
    2 and 4 the visual one's). PAIR runs in a second stage, stacked with A2,
    once the unimodal music and visual networks it starts from are trained.
    Each network equals the one one-at-a-time training would give with the
    same seed.

    Args:
        study: the prepared study.
        config: the grid (its ``training`` settings apply to every stack).
        folds: the outer folds.
        seeds: training seeds (default ``config.training.seed`` only).
        on_stack: called after each stack with (description, networks, seconds).
        client: a ``dask.distributed.Client``: each stack trains as a task
            on its cluster (the stacks of a stage at once); None: here.

    Returns:
        (seed, fold, dimension, run name) -> the fitted estimator.
    """
    from muvi.models.batched import train_stacked

    seeds = list(seeds) if seeds is not None else [config.training.seed]
    neural = [(e, m) for e, m in config.runs() if m != "lasso"]
    if not neural:
        return {}
    fitted: dict[GridKey, Any] = {}
    windows: dict[tuple[Any, ...], Any] = {}
    stage1: list[tuple[GridKey, Any, Any, Any]] = []
    stage2: list[tuple[GridKey, Experiment, str, Any]] = []
    for seed in seeds:
        seeded = replace(config, training=replace(config.training, seed=seed))
        for fold in folds:
            for dimension in config.dimensions:
                runner = _FoldRunner(study, seeded, fold, dimension, None)
                wanted = []
                for exp, kind in neural:
                    if kind == "pair":
                        wanted += [(EXPERIMENTS[1], "lstm"), (EXPERIMENTS[2], "lstm")]
                    wanted.append((exp, kind))
                for exp, kind in dict.fromkeys(wanted):
                    key = (seed, fold.index, dimension, exp.name(kind))
                    sets = runner._sets(exp.target_modality)
                    if not sets["train"].items:
                        raise DataError(
                            f"fold {fold.index}: no training item has {exp.target_modality} ratings"
                        )
                    if kind in ("late_fusion", "pair"):
                        stage2.append((key, exp, kind, sets))
                        continue
                    model = build_model(exp, kind, seeded)
                    stage1.append((key, model, *_prepared(model, sets, windows, key, exp)))

    def train(entries: list[tuple[GridKey, Any, Any, Any]]) -> None:
        groups: dict[tuple[Any, ...], list[tuple[GridKey, Any, Any, Any]]] = {}
        for entry in entries:
            groups.setdefault(_stack_key(entry[1].net_), []).append(entry)
        tasks = [
            (
                [e[1].net_ for e in group],
                [e[2] for e in group],
                [e[3] for e in group],
                config.training,
                [e[0][0] for e in group],
            )
            for group in groups.values()
        ]
        if client is not None:
            from muvi.models.batched import train_stack_task

            futures = [client.submit(train_stack_task, *task, pure=False) for task in tasks]
            done = client.gather(futures)
            for group, (states, histories) in zip(groups.values(), done, strict=True):
                for entry, state in zip(group, states, strict=True):
                    entry[1].net_.load_state_dict(state)
                    entry[1].net_.eval()
                _record(group, histories)
        else:
            for group, task in zip(groups.values(), tasks, strict=True):
                _record(group, train_stacked(*task[:4], seeds=task[4]))

    def _record(group: list[tuple[GridKey, Any, Any, Any]], histories: list[Any]) -> None:
        for (key, model, *_), history in zip(group, histories, strict=True):
            fitted[key] = model.fitted(history)
        if on_stack is not None:
            names = sorted({e[0][3] for e in group})
            on_stack(f"stage: {', '.join(names)}", len(group), histories[0].seconds)

    train(stage1)
    entries2 = []
    for key, exp, kind, sets in stage2:
        seed, fold_index, dimension, _ = key
        seeded = replace(config, training=replace(config.training, seed=seed))
        init = None
        if kind == "pair":
            init = PairInitialisers(
                fitted[(seed, fold_index, dimension, EXPERIMENTS[1].name("lstm"))],
                fitted[(seed, fold_index, dimension, EXPERIMENTS[2].name("lstm"))],
            )
        model = build_model(exp, kind, seeded, init)
        entries2.append((key, model, *_prepared(model, sets, windows, key, exp)))
    train(entries2)
    return fitted


def _prepared(
    model: Any,
    sets: dict[str, SeriesSet],
    cache: dict[tuple[Any, ...], Any],
    key: GridKey,
    exp: Experiment,
) -> tuple[Any, Any]:
    """Prepare ``model`` (scalers, initial net, windows); windows of the same
    fold, dimension, target and feature sets are shared across seeds, so a
    stack stores them once."""
    validation = sets["validation"] if sets["validation"].items else None
    _, train_windows, val_windows = model.prepare(sets["train"], validation)
    data_key = (key[1], key[2], exp.target_modality, tuple(model.feature_sets), type(model))
    if data_key in cache:
        return cast(tuple[Any, Any], cache[data_key])
    cache[data_key] = (train_windows, val_windows)
    return train_windows, val_windows


_WORKER_STUDY: dict[str, Any] = {}


def _init_worker(study: StudyData, config: EvaluationConfig) -> None:
    import torch

    _WORKER_STUDY["study"], _WORKER_STUDY["config"] = study, config
    if config.training.threads is not None:
        torch.set_num_threads(config.training.threads)


def _job_in_worker(fold: Fold, dimension: str) -> _JobOutput:
    return _run_job(_WORKER_STUDY["study"], _WORKER_STUDY["config"], fold, dimension, None)


def _run_jobs_in_processes(
    study: StudyData,
    config: EvaluationConfig,
    jobs: list[tuple[Fold, str]],
    on_fit: Callable[[str], None] | None,
) -> list[_JobOutput]:
    """Run the jobs in ``config.workers`` fresh (spawned) processes; the outputs
    come back in job order, so the results do not depend on which finishes first."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = config.training.threads
    per_worker = replace(
        config,
        training=replace(
            config.training,
            threads=max(1, threads // config.workers) if threads is not None else 1,
        ),
        workers=1,
    )
    outputs: list[_JobOutput | None] = [None] * len(jobs)
    with ProcessPoolExecutor(
        max_workers=min(config.workers, len(jobs)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(study, per_worker),
    ) as pool:
        futures = {pool.submit(_job_in_worker, f, d): i for i, (f, d) in enumerate(jobs)}
        for future in as_completed(futures):
            output = future.result()
            outputs[futures[future]] = output
            if on_fit is not None:
                for description in output.fits:
                    on_fit(description)
    return [o for o in outputs if o is not None]


def _run_batched(
    study: StudyData,
    config: EvaluationConfig,
    folds: list[Fold],
    jobs: list[tuple[Fold, str]],
    on_fit: Callable[[str], None] | None,
    prefitted: dict[GridKey, Any] | None,
) -> list[_JobOutput]:
    """The grid with its networks trained in stacks (:func:`fit_grid_networks`).

    With ``config.workers > 1`` the LASSO fits run in that many processes
    while the networks train (on the GPU, say); each job's records are then
    put in grid order, so the results equal a local run's.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    lasso_config = replace(config, models=("lasso",)) if "lasso" in config.models else None
    pending: Future[list[_JobOutput]] | None = None
    background = None
    if lasso_config is not None and config.workers > 1 and len(jobs) > 1:
        background = ThreadPoolExecutor(max_workers=1)
        pending = background.submit(_run_jobs_in_processes, study, lasso_config, jobs, None)
    try:
        if prefitted is None:
            with _dask_client(config.scheduler) as client:
                prefitted = fit_grid_networks(study, config, folds, client=client)
        seed = config.training.seed
        neural_config = replace(config, models=("lstm",))
        neural = [
            _run_job(
                study,
                neural_config,
                fold,
                dimension,
                on_fit,
                {k[3]: m for k, m in prefitted.items() if k[:3] == (seed, fold.index, dimension)},
            )
            for fold, dimension in jobs
        ]
        if lasso_config is None:
            return neural
        if pending is not None:
            lasso = pending.result()
            if on_fit is not None:
                for output in lasso:
                    for description in output.fits:
                        on_fit(description)
        else:
            lasso = [_run_job(study, lasso_config, f, d, on_fit) for f, d in jobs]
    finally:
        if background is not None:
            background.shutdown(wait=True)
    order = {e.name(m): i for i, (e, m) in enumerate(config.runs())}
    return [_merge(a, b, order) for a, b in zip(lasso, neural, strict=True)]


@contextlib.contextmanager
def _dask_client(address: str | None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` connected to ``address`` (None: yields None).

    Raises:
        MuviError: Dask is not installed or the scheduler cannot be reached.
    """
    if address is None:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise MuviError(
            "--scheduler needs dask[distributed] (pip install 'dask[distributed]')"
        ) from err
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise MuviError(f"cannot reach the Dask scheduler at {address}: {err}") from err
    try:
        yield client
    finally:
        client.close()


def _run_jobs_on_dask(
    study: StudyData,
    config: EvaluationConfig,
    jobs: list[tuple[Fold, str]],
    on_fit: Callable[[str], None] | None,
) -> list[_JobOutput]:
    """One-at-a-time training with each (fold, dimension) job a task on the
    Dask cluster at ``config.scheduler``; outputs come back in job order."""
    with _dask_client(config.scheduler) as client:
        shared = client.scatter(study, broadcast=True)
        futures = [client.submit(_run_job, shared, config, f, d, None, pure=False) for f, d in jobs]
        outputs: list[_JobOutput] = client.gather(futures)
    if on_fit is not None:
        for output in outputs:
            for description in output.fits:
                on_fit(description)
    return outputs


def _merge(a: _JobOutput, b: _JobOutput, order: dict[str, int]) -> _JobOutput:
    """Two outputs of one (fold, dimension) job, records in grid order."""

    def rank(name: str) -> int:
        return order.get(name, len(order))

    def records(x: list[dict[str, Any]], y: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(x + y, key=lambda r: rank(r["name"]))

    def frames(x: list[pd.DataFrame], y: list[pd.DataFrame]) -> list[pd.DataFrame]:
        return sorted(x + y, key=lambda f: rank(str(f["name"].iloc[0])) if len(f) else -1)

    return _JobOutput(
        per_item=records(a.per_item, b.per_item),
        predictions=frames(a.predictions, b.predictions),
        coefficients=frames(a.coefficients, b.coefficients),
        fit_log=records(a.fit_log, b.fit_log),
        training=records(a.training, b.training),
        fits=sorted(a.fits + b.fits, key=lambda d: rank(d.split()[-1])),
    )


def run_evaluation(
    study: StudyData,
    config: EvaluationConfig | None = None,
    on_fit: Callable[[str], None] | None = None,
    prefitted: dict[GridKey, Any] | None = None,
) -> EvaluationResults:
    """Run the grid over the outer folds.

    Args:
        study: items, features, gold standard (see :func:`prepare_study`).
        config: what to run (default: the full grid with the paper's settings).
        on_fit: called with a short description after each model is fitted
            (for progress bars; :func:`count_fits` gives the total).
        prefitted: networks already trained by :func:`fit_grid_networks`
            (keys with ``config.training.seed``); without them and with
            ``config.training.batched`` (default) the networks are trained
            here in stacks first, otherwise one at a time in the jobs.

    Returns:
        The :class:`EvaluationResults`.

    Raises:
        DataError: a chosen experiment needs features the study lacks, or an
            item lacks a feature row or rating inside the analysis window.
    """
    config = config or EvaluationConfig()
    needed = {s for e, _ in config.runs() for s in e.features}
    if 7 in config.experiments and "lstm" in config.models:
        needed |= {"audio", "visual"}
    missing = sorted(needed - set(study.features))
    if missing:
        raise DataError(
            f"the chosen experiments need {' and '.join(missing)} features, which the study "
            "lacks (experiments 1 and 3 use audio only, 2 and 4 visual only)"
        )
    study = StudyData(
        items=study.items,
        features={k: v for k, v in study.features.items() if k in needed},
        gold=study.gold,
        human_agreement=study.human_agreement,
        dynamic=study.dynamic,
        simulated=study.simulated,
    )
    folds = cv_folds(study.items)
    jobs = [(fold, dimension) for fold in folds for dimension in config.dimensions]
    neural = "lstm" in config.models
    if neural and (prefitted is not None or config.training.batched):
        runners = _run_batched(study, config, folds, jobs, on_fit, prefitted)
    elif config.scheduler is not None:
        runners = _run_jobs_on_dask(study, config, jobs, on_fit)
    elif config.workers > 1 and len(jobs) > 1:
        runners = _run_jobs_in_processes(study, config, jobs, on_fit)
    else:
        runners = [_run_job(study, config, fold, dimension, on_fit) for fold, dimension in jobs]

    def frame(parts: list[Any], columns: list[str] | None = None) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame(columns=columns)
        if isinstance(parts[0], pd.DataFrame):
            return pd.concat(parts, ignore_index=True)
        return pd.DataFrame(parts)

    return EvaluationResults(
        per_item=frame([r for x in runners for r in x.per_item]),
        predictions=frame([p for x in runners for p in x.predictions]),
        coefficients=frame([c for x in runners for c in x.coefficients]),
        fit_log=frame([r for x in runners for r in x.fit_log]),
        training=frame([r for x in runners for r in x.training]),
        folds=folds,
        human_agreement=study.human_agreement,
        config=config,
        simulated=study.simulated,
    )


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
}


def write_results(results: EvaluationResults, out_dir: str | Path) -> dict[str, Path]:
    """Write ``results.json`` and the CSV tables into ``out_dir``.

    Returns:
        Table key -> path written (see :data:`RESULT_FILES`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in RESULT_FILES.items()}
    paths["results"].write_text(json.dumps(results.to_json(), indent=2), encoding="utf-8")
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
    }
    for key, table in tables.items():
        table.to_csv(paths[key], index=False)
    return paths


def figure_items(
    results: EvaluationResults, requested: Sequence[str] = (), n: int = 2
) -> list[str]:
    """The items to plot: those requested (they must be test items), else the
    first ``n`` test items of fold 0."""
    tested = set(results.per_item["media_id"]) if not results.per_item.empty else set()
    unknown = [m for m in requested if m not in tested]
    if unknown:
        raise DataError(
            f"item {unknown[0]} was not a test item of any fold, so it has no predictions"
        )
    if requested:
        return list(requested)
    return [m for m in results.folds[0].test if m in tested][:n]


def write_figures(
    results: EvaluationResults,
    study: StudyData,
    out_dir: str | Path,
    items: Sequence[str] = (),
) -> list[Path]:
    """For each chosen item, modality and dimension: every annotator's series,
    the EWE with its ± std band and the models' predictions (one PNG each).

    Returns:
        The PNG files written (in ``out_dir/figures``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    preds = results.predictions
    for media_id in figure_items(results, items):
        for dimension in results.config.dimensions:
            for modality in dict.fromkeys(preds["target_modality"]):
                chosen = preds[
                    (preds["media_id"] == media_id)
                    & (preds["dimension"] == dimension)
                    & (preds["target_modality"] == modality)
                ]
                if chosen.empty:
                    continue
                gold = study.gold[
                    (study.gold["media_id"] == media_id) & (study.gold["modality"] == modality)
                ]
                fig, ax = plt.subplots(figsize=(8, 3.6))
                if study.dynamic is not None:
                    raters = study.dynamic[
                        (study.dynamic["media_id"] == media_id)
                        & (study.dynamic["modality"] == modality)
                    ]
                    for k, (_, series) in enumerate(raters.groupby("participant_id")):
                        ax.plot(
                            series["sample"] * 0.5,
                            series[dimension],
                            color="0.75",
                            lw=0.7,
                            label="annotators" if k == 0 else None,
                        )
                t = gold["sample"].to_numpy() * 0.5
                mean, std = gold[dimension].to_numpy(), gold[f"{dimension}_std"].to_numpy()
                ax.fill_between(
                    t, mean - std, mean + std, color="tab:blue", alpha=0.2, label="EWE ± std"
                )
                ax.plot(t, mean, color="tab:blue", lw=2, label="EWE")
                for name, part in chosen.groupby("name", sort=False):
                    ax.plot(part["sample"] * 0.5, part["prediction"], lw=1.4, label=str(name))
                title = f"{media_id}: {modality} {dimension}"
                if results.simulated:
                    title += " (SIMULATED study)"
                ax.set(title=title, xlabel="time (s)", ylabel=dimension, ylim=(-1.05, 1.05))
                ax.legend(fontsize=7, loc="upper right", ncol=2)
                fig.tight_layout()
                path = folder / f"{media_id}_{modality}_{dimension}.png"
                fig.savefig(path, dpi=110)
                plt.close(fig)
                written.append(path)
    return written


def evaluation_sections(out_dir: str | Path, results: EvaluationResults) -> list[ReportSection]:
    """Report sections with the results tables and the figures found in
    ``out_dir/figures`` (written by :func:`write_figures`).

    Args:
        out_dir: the folder given to :func:`write_results` / :func:`write_figures`.
        results: the evaluation results.

    Returns:
        Sections for :func:`muvi.report.html.write_report`.
    """
    from muvi.report.html import ReportSection

    note = (
        " <strong>These results come from a SIMULATED study.</strong>" if results.simulated else ""
    )
    summary = results.summary()
    intro = (
        "<p>Models trained and tested within the 5 outer folds; RMSE and CCC per test "
        "item, mean and standard deviation over the test items of all folds." + note + "</p>"
    )
    tables = {"Models: RMSE and CCC per experiment": summary}
    if results.human_agreement is not None:
        tables["Human inter-rater agreement (CCC, leave-one-out against the EWE)"] = (
            results.human_agreement
        )
    ttests = results.ttests()
    if not ttests.empty:
        tables["Paired t-tests over test items (smallest p first)"] = ttests.sort_values("p").head(
            60
        )
    top, families = results.importance()
    importance_tables = {}
    if not top.empty:
        importance_tables = {
            "LASSO: top features by |mean coefficient| over folds": top,
            "LASSO: sum of |mean coefficient| by feature family": families,
        }
    figures = {
        p.stem.replace("_", " "): p for p in sorted((Path(out_dir) / "figures").glob("*.png"))
    }
    sections = [ReportSection("Model evaluation", intro, tables)]
    if importance_tables:
        sections.append(ReportSection("Feature importance", "", importance_tables))
    if figures:
        sections.append(
            ReportSection(
                "Predictions against the ratings",
                "<p>Grey: every annotator; blue: the EWE with its ± std band; "
                "coloured lines: models scored on this test item.</p>",
                {},
                figures,
            )
        )
    return sections


# --------------------------------------------------------------------------
# Final models on all items (``muvi train``)
# --------------------------------------------------------------------------

FINAL_VALIDATION_SHARE = 0.1
"""Share of the items held out (for early stopping only) when fitting on all items."""


def final_bundle_name(experiment: Experiment, model: str, dimension: str) -> str:
    """Bundle folder name: ``<target_modality>_<dimension>_<model>``, with
    ``_from_audio`` / ``_from_visual`` for experiments 3 and 4, whose target
    and model alone would not tell them apart.

    Examples:
        >>> final_bundle_name(EXPERIMENTS[1], "lstm", "arousal")
        'music_arousal_lstm'
        >>> final_bundle_name(EXPERIMENTS[4], "lstm", "valence")
        'audiovisual_valence_lstm_from_visual'
    """
    name = f"{experiment.target_modality}_{dimension}_{model}"
    if experiment.number in (3, 4):
        name += f"_from_{experiment.features[0]}"
    return name


def train_final_models(
    study: StudyData,
    out_dir: str | Path,
    config: EvaluationConfig | None = None,
    on_fit: Callable[[str], None] | None = None,
) -> list[Path]:
    """Fit the chosen models on all items and save one bundle per model.

    All items' ratings train the models except a held-out tenth
    (``train_test_split(test_size=0.1, random_state=42)``) whose loss only
    decides early stopping. PAIR starts from the music and visual LSTMs fitted
    on the same items.

    Args:
        study: the study (see :func:`prepare_study`).
        out_dir: folder that receives the bundles.
        config: what to fit (experiments, models, dimensions, settings).
        on_fit: called after each model is saved.

    Returns:
        The bundle folders, named by :func:`final_bundle_name`.
    """
    from sklearn.model_selection import train_test_split

    from muvi.models.bundle import save_bundle

    config = config or EvaluationConfig(models=("lstm",))
    if len(study.items) < 3:
        raise DataError(f"{len(study.items)} items are too few to train on")
    train_items, validation_items = train_test_split(
        list(study.items), test_size=FINAL_VALIDATION_SHARE, random_state=42
    )
    fold = Fold(index=0, train=tuple(train_items), validation=tuple(validation_items), test=())
    out = Path(out_dir)
    written: list[Path] = []
    for dimension in config.dimensions:
        runner = _FoldRunner(study, config, fold, dimension, on_fit=None)
        for experiment, model_kind in config.runs():
            runner.run(experiment, model_kind)
            model = runner.last_model
            folder = save_bundle(
                model,
                out / final_bundle_name(experiment, model_kind, dimension),
                target_modality=experiment.target_modality,
                dimension=dimension,
                simulated=study.simulated,
                trained_on=list(fold.train),
                name=final_bundle_name(experiment, model_kind, dimension),
                notes=f"experiment {experiment.number}; early stopping on {len(fold.validation)} items",
            )
            written.append(folder)
            if on_fit is not None:
                on_fit(folder.name)
    return written


def evaluate_study(
    data_dir: str | Path,
    out_dir: str | Path,
    config: EvaluationConfig | None = None,
    items_for_figures: Sequence[str] = (),
    on_fit: Callable[[str], None] | None = None,
) -> tuple[EvaluationResults, dict[str, Path]]:
    """Load a study, run the grid, write ``results.json``, the tables and figures.

    Args:
        data_dir: a study folder in the published layout (with ``av_data.csv``).
        out_dir: the output folder.
        config: what to run (default: the full grid, paper settings).
        items_for_figures: test items to plot (default: two test items of fold 0).
        on_fit: progress callback, see :func:`run_evaluation`.

    Returns:
        The results and the paths written (``figures`` lists the PNG folder).
    """
    from muvi.data.loaders import load_dataset

    study = prepare_study(load_dataset(data_dir))
    results = run_evaluation(study, config, on_fit)
    paths = write_results(results, out_dir)
    write_figures(results, study, out_dir, items_for_figures)
    paths["figures"] = Path(out_dir) / "figures"
    return results, paths


def train_study(
    data_dir: str | Path,
    out_dir: str | Path,
    config: EvaluationConfig | None = None,
    on_fit: Callable[[str], None] | None = None,
) -> list[Path]:
    """Load a study and save bundles fitted on all its items (see :func:`train_final_models`)."""
    from muvi.data.loaders import load_dataset

    study = prepare_study(load_dataset(data_dir))
    return train_final_models(study, out_dir, config, on_fit)


def demo_config() -> EvaluationConfig:
    """A reduced but complete grid for the demo (all 7 experiments, LASSO and the
    networks, both dimensions) that runs in minutes on 2 cores on a small
    simulated study: LSTM layers of 32 units, learning rate 1e-3, at most 15
    epochs (patience 3), 10 LASSO alphas. NOT the paper's settings: the
    defaults of :class:`EvaluationConfig` are.

    Examples:
        >>> demo_config().block.hidden, demo_config().training.max_epochs
        ((32, 32), 15)
    """
    return EvaluationConfig(
        block=BlockConfig(hidden=(32, 32)),
        training=TrainingConfig(learning_rate=1e-3, max_epochs=15, patience=3),
        lasso=LassoConfig(n_alphas=10, eps=1e-2),
        workers=2,  # small networks: two 1-thread processes beat one 2-thread one
    )
