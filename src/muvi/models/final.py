"""Final models fitted on all items of a study (``muvi train``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.errors import DataError, MuviError
from muvi.models.folds import Fold

if TYPE_CHECKING:
    pass

from muvi.models.cv import StudyData, _FoldRunner
from muvi.models.grid import EvaluationConfig, Experiment

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
        >>> from muvi.models.grid import EXPERIMENTS
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
        study: the study (see :func:`muvi.models.cv.prepare_study`).
        out_dir: folder that receives the bundles.
        config: what to fit (experiments, models, dimensions, settings).
        on_fit: called after each model is saved.

    Returns:
        The bundle folders, named by :func:`final_bundle_name`.
    """
    from sklearn.model_selection import train_test_split

    from muvi.models.bundle import save_bundle

    config = config or EvaluationConfig(models=("lstm",))
    if config.defects:
        raise MuviError(
            f"the defects {', '.join(sorted(config.defects))} concern cross-validation; "
            "final models are fitted once on all items, so there is nothing to replicate"
        )
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
                profile=config.profile,
                notes=f"experiment {experiment.number}; early stopping on {len(fold.validation)} items",
            )
            written.append(folder)
            if on_fit is not None:
                on_fit(folder.name)
    return written
