"""Training many networks of one shape together, as one stacked model.

The networks of an experiment (folds x dimensions x seeds x variants) share
their architecture and input width. :func:`train_stacked` trains them at
once: the parameters of the networks still training are stacked along a
leading network axis and every matrix product is batched over it
(:meth:`muvi.models.lstm.WindowNet.stacked_forward`). Network for network
the arithmetic is that of :func:`muvi.models.training.train_network` with
the same seed:

* its own batch order, ``torch.randperm(n, generator)`` per epoch from a CPU
  generator seeded with its seed (networks with fewer windows get fewer
  batches; the stacked batch is padded and padded windows carry no loss);
* its own dropout masks, from its own generator seeded with its seed, drawn
  in the same order and shapes (:class:`muvi.models.stacking.StackedDropout`);
* its own Adam state (and, under Keras's epsilon placement, its own
  epsilon per step): each network's parameters are its own tensors for
  PyTorch's fused Adam; a network without a batch in a step, or stopped,
  has no gradient and Adam leaves it, and its step count, alone;
* its own early stopping on its own validation loss, by the same rule
  (:class:`muvi.models.training.EarlyStopping`, then
  :func:`muvi.models.training.keep_best`); a stopped network keeps its best
  weights and leaves the stack.

The parameters live in stacked storage for the whole training
(:class:`_StackedParameters`): one leaf tensor per parameter name, (networks
still training, ...), that the forward reads as it is, and each network's
own parameters are views of it. Adam's in-place updates therefore land in
the stack, and the stack's gradient reaches every network as a view: no
step stacks parameters, and only gradients that autograd produces
transposed are copied (into the parameters' layout, which fused Adam needs).
When networks stop (only at the end of an epoch) the storage is rebuilt for
those still training. The result is bitwise that of stacking the parameters
anew in every step (``tests/models/test_stack_storage.py``).

On a GPU the feature rows stay on the device, each epoch's batch order is
sent once, and the host waits for the device only at the end of an epoch
(for the validation losses that decide early stopping).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from muvi.errors import MuviError
from muvi.models.precision import precision_name, resolve_precision
from muvi.models.stacking import StackedDropout
from muvi.models.training import (
    EarlyStopping,
    TrainingConfig,
    TrainingHistory,
    WindowData,
    adam_optimiser,
    before_adam_step,
    keep_best,
    resolve_device,
)

if TYPE_CHECKING:
    from muvi.models.lstm import WindowNet


@dataclass
class _Datasets:
    """Distinct window sets of a stack, padded to common sizes.

    Attributes:
        rows: block -> (datasets, max rows, n_features), float32 or bfloat16.
        positions: (datasets, max windows, history).
        targets: (datasets, max windows).
        sizes: windows per dataset.
    """

    rows: dict[str, torch.Tensor]
    positions: torch.Tensor
    targets: torch.Tensor
    sizes: list[int]


def _pad_datasets(
    sets: Sequence[WindowData], device: torch.device, dtype: torch.dtype = torch.float32
) -> _Datasets:
    """Pad the window sets to common sizes and move them to ``device``. In
    bfloat16 mode the feature rows are stored in bfloat16: they are only ever
    operands of the first matrix product, which rounds them to bfloat16 anyway."""
    blocks = list(sets[0].rows)
    n_rows = max(int(s.rows[blocks[0]].shape[0]) for s in sets)
    n_windows = max(len(s) for s in sets)
    history = int(sets[0].positions.shape[1])
    rows = {}
    for b in blocks:
        width = int(sets[0].rows[b].shape[1])
        out = torch.zeros(len(sets), n_rows, width)
        for i, s in enumerate(sets):
            out[i, : s.rows[b].shape[0]] = s.rows[b].cpu()
        rows[b] = out.to(device=device, dtype=dtype)
    positions = torch.zeros(len(sets), n_windows, history, dtype=torch.long)
    targets = torch.zeros(len(sets), n_windows)
    for i, s in enumerate(sets):
        positions[i, : len(s)] = s.positions.cpu()
        targets[i, : len(s)] = s.targets.cpu()
    return _Datasets(rows, positions.to(device), targets.to(device), [len(s) for s in sets])


def _distinct(sets: Sequence[WindowData]) -> tuple[list[WindowData], list[int]]:
    """The distinct objects of ``sets`` (by identity) and each one's index."""
    unique: list[WindowData] = []
    seen: dict[int, int] = {}
    index = []
    for s in sets:
        if id(s) not in seen:
            seen[id(s)] = len(unique)
            unique.append(s)
        index.append(seen[id(s)])
    return unique, index


