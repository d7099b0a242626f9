"""A layer-by-layer PyTorch rebuild of the authors' Keras training code
(AMAAI-Lab/MuVi, commit c9c8a97; read in ``docs/reference_code.md``), against
which the tests check muvi's ``reference-code`` profile.

- :class:`ReferenceCodeConfig`: every setting in which the code departs from
  the paper's text, each a field (the code's value is the default);
- the networks: :class:`KerasLSTM` (Keras's parameter layout: one kernel, one
  recurrent kernel, ONE bias), :class:`ReferenceBranch` (per-step linear dense
  256, LSTM 256, dropout 0.2, LSTM 128, dropout 0.2),
  :class:`ReferenceUnimodalNet` (experiments 1-4 and A1),
  :class:`ReferenceLateFusionNet` (A2) and :func:`reference_pair_net` (PAIR);
- Keras's default initialisers (:func:`keras_initialise`) and its Adam
  (:class:`KerasAdam`, epsilon 1e-7 applied the way Keras applies it);
- the early-stopping rule (:func:`early_stopping_outcome`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from muvi.models.reference_code import (
    ReproductionError,
    glorot_limit,
    keras_dense_init,
    keras_orthogonal_,
)

ARCHITECTURES = ("lstm", "early_fusion", "late_fusion", "pair")
"""muvi's architecture names: unimodal LSTM (experiments 1-4), A1, A2, PAIR."""


