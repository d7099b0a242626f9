"""Damaged extraction caches through `muvi extract`: a damaged entry is not an
error but is recomputed, with one note naming it; the features written equal
those of an undamaged run, and no traceback is shown."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from corpus_helpers import fingerprint
from videogen import BLUE, RED, tone, write_video


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A clip and an output folder holding its cached colour and audio features."""
    from muvi.features.batch import extract_batch

    folder = tmp_path_factory.mktemp("cache")
    clip = write_video(folder / "clip.mp4", [(1.0, RED), (1.0, BLUE)], tone(2.0)).path
    extract_batch([clip], folder / "out", features="audio,colour")
    return clip, folder / "out"


def _entry(name: str) -> str:
    return f"cache/clip/{name}"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x80\x04\x95garbage that is no archive" * 8)


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _nan_shape(path: Path) -> None:
    np.savez(path.with_suffix(""), values=np.zeros((2, 3)), columns=np.array(["a", "b", "c"]))


def _text_values(path: Path) -> None:
    with np.load(path) as arrays:
        columns = arrays["columns"]
        values = arrays["values"]
    np.savez(path.with_suffix(""), values=values.astype(str), columns=columns)


CASES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("colour-truncated", "colour.npz", _truncate, "colour.npz is damaged"),
    ("colour-garbage", "colour.npz", _garbage, "colour.npz is damaged"),
    ("audio-zero-bytes", "audio.npz", _zero, "audio.npz is damaged (empty file)"),
    ("audio-a-folder", "audio.npz", _folder, "audio.npz is damaged (a folder, not a file)"),
    ("colour-other-columns", "colour.npz", _nan_shape, "its columns differ"),
    ("colour-text-values", "colour.npz", _text_values, "expected floats"),
    ("index-truncated", "source.json", _truncate, "source.json is damaged"),
]


@pytest.mark.parametrize(
    ("entry", "damage", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_damaged_cache_entry_is_recomputed_with_one_note(  # type: ignore[no-untyped-def]
    extracted: tuple[Path, Path], tmp_path: Path, cli, entry: str, damage, words: str
) -> None:
    clip, good = extracted
    out = Path(shutil.copytree(good, tmp_path / "out"))
    outputs = fingerprint(out / "emobase_features", out / "combined_visual_features.csv")
    damage(out / _entry(entry))
    result = cli(["extract", clip, "--out", out, "--features", "audio,colour"])
    assert result.code == 0, result.err
    assert "Traceback" not in result.out + result.err
    notes = [line for line in result.err_lines if line.startswith("note:")]
    assert len(notes) == 1 and words in notes[0], result.err_lines
    assert "0 from the cache" in result.err
    assert fingerprint(out / "emobase_features", out / "combined_visual_features.csv") == outputs
    again = cli(["extract", clip, "--out", out, "--features", "audio,colour"])
    assert "1 from the cache" in again.err and "note:" not in again.err  # repaired
