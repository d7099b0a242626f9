"""The weights folder, the registry, checked loading, fetching and `muvi weights`."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from muvi.cli import main
from muvi.errors import WeightsError
from muvi.features import weights as wts
from muvi.features.registry import family_names


def test_default_folder_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MUVI_WEIGHTS", str(tmp_path))
    assert wts.default_weights_dir() == tmp_path
    monkeypatch.delenv("MUVI_WEIGHTS")
    assert wts.default_weights_dir() == Path.home() / ".cache" / "muvi" / "weights"


def test_every_family_has_a_registered_release() -> None:
    families = {s.family for s in wts.KNOWN_WEIGHTS.values()}
    assert families == {"faces", "scenes", "objects", "actions"}
    for spec in wts.KNOWN_WEIGHTS.values():
        assert spec.licence and spec.classes and spec.source
        assert spec.urls or "github.com" in spec.source  # a direct URL or a page to get it from


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert wts.file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert wts.sha256_matches(
        hashlib.sha256(data).hexdigest(), hashlib.sha256(data).hexdigest()[:8]
    )
    assert not wts.sha256_matches(hashlib.sha256(data).hexdigest(), "00000000")
    assert not wts.sha256_matches(
        hashlib.sha256(data).hexdigest(), ""
    )  # too short to mean anything


def test_missing_weights_name_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as err:
        wts.require_weights("places365-resnet50", tmp_path)
    message = str(err.value)
    assert "missing" in message
    assert f"muvi weights fetch places365-resnet50 --weights-dir {tmp_path}" in message
    # no download happened implicitly
    assert not (tmp_path / "resnet50_places365.pth.tar").exists()


def test_weights_without_direct_url_say_how_to_install_by_hand(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"--from FILE") as err:
        wts.require_weights("fer2013-vgg19", tmp_path)
    assert "WuJie1010/Facial-Expression-Recognition.Pytorch" in str(err.value)


def test_corrupt_release_file_is_refused(tmp_path: Path) -> None:
    # torchvision publishes the first 8 hex digits of the sha256 in its file names
    spec = wts.KNOWN_WEIGHTS["coco-ssdlite320"]
    (tmp_path / spec.file_name).write_bytes(b"not the released weights")
    assert wts.weights_status("coco-ssdlite320", tmp_path).state == "corrupt"
    with pytest.raises(WeightsError, match="corrupt") as err:
        wts.load_checkpoint("coco-ssdlite320", tmp_path)
    assert "muvi weights fetch coco-ssdlite320" in str(err.value) and "--force" in str(err.value)


def test_manifest_registers_a_file_and_detects_tampering(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pt"
    torch.save({"w": torch.arange(4.0)}, path)
    manifest = wts.register_weights_file(
        path, name="tiny", family="scenes", architecture="toy", config={"width": 2}
    )
    assert (
        json.loads(manifest.read_text())["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    )
    spec = wts.get_spec("tiny", tmp_path)
    assert spec.config == {"width": 2} and spec.manifest == manifest
    loaded, _ = wts.load_checkpoint("tiny", tmp_path)
    assert torch.equal(loaded["w"], torch.arange(4.0))
    # one changed byte -> corrupt, and the message names the manifest
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="corrupt"):
        wts.load_checkpoint("tiny", tmp_path)


def test_weights_name_a_registered_family(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pt"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(WeightsError, match="unknown feature family 'texture'"):
        wts.register_weights_file(path, name="tiny", family="texture", architecture="toy")
    assert not list(tmp_path.glob("*.muvi-weights.json"))  # nothing registered
    manifest = wts.register_weights_file(path, name="tiny", family="scenes", architecture="toy")
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "family": "texture"}))  # edited by hand
    with pytest.raises(WeightsError, match="unknown feature family 'texture'"):
        wts.get_spec("tiny", tmp_path)
    assert {spec.family for spec in wts.KNOWN_WEIGHTS.values()} <= set(family_names())


def test_manifest_overrides_a_builtin_name(tmp_path: Path) -> None:
    from muvi.testing import build_faces_model as build_test_model

    name, path = build_test_model(tmp_path)
    assert name == "fer2013-vgg19"
    spec = wts.get_spec(name, tmp_path)
    assert spec.test_model and spec.config == {"width": 0.125}
    assert wts.weights_status(name, tmp_path).state == "present"
    # the built-in entry is unchanged elsewhere
    assert wts.get_spec(name, tmp_path / "elsewhere").manifest is None


def test_state_dict_layouts_and_architecture_mismatch(tmp_path: Path) -> None:
    from muvi.features.nets.vgg_fer import FerVgg

    state = FerVgg(width=0.125).state_dict()
    wrapped = {"net": {f"module.{k}": v for k, v in state.items()}, "acc": 0.7}
    unwrapped = wts.state_dict_from_checkpoint(wrapped)
    assert list(unwrapped) == list(state)
    # checkpoints saved by old PyTorch lack the BatchNorm counters: accepted
    old = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    spec = wts.WeightsSpec("x", "faces", "x.t7", "vgg19-fer2013", config={"width": 0.125})
    model = wts.load_into(FerVgg(width=0.125), old, spec)
    assert torch.equal(model.classifier.weight, state["classifier.weight"])
    # a file of another width does not fit: a clear error, not a torch traceback
    with pytest.raises(WeightsError, match="do not fit the vgg19-fer2013 architecture"):
        wts.load_into(FerVgg(width=0.25), state, spec)


# --- fetching ---------------------------------------------------------------------------


@pytest.fixture()
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a folder (stands in for the release host)."""
    root = tmp_path / "served"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def _manifest(folder: Path, name: str, urls: list[str], sha: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "name": name,
        "family": "scenes",
        "file_name": f"{name}.bin",
        "architecture": "toy",
        "urls": urls,
        "sha256": sha,
    }
    (folder / f"{name}{wts.MANIFEST_SUFFIX}").write_text(json.dumps(data))


