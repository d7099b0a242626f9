"""VGG19 for facial-expression recognition on FER2013 (48x48 grayscale faces).

The study's expression classifier is a VGG19 trained on FER2013. This module
builds that network with the parameter layout of the public PyTorch release
(``WuJie1010/Facial-Expression-Recognition.Pytorch``, ``features.<i>.*`` and
``classifier.*``): 16 blocks of 3x3 convolution + batch norm + ReLU in five
stages separated by 2x2 max pooling, then a linear layer to the 7 classes.
Input: ``(N, 3, 44, 44)`` floats in [0, 1] (a 44x44 crop of the 48x48 face,
the grey channel repeated three times); output: ``(N, 7)`` logits in
:data:`muvi.data.schema.FER_EXPRESSIONS` order.

Examples:
    >>> import torch
    >>> net = FerVgg(width=0.125).eval()
    >>> net(torch.zeros(2, 3, 44, 44)).shape
    torch.Size([2, 7])
"""

from __future__ import annotations

from typing import Final

import torch
from torch import nn

from muvi.data.schema import FER_EXPRESSIONS

VGG19_STAGES: Final = ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4)
"""Output channels of the 16 convolutions of VGG19, per stage (full width)."""

FER_INPUT_SIZE: Final = 44
"""Side of the crops the released model was trained on (ten-crop of 48x48 faces)."""
FER_FACE_SIZE: Final = 48
"""FER2013 images are 48x48 grayscale."""


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class FerVgg(nn.Module):
    """VGG19 expression classifier.

    Args:
        width: channel multiplier (1.0 is the study's network; tests use e.g. 0.125).
        n_classes: output classes (7 for FER2013).
    """

    def __init__(self, width: float = 1.0, n_classes: int = len(FER_EXPRESSIONS)) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        layers: list[nn.Module] = []
        in_channels = 3
        for stage in VGG19_STAGES:
            for channels in stage:
                out_channels = _scaled(channels, width)
                layers += [
                    nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(inplace=True),
                ]
                in_channels = out_channels
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        # The release ends its feature stack with a 1x1 average pool (an identity
        # at 44x44 input); kept so module indices match the checkpoint.
        layers.append(nn.AvgPool2d(kernel_size=1, stride=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_classes)`` for faces ``(N, 3, 44, 44)`` in [0, 1]."""
        out = self.features(x)
        out = torch.flatten(out, 1)
        out = nn.functional.dropout(out, p=0.5, training=self.training)
        return self.classifier(out)
