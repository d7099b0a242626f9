"""Testing aids: small randomly initialised models of the real architectures.

:func:`build_test_weights` saves, for each neural feature family, a small
network of the same architecture as the released one, in the release's
checkpoint layout, under the default weights name, with a manifest carrying
its sha256 and configuration. Extraction with that weights folder then runs
the real loading and inference code end to end, fast; the features it
produces are meaningless and must never be used for analysis. Used by the
tests and by ``benchmarks/extract.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from muvi.errors import MuviError
from muvi.features import weights as wts
from muvi.features.actions import I3D_WEIGHTS
from muvi.features.faces import FER_WEIGHTS
from muvi.features.objects import DEFAULT_DETECTOR, build_detector
from muvi.features.scenes import PLACES_WEIGHTS, build_scene_network

TEST_MODEL_NOTE: Final = "small randomly initialised test model (outputs are meaningless)"
TEST_MODEL_LICENCE: Final = "MIT (built by MuVi for tests; random weights)"


def _register_test_model(
    path: Path, name: str, what: str, config: dict[str, Any] | None = None
) -> tuple[str, Path]:
    """Register a saved test model under its catalogue name (family, architecture and
    classes from the catalogue), marked as a test model."""
    spec = wts.KNOWN_WEIGHTS[name]
    wts.register_weights_file(
        path,
        name=name,
        family=spec.family,
        architecture=spec.architecture,
        config=config,
        classes=spec.classes,
        description=f"{what}: {TEST_MODEL_NOTE}",
        licence=TEST_MODEL_LICENCE,
        test_model=True,
    )
    return name, path


def build_faces_model(folder: Path, *, width: float = 0.125) -> tuple[str, Path]:
    """Save a small random VGG19-FER in the release's layout and register it."""
    import torch

    from muvi.features.nets.vgg_fer import FerVgg

    spec = wts.KNOWN_WEIGHTS[FER_WEIGHTS]
    path = Path(folder) / spec.file_name
    torch.save({"net": FerVgg(width=width).state_dict(), "acc": 0.0, "epoch": 0}, path)
    return _register_test_model(
        path, FER_WEIGHTS, f"VGG19-FER at width {width}", config={"width": width}
    )


def build_scenes_model(
    folder: Path, *, layers: tuple[int, ...] = (1, 1, 1, 1), width_per_group: int = 8
) -> tuple[str, Path]:
    """Save a small random bottleneck ResNet in the Places365 release's layout
    (``{"state_dict": {"module.<key>": ...}}``) and register it."""
    import torch

    spec = wts.KNOWN_WEIGHTS[PLACES_WEIGHTS]
    config = {"layers": list(layers), "width_per_group": width_per_group}
    state = {f"module.{k}": v for k, v in build_scene_network(config).state_dict().items()}
    path = Path(folder) / spec.file_name
    torch.save({"epoch": 0, "arch": "resnet", "state_dict": state, "best_prec1": 0.0}, path)
    return _register_test_model(
        path, PLACES_WEIGHTS, f"ResNet{layers} width {width_per_group}", config=config
    )


def build_objects_model(folder: Path) -> tuple[str, Path]:
    """Save an untrained SSDlite320 COCO detector as a plain state dict (torchvision's
    release layout) and register it under the default name."""
    import torch

    spec = wts.KNOWN_WEIGHTS[DEFAULT_DETECTOR]
    path = Path(folder) / spec.file_name
    torch.save(build_detector(spec.architecture).state_dict(), path)
    return _register_test_model(path, DEFAULT_DETECTOR, "SSDlite320 MobileNetV3")


def build_actions_model(folder: Path, *, width: float = 0.0625) -> tuple[str, Path]:
    """Save a small random I3D (same structure, ``width`` x channels) as a bare
    state dict (the public port's layout) and register it."""
    import torch

    from muvi.features.nets.i3d import InceptionI3d

    spec = wts.KNOWN_WEIGHTS[I3D_WEIGHTS]
    path = Path(folder) / spec.file_name
    net = InceptionI3d(width=width)
    # He initialisation keeps activations alive through the 20-odd layers, so the
    # random test network's output still depends on its input (PyTorch's default
    # initialisation shrinks them to nothing and every clip gets the same output).
    for module in net.modules():
        if isinstance(module, torch.nn.Conv3d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(net.state_dict(), path)
    return _register_test_model(path, I3D_WEIGHTS, f"I3D at width {width}", config={"width": width})


_BUILDERS: Final[dict[str, Callable[[Path], tuple[str, Path]]]] = {
    "faces": build_faces_model,
    "scenes": build_scenes_model,
    "objects": build_objects_model,
    "actions": build_actions_model,
}


def build_test_weights(
    weights_dir: str | Path,
    families: Iterable[str] = ("faces", "scenes", "objects", "actions"),
    *,
    seed: int = 0,
) -> dict[str, Path]:
    """Build small models of the real architectures and register them.

    Args:
        weights_dir: the folder to write into (created if needed).
        families: which of faces, scenes, objects, actions to build.
        seed: torch seed of the random initialisation.

    Returns:
        weights name -> the file written.

    Raises:
        MuviError: a family without a test model.
    """
    import torch

    folder = Path(weights_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for family in families:
        if family not in _BUILDERS:
            raise MuviError(
                f"no test model for family {family!r} (choose from {', '.join(_BUILDERS)})"
            )
        torch.manual_seed(seed)
        name, path = _BUILDERS[family](folder)
        written[name] = path
    return written
