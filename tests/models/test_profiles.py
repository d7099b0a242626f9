"""The reference-code profile in muvi's real training path.

The networks muvi trains under ``profile_config("reference-code")`` are
checked against the authors' code as docs/reference_code.md reads it: layer
by layer parameter counts derived here by hand from the code's layer shapes
(Keras keeps one bias per LSTM), a forward pass written out here in numpy,
the separate PyTorch rebuild of the code (``keras_rebuild.py`` beside these tests),
Keras's initialisers and Keras's Adam update computed by hand.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from keras_rebuild import (
    KerasAdam,
    ReferenceCodeConfig,
    ReferenceLateFusionNet,
    ReferenceUnimodalNet,
)

from muvi.errors import MuviError
from muvi.models.batched import predict_stacked, train_stacked
from muvi.models.grid import EvaluationConfig, demo_config
from muvi.models.lstm import (
    PAPER_BLOCK,
    REFERENCE_CODE_BLOCK,
    BlockConfig,
    LateFusionNet,
    UnimodalNet,
    WindowNet,
)
from muvi.models.profiles import (
    DEPARTURES,
    PROFILES,
    ProfileError,
    printed_error,
    profile_config,
    switch_departure,
)
from muvi.models.training import (
    TrainingConfig,
    WindowData,
    predict_windows,
    seed_everything,
    train_network,
)
from muvi.models.windows import window_positions

N_AUDIO, N_VISUAL = 988, 40  # emobase's 988 columns; some visual width

# --------------------------------------------------------------------------
# the profile's configuration
# --------------------------------------------------------------------------


def test_reference_code_profile_sets_the_codes_values():
    config = profile_config("reference-code")
    assert config.profile == "reference-code"
    block, training = config.block, config.training
    assert block.projection == 256 and block.projection_activation is None
    assert block.hidden == (256, 128) and block.dropout == 0.2
    assert block.initialisers == "keras" and block.single_bias
    assert training.adam_epsilon == 1e-7 and training.keras_adam
    assert training.batch_size == 256 and training.batch_size_fusion == 512
    assert training.restore_best is False
    assert training.learning_rate == 1e-4 and training.patience == 7
    assert training.max_epochs == 100
    assert training.scaling_rows == "windows"  # the code's scaler sees samples 0..116
    assert config.reported_error == "mse" and printed_error(config) == "mse"
    assert config.defects == frozenset()  # defects belong to no profile
    paper = profile_config("paper", config)
    assert paper.block == PAPER_BLOCK and paper.training == TrainingConfig()
    assert paper.reported_error == "rmse" and paper.profile == "paper"


def test_profile_keeps_the_bases_other_settings_and_scales_a_reduced_block():
    base = replace(
        demo_config(),
        experiments=(1, 7),
        dimensions=("arousal",),
        defects=frozenset({"chunked-scoring"}),
    )
    base = replace(base, training=replace(base.training, precision="bfloat16", threads=1))
    config = profile_config("reference-code", base)
    # the demo's 32-unit layers are 1/8 of the paper's 256: the code's block at 1/8
    assert config.block.hidden == (32, 16) and config.block.projection == 32
    assert config.training.batch_size_fusion == 2 * base.training.batch_size
    for name in ("max_epochs", "learning_rate", "patience", "precision", "threads", "seed"):
        assert getattr(config.training, name) == getattr(base.training, name), name
    for name in ("experiments", "dimensions", "models", "lasso", "workers", "scheduler", "defects"):
        assert getattr(config, name) == getattr(base, name), name
    back = profile_config("paper", config)
    assert back.block == BlockConfig(hidden=(32, 32)) == demo_config().block


@pytest.mark.parametrize("departure", DEPARTURES)
def test_each_departure_switches_back_alone(departure):
    code = profile_config("reference-code")
    paper = profile_config("paper")
    switched = switch_departure(code, departure)
    fields = {
        "block": [("block", "hidden"), ("block", "projection"), ("block", "projection_activation")],
        "initialisers": [
            ("block", "initialisers"),
            ("block", "single_bias"),
            ("training", "adam_epsilon"),
            ("training", "keras_adam"),
        ],
        "batch-sizes": [("training", "batch_size_fusion")],
        "restore-best": [("training", "restore_best")],
        "metric": [(None, "reported_error")],
        "scaling-rows": [("training", "scaling_rows")],
    }
    every = [f for fs in fields.values() for f in fs]

    def value(config, where, name):
        return getattr(config if where is None else getattr(config, where), name)

    for where, name in every:
        expected = paper if (where, name) in fields[departure] else code
        assert value(switched, where, name) == value(expected, where, name), (where, name)
    assert value(code, *fields[departure][0]) != value(paper, *fields[departure][0])


def test_unknown_profile_departure_or_defect_is_one_clear_error():
    with pytest.raises(
        ProfileError, match="unknown profile 'keras'; choose from paper, reference-code"
    ):
        profile_config("keras")
    with pytest.raises(ProfileError, match="unknown departure 'dropout'"):
        switch_departure(EvaluationConfig(), "dropout")
    with pytest.raises(MuviError, match="unknown profile"):
        EvaluationConfig(profile="nope")
    with pytest.raises(MuviError, match="unknown defect 'leak'"):
        EvaluationConfig(defects=frozenset({"leak"}))
    with pytest.raises(MuviError, match="reported_error must be rmse or mse"):
        EvaluationConfig(reported_error="mae")
    with pytest.raises(MuviError, match="projection_activation"):
        BlockConfig(projection=4, projection_activation="tanh")
    with pytest.raises(MuviError, match="initialisers"):
        BlockConfig(initialisers="xavier")
    assert PROFILES == ("paper", "reference-code")


# --------------------------------------------------------------------------
# the networks: parameter counts by hand
# --------------------------------------------------------------------------


def _dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _keras_lstm(n_in: int, units: int) -> int:
    """Keras's LSTM: kernel (n_in, 4u), recurrent kernel (u, 4u), ONE bias (4u)."""
    return 4 * units * (n_in + units + 1)


