"""Profiles: the paper's settings, or the authors' published code's, in muvi's training path.

A profile sets the fields of an :class:`muvi.models.grid.EvaluationConfig` in
which the authors' code (AMAAI-Lab/MuVi at commit c9c8a97, read in
``docs/reference_code.md``) departs from the paper's text (Chua et al. 2022,
arXiv 2202.10453). Every departure is a field, so one can be switched back
alone (:func:`switch_departure`):

=============== ======================================== ===============================
departure       the code (``reference-code``)             the paper (``paper``)
=============== ======================================== ===============================
block           per-step linear dense 256, LSTM 256,      LSTM 256, LSTM 256
                LSTM 128 (``BlockConfig.projection``,
                ``projection_activation=None``,
                ``hidden``)
initialisers    Keras's defaults on every layer, one      muvi's: Keras-like LSTMs with a
                bias per LSTM, Adam epsilon 1e-7 applied  per-gate orthogonal draw,
                as Keras does (``BlockConfig.initialisers PyTorch's dense layers, two
                = "keras"``, ``single_bias``;             LSTM biases, PyTorch's Adam
                ``TrainingConfig.adam_epsilon``,          with epsilon 1e-8
                ``keras_adam``)
batch-sizes     512 for A2 and PAIR, 256 elsewhere        256 everywhere
                (``TrainingConfig.batch_size_fusion``)
restore-best    the last epoch's weights are scored,      the best epoch's weights
                7 past the best (``restore_best=False``)
metric          MSE printed (``reported_error="mse"``)    RMSE
=============== ======================================== ===============================

The two defects of the code (``pair-leak``, ``chunked-scoring``) are not part
of any profile: they are replicated only when asked for
(``EvaluationConfig.defects``).

Everything else of the base configuration is kept: experiments, models,
dimensions, learning rate, epochs cap, patience, seed, device, threads,
precision, batched, workers, scheduler, LASSO and the base's size. A reduced
base (the demo's LSTM layers of 32 units instead of 256) reduces the code's
block in proportion: the factor is ``base.block.hidden[0] / 256`` (the paper
and the code both have 256 units in the first LSTM), so under
:func:`muvi.models.grid.demo_config` the code's block is a linear dense 32,
LSTM 32, LSTM 16; the A2/PAIR batch is twice the base's batch (the code:
512 beside 256).

Examples:
    >>> from muvi.models.grid import demo_config
    >>> config = profile_config("reference-code", demo_config())
    >>> config.block.projection, config.block.hidden, config.training.max_epochs
    (32, (32, 16), 15)
    >>> switch_departure(config, "restore-best").training.restore_best
    True
    >>> printed_error(config), printed_error(switch_departure(config, "metric"))
    ('mse', 'rmse')
"""

from __future__ import annotations

from dataclasses import replace

from muvi.errors import MuviError
from muvi.models.grid import PROFILE_NAMES, EvaluationConfig
from muvi.models.lstm import PAPER_BLOCK, REFERENCE_CODE_BLOCK, BlockConfig
from muvi.models.training import TrainingConfig

PROFILES: tuple[str, ...] = PROFILE_NAMES
"""``paper`` (the paper's text, muvi's default) and ``reference-code`` (the
authors' published code)."""

DEPARTURES: tuple[str, ...] = ("block", "initialisers", "batch-sizes", "restore-best", "metric")
"""The settings in which the code departs from the paper, each switchable alone."""

DEPARTURE_DESCRIPTIONS: dict[str, str] = {
    "block": "per-step linear dense layer before the LSTMs, second LSTM of half the units",
    "initialisers": (
        "Keras's default initialisers, one bias per LSTM, Adam epsilon 1e-7 applied as Keras does"
    ),
    "batch-sizes": "A2 and PAIR trained in batches twice as large (code: 512 beside 256)",
    "restore-best": "the last epoch's weights are scored (7 past the best), not the best epoch's",
    "metric": "the MSE is printed, not the RMSE",
}
"""One line per departure, for tables and help texts."""

_PAPER_TRAINING = TrainingConfig()
_CODE_EPSILON = 1e-7
"""Keras's Adam epsilon (the code sets none)."""


class ProfileError(MuviError, ValueError):
    """An unknown profile or departure."""


def _scale(base: EvaluationConfig) -> float:
    """How much smaller than the paper's the base's block is (1.0 at the paper's size)."""
    return base.block.hidden[0] / PAPER_BLOCK.hidden[0]


