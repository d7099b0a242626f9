"""The stack's parameters kept in stacked storage change no bit of training.

:func:`train_stacked` keeps every parameter name's weights of the networks
still training in one stacked leaf tensor, the networks' own parameters being
views of it (:class:`muvi.models.batched._StackedParameters`). Before, the
parameters were stacked anew every step and autograd split the stack's
gradient back into each network's own tensors. That earlier scheme is
reproduced here (:class:`PerStepStacking`, the old lines, swapped in for the
storage) and both train the same stacks: networks with different numbers of
windows (some run out of batches before others), different seeds, early
stopping that stops some networks before others, networks without
validation, Keras's Adam on and off, float32 and bfloat16. Every weight, the
best weights handed back, every loss and epoch count must be bitwise equal
(``torch.equal``, ``==`` on floats).
"""

from __future__ import annotations

import copy

import pytest
import torch

from muvi.models import batched
from muvi.models.batched import train_stacked
from muvi.models.lstm import BlockConfig, LateFusionNet, UnimodalNet, WindowNet
from muvi.models.training import TrainingConfig, TrainingHistory, WindowData, seed_everything
from muvi.models.windows import window_positions

SMALL = BlockConfig(hidden=(12, 8))


class PerStepStacking:
    """The earlier scheme: stack every network's parameters in every step and
    let autograd hand each network its slice of the gradient (a copy); a
    network without a batch in the step has its gradient dropped."""

    def __init__(self, names: list[str], params: list[list[torch.Tensor]], active: list[int]):
        self.names, self.params, self.active = names, params, list(active)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            name: torch.stack([self.params[k][i] for k in self.active])
            for i, name in enumerate(self.names)
        }

    def backward(self, loss: torch.Tensor, counts: list[int]) -> None:
        loss.backward()
        for k, c in zip(self.active, counts, strict=True):
            if c == 0:
                for p in self.params[k]:
                    p.grad = None

    def keep(self, still: list[int]) -> None:
        self.active = list(still)

    def finish(self) -> None:
        pass


def make_data(widths: dict[str, int], n_items: int, seed: int) -> WindowData:
    g = torch.Generator().manual_seed(seed)
    rows = {b: torch.rand(n_items * 20, w, generator=g) for b, w in widths.items()}
    positions = torch.from_numpy(window_positions(n_items, 20, 4))
    first = next(iter(rows.values()))
    noise = 0.1 * torch.randn(len(positions), generator=g)
    return WindowData(rows, positions, torch.tanh(first[positions[:, -1], 0] - 0.5 + noise))


def build(kind: str, seed: int) -> WindowNet:
    seed_everything(seed)
    if kind == "late":
        return LateFusionNet({"audio": 5, "visual": 3}, SMALL)
    return UnimodalNet(5, ("audio",), SMALL)


def widths(kind: str) -> dict[str, int]:
    return {"audio": 5, "visual": 3} if kind == "late" else {"main": 5}


# items per network (so batch counts per epoch differ: 3, 3, 5, 2 batches of
# 32 windows), data seed, network seed, whether it has validation windows
SPEC = [(6, 11, 0, True), (5, 12, 1, True), (9, 13, 2, False), (4, 14, 3, True)]


def train_both(
    kind: str, config: TrainingConfig, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[WindowNet], list[TrainingHistory], list[WindowNet], list[TrainingHistory]]:
    """The same stack trained with the stacked storage and with per-step stacking."""
    train = [make_data(widths(kind), n, ds) for n, ds, _, _ in SPEC]
    val = [make_data(widths(kind), 2, ds + 100) if v else None for _, ds, _, v in SPEC]
    seeds = [s for _, _, s, _ in SPEC]
    initial = [build(kind, s) for s in seeds]
    nets = [copy.deepcopy(n) for n in initial]
    params_before = [list(n.parameters()) for n in nets]
    storage_before = [[p.untyped_storage().data_ptr() for p in ps] for ps in params_before]
    stopped_during: dict[int, list[int]] = {}

    def watch(epoch: int, still: list[int]) -> None:
        stopped_during[epoch] = still

    hists = train_stacked(nets, train, val, config, seeds, on_epoch=watch)
    # the networks keep their own Parameter objects, back in their own storage
    for net, before, ptrs in zip(nets, params_before, storage_before, strict=True):
        after = list(net.parameters())
        assert all(a is b for a, b in zip(after, before, strict=True))
        assert [p.untyped_storage().data_ptr() for p in after] == ptrs
    with monkeypatch.context() as m:
        m.setattr(batched, "_StackedParameters", PerStepStacking)
        ref_nets = [copy.deepcopy(n) for n in initial]
        ref_hists = train_stacked(ref_nets, train, val, config, seeds)
    # the scenario means something: networks ran different numbers of epochs
    assert len({h.epochs for h in hists}) > 1, [h.epochs for h in hists]
    return nets, hists, ref_nets, ref_hists


def assert_bitwise_equal(nets, hists, ref_nets, ref_hists) -> None:
    for k, (a, b, ha, hb) in enumerate(zip(nets, ref_nets, hists, ref_hists, strict=True)):
        assert ha.train_loss == hb.train_loss, k
        assert ha.validation_loss == hb.validation_loss, k
        assert (ha.epochs, ha.best_epoch) == (hb.epochs, hb.best_epoch), k
        for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
            assert torch.equal(pa, pb), (k, name)
        assert (ha.best_state is None) == (hb.best_state is None), k
        if ha.best_state is not None and hb.best_state is not None:
            for name, value in ha.best_state.items():
                assert torch.equal(value, hb.best_state[name]), (k, name)