def _trainable_by_layer(net: WindowNet) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, p in net.named_parameters():
        if p.requires_grad:
            layer = name.rsplit(".", 1)[0]
            counts[layer] = counts.get(layer, 0) + p.numel()
    return counts


def _code_net(architecture: str) -> WindowNet:
    """The network muvi trains for an architecture under the reference-code profile."""
    from muvi.models.architectures import ARCHITECTURES
    from muvi.models.grid import EXPERIMENTS

    config = profile_config("reference-code")
    number = {"lstm": 1, "early_fusion": 5, "late_fusion": 6, "pair": 7}[architecture]
    model = ARCHITECTURES[architecture].build(
        EXPERIMENTS[number].features, config.block, config.training
    )
    width = {"audio": N_AUDIO, "visual": N_VISUAL}
    return model._build({s: width[s] for s in model.feature_sets})


@pytest.mark.parametrize("architecture", ["lstm", "early_fusion", "late_fusion", "pair"])
def test_parameter_counts_per_layer_equal_the_codes_layer_shapes(architecture):
    net = _code_net(architecture)
    counts = _trainable_by_layer(net)

    def branch(prefix: str, n_features: int) -> dict[str, int]:
        # TimeDistributed(Dense(256)), LSTM(256, return_sequences), LSTM(128)
        return {
            f"{prefix}.projection": _dense(n_features, 256),
            f"{prefix}.lstm1": _keras_lstm(256, 256),
            f"{prefix}.lstm2": _keras_lstm(256, 128),
        }

    if architecture == "lstm":  # music: audio features
        expected = {**branch("blocks.main", N_AUDIO), "head": _dense(128, 1)}
    elif architecture == "early_fusion":  # both feature sets concatenated per row
        expected = {**branch("blocks.main", N_AUDIO + N_VISUAL), "head": _dense(128, 1)}
    else:  # two branches, concat 128 + 128, Dense(256, relu), Dense(1, tanh)
        expected = {
            **branch("blocks.audio", N_AUDIO),
            **branch("blocks.visual", N_VISUAL),
            "fusion": _dense(256, 256),
            "head": _dense(256, 1),
        }
    assert counts == expected
    # the documented figures of docs/reference_code.md section 4.4
    assert expected[next(k for k in expected if k.endswith("lstm1"))] == 525_312
    assert expected[next(k for k in expected if k.endswith("lstm2"))] == 197_120
    # and the rebuild of the code counts the same per layer
    from keras_rebuild import build_reference_network, layer_parameter_counts

    if architecture == "lstm":
        ref = build_reference_network("lstm", n_audio=N_AUDIO)
    else:
        kind = "early_fusion" if architecture == "early_fusion" else "late_fusion"
        ref = build_reference_network(kind, N_AUDIO, N_VISUAL)
    assert sorted(layer_parameter_counts(ref).values()) == sorted(expected.values())


