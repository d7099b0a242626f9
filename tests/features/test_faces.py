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
    wts.build_test_weights(tmp_path, ["faces"])
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
