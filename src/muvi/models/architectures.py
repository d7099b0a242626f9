"""The one table of network architectures, shared by the experiment grid
(:mod:`muvi.models.grid`), the bundles (:mod:`muvi.models.bundle`) and the
command line.

Adding an architecture (a GRU block, a reference-code profile's network) is
one row here plus its estimator class; the training code needs no change,
since every network owns its stacked fast forward
(:meth:`muvi.models.lstm.WindowNet.stacked_forward`).
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Architecture:
    """One neural architecture of the study.

    Attributes:
        name: the ``model`` value in ``results.json`` and bundles.
        description: a short human description.
        estimator: its scikit-learn style estimator class.
        stage: 1 for networks that train from scratch, 2 for those started
            from stage-1 networks (PAIR), which batched training runs after.
    """

    name: str
    description: str
    estimator: type[SequenceRegressor]
    stage: int = 1

    def build(
        self,
        features: tuple[str, ...],
        block: BlockConfig,
        training: TrainingConfig,
        initialisers: PairInitialisers | None = None,
    ) -> SequenceRegressor:
        """A fresh estimator of this architecture for ``features``."""
        if self.estimator is LSTMRegressor:
            return LSTMRegressor(features[0], block, training)
        if self.estimator is PairRegressor:
            return PairRegressor(initialisers, block, training)
        return self.estimator(block, training)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("lstm", "unimodal LSTM (2 layers)", LSTMRegressor),
        Architecture("early_fusion", "A1 early fusion (rows concatenated per step)", EarlyFusionRegressor),
        Architecture("late_fusion", "A2 late fusion (a block per modality)", LateFusionRegressor),
        Architecture("pair", "PAIR: A2 started from the unimodal models", PairRegressor, stage=2),
    )
}  # fmt: skip
"""Architecture name -> :class:`Architecture`."""


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