@dataclass(frozen=True)
class ReferenceCodeConfig:
    """The authors' code's settings; every default is the code's value.

    Each field is one departure from the paper's text (docs/reference_code.md,
    section 8), so a variant can change one of them alone.

    Attributes:
        projection: units of the per-step dense layer before the LSTMs (code:
            256; None drops the layer, as the paper's text).
        projection_activation: activation of that layer (code: None, linear;
            ``"relu"`` is what muvi's earlier ``--block reference`` used).
        hidden: units of the two LSTM layers (code: 256 and 256 // 2 = 128).
        dropout: dropout after each LSTM layer (code: 0.2).
        fusion_units: A2/PAIR dense ReLU layer after the concatenation (code: 256).
        keras_init: Keras's default initialisers (code: True); False uses
            PyTorch's defaults.
        adam_epsilon: Adam's epsilon (code: Keras's 1e-7).
        keras_adam: apply epsilon as Keras does (after the bias correction is
            folded into the step size); False uses ``torch.optim.Adam``.
        learning_rate: Adam's step size (code: 1e-4).
        batch_unimodal: batch size of experiments 1-4 and A1 (code: 256).
        batch_fusion: batch size of A2 and PAIR (code: 512).
        max_epochs: most epochs (code: 100).
        patience: early-stopping patience on the validation loss (code: 7).
        restore_best: keep the best epoch's weights (code: False, the last
            epoch's weights are scored).
        metric: the error the code reports, ``"mse"`` (code) or ``"rmse"``.
    """

    projection: int | None = 256
    projection_activation: str | None = None
    hidden: tuple[int, int] = (256, 128)
    dropout: float = 0.2
    fusion_units: int = 256
    keras_init: bool = True
    adam_epsilon: float = 1e-7
    keras_adam: bool = True
    learning_rate: float = 1e-4
    batch_unimodal: int = 256
    batch_fusion: int = 512
    max_epochs: int = 100
    patience: int = 7
    restore_best: bool = False
    metric: str = "mse"

    def __post_init__(self) -> None:
        if self.projection_activation not in (None, "relu"):
            raise ReproductionError(
                f"projection_activation must be None or 'relu', not {self.projection_activation!r}"
            )
        if self.metric not in ("mse", "rmse"):
            raise ReproductionError(f"metric must be 'mse' or 'rmse', not {self.metric!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ReproductionError(f"dropout must be in [0, 1), not {self.dropout}")

    def batch_size(self, architecture: str) -> int:
        """The code's batch size for an architecture.

        Examples:
            >>> ReferenceCodeConfig().batch_size("pair")
            512
            >>> ReferenceCodeConfig().batch_size("early_fusion")
            256
        """
        _check_architecture(architecture)
        return self.batch_fusion if architecture in ("late_fusion", "pair") else self.batch_unimodal


REFERENCE_CODE = ReferenceCodeConfig()
"""The authors' code exactly."""


def _check_architecture(architecture: str) -> None:
    if architecture not in ARCHITECTURES:
        raise ReproductionError(
            f"unknown architecture {architecture!r}; choose from {', '.join(ARCHITECTURES)}"
        )


# --- layers -------------------------------------------------------------------


class KerasLSTM(nn.Module):
    """An LSTM layer with Keras's parameters: kernel, recurrent kernel, one bias.

    Gates are ordered input, forget, cell candidate, output along the ``4u``
    axis, as in Keras (and as PyTorch's i, f, g, o). ``torch_weights`` gives the
    same layer in ``nn.LSTM``'s layout.

    Args:
        n_in: input features per step.
        units: hidden units ``u``.
        return_sequences: return every step (True) or the last one (False).

    Examples:
        >>> lstm = KerasLSTM(3, 2)
        >>> [tuple(p.shape) for p in lstm.parameters()]
        [(3, 8), (2, 8), (8,)]
    """

    def __init__(self, n_in: int, units: int, return_sequences: bool = False) -> None:
        super().__init__()
        self.n_in, self.units, self.return_sequences = n_in, units, return_sequences
        self.kernel = nn.Parameter(torch.empty(n_in, 4 * units))
        self.recurrent_kernel = nn.Parameter(torch.empty(units, 4 * units))
        self.bias = nn.Parameter(torch.empty(4 * units))
        keras_lstm_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, steps, n_in) -> (batch, steps, u) or (batch, u)."""
        batch, steps, _ = x.shape
        u = self.units
        projected = x @ self.kernel + self.bias  # every step's input part at once
        h = x.new_zeros(batch, u)
        c = x.new_zeros(batch, u)
        outputs = []
        for t in range(steps):
            z = projected[:, t] + h @ self.recurrent_kernel
            i = torch.sigmoid(z[:, :u])
            f = torch.sigmoid(z[:, u : 2 * u])
            g = torch.tanh(z[:, 2 * u : 3 * u])
            o = torch.sigmoid(z[:, 3 * u :])
            c = f * c + i * g
            h = o * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1) if self.return_sequences else h

    def torch_weights(self) -> dict[str, torch.Tensor]:
        """This layer's weights for a one-layer ``nn.LSTM`` (``batch_first``).

        ``weight_ih_l0 = kernel.T``, ``weight_hh_l0 = recurrent_kernel.T``,
        ``bias_ih_l0 = bias`` and ``bias_hh_l0 = 0`` (PyTorch adds its two biases).
        """
        with torch.no_grad():
            return {
                "weight_ih_l0": self.kernel.detach().t().clone(),
                "weight_hh_l0": self.recurrent_kernel.detach().t().clone(),
                "bias_ih_l0": self.bias.detach().clone(),
                "bias_hh_l0": torch.zeros_like(self.bias),
            }


def keras_lstm_init(lstm: KerasLSTM) -> None:
    """Keras's LSTM defaults: Glorot-uniform kernel, orthogonal recurrent
    kernel, zero bias with 1 on the forget-gate quarter (``unit_forget_bias``)."""
    u = lstm.units
    with torch.no_grad():
        limit = glorot_limit(lstm.n_in, 4 * u)
        lstm.kernel.uniform_(-limit, limit)
        keras_orthogonal_(lstm.recurrent_kernel)
        lstm.bias.zero_()
        lstm.bias[u : 2 * u] = 1.0


def torch_lstm_init(lstm: KerasLSTM) -> None:
    """PyTorch's ``nn.LSTM`` defaults mapped onto the Keras layout: every weight
    uniform in ``±1/sqrt(u)``; the one bias is the sum of PyTorch's two."""
    bound = 1.0 / math.sqrt(lstm.units)
    with torch.no_grad():
        lstm.kernel.uniform_(-bound, bound)
        lstm.recurrent_kernel.uniform_(-bound, bound)
        b_ih = torch.empty_like(lstm.bias).uniform_(-bound, bound)
        b_hh = torch.empty_like(lstm.bias).uniform_(-bound, bound)
        lstm.bias.copy_(b_ih + b_hh)


def keras_initialise(module: nn.Module) -> None:
    """Re-initialise every dense and LSTM layer of ``module`` as Keras would."""
    for sub in module.modules():
        if isinstance(sub, KerasLSTM):
            keras_lstm_init(sub)
        elif isinstance(sub, nn.Linear):
            keras_dense_init(sub)


def torch_initialise(module: nn.Module) -> None:
    """Re-initialise every dense and LSTM layer with PyTorch's defaults."""
    for sub in module.modules():
        if isinstance(sub, KerasLSTM):
            torch_lstm_init(sub)
        elif isinstance(sub, nn.Linear):
            sub.reset_parameters()


# --- networks -----------------------------------------------------------------