def test_paper_block_keeps_two_trained_biases_and_no_projection():
    net = UnimodalNet(5, ("audio",), BlockConfig(hidden=(8, 8)))
    counts = _trainable_by_layer(net)
    assert counts["blocks.main.lstm1"] == 4 * 8 * (5 + 8 + 2)  # PyTorch: b_ih and b_hh
    assert "blocks.main.projection" not in counts


# --------------------------------------------------------------------------
# Keras's initialisers
# --------------------------------------------------------------------------


def test_keras_initialisers_in_the_trained_network():
    seed_everything(0)
    net = LateFusionNet({"audio": 30, "visual": 20}, REFERENCE_CODE_BLOCK)
    block = net.block("audio")
    for dense in (block.projection, net.fusion, net.head):
        assert dense is not None
        assert torch.count_nonzero(dense.bias) == 0  # zero biases
        limit = math.sqrt(6.0 / (dense.in_features + dense.out_features))  # Glorot-uniform
        assert dense.weight.abs().max() <= limit
        assert dense.weight.abs().max() > 0.9 * limit  # spread over the whole range
    for lstm in (block.lstm1, block.lstm2):
        h = lstm.hidden_size
        recurrent = lstm.weight_hh_l0.detach().T  # Keras's (h, 4h) recurrent kernel
        # ONE orthogonal draw for the whole matrix: its h rows are orthonormal
        torch.testing.assert_close(recurrent @ recurrent.T, torch.eye(h), atol=1e-5, rtol=0)
        bias = lstm.bias_ih_l0.detach()
        assert torch.equal(bias[h : 2 * h], torch.ones(h))  # unit_forget_bias
        assert torch.count_nonzero(bias[:h]) == torch.count_nonzero(bias[2 * h :]) == 0
        assert torch.count_nonzero(lstm.bias_hh_l0) == 0 and not lstm.bias_hh_l0.requires_grad
        n_in = lstm.input_size
        assert lstm.weight_ih_l0.abs().max() <= math.sqrt(6.0 / (n_in + 4 * h))
    # muvi's own initialisers draw the recurrent weights per gate: not one orthogonal matrix
    paper = UnimodalNet(30, ("audio",), BlockConfig(hidden=(16, 16))).block("main").lstm1
    w = paper.weight_hh_l0.detach().T
    assert not torch.allclose(w @ w.T, torch.eye(16), atol=1e-3)


# --------------------------------------------------------------------------
# the forward pass: numpy by hand, and the rebuild of the code
# --------------------------------------------------------------------------

SMALL_CODE = replace(REFERENCE_CODE_BLOCK, hidden=(12, 6), projection=10)
SMALL_REF = ReferenceCodeConfig(projection=10, hidden=(12, 6), fusion_units=256)


def _np_lstm(x: np.ndarray, w_ih, w_hh, b, return_sequences: bool) -> np.ndarray:
    """Keras/PyTorch LSTM written out: gates i, f, g, o; zero initial state."""
    batch, steps, _ = x.shape
    u = w_hh.shape[1]
    h = np.zeros((batch, u))
    c = np.zeros((batch, u))
    out = []

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    for t in range(steps):
        z = x[:, t] @ w_ih.T + h @ w_hh.T + b
        i, f, g, o = (z[:, k * u : (k + 1) * u] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1) if return_sequences else h


