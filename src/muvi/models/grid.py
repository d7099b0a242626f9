"""The experiment grid and its configuration.

Seven experiments for valence and arousal, plus the LASSO baseline for
experiments 1 to 5 (Chua et al. 2022, section 5):

1. music ratings from audio features;
2. visual ratings from visual features;
3. audiovisual ratings from audio features;
4. audiovisual ratings from visual features;
5. audiovisual ratings from both, A1 early fusion;
6. audiovisual ratings from both, A2 late fusion;
7. PAIR: A2 started from the fold's models of experiments 1 and 2 (trained on
   the music and visual ratings of the fold's *training* items only), then
   fine-tuned on the audiovisual ratings of the same training items.

:data:`muvi.models.architectures.ARCHITECTURES` is the one table of network
architectures that the grid, the bundles and the command line share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from muvi.data.schema import (
    DIMENSIONS,
)
from muvi.errors import MuviError
from muvi.models.architectures import ARCHITECTURES
from muvi.models.lasso import LassoConfig, LassoRegressor
from muvi.models.lstm import (
    PAPER_BLOCK,
    BlockConfig,
    PairInitialisers,
)
from muvi.models.training import TrainingConfig


@dataclass(frozen=True)
class Experiment:
    """One experiment of the grid: which ratings, from which features, how."""

    number: int
    target_modality: str
    features: tuple[str, ...]
    architecture: str
    """The neural model: a name of :data:`muvi.models.architectures.ARCHITECTURES`
    (``lstm``, ``early_fusion``, ``late_fusion``, ``pair``)."""

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


def register_experiment(experiment: Experiment) -> Experiment:
    """Add an experiment to the grid (e.g. experiment 8: music from audio with
    a newly registered architecture).

    Returns:
        ``experiment``.

    Raises:
        MuviError: its number is taken by another experiment, or its
            architecture is not registered or reads another number of
            feature tables.
    """
    known = EXPERIMENTS.get(experiment.number)
    if known is not None and known != experiment:
        raise MuviError(f"experiment {experiment.number} is already in the grid")
    entry = ARCHITECTURES.get(experiment.architecture)
    if entry is None:
        raise MuviError(f"unknown architecture {experiment.architecture!r}")
    if entry.inputs != len(experiment.features):
        raise MuviError(
            f"the {entry.name} architecture reads {entry.inputs} feature table(s), "
            f"not {len(experiment.features)}"
        )
    EXPERIMENTS[experiment.number] = experiment
    return experiment


PROFILE_NAMES = ("paper", "reference-code")
"""Names of :data:`muvi.models.profiles.PROFILES` (repeated here, where the
configuration is checked, so that this module does not import that one)."""


@dataclass
class EvaluationConfig:
    """What to run; the defaults are the full grid with the paper's settings.

    Attributes:
        experiments: experiment numbers (1-7).
        models: ``lasso`` (experiments 1-5) and/or ``lstm`` (the neural model
            of each experiment: unimodal LSTM, A1, A2 or PAIR).
        dimensions: ``valence`` and/or ``arousal``.
        block: the LSTM block (paper default; :func:`muvi.models.profiles.profile_config`
            sets the authors' code's).
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
            5.0 min with 2). With batched training (the default) the networks
            train in stacks and ``workers`` is the number of threads for the
            grid's LASSO fits: they run alongside the stacks when the networks
            train on a GPU or a Dask cluster, and after them, in at least
            ``training.threads`` threads, when they train on this CPU.
        scheduler: address of a Dask scheduler (``tcp://host:8786``): the
            grid's training jobs (the stacks of batched training, or the
            (fold, dimension) jobs one at a time) run there as tasks, with
            results equal to a local run. None: run here.
        profile: the profile the settings came from: ``paper`` (default) or
            ``reference-code`` (:mod:`muvi.models.profiles`); recorded in
            results and bundles. The settings themselves are the fields.
        defects: defects of the authors' code replicated on request
            (``pair-leak``, ``chunked-scoring``; see
            :mod:`muvi.models.reference_code`); empty by default, and every
            output written under any says so.
        reported_error: the error printed beside the CCC in summaries and
            the report: ``rmse`` (the paper's text, default) or ``mse`` (what
            the authors' code prints under that name). Both are always
            computed and written to the tables.
    """

    experiments: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    models: tuple[str, ...] = ("lasso", "lstm")
    dimensions: tuple[str, ...] = DIMENSIONS
    block: BlockConfig = PAPER_BLOCK
    training: TrainingConfig = field(default_factory=TrainingConfig)
    lasso: LassoConfig = field(default_factory=LassoConfig)
    workers: int = 1
    scheduler: str | None = None
    profile: str = "paper"
    defects: frozenset[str] = frozenset()
    reported_error: str = "rmse"

    def __post_init__(self) -> None:
        from muvi.models.reference_code import parse_defects

        if self.profile not in PROFILE_NAMES:
            raise MuviError(
                f"unknown profile {self.profile!r} (expected {' or '.join(PROFILE_NAMES)})"
            )
        self.defects = parse_defects(self.defects)
        if self.reported_error not in ("rmse", "mse"):
            raise MuviError(f"reported_error must be rmse or mse, not {self.reported_error!r}")
        if self.workers < 1:
            raise MuviError(f"workers must be at least 1 (got {self.workers})")
        bad = [e for e in self.experiments if e not in EXPERIMENTS]
        if bad:
            numbers = sorted(EXPERIMENTS)
            raise MuviError(
                f"unknown experiment {bad[0]} (expected numbers {numbers[0]} to {numbers[-1]})"
            )
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


def build_model(
    experiment: Experiment,
    model: str,
    config: EvaluationConfig,
    initialisers: PairInitialisers | None = None,
) -> Any:
    """A fresh estimator for one experiment and model kind (``lasso`` or a
    name of :data:`muvi.models.architectures.ARCHITECTURES`)."""
    if model == "lasso":
        return LassoRegressor(experiment.features, config.lasso)
    if model not in ARCHITECTURES:
        raise MuviError(f"unknown model {model!r}")
    return ARCHITECTURES[model].build(
        experiment.features, config.block, config.training, initialisers
    )


def count_fits(config: EvaluationConfig, n_folds: int = 5) -> int:
    """Models the grid fits (for progress bars), PAIR's initialisers included."""
    runs = config.runs()
    per_dim = len(runs)
    numbers = {e.number for e, m in runs if m != "lasso"}
    if 7 in numbers:
        per_dim += len({1, 2} - numbers)
    return per_dim * len(config.dimensions) * n_folds


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
