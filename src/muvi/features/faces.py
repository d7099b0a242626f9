"""Faces: detection (MTCNN) and basic-expression probabilities (VGG19, FER2013).

For each 500 ms frame, faces are found with facenet-pytorch's MTCNN (its
detector weights ship with the package) and every face with a detection
probability of at least ``min_face_probability`` is classified by the study's
expression model, a VGG19 trained on FER2013 (weights ``fer2013-vgg19``,
:mod:`muvi.features.nets.vgg_fer`): the face box is cropped from the grey
frame, resized to 48x48 and classified as the release was evaluated, from ten
44x44 crops (corners, centre and their mirror images) whose logits are averaged.

Columns (``faces__*`` of :func:`muvi.data.schema.visual_feature_columns`):
``faces__detected`` (1 when at least one face), ``faces__count`` and one
probability per expression in :data:`muvi.data.schema.FER_EXPRESSIONS` order,
averaged over the frame's faces (all 0 when there is no face).

Examples:
    >>> faces_columns()[:3]
    ['faces__detected', 'faces__count', 'faces__angry']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from muvi.data.schema import FER_EXPRESSIONS
from muvi.features import weights as wts
from muvi.features.registry import Extractor, family_columns, register

if TYPE_CHECKING:
    from muvi.features.excerpt import ExcerptMedia

FER_WEIGHTS: Final = "fer2013-vgg19"


@dataclass(frozen=True)
class FacesConfig:
    """How faces are found and classified.

    Attributes:
        weights: the expression model's weights name.
        min_face_probability: MTCNN detection probability a face needs.
        min_face_size: smallest face MTCNN looks for (pixels). 40 rather than
            MTCNN's 20: the expression model sees 48x48 faces, so smaller ones
            carry little expression detail, and the detector's image pyramid
            (starting at scale 12/min_face_size) is 4x cheaper on 720p frames.
        ten_crop: average the logits of ten 44x44 crops (as the release was
            evaluated); False uses the centre crop only.
        batch_size: frames per MTCNN call.
        detect_height: frames taller than this are scaled down (area
            averaging) to this height before detection, and the detector's
            minimum face size is scaled by the same factor, so the smallest
            face found is still ``min_face_size`` pixels of the original frame
            and MTCNN's image pyramid has the same sizes; boxes are mapped back
            to original-frame pixels and the expression model crops the faces
            from the original frame. None detects on the original frame.
        detect_min_face: the scaled minimum face size never goes below this
            (MTCNN's own default, 20 pixels), so a face keeps enough pixels for
            the refinement networks; the scale-down is limited accordingly.
    """

    weights: str = FER_WEIGHTS
    min_face_probability: float = 0.9
    min_face_size: int = 40
    ten_crop: bool = True
    batch_size: int = 16
    detect_height: int | None = 360
    detect_min_face: int = 20


def faces_columns() -> list[str]:
    """The faces family's columns, in file order (registered in :mod:`muvi.data.schema`)."""
    return family_columns("faces")


_DETECTORS: dict[int, Any] = {}


def _mtcnn(min_face_size: int) -> Any:
    if min_face_size not in _DETECTORS:
        from facenet_pytorch import MTCNN

        _DETECTORS[min_face_size] = MTCNN(
            keep_all=True, min_face_size=min_face_size, device="cpu", post_process=False
        )
    return _DETECTORS[min_face_size]


def detection_scale(height: int, config: FacesConfig = FacesConfig()) -> float:
    """The factor frames of this height are scaled by before face detection (<= 1).

    Examples:
        >>> detection_scale(720), detection_scale(360), detection_scale(1080)
        (0.5, 1.0, 0.5)
    """
    if config.detect_height is None or height <= config.detect_height:
        return 1.0
    floor = min(1.0, config.detect_min_face / config.min_face_size)
    return max(config.detect_height / height, floor)


def _downscale(frames: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    h, w = frames.shape[1:3]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])