def _units(n: int, factor: float) -> int:
    return max(1, round(n * factor))


def _paper_block(base: BlockConfig) -> BlockConfig:
    """The paper's block at the base's size (both layers as wide as its first)."""
    h = base.hidden[0]
    return replace(
        base,
        hidden=(h, h),
        projection=None,
        projection_activation=None,
        initialisers=PAPER_BLOCK.initialisers,
        single_bias=PAPER_BLOCK.single_bias,
    )


def _code_block(base: EvaluationConfig) -> BlockConfig:
    """The code's block at the base's size."""
    f = _scale(base)
    ref = REFERENCE_CODE_BLOCK
    assert ref.projection is not None
    return replace(
        ref,
        hidden=(_units(ref.hidden[0], f), _units(ref.hidden[1], f)),
        projection=_units(ref.projection, f),
        dropout=base.block.dropout,
    )


def profile_config(profile: str, base: EvaluationConfig | None = None) -> EvaluationConfig:
    """The configuration of ``profile``, keeping the base's other settings.

    Args:
        profile: ``paper`` or ``reference-code``.
        base: the configuration whose non-profile settings are kept (default
            :class:`EvaluationConfig`'s, i.e. the full grid at the paper's
            sizes). Its defects are kept too (they belong to no profile).

    Returns:
        A new configuration; ``profile`` records the name.

    Raises:
        ProfileError: an unknown profile (the message lists the choices).

    Examples:
        >>> profile_config("reference-code").block.hidden
        (256, 128)
        >>> profile_config("paper", profile_config("reference-code")).block == PAPER_BLOCK
        True
    """
    if profile not in PROFILES:
        raise ProfileError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    base = base if base is not None else EvaluationConfig()
    training = base.training
    if profile == "paper":
        return replace(
            base,
            profile="paper",
            block=_paper_block(base.block),
            training=replace(
                training,
                adam_epsilon=_PAPER_TRAINING.adam_epsilon,
                keras_adam=_PAPER_TRAINING.keras_adam,
                batch_size_fusion=None,
                restore_best=True,
            ),
            reported_error="rmse",
        )
    return replace(
        base,
        profile="reference-code",
        block=_code_block(base),
        training=replace(
            training,
            adam_epsilon=_CODE_EPSILON,
            keras_adam=True,
            batch_size_fusion=2 * training.batch_size,
            restore_best=False,
        ),
        reported_error="mse",
    )


def switch_departure(config: EvaluationConfig, departure: str) -> EvaluationConfig:
    """``config`` with one departure set back to the paper's value, the others untouched.

    Args:
        config: usually ``profile_config("reference-code", ...)``.
        departure: one of :data:`DEPARTURES`.

    Returns:
        A new configuration (its ``profile`` name is kept).

    Raises:
        ProfileError: an unknown departure (the message lists the choices).

    Examples:
        >>> code = profile_config("reference-code")
        >>> switch_departure(code, "block").block.hidden, code.block.hidden
        ((256, 256), (256, 128))
        >>> switch_departure(code, "batch-sizes").training.batch_size_fusion is None
        True
    """
    if departure not in DEPARTURES:
        raise ProfileError(f"unknown departure {departure!r}; choose from {', '.join(DEPARTURES)}")
    block, training = config.block, config.training
    if departure == "block":
        h = block.hidden[0]
        block = replace(block, hidden=(h, h), projection=None, projection_activation=None)
        return replace(config, block=block)
    if departure == "initialisers":
        block = replace(
            block, initialisers=PAPER_BLOCK.initialisers, single_bias=PAPER_BLOCK.single_bias
        )
        training = replace(
            training,
            adam_epsilon=_PAPER_TRAINING.adam_epsilon,
            keras_adam=_PAPER_TRAINING.keras_adam,
        )
        return replace(config, block=block, training=training)
    if departure == "batch-sizes":
        return replace(config, training=replace(training, batch_size_fusion=None))
    if departure == "restore-best":
        return replace(config, training=replace(training, restore_best=True))
    return replace(config, reported_error="rmse")


def printed_error(config: EvaluationConfig) -> str:
    """The error printed beside the CCC: ``mse`` under the code's metric, else ``rmse``.

    Examples:
        >>> printed_error(EvaluationConfig())
        'rmse'
    """
    return "mse" if config.reported_error == "mse" else "rmse"
