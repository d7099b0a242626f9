"""``muvi train``: fit the chosen models on all items and save bundles.

:func:`train` opens the study (:func:`muvi.data.formats.open_study`),
prepares it within its own analysis window (:func:`muvi.models.cv.prepare_study`)
and saves one bundle per model (:func:`muvi.models.final.train_final_models`),
named like ``music_arousal_lstm/`` for ``muvi predict``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.errors import MuviError
from muvi.workflows.options import ModelOptions, default_cache

if TYPE_CHECKING:
    from muvi.models.grid import EvaluationConfig

__all__ = ["TrainOptions", "Training", "train", "train_study"]


@dataclass(frozen=True)
class TrainOptions:
    """What ``muvi train`` fits.

    Attributes:
        data: the study folder, in any layout :func:`muvi.data.formats.open_study` knows.
        out: the folder that receives one bundle per model.
        model: the experiments, models and training settings (default: the
            networks only); defects are refused (they concern cross-validation).
        layout: the study's layout (default: recognised from the folder).
        cache_dir: where features extracted from media are cached (default: ``out/cache``).
    """

    data: Path
    out: Path
    model: ModelOptions = field(default_factory=lambda: ModelOptions(models=("lstm",)))
    layout: str | None = None
    cache_dir: Path | None = None


@dataclass
class Training:
    """What :func:`train` returns.

    Attributes:
        bundles: the bundle folders written.
        note: the device and precision the networks trained with.
    """

    bundles: list[Path]
    note: str = ""


def train_study(
    data_dir: str | Path,
    out_dir: str | Path,
    config: EvaluationConfig | None = None,
    on_fit: Callable[[str], None] | None = None,
    *,
    layout: str | None = None,
    cache_dir: str | Path | None = None,
) -> list[Path]:
    """Open a study and save bundles fitted on all its items
    (:func:`muvi.models.final.train_final_models`)."""
    from muvi.data.formats import open_study
    from muvi.models.cv import prepare_study
    from muvi.models.final import train_final_models

    study = prepare_study(open_study(data_dir, layout=layout, cache_dir=cache_dir))
    return train_final_models(study, out_dir, config, on_fit)


def train(options: TrainOptions, on_fit: Callable[[str], None] | None = None) -> Training:
    """``muvi train``: fit the chosen models on all items and save one bundle each.

    Args:
        options: what to fit (:class:`TrainOptions`).
        on_fit: called with the bundle's name after each model is saved.

    Returns:
        The :class:`Training`.

    Raises:
        MuviError: defects asked for, or an option that cannot run;
        DataError: the study is missing, malformed or lacks what the models need.
    """
    if options.model.defects:
        from muvi.models.reference_code import parse_defects

        try:
            named = sorted(parse_defects(",".join(options.model.defects)))
        except MuviError as err:
            raise MuviError(f"--replicate-defects: {err}") from None
        raise MuviError(
            f"--replicate-defects {','.join(named)}: the defects concern cross-validation "
            "(muvi evaluate); muvi train fits each model once on all items, so PAIR starts "
            "from the models trained on the same items and there are no test windows to chunk"
        )
    config, note = options.model.config()
    bundles = train_study(
        options.data,
        options.out,
        config,
        on_fit,
        layout=options.layout,
        cache_dir=default_cache(options.cache_dir, options.out),
    )
    return Training(bundles, note)
