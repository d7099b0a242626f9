"""Objects: COCO object classes detected in each 500 ms frame.

Value per class: the **highest confidence** of any detection of that class in
the frame whose score is at least ``min_score`` (0 when there is none). A
confidence keeps more information than a count (a count is recovered by
thresholding) and is bounded in [0, 1] like the other probability families.
Columns ``objects__00`` .. ``objects__79`` follow the 80-class COCO order
(person, bicycle, car, ... toothbrush), the order YOLO models use.

Two backends:

- ``objects`` (default, permissive): torchvision's SSDlite320 MobileNetV3-Large
  trained on COCO (weights ``coco-ssdlite320``, BSD-3-Clause), or Faster R-CNN
  MobileNetV3-Large 320 FPN (``coco-fasterrcnn-mobilenet320``) through
  :class:`ObjectsConfig`. torchvision numbers COCO categories 1..90 with gaps;
  :data:`COCO91_TO_80` maps them to the 80-class order.
- ``objects_yolo`` (the study's YOLO family, optional): ultralytics YOLO
  (weights ``yolov8n``), AGPL-3.0, installed with ``pip install 'muvi[yolo]'``
  and imported only when this extractor is chosen.

Examples:
    >>> COCO80_NAMES[0], COCO80_NAMES[56], COCO80_NAMES[79]
    ('person', 'chair', 'toothbrush')
    >>> COCO91_TO_80[1], COCO91_TO_80[62], COCO91_TO_80[90]
    (0, 56, 79)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from muvi.data.schema import N_COCO_CLASSES
from muvi.errors import MuviError
from muvi.features import weights as wts
from muvi.features.registry import Extractor, family_columns, register

if TYPE_CHECKING:
    from muvi.features.excerpt import ExcerptMedia

DEFAULT_DETECTOR: Final = "coco-ssdlite320"
YOLO_WEIGHTS: Final = "yolov8n"


def _coco_categories() -> list[str]:
    from torchvision.models.detection import SSDLite320_MobileNet_V3_Large_Weights

    return list(SSDLite320_MobileNet_V3_Large_Weights.COCO_V1.meta["categories"])


_NOT_A_CLASS: Final = ("__background__", "N/A")
COCO91_NAMES: Final = tuple(_coco_categories())
"""torchvision's COCO category list, indexed by category id (0 is background)."""
COCO91_TO_80: Final = {
    cid: k
    for k, cid in enumerate(i for i, name in enumerate(COCO91_NAMES) if name not in _NOT_A_CLASS)
}
"""torchvision COCO category id (1..90) -> index in the 80-class order."""
COCO80_NAMES: Final = tuple(COCO91_NAMES[cid] for cid in COCO91_TO_80)

_ARCHITECTURES: Final = {
    "torchvision-ssdlite320-mobilenet-v3-large": "ssdlite320_mobilenet_v3_large",
    "torchvision-fasterrcnn-mobilenet-v3-large-320-fpn": "fasterrcnn_mobilenet_v3_large_320_fpn",
}


@dataclass(frozen=True)
class ObjectsConfig:
    """Object detection settings.

    Attributes:
        weights: weights name (``coco-ssdlite320``, ``coco-fasterrcnn-mobilenet320``,
            or ``yolov8n`` for the YOLO backend).
        min_score: detections below this confidence are ignored.
        batch_size: frames per forward pass.
    """

    weights: str = DEFAULT_DETECTOR
    min_score: float = 0.25
    batch_size: int = 8


def objects_columns() -> list[str]:
    """The objects family's columns, in file order (registered in :mod:`muvi.data.schema`)."""
    return family_columns("objects")


def build_detector(architecture: str) -> Any:
    """An untrained torchvision COCO detector (91 categories) of a known architecture."""
    from torchvision.models import detection

    if architecture not in _ARCHITECTURES:
        raise MuviError(
            f"unknown object detector architecture {architecture!r} "
            f"(known: {', '.join(_ARCHITECTURES)})"
        )
    builder = getattr(detection, _ARCHITECTURES[architecture])
    return builder(weights=None, weights_backbone=None, num_classes=len(COCO91_NAMES))


def _build(spec: wts.WeightsSpec, checkpoint: Any) -> Any:
    from muvi.features.nets.fusion import fuse_conv_batch_norm

    model = build_detector(spec.architecture)
    model = wts.load_into(model, wts.state_dict_from_checkpoint(checkpoint), spec)
    # checked against the release's layout above; from here on only inference
    fuse_conv_batch_norm(model.eval())
    return model


