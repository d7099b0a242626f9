"""The cross-validation runner: every fit of the grid within each outer fold
of :func:`muvi.models.folds.cv_folds`, then scoring on the fold's test items.

Every call to a model's ``fit`` is recorded (fold, model, item, modality,
role) in :attr:`EvaluationResults.fit_log`, so one can check that no test item's
ratings, in any modality, reached a model scored on it. The networks are
trained in stacks by default (:func:`fit_grid_networks`,
:mod:`muvi.models.batched`), one at a time otherwise, locally, in worker
processes, or as tasks on a Dask cluster.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from muvi.data.schema import (
    ANALYSIS_SAMPLES,
    audio_feature_family,
    visual_feature_family,
)
from muvi.errors import DataError, MuviError
from muvi.models.folds import MIN_ITEMS, Fold, fold_plan, study_folds
from muvi.models.lasso import fit_lasso_models
from muvi.models.lstm import (
    LSTMRegressor,
    PairInitialisers,
)
from muvi.models.reference_code import CHUNKED_SCORING, PAIR_LEAK, pair_source_folds
from muvi.models.scoring import chunk_scores, item_scores
from muvi.models.windows import HISTORY, SeriesSet, align_series, shared_scaling

if TYPE_CHECKING:
    from muvi.data.dataset import MuviDataset

from muvi.models.architectures import ARCHITECTURES
from muvi.models.grid import EXPERIMENTS, EvaluationConfig, Experiment, build_model
from muvi.models.results import EvaluationResults

PAIR_SOURCES = (1, 2)
"""The experiments whose fold models PAIR starts from: music ratings from the
audio features and visual ratings from the visual ones."""


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
        agreement: :func:`muvi.annotations.agreement` output (each annotation's
            leave-one-out CCC), for the model-versus-human tests, or None.
        n_samples: the analysis window in 2 Hz samples (the study's
            :attr:`MuviDataset.window`).
        notes: what was adapted to this study (folds, averaged ratings,
            skipped experiments), one sentence each.
    """

    items: list[str]
    features: dict[str, pd.DataFrame]
    gold: pd.DataFrame
    human_agreement: pd.DataFrame | None = None
    dynamic: pd.DataFrame | None = None
    simulated: bool = False
    agreement: pd.DataFrame | None = None
    n_samples: int = ANALYSIS_SAMPLES
    notes: list[str] = field(default_factory=list)

    def target(self, modality: str, dimension: str) -> pd.Series:
        rows = self.gold[self.gold["modality"] == modality]
        return rows.set_index(["media_id", "sample"])[dimension]

    def items_with_target(self, modality: str, items: Sequence[str]) -> list[str]:
        have = set(self.gold.loc[self.gold["modality"] == modality, "media_id"])
        return [m for m in items if m in have]