def _np_branch(p: dict[str, np.ndarray], prefix: str, windows: np.ndarray) -> np.ndarray:
    x = windows @ p[f"{prefix}.projection.weight"].T + p[f"{prefix}.projection.bias"]  # linear
    b1 = p[f"{prefix}.lstm1.bias_ih_l0"] + p[f"{prefix}.lstm1.bias_hh_l0"]
    seq = _np_lstm(
        x, p[f"{prefix}.lstm1.weight_ih_l0"], p[f"{prefix}.lstm1.weight_hh_l0"], b1, True
    )
    b2 = p[f"{prefix}.lstm2.bias_ih_l0"] + p[f"{prefix}.lstm2.bias_hh_l0"]
    return _np_lstm(
        seq, p[f"{prefix}.lstm2.weight_ih_l0"], p[f"{prefix}.lstm2.weight_hh_l0"], b2, False
    )


def _perturbed(net: WindowNet, seed: int) -> WindowNet:
    """Fixed, non-trivial weights (every bias non-zero, b_hh of the one-bias
    layout held at zero as in training)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            if p.requires_grad:
                p.add_(0.2 * torch.randn(p.shape, generator=g))
    return net.eval()


def _rows(
    n_items: int, widths: dict[str, int], seed: int
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    rows = {k: torch.rand(n_items * 9, w, generator=g) for k, w in widths.items()}
    return rows, torch.from_numpy(window_positions(n_items, 9, 4))


@pytest.mark.parametrize("architecture", ["lstm", "early_fusion", "late_fusion", "pair"])
def test_forward_equals_numpy_by_hand_and_the_codes_rebuild(architecture):
    seed_everything(1)
    if architecture in ("lstm", "early_fusion"):
        net: WindowNet = UnimodalNet(7, ("audio",), SMALL_CODE)
        rows, positions = _rows(3, {"main": 7}, seed=2)
    else:
        net = LateFusionNet({"audio": 7, "visual": 5}, SMALL_CODE)
        rows, positions = _rows(3, {"audio": 7, "visual": 5}, seed=2)
    if architecture == "pair":  # PAIR: A2 whose blocks come from two unimodal nets
        from muvi.models.lstm import LSTMRegressor, PairInitialisers, PairRegressor

        unimodal = {}
        for s, width in (("audio", 7), ("visual", 5)):
            m = LSTMRegressor(s, SMALL_CODE)
            m.net_ = _perturbed(UnimodalNet(width, (s,), SMALL_CODE), seed=10 + width)
            unimodal[s] = m
        pair = PairRegressor(PairInitialisers(unimodal["audio"], unimodal["visual"]), SMALL_CODE)
        pair._initialise(net)
        for s in ("audio", "visual"):
            for (k, a), (_, b) in zip(
                net.block(s).state_dict().items(),
                unimodal[s].net_.block("main").state_dict().items(),
                strict=True,
            ):
                assert torch.equal(a, b), k
        net.eval()
    else:
        _perturbed(net, seed=3)
    p = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
    pos = positions.numpy()
    windows = {k: r.double().numpy()[pos] for k, r in rows.items()}
    if isinstance(net, UnimodalNet):
        last = _np_branch(p, "blocks.main", windows["main"])
        by_hand = np.tanh(last @ p["head.weight"].T + p["head.bias"])[:, 0]
    else:
        joined = np.concatenate(
            [_np_branch(p, "blocks.audio", windows["audio"]),
             _np_branch(p, "blocks.visual", windows["visual"])], axis=1,
        )  # fmt: skip
        fused = np.maximum(joined @ p["fusion.weight"].T + p["fusion.bias"], 0.0)
        by_hand = np.tanh(fused @ p["head.weight"].T + p["head.bias"])[:, 0]
    data = WindowData(rows, positions, torch.zeros(len(positions)))
    fast = predict_windows(net, data).double().numpy()  # muvi's fast path
    stacked = predict_stacked(net, data).double().numpy()  # the batched path
    np.testing.assert_allclose(fast, by_hand, atol=2e-6)
    np.testing.assert_allclose(stacked, by_hand, atol=2e-6)
    assert np.std(by_hand) > 1e-3  # not a constant output

    # the rebuild of the code (Keras's layout: kernel = W.T, one bias = b_ih + b_hh)
    def load_branch(branch, prefix):
        with torch.no_grad():
            branch.dense.weight.copy_(net.state_dict()[f"{prefix}.projection.weight"])
            branch.dense.bias.copy_(net.state_dict()[f"{prefix}.projection.bias"])
            for name in ("lstm1", "lstm2"):
                mine = getattr(net.block(prefix.split(".")[1]), name)
                theirs = getattr(branch, name)
                theirs.kernel.copy_(mine.weight_ih_l0.T)
                theirs.recurrent_kernel.copy_(mine.weight_hh_l0.T)
                theirs.bias.copy_(mine.bias_ih_l0 + mine.bias_hh_l0)

    def load_dense(theirs, mine):
        with torch.no_grad():
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)

    if isinstance(net, UnimodalNet):
        ref = ReferenceUnimodalNet(7, SMALL_REF).eval()
        load_branch(ref.branch, "blocks.main")
        load_dense(ref.head, net.head)
        out = ref(rows["main"][positions])[:, 0]
    else:
        ref2 = ReferenceLateFusionNet(7, 5, SMALL_REF).eval()
        load_branch(ref2.audio, "blocks.audio")
        load_branch(ref2.visual, "blocks.visual")
        load_dense(ref2.fusion, net.fusion)
        load_dense(ref2.head, net.head)
        out = ref2(rows["audio"][positions], rows["visual"][positions])[:, 0]
    np.testing.assert_allclose(out.detach().double().numpy(), by_hand, atol=2e-6)


def test_relu_projection_differs_from_the_codes_linear_one():
    seed_everything(4)
    linear = _perturbed(UnimodalNet(7, ("main",), SMALL_CODE), seed=5)
    relu = copy.deepcopy(linear)
    relu.block("main").config = replace(SMALL_CODE, projection_activation="relu")
    rows, positions = _rows(2, {"main": 7}, seed=6)
    data = WindowData(rows, positions, torch.zeros(len(positions)))
    assert not torch.allclose(predict_windows(linear, data), predict_windows(relu, data))


# --------------------------------------------------------------------------
# Keras's Adam in the training path
# --------------------------------------------------------------------------


def _tiny_problem(seed: int = 0) -> tuple[WindowNet, WindowData]:
    seed_everything(seed)
    block = replace(SMALL_CODE, dropout=0.0)  # no dropout: the gradient is deterministic
    net = UnimodalNet(5, ("main",), block)
    rows, positions = _rows(4, {"main": 5}, seed=seed + 1)
    targets = torch.tanh(rows["main"][positions[:, -1], 0] - 0.5)
    return net, WindowData(rows, positions, targets)


def _grads(net: WindowNet, data: WindowData) -> dict[str, torch.Tensor]:
    net.train()
    net.zero_grad()
    pred = net.forward_rows(data.rows, data.positions)
    torch.nn.functional.mse_loss(pred, data.targets).backward()
    return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("batched", [False, True], ids=["one_at_a_time", "batched"])
def test_keras_adam_two_steps_equal_keras_formula_by_hand(batched):
    """Two full-batch steps (two epochs of one batch) against Keras's update
    ``p -= lr sqrt(1-b2^t)/(1-b1^t) m/(sqrt(v)+eps)`` computed here, and
    against the rebuild's KerasAdam on the same gradients."""
    net, data = _tiny_problem()
    config = TrainingConfig(
        learning_rate=1e-2, batch_size=10_000, max_epochs=2, threads=1,
        adam_epsilon=1e-7, keras_adam=True, restore_best=False,
    )  # fmt: skip
    start = copy.deepcopy(net)
    if batched:
        train_stacked([net], [data], [None], config)
    else:
        train_network(net, data, None, config)
    # by hand
    lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-7
    hand = copy.deepcopy(start)
    twin = copy.deepcopy(start)
    keras = KerasAdam([p for p in twin.parameters() if p.requires_grad], lr=lr, eps=eps)
    m = {n: torch.zeros_like(p) for n, p in hand.named_parameters()}
    v = {n: torch.zeros_like(p) for n, p in hand.named_parameters()}
    for t in (1, 2):
        grads = _grads(hand, data)
        assert "blocks.main.lstm1.bias_hh_l0" not in grads  # the second bias is not trained
        with torch.no_grad():
            for n, p in hand.named_parameters():
                if n not in grads:
                    continue
                m[n] = b1 * m[n] + (1 - b1) * grads[n]
                v[n] = b2 * v[n] + (1 - b2) * grads[n] ** 2
                lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
                p -= lr_t * m[n] / (v[n].sqrt() + eps)
        twin_grads = _grads(twin, data)
        for n, p in twin.named_parameters():
            p.grad = twin_grads.get(n)
        keras.step()
    for (n, a), (_, b), (_, c) in zip(
        net.named_parameters(), hand.named_parameters(), twin.named_parameters(), strict=True
    ):
        torch.testing.assert_close(a, b, atol=2e-6, rtol=1e-5, msg=n)
        torch.testing.assert_close(b, c, atol=1e-6, rtol=1e-6, msg=n)
    # the one bias moved; the held second bias did not
    lstm = net.block("main").lstm1
    assert torch.count_nonzero(lstm.bias_hh_l0) == 0
    assert not torch.equal(lstm.bias_ih_l0, start.block("main").lstm1.bias_ih_l0)


