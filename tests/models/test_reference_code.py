"""The reference-code networks, initialisers, optimiser, stopping rule and defects.

Every expected value is worked out here independently: parameter counts from
the layer shapes of ``aux_files.py:modelBuilder_LSTM``/``modelBuilder_LSTM_sep``
(Keras counts ONE bias vector per LSTM: ``4 * (n_in*u + u*u + u)``), forward
passes from a hand-written numpy LSTM, the chunking from the arithmetic of
``j*111`` against ``k*114``, the PAIR leak from the real item list's folds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from keras_rebuild import (
    REFERENCE_CODE,
    KerasAdam,
    KerasLSTM,
    ReferenceCodeConfig,
    ReferenceLateFusionNet,
    ReferenceUnimodalNet,
    build_reference_network,
    early_stopping_outcome,
    layer_parameter_counts,
    reference_pair_net,
    torch_initialise,
)
from torch import nn

from muvi.models.folds import cv_folds
from muvi.models.reference_code import (
    ReproductionError,
    chunked_scores,
    chunked_windows,
    defect_notice,
    pair_leaked_items,
    pair_source_folds,
    parse_defects,
)

N_AUDIO = 988  # emobase columns the code keeps (docstring of modelBuilder_LSTM)
N_VISUAL = 37  # any visual width: the counts below are formulas of it


def lstm_count(n_in: int, u: int) -> int:
    """Keras: kernel n_in x 4u, recurrent kernel u x 4u, one bias of 4u."""
    return 4 * (n_in * u + u * u + u)


def dense_count(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def branch_counts(prefix: str, n_features: int) -> dict[str, int]:
    return {
        f"{prefix}.dense": dense_count(n_features, 256),
        f"{prefix}.lstm1": lstm_count(256, 256),
        f"{prefix}.lstm2": lstm_count(256, 128),
    }


# --- parameter counts ------------------------------------------------------------


def test_hand_counts_are_the_keras_numbers() -> None:
    # the two LSTM layers of the code, counted once more in plain arithmetic
    assert lstm_count(256, 256) == 4 * 256 * 256 * 2 + 4 * 256 == 525_312
    assert lstm_count(256, 128) == 4 * (256 * 128 + 128 * 128 + 128) == 197_120


@pytest.mark.parametrize(
    ("architecture", "n_audio", "n_visual", "expected"),
    [
        (
            "lstm",
            N_AUDIO,
            None,
            {**branch_counts("branch", N_AUDIO), "head": dense_count(128, 1)},
        ),
        (
            "lstm",
            None,
            N_VISUAL,
            {**branch_counts("branch", N_VISUAL), "head": dense_count(128, 1)},
        ),
        (
            "early_fusion",
            N_AUDIO,
            N_VISUAL,
            {**branch_counts("branch", N_AUDIO + N_VISUAL), "head": dense_count(128, 1)},
        ),
        (
            "late_fusion",
            N_AUDIO,
            N_VISUAL,
            {
                **branch_counts("audio", N_AUDIO),
                **branch_counts("visual", N_VISUAL),
                "fusion": dense_count(128 + 128, 256),
                "head": dense_count(256, 1),
            },
        ),
        (
            "pair",
            N_AUDIO,
            N_VISUAL,
            {
                **branch_counts("audio", N_AUDIO),
                **branch_counts("visual", N_VISUAL),
                "fusion": dense_count(256, 256),
                "head": dense_count(256, 1),
            },
        ),
    ],
)
def test_parameter_count_of_every_layer(
    architecture: str, n_audio: int | None, n_visual: int | None, expected: dict[str, int]
) -> None:
    net = build_reference_network(architecture, n_audio, n_visual)
    assert layer_parameter_counts(net) == expected
    # nothing else holds parameters (dropout, activations)
    assert sum(p.numel() for p in net.parameters()) == sum(expected.values())


def test_music_model_total_matches_keras_summary_arithmetic() -> None:
    # the music model of experiment 1: 988 -> 256 -> LSTM 256 -> LSTM 128 -> 1
    total = (988 * 256 + 256) + 525_312 + 197_120 + 129
    assert total == 975_745
    assert sum(p.numel() for p in ReferenceUnimodalNet(988).parameters()) == total


def test_pair_built_from_unimodal_models_has_the_a2_shape() -> None:
    torch.manual_seed(0)
    music, visual = ReferenceUnimodalNet(N_AUDIO), ReferenceUnimodalNet(N_VISUAL)
    pair = reference_pair_net(music, visual)
    expected = layer_parameter_counts(ReferenceLateFusionNet(N_AUDIO, N_VISUAL))
    assert layer_parameter_counts(pair) == expected


# --- forward pass against a hand-written numpy forward ------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def numpy_lstm(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray):
    """Keras's LSTM equations, gates i, f, c, o along the 4u axis; all steps."""
    u = recurrent.shape[0]
    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f = _sigmoid(z[:, :u]), _sigmoid(z[:, u : 2 * u])
        g, o = np.tanh(z[:, 2 * u : 3 * u]), _sigmoid(z[:, 3 * u :])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def _randomise(net: nn.Module, seed: int) -> None:
    """Fixed weights unlike any initialiser (biases non-zero too)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def numpy_branch(x: np.ndarray, branch: nn.Module) -> np.ndarray:
    projected = x @ _np(branch.dense.weight).T + _np(branch.dense.bias)  # linear: no activation
    seq = numpy_lstm(
        projected,
        _np(branch.lstm1.kernel),
        _np(branch.lstm1.recurrent_kernel),
        _np(branch.lstm1.bias),
    )
    last = numpy_lstm(
        seq, _np(branch.lstm2.kernel), _np(branch.lstm2.recurrent_kernel), _np(branch.lstm2.bias)
    )
    return last[:, -1]


def test_unimodal_forward_equals_hand_written_numpy() -> None:
    net = ReferenceUnimodalNet(6, ReferenceCodeConfig(projection=5, hidden=(4, 3))).double()
    _randomise(net, 1)
    net.eval()  # dropout off, as Keras's predict/evaluate
    x = np.random.default_rng(2).normal(size=(7, 4, 6))
    expected = np.tanh(numpy_branch(x, net.branch) @ _np(net.head.weight).T + _np(net.head.bias))
    got = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_late_fusion_forward_equals_hand_written_numpy() -> None:
    config = ReferenceCodeConfig(projection=5, hidden=(4, 3), fusion_units=6)
    net = ReferenceLateFusionNet(6, 2, config).double()
    _randomise(net, 3)
    net.eval()
    rng = np.random.default_rng(4)
    xa, xv = rng.normal(size=(5, 4, 6)), rng.normal(size=(5, 4, 2))
    joined = np.concatenate([numpy_branch(xa, net.audio), numpy_branch(xv, net.visual)], axis=1)
    hidden = np.maximum(joined @ _np(net.fusion.weight).T + _np(net.fusion.bias), 0.0)
    expected = np.tanh(hidden @ _np(net.head.weight).T + _np(net.head.bias))
    got = net(torch.from_numpy(xa), torch.from_numpy(xv)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_projection_is_linear_unless_relu_is_asked_for() -> None:
    x = torch.randn(3, 4, 6, dtype=torch.float64)
    linear = ReferenceUnimodalNet(6, ReferenceCodeConfig(hidden=(4, 3))).double().eval()
    relu = ReferenceUnimodalNet(
        6, ReferenceCodeConfig(hidden=(4, 3), projection_activation="relu")
    ).double()
    relu.load_state_dict(linear.state_dict())
    relu.eval()
    assert not torch.allclose(linear(x), relu(x))


def test_keras_layout_maps_onto_torch_lstm_gate_order() -> None:
    torch.manual_seed(5)
    keras = KerasLSTM(3, 4, return_sequences=True).double()
    _randomise(keras, 6)
    reference = nn.LSTM(3, 4, batch_first=True).double()
    reference.load_state_dict(keras.torch_weights())
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    expected, _ = reference(x)
    torch.testing.assert_close(keras(x), expected)


def test_pair_starts_from_the_unimodal_branches_and_a_fresh_head() -> None:
    torch.manual_seed(7)
    config = ReferenceCodeConfig(projection=5, hidden=(4, 3))
    music, visual = ReferenceUnimodalNet(6, config), ReferenceUnimodalNet(2, config)
    _randomise(music, 8)
    _randomise(visual, 9)
    pair = reference_pair_net(music, visual, config)
    for module in (music, visual, pair):
        module.eval()
    xa, xv = torch.randn(3, 4, 6), torch.randn(3, 4, 2)
    torch.testing.assert_close(pair.audio(xa), music.branch(xa))
    torch.testing.assert_close(pair.visual(xv), visual.branch(xv))
    assert torch.count_nonzero(pair.fusion.bias) == 0  # new layer, Keras's zero bias
    # copies: fine-tuning PAIR leaves the unimodal models as they were
    with torch.no_grad():
        pair.audio.lstm1.kernel.add_(1.0)
    assert not torch.allclose(pair.audio.lstm1.kernel, music.branch.lstm1.kernel)


# --- initialisers --------------------------------------------------------------------


def test_keras_initialiser_statistics() -> None:
    torch.manual_seed(11)
    net = ReferenceUnimodalNet(988)
    dense, lstm1 = net.branch.dense, net.branch.lstm1
    # Glorot-uniform on the dense kernel (988 -> 256): inside the bound, variance limit^2/3
    limit = math.sqrt(6 / (988 + 256))
    w = dense.weight.detach()
    assert float(w.abs().max()) <= limit
    assert float(w.abs().max()) > 0.99 * limit
    assert float(w.var()) == pytest.approx(limit**2 / 3, rel=0.02)
    assert torch.count_nonzero(dense.bias) == 0
    # LSTM kernel (256 x 1024): Glorot over the whole kernel's shape
    k_limit = math.sqrt(6 / (256 + 4 * 256))
    k = lstm1.kernel.detach()
    assert float(k.abs().max()) <= k_limit
    assert float(k.var()) == pytest.approx(k_limit**2 / 3, rel=0.02)
    # recurrent kernel (256 x 1024): ONE orthogonal draw, rows orthonormal ...
    r = lstm1.recurrent_kernel.detach().double()
    torch.testing.assert_close(r @ r.T, torch.eye(256, dtype=torch.float64), atol=1e-5, rtol=0)
    # ... so a single gate's block is not orthogonal (its rows have norm about 1/2)
    block = r[:, :256]
    assert float((block @ block.T).diagonal().mean()) == pytest.approx(0.25, abs=0.05)
    # bias: zero, forget-gate quarter 1
    b = lstm1.bias.detach()
    assert torch.equal(b[256:512], torch.ones(256))
    assert torch.count_nonzero(b[:256]) == 0 and torch.count_nonzero(b[512:]) == 0
    # in PyTorch's layout the recurrent weight has orthonormal columns
    w_hh = lstm1.torch_weights()["weight_hh_l0"].double()
    torch.testing.assert_close(
        w_hh.T @ w_hh, torch.eye(256, dtype=torch.float64), atol=1e-5, rtol=0
    )


def test_torch_initialiser_variant_uses_pytorch_bounds() -> None:
    torch.manual_seed(12)
    net = ReferenceUnimodalNet(20, ReferenceCodeConfig(keras_init=False)).requires_grad_(False)
    bound = 1 / math.sqrt(256)
    assert float(net.branch.lstm1.recurrent_kernel.abs().max()) <= bound
    assert float(net.branch.lstm1.bias.abs().max()) <= 2 * bound
    assert torch.count_nonzero(net.branch.lstm1.bias) > 0  # no Keras zero/one bias
    torch_initialise(net)  # idempotent in kind
    assert float(net.branch.lstm1.kernel.abs().max()) <= bound


# --- optimiser and early stopping -----------------------------------------------------


def test_keras_adam_first_and_second_steps_by_hand() -> None:
    lr, b1, b2, eps = 1e-4, 0.9, 0.999, 1e-7
    p = nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    opt = KerasAdam([p], lr=lr, eps=eps)
    grads = [0.3, -0.1]
    m = v = 0.0
    x = 0.5
    for t, g in enumerate(grads, start=1):
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x -= lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (math.sqrt(v) + eps)
        assert float(p.detach()) == pytest.approx(x, abs=1e-15)


def test_keras_epsilon_equals_a_larger_torch_epsilon_at_step_one() -> None:
    g = torch.tensor([2e-6], dtype=torch.float64)  # tiny gradient: epsilon matters
    a = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    b = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    keras, reference = (
        KerasAdam([a], lr=1e-4, eps=1e-7),
        torch.optim.Adam([b], lr=1e-4, eps=1e-7 / math.sqrt(1 - 0.999)),
    )
    a.grad, b.grad = g.clone(), g.clone()
    keras.step()
    reference.step()
    torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-12, atol=0)
    plain = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    plain.grad = g.clone()
    torch.optim.Adam([plain], lr=1e-4, eps=1e-7).step()
    assert abs(float(plain.detach())) > abs(float(a.detach()))  # not the same as torch's eps=1e-7


def test_early_stopping_scores_the_last_epoch_seven_past_the_best() -> None:
    losses = [1.0, 0.8, 0.6, 0.5] + [0.5, 0.7, 0.6, 0.55, 0.9, 0.51, 0.52] + [0.1] * 5
    out = early_stopping_outcome(losses, patience=7)
    # best at epoch 3 (0.5; the tie at epoch 4 is not an improvement); 7 more epochs
    assert (out.best_epoch, out.epochs_run, out.scored_epoch) == (3, 11, 10)
    assert early_stopping_outcome(losses, patience=7, restore_best=True).scored_epoch == 3


def test_early_stopping_at_the_epoch_limit_keeps_the_last_epoch() -> None:
    losses = list(np.linspace(1.0, 0.1, 100))
    out = early_stopping_outcome(losses, patience=7)
    assert (out.epochs_run, out.best_epoch, out.scored_epoch) == (100, 99, 99)


# --- defect (b): chunked scoring --------------------------------------------------------


def test_chunking_hand_worked_small_example() -> None:
    # 3 items x 5 windows scored in chunks of 4: int(15 / 4) = 3 chunks, windows 0..11
    chunks, unscored = chunked_windows(3, windows_per_item=5, chunk=4)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 12)]
    assert [c.parts for c in chunks] == [
        ((0, 0, 4),),  # item 0, windows 0-3
        ((0, 4, 5), (1, 0, 3)),  # item 0's last window + item 1's first three
        ((1, 3, 5), (2, 0, 2)),  # item 1's last two + item 2's first two
    ]
    assert [c.mixed for c in chunks] == [False, True, True]
    assert unscored == [(2, 2), (2, 3), (2, 4)]  # item 2's last three never scored


def test_chunk_scores_by_hand() -> None:
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2], dtype=float)
    p = np.zeros(15)
    rows = chunked_scores(y, p, ["a", "b", "c"], windows_per_item=5, chunk=4)
    assert [r["media_id"] for r in rows] == ["a", "b", "c"]  # chunk j reported as item j
    # chunk 1 = y[4:8] = 0,1,1,1 -> MSE 3/4; chunk 2 = y[8:12] = 1,1,2,2 -> MSE 10/4
    assert [r["error"] for r in rows] == [0.0, 0.75, 2.5]
    assert rows[2]["items"] == ["b", "c"]
    assert rows[1]["error"] != pytest.approx(1.0)  # item b's own MSE would be 1.0
    rmse = chunked_scores(y, p, ["a", "b", "c"], windows_per_item=5, chunk=4, metric="rmse")
    assert rmse[2]["error"] == pytest.approx(math.sqrt(2.5))


@pytest.mark.parametrize(("n_items", "lost"), [(9, 27), (8, 24)])
def test_chunking_with_the_codes_numbers(n_items: int, lost: int) -> None:
    chunks, unscored = chunked_windows(n_items)  # 114 windows per item, chunks of 111
    assert len(chunks) == n_items  # as many "items" as items: nothing looks wrong
    assert len(unscored) == lost == 3 * n_items
    assert {item for item, _ in unscored} == {n_items - 1}  # all from the last item
    assert [k for _, k in unscored] == list(range(114 - lost, 114))
    # chunk j holds item j-1's last 3j windows and item j's first 111-3j
    for j in range(1, n_items):
        assert chunks[j].parts == ((j - 1, 114 - 3 * j, 114), (j, 0, 111 - 3 * j))
    assert sum(c.mixed for c in chunks) == n_items - 1


def test_chunked_scores_rejects_wrong_lengths() -> None:
    with pytest.raises(ReproductionError, match="expected 2 items x 114 windows"):
        chunked_scores(np.zeros(200), np.zeros(200), ["a", "b"])


# --- defect (a): the PAIR leak ----------------------------------------------------------


def test_pair_leak_on_the_real_folds(muvi_dir) -> None:
    items = (muvi_dir / "video_urls.csv").read_text().split()[1:]
    folds = cv_folds(items)
    assert [len(f.test) for f in folds] == [9, 8, 8, 8, 8]
    leaked = pair_leaked_items(folds, leak=True)
    # every PAIR test item of folds 0-3 trained the last fold's unimodal models
    assert [len(x) for x in leaked] == [9, 8, 8, 8, 0]
    assert sum(len(x) for x in leaked) == 33
    assert all(set(x) == set(f.test) for x, f in zip(leaked[:4], folds[:4], strict=True))
    assert pair_leaked_items(folds, leak=False) == [[], [], [], [], []]


def test_pair_source_folds() -> None:
    assert pair_source_folds(3, leak=False) == [0, 1, 2]
    assert pair_source_folds(3, leak=True) == [2, 2, 2]
    with pytest.raises(ReproductionError):
        pair_source_folds(0, leak=True)


# --- configuration ---------------------------------------------------------------------


def test_batch_sizes_per_architecture() -> None:
    sizes = {
        a: REFERENCE_CODE.batch_size(a) for a in ("lstm", "early_fusion", "late_fusion", "pair")
    }
    assert sizes == {"lstm": 256, "early_fusion": 256, "late_fusion": 512, "pair": 512}
    with pytest.raises(ReproductionError, match="unknown architecture"):
        REFERENCE_CODE.batch_size("a3")


def test_code_defaults() -> None:
    c = REFERENCE_CODE
    assert (c.projection, c.projection_activation, c.hidden, c.dropout) == (
        256,
        None,
        (256, 128),
        0.2,
    )
    assert (c.adam_epsilon, c.learning_rate, c.restore_best, c.patience, c.metric) == (
        1e-7,
        1e-4,
        False,
        7,
        "mse",
    )


def test_defect_names() -> None:
    assert parse_defects("pair-leak, chunked-scoring") == {"pair-leak", "chunked-scoring"}
    assert parse_defects("") == frozenset()
    with pytest.raises(ReproductionError, match="unknown defect 'leak'"):
        parse_defects("leak")
    notice = defect_notice(["chunked-scoring"])
    assert "chunked-scoring" in notice and "pair-leak" not in notice
    with pytest.raises(ReproductionError):
        ReferenceCodeConfig(metric="mae")