class _StackedParameters:
    """The parameters of the networks still training, kept stacked.

    One float32 leaf tensor per parameter name, shape (active networks, ...),
    which the stacked forward reads directly. Each active network's own
    parameters (the same ``Parameter`` objects, so the optimiser's state
    keyed by them stays valid) have their ``.data`` pointed at their row of
    that storage: the optimiser's in-place updates write into the stack, and
    after ``backward()`` each network's gradient is handed to it as a view of
    the stack's gradient (copied only where autograd delivers it transposed:
    :meth:`backward`).

    Networks leave at the end of an epoch (:meth:`keep`): the storage is then
    rebuilt for those still training (a copy of their rows, once per change),
    so the forward never gathers, and a stopped network's parameters are
    copied back into their own original tensors. :meth:`finish` does that for
    every network still in the stack; after it each network holds its weights
    in its own tensors exactly as before training (same objects, same
    layout).

    Args:
        names: parameter names (``named_parameters`` order).
        params: per network, its parameters in that order.
        active: the networks in the stack, in stack order.
    """

    def __init__(
        self, names: list[str], params: list[list[torch.Tensor]], active: list[int]
    ) -> None:
        self.names = names
        self.params = params
        self.own = [[p.data for p in ps] for ps in params]
        self.trainable = [any(ps[i].requires_grad for ps in params) for i in range(len(names))]
        self.active: list[int] = []
        self.stack: dict[str, torch.Tensor] = {}
        self._build(active)

    @torch.no_grad()
    def _build(self, active: list[int]) -> None:
        stack = {}
        for i, name in enumerate(self.names):
            storage = torch.stack([self.params[k][i].detach() for k in active])
            for j, k in enumerate(active):
                self.params[k][i].data = storage[j]
            stack[name] = storage.requires_grad_(self.trainable[i])
        self.stack, self.active = stack, list(active)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Parameter name -> (active networks, ...) for the forward."""
        return self.stack

    def backward(self, loss: torch.Tensor, counts: list[int]) -> None:
        """Back-propagate ``loss`` to the stack and give each active network
        with a batch in this step (``counts``, in stack order) its gradient, a
        view of the stack's; the others get none (Adam then leaves them alone).

        The gradients are taken with :func:`torch.autograd.grad`, as autograd
        computed them: a weight's gradient often arrives transposed (from
        ``x @ weight^T``), and storing it as the stack's ``.grad`` would make
        autograd copy it into the stack's layout in one 3-d transposing copy,
        several times slower on a CPU than the 2-d transposing copy per network
        done here (fused Adam needs gradients laid out like their parameters;
        on a GPU one copy of the whole stack is made, one kernel).
        Keeping such a weight's storage transposed instead would spare that
        copy but cost more: fused Adam copies non-contiguous parameters to
        contiguous ones and back in every step.
        """
        trainable = [i for i in range(len(self.names)) if self.trainable[i]]
        leaves = [self.stack[self.names[i]] for i in trainable]
        if not leaves:
            return
        grads = torch.autograd.grad(loss, leaves, allow_unused=True)
        for i, leaf, grad in zip(trainable, leaves, grads, strict=True):
            if grad is None:
                continue
            if not grad.is_contiguous():  # the stack (and each network's view) is
                laid_out = torch.empty_like(leaf, memory_format=torch.contiguous_format)
                if leaf.device.type == "cpu":
                    for j in range(len(self.active)):
                        laid_out[j].copy_(grad[j])
                else:
                    laid_out.copy_(grad)
                grad = laid_out
            for j, (k, c) in enumerate(zip(self.active, counts, strict=True)):
                p = self.params[k][i]
                if c > 0 and p.requires_grad:
                    p.grad = grad[j]

    @torch.no_grad()
    def _release(self, k: int) -> None:
        for p, own in zip(self.params[k], self.own[k], strict=True):
            own.copy_(p.data)
            p.data = own

    def keep(self, still: list[int]) -> None:
        """The networks ``still`` training (a sub-list of the active ones)
        stay in the stack; the others get their own tensors back."""
        if still == self.active:
            return
        for k in self.active:
            if k not in still:
                self._release(k)
        if still:
            self._build(still)
        else:
            self.stack, self.active = {}, []

    def finish(self) -> None:
        """Every network's parameters back in their own tensors."""
        self.keep([])


