"""Scenes: Places365 ResNet loading (release layout) and probabilities, with a small ResNet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import softmax

from muvi.data.schema import visual_feature_columns
from muvi.errors import WeightsError
from muvi.features import weights as wts
from muvi.features.excerpt import ExcerptMedia
from muvi.features.registry import get
from muvi.features.scenes import build_scene_network, scene_probabilities
from muvi.testing import build_test_weights


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (3, 90, 160, 3), dtype=np.uint8)


def test_release_layout_loads_and_probabilities_sum_to_one(
    tmp_path: Path, frames: np.ndarray
) -> None:
    _, path = build_test_weights(tmp_path, ["scenes"]).popitem()
    saved = torch.load(path, weights_only=True)
    assert all(k.startswith("module.") for k in saved["state_dict"])  # as the release
    media = ExcerptMedia(
        "x", tmp_path / "x.mp4", 0.0, 1.5, np.arange(3) * 0.5, frames=frames, weights_dir=tmp_path
    )
    out = get("scenes").extract(media)
    assert list(out.columns) == [c for c in visual_feature_columns() if c.startswith("scenes__")]
    assert out.shape == (3, 365)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    assert (out.to_numpy() > 0).all()


def test_probabilities_are_the_softmax_of_the_loaded_classifier(
    tmp_path: Path, frames: np.ndarray
) -> None:
    config = {"layers": [1, 1, 1, 1], "width_per_group": 8}
    model = build_scene_network(config)
    bias = np.random.default_rng(2).normal(0, 2, 365)
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.from_numpy(bias))
    path = tmp_path / "places.pth.tar"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    wts.register_weights_file(
        path,
        name="places365-resnet50",
        family="scenes",
        architecture="resnet-places365",
        config=config,
    )
    out = scene_probabilities(frames, tmp_path)
    for row in out.to_numpy():
        np.testing.assert_allclose(row, softmax(bias), atol=1e-6)


def test_wrong_network_for_the_config_is_a_weights_error(
    tmp_path: Path, frames: np.ndarray
) -> None:
    path = tmp_path / "places.pth.tar"
    small = build_scene_network({"layers": [1, 1, 1, 1], "width_per_group": 8})
    torch.save({"state_dict": small.state_dict()}, path)
    # the manifest claims ResNet50: the keys do not fit
    wts.register_weights_file(
        path, name="places365-resnet50", family="scenes", architecture="resnet-places365", config={}
    )
    with pytest.raises(WeightsError, match="do not fit"):
        scene_probabilities(frames, tmp_path)


def test_fused_inference_network_equals_the_checkpoint_network(
    tmp_path: Path, frames: np.ndarray
) -> None:
    """Folding batch norm and channels-last change speed, not the probabilities.

    A ResNet with non-trivial batch-norm statistics is saved in the release
    layout; the extractor's output equals torchvision's plain forward pass of
    the same state dict, with the same preprocessing (224x224, ImageNet mean/std).
    """
    from muvi.features.scenes import preprocess

    config = {"layers": [1, 1, 1, 1], "width_per_group": 8}
    torch.manual_seed(3)
    model = build_scene_network(config)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    path = tmp_path / "places.pth.tar"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    wts.register_weights_file(
        path,
        name="places365-resnet50",
        family="scenes",
        architecture="resnet-places365",
        config=config,
    )
    out = scene_probabilities(frames, tmp_path).to_numpy()
    with torch.no_grad():
        expected = torch.softmax(model.eval()(preprocess(frames, 224)), dim=1).double().numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert not np.allclose(out[0], out[1])  # the frames differ, so do the outputs
