"""The built-in demo: the whole pipeline on a SIMULATED study, in minutes.

``muvi demo --out DIR`` simulates a study (:mod:`muvi.data.simulator`), runs
every analysis of the paper on it (:mod:`muvi.analysis`), cross-validates the
models in a reduced but complete setting (every experiment, LASSO and the
networks, both dimensions, the five folds; see
:func:`muvi.models.protocol.demo_config`: LSTM layers of 32 units, learning
rate 1e-3, at most 15 epochs), and writes one HTML report that shows all of it
under a banner saying the data are simulated. ``muvi evaluate`` runs the
paper's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from muvi.data.schema import DIMENSIONS

DEMO_EPOCHS = 15
"""Most epochs per network in the demo (the paper: 100, with early stopping)."""
DEMO_ITEMS = 40
DEMO_PARTICIPANTS = 30


@dataclass
class DemoConfig:
    """What the demo runs.

    Attributes:
        seed: the simulator's seed.
        n_items: simulated media items (the real study: 81).
        n_participants: simulated annotators (the real study: 49).
        epochs: most epochs per network (early stopping as in the paper).
        experiments: the experiments (1-7) of the paper's model grid to cross-validate.
        models: ``lasso`` and/or ``lstm``.
    """

    seed: int = 0
    n_items: int = DEMO_ITEMS
    n_participants: int = DEMO_PARTICIPANTS
    epochs: int = DEMO_EPOCHS
    experiments: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    models: tuple[str, ...] = ("lasso", "lstm")

    def fits(self) -> int:
        """Model fits of the demo's cross-validation (for progress bars)."""
        from muvi.models.grid import EvaluationConfig, count_fits

        return count_fits(EvaluationConfig(experiments=self.experiments, models=self.models))


@dataclass
class DemoOutputs:
    """The folders and the report that :func:`run_demo` writes."""

    study: Path
    analysis: Path
    evaluation: Path
    report: Path


def run_demo(
    out_dir: str | Path,
    config: DemoConfig | None = None,
    step: Callable[[str], None] | None = None,
    on_fit: Callable[[str], None] | None = None,
) -> DemoOutputs:
    """``muvi demo``: simulate, analyse, evaluate and report.

    Args:
        out_dir: the demo folder; receives ``study/`` (the simulated data),
            ``analysis/``, ``evaluation/`` and ``report.html``.
        config: what to run (defaults: a full-size study, the whole grid).
        step: called with the name of each stage as it starts.
        on_fit: called after each model fit of the evaluation.

    Returns:
        The paths written.
    """
    from muvi.data.simulator import simulate
    from muvi.models.grid import demo_config
    from muvi.report import analysis_sections, write_report
    from muvi.report.models import evaluation_sections
    from muvi.workflows.analyze import run_analysis
    from muvi.workflows.evaluate import evaluate_study

    config = config or DemoConfig()
    tell = step or (lambda name: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = DemoOutputs(
        study=out / "study",
        analysis=out / "analysis",
        evaluation=out / "evaluation",
        report=out / "report.html",
    )
    tell("simulating a study")
    simulate(
        paths.study,
        seed=config.seed,
        n_items=config.n_items,
        n_participants=config.n_participants,
    )
    tell("analysing the ratings")
    summary = run_analysis(paths.study, paths.analysis, cache_dir=paths.analysis / "cache")
    tell("cross-validating the models")
    evaluation = replace(
        demo_config(), experiments=config.experiments, models=config.models, dimensions=DIMENSIONS
    )
    evaluation.training = replace(evaluation.training, max_epochs=config.epochs)
    results, _ = evaluate_study(
        paths.study, paths.evaluation, evaluation, (), on_fit, cache_dir=paths.evaluation / "cache"
    )
    tell("writing the report")
    sections = analysis_sections(paths.analysis, summary) + evaluation_sections(
        paths.evaluation, results
    )
    write_report(
        paths.report,
        "MuVi demo on a SIMULATED study",
        sections,
        simulated=True,
        notes=(
            f"Simulated with seed {config.seed}: {config.n_items} items, "
            f"{config.n_participants} participants. Reduced model settings for a quick "
            f"run (NOT the paper's): LSTM layers of 32 units, learning rate 1e-3, at most "
            f"{config.epochs} epochs, patience 3; `muvi evaluate` uses the paper's settings.",
        ),
    )
    return paths
