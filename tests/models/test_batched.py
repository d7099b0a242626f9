"""Batched (stacked) training equals one-at-a-time training network for network.

Every architecture (unimodal LSTM, A1 early fusion, A2 late fusion, the
reference-code block with its projection) and PAIR's two stages: networks with
different data sizes, seeds and validation sets are trained one at a time
with :func:`train_network` and together with :func:`train_stacked`; the
losses per epoch, the epoch kept and the final weights must agree to float
tolerance (the only differences are the order of float32 sums in batched
matrix products).
"""

from __future__ import annotations

import copy

import pytest
import torch

from muvi.errors import MuviError
from muvi.models.batched import predict_stacked, train_stacked
from muvi.models.lstm import (
    BlockConfig,
    LateFusionNet,
    UnimodalNet,
    WindowNet,
)
from muvi.models.training import (
    TrainingConfig,
    WindowData,
    predict_windows,
    seed_everything,
    train_network,
)
from muvi.models.windows import window_positions

SMALL = BlockConfig(hidden=(12, 8))
SMALL_REF = BlockConfig(hidden=(12, 6), projection=10)


def make_data(blocks: dict[str, int], n_items: int, seed: int, n_samples: int = 20) -> WindowData:
    """Random rows and targets that depend on them (so training has something to learn)."""
    g = torch.Generator().manual_seed(seed)
    rows = {b: torch.rand(n_items * n_samples, w, generator=g) for b, w in blocks.items()}
    positions = torch.from_numpy(window_positions(n_items, n_samples, 4))
    first = next(iter(rows.values()))
    targets = torch.tanh(
        first[positions[:, -1], 0] - 0.5 + 0.1 * torch.randn(len(positions), generator=g)
    )
    return WindowData(rows, positions, targets.float())


def build(kind: str, seed: int, block: BlockConfig) -> WindowNet:
    seed_everything(seed)
    if kind == "late":
        return LateFusionNet({"audio": 5, "visual": 3}, block)
    return UnimodalNet(5, ("audio",), block)


def widths(kind: str) -> dict[str, int]:
    return {"audio": 5, "visual": 3} if kind == "late" else {"main": 5}


CONFIG = TrainingConfig(batch_size=32, max_epochs=6, patience=2, learning_rate=3e-3, threads=1)


def check_equal(nets_alone, hist_alone, nets_stacked, hist_stacked, atol=2e-5) -> None:
    for a, b, ha, hb in zip(nets_alone, nets_stacked, hist_alone, hist_stacked, strict=True):
        assert ha.epochs == hb.epochs
        assert ha.best_epoch == hb.best_epoch
        assert ha.train_loss == pytest.approx(hb.train_loss, rel=1e-4, abs=1e-6)
        assert ha.validation_loss == pytest.approx(hb.validation_loss, rel=1e-4, abs=1e-6)
        for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
            assert torch.allclose(pa, pb, atol=atol, rtol=1e-4), name


@pytest.mark.parametrize(
    ("kind", "block"),
    [("uni", SMALL), ("late", SMALL), ("uni", SMALL_REF)],
    ids=["lstm_or_early_fusion", "late_fusion", "reference_block"],
)
def test_stacked_equals_one_at_a_time(kind: str, block: BlockConfig) -> None:
    # four networks: different data sizes (so batch counts differ), seeds and validation
    spec = [(6, 11, 0), (5, 12, 1), (6, 13, 2), (4, 14, 3)]  # items, data seed, net seed
    train = [make_data(widths(kind), n, ds) for n, ds, _ in spec]
    val = [make_data(widths(kind), 2, ds + 100) for _, ds, _ in spec]
    seeds = [s for *_, s in spec]
    initial = [build(kind, s, block) for s in seeds]
    alone = [copy.deepcopy(n) for n in initial]
    hist_alone = [
        train_network(n, t, v, TrainingConfig(**{**CONFIG.__dict__, "seed": s}))
        for n, t, v, s in zip(alone, train, val, seeds, strict=True)
    ]
    stacked = [copy.deepcopy(n) for n in initial]
    hist_stacked = train_stacked(stacked, train, val, CONFIG, seeds)
    # early stopping must have cut at least one network short for the test to mean something
    assert any(h.epochs < CONFIG.max_epochs for h in hist_alone)
    check_equal(alone, hist_alone, stacked, hist_stacked)
    for net, v in zip(stacked, val, strict=True):
        assert torch.allclose(predict_stacked(net, v), predict_windows(net, v), atol=1e-5)


