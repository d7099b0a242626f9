"""A GRU network added to the grid in this one file: its net, its estimator,
one architecture entry and one experiment (8: music ratings from audio)."""

from __future__ import annotations

import torch
from torch import nn

from muvi.models.architectures import ARCHITECTURES, Architecture, register_architecture
from muvi.models.grid import EXPERIMENTS, Experiment, register_experiment
from muvi.models.lstm import PAPER_BLOCK, BlockConfig, SequenceRegressor, WindowNet

GRU_EXPERIMENT = 8


class GRUNet(WindowNet):
    """One GRU layer over the window, then dense(1) and tanh."""

    def __init__(self, n_features: int, inputs: tuple[str, ...], config: BlockConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict()
        self.block_inputs = {"main": inputs}
        self.gru = nn.GRU(n_features, config.hidden[0])
        self.head = nn.Linear(config.hidden[0], 1)

    def forward(self, windows: dict[str, torch.Tensor]) -> torch.Tensor:
        out, _ = self.gru(windows["main"].transpose(0, 1))  # (history, batch, hidden)
        return torch.tanh(self.head(out[-1])).squeeze(-1)

    def forward_rows(self, rows: dict[str, torch.Tensor], positions: torch.Tensor) -> torch.Tensor:
        return self.forward({"main": rows["main"][positions]})

    def predict_rows(
        self, rows: dict[str, torch.Tensor], positions: torch.Tensor, batch_size: int = 8192
    ) -> torch.Tensor:
        parts = [
            self.forward_rows(rows, positions[s : s + batch_size])
            for s in range(0, int(positions.shape[0]), batch_size)
        ]
        return torch.cat(parts) if parts else torch.zeros(0)


class GRURegressor(SequenceRegressor):
    """A GRU over one modality's features."""

    architecture = "gru"

    def __init__(self, features="audio", block=PAPER_BLOCK, training=None, history=4) -> None:
        super().__init__(block, training, history)
        self.features = features

    @property
    def feature_sets(self) -> tuple[str, ...]:
        return (self.features,)

    def _build(self, n_features: dict[str, int]) -> WindowNet:
        return GRUNet(n_features[self.features], (self.features,), self.block)


GRU = Architecture(
    "gru", "unimodal GRU (1 layer)", GRURegressor, inputs=1,
    builder=lambda features, block, training, _: GRURegressor(features[0], block, training),
    title="GRU",
)  # fmt: skip


def register() -> None:
    register_architecture(GRU)
    register_experiment(Experiment(GRU_EXPERIMENT, "music", ("audio",), "gru"))


def unregister() -> None:
    EXPERIMENTS.pop(GRU_EXPERIMENT, None)
    ARCHITECTURES.pop("gru", None)
