"""Damaged media files (`muvi extract`, `muvi predict`) and damaged model bundles
(`muvi predict`): one line naming the file and the problem, exit 2, no traceback,
and the results of an earlier run in --out untouched."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from corpus_helpers import assert_one_clear_line, fingerprint
from videogen import BLUE, RED, tone, write_video


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good clips: a 2 s video with sound, the same without sound, a WAV file."""
    import soundfile

    folder = tmp_path_factory.mktemp("media")
    write_video(folder / "good.mp4", [(1.0, RED), (1.0, BLUE)], tone(2.0))
    write_video(folder / "silent.mp4", [(2.0, RED)], None)
    soundfile.write(folder / "sound.wav", tone(2.0), 16000)
    return folder


def _series(columns: list[str], seed: int):  # type: ignore[no-untyped-def]
    from muvi.models.windows import SeriesSet

    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (6, 24, len(columns))).astype(np.float32)
    return SeriesSet(
        items=[f"item{i}" for i in range(6)],
        features={"visual": values},
        targets=rng.uniform(-1, 1, (6, 24)).astype(np.float32),
        feature_names={"visual": columns},
        samples=np.arange(24),
    )


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LASSO and an LSTM bundle reading the colour and lighting features
    (trained on random numbers: only their files matter here)."""
    from muvi.features.colour import colour_columns
    from muvi.features.lighting import lighting_columns
    from muvi.models.bundle import save_bundle
    from muvi.models.lasso import LassoConfig, LassoRegressor
    from muvi.models.lstm import BlockConfig, LSTMRegressor
    from muvi.models.training import TrainingConfig

    root = tmp_path_factory.mktemp("bundles")
    data = _series(colour_columns() + lighting_columns(), 3)
    lasso = LassoRegressor(("visual",), LassoConfig(inner_folds=3, n_alphas=3)).fit(data)
    save_bundle(lasso, root / "lasso", target_modality="visual", dimension="valence")
    training = TrainingConfig(max_epochs=1, threads=1)
    lstm = LSTMRegressor("visual", BlockConfig(hidden=(4, 4)), training).fit(data)
    save_bundle(lstm, root / "lstm", target_modality="visual", dimension="arousal")
    return root


def _earlier_results(out: Path) -> None:
    out.mkdir()
    (out / "curves.csv").write_text("sample,time\n0,0.0\n", encoding="utf-8")
    (out / "combined_visual_features.csv").write_text("media_id,frame\na,0\n", encoding="utf-8")


# --------------------------------------------------------------------------
# Media files
# --------------------------------------------------------------------------


def _copy(name: str) -> Callable[[Path, Path], Path]:
    def make(media: Path, tmp: Path) -> Path:
        return Path(shutil.copy(media / name, tmp / name))

    return make


def _bytes(name: str, data: bytes) -> Callable[[Path, Path], Path]:
    def make(media: Path, tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    return make


def _truncated(media: Path, tmp: Path) -> Path:
    data = (media / "good.mp4").read_bytes()
    (tmp / "cut.mp4").write_bytes(data[: len(data) * 4 // 10])
    return tmp / "cut.mp4"


def _wav_named_mp4(media: Path, tmp: Path) -> Path:
    return Path(shutil.copy(media / "sound.wav", tmp / "sound.mp4"))


def _folder_named_mp4(media: Path, tmp: Path) -> Path:
    (tmp / "clip.mp4").mkdir()
    return tmp / "clip.mp4"


def _missing(media: Path, tmp: Path) -> Path:
    return tmp / "nowhere.mp4"


# (id, make the input, features, words of the line)
MEDIA: list[tuple[str, Callable[[Path, Path], Path], str, tuple[str, ...]]] = [
    ("zero-bytes", _bytes("zero.mp4", b""), "colour", ("zero.mp4", "not a readable media file")),
    ("truncated-mp4", _truncated, "colour", ("cut.mp4", "not a readable media file")),
    ("garbage", _bytes("noise.mp4", bytes(range(256)) * 40), "colour",
     ("noise.mp4", "not a readable media file")),
    ("text-named-mp4", _bytes("table.mp4", b"media_id,start\na,1\n"), "colour",
     ("table.mp4", "not a readable media file")),
    ("no-audio-stream", _copy("silent.mp4"), "audio,colour", ("silent.mp4", "has no audio stream")),
    ("no-video-stream", _copy("sound.wav"), "colour", ("sound.wav", "video stream")),
    ("wav-named-mp4", _wav_named_mp4, "lighting", ("sound.mp4", "video stream")),
    ("mkv-header-only", _bytes("blank.mkv", b"\x1a\x45\xdf\xa3" + b"\x00" * 64), "colour",
     ("blank.mkv", "not a readable media file")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "features", "words"), [m[1:] for m in MEDIA], ids=[m[0] for m in MEDIA]
)
def test_extract_a_damaged_media_file(  # type: ignore[no-untyped-def]
    media: Path, tmp_path: Path, cli, make, features: str, words: tuple[str, ...]
) -> None:
    video = make(media, tmp_path)
    out = tmp_path / "out"
    _earlier_results(out)
    before = fingerprint(tmp_path)
    result = cli(["extract", video, "--out", out, "--features", features])
    line = assert_one_clear_line(result, *words)
    assert line.startswith("error: nothing was extracted: "), line
    after = fingerprint(tmp_path)
    report = {str(out / "errors.csv"), str(out / "errors.json")}  # this run's error report
    assert {k: v for k, v in after.items() if k not in report} == before


@pytest.mark.parametrize(
    ("make", "words"),
    [(_bytes("zero.mp4", b""), ("zero.mp4", "not a readable media file")),
     (_folder_named_mp4, ("clip.mp4", "is a folder, not a media file")),
     (_missing, ("nowhere.mp4", "file not found")),
     (_copy("sound.wav"), ("sound.wav", "video stream"))],
    ids=["zero-bytes", "a-folder", "missing", "no-video-stream"],
)  # fmt: skip
def test_predict_on_a_damaged_media_file(  # type: ignore[no-untyped-def]
    media: Path, bundles: Path, tmp_path: Path, cli, make, words: tuple[str, ...]
) -> None:
    video = make(media, tmp_path)
    out = tmp_path / "out"
    _earlier_results(out)
    before = fingerprint(tmp_path)
    result = cli(["predict", video, "--model", bundles / "lasso", "--out", out])
    assert_one_clear_line(result, *words)
    assert fingerprint(tmp_path) == before


# --------------------------------------------------------------------------
# Model bundles
# --------------------------------------------------------------------------


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])

    return damage


def _folder(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return damage


def _without_coef(folder: Path) -> None:
    with np.load(folder / "lasso.npz") as arrays:
        kept = {k: arrays[k] for k in arrays.files if k != "coef"}
    np.savez(folder / "lasso", **kept)


def _json(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text, encoding="utf-8")


def _manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:  # type: ignore[type-arg]
    def damage(folder: Path) -> None:
        import json

        manifest = json.loads((folder / "manifest.json").read_text())
        change(manifest)
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return damage


# (id, bundle, damage, words of the line)
BUNDLES: list[tuple[str, str, Callable[[Path], None], tuple[str, ...]]] = [
    ("npz-truncated", "lasso", _truncate("lasso.npz"), ("lasso.npz", "truncated or damaged")),
    ("npz-zero-bytes", "lasso", _write("lasso.npz", b""), ("lasso.npz", "the file is empty")),
    ("npz-missing-key", "lasso", _without_coef, ("lasso.npz", "the array 'coef' is missing")),
    ("npz-a-folder", "lasso", _folder("lasso.npz"), ("lasso.npz", "expected a file, found a folder")),
    ("weights-garbage", "lstm", _write("weights.pt", b"\x80\x02" + b"garbage" * 50),
     ("weights.pt", "not a readable PyTorch weights file")),
    ("weights-zero-bytes", "lstm", _write("weights.pt", b""), ("weights.pt", "the file is empty")),
    ("weights-truncated", "lstm", _truncate("weights.pt"), ("weights.pt", "truncated or damaged")),
    ("weights-a-folder", "lstm", _folder("weights.pt"), ("weights.pt", "found a folder")),
    ("manifest-binary", "lstm", _write("manifest.json", b"\x89PNG\r\n\x1a\n\x00\xff"),
     ("manifest.json", "not a JSON text file")),
    ("manifest-wrong-type", "lasso", _manifest(lambda m: m.update(feature_sets="visual")),
     ("manifest.json", "'feature_sets' must be list, found str")),
    ("manifest-truncated", "lstm", _truncate("manifest.json"), ("manifest.json", "unreadable JSON")),
    ("features-a-folder", "lasso", _folder("features.json"), ("features.json", "found a folder")),
    ("scalers-not-json", "lstm", _json("scalers.json", "{'visual': [1, 2]}"),
     ("scalers.json", "unreadable JSON")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "damage", "words"), [b[1:] for b in BUNDLES], ids=[b[0] for b in BUNDLES]
)
def test_predict_with_a_damaged_bundle(  # type: ignore[no-untyped-def]
    media: Path, bundles: Path, tmp_path: Path, cli, kind: str, damage, words: tuple[str, ...]
) -> None:
    bundle = shutil.copytree(bundles / kind, tmp_path / "bundle")
    damage(bundle)
    out = tmp_path / "out"
    _earlier_results(out)
    before = fingerprint(tmp_path)
    result = cli(["predict", media / "good.mp4", "--model", bundle, "--out", out])
    line = assert_one_clear_line(result, *words)
    assert "aborted" not in line
    assert fingerprint(tmp_path) == before


def test_the_good_bundles_predict(media: Path, bundles: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        ["predict", media / "good.mp4", "--model", bundles, "--out", tmp_path, "--start", "0"]
    )
    assert result.code == 0, result.err
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_the_cases_are_distinct() -> None:
    assert len(MEDIA) + 4 + len(BUNDLES) >= 25