def test_keras_epsilon_placement_changes_small_gradient_steps():
    """With tiny gradients epsilon dominates: Keras's placement (epsilon
    3.2e-6 in PyTorch's form at step 1) and PyTorch's (1e-7) differ visibly."""
    from muvi.models.training import adam_optimiser, before_adam_step

    steps = {}
    for keras in (False, True):
        p = torch.nn.Parameter(torch.zeros(3))
        config = TrainingConfig(learning_rate=1.0, adam_epsilon=1e-7, keras_adam=keras)
        opt = adam_optimiser([[p]], config)
        p.grad = torch.full((3,), 1e-6)
        before_adam_step(opt, config)
        opt.step()
        steps[keras] = float(-p.detach()[0])
    # by hand, step 1: m_hat = g, sqrt(v_hat) = g
    g = 1e-6
    assert steps[False] == pytest.approx(g / (g + 1e-7), rel=1e-4)
    assert steps[True] == pytest.approx(
        math.sqrt(1 - 0.999) / 0.1 * 0.1 * g / (math.sqrt(0.001) * g + 1e-7), rel=1e-4
    )
    assert steps[True] < 0.8 * steps[False]


# --------------------------------------------------------------------------
# batched == one at a time under the reference-code profile, PAIR included
# --------------------------------------------------------------------------