def test_fetch_downloads_verifies_and_renames(
    tmp_path: Path, file_server: tuple[str, Path]
) -> None:
    url, served = file_server
    payload = b"weights" * 100_000
    (served / "toy.bin").write_bytes(payload)
    folder = tmp_path / "w"
    _manifest(
        folder, "toy", [f"{url}/absent.bin", f"{url}/toy.bin"], hashlib.sha256(payload).hexdigest()
    )
    seen: list[tuple[int, int | None]] = []
    path = wts.fetch_weights("toy", folder, progress=lambda d, t: seen.append((d, t)))
    assert path == folder / "toy.bin" and path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    assert not list(folder.glob("*.part"))
    assert wts.weights_status("toy", folder).state == "present"


def test_fetch_with_wrong_checksum_installs_nothing(
    tmp_path: Path, file_server: tuple[str, Path]
) -> None:
    url, served = file_server
    (served / "toy.bin").write_bytes(b"tampered")
    folder = tmp_path / "w"
    _manifest(folder, "toy", [f"{url}/toy.bin"], "0" * 64)
    with pytest.raises(WeightsError, match="sha256"):
        wts.fetch_weights("toy", folder)
    assert not (folder / "toy.bin").exists()
    assert not list(folder.glob("*.part"))


def test_fetch_offline_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path / "w"
    _manifest(folder, "toy", [f"http://127.0.0.1:{port}/toy.bin"], None)
    with pytest.raises(WeightsError, match=r"cannot be reached .*offline.*--from FILE"):
        wts.fetch_weights("toy", folder, timeout=5)


