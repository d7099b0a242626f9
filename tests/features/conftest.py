"""Fixtures that generate small music videos with PyAV for the feature tests.

Shared by the audio/colour/lighting tests and the neural visual extractors'
tests. ``make_video(path, segments, audio, fps=, size=, pattern=)`` writes any
clip (see :func:`videogen.write_video`); the named fixtures below are the
common ones. Each returns a :class:`videogen.GeneratedVideo` describing what
was written (path, duration, frame rate, size, cut times, where the music
starts, the audio samples).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from videogen import (
    BLACK,
    BLUE,
    GREEN,
    GREY,
    RED,
    WHITE,
    GeneratedVideo,
    silence,
    tone,
    write_video,
)


@pytest.fixture(scope="session")
def make_video() -> Callable[..., GeneratedVideo]:
    """The :func:`write_video` function, for tests that need their own clip.

    Examples (in a test)::

        clip = make_video(tmp_path / "a.mp4", [(2.0, RED)], tone(2.0))
    """
    return write_video


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide folder for the named clips below."""
    return tmp_path_factory.mktemp("generated_media")


@pytest.fixture(scope="session")
def red_blue_video(media_dir: Path) -> GeneratedVideo:
    """2.0 s red then 2.0 s blue (a hard cut at 2.0 s), a 440 Hz tone throughout."""
    return write_video(media_dir / "red_blue.mp4", [(2.0, RED), (2.0, BLUE)], tone(4.0))


@pytest.fixture(scope="session")
def silent_intro_video(media_dir: Path) -> GeneratedVideo:
    """3.0 s of digital silence, then 3.0 s of a 440 Hz tone; grey frames."""
    audio = np.concatenate([silence(3.0), tone(3.0, amplitude=0.4)])
    return write_video(media_dir / "silent_intro.mp4", [(6.0, GREY)], audio)


@pytest.fixture(scope="session")
def loud_quiet_video(media_dir: Path) -> GeneratedVideo:
    """2.0 s of a loud tone (amplitude 0.8) then 2.0 s of a quiet one (0.02)."""
    audio = np.concatenate([tone(2.0, amplitude=0.8), tone(2.0, amplitude=0.02)])
    return write_video(media_dir / "loud_quiet.mp4", [(4.0, GREY)], audio)


@pytest.fixture(scope="session")
def cuts_video(media_dir: Path) -> GeneratedVideo:
    """Hard cuts at 2.0, 4.0 and 6.0 s (red, green, blue, white shots of 2 s),
    a moving square inside each shot, 25 fps, 128x96, a tone throughout."""
    return write_video(
        media_dir / "cuts.mp4",
        [(2.0, RED), (2.0, GREEN), (2.0, BLUE), (2.0, WHITE)],
        tone(8.0),
        fps=25,
        size=(128, 96),
        pattern=True,
    )


@pytest.fixture(scope="session")
def audioless_video(media_dir: Path) -> GeneratedVideo:
    """2.0 s of red frames and no audio stream."""
    return write_video(media_dir / "no_audio.mp4", [(2.0, RED)], None)


@pytest.fixture(scope="session")
def corrupt_video(media_dir: Path) -> Path:
    """A file named .mp4 whose bytes are not a media container."""
    path = media_dir / "corrupt.mp4"
    rng = np.random.default_rng(0)
    path.write_bytes(b"not a video\n" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


@pytest.fixture(scope="session")
def minute_video(media_dir: Path) -> GeneratedVideo:
    """61.5 s: 1.0 s of silence then a tone; colour shots of 10 s (red, green,
    blue, ...); 2 fps, 32x24: a full 60 s excerpt (120 rows) that is cheap to decode."""
    colours = [RED, GREEN, BLUE, WHITE, BLACK, GREY, RED]
    segments = [(10.0, c) for c in colours[:6]] + [(1.5, colours[6])]
    audio = np.concatenate([silence(1.0), tone(60.5, freq=330.0, amplitude=0.3)])
    return write_video(media_dir / "minute.mp4", segments, audio, fps=2, size=(32, 24))