def prepare_study(dataset: MuviDataset) -> StudyData:
    """Quality filter, gold standard and human agreement of a loaded study,
    within the study's analysis window (:attr:`MuviDataset.window`: its
    ``muvi_metadata.json``'s, e.g. 38 samples for 20 s excerpts, else the
    paper's 118).

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
    n_samples = dataset.window.n_samples
    features = {
        name: table
        for name, table in (("audio", dataset.audio_features), ("visual", dataset.visual_features))
        if table is not None
    }
    if not features:
        raise DataError("the study has no audio or visual features to train on")
    notes = []
    if len(dataset.items) >= MIN_ITEMS and (plan := fold_plan(len(dataset.items))).note:
        notes.append(f"Folds: {plan.note}")
    if dataset.averaged:  # one averaged series per item: it is the gold standard itself
        notes.append(
            "The ratings are averages over raters: the gold standard is that average "
            "(no quality filter, no EWE, no human agreement)."
        )
        gold = dataset.dynamic[["media_id", "modality", "sample", "valence", "arousal"]].copy()
        spread = dataset.metadata.get("rating_std")
        for dim in ("valence", "arousal"):  # the raters' spread, where the layout has it
            per_item = spread.get(dim, {}) if isinstance(spread, dict) else {}
            gold[f"{dim}_std"] = [
                per_item[m][k] if m in per_item and k < len(per_item[m]) else np.nan
                for m, k in zip(gold["media_id"], gold["sample"], strict=True)
            ]
        return StudyData(
            items=list(dataset.items),
            features=features,
            gold=gold.reset_index(drop=True),
            dynamic=dataset.dynamic,
            simulated=dataset.simulated,
            n_samples=dataset.window.n_samples,
            notes=notes,
        )
    filtered, _ = quality_filter(dataset, n_samples)
    assert filtered.dynamic is not None
    table = agreement(filtered.dynamic)
    return StudyData(
        items=list(dataset.items),
        features=features,
        gold=gold_standard(filtered.dynamic),
        human_agreement=agreement_summary(table),
        dynamic=filtered.dynamic,
        simulated=dataset.simulated,
        agreement=table,
        n_samples=n_samples,
        notes=notes,
    )


class _SeriesCache:
    """Aligned series shared by the runners of a grid: each item list's
    feature rows are joined once (for every modality, dimension, seed and
    experiment that reads them) and each (modality, dimension, item list)'s
    targets once. Equal, array for array, to calling :func:`align_series`
    each time; safe to share between threads."""

    def __init__(self, study: StudyData) -> None:
        self.study = study
        self._features: dict[tuple[str, ...], SeriesSet] = {}
        self._sets: dict[tuple[str, str, tuple[str, ...]], SeriesSet] = {}
        self._lock = threading.Lock()

    def get(self, modality: str, dimension: str, items: Sequence[str]) -> SeriesSet:
        key = (modality, dimension, tuple(items))
        with self._lock:
            if key not in self._sets:
                if key[2] not in self._features:
                    self._features[key[2]] = align_series(
                        self.study.features, None, items, self.study.n_samples
                    )
                targets = align_series(
                    {}, self.study.target(modality, dimension), items, self.study.n_samples
                )
                self._sets[key] = replace(self._features[key[2]], targets=targets.targets)
            return self._sets[key]


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
        pair_prefitted: dict[str, Any] | None = None,
        series: _SeriesCache | None = None,
    ) -> None:
        self.study, self.config, self.fold, self.dimension = study, config, fold, dimension
        self.on_fit = on_fit
        self.prefitted = prefitted or {}
        # under the pair-leak defect: the models already trained in the fold PAIR loads from
        self.pair_prefitted = pair_prefitted
        self._source: _FoldRunner | None = None
        self.series_cache = series
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
                if self.series_cache is not None:
                    self.series[key] = self.series_cache.get(modality, self.dimension, chosen)
                else:
                    self.series[key] = align_series(
                        self.study.features,
                        self.study.target(modality, self.dimension),
                        chosen,
                        self.study.n_samples,
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

    def _pair_sources(
        self,
    ) -> tuple[
        tuple[LSTMRegressor, list[dict[str, Any]]], tuple[LSTMRegressor, list[dict[str, Any]]]
    ]:
        """PAIR's unimodal music and visual models with their fit records: this
        fold's, or under the ``pair-leak`` defect the last fold's
        (:func:`muvi.models.reference_code.pair_source_folds`), whose records
        then list the leaked items truthfully."""
        music, visual = PAIR_SOURCES
        if PAIR_LEAK in self.config.defects:
            folds = study_folds(self.study.items)
            source = folds[pair_source_folds(len(folds), leak=True)[self.fold.index]]
            if source.index != self.fold.index:
                if self._source is None:
                    self._source = _FoldRunner(
                        self.study,
                        self.config,
                        source,
                        self.dimension,
                        None,
                        self.pair_prefitted,
                        series=self.series_cache,
                    )
                return self._source._unimodal(music), self._source._unimodal(visual)
        return self._unimodal(music), self._unimodal(visual)

    def run(self, experiment: Experiment, model_kind: str) -> None:
        name = experiment.name(model_kind)
        sets = self._sets(experiment.target_modality)
        model: Any
        if model_kind == "lstm" and experiment.number in (1, 2):
            model, records = self._unimodal(experiment.number)
        elif model_kind == "pair":
            (audio, audio_records), (visual, visual_records) = self._pair_sources()
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
        base = {
            "fold": self.fold.index,
            "name": name,
            "experiment": experiment.number,
            "model": model_kind,
            "target_modality": experiment.target_modality,
            "features": experiment.feature_label,
            "dimension": self.dimension,
        }
        # the chunked-scoring defect concerns the code's networks (it has no LASSO)
        chunked = CHUNKED_SCORING in self.config.defects and model_kind != "lasso"
        score = chunk_scores if chunked else item_scores
        self.per_item += score(base, test.items, test.targets[:, HISTORY:], pred[:, HISTORY:])
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
    pair_prefitted: dict[str, Any] | None = None,
    series: _SeriesCache | None = None,
) -> _JobOutput:
    """Fit and score every run of the grid for one fold and one dimension
    (``prefitted``: name -> model already trained, e.g. by batched training;
    ``pair_prefitted``: the same for the fold PAIR loads from under ``pair-leak``;
    ``series``: aligned series shared with other jobs)."""
    fits: list[str] = []

    def record(description: str) -> None:
        fits.append(description)
        if on_fit is not None:
            on_fit(description)

    runner = _FoldRunner(study, config, fold, dimension, record, prefitted, pair_prefitted, series)
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
    series: _SeriesCache | None = None,
) -> dict[GridKey, Any]:
    """Train every neural network of the grid in stacks (batched training).

    With ``config.training.batched`` (default), networks of one
    architecture and input width are trained together by
    :func:`muvi.models.batched.train_stacked`: across folds, dimensions,
    seeds and experiments (experiments 1 and 3 share the audio LSTM's shape,
    2 and 4 the visual one's). PAIR runs in a second stage, stacked with A2,
    once the unimodal music and visual networks it starts from are trained.
    Each network equals the one one-at-a-time training would give with the
    same seed; with ``batched`` False the same networks are trained one at a
    time (:func:`muvi.models.training.train_network`), e.g. for timings.

    Args:
        study: the prepared study.
        config: the grid (its ``training`` settings apply to every stack).
        folds: the outer folds.
        seeds: training seeds (default ``config.training.seed`` only).
        on_stack: called after each stack with (description, networks, seconds).
        client: a ``dask.distributed.Client``: each stack trains as a task
            on its cluster (the stacks of a stage at once); None: here.
        series: aligned series to share with the caller (None: made here).
            Each item list's rows are joined and min-max scaled once for all
            the networks that read them (:func:`shared_scaling`).

    Returns:
        (seed, fold, dimension, run name) -> the fitted estimator.
    """
    seeds = list(seeds) if seeds is not None else [config.training.seed]
    neural = [(e, m) for e, m in config.runs() if m != "lasso"]
    if not neural:
        return {}
    with shared_scaling():
        return _fit_grid_networks(
            study, config, folds, seeds, neural, on_stack, client, series or _SeriesCache(study)
        )


def _fit_grid_networks(
    study: StudyData,
    config: EvaluationConfig,
    folds: Sequence[Fold],
    seeds: list[int],
    neural: list[tuple[Experiment, str]],
    on_stack: Callable[[str, int, float], None] | None,
    client: Any,
    series: _SeriesCache,
) -> dict[GridKey, Any]:
    """:func:`fit_grid_networks` after its arguments are settled."""
    from muvi.models.batched import train_stacked
    from muvi.models.training import train_network

    fitted: dict[GridKey, Any] = {}
    windows: dict[tuple[Any, ...], Any] = {}
    stage1: list[tuple[GridKey, Any, Any, Any]] = []
    stage2: list[tuple[GridKey, Experiment, str, Any]] = []
    for seed in seeds:
        seeded = replace(config, training=replace(config.training, seed=seed))
        for fold in folds:
            for dimension in config.dimensions:
                runner = _FoldRunner(study, seeded, fold, dimension, None, series=series)
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
                    if ARCHITECTURES[kind].stage == 2:
                        stage2.append((key, exp, kind, sets))
                        continue
                    model = build_model(exp, kind, seeded)
                    stage1.append((key, model, *_prepared(model, sets, windows, key, exp)))

    def train(entries: list[tuple[GridKey, Any, Any, Any]]) -> None:
        groups: dict[tuple[Any, ...], list[tuple[GridKey, Any, Any, Any]]] = {}
        for entry in entries:
            # precision auto became float32 in prepare (training_) where bfloat16 moved
            # results (one stack, one precision)
            key = (_stack_key(entry[1].net_), entry[1].training_.precision)
            groups.setdefault(key, []).append(entry)
        tasks = [
            (
                [e[1].net_ for e in group],
                [e[2] for e in group],
                [e[3] for e in group],
                replace(config.training, precision=group[0][1].training_.precision),
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
        elif config.training.batched:
            for group, task in zip(groups.values(), tasks, strict=True):
                _record(group, train_stacked(*task[:4], seeds=task[4]))
        else:  # the same networks, one at a time (the reference; for timings)
            for group, (nets, trains, vals, training, seeds) in zip(
                groups.values(), tasks, strict=True
            ):
                histories = [
                    train_network(net, t, v, replace(training, seed=s))
                    for net, t, v, s in zip(nets, trains, vals, seeds, strict=True)
                ]
                _record(group, histories, sum(h.seconds for h in histories))

    def _record(
        group: list[tuple[GridKey, Any, Any, Any]],
        histories: list[Any],
        seconds: float | None = None,
    ) -> None:
        for (key, model, *_), history in zip(group, histories, strict=True):
            fitted[key] = model.fitted(history)
        if on_stack is not None:
            names = sorted({e[0][3] for e in group})
            took = histories[0].seconds if seconds is None else seconds
            on_stack(f"stage: {', '.join(names)}", len(group), took)

    train(stage1)
    leak = PAIR_LEAK in config.defects  # PAIR then loads the last fold's unimodal models
    entries2 = []
    for key, exp, kind, sets in stage2:
        seed, fold_index, dimension, _ = key
        seeded = replace(config, training=replace(config.training, seed=seed))
        init = None
        if kind == "pair":  # the fold's unimodal models (the last fold's under pair-leak)
            source = folds[-1].index if leak else fold_index
            init = PairInitialisers(
                fitted[(seed, source, dimension, EXPERIMENTS[1].name("lstm"))],
                fitted[(seed, source, dimension, EXPERIMENTS[2].name("lstm"))],
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


def _fit_lasso_job(
    study: StudyData,
    config: EvaluationConfig,
    fold: Fold,
    dimension: str,
    series: _SeriesCache,
) -> dict[str, Any]:
    """Fit the LASSO models of one fold and dimension together
    (:func:`muvi.models.lasso.fit_lasso_models`): run name -> fitted model."""
    runner = _FoldRunner(study, config, fold, dimension, None, series=series)
    names, models, trains = [], [], []
    for experiment, kind in config.runs():
        if kind != "lasso":
            continue
        sets = runner._sets(experiment.target_modality)
        if not sets["train"].items:
            raise DataError(
                f"fold {fold.index}: no training item has {experiment.target_modality} ratings"
            )
        names.append(experiment.name(kind))
        models.append(build_model(experiment, kind, config))
        trains.append(sets["train"])
    fit_lasso_models(models, trains)
    return dict(zip(names, models, strict=True))


class _LassoFits:
    """The grid's LASSO fits in ``threads`` threads, one task per (fold,
    dimension), started at once (e.g. before the networks train on a GPU);
    :meth:`result` waits for them. The coordinate descent and the matrix
    products release the GIL, so the threads run in parallel with each other
    and with the thread that drives the GPU. While they run, NumPy's BLAS
    uses one thread, so every fit does the same arithmetic whatever the
    number of threads: the results equal a sequential run's."""

    def __init__(
        self,
        study: StudyData,
        config: EvaluationConfig,
        jobs: list[tuple[Fold, str]],
        threads: int,
        series: _SeriesCache,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(1, user_api="blas")
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(threads, len(jobs))))
        self._futures = [
            self._pool.submit(_fit_lasso_job, study, config, fold, dimension, series)
            for fold, dimension in jobs
        ]

    def result(self) -> list[dict[str, Any]]:
        """Run name -> fitted LASSO model, per job (in job order)."""
        try:
            return [future.result() for future in self._futures]
        finally:
            self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._limits.restore_original_limits()


