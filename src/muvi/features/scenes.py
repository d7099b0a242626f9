"""Scenes: Places365 class probabilities from a ResNet50 (the study's model).

Each 500 ms frame is resized to 224x224, normalised with the ImageNet mean and
standard deviation (as the Places365 release's demo does) and classified by
``torchvision``'s ResNet50 with 365 outputs loaded from the public Places365
checkpoint (weights ``places365-resnet50``; the release is a dict whose
``state_dict`` keys carry DataParallel's ``module.`` prefix, handled by
:func:`muvi.features.weights.state_dict_from_checkpoint`). The softmax
probabilities are the columns ``scenes__000`` .. ``scenes__364`` (Places365
class order, ``categories_places365.txt``).

The architecture is configurable (``layers`` and ``width_per_group`` of
torchvision's bottleneck ResNet) so tests build a small network of the same
family; the default configuration is ResNet50.

Examples:
    >>> cols = scenes_columns()
    >>> len(cols), cols[0], cols[-1]
    (365, 'scenes__000', 'scenes__364')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from muvi.data.schema import N_PLACES365_CLASSES
from muvi.features import weights as wts
from muvi.features.registry import Extractor, family_columns, register

if TYPE_CHECKING:
    from muvi.features.excerpt import ExcerptMedia

PLACES_WEIGHTS: Final = "places365-resnet50"
IMAGENET_MEAN: Final = (0.485, 0.456, 0.406)
IMAGENET_STD: Final = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ScenesConfig:
    """Scene classification settings.

    Attributes:
        weights: the weights name.
        input_size: side of the square input (224 in the release).
        batch_size: frames per forward pass.
    """

    weights: str = PLACES_WEIGHTS
    input_size: int = 224
    batch_size: int = 16


def scenes_columns() -> list[str]:
    """The scenes family's columns, in file order (registered in :mod:`muvi.data.schema`)."""
    return family_columns("scenes")


def build_scene_network(config: Mapping[str, Any] | None = None) -> Any:
    """A bottleneck ResNet with 365 outputs (ResNet50 by default).

    Args:
        config: ``layers`` (blocks per stage, default [3, 4, 6, 3]) and
            ``width_per_group`` (default 64).

    Examples:
        >>> net = build_scene_network()
        >>> sum(p.numel() for p in net.parameters())  # torchvision resnet50(num_classes=365)
        24255917
    """
    from torchvision.models.resnet import Bottleneck, ResNet

    config = dict(config or {})
    layers = list(config.get("layers", [3, 4, 6, 3]))
    width = int(config.get("width_per_group", 64))
    return ResNet(Bottleneck, layers, num_classes=N_PLACES365_CLASSES, width_per_group=width)


def _build(spec: wts.WeightsSpec, checkpoint: Any) -> Any:
    import torch

    from muvi.features.nets.fusion import fuse_conv_batch_norm

    model = build_scene_network(spec.config)
    model = wts.load_into(model, wts.state_dict_from_checkpoint(checkpoint), spec)
    # checked against the release's layout above; from here on only inference:
    # batch norm folded into the convolutions, channels-last (faster on CPU)
    fuse_conv_batch_norm(model.eval())
    return model.to(memory_format=torch.channels_last)


def preprocess(frames: np.ndarray, size: int = 224) -> Any:
    """uint8 RGB frames (n, h, w, 3) -> normalised float tensor (n, 3, size, size)."""
    import cv2
    import torch

    resized = np.stack(
        [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames]
    ).astype(np.float32)
    x = (resized / 255.0 - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(
        IMAGENET_STD, np.float32
    )
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def scene_probabilities(
    frames: np.ndarray,
    weights_dir: str | Path | None = None,
    config: ScenesConfig = ScenesConfig(),
) -> pd.DataFrame:
    """Places365 class probabilities per frame.

    Args:
        frames: uint8 RGB (n, h, w, 3).
        weights_dir: the weights folder.
        config: settings.

    Returns:
        DataFrame indexed by ``sample``, columns :func:`scenes_columns`; rows sum to 1.

    Raises:
        WeightsError: weights missing, corrupt or not a Places365 ResNet.
    """
    import torch

    model = wts.load_model(config.weights, weights_dir, _build)
    out = np.zeros((len(frames), N_PLACES365_CLASSES))
    with torch.inference_mode():
        for lo in range(0, len(frames), config.batch_size):
            x = preprocess(frames[lo : lo + config.batch_size], config.input_size)
            x = x.contiguous(memory_format=torch.channels_last)
            out[lo : lo + len(x)] = torch.softmax(model(x), dim=1).double().numpy()
    return pd.DataFrame(out, columns=scenes_columns(), index=pd.RangeIndex(len(out), name="sample"))


def _run(media: ExcerptMedia) -> pd.DataFrame:
    return scene_probabilities(media.require_frames("scenes"), media.weights_dir)


SCENES = register(
    Extractor(
        name="scenes",
        family="scenes",
        kind="frames",
        columns=scenes_columns,
        run=_run,
        needs_weights=True,
        description="Places365 scene-class probabilities (ResNet50)",
    )
)
