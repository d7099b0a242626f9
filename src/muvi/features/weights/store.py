"""The weights store: checksums, the state of each file, fetching and registering.

Nothing is ever downloaded implicitly: ``muvi weights fetch NAME`` downloads a
release (with progress, a sha256 check where the checksum is known, and an
atomic rename), or installs a file downloaded by hand (``--from FILE``). A
missing or corrupt file raises :class:`muvi.errors.WeightsError` whose message
names the command that fixes it.

Examples:
    >>> sha256_matches("a79551df0123", "a79551df")  # torchvision publishes 8-hex prefixes
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muvi.data.schema import feature_families
from muvi.errors import WeightsError
from muvi.features.weights.catalogue import (
    MANIFEST_SUFFIX,
    ProgressCallback,
    WeightsSpec,
    WeightsState,
    fetch_command,
    get_spec,
    known_weights,
    resolve_weights_dir,
)

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


def how_to_get(spec: WeightsSpec, weights_dir: str | Path | None) -> str:
    """The sentence that tells how to get (or rebuild) the file of ``spec``."""
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
            f"{status.path} does not exist; {how_to_get(spec, weights_dir)}"
        )
    if status.state == "corrupt":
        assert status.sha256 is not None and spec.sha256 is not None
        redo = how_to_get(spec, weights_dir)
        if spec.urls:
            redo = f"run `{fetch_command(name, weights_dir)} --force` to download it again"
        raise WeightsError(
            f"weights {name!r} at {status.path} are corrupt: sha256 {status.sha256[:16]}... "
            f"does not match the expected {spec.sha256[:16]}...; {redo}"
        )
    return status


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
    families = [f.name for f in feature_families()]
    if family not in families:
        raise WeightsError(
            f"unknown feature family {family!r} for weights {name!r} "
            f"(registered: {', '.join(families)})"
        )
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
