"""The one table of network architectures, shared by the experiment grid
(:mod:`muvi.models.grid`), the bundles (:mod:`muvi.models.bundle`) and the
command line.

Adding an architecture (a GRU block, a reference-code profile's network) is
its estimator module plus one :func:`register_architecture` call; the
training code needs no change, since every network owns its forward
(:meth:`muvi.models.lstm.WindowNet.forward_rows`, and for stacked training
:meth:`muvi.models.lstm.WindowNet.stacked_forward`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from muvi.errors import MuviError
from muvi.models.lstm import (
    BlockConfig,
    EarlyFusionRegressor,
    LateFusionRegressor,
    LSTMRegressor,
    PairInitialisers,
    PairRegressor,
    SequenceRegressor,
)
from muvi.models.training import TrainingConfig

Builder = Callable[
    [tuple[str, ...], BlockConfig, TrainingConfig, "PairInitialisers | None"], SequenceRegressor
]
"""``builder(features, block, training, initialisers)`` -> a fresh estimator."""


def _unimodal(
    features: tuple[str, ...],
    block: BlockConfig,
    training: TrainingConfig,
    initialisers: PairInitialisers | None,
) -> SequenceRegressor:
    return LSTMRegressor(features[0], block, training)


def _pair(
    features: tuple[str, ...],
    block: BlockConfig,
    training: TrainingConfig,
    initialisers: PairInitialisers | None,
) -> SequenceRegressor:
    return PairRegressor(initialisers, block, training)


def _fusion(estimator: type[SequenceRegressor]) -> Builder:
    def build(
        features: tuple[str, ...],
        block: BlockConfig,
        training: TrainingConfig,
        initialisers: PairInitialisers | None,
    ) -> SequenceRegressor:
        return estimator(block, training)

    return build


@dataclass(frozen=True)
class Architecture:
    """One neural architecture: everything the grid, the cross-validation
    runner, the bundles, the names and ``muvi predict`` know of it.

    Attributes:
        name: the ``model`` value in ``results.json`` and bundles.
        description: a short human description.
        estimator: its scikit-learn style estimator class (bundles rebuild it on load).
        inputs: how many feature tables it reads: 1 (one modality's, given
            per experiment) or 2 (audio and visual).
        builder: ``builder(features, block, training, initialisers)`` makes
            a fresh estimator.
        stage: the stage of stacked training it runs in: 1, or 2 for the
            networks trained after the first stage's (PAIR, started from the
            fold's unimodal networks, and A2, whose shape PAIR shares, so the
            two train as one stack).
        title: the name readers see in figures, tables and ``muvi predict``.
        preference: which bundle ``muvi predict`` uses when several predict
            the same curve (the highest).
    """

    name: str
    description: str
    estimator: type[SequenceRegressor]
    inputs: int
    builder: Builder
    stage: int = 1
    title: str = ""
    preference: int = 0

    def build(
        self,
        features: tuple[str, ...],
        block: BlockConfig,
        training: TrainingConfig,
        initialisers: PairInitialisers | None = None,
    ) -> SequenceRegressor:
        """A fresh estimator of this architecture for ``features``.

        Raises:
            MuviError: ``features`` is not as many tables as the architecture reads.
        """
        if len(features) != self.inputs:
            raise MuviError(
                f"the {self.name} architecture reads {self.inputs} feature table(s), "
                f"not {len(features)} ({'+'.join(features)})"
            )
        return self.builder(features, block, training, initialisers)


ARCHITECTURES: dict[str, Architecture] = {}
"""Architecture name -> :class:`Architecture`, in the order registered."""


def register_architecture(entry: Architecture) -> Architecture:
    """Add an architecture to the table (and its title to the display names).

    A new network is its estimator module and one call here; an experiment
    that uses it is one :func:`muvi.models.grid.register_experiment`.

    Returns:
        ``entry``.

    Raises:
        MuviError: the name is taken by another architecture or is ``lasso``.
    """
    from muvi.plotting import names

    known = ARCHITECTURES.get(entry.name)
    if entry.name == "lasso" or (known is not None and known != entry):
        raise MuviError(f"architecture {entry.name!r} is already registered")
    ARCHITECTURES[entry.name] = entry
    if entry.title:
        names.ARCHITECTURE_NAMES.setdefault(entry.name, entry.title)
    return entry


for _entry in (
    Architecture("lstm", "unimodal LSTM (2 layers)", LSTMRegressor, 1, _unimodal,
                 title="LSTM", preference=1),
    Architecture("early_fusion", "A1 early fusion (rows concatenated per step)",
                 EarlyFusionRegressor, 2, _fusion(EarlyFusionRegressor),
                 title="Early fusion (A1)", preference=2),
    Architecture("late_fusion", "A2 late fusion (a block per modality)", LateFusionRegressor,
                 2, _fusion(LateFusionRegressor), stage=2, title="Late fusion (A2)",
                 preference=3),
    Architecture("pair", "PAIR: A2 started from the unimodal models", PairRegressor, 2, _pair,
                 stage=2, title="PAIR", preference=4),
):  # fmt: skip
    register_architecture(_entry)


def architecture(name: str) -> Architecture:
    """The architecture called ``name``.

    Raises:
        MuviError: an unknown name (the message lists the known ones).

    Examples:
        >>> architecture("pair").stage
        2
    """
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise MuviError(f"unknown architecture {name!r} (expected one of {known})") from None


def estimator_classes() -> dict[str, Any]:
    """Architecture name -> estimator class (what bundles rebuild on load)."""
    return {name: a.estimator for name, a in ARCHITECTURES.items()}