def check_stackable(nets: Sequence[WindowNet]) -> list[str]:
    """Parameter names of the networks, after checking they can share a stack.

    Raises:
        MuviError: the networks differ in type, parameter names or shapes.
    """
    first = nets[0]
    names = [n for n, _ in first.named_parameters()]
    shapes = [tuple(p.shape) for p in first.parameters()]
    for net in nets[1:]:
        if type(net) is not type(first) or [n for n, _ in net.named_parameters()] != names:
            raise MuviError("networks of one stack must share their architecture")
        if [tuple(p.shape) for p in net.parameters()] != shapes:
            raise MuviError("networks of one stack must share their input widths and sizes")
    return names


def train_stacked(
    nets: Sequence[WindowNet],
    train: Sequence[WindowData],
    validation: Sequence[WindowData | None],
    config: TrainingConfig | None = None,
    seeds: Sequence[int] | None = None,
    on_epoch: Callable[[int, list[int]], None] | None = None,
) -> list[TrainingHistory]:
    """Train networks of one architecture and input width together.

    Args:
        nets: initialised networks (as one-at-a-time training gets them).
        train: each network's training windows (the same object may serve
            several networks; its rows are then stored once).
        validation: each network's validation windows, or None (then all
            ``max_epochs`` are run and the last weights kept).
        config: hyper-parameters shared by the stack (``seed`` is used for
            networks without their own in ``seeds``).
        seeds: each network's seed (batch order and dropout); default
            ``config.seed`` for every network.
        on_epoch: called after each epoch with (epoch, indices of the
            networks still training).

    Returns:
        One :class:`TrainingHistory` per network; each net holds its best
        weights (lowest validation loss) on return, on the training device.

    Raises:
        MuviError: networks that cannot share a stack, or mismatched lengths.
    """
    config = config or TrainingConfig()
    if not nets:
        return []
    if not (len(nets) == len(train) == len(validation)):
        raise MuviError("train_stacked needs one training and one validation set per network")
    if any(len(t) == 0 for t in train):
        raise MuviError("a network of the stack has no training windows")
    seeds = list(seeds) if seeds is not None else [config.seed] * len(nets)
    names = check_stackable(nets)
    device = resolve_device(config.device)
    dtype, _ = resolve_precision(config.precision, device)
    if config.threads is not None and device.type == "cpu":
        torch.set_num_threads(config.threads)
    n_nets = len(nets)
    template = nets[0]
    for net in nets:
        net.to(device).train()
    params: list[list[torch.Tensor]] = [[p for _, p in net.named_parameters()] for net in nets]

    train_sets, train_index = _distinct(train)
    data = _pad_datasets(train_sets, device, dtype)
    data_index = torch.tensor(train_index, device=device)
    has_val = [v is not None and len(v) > 0 for v in validation]
    val_sets, val_index = _distinct([v for v in validation if v is not None and len(v) > 0])
    val_data = _pad_datasets(val_sets, device, dtype) if val_sets else None
    val_of = {}  # network -> its validation dataset
    it = iter(val_index)
    for k, ok in enumerate(has_val):
        if ok:
            val_of[k] = next(it)

    # one parameter group per network under Keras's epsilon placement (its
    # epsilon depends on the network's own step count); one group otherwise
    optimiser = adam_optimiser(
        params if config.keras_adam else [[p for ps in params for p in ps]], config
    )
    orders = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    dropouts = [torch.Generator(device=device).manual_seed(s) for s in seeds]
    sizes = [len(t) for t in train]
    histories = [TrainingHistory(precision=precision_name(dtype)) for _ in nets]
    rules = [EarlyStopping(config.patience) for _ in nets]
    # the best epoch's weights (keep_best: restored, or handed back in the history)
    best = [[p.detach().clone() for p in ps] for ps in params]
    active = list(range(n_nets))
    batch = config.batch_size_for(template)
    stack = _StackedParameters(names, params, active)
    start = time.perf_counter()
    try:
        for epoch in range(config.max_epochs):
            if not active:
                break
            # the epoch's batches of every active network, sent to the device at once
            n_steps = max(math.ceil(sizes[k] / batch) for k in active)
            index = torch.zeros(n_steps, len(active), batch, dtype=torch.long)
            counts = torch.zeros(n_steps, len(active))
            for j, k in enumerate(active):
                order = torch.randperm(sizes[k], generator=orders[k])
                for s in range(math.ceil(sizes[k] / batch)):
                    part = order[s * batch : (s + 1) * batch]
                    index[s, j, : part.numel()] = part
                    counts[s, j] = part.numel()
            lanes = torch.arange(batch)[None, None, :]
            weights = torch.where(
                lanes < counts[..., None], 1.0 / counts.clamp(min=1)[..., None], 0.0
            )
            host_counts = counts.to(torch.long).tolist()
            index, weights, counts = (
                t.to(device, non_blocking=True) for t in (index, weights, counts)
            )
            d_index = data_index[torch.tensor(active).to(device, non_blocking=True)]
            totals = torch.zeros(len(active), device=device)
            for s in range(n_steps):
                own = host_counts[s]
                width = max(own)
                step_index = index[s, :, :width]
                positions = data.positions[d_index[:, None], step_index].transpose(1, 2)
                targets = data.targets[d_index[:, None], step_index]
                drop = StackedDropout([dropouts[k] for k in active], own, width, device)
                pred = template.stacked_forward(
                    stack.tensors(), data.rows, d_index, positions, drop, dtype
                )
                per_net = ((pred - targets) ** 2 * weights[s, :, :width]).sum(1)
                optimiser.zero_grad(set_to_none=True)
                # a network with no batch left gets no gradient: no update, no Adam step
                stack.backward(per_net.sum(), own)
                before_adam_step(optimiser, config)
                optimiser.step()
                totals += per_net.detach() * counts[s]
            train_losses = (totals.cpu() / torch.tensor([sizes[k] for k in active])).tolist()
            val_losses = _validation_losses(template, stack, val_of, val_data, dtype)
            still = []
            for j, k in enumerate(active):
                hist = histories[k]
                hist.train_loss.append(float(train_losses[j]))
                if rules[k].observe(hist, epoch, val_losses[k] if k in val_of else None):
                    best[k] = [p.detach().clone() for p in params[k]]
                if not rules[k].stopped:
                    still.append(k)
            if on_epoch is not None:
                on_epoch(epoch, still)
            stack.keep(still)
            active = still
    finally:
        stack.finish()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        for k, net in enumerate(nets):
            if k in val_of:

                def restore(state: dict[str, torch.Tensor], k: int = k) -> None:
                    for p, name in zip(params[k], names, strict=True):
                        p.copy_(state[name])

                keep_best(histories[k], dict(zip(names, best[k], strict=True)), config, restore)
            net.eval()
            histories[k].seconds = seconds
    return histories


