"""Faces: MTCNN detection and the VGG19-FER expression model, end to end with a small model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.data import astronaut

from muvi.data.schema import FER_EXPRESSIONS, visual_feature_columns
from muvi.errors import WeightsError
from muvi.features import weights as wts
from muvi.features.excerpt import ExcerptMedia
from muvi.features.faces import detect_faces, face_features
from muvi.features.registry import get
from muvi.testing import build_test_weights


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """The astronaut photo (one face) and a plain red frame of the same size."""
    face = astronaut()
    plain = np.zeros_like(face)
    plain[:] = (200, 30, 30)
    return np.stack([face, plain])


def test_face_found_in_astronaut_not_in_plain_colour(frames: np.ndarray) -> None:
    (boxes, probs), (none_boxes, _) = detect_faces(frames)
    assert len(boxes) == 1 and probs[0] > 0.99
    x1, y1, x2, y2 = boxes[0]
    # Eileen Collins' face lies in the upper middle of the 512x512 photo
    assert 150 < (x1 + x2) / 2 < 300 and 40 < (y1 + y2) / 2 < 200
    assert 40 < x2 - x1 < 200
    assert len(none_boxes) == 0


def test_face_features_columns_and_probabilities(tmp_path: Path, frames: np.ndarray) -> None:
    build_test_weights(tmp_path, ["faces"])
    media = ExcerptMedia(
        "astro",
        tmp_path / "none.mp4",
        0.0,
        1.0,
        np.array([0.0, 0.5]),
        frames=frames,
        weights_dir=tmp_path,
    )
    out = get("faces").extract(media)  # the registry checks columns and rows
    assert list(out.columns) == [c for c in visual_feature_columns() if c.startswith("faces__")]
    assert out.loc[0, "faces__detected"] == 1 and out.loc[0, "faces__count"] == 1
    probs = out.loc[0, [f"faces__{e}" for e in FER_EXPRESSIONS]].to_numpy()
    assert np.all(probs > 0) and probs.sum() == pytest.approx(1.0)
    assert (out.loc[1] == 0).all()  # no face: every column 0


def test_expression_probabilities_follow_the_loaded_weights(
    tmp_path: Path, frames: np.ndarray
) -> None:
    """A classifier with zero weights outputs softmax(bias) for any face: the
    probabilities must equal that, computed here by hand."""
    from muvi.features.nets.vgg_fer import FerVgg

    model = FerVgg(width=0.125)
    bias = np.array([0.0, -1.0, 0.5, 3.0, 0.0, 1.0, -2.0])
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.from_numpy(bias))
    path = tmp_path / "fer.t7"
    torch.save({"net": model.state_dict(), "acc": 0.0}, path)
    wts.register_weights_file(
        path,
        name="fer2013-vgg19",
        family="faces",
        architecture="vgg19-fer2013",
        config={"width": 0.125},
    )
    out = face_features(frames[:1], tmp_path)
    expected = np.exp(bias) / np.exp(bias).sum()
    got = out.loc[0, [f"faces__{e}" for e in FER_EXPRESSIONS]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert FER_EXPRESSIONS[int(np.argmax(got))] == "happy"


def test_missing_expression_weights(tmp_path: Path, frames: np.ndarray) -> None:
    with pytest.raises(WeightsError, match="fer2013-vgg19"):
        face_features(frames, tmp_path)


def test_downscaled_detection_maps_boxes_back_to_frame_pixels(frames: np.ndarray) -> None:
    """A 720p frame is detected at 360p; boxes come back in 720p pixels.

    The astronaut photo is pasted at a known offset into a 1280x720 frame:
    the face box found in the photo alone (512 px high, detected at full size)
    shifted by that offset is where the downscaled detection must put it.
    """
    from muvi.features.faces import FacesConfig, detection_scale

    photo = frames[0]
    canvas = np.full((720, 1280, 3), 90, dtype=np.uint8)
    dy, dx = 150, 600
    canvas[dy : dy + 512, dx : dx + 512] = photo
    assert detection_scale(720) == 0.5
    ((reference, _),) = detect_faces(photo[None], FacesConfig(detect_height=None))
    ((boxes, probs),) = detect_faces(canvas[None])
    assert len(boxes) == 1 and probs[0] > 0.99
    expected = reference[0] + np.array([dx, dy, dx, dy])
    # MTCNN's box regression moves edges by a few pixels with the image
    # resampling: same place and size, to a small fraction of the face
    side = expected[2] - expected[0]
    assert _iou(boxes[0], expected) > 0.8
    np.testing.assert_allclose(boxes[0], expected, atol=0.1 * side)
    # the full-size detection of the same 720p frame agrees as well
    ((full, _),) = detect_faces(canvas[None], FacesConfig(detect_height=None))
    assert _iou(boxes[0], full[0]) > 0.8
    np.testing.assert_allclose(boxes[0], full[0], atol=0.1 * side)
    # without the mapping the box would lie at half these coordinates
    assert boxes[0][0] > dx


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return float(inter / (area - inter))


def test_minimum_face_size_stays_in_original_pixels() -> None:
    """Scaling the frame scales MTCNN's minimum face size by the same factor (never below 20)."""
    from muvi.features.faces import FacesConfig, detection_scale

    config = FacesConfig(min_face_size=40, detect_height=360)
    assert detection_scale(720, config) * config.min_face_size == 20
    assert detection_scale(1440, config) == 0.5  # limited: 40 px faces keep 20 px
    assert detection_scale(300, config) == 1.0  # never scaled up
    assert detection_scale(720, FacesConfig(detect_height=None)) == 1.0


def test_batched_fused_expressions_equal_the_per_face_reference(
    tmp_path: Path, frames: np.ndarray
) -> None:
    """All faces of an excerpt go through the (batch-norm-folded) network in one
    pass; each frame still gets the probabilities of its own faces, equal to the
    checkpoint network applied to that frame's crops alone."""
    from muvi.features.faces import expression_probabilities, face_crops
    from muvi.features.nets.vgg_fer import FerVgg

    torch.manual_seed(7)
    model = FerVgg(width=0.125)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):  # He init: outputs depend on the face
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    path = tmp_path / "fer.t7"
    torch.save({"net": model.state_dict(), "acc": 0.0}, path)
    wts.register_weights_file(
        path,
        name="fer2013-vgg19",
        family="faces",
        architecture="vgg19-fer2013",
        config={"width": 0.125},
    )
    face, plain = frames
    darker = (face * 0.6).astype(np.uint8)  # the same face, other pixels
    stack = np.stack([plain, face, plain, darker])
    out = face_features(stack, tmp_path)
    assert out["faces__detected"].tolist() == [0, 1, 0, 1]
    model.eval()
    for k in (1, 3):
        ((boxes, _),) = detect_faces(stack[k : k + 1])
        expected = expression_probabilities(face_crops(stack[k], boxes), model).mean(axis=0)
        got = out.loc[k, [f"faces__{e}" for e in FER_EXPRESSIONS]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(out.loc[1].to_numpy(), out.loc[3].to_numpy())