def test_without_restoring_the_best_weights() -> None:
    """restore_best=False (Keras' default): early stopping still stops, the
    last weights are kept, stacked as alone; they differ from the best ones."""
    spec = [(6, 31, 0), (5, 32, 1)]
    train = [make_data({"main": 5}, n, ds) for n, ds, _ in spec]
    val = [make_data({"main": 5}, 2, ds + 100) for _, ds, _ in spec]
    seeds = [s for *_, s in spec]
    last = TrainingConfig(**{**CONFIG.__dict__, "restore_best": False})
    initial = [build("uni", s, SMALL) for s in seeds]
    alone = [copy.deepcopy(n) for n in initial]
    hist_alone = [
        train_network(n, t, v, TrainingConfig(**{**last.__dict__, "seed": s}))
        for n, t, v, s in zip(alone, train, val, seeds, strict=True)
    ]
    stacked = [copy.deepcopy(n) for n in initial]
    check_equal(alone, hist_alone, stacked, train_stacked(stacked, train, val, last, seeds))
    restored = [copy.deepcopy(n) for n in initial]
    hist_best = train_stacked(restored, train, val, CONFIG, seeds)
    for a, b, h in zip(stacked, restored, hist_best, strict=True):
        same = all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
        assert same == (h.best_epoch == h.epochs - 1)
    assert any(h.best_epoch < h.epochs - 1 for h in hist_best)


def test_shared_training_set_and_no_validation() -> None:
    """Several networks on one training set (stored once), without validation: all epochs, last weights."""
    data = make_data({"main": 5}, 5, 7)
    seeds = [3, 4, 5]
    config = TrainingConfig(**{**CONFIG.__dict__, "max_epochs": 3})
    initial = [build("uni", s, SMALL) for s in seeds]
    alone = [copy.deepcopy(n) for n in initial]
    hist_alone = [
        train_network(n, data, None, TrainingConfig(**{**config.__dict__, "seed": s}))
        for n, s in zip(alone, seeds, strict=True)
    ]
    stacked = [copy.deepcopy(n) for n in initial]
    hist_stacked = train_stacked(stacked, [data] * 3, [None] * 3, config, seeds)
    assert [h.epochs for h in hist_stacked] == [3, 3, 3]
    check_equal(alone, hist_alone, stacked, hist_stacked)


def test_pair_two_stages() -> None:
    """PAIR: unimodal audio and visual nets trained stacked (stage 1), then A2
    nets started from their blocks trained stacked (stage 2), equal to doing
    both stages one network at a time."""
    folds = [(5, 21), (6, 22)]
    audio = [make_data({"main": 5}, n, s) for n, s in folds]
    visual = [make_data({"main": 3}, n, s + 1) for n, s in folds]
    audio_val = [make_data({"main": 5}, 2, s + 50) for _, s in folds]
    visual_val = [make_data({"main": 3}, 2, s + 51) for _, s in folds]

    def unimodal(width: int) -> UnimodalNet:
        seed_everything(CONFIG.seed)
        return UnimodalNet(width, ("x",), SMALL)

    def pair_from(a: WindowNet, v: WindowNet) -> LateFusionNet:
        seed_everything(CONFIG.seed)
        net = LateFusionNet({"audio": 5, "visual": 3}, SMALL)
        net.block("audio").load_state_dict(a.block("main").state_dict())
        net.block("visual").load_state_dict(v.block("main").state_dict())
        return net

    av = [
        WindowData({"audio": a.rows["main"], "visual": v.rows["main"]}, a.positions, a.targets)
        for a, v in zip(audio, visual, strict=True)
    ]
    av_val = [
        WindowData({"audio": a.rows["main"], "visual": v.rows["main"]}, a.positions, a.targets)
        for a, v in zip(audio_val, visual_val, strict=True)
    ]
    # one at a time
    results_alone = []
    for i in range(len(folds)):
        a, v = unimodal(5), unimodal(3)
        train_network(a, audio[i], audio_val[i], CONFIG)
        train_network(v, visual[i], visual_val[i], CONFIG)
        p = pair_from(a, v)
        h = train_network(p, av[i], av_val[i], CONFIG)
        results_alone.append((a, v, p, h))
    # stacked, stage by stage
    a_nets = [unimodal(5) for _ in folds]
    v_nets = [unimodal(3) for _ in folds]
    train_stacked(a_nets, audio, audio_val, CONFIG)
    train_stacked(v_nets, visual, visual_val, CONFIG)
    p_nets = [pair_from(a, v) for a, v in zip(a_nets, v_nets, strict=True)]
    p_hist = train_stacked(p_nets, av, av_val, CONFIG)
    for i, (a, v, p, h) in enumerate(results_alone):
        for x, y in ((a, a_nets[i]), (v, v_nets[i])):
            for px, py in zip(x.parameters(), y.parameters(), strict=True):
                assert torch.allclose(px, py, atol=2e-5, rtol=1e-4)
        check_equal([p], [h], [p_nets[i]], [p_hist[i]])