def test_grid_batched_equals_one_at_a_time_under_the_reference_code_profile(study_factory):
    from muvi.models.folds import cv_folds
    from muvi.models.protocol import fit_grid_networks

    study = study_factory(n_items=12, seed=5)
    base = EvaluationConfig(
        experiments=(1, 6, 7),
        models=("lstm",),
        dimensions=("arousal",),
        block=BlockConfig(hidden=(16, 16)),
        training=TrainingConfig(max_epochs=4, patience=1, threads=1, learning_rate=1e-3),
    )
    config = profile_config("reference-code", base)
    assert config.block.hidden == (16, 8) and config.block.projection == 16
    assert config.training.batch_size_fusion == 512 and not config.training.restore_best
    folds = cv_folds(study.items)[:2]
    stacked = fit_grid_networks(study, config, folds)
    alone_config = replace(config, training=replace(config.training, batched=False))
    alone = fit_grid_networks(study, alone_config, folds)
    assert set(stacked) == set(alone) and len(stacked) == 2 * 4  # exp1, exp2, exp6, exp7
    lr, epochs = config.training.learning_rate, config.training.max_epochs
    for key, model in stacked.items():
        other = alone[key]
        assert model.history_.epochs == other.history_.epochs, key
        assert model.history_.best_epoch == other.history_.best_epoch, key
        assert model.history_.validation_loss == pytest.approx(
            other.history_.validation_loss, rel=1e-4, abs=1e-6
        )
        # Float32 sums in another order: equal to float tolerance, except that an
        # element whose gradient is a near-total cancellation (e.g. a ReLU unit of
        # A2's fusion layer active on a window or two) can take Adam's ~lr step
        # the other way; such elements are rare and bounded by Adam's step.
        mine = torch.cat([p.detach().reshape(-1) for p in model.net_.parameters()])
        theirs = torch.cat([p.detach().reshape(-1) for p in other.net_.parameters()])
        off = ~torch.isclose(mine, theirs, atol=2e-5, rtol=1e-4)
        assert int(off.sum()) <= mine.numel() // 1000, key
        assert float((mine - theirs).abs().max()) <= 2 * lr * epochs * 2, key
        # the last epoch is kept (restore_best False): the best is handed on for PAIR
        best = model.history_.best_state
        assert best is not None and other.history_.best_state is not None
        for n, b in best.items():
            assert torch.allclose(b, other.history_.best_state[n], atol=2e-5, rtol=1e-4)