def test_fetch_from_a_local_file(tmp_path: Path) -> None:
    src = tmp_path / "downloaded.t7"
    src.write_bytes(b"by hand")
    folder = tmp_path / "w"
    path = wts.fetch_weights("fer2013-vgg19", folder, source=src)
    assert path == folder / "fer2013_vgg19_PrivateTest_model.t7" and path.read_bytes() == b"by hand"
    assert wts.weights_status("fer2013-vgg19", folder).state == "unverified"  # no published sha256


# --- command line ------------------------------------------------------------------------


def _cli(args: list[str]) -> int:
    """Run ``muvi ARGS`` in-process; the exit status (0 when it returns)."""
    try:
        main(args)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_cli_weights_list_shows_states(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from muvi.testing import build_faces_model as build_test_model

    build_test_model(tmp_path)
    (tmp_path / wts.KNOWN_WEIGHTS["coco-ssdlite320"].file_name).write_bytes(b"broken")
    assert _cli(["weights", "list", "--weights-dir", str(tmp_path), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["fer2013-vgg19"]["state"] == "present" and rows["fer2013-vgg19"]["test_model"]
    assert rows["coco-ssdlite320"]["state"] == "corrupt"
    assert rows["places365-resnet50"]["state"] == "missing"
    assert rows["i3d-kinetics400"]["path"] == str(tmp_path / "i3d_rgb_imagenet.pt")

    assert _cli(["weights", "list", "--weights-dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    for text in (
        "fer2013-vgg19",
        "present (test model)",
        "corrupt",
        "missing",
        "AGPL-3.0",
        "muvi[yolo]",
    ):
        assert text in table


def test_cli_weights_path_and_fetch_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["weights", "path", "i3d-kinetics400", "--weights-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(tmp_path / "i3d_rgb_imagenet.pt")
    assert "missing" in captured.err

    assert _cli(["weights", "fetch", "fer2013-vgg19", "--weights-dir", str(tmp_path)]) == 2
    assert "--from FILE" in capsys.readouterr().err

    assert _cli(["weights", "path", "no-such-model"]) == 2
    assert "unknown weights 'no-such-model'" in capsys.readouterr().err


def test_cli_fetch_downloads_with_checksum(
    tmp_path: Path, file_server: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = file_server
    payload = b"released weights" * 10_000
    (served / "toy.bin").write_bytes(payload)
    folder = tmp_path / "w"
    _manifest(folder, "toy", [f"{url}/toy.bin"], hashlib.sha256(payload).hexdigest())
    assert _cli(["weights", "fetch", "toy", "--weights-dir", str(folder)]) == 0
    assert (folder / "toy.bin").read_bytes() == payload
    assert str(folder / "toy.bin") in capsys.readouterr().err.replace("\n", "")
    # --from with two names is refused in one sentence
    assert _cli(["weights", "fetch", "toy", "other", "--from", str(folder / "toy.bin")]) == 2
    assert "--from installs one file" in capsys.readouterr().err


def test_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"\x80\x04junk that is not a zip or pickle")
    wts.register_weights_file(path, name="junk", family="scenes", architecture="toy")
    with pytest.raises(WeightsError, match="cannot be read safely as a PyTorch checkpoint"):
        wts.load_checkpoint("junk", tmp_path)


def test_full_unpickling_only_when_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Old checkpoints may pickle a whole module; that needs an explicit opt-in."""
    from muvi.features.nets.vgg_fer import FerVgg

    path = tmp_path / "whole.t7"
    torch.save({"net": FerVgg(width=0.125), "acc": 0.5}, path)
    wts.register_weights_file(path, name="whole", family="faces", architecture="vgg19-fer2013")
    monkeypatch.delenv(wts.TRUST_ENV, raising=False)
    with pytest.raises(WeightsError, match=wts.TRUST_ENV):
        wts.load_checkpoint("whole", tmp_path)
    monkeypatch.setenv(wts.TRUST_ENV, "1")
    obj, _ = wts.load_checkpoint("whole", tmp_path)
    state = wts.state_dict_from_checkpoint(obj)  # a pickled module gives its state dict
    assert "classifier.weight" in state