def test_unstackable_networks_are_refused() -> None:
    nets = [build("uni", 0, SMALL), build("late", 0, SMALL)]
    data = make_data({"main": 5}, 3, 0)
    with pytest.raises(MuviError, match="architecture"):
        train_stacked(nets, [data, data], [None, None], CONFIG)
    other = UnimodalNet(7, ("audio",), SMALL)
    with pytest.raises(MuviError, match="input widths"):
        train_stacked([nets[0], other], [data, data], [None, None], CONFIG)


def test_grid_networks_batched_equal_one_at_a_time(study_factory) -> None:
    """fit_grid_networks: stacks (several seeds at once) against the same
    networks trained one at a time, PAIR included."""
    from dataclasses import replace

    from muvi.models.folds import cv_folds
    from muvi.models.protocol import EvaluationConfig, fit_grid_networks

    study = study_factory(n_items=10, seed=4)
    config = EvaluationConfig(
        experiments=(1, 7),
        models=("lstm",),
        dimensions=("arousal",),
        block=BlockConfig(hidden=(8, 8)),
        training=TrainingConfig(max_epochs=3, threads=1),
    )
    folds = cv_folds(study.items)[:2]
    stacked = fit_grid_networks(study, config, folds, seeds=[0, 1])
    alone_config = replace(config, training=replace(config.training, batched=False))
    alone = fit_grid_networks(study, alone_config, folds, seeds=[0, 1])
    # 2 seeds x 2 folds x (exp1, exp2 as PAIR's initialiser, exp7)
    assert set(stacked) == set(alone) and len(stacked) == 12
    for key, model in stacked.items():
        other = alone[key]
        assert model.history_.epochs == other.history_.epochs
        for pa, pb in zip(model.net_.parameters(), other.net_.parameters(), strict=True):
            assert torch.allclose(pa, pb, atol=2e-5, rtol=1e-4), key
    # different seeds give different networks
    a, b = stacked[(0, 0, "arousal", "exp7_pair")], stacked[(1, 0, "arousal", "exp7_pair")]
    assert not torch.allclose(next(a.net_.parameters()), next(b.net_.parameters()))


@pytest.mark.parametrize("kind", ["uni", "late"], ids=["lstm_or_early_fusion", "late_fusion"])
def test_stacked_equals_one_at_a_time_under_the_reference_code_profile(kind: str) -> None:
    """The authors' code's settings: linear projection, Keras's initialisers and
    one bias per LSTM, Keras's Adam (epsilon per network and step: the networks
    have different batch counts, so their step counts part), the last epoch's
    weights kept, A2's batch twice the others'."""
    from dataclasses import replace

    from muvi.models.lstm import REFERENCE_CODE_BLOCK

    block = replace(REFERENCE_CODE_BLOCK, hidden=(12, 6), projection=10)
    config = TrainingConfig(
        **{**CONFIG.__dict__, "restore_best": False, "keras_adam": True, "adam_epsilon": 1e-7,
           "batch_size_fusion": 64}
    )  # fmt: skip
    spec = [(6, 41, 0), (5, 42, 1), (9, 43, 2), (4, 44, 3)]
    train = [make_data(widths(kind), n, ds) for n, ds, _ in spec]
    val = [make_data(widths(kind), 2, ds + 100) for _, ds, _ in spec]
    seeds = [s for *_, s in spec]
    initial = [build(kind, s, block) for s in seeds]
    assert config.batch_size_for(initial[0]) == (64 if kind == "late" else 32)
    alone = [copy.deepcopy(n) for n in initial]
    hist_alone = [
        train_network(n, t, v, TrainingConfig(**{**config.__dict__, "seed": s}))
        for n, t, v, s in zip(alone, train, val, seeds, strict=True)
    ]
    stacked = [copy.deepcopy(n) for n in initial]
    hist_stacked = train_stacked(stacked, train, val, config, seeds)
    assert any(h.epochs < config.max_epochs for h in hist_alone)
    assert any(h.best_epoch < h.epochs - 1 for h in hist_alone)  # last != best somewhere
    check_equal(alone, hist_alone, stacked, hist_stacked)
    for ha, hb in zip(hist_alone, hist_stacked, strict=True):
        assert ha.best_state is not None and hb.best_state is not None
        for name, value in ha.best_state.items():
            assert torch.allclose(value, hb.best_state[name], atol=2e-5, rtol=1e-4), name
    for net in stacked:  # the second bias of every LSTM stayed at zero
        for lstm in (m for m in net.modules() if isinstance(m, torch.nn.LSTM)):
            assert torch.count_nonzero(lstm.bias_hh_l0) == 0