@torch.no_grad()
def _validation_losses(
    template: WindowNet,
    stack: _StackedParameters,
    val_of: dict[int, int],
    val_data: _Datasets | None,
    dtype: torch.dtype,
) -> dict[int, float]:
    """Mean squared error on its validation windows for every network of
    the stack that has them."""
    group = [k for k in stack.active if k in val_of]
    if not group or val_data is None:
        return {}
    device = val_data.positions.device
    d_index = torch.tensor([val_of[k] for k in group], device=device)
    stacked = stack.tensors()
    if len(group) < len(stack.active):  # only some have validation windows: their rows
        rows_of = torch.tensor([stack.active.index(k) for k in group], device=device)
        stacked = {name: t[rows_of] for name, t in stacked.items()}
    rows = {b: r[d_index] for b, r in val_data.rows.items()}
    positions = val_data.positions[d_index].transpose(1, 2)
    pred = template.stacked_predict(stacked, rows, positions, dtype)
    sizes = torch.tensor([val_data.sizes[val_of[k]] for k in group], device=device)
    valid = torch.arange(pred.shape[1], device=device)[None, :] < sizes[:, None]
    err = ((pred - val_data.targets[d_index]) ** 2 * valid).sum(1) / sizes
    return dict(zip(group, err.cpu().tolist(), strict=True))


@torch.no_grad()
def predict_stacked(
    net: WindowNet, data: WindowData, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Eval-mode predictions of one network for every window of ``data``
    through the stacked path (a stack of one), in ``dtype``'s precision."""
    params = {name: p.unsqueeze(0) for name, p in net.named_parameters()}
    rows = {b: r.unsqueeze(0).to(dtype) for b, r in data.rows.items()}
    positions = data.positions.T.unsqueeze(0)
    return net.stacked_predict(params, rows, positions, dtype)[0]


def train_stack_task(
    nets: Sequence[WindowNet],
    train: Sequence[WindowData],
    validation: Sequence[WindowData | None],
    config: TrainingConfig,
    seeds: Sequence[int],
) -> tuple[list[dict[str, torch.Tensor]], list[TrainingHistory]]:
    """:func:`train_stacked` as a self-contained task (for a Dask worker):
    returns the trained weights (CPU ``state_dict`` per network) and histories."""
    histories = train_stacked(nets, train, validation, config, seeds)
    states = [{k: v.detach().cpu() for k, v in net.state_dict().items()} for net in nets]
    return states, histories
