"""LSTM blocks, the study's architectures and their scikit-learn style estimators.

- :class:`LSTMBlock`: two stacked LSTM layers (paper: 256 and 256 units,
  dropout 0.2 after each); the authors' code adds a per-step linear dense
  projection before the LSTMs and has 128 units in the second layer
  (:data:`REFERENCE_CODE_BLOCK`, the ``reference-code`` profile of
  :mod:`muvi.models.profiles`).
- :class:`UnimodalNet`: a block, then dense(1) and tanh. A1 early fusion is the
  same net whose input is the per-step concatenation of audio and visual rows.
- :class:`LateFusionNet` (A2): one block per modality, outputs concatenated,
  dense 256 ReLU, dense 1 tanh. PAIR is A2 whose blocks start from the
  weights of the fold's unimodal music (audio) and visual models.

Estimators (:class:`LSTMRegressor`, :class:`EarlyFusionRegressor`,
:class:`LateFusionRegressor`, :class:`PairRegressor`) take a
:class:`muvi.models.windows.SeriesSet`, scale its features with statistics of
the training items, and train with :func:`muvi.models.training.train_network`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, cast

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from muvi.models.recurrence import stacked_two_layer_lstm, two_layer_lstm
from muvi.models.reference_code import ReproductionError, keras_dense_init, keras_orthogonal_
from muvi.models.stacking import StackedDropout, baddbmm, gather_rows, sub_params
from muvi.models.training import (
    TrainingConfig,
    TrainingHistory,
    WindowData,
    predict_windows,
    seed_everything,
    train_network,
)
from muvi.models.windows import (
    HISTORY,
    MinMaxScaling,
    SeriesSet,
    scaling_samples,
    window_positions,
)

PROJECTION_ACTIVATIONS: tuple[str | None, ...] = (None, "relu")
"""Activations of the optional per-step dense projection: None (linear, the
authors' code) or ``"relu"`` (muvi's earlier ``--block reference``)."""
INITIALISERS = ("muvi", "keras")
"""``muvi``: LSTMs Keras-like (Glorot-uniform input weights, orthogonal
recurrent weights per gate, forget-gate bias 1), dense layers PyTorch's
default; ``keras``: Keras's defaults exactly on every layer (the code's)."""


@dataclass(frozen=True)
class BlockConfig:
    """An LSTM block's shape and parameterisation; the defaults are the paper's
    (the paper states no initialiser: muvi's choice is the default).

    Attributes:
        hidden: units of the two stacked LSTM layers (paper: 256, 256; the
            authors' code: 256, 128).
        dropout: dropout after each LSTM layer (paper and code: 0.2).
        projection: units of a per-step dense layer before the LSTMs (None in
            the paper; 256 in the authors' code).
        projection_activation: that layer's activation: None, linear (the
            code: Keras's ``Dense`` default), or ``"relu"`` (what muvi's
            earlier ``--block reference`` did; bundles saved with it still
            load as such).
        initialisers: ``"muvi"`` (default: Keras-like LSTMs with a per-gate
            orthogonal recurrent draw, PyTorch's default dense layers) or
            ``"keras"`` (the code: Keras's defaults on every layer, i.e.
            Glorot-uniform dense kernels and zero biases, Glorot-uniform LSTM
            kernels, ONE orthogonal draw for the whole recurrent kernel,
            zero LSTM bias with 1 on the forget gate).
        single_bias: Keras's one bias vector per LSTM (the code): PyTorch's
            second bias ``bias_hh`` is held at zero and never trained, so the
            trainable parameters per LSTM are ``4h(n_in + h + 1)`` and Adam
            moves the one bias as Keras does (with two trained biases their
            sum moves twice as fast). Default False (PyTorch's two biases).
    """

    hidden: tuple[int, int] = (256, 256)
    dropout: float = 0.2
    projection: int | None = None
    projection_activation: str | None = None
    initialisers: str = "muvi"
    single_bias: bool = False

    def __post_init__(self) -> None:
        if self.projection_activation not in PROJECTION_ACTIVATIONS:
            raise ReproductionError(
                f"projection_activation must be None or 'relu', not {self.projection_activation!r}"
            )
        if self.initialisers not in INITIALISERS:
            raise ReproductionError(
                f"initialisers must be {' or '.join(INITIALISERS)}, not {self.initialisers!r}"
            )


PAPER_BLOCK = BlockConfig()
REFERENCE_CODE_BLOCK = BlockConfig(
    hidden=(256, 128), projection=256, projection_activation=None, initialisers="keras",
    single_bias=True,
)  # fmt: skip
"""The authors' code's block: linear per-step dense 256, LSTM 256, LSTM 128,
Keras's initialisers and one bias per LSTM (docs/reference_code.md, section 4)."""
RELU_REFERENCE_BLOCK = BlockConfig(hidden=(256, 128), projection=256, projection_activation="relu")
"""muvi's earlier ``--block reference`` (ReLU projection; reproduces neither the
paper nor the code). Kept so that bundles saved with it load and predict."""
FUSION_UNITS: int = 256
"""Units of A2's dense layer after the concatenated block outputs."""


def _keras_like_init(lstm: nn.LSTM) -> None:
    """Keras' LSTM defaults: Glorot-uniform input weights, orthogonal
    recurrent weights, zero bias except 1 for the forget gate (muvi's
    default: the recurrent weights orthogonal per gate block)."""
    hidden = lstm.hidden_size
    w_ih, w_hh, b_ih, b_hh = (
        _weight(lstm, n) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    )
    with torch.no_grad():
        nn.init.xavier_uniform_(w_ih)
        for gate in range(4):  # orthogonal per gate block
            nn.init.orthogonal_(w_hh[gate * hidden : (gate + 1) * hidden])
        b_ih.zero_()
        b_hh.zero_()
        b_ih[hidden : 2 * hidden] = 1.0


def _keras_exact_init(lstm: nn.LSTM) -> None:
    """Keras's LSTM defaults exactly, in PyTorch's layout: the kernel
    ``(n_in, 4h)`` Glorot-uniform (``weight_ih = kernel.T``), ONE orthogonal
    draw for the whole ``(h, 4h)`` recurrent kernel (``weight_hh = its
    transpose``), bias zero with 1 on the forget-gate quarter, in ``bias_ih``
    (``bias_hh`` zero)."""
    hidden = lstm.hidden_size
    w_ih, w_hh, b_ih, b_hh = (
        _weight(lstm, n) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    )
    with torch.no_grad():
        nn.init.xavier_uniform_(w_ih)  # symmetric in fan-in/fan-out: Keras's limit
        recurrent = torch.empty(hidden, 4 * hidden)
        keras_orthogonal_(recurrent)
        w_hh.copy_(recurrent.t())
        b_ih.zero_()
        b_hh.zero_()
        b_ih[hidden : 2 * hidden] = 1.0


def initialise_dense(layer: nn.Linear, config: BlockConfig) -> None:
    """A dense layer's initial weights under ``config.initialisers``: Keras's
    Glorot-uniform kernel and zero bias (``keras``), or PyTorch's default
    as constructed (``muvi``)."""
    if config.initialisers == "keras":
        keras_dense_init(layer)


def _hold_single_bias(lstm: nn.LSTM) -> None:
    """Keras's one bias per LSTM: ``bias_hh`` zero and not trained."""
    b_hh = _weight(lstm, "bias_hh_l0")
    with torch.no_grad():
        _weight(lstm, "bias_ih_l0").add_(b_hh)
        b_hh.zero_()
    b_hh.requires_grad_(False)


def _dropout_mask(like: torch.Tensor, shape: tuple[int, ...], keep: float) -> torch.Tensor:
    """Inverted-dropout mask: 1 / keep with probability ``keep``, else 0 (as ``nn.Dropout``)."""
    uniform = torch.rand(shape, dtype=like.dtype, device=like.device)
    return (uniform < keep).to(like.dtype).div_(keep)


def _weight(lstm: nn.LSTM, name: str) -> torch.Tensor:
    """A parameter of a one-layer ``nn.LSTM`` (``weight_ih_l0``, ...), typed."""
    return cast(torch.Tensor, getattr(lstm, name))


class LSTMBlock(nn.Module):
    """Two stacked LSTM layers with dropout after each, reading a window of rows.

    Args:
        n_features: feature columns per row.
        config: the block's shape.

    Examples:
        >>> block = LSTMBlock(5, BlockConfig(hidden=(8, 6)))
        >>> block(torch.zeros(3, 4, 5)).shape
        torch.Size([3, 6])
    """

    def __init__(self, n_features: int, config: BlockConfig = PAPER_BLOCK) -> None:
        super().__init__()
        self.config = config
        self.projection = (
            nn.Linear(n_features, config.projection) if config.projection is not None else None
        )
        first_input = config.projection if config.projection is not None else n_features
        self.lstm1 = nn.LSTM(first_input, config.hidden[0], batch_first=True)
        self.lstm2 = nn.LSTM(config.hidden[0], config.hidden[1], batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.output_size = config.hidden[1]
        lstm_init = _keras_exact_init if config.initialisers == "keras" else _keras_like_init
        lstm_init(self.lstm1)
        lstm_init(self.lstm2)
        if self.projection is not None:
            initialise_dense(self.projection, config)
        if config.single_bias:
            _hold_single_bias(self.lstm1)
            _hold_single_bias(self.lstm2)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        """The per-step dense projection (when configured) and its activation."""
        if self.projection is None:
            return x
        x = self.projection(x)
        return torch.relu(x) if self.config.projection_activation == "relu" else x

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """The straightforward path: (batch, history, n_features) -> (batch, hidden[1])."""
        out, _ = self.lstm1(self._project(windows))
        out, _ = self.lstm2(self.dropout(out))
        return self.dropout(out[:, -1])

    def row_gates(self, rows: torch.Tensor) -> torch.Tensor:
        """Everything of the first layer that depends on one row only.

        Args:
            rows: (n_rows, n_features).

        Returns:
            (n_rows, 4 * hidden[0]): ``W_ih x + b_ih + b_hh`` (after the dense
            projection when configured), in PyTorch's gate order i, f, g, o.
        """
        x = self._project(rows)
        lstm = self.lstm1
        bias = _weight(lstm, "bias_ih_l0") + _weight(lstm, "bias_hh_l0")
        return nn.functional.linear(x, _weight(lstm, "weight_ih_l0"), bias)

    def forward_gates(self, gates: torch.Tensor) -> torch.Tensor:
        """The rest of the block from precomputed row gates.

        Args:
            gates: (history, batch, 4 * hidden[0]) from :meth:`row_gates`,
                time-major (step first).

        Returns:
            (batch, hidden[1]), equal to :meth:`forward` on the same windows
            (computed by :func:`muvi.models.recurrence.two_layer_lstm`).
        """
        steps, batch, _ = gates.shape
        mask1 = mask2 = None
        p = self.config.dropout
        if self.training and p > 0:  # inverted dropout, as nn.Dropout
            keep = 1.0 - p
            h1, h2 = self.config.hidden
            mask1 = _dropout_mask(gates, (steps, batch, h1), keep)
            mask2 = _dropout_mask(gates, (batch, h2), keep)
        lstm2 = self.lstm2
        return two_layer_lstm(
            gates,
            _weight(self.lstm1, "weight_hh_l0"),
            _weight(lstm2, "weight_ih_l0"),
            _weight(lstm2, "weight_hh_l0"),
            _weight(lstm2, "bias_ih_l0") + _weight(lstm2, "bias_hh_l0"),
            mask1,
            mask2,
        )

    def stacked_inputs(
        self, p: dict[str, torch.Tensor], x: torch.Tensor, dtype: torch.dtype
    ) -> torch.Tensor:
        """:meth:`row_gates` for a stack of networks of this block's shape.

        Args:
            p: the stacked parameters of the block (names as in its
                ``state_dict``, each with a leading network axis).
            x: (networks, rows, n_features) feature rows.
            dtype: precision of the matrix products.

        Returns:
            (networks, rows, 4 * hidden[0]).
        """
        if self.projection is not None:
            x = baddbmm(p["projection.bias"], x, p["projection.weight"], dtype)
            if self.config.projection_activation == "relu":
                x = torch.relu(x)
        bias = p["lstm1.bias_ih_l0"] + p["lstm1.bias_hh_l0"]
        return baddbmm(bias, x, p["lstm1.weight_ih_l0"], dtype)

    def stacked_forward_gates(
        self,
        p: dict[str, torch.Tensor],
        gates: torch.Tensor,
        dropout: StackedDropout | None,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        """:meth:`forward_gates` for a stack of networks.

        Args:
            p: the block's stacked parameters.
            gates: (networks, steps, batch, 4 * hidden[0]) from :meth:`stacked_inputs`.
            dropout: the networks' dropout streams (None: no dropout, eval mode).
            dtype: precision of the matrix products.

        Returns:
            (networks, batch, hidden[1]).
        """
        n, steps, batch, _ = gates.shape
        mask1 = mask2 = None
        rate = self.config.dropout
        if dropout is not None and rate > 0:
            keep = 1.0 - rate
            h1, h2 = self.config.hidden
            mask1 = dropout.sequence_mask(steps, h1, keep)
            mask2 = dropout.last_mask(h2, keep)
        return stacked_two_layer_lstm(
            gates,
            p["lstm1.weight_hh_l0"],
            p["lstm2.weight_ih_l0"],
            p["lstm2.weight_hh_l0"],
            p["lstm2.bias_ih_l0"] + p["lstm2.bias_hh_l0"],
            mask1,
            mask2,
            dtype,
        )


class WindowNet(nn.Module):
    """A net made of named LSTM blocks, each reading a concatenation of feature sets.

    Attributes:
        blocks: block name -> :class:`LSTMBlock`.
        block_inputs: block name -> the feature sets concatenated per step as its input.
    """

    blocks: nn.ModuleDict
    block_inputs: dict[str, tuple[str, ...]]
    late_fusion: ClassVar[bool] = False
    """True for A2 and PAIR (``TrainingConfig.batch_size_fusion`` applies)."""

    def block(self, name: str) -> LSTMBlock:
        """The block called ``name``."""
        return cast(LSTMBlock, self.blocks[name])

    def forward_gates(self, gates: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, windows: dict[str, torch.Tensor]) -> torch.Tensor:
        """Straightforward path: block name -> (batch, history, n_features)."""
        raise NotImplementedError

    def forward_rows(self, rows: dict[str, torch.Tensor], positions: torch.Tensor) -> torch.Tensor:
        """The fast forward of one net from feature rows and window positions.

        Args:
            rows: block name -> (n_rows, n_features) feature rows.
            positions: (batch, history) row positions of each window.

        Returns:
            (batch,) predictions. The rows of the windows are gathered
            time-major and projected by one matrix product per block.
        """
        gates = {name: self.block(name).row_gates(rows[name][positions.T]) for name in self.blocks}
        return self.forward_gates(gates)

    def predict_rows(
        self, rows: dict[str, torch.Tensor], positions: torch.Tensor, batch_size: int = 8192
    ) -> torch.Tensor:
        """Predictions for every window, each row's first-layer projection
        computed once and shared by the (up to 4) windows that contain it.

        Args:
            rows: block name -> (n_rows, n_features).
            positions: (n_windows, history).
            batch_size: windows per recurrence call (memory bound).

        Returns:
            (n_windows,).
        """
        row_gates = {name: self.block(name).row_gates(rows[name]) for name in self.blocks}
        out = [
            self.forward_gates(
                {k: g[positions[s : s + batch_size].T] for k, g in row_gates.items()}
            )
            for s in range(0, int(positions.shape[0]), batch_size)
        ]
        if not out:
            return torch.zeros(0, device=positions.device)
        return torch.cat(out)

    def stacked_head(
        self, params: dict[str, torch.Tensor], outputs: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """The layers after the blocks, for a stack: block outputs
        (networks, batch, hidden) -> (networks, batch) predictions."""
        raise NotImplementedError

    def stacked_forward(
        self,
        params: dict[str, torch.Tensor],
        rows: dict[str, torch.Tensor],
        data_index: torch.Tensor,
        positions: torch.Tensor,
        dropout: StackedDropout | None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Training forward of a stack of networks shaped like this one, from
        feature rows and window positions (the net's fast path; training code
        never sees the blocks' gates).

        Args:
            params: parameter name (as in ``named_parameters``) -> the stacked
                parameters, (networks, ...).
            rows: block name -> (datasets, rows, n_features) feature rows.
            data_index: (networks,) the dataset each network reads.
            positions: (networks, history, batch) row positions of each
                network's windows (time-major within a network).
            dropout: the networks' dropout streams, or None (no dropout).
            dtype: precision of the matrix products.

        Returns:
            (networks, batch) predictions.
        """
        outputs = {}
        for name in self.blocks:
            block = self.block(name)
            p = sub_params(params, f"blocks.{name}.")
            x = gather_rows(rows[name], data_index, positions)
            n, steps, batch, width = x.shape
            gates = block.stacked_inputs(p, x.reshape(n, steps * batch, width), dtype)
            gates = gates.view(n, steps, batch, -1)
            outputs[name] = block.stacked_forward_gates(p, gates, dropout, dtype)
        return self.stacked_head(params, outputs)

    def stacked_predict(
        self,
        params: dict[str, torch.Tensor],
        rows: dict[str, torch.Tensor],
        positions: torch.Tensor,
        dtype: torch.dtype = torch.float32,
        chunk: int = 32768,
    ) -> torch.Tensor:
        """Eval-mode predictions of a stack for every window: each feature
        row's first-layer projection is computed once and shared by the
        windows that contain it.

        Args:
            params: the stacked parameters.
            rows: block name -> (networks, rows, n_features), each network's rows.
            positions: (networks, history, windows) row positions.
            dtype: precision of the matrix products.
            chunk: windows x networks per batched recurrence (memory bound).

        Returns:
            (networks, windows).
        """
        n, _, n_windows = positions.shape
        row_gates = {
            name: self.block(name).stacked_inputs(
                sub_params(params, f"blocks.{name}."), rows[name], dtype
            )
            for name in self.blocks
        }
        net_index = torch.arange(n, device=positions.device)
        step = max(1, chunk // max(n, 1))
        out = []
        for s in range(0, n_windows, step):
            pos = positions[:, :, s : s + step]
            outputs = {
                name: self.block(name).stacked_forward_gates(
                    sub_params(params, f"blocks.{name}."),
                    gather_rows(g, net_index, pos),
                    None,
                    dtype,
                )
                for name, g in row_gates.items()
            }
            out.append(self.stacked_head(params, outputs))
        if not out:
            return torch.zeros(n, 0, device=positions.device)
        return torch.cat(out, dim=1)


class UnimodalNet(WindowNet):
    """One block, dense(1), tanh: the unimodal model, and A1 early fusion when
    its input is several feature sets concatenated per step."""

    def __init__(
        self, n_features: int, inputs: tuple[str, ...], config: BlockConfig = PAPER_BLOCK
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict({"main": LSTMBlock(n_features, config)})
        self.block_inputs = {"main": inputs}
        self.head = nn.Linear(config.hidden[1], 1)
        initialise_dense(self.head, config)

    def forward_gates(self, gates: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tanh(self.head(self.block("main").forward_gates(gates["main"]))).squeeze(-1)

    def forward(self, windows: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tanh(self.head(self.block("main")(windows["main"]))).squeeze(-1)

    def stacked_head(
        self, params: dict[str, torch.Tensor], outputs: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        out = baddbmm(params["head.bias"], outputs["main"], params["head.weight"], torch.float32)
        return torch.tanh(out).squeeze(-1)


class LateFusionNet(WindowNet):
    """A2: a block per feature set, concatenated, dense 256 ReLU, dense 1 tanh."""

    late_fusion = True

    def __init__(self, n_features: dict[str, int], config: BlockConfig = PAPER_BLOCK) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict({k: LSTMBlock(n, config) for k, n in n_features.items()})
        self.block_inputs = {k: (k,) for k in n_features}
        width = config.hidden[1] * len(n_features)
        self.fusion = nn.Linear(width, FUSION_UNITS)
        self.head = nn.Linear(FUSION_UNITS, 1)
        initialise_dense(self.fusion, config)
        initialise_dense(self.head, config)

    def _fuse(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        joined = torch.relu(self.fusion(torch.cat(outputs, dim=1)))
        return torch.tanh(self.head(joined)).squeeze(-1)

    def forward_gates(self, gates: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._fuse([self.block(k).forward_gates(gates[k]) for k in self.blocks])

    def forward(self, windows: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._fuse([self.block(k)(windows[k]) for k in self.blocks])

    def stacked_head(
        self, params: dict[str, torch.Tensor], outputs: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        joined = torch.cat([outputs[k] for k in self.blocks], dim=-1)
        fused = torch.relu(
            baddbmm(params["fusion.bias"], joined, params["fusion.weight"], torch.float32)
        )
        out = baddbmm(params["head.bias"], fused, params["head.weight"], torch.float32)
        return torch.tanh(out).squeeze(-1)


# --------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------


class SequenceRegressor(BaseEstimator):  # type: ignore[misc]
    """Shared machinery of the LSTM estimators, following scikit-learn's conventions.

    The constructor stores its arguments as given (``training=None`` means the
    paper's :class:`TrainingConfig` defaults, resolved when used), so
    ``get_params``/``set_params`` mirror it and ``sklearn.base.clone`` gives an
    unfitted copy. Subclasses set ``architecture`` and build their net in
    ``_build``. Learned state lives in attributes ending in ``_``:
    ``scalers_`` (feature set -> :class:`MinMaxScaling`), ``feature_names_``
    (feature set -> columns), ``training_`` (the training configuration used,
    ``precision="auto"`` resolved), ``net_`` and ``history_``.
    """

    architecture: ClassVar[str] = ""
    FEATURE_SETS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        block: BlockConfig = PAPER_BLOCK,
        training: TrainingConfig | None = None,
        history: int = HISTORY,
    ) -> None:
        self.block = block
        self.training = training
        self.history = history

    @property
    def feature_sets(self) -> tuple[str, ...]:
        """The feature sets the model reads."""
        return self.FEATURE_SETS

    def training_config(self) -> TrainingConfig:
        """The training configuration in use: the fitted ``training_``, else
        ``training``, else the paper's defaults."""
        fitted = getattr(self, "training_", None)
        if fitted is not None:
            return cast(TrainingConfig, fitted)
        return self.training if self.training is not None else TrainingConfig()

    def manifest_params(self) -> dict[str, Any]:
        """The hyper-parameters as plain JSON values (what a bundle's manifest stores)."""
        return {
            "block": asdict(self.block),
            "training": asdict(self.training_config()),
            "history": self.history,
            "feature_sets": list(self.feature_sets),
        }

    def _build(self, n_features: dict[str, int]) -> WindowNet:
        raise NotImplementedError

    def _initialise(self, net: WindowNet) -> None:
        """Hook for PAIR: start from other models' weights."""

    def _window_data(self, data: SeriesSet) -> WindowData:
        assert self.net_ is not None
        n_items, n_samples = data.targets.shape
        rows: dict[str, torch.Tensor] = {}
        for block, sets in self.net_.block_inputs.items():
            parts = [
                self.scalers_[s].transform(data.features[s]).reshape(n_items * n_samples, -1)
                for s in sets
            ]
            rows[block] = torch.from_numpy(np.ascontiguousarray(np.concatenate(parts, axis=1)))
        positions = window_positions(n_items, n_samples, self.history)
        targets = np.asarray(data.targets[:, self.history :], dtype=np.float32).reshape(-1)
        return WindowData(rows, torch.from_numpy(positions), torch.from_numpy(targets.copy()))

    def _check_features(self, data: SeriesSet) -> None:
        from muvi.errors import DataError

        for s in self.feature_sets:
            if s not in data.features:
                raise DataError(f"the {self.architecture} model needs {s} features")

    def prepare(
        self, train: SeriesSet, validation: SeriesSet | None = None
    ) -> tuple[WindowNet, WindowData, WindowData | None]:
        """Everything of :meth:`fit` before training: scale features on the
        training items (their rows chosen by ``training.scaling_rows``), build and initialise the net (seeded with
        ``training.seed``), and make the windows.

        Returns:
            ``(net, train windows, validation windows or None)``; ``net_``,
            ``scalers_`` and ``feature_names_`` are set. :meth:`fit` trains
            the net alone; :func:`muvi.models.protocol.fit_grid_networks`
            trains many prepared nets together and then calls :meth:`fitted`.
        """
        self._check_features(train)
        self.training_: TrainingConfig = self.effective_training()
        rows = scaling_samples(train.n_samples, self.history, self.training_.scaling_rows)
        self.scalers_ = {
            s: MinMaxScaling().fit(train.features[s][:, rows]) for s in self.feature_sets
        }
        self.feature_names_ = {s: list(train.feature_names[s]) for s in self.feature_sets}
        seed_everything(self.training_.seed)
        n_features = {s: train.features[s].shape[-1] for s in self.feature_sets}
        self.net_: WindowNet | None = self._build(n_features)
        self._initialise(self.net_)
        val = self._window_data(validation) if validation is not None else None
        return self.net_, self._window_data(train), val

    def fitted(self, history: TrainingHistory) -> SequenceRegressor:
        """Record the training of a prepared net (done elsewhere) and move it to the CPU."""
        assert self.net_ is not None
        self.history_: TrainingHistory = history
        self.net_.to("cpu")
        return self

    def fit(self, train: SeriesSet, validation: SeriesSet | None = None) -> SequenceRegressor:
        """Scale features on the training items, build the net and train it.

        With ``training.batched`` (default) the net trains through the
        stacked path as a stack of one (:func:`muvi.models.batched.train_stacked`,
        which honours ``training.precision``); otherwise with
        :func:`muvi.models.training.train_network` (float32 only).

        Args:
            train: training items with their targets.
            validation: items whose loss decides early stopping.

        Returns:
            self, with ``net_``, ``scalers_``, ``feature_names_``, ``history_``.
        """
        from muvi.models.batched import train_stacked

        net, train_windows, val = self.prepare(train, validation)
        if self.training_.batched:
            history = train_stacked([net], [train_windows], [val], self.training_)[0]
        else:
            if self.training_.precision != "float32":
                from muvi.errors import MuviError

                raise MuviError("one-at-a-time training runs in float32 only (use batched)")
            history = train_network(net, train_windows, val, self.training_)
        return self.fitted(history)

    def predict(self, data: SeriesSet, precision: str | None = None) -> np.ndarray:
        """Predictions per item and sample.

        Args:
            data: items with the model's feature sets (targets are ignored).
            precision: ``float32``, ``bfloat16`` or ``auto`` for the matrix
                products; default ``training.precision`` (whatever the net
                was trained in, either works).

        Returns:
            (n_items, n_samples) float array; the first ``history`` samples of
            each item are NaN (no complete window precedes them).
        """
        if getattr(self, "net_", None) is None:
            raise RuntimeError(f"{type(self).__name__}.predict called before fit")
        self._check_features(data)
        assert self.net_ is not None
        n_items, n_samples = data.targets.shape
        out = np.full((n_items, n_samples), np.nan)
        if n_samples <= self.history:
            return out
        device = self.prediction_device()
        dtype = self.prediction_dtype(precision, device)
        windows = self._window_data(data).to(device)
        net = self.net_.to(device)
        if dtype == torch.float32:
            pred = predict_windows(net, windows)
        else:
            from muvi.models.batched import predict_stacked

            pred = predict_stacked(net, windows, dtype)
        pred = pred.cpu()
        self.net_.to("cpu")
        out[:, self.history :] = pred.numpy().reshape(n_items, n_samples - self.history)
        return out

    def effective_training(self) -> TrainingConfig:
        """``training`` (or the defaults) with ``precision="auto"`` resolved to
        float32 where :data:`muvi.models.precision.AUTO_KEEPS_FLOAT32` says
        bfloat16 moved this kind of model's results."""
        from dataclasses import replace

        from muvi.models.precision import effective_precision

        training = self.training if self.training is not None else TrainingConfig()
        setting = effective_precision(
            training.precision, self.architecture, tuple(self.feature_sets)
        )
        if setting == training.precision:
            return training
        return replace(training, precision=setting)

    def prediction_device(self) -> torch.device:
        """Where :meth:`predict` runs: the CPU when ``training.device`` is
        ``cpu``, otherwise a CUDA GPU when torch sees one (a model trained on
        a GPU still predicts on a machine without one)."""
        if self.training_config().device != "cpu" and torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")

    def prediction_dtype(
        self, precision: str | None = None, device: torch.device | None = None
    ) -> torch.dtype:
        """Precision of :meth:`predict`: ``precision``, or by default
        ``training.precision``, resolved on ``device`` (default the CPU)."""
        from muvi.models.precision import resolve_precision

        setting = precision if precision is not None else self.training_config().precision
        return resolve_precision(setting, device or torch.device("cpu"))[0]


class LSTMRegressor(SequenceRegressor):
    """The unimodal LSTM model of experiments 1-4.

    Args:
        features: ``audio`` or ``visual``.
        block: the LSTM block's shape (paper default).
        training: training hyper-parameters (paper defaults).
        history: feature rows per window (paper: 4).
    """

    architecture = "lstm"

    def __init__(
        self,
        features: str = "audio",
        block: BlockConfig = PAPER_BLOCK,
        training: TrainingConfig | None = None,
        history: int = HISTORY,
    ) -> None:
        super().__init__(block, training, history)
        self.features = features

    @property
    def feature_sets(self) -> tuple[str, ...]:
        """``(features,)``."""
        return (self.features,)

    def _build(self, n_features: dict[str, int]) -> WindowNet:
        return UnimodalNet(n_features[self.features], (self.features,), self.block)


class EarlyFusionRegressor(SequenceRegressor):
    """A1 early fusion: audio and visual rows concatenated per step, one block."""

    architecture = "early_fusion"
    FEATURE_SETS = ("audio", "visual")

    def _build(self, n_features: dict[str, int]) -> WindowNet:
        width = sum(n_features[s] for s in self.feature_sets)
        return UnimodalNet(width, self.feature_sets, self.block)


class LateFusionRegressor(SequenceRegressor):
    """A2 late fusion: one block per modality, fused by dense 256 ReLU and dense 1 tanh."""

    architecture = "late_fusion"
    FEATURE_SETS = ("audio", "visual")

    def _build(self, n_features: dict[str, int]) -> WindowNet:
        return LateFusionNet({s: n_features[s] for s in self.feature_sets}, self.block)


@dataclass
class PairInitialisers:
    """The fitted unimodal models whose blocks start PAIR: music (audio features)
    and visual (visual features), trained on the same fold's training items."""

    audio: LSTMRegressor
    visual: LSTMRegressor


class PairRegressor(LateFusionRegressor):
    """PAIR: A2 whose blocks start from fitted unimodal music and visual models,
    then fine-tuned on audiovisual ratings.

    The blocks start from the unimodal models' best-epoch weights: the
    models' own weights when early stopping restored them (the paper), else
    the best epoch's kept in their ``history_.best_state`` (the authors'
    code scores the last epoch but saves the best one for PAIR).

    Args:
        initialisers: the fitted unimodal models (experiments 1 and 2 of the
            same fold). Their blocks must match ``block``.
    """

    architecture = "pair"

    def __init__(
        self,
        initialisers: PairInitialisers | None = None,
        block: BlockConfig = PAPER_BLOCK,
        training: TrainingConfig | None = None,
        history: int = HISTORY,
    ) -> None:
        super().__init__(block, training, history)
        self.initialisers = initialisers

    def _initialise(self, net: WindowNet) -> None:
        if self.initialisers is None:
            raise RuntimeError("PAIR needs fitted unimodal music and visual models")
        for s, model in (("audio", self.initialisers.audio), ("visual", self.initialisers.visual)):
            if model.net_ is None:
                raise RuntimeError(f"the {s} initialiser of PAIR is not fitted")
            best = getattr(getattr(model, "history_", None), "best_state", None)
            if best is not None:  # the best epoch's weights, not restored into the model
                prefix = "blocks.main."
                state = {k[len(prefix) :]: v for k, v in best.items() if k.startswith(prefix)}
            else:
                state = model.net_.block("main").state_dict()
            net.block(s).load_state_dict(state)