class ReferenceBranch(nn.Module):
    """The code's block: per-step dense (linear), LSTM, dropout, LSTM, dropout.

    Args:
        n_features: feature columns per row.
        config: the settings (the code's by default).

    Examples:
        >>> ReferenceBranch(7)(torch.zeros(5, 4, 7)).shape
        torch.Size([5, 128])
    """

    def __init__(self, n_features: int, config: ReferenceCodeConfig = REFERENCE_CODE) -> None:
        super().__init__()
        self.config = config
        self.dense = nn.Linear(n_features, config.projection) if config.projection else None
        first = config.projection if config.projection else n_features
        self.lstm1 = KerasLSTM(first, config.hidden[0], return_sequences=True)
        self.dropout1 = nn.Dropout(config.dropout)
        self.lstm2 = KerasLSTM(config.hidden[0], config.hidden[1])
        self.dropout2 = nn.Dropout(config.dropout)
        self.output_size = config.hidden[1]

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """(batch, steps, n_features) -> (batch, hidden[1])."""
        x = windows
        if self.dense is not None:
            x = self.dense(x)
            if self.config.projection_activation == "relu":
                x = torch.relu(x)
        x = self.dropout1(self.lstm1(x))
        return self.dropout2(self.lstm2(x))


def _initialise(net: nn.Module, config: ReferenceCodeConfig) -> None:
    (keras_initialise if config.keras_init else torch_initialise)(net)


class ReferenceUnimodalNet(nn.Module):
    """Experiments 1-4 and A1 (``modelBuilder_LSTM``): a branch, then dense(1) tanh.

    A1 early fusion is this net on the per-step concatenation of the visual and
    the audio rows (visual first, as the code concatenates them).
    """

    def __init__(self, n_features: int, config: ReferenceCodeConfig = REFERENCE_CODE) -> None:
        super().__init__()
        self.config = config
        self.branch = ReferenceBranch(n_features, config)
        self.head = nn.Linear(self.branch.output_size, 1)
        _initialise(self, config)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """(batch, steps, n_features) -> (batch, 1) in [-1, 1]."""
        return torch.tanh(self.head(self.branch(windows)))


class ReferenceLateFusionNet(nn.Module):
    """A2 (``modelBuilder_LSTM_sep``): an audio and a visual branch, their
    outputs concatenated (audio first), dense ReLU, dense(1) tanh."""

    def __init__(
        self, n_audio: int, n_visual: int, config: ReferenceCodeConfig = REFERENCE_CODE
    ) -> None:
        super().__init__()
        self.config = config
        self.audio = ReferenceBranch(n_audio, config)
        self.visual = ReferenceBranch(n_visual, config)
        self.fusion = nn.Linear(
            self.audio.output_size + self.visual.output_size, config.fusion_units
        )
        self.head = nn.Linear(config.fusion_units, 1)
        _initialise(self, config)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        """Two (batch, steps, n) windows -> (batch, 1) in [-1, 1]."""
        x = torch.cat([self.audio(audio), self.visual(visual)], dim=-1)
        return torch.tanh(self.head(torch.relu(self.fusion(x))))


def reference_pair_net(
    music_model: ReferenceUnimodalNet,
    visual_model: ReferenceUnimodalNet,
    config: ReferenceCodeConfig = REFERENCE_CODE,
) -> ReferenceLateFusionNet:
    """PAIR (``modelLoader_LSTM_all``): A2 whose branches are the unimodal models'.

    The audio branch's dense layer and LSTMs are the music model's, the visual
    branch's the visual model's (copies, all trainable); the dropout layers,
    the fusion layer and the output layer are new, the last two freshly
    initialised. The unimodal models' output layers are not used.

    Args:
        music_model: the trained experiment-1 model (music ratings, audio features).
        visual_model: the trained experiment-2 model (visual ratings, visual features).
        config: the settings (fusion units and dropout are taken from it).

    Returns:
        The PAIR network, ready to be fine-tuned.
    """
    audio_branch, visual_branch = music_model.branch, visual_model.branch
    n_audio = (
        audio_branch.lstm1.n_in if audio_branch.dense is None else audio_branch.dense.in_features
    )
    n_visual = (
        visual_branch.lstm1.n_in if visual_branch.dense is None else visual_branch.dense.in_features
    )
    net = ReferenceLateFusionNet(n_audio, n_visual, config)
    for mine, theirs in ((net.audio, audio_branch), (net.visual, visual_branch)):
        for name in ("dense", "lstm1", "lstm2"):
            setattr(mine, name, copy.deepcopy(getattr(theirs, name)))
        mine.dropout1 = nn.Dropout(config.dropout)
        mine.dropout2 = nn.Dropout(config.dropout)
    return net