def _trains_elsewhere(config: EvaluationConfig) -> bool:
    """Whether the networks train off this CPU (a GPU, a Dask cluster), so
    that the LASSO fits can use the CPU meanwhile."""
    from muvi.models.training import resolve_device

    return config.scheduler is not None or resolve_device(config.training.device).type != "cpu"


def _run_batched(
    study: StudyData,
    config: EvaluationConfig,
    folds: list[Fold],
    jobs: list[tuple[Fold, str]],
    on_fit: Callable[[str], None] | None,
    prefitted: dict[GridKey, Any] | None,
    on_stack: Callable[[str, int, float], None] | None = None,
) -> list[_JobOutput]:
    """The grid with its networks trained in stacks (:func:`fit_grid_networks`)
    and its LASSO fits shared per (fold, dimension) (:class:`_LassoFits`).

    When the networks train elsewhere (a GPU, a Dask cluster) the LASSO fits
    run meanwhile, in ``config.workers`` threads; on the CPU they run after
    the stacks, in ``max(workers, training.threads)`` threads. Every job's
    feature rows are aligned and scaled once for all its models. The models
    are then scored job by job in grid order, so the results equal a local
    one-at-a-time run's.
    """
    series = _SeriesCache(study)
    lasso: _LassoFits | None = None
    neural = "lstm" in config.models
    if "lasso" in config.models and neural and prefitted is None and _trains_elsewhere(config):
        lasso = _LassoFits(study, config, jobs, config.workers, series)
    try:
        with shared_scaling():
            if neural and prefitted is None:
                with _dask_client(config.scheduler) as client:
                    prefitted = fit_grid_networks(
                        study, config, folds, on_stack=on_stack, client=client, series=series
                    )
            if "lasso" in config.models and lasso is None:
                threads = max(config.workers, config.training.threads or 1)
                lasso = _LassoFits(study, config, jobs, threads, series)
            lasso_models = lasso.result() if lasso is not None else [{} for _ in jobs]
            seed = config.training.seed
            leak = PAIR_LEAK in config.defects

            def of(fold_index: int, dimension: str) -> dict[str, Any]:
                return {
                    k[3]: m
                    for k, m in (prefitted or {}).items()
                    if k[:3] == (seed, fold_index, dimension)
                }

            outputs = []
            for (fold, dimension), fitted in zip(jobs, lasso_models, strict=True):
                source = folds[-1].index if leak else fold.index
                outputs.append(
                    _run_job(
                        study,
                        config,
                        fold,
                        dimension,
                        on_fit,
                        {**of(fold.index, dimension), **fitted},
                        of(source, dimension),
                        series,
                    )
                )
            return outputs
    finally:
        if lasso is not None:
            lasso.close()


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