def class_confidences(
    labels: np.ndarray, scores: np.ndarray, min_score: float, label_map: dict[int, int] | None
) -> np.ndarray:
    """Highest confidence per 80-class COCO index from one frame's detections.

    Args:
        labels: detected category ids (torchvision 91-ids, or 80-indices when
            ``label_map`` is None).
        scores: their confidences.
        min_score: detections below it are ignored.
        label_map: id -> 80-class index (None: ids are already 80-indices).

    Returns:
        float (80,).

    Examples:
        >>> row = class_confidences(np.array([1, 1, 62]), np.array([0.5, 0.9, 0.1]), 0.25, COCO91_TO_80)
        >>> float(row[0]), float(row[56])
        (0.9, 0.0)
    """
    row = np.zeros(N_COCO_CLASSES)
    for label, score in zip(labels, scores, strict=True):
        if score < min_score:
            continue
        index = int(label) if label_map is None else label_map.get(int(label))
        if index is not None and 0 <= index < N_COCO_CLASSES:
            row[index] = max(row[index], float(score))
    return row


def object_confidences(
    frames: np.ndarray,
    weights_dir: str | Path | None = None,
    config: ObjectsConfig = ObjectsConfig(),
) -> pd.DataFrame:
    """The objects family for a stack of frames (torchvision or YOLO by weights).

    Args:
        frames: uint8 RGB (n, h, w, 3).
        weights_dir: the weights folder.
        config: settings; ``weights`` picks the detector.

    Returns:
        DataFrame indexed by ``sample``, columns :func:`objects_columns`, values in [0, 1].

    Raises:
        WeightsError: weights missing or corrupt.
        MuviError: the YOLO backend was chosen but ultralytics is not installed.
    """
    spec = wts.get_spec(config.weights, weights_dir)
    if spec.architecture == "ultralytics-yolo":
        rows = _yolo_rows(frames, weights_dir, config)
    else:
        rows = _torchvision_rows(frames, weights_dir, config)
    return pd.DataFrame(
        rows, columns=objects_columns(), index=pd.RangeIndex(len(rows), name="sample")
    )


def _torchvision_rows(
    frames: np.ndarray, weights_dir: str | Path | None, config: ObjectsConfig
) -> np.ndarray:
    import torch

    model = wts.load_model(config.weights, weights_dir, _build)
    # Candidates below min_score are dropped anyway; filtering them before
    # non-maximum suppression saves most of the post-processing time.
    if hasattr(model, "roi_heads"):
        model.roi_heads.score_thresh = config.min_score
    else:
        model.score_thresh = config.min_score
    rows = np.zeros((len(frames), N_COCO_CLASSES))
    with torch.inference_mode():
        for lo in range(0, len(frames), config.batch_size):
            batch = [
                torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1).float() / 255.0
                for f in frames[lo : lo + config.batch_size]
            ]
            for k, det in enumerate(model(batch)):
                rows[lo + k] = class_confidences(
                    det["labels"].numpy(), det["scores"].numpy(), config.min_score, COCO91_TO_80
                )
    return rows


def _ultralytics() -> Any:
    try:
        import ultralytics
    except ImportError:
        raise MuviError(
            "the YOLO object detector needs the optional package ultralytics (AGPL-3.0); "
            "install it with `pip install 'muvi[yolo]'` or use the default detector "
            "(--features objects)"
        ) from None
    return ultralytics


_YOLO: dict[str, Any] = {}


def _yolo_rows(
    frames: np.ndarray, weights_dir: str | Path | None, config: ObjectsConfig
) -> np.ndarray:
    ultralytics = _ultralytics()
    status = wts.require_weights(config.weights, weights_dir)
    key = f"{status.path}:{status.sha256}"
    if key not in _YOLO:
        _YOLO[key] = ultralytics.YOLO(str(status.path))
    model = _YOLO[key]
    names = [model.names[i] for i in sorted(model.names)]
    if names != list(COCO80_NAMES):
        raise MuviError(
            f"the YOLO weights {config.weights!r} do not predict the 80 COCO classes in order"
        )
    rows = np.zeros((len(frames), N_COCO_CLASSES))
    for lo in range(0, len(frames), config.batch_size):
        batch = [np.ascontiguousarray(f[..., ::-1]) for f in frames[lo : lo + config.batch_size]]
        for k, result in enumerate(model(batch, verbose=False, conf=config.min_score)):
            boxes = result.boxes
            rows[lo + k] = class_confidences(
                boxes.cls.cpu().numpy(), boxes.conf.cpu().numpy(), config.min_score, None
            )
    return rows


def _run(media: ExcerptMedia) -> pd.DataFrame:
    return object_confidences(media.require_frames("objects"), media.weights_dir)


def _run_yolo(media: ExcerptMedia) -> pd.DataFrame:
    return object_confidences(
        media.require_frames("objects"), media.weights_dir, ObjectsConfig(weights=YOLO_WEIGHTS)
    )


OBJECTS = register(
    Extractor(
        name="objects",
        family="objects",
        kind="frames",
        columns=objects_columns,
        run=_run,
        needs_weights=True,
        description="COCO object classes, highest confidence per class (torchvision SSDlite)",
    )
)
OBJECTS_YOLO = register(
    Extractor(
        name="objects_yolo",
        family="objects",
        kind="frames",
        columns=objects_columns,
        run=_run_yolo,
        needs_weights=True,
        description="COCO object classes with ultralytics YOLO (AGPL-3.0, optional muvi[yolo])",
    )
)