BASE = TrainingConfig(batch_size=32, max_epochs=7, patience=2, learning_rate=3e-3, threads=1)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize(
    ("keras_adam", "restore_best"), [(False, True), (True, False)], ids=["torch_adam", "keras_adam"]
)
def test_stacked_storage_is_bitwise_the_per_step_stack(
    precision: str, keras_adam: bool, restore_best: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrainingConfig(
        **{**BASE.__dict__, "precision": precision, "keras_adam": keras_adam,
           "restore_best": restore_best, "adam_epsilon": 1e-7 if keras_adam else 1e-8}
    )  # fmt: skip
    nets, hists, ref_nets, ref_hists = train_both("uni", config, monkeypatch)
    # some networks stopped early, the one without validation ran every epoch
    assert any(h.epochs < config.max_epochs for h in hists)
    assert hists[2].epochs == config.max_epochs and not hists[2].validation_loss
    assert_bitwise_equal(nets, hists, ref_nets, ref_hists)
    # training moved the weights (an untouched stack would be equal trivially)
    first = build("uni", SPEC[0][2])
    assert not torch.equal(next(first.parameters()), next(nets[0].parameters()))


def test_late_fusion_without_any_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two blocks per network, no validation at all (all epochs, last weights),
    networks with 3, 3, 5 and 2 batches per epoch."""
    config = TrainingConfig(**{**BASE.__dict__, "max_epochs": 3})
    train = [make_data(widths("late"), n, ds) for n, ds, _, _ in SPEC]
    seeds = [s for _, _, s, _ in SPEC]
    initial = [build("late", s) for s in seeds]
    nets = [copy.deepcopy(n) for n in initial]
    hists = train_stacked(nets, train, [None] * len(SPEC), config, seeds)
    with monkeypatch.context() as m:
        m.setattr(batched, "_StackedParameters", PerStepStacking)
        ref_nets = [copy.deepcopy(n) for n in initial]
        ref_hists = train_stacked(ref_nets, train, [None] * len(SPEC), config, seeds)
    assert [h.epochs for h in hists] == [3] * len(SPEC)
    assert_bitwise_equal(nets, hists, ref_nets, ref_hists)


def test_parameters_are_views_of_the_stack_while_training() -> None:
    """During training the networks still in the stack share one storage per
    parameter name (no per-step stacking); a stopped network's parameters are
    back in their own storage at once, with its final weights."""
    train = [make_data({"main": 5}, n, ds) for n, ds, _, _ in SPEC]
    val = [make_data({"main": 5}, 2, ds + 100) for _, ds, _, _ in SPEC]
    seeds = [s for _, _, s, _ in SPEC]
    nets = [build("uni", s) for s in seeds]
    config = TrainingConfig(**{**BASE.__dict__, "restore_best": False, "max_epochs": 12})
    own = [[p.untyped_storage().data_ptr() for p in n.parameters()] for n in nets]
    seen: list[tuple[list[int], list[list[int]]]] = []

    def watch(epoch: int, still: list[int]) -> None:
        # called before the stack drops the networks that stopped in this epoch
        seen.append(
            (still, [[p.untyped_storage().data_ptr() for p in n.parameters()] for n in nets])
        )

    hists = train_stacked(nets, train, val, config, seeds, on_epoch=watch)
    assert any(h.epochs < config.max_epochs for h in hists)
    assert len(seen) > 2
    active = list(range(len(nets)))
    for still, ptrs in seen:
        for i in range(len(own[0])):
            # the networks in the stack: one storage per parameter name, not their own
            assert len({ptrs[k][i] for k in active}) == 1
            assert all(ptrs[k][i] != own[k][i] for k in active)
            # those stopped in an earlier epoch: back in their own storage
            assert all(ptrs[k][i] == own[k][i] for k in range(len(nets)) if k not in active)
        active = still
    # at the end every network is back in its own storage
    assert [[p.untyped_storage().data_ptr() for p in n.parameters()] for n in nets] == own


def test_interrupted_training_leaves_every_network_its_own_weights() -> None:
    """An exception in the middle (here from the epoch callback) still hands
    every network its parameters back in its own storage, holding the weights
    reached so far: those of a network trained for the same epochs alone."""
    train = [make_data({"main": 5}, n, ds) for n, ds, _, _ in SPEC[:2]]
    seeds = [s for _, _, s, _ in SPEC[:2]]
    nets = [build("uni", s) for s in seeds]
    own = [[p.untyped_storage().data_ptr() for p in n.parameters()] for n in nets]
    full = [copy.deepcopy(n) for n in nets]

    def stop(epoch: int, still: list[int]) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_stacked(nets, train, [None, None], BASE, seeds, on_epoch=stop)
    assert [[p.untyped_storage().data_ptr() for p in n.parameters()] for n in nets] == own
    two = TrainingConfig(**{**BASE.__dict__, "max_epochs": 2})
    train_stacked(full, train, [None, None], two, seeds)
    for a, b in zip(nets, full, strict=True):
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(pa, pb)