def test_pair_starts_from_the_unimodal_models_best_epoch_when_not_restored():
    """The code scores its unimodal models' last epoch but saves the best one
    (ModelCheckpoint) for PAIR: with restore_best False, PAIR's blocks are the
    best epoch's weights kept in the history, not the last epoch's."""
    from muvi.models.lstm import LSTMRegressor, PairInitialisers, PairRegressor
    from muvi.models.training import TrainingHistory

    models = {}
    for s, width in (("audio", 7), ("visual", 5)):
        m = LSTMRegressor(s, SMALL_CODE)
        m.net_ = _perturbed(UnimodalNet(width, (s,), SMALL_CODE), seed=width)  # "last epoch"
        best = _perturbed(UnimodalNet(width, (s,), SMALL_CODE), seed=100 + width)
        m.history_ = TrainingHistory(
            best_state={k: v.detach().clone() for k, v in best.named_parameters()}
        )
        models[s] = (m, best)
    net = LateFusionNet({"audio": 7, "visual": 5}, SMALL_CODE)
    PairRegressor(
        PairInitialisers(models["audio"][0], models["visual"][0]), SMALL_CODE
    )._initialise(net)
    for s in ("audio", "visual"):
        model, best = models[s]
        for (k, a), (_, b), (_, last) in zip(
            net.block(s).state_dict().items(),
            best.block("main").state_dict().items(),
            model.net_.block("main").state_dict().items(),
            strict=True,
        ):
            assert torch.equal(a, b), k
            if "bias_hh" not in k:  # held at zero in both
                assert not torch.equal(a, last), k
        # the held second bias stays untrained in PAIR too
        assert not net.block(s).lstm1.bias_hh_l0.requires_grad


def test_batch_size_fusion_reaches_a2_and_pair_only():
    config = TrainingConfig(batch_size=256, batch_size_fusion=512)
    a2 = LateFusionNet({"audio": 3, "visual": 2}, BlockConfig(hidden=(4, 4)))
    uni = UnimodalNet(3, ("audio",), BlockConfig(hidden=(4, 4)))
    assert config.batch_size_for(a2) == 512 and config.batch_size_for(uni) == 256
    assert TrainingConfig().batch_size_for(a2) == 256
    # the number of Adam steps per epoch follows: 300 windows
    from muvi.models import batched as batched_module

    rows, positions = _rows(60, {"main": 5}, seed=9)
    two = WindowData({"audio": rows["main"], "visual": rows["main"]}, positions, torch.zeros(300))
    original = batched_module.before_adam_step
    for batch_fusion, expected_steps in ((None, 2), (100, 3), (30, 10)):
        calls: list[int] = []

        def counting(optimiser, cfg, _calls=calls):
            _calls.append(1)
            original(optimiser, cfg)

        batched_module.before_adam_step = counting
        try:
            seed_everything(0)
            fusion = LateFusionNet({"audio": 5, "visual": 5}, BlockConfig(hidden=(4, 4)))
            cfg = TrainingConfig(
                batch_size=256, batch_size_fusion=batch_fusion, max_epochs=1, threads=1
            )
            train_stacked([fusion], [two], [None], cfg)
        finally:
            batched_module.before_adam_step = original
        assert len(calls) == expected_steps, batch_fusion
