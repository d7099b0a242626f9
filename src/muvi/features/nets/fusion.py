"""Inference-only folding of batch norm into the convolution before it.

In eval mode ``bn(conv(x))`` is an affine function of ``conv(x)`` per channel,
so it folds into the convolution's weight and bias
(:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`): the same function in one
operation, without a pass over the activations. Applied to loaded networks
only (the fused network's parameter layout differs from the checkpoints').

Examples:
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    >>> _ = net[1].running_mean.uniform_(-1, 1), net[1].running_var.uniform_(0.5, 2)
    >>> x = torch.rand(2, 3, 8, 8)
    >>> before = net(x)
    >>> fuse_conv_batch_norm(net)
    1
    >>> isinstance(net[1], nn.Identity), bool(torch.allclose(net(x), before, atol=1e-5))
    (True, True)
"""

from __future__ import annotations

import re

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def fuse_conv_batch_norm(module: nn.Module) -> int:
    """Fold every batch norm that directly follows a convolution, in place.

    Two layouts are recognised: consecutive ``(conv, bn)`` children of an
    ``nn.Sequential`` (torchvision's ``Conv2dNormActivation``, ResNet
    ``downsample``), and attribute pairs ``convN`` / ``bnN`` (ResNet blocks,
    whose forward applies ``bnN`` right after ``convN``). The batch norm is
    replaced by ``nn.Identity``.

    Args:
        module: a network in eval mode.

    Returns:
        The number of batch norms folded.

    Raises:
        RuntimeError: the module is in training mode.
    """
    if module.training:
        raise RuntimeError("fold batch norm only in eval mode (call .eval() first)")
    count = 0
    for parent in module.modules():
        children = dict(parent.named_children())
        if isinstance(parent, nn.Sequential):
            names = list(children)
            for a, b in zip(names, names[1:], strict=False):
                conv, norm = getattr(parent, a), getattr(parent, b)
                if isinstance(conv, _CONVS) and isinstance(norm, _NORMS):
                    setattr(parent, a, fuse_conv_bn_eval(conv, norm))
                    setattr(parent, b, nn.Identity())
                    count += 1
            continue
        for name, conv in children.items():
            match = re.fullmatch(r"conv(\d+)", name)
            norm = children.get(f"bn{match.group(1)}") if match else None
            if isinstance(conv, _CONVS) and isinstance(norm, _NORMS):
                setattr(parent, name, fuse_conv_bn_eval(conv, norm))
                setattr(parent, f"bn{match.group(1)}", nn.Identity())  # type: ignore[union-attr]
                count += 1
    return count
