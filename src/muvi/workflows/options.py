"""Options shared by the workflows: the model settings and the study's door.

:class:`ModelOptions` holds what ``muvi evaluate``, ``muvi train`` and
``muvi reproduce`` ask of the models (which experiments, models, dimensions,
how long and where to train); :meth:`ModelOptions.config` turns them into the
:class:`muvi.models.grid.EvaluationConfig` that the cross-validation runner
and the final training read, checking each choice with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.data.schema import DIMENSIONS
from muvi.errors import MuviError

if TYPE_CHECKING:
    from muvi.models.grid import EvaluationConfig

__all__ = ["CACHE_FOLDER", "ModelOptions", "default_cache", "parse_experiments", "split_names"]

CACHE_FOLDER = "cache"
"""The feature cache's folder under a command's output folder (``--cache`` unset)."""

ALL_EXPERIMENTS = (1, 2, 3, 4, 5, 6, 7)


def default_cache(cache_dir: str | Path | None, out: str | Path) -> Path:
    """The feature cache: ``cache_dir`` when given, else ``out/cache``.

    Examples:
        >>> default_cache(None, "results").as_posix(), default_cache("/tmp/c", "results").as_posix()
        ('results/cache', '/tmp/c')
    """
    return Path(cache_dir) if cache_dir is not None else Path(out) / CACHE_FOLDER


def split_names(text: str) -> tuple[str, ...]:
    """The names of a comma-separated list, stripped, empty ones dropped.

    Examples:
        >>> split_names(" lasso, lstm,,")
        ('lasso', 'lstm')
    """
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_experiments(text: str) -> tuple[int, ...]:
    """The experiment numbers of ``--experiments`` (``"1,2,7"``).

    Raises:
        MuviError: a part is not a whole number.

    Examples:
        >>> parse_experiments("1, 2,7")
        (1, 2, 7)
    """
    try:
        return tuple(int(part) for part in split_names(text))
    except ValueError as err:
        raise MuviError(
            f"--experiments takes numbers 1 to 7 separated by commas, not {text!r}"
        ) from err


@dataclass(frozen=True)
class ModelOptions:
    """What the model workflows train, and how.

    Attributes:
        experiments: the experiments (1-7) of the paper's grid
            (:data:`muvi.models.grid.EXPERIMENTS`).
        models: ``lasso`` (experiments 1-5) and/or ``lstm`` (each experiment's network).
        dimensions: ``valence`` and/or ``arousal``.
        epochs: most epochs per network (the paper: 100, with early stopping).
        device: ``auto``, ``cpu`` or ``cuda``.
        precision: ``float32``, ``bfloat16`` or ``auto`` for the matrix products.
        batched: train the networks of one shape together as one stacked model.
        profile: ``paper`` or ``reference-code`` (:mod:`muvi.models.profiles`).
        defects: defects of the authors' code to replicate (``pair-leak``,
            ``chunked-scoring``); never on by default.
        threads: CPU threads for torch.
        workers: processes running (fold, dimension) jobs at once.
        scheduler: a Dask scheduler's address, or None to train here.
    """

    experiments: tuple[int, ...] = ALL_EXPERIMENTS
    models: tuple[str, ...] = ("lasso", "lstm")
    dimensions: tuple[str, ...] = DIMENSIONS
    epochs: int = 100
    device: str = "auto"
    precision: str = "float32"
    batched: bool = True
    profile: str = "paper"
    defects: tuple[str, ...] = ()
    threads: int = 2
    workers: int = 1
    scheduler: str | None = None

    def config(self) -> tuple[EvaluationConfig, str]:
        """The evaluation configuration, and a line naming the device and precision.

        Returns:
            ``(config, note)``: the :class:`muvi.models.grid.EvaluationConfig`
            of these options under their profile, and e.g. ``"training on cpu,
            matrix products in float32"``.

        Raises:
            MuviError: an unknown profile, defect, device or precision, or a
                combination that cannot run (one line naming the option).
        """
        from muvi.models.grid import EvaluationConfig
        from muvi.models.precision import resolve_precision
        from muvi.models.profiles import PROFILES, profile_config
        from muvi.models.reference_code import parse_defects
        from muvi.models.training import TrainingConfig, resolve_device

        if self.profile not in PROFILES:
            raise MuviError(f"--profile is {' or '.join(PROFILES)}, not {self.profile!r}")
        try:
            chosen_defects = parse_defects(",".join(self.defects))
        except MuviError as err:
            raise MuviError(f"--replicate-defects: {err}") from None
        where = resolve_device(self.device)  # unknown device, or cuda without a GPU: one line
        _, chosen = resolve_precision(self.precision, where)
        if self.precision != "float32" and not self.batched:
            raise MuviError(
                "--precision bfloat16/auto needs batched training (drop --one-at-a-time)"
            )
        if self.precision == "auto" and chosen.startswith("bfloat16"):
            chosen += (
                "; the audio LSTM (experiments 1, 3) stays float32: bfloat16 moved its results"
            )
        base = EvaluationConfig(
            experiments=self.experiments,
            models=self.models,
            dimensions=self.dimensions,
            defects=chosen_defects,
            training=TrainingConfig(
                max_epochs=self.epochs,
                device=self.device,
                threads=self.threads,
                precision=self.precision,
                batched=self.batched,
            ),
            workers=self.workers,
            scheduler=self.scheduler or None,
        )
        return profile_config(
            self.profile, base
        ), f"training on {where}, matrix products in {chosen}"

    def fits(self) -> int:
        """Model fits of a cross-validation with these options (for progress bars)."""
        from muvi.models.grid import count_fits

        return count_fits(self.config()[0])

    def final_fits(self) -> int:
        """Models that a final training (``muvi train``) with these options saves."""
        config = self.config()[0]
        return len(config.runs()) * len(config.dimensions)