def detect_faces(
    frames: np.ndarray, config: FacesConfig = FacesConfig()
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Face boxes in each frame.

    Frames taller than ``config.detect_height`` are detected at a smaller
    scale (see :class:`FacesConfig`); the boxes are always in pixels of the
    frames given.

    Args:
        frames: uint8 RGB frames (n, h, w, 3) of one size.
        config: detection settings.

    Returns:
        Per frame ``(boxes, probabilities)``: boxes float (k, 4) as
        ``x1, y1, x2, y2`` pixels of ``frames``, probabilities (k,); k = 0
        without faces.

    Examples:
        >>> from skimage.data import astronaut
        >>> boxes, probs = detect_faces(astronaut()[None])[0]
        >>> len(boxes)
        1
    """
    import torch

    out: list[tuple[np.ndarray, np.ndarray]] = []
    if len(frames) == 0:
        return out
    scale = detection_scale(frames.shape[1], config)
    # MTCNN's image pyramid starts at 12 / min_face_size of the image it gets:
    # scaling both keeps the pyramid (and the smallest face, in original pixels)
    detector = _mtcnn(max(1, round(config.min_face_size * scale)))
    for lo in range(0, len(frames), config.batch_size):
        batch = np.ascontiguousarray(frames[lo : lo + config.batch_size])
        if scale < 1.0:
            batch = _downscale(batch, scale)
        with torch.inference_mode():
            boxes, probs = detector.detect(batch)
        for b, p in zip(boxes, probs, strict=True):
            if b is None:
                out.append((np.zeros((0, 4)), np.zeros(0)))
                continue
            b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
            if scale < 1.0:  # back to the frame's pixels (exact size ratio per axis)
                b = b * np.array(
                    [frames.shape[2] / batch.shape[2], frames.shape[1] / batch.shape[1]] * 2
                )
            p = np.asarray(p, dtype=np.float64).reshape(-1)
            keep = p >= config.min_face_probability
            out.append((b[keep], p[keep]))
    return out


def face_crops(frame: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Grey 48x48 crops of the boxes (clipped to the frame), FER2013's input.

    Returns:
        uint8 array (k, 48, 48); boxes that fall outside the frame are skipped.
    """
    import cv2

    from muvi.features.nets.vgg_fer import FER_FACE_SIZE

    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    crops = []
    for x1, y1, x2, y2 in boxes:
        left, top = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
        right, bottom = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
        if right - left < 2 or bottom - top < 2:
            continue
        face = grey[top:bottom, left:right]
        crops.append(cv2.resize(face, (FER_FACE_SIZE, FER_FACE_SIZE), interpolation=cv2.INTER_AREA))
    return np.stack(crops) if crops else np.zeros((0, FER_FACE_SIZE, FER_FACE_SIZE), np.uint8)


def _build_vgg(spec: wts.WeightsSpec, checkpoint: Any) -> Any:
    from muvi.features.nets.fusion import fuse_conv_batch_norm
    from muvi.features.nets.vgg_fer import FerVgg

    model = FerVgg(width=float(spec.config.get("width", 1.0)))
    model = wts.load_into(model, wts.state_dict_from_checkpoint(checkpoint), spec)
    # checked against the release's layout above; from here on only inference
    fuse_conv_batch_norm(model.eval())
    return model


def expression_probabilities(crops: np.ndarray, model: Any, *, ten_crop: bool = True) -> np.ndarray:
    """Expression probabilities of grey 48x48 faces.

    Args:
        crops: uint8 (k, 48, 48).
        model: a :class:`muvi.features.nets.vgg_fer.FerVgg` in eval mode.
        ten_crop: average logits over ten 44x44 crops (else the centre crop).

    Returns:
        float (k, 7), rows sum to 1, columns in FER_EXPRESSIONS order.
    """
    import torch

    from muvi.features.nets.vgg_fer import FER_INPUT_SIZE

    if len(crops) == 0:
        return np.zeros((0, len(FER_EXPRESSIONS)))
    x = torch.from_numpy(crops.astype(np.float32) / 255.0)[:, None]  # (k, 1, 48, 48)
    s, side = FER_INPUT_SIZE, crops.shape[-1]
    offsets = [(0, 0), (0, side - s), (side - s, 0), (side - s, side - s)]
    centre = ((side - s) // 2, (side - s) // 2)
    views = [x[..., centre[0] : centre[0] + s, centre[1] : centre[1] + s]]
    if ten_crop:
        views += [x[..., r : r + s, c : c + s] for r, c in offsets]
        views += [torch.flip(v, dims=[-1]) for v in list(views)]
    stacked = torch.stack(views, dim=1).flatten(0, 1).repeat(1, 3, 1, 1)  # (k*v, 3, 44, 44)
    with torch.inference_mode():
        logits = model(stacked).reshape(len(crops), len(views), -1).mean(dim=1)
        return torch.softmax(logits, dim=1).double().numpy()


def face_features(
    frames: np.ndarray,
    weights_dir: str | Path | None = None,
    config: FacesConfig = FacesConfig(),
) -> pd.DataFrame:
    """The faces family for a stack of 500 ms frames.

    Args:
        frames: uint8 RGB (n, h, w, 3).
        weights_dir: the weights folder (see :mod:`muvi.features.weights`).
        config: detection and classification settings.

    Returns:
        DataFrame indexed by ``sample`` (0..n-1), columns :func:`faces_columns`.

    Raises:
        WeightsError: the expression model's weights are missing or corrupt.
    """
    model = wts.load_model(config.weights, weights_dir, _build_vgg)
    rows = np.zeros((len(frames), 2 + len(FER_EXPRESSIONS)))
    crops, owner = [], []
    for k, (frame, (boxes, _)) in enumerate(zip(frames, detect_faces(frames, config), strict=True)):
        found = face_crops(frame, boxes)
        crops.append(found)
        owner += [k] * len(found)
    if owner:
        # every face of the excerpt in one pass (the network sees each face alone)
        faces = np.concatenate(crops)
        probs = np.concatenate(
            [
                expression_probabilities(faces[lo : lo + 64], model, ten_crop=config.ten_crop)
                for lo in range(0, len(faces), 64)  # bounded memory: 64 faces x 10 crops
            ]
        )
        faces_of = np.asarray(owner)
        for k in np.unique(faces_of):
            mine = probs[faces_of == k]
            rows[k, 0] = 1.0
            rows[k, 1] = len(mine)
            rows[k, 2:] = mine.mean(axis=0)
    return pd.DataFrame(
        rows, columns=faces_columns(), index=pd.RangeIndex(len(rows), name="sample")
    )


def _run(media: ExcerptMedia) -> pd.DataFrame:
    return face_features(media.require_frames("faces"), media.weights_dir)


FACES = register(
    Extractor(
        name="faces",
        family="faces",
        kind="frames",
        columns=faces_columns,
        run=_run,
        needs_weights=True,
        description="MTCNN face detection, count and VGG19-FER2013 expression probabilities",
    )
)