def build_reference_network(
    architecture: str,
    n_audio: int | None = None,
    n_visual: int | None = None,
    config: ReferenceCodeConfig = REFERENCE_CODE,
) -> nn.Module:
    """The code's network for an architecture (PAIR as a fresh A2 shape).

    Args:
        architecture: ``lstm`` (give exactly one of ``n_audio``/``n_visual``),
            ``early_fusion`` (both: visual then audio columns), ``late_fusion``
            or ``pair`` (both; use :func:`reference_pair_net` to start PAIR from
            trained unimodal models).
        n_audio: audio feature columns.
        n_visual: visual feature columns.
        config: the settings.

    Returns:
        The network.

    Raises:
        ReproductionError: unknown architecture or missing feature counts.

    Examples:
        >>> type(build_reference_network("late_fusion", 5, 6)).__name__
        'ReferenceLateFusionNet'
    """
    _check_architecture(architecture)
    if architecture == "lstm":
        given = [n for n in (n_audio, n_visual) if n is not None]
        if len(given) != 1:
            raise ReproductionError("a unimodal network needs exactly one of n_audio, n_visual")
        return ReferenceUnimodalNet(given[0], config)
    if n_audio is None or n_visual is None:
        raise ReproductionError(f"{architecture} needs both n_audio and n_visual")
    if architecture == "early_fusion":
        return ReferenceUnimodalNet(n_visual + n_audio, config)
    return ReferenceLateFusionNet(n_audio, n_visual, config)


def layer_parameter_counts(net: nn.Module) -> dict[str, int]:
    """Trainable parameters of every dense and LSTM layer, by dotted name.

    Examples:
        >>> layer_parameter_counts(ReferenceUnimodalNet(2))["branch.lstm2"]
        197120
    """
    counts: dict[str, int] = {}
    for name, sub in net.named_modules():
        if isinstance(sub, KerasLSTM | nn.Linear):
            counts[name] = sum(p.numel() for p in sub.parameters(recurse=False) if p.requires_grad)
    return counts


# --- optimiser and early stopping -----------------------------------------------


class KerasAdam(torch.optim.Optimizer):
    """Adam as Keras applies it: ``p -= lr_t * m / (sqrt(v) + eps)`` with
    ``lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)`` (epsilon-hat form).

    In PyTorch's form (``m_hat / (sqrt(v_hat) + eps')``) this is
    ``eps' = eps / sqrt(1 - b2^t)``, larger than ``eps`` in the first steps.

    Args:
        params: the parameters.
        lr: step size (code: 1e-4).
        betas: (code: 0.9, 0.999).
        eps: (code: 1e-7).
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-7,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["m"], state["v"]
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                lr_t = group["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-lr_t)
        return loss


def make_optimizer(
    params: Iterable[torch.nn.Parameter], config: ReferenceCodeConfig = REFERENCE_CODE
) -> torch.optim.Optimizer:
    """Keras's Adam (code) or PyTorch's, with the configured epsilon and rate."""
    if config.keras_adam:
        return KerasAdam(params, lr=config.learning_rate, eps=config.adam_epsilon)
    return torch.optim.Adam(params, lr=config.learning_rate, eps=config.adam_epsilon)


@dataclass(frozen=True)
class StoppingOutcome:
    """What early stopping decides over a run's validation losses.

    Attributes:
        epochs_run: epochs trained (1-based count).
        best_epoch: 0-based epoch of the lowest validation loss (the first of ties).
        scored_epoch: 0-based epoch whose weights are kept and scored.
    """

    epochs_run: int
    best_epoch: int
    scored_epoch: int


def early_stopping_outcome(
    val_losses: Sequence[float], patience: int = 7, restore_best: bool = False
) -> StoppingOutcome:
    """Keras's ``EarlyStopping(monitor='val_loss', patience, mode='min')`` rule.

    An epoch improves when its loss is strictly below the best so far; training
    stops once ``patience`` epochs in a row have not improved, or when the
    losses run out (the epoch limit). Without ``restore_best`` (the code) the
    last epoch's weights are kept.

    Args:
        val_losses: validation loss after each epoch, as far as training would go.
        patience: epochs without improvement before stopping.
        restore_best: keep the best epoch's weights instead of the last.

    Returns:
        The outcome.

    Examples:
        >>> early_stopping_outcome([5, 4, 3, 3, 4, 4, 4, 4, 4, 9, 9], patience=7)
        StoppingOutcome(epochs_run=10, best_epoch=2, scored_epoch=9)
        >>> early_stopping_outcome([5, 4, 3, 3], patience=7, restore_best=True).scored_epoch
        2
    """
    if not val_losses:
        raise ReproductionError("early stopping needs at least one validation loss")
    best, best_epoch, wait = math.inf, 0, 0
    last = len(val_losses) - 1
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch, wait = float(loss), epoch, 0
        else:
            wait += 1
        if wait >= patience:
            last = epoch
            break
    return StoppingOutcome(last + 1, best_epoch, best_epoch if restore_best else last)
