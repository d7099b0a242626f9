"""The one training function used by every neural architecture.

Adam (learning rate 1e-4), mean squared error, batches of 256 windows, up to
100 epochs, early stopping on the validation loss with patience 7 and the best
weights restored (the paper's settings; the authors' code's differ in a few
fields of :class:`TrainingConfig`, see :mod:`muvi.models.profiles`); seeded (python, numpy, torch) so a run is reproducible.

Speed without changing the mathematics: the whole training set stays in memory
as tensors (one row per item and sample, never one copy per window); a
window is a row of 4 integer positions. The two LSTM layers of a block run as
one operation with a hand-written backward
(:func:`muvi.models.recurrence.two_layer_lstm`) whose matrix products cover all
windows and steps at once; Adam is PyTorch's fused implementation. When
evaluating, each feature row's first-layer projection ``W_ih x_t + b`` is
computed once for the whole set and shared by the (up to 4) overlapping
windows that contain it. There are no per-sample Python loops.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from muvi.errors import MuviError
from muvi.models.windows import SCALING_ROWS

if TYPE_CHECKING:
    from muvi.models.lstm import WindowNet


class TrainingConfigError(MuviError, ValueError):
    """A training setting out of range."""


@dataclass
class TrainingConfig:
    """Training hyper-parameters; the defaults are the paper's.

    Attributes:
        learning_rate: Adam's step size (paper: 1e-4).
        batch_size: windows per step (paper: 256).
        max_epochs: upper bound on epochs (paper: 100).
        patience: epochs without a lower validation loss before stopping (paper: 7).
        seed: seeds python, numpy and torch (initial weights, shuffling, dropout);
            several seeds of a grid train together with
            ``muvi.models.protocol.fit_grid_networks(..., seeds=...)``.
        restore_best: after early stopping, restore the weights of the epoch
            with the lowest validation loss (paper: True); False keeps the
            last epoch's weights (Keras' ``EarlyStopping`` default).
        device: ``cpu``, ``cuda`` or ``auto`` (CUDA when torch sees a GPU).
        threads: CPU threads for torch (None leaves torch's setting).
        precision: matrix products in ``float32`` (default), ``bfloat16`` or
            ``auto`` (bfloat16 where the hardware has it natively; see
            :mod:`muvi.models.precision`). Weights, optimiser state, loss and
            metrics are float32 in every case.
        batched: train the networks of one architecture and input width
            together as one stacked model (:mod:`muvi.models.batched`), with
            the same results network for network; False trains them one at
            a time.
        adam_epsilon: Adam's epsilon (muvi's default: PyTorch's 1e-8; the
            authors' code: Keras's 1e-7).
        keras_adam: apply ``adam_epsilon`` as Keras does, after the bias
            correction is folded into the step size: ``p -= lr * sqrt(1 -
            b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`` (the code). In
            PyTorch's form this is epsilon ``eps / sqrt(1 - b2^t)`` at step
            ``t``, which is what is set before every step (per network in
            batched training). Default False (PyTorch's placement).
        batch_size_fusion: windows per step for A2 and PAIR (the late-fusion
            networks); None: ``batch_size`` (the paper: 256 for every model;
            the authors' code: 512 for A2 and PAIR).
        scaling_rows: the feature rows of the training items that fit the
            min-max scaling: ``all`` (every row of the analysis window,
            muvi's default; the paper does not say) or ``windows`` (only the
            rows inside some input window, the authors' code: its
            ``MinMaxScaler`` is fitted on the stacked windows, i.e. samples
            0..116 of 118; see :func:`muvi.models.windows.scaling_samples`).
    """

    learning_rate: float = 1e-4
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 7
    seed: int = 42
    device: str = "cpu"
    threads: int | None = 2
    restore_best: bool = True
    precision: str = "float32"
    batched: bool = True
    adam_epsilon: float = 1e-8
    keras_adam: bool = False
    batch_size_fusion: int | None = None
    scaling_rows: str = "all"

    def __post_init__(self) -> None:
        if self.scaling_rows not in SCALING_ROWS:
            raise TrainingConfigError(
                f"scaling_rows must be {' or '.join(SCALING_ROWS)}, not {self.scaling_rows!r}"
            )
        fusion = self.batch_size_fusion
        if self.batch_size < 1 or (fusion is not None and fusion < 1):
            raise TrainingConfigError(
                f"batch sizes must be at least 1 (batch_size {self.batch_size}, "
                f"batch_size_fusion {fusion})"
            )
        if not self.adam_epsilon > 0:
            raise TrainingConfigError(f"adam_epsilon must be positive, not {self.adam_epsilon}")

    def batch_size_for(self, net: object) -> int:
        """Windows per step for ``net``: ``batch_size_fusion`` for the
        late-fusion networks (A2, PAIR) when set, else ``batch_size``.

        Examples:
            >>> from muvi.models.lstm import LateFusionNet
            >>> TrainingConfig(batch_size_fusion=512).batch_size_for(
            ...     LateFusionNet({"audio": 3, "visual": 2}))
            512
        """
        if self.batch_size_fusion is not None and getattr(net, "late_fusion", False):
            return self.batch_size_fusion
        return self.batch_size


@dataclass
class WindowData:
    """Windows as positions into shared feature rows.

    Attributes:
        rows: block name -> (n_rows, n_features) scaled feature rows.
        positions: (n_windows, history) row positions of each window.
        targets: (n_windows,) rating each window predicts (NaN when unknown).
    """

    rows: dict[str, torch.Tensor]
    positions: torch.Tensor
    targets: torch.Tensor

    def to(self, device: torch.device | str) -> WindowData:
        return WindowData(
            rows={k: v.to(device) for k, v in self.rows.items()},
            positions=self.positions.to(device),
            targets=self.targets.to(device),
        )

    def __len__(self) -> int:
        return int(self.positions.shape[0])


@dataclass
class TrainingHistory:
    """What happened while training: losses per epoch, the epoch kept, the
    wall time (of the whole stack, for batched training) and the precision
    of the matrix products (``float32`` or ``bfloat16``).

    ``best_state`` holds the best epoch's weights (parameter name -> CPU
    tensor) when they were NOT restored into the net (``restore_best``
    False, with validation windows): PAIR starts from them, as the authors'
    code starts PAIR from the best-epoch checkpoints of its unimodal models
    (``ModelCheckpoint(save_best_only=True)``) while scoring their last epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    precision: str = "float32"
    best_state: dict[str, torch.Tensor] | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


@dataclass
class EarlyStopping:
    """The one early-stopping rule of both training loops (one network at a
    time, :func:`train_network`, and a stack, :func:`muvi.models.batched.train_stacked`):
    an epoch whose validation loss is below every earlier one is the best
    (its weights are checkpointed); training stops after ``patience`` epochs
    without one. A network without validation windows never stops early and
    its last epoch is its best.

    Examples:
        >>> rule, history = EarlyStopping(patience=2), TrainingHistory()
        >>> [rule.observe(history, e, loss) for e, loss in enumerate([3.0, 2.0, 2.5, 2.1])]
        [True, True, False, False]
        >>> rule.stopped, history.best_epoch
        (True, 1)
    """

    patience: int
    best_loss: float = math.inf
    waited: int = 0
    validated: bool = False

    def observe(self, history: TrainingHistory, epoch: int, loss: float | None) -> bool:
        """Record an epoch's validation loss (None: no validation windows) in
        ``history``; True when the epoch's weights are the best so far."""
        if loss is None:
            history.best_epoch = epoch
            return False
        self.validated = True
        history.validation_loss.append(loss)
        if loss < self.best_loss:
            self.best_loss, self.waited, history.best_epoch = loss, 0, epoch
            return True
        self.waited += 1
        return False

    @property
    def stopped(self) -> bool:
        """True once ``patience`` epochs have passed without a better validation loss."""
        return self.validated and self.waited >= self.patience


def keep_best(
    history: TrainingHistory,
    best: dict[str, torch.Tensor],
    config: TrainingConfig,
    restore: Callable[[dict[str, torch.Tensor]], None],
) -> None:
    """The one checkpoint rule, after training with validation windows: the
    best epoch's weights are restored into the net (``restore_best``), or
    else handed back in ``history.best_state`` (PAIR starts from them, as the
    authors' code starts PAIR from its unimodal models' best checkpoints)."""
    if config.restore_best:
        restore(best)
    else:
        history.best_state = {k: v.detach().cpu() for k, v in best.items()}


def adam_optimiser(groups: list[list[torch.Tensor]], config: TrainingConfig) -> torch.optim.Adam:
    """PyTorch's fused Adam over the trainable parameters, one parameter group
    per network (``groups``), with ``config``'s rate and epsilon.

    Parameters that do not require gradients (an LSTM's second bias under
    Keras's one-bias layout) are left out. Call :func:`before_adam_step`
    before every ``step()``.
    """
    param_groups = [
        {"params": [p for p in ps if p.requires_grad]}
        for ps in groups
        if any(p.requires_grad for p in ps)
    ]
    return torch.optim.Adam(
        param_groups, lr=config.learning_rate, eps=config.adam_epsilon, fused=True
    )


def keras_epsilon(epsilon: float, beta2: float, step: int) -> float:
    """The epsilon of PyTorch's Adam that gives Keras's update at ``step`` (1-based).

    Keras: ``p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``;
    PyTorch: ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps')``.
    They agree when ``eps' = eps / sqrt(1 - b2^t)``.

    Examples:
        >>> round(keras_epsilon(1e-7, 0.999, 1) * 1e6, 4)
        3.1623
    """
    return epsilon / math.sqrt(1.0 - beta2**step)


def before_adam_step(optimiser: torch.optim.Optimizer, config: TrainingConfig) -> None:
    """With ``config.keras_adam``, set each group's (each network's) epsilon
    to Keras's for the step it is about to take (:func:`keras_epsilon`); its
    step count is that of its parameters, so networks that skipped steps in
    batched training keep their own. Without it, nothing."""
    if not config.keras_adam:
        return
    for group in optimiser.param_groups:
        stepping = [p for p in group["params"] if p.grad is not None]
        if not stepping:
            continue
        state = optimiser.state.get(stepping[0])
        taken = int(float(state["step"])) if state and "step" in state else 0
        group["eps"] = keras_epsilon(config.adam_epsilon, group["betas"][1], taken + 1)


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds code that uses the global generator
    torch.manual_seed(seed)


def resolve_device(device: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (cuda when torch sees a GPU, else cpu);
    asking for cuda without a GPU is a clear error."""
    from muvi.errors import MuviError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise MuviError(f"unknown device {device!r} (expected auto, cpu or cuda)")
    if device == "cuda" and not torch.cuda.is_available():
        raise MuviError("device cuda was asked for but torch sees no CUDA GPU")
    return torch.device(device)


def _forward_batch(
    net: WindowNet, rows: dict[str, torch.Tensor], positions: torch.Tensor
) -> torch.Tensor:
    """Net output for a batch of windows (:meth:`muvi.models.lstm.WindowNet.forward_rows`:
    the net owns its fast path; training never sees its gates).

    The feature rows of the windows are gathered time-major, (history, batch,
    n_features), and projected by one matrix product per block. (Random
    training batches share few rows: 256 windows of the study hold about 975
    distinct rows out of 1,024, so finding the shared ones would cost more
    than it saves; :func:`predict_windows` does share them.)
    """
    return net.forward_rows(rows, positions)


@torch.no_grad()
def predict_windows(net: WindowNet, data: WindowData, batch_size: int = 8192) -> torch.Tensor:
    """Predictions for every window of ``data`` (eval mode, no dropout).

    Each feature row's first-layer projection is computed once for the whole
    set and shared by the (up to 4) windows that contain it
    (:meth:`muvi.models.lstm.WindowNet.predict_rows`).
    """
    was_training = net.training
    net.eval()
    out = net.predict_rows(data.rows, data.positions, batch_size)
    net.train(was_training)
    return out


def train_network(
    net: WindowNet,
    train: WindowData,
    validation: WindowData | None = None,
    config: TrainingConfig | None = None,
    on_epoch: Callable[[int, float, float | None], None] | None = None,
) -> TrainingHistory:
    """Fit ``net`` on windows with Adam and MSE; early-stop on validation loss.

    Args:
        net: any :class:`muvi.models.lstm.WindowNet` (unimodal, A1, A2, PAIR),
            already initialised (call :func:`seed_everything` before building it
            for reproducible initial weights).
        train: training windows.
        validation: validation windows; without them all ``max_epochs`` are run
            and the last weights kept.
        config: hyper-parameters (paper defaults).
        on_epoch: called after each epoch with (epoch, train loss, validation loss).

    Returns:
        The :class:`TrainingHistory`; ``net`` holds the best weights (lowest
        validation loss) on return.
    """
    config = config or TrainingConfig()
    device = resolve_device(config.device)
    if config.threads is not None and device.type == "cpu":
        torch.set_num_threads(config.threads)
    if len(train) == 0:
        raise ValueError("no training windows")
    net.to(device)
    train = train.to(device)
    validation = validation.to(device) if validation is not None and len(validation) else None
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    torch.manual_seed(config.seed)  # dropout masks
    optimiser = adam_optimiser([list(net.parameters())], config)
    batch_size = config.batch_size_for(net)
    history = TrainingHistory()
    rule = EarlyStopping(config.patience)
    best_state = copy.deepcopy(net.state_dict())
    start = time.perf_counter()
    n = len(train)
    for epoch in range(config.max_epochs):
        net.train()
        order = torch.randperm(n, generator=generator).to(device)
        total = torch.zeros((), device=device)
        for s in range(0, n, batch_size):
            batch = order[s : s + batch_size]
            pred = _forward_batch(net, train.rows, train.positions[batch])
            loss = torch.nn.functional.mse_loss(pred, train.targets[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            before_adam_step(optimiser, config)
            optimiser.step()
            total += loss.detach() * batch.numel()
        train_loss = float(total) / n
        history.train_loss.append(train_loss)
        val_loss: float | None = None
        if validation is not None:
            pred = predict_windows(net, validation)
            val_loss = float(torch.nn.functional.mse_loss(pred, validation.targets))
        if rule.observe(history, epoch, val_loss):
            best_state = copy.deepcopy(net.state_dict())
        if on_epoch is not None:
            on_epoch(epoch, train_loss, val_loss)
        if rule.stopped:
            break
    if validation is not None:
        keep_best(history, best_state, config, net.load_state_dict)
    net.eval()
    history.seconds = time.perf_counter() - start
    return history