def run_evaluation(
    study: StudyData,
    config: EvaluationConfig | None = None,
    on_fit: Callable[[str], None] | None = None,
    prefitted: dict[GridKey, Any] | None = None,
    on_stack: Callable[[str, int, float], None] | None = None,
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
        on_stack: with batched training, called after each stack with
            (description, networks, seconds).

    Returns:
        The :class:`EvaluationResults`.

    Raises:
        DataError: a chosen experiment needs features the study lacks, or an
            item lacks a feature row or rating inside the analysis window.
    """
    config = config or EvaluationConfig()
    config, skipped = _applicable(config, study)
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
        agreement=study.agreement,
        n_samples=study.n_samples,
        notes=[*study.notes, *skipped],
    )
    folds = study_folds(study.items)
    jobs = [(fold, dimension) for fold in folds for dimension in config.dimensions]
    neural = "lstm" in config.models
    if (neural and (prefitted is not None or config.training.batched)) or (
        not neural and config.scheduler is None
    ):
        runners = _run_batched(study, config, folds, jobs, on_fit, prefitted, on_stack)
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
        agreement=study.agreement,
        notes=study.notes,
    )


def _applicable(config: EvaluationConfig, study: StudyData) -> tuple[EvaluationConfig, list[str]]:
    """Drop the experiments whose features or rated conditions the study lacks
    (PAIR's include those of the unimodal models it starts from,
    :data:`PAIR_SOURCES`; a music-only study keeps experiment 1), with a note;
    a study with everything keeps the config."""
    rated = set(study.gold["modality"])
    keep: list[tuple[int, list[str]]] = []
    dropped: list[tuple[int, list[str]]] = []
    for number in sorted(set(config.experiments)):
        exp = EXPERIMENTS[number]
        needed = [exp]  # PAIR also trains the unimodal models it starts from
        if exp.architecture == "pair" and "lstm" in config.models:
            needed += [EXPERIMENTS[n] for n in PAIR_SOURCES]
        lacking = [
            f"{kind} features"
            for kind in dict.fromkeys(f for e in needed for f in e.features)
            if kind not in study.features
        ]
        lacking += [
            f"{modality} ratings"
            for modality in dict.fromkeys(e.target_modality for e in needed)
            if modality not in rated
        ]
        (dropped if lacking else keep).append((number, lacking))
    if not dropped or not keep:
        return config, []
    reasons = "; ".join(f"{n}: no {' or '.join(why)}" for n, why in dropped)
    note = (
        f"Experiments run: {', '.join(str(n) for n, _ in keep)}; skipped for what the study "
        f"lacks: {reasons}."
    )
    return replace(config, experiments=tuple(n for n, _ in keep)), [note]
