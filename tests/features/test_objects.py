"""Objects: COCO id mapping, torchvision detector loading and per-class confidences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from muvi.data.schema import visual_feature_columns
from muvi.errors import MuviError
from muvi.features import weights as wts
from muvi.features.excerpt import ExcerptMedia
from muvi.features.objects import (
    COCO80_NAMES,
    COCO91_TO_80,
    ObjectsConfig,
    build_detector,
    object_confidences,
)
from muvi.features.registry import get
from muvi.testing import build_test_weights


def test_coco_91_ids_map_to_the_80_class_order() -> None:
    assert len(COCO91_TO_80) == 80 and sorted(COCO91_TO_80.values()) == list(range(80))
    assert len(set(COCO80_NAMES)) == 80
    # the YOLO/COCO-80 order, as published (id in the 91 list -> 80 index)
    for cid, index, name in [
        (1, 0, "person"),
        (3, 2, "car"),
        (44, 39, "bottle"),
        (62, 56, "chair"),
        (72, 62, "tv"),
        (90, 79, "toothbrush"),
    ]:
        assert COCO91_TO_80[cid] == index and COCO80_NAMES[index] == name
    assert 12 not in COCO91_TO_80  # an unused id in the 91 list


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (2, 120, 160, 3), dtype=np.uint8)


def test_random_detector_end_to_end(tmp_path: Path, frames: np.ndarray) -> None:
    build_test_weights(tmp_path, ["objects"])
    media = ExcerptMedia(
        "x", tmp_path / "x.mp4", 0.0, 1.0, np.array([0.0, 0.5]), frames=frames, weights_dir=tmp_path
    )
    out = get("objects").extract(media)
    assert list(out.columns) == [c for c in visual_feature_columns() if c.startswith("objects__")]
    assert out.shape == (2, 80)
    assert ((out >= 0) & (out <= 1)).all().all()


def test_a_detector_that_sees_only_chairs(tmp_path: Path, frames: np.ndarray) -> None:
    """Bias the classification head so every anchor says 'chair' (torchvision id 62):
    only objects__56 may be non-zero, and high."""
    spec = wts.KNOWN_WEIGHTS["coco-ssdlite320"]
    model = build_detector(spec.architecture)
    with torch.no_grad():
        for block in model.head.classification_head.module_list:
            conv = block[-1]
            conv.weight.zero_()
            bias = torch.full((conv.out_channels,), -10.0)
            bias.view(-1, 91)[:, 62] = 10.0  # channels are anchor-major, 91 classes each
            conv.bias.copy_(bias)
    path = tmp_path / spec.file_name
    torch.save(model.state_dict(), path)
    wts.register_weights_file(
        path, name="coco-ssdlite320", family="objects", architecture=spec.architecture
    )
    out = object_confidences(frames, tmp_path)
    assert (out["objects__56"] > 0.99).all()
    assert (out.drop(columns="objects__56") == 0).all().all()
    # a threshold above every score leaves nothing
    high = object_confidences(frames, tmp_path, ObjectsConfig(min_score=1.01))
    assert (high == 0).all().all()


def test_yolo_backend_without_ultralytics_is_a_clear_error(
    tmp_path: Path, frames: np.ndarray
) -> None:
    try:
        import ultralytics  # noqa: F401

        pytest.skip("ultralytics is installed here")
    except ImportError:
        pass
    media = ExcerptMedia(
        "x", tmp_path / "x.mp4", 0.0, 1.0, np.array([0.0, 0.5]), frames=frames, weights_dir=tmp_path
    )
    get("objects")  # importing the module registers objects_yolo too
    with pytest.raises(MuviError, match=r"pip install 'muvi\[yolo\]'"):
        get("objects_yolo").extract(media)
