"""Decoding with PyAV: stream info, audio at the right times, the frame nearest each time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from videogen import BLUE, GREEN, RED, WHITE, GeneratedVideo

from muvi.errors import DataError
from muvi.features.media import iter_frames, probe, read_audio, read_frames


def _is(colour: tuple[int, int, int], pixel: np.ndarray) -> bool:
    # H.264 in yuv420p moves a saturated primary by a few levels at most
    return bool(np.all(np.abs(pixel.astype(int) - np.asarray(colour)) <= 6))


def test_probe_describes_the_generated_clip(red_blue_video: GeneratedVideo) -> None:
    info = probe(red_blue_video.path)
    assert info.has_audio and info.has_video
    assert info.duration == pytest.approx(4.0, abs=0.1)
    assert info.fps == pytest.approx(10.0)
    assert (info.width, info.height) == (64, 48)
    assert info.sample_rate == 16000


def test_read_audio_returns_the_written_samples_at_the_right_time(
    red_blue_video: GeneratedVideo,
) -> None:
    samples, sr = read_audio(red_blue_video.path, start=1.0, duration=1.0)
    assert sr == 16000 and samples.dtype == np.float32 and len(samples) == 16000
    written = red_blue_video.audio[16000:32000]
    # a 440 Hz tone shifted by one sample would correlate at cos(2 pi 440 / 16000) = 0.985
    assert np.corrcoef(samples, written)[0, 1] > 0.995
    assert np.sqrt(np.mean(samples**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_read_audio_resamples(red_blue_video: GeneratedVideo) -> None:
    samples, sr = read_audio(red_blue_video.path, 0.5, 2.0, sr=8000)
    assert sr == 8000 and len(samples) == 16000


def test_frames_nearest_each_time(red_blue_video: GeneratedVideo) -> None:
    # frames at 0.0, 0.1, ... 3.9 s; the cut to blue is at 2.0 s
    times = [0.0, 1.5, 1.94, 1.96, 2.0, 3.5]
    frames = read_frames(red_blue_video.path, times)
    assert frames.shape == (6, 48, 64, 3) and frames.dtype == np.uint8
    expected = [RED, RED, RED, BLUE, BLUE, BLUE]  # 1.94 is nearer 1.9 (red), 1.96 nearer 2.0
    assert [_is(c, f[10, 10]) for c, f in zip(expected, frames, strict=True)] == [True] * 6


def test_frames_after_a_seek(cuts_video: GeneratedVideo) -> None:
    # red 0-2, green 2-4, blue 4-6, white 6-8 s; a first time after 2 s seeks
    frames = read_frames(cuts_video.path, [2.5, 5.0, 6.5, 7.96])
    for colour, frame in zip([GREEN, BLUE, WHITE, WHITE], frames, strict=True):
        assert _is(colour, frame[-10, -10])


def test_frames_scaled_down(cuts_video: GeneratedVideo) -> None:
    frames = read_frames(cuts_video.path, [0.0, 1.0], max_height=48)
    assert frames.shape == (2, 48, 64, 3)


def test_no_frame_past_the_end(red_blue_video: GeneratedVideo) -> None:
    got = [t for t, _ in iter_frames(red_blue_video.path, [3.9, 3.95, 5.0])]
    assert got == [3.9, 3.95]
    with pytest.raises(DataError, match="ends before 5.00 s"):
        read_frames(red_blue_video.path, [3.9, 5.0])


def test_corrupt_file_is_a_clear_error(corrupt_video: Path) -> None:
    with pytest.raises(DataError, match=r"corrupt\.mp4: is not a readable media file"):
        probe(corrupt_video)
    with pytest.raises(DataError, match=r"corrupt\.mp4"):
        read_frames(corrupt_video, [0.0])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nothing.mp4: file not found"):
        probe(tmp_path / "nothing.mp4")


def test_audioless_video_is_a_clear_error(audioless_video: GeneratedVideo) -> None:
    assert not probe(audioless_video.path).has_audio
    with pytest.raises(DataError, match=r"no_audio\.mp4: has no audio stream"):
        read_audio(audioless_video.path)


def test_audio_file_has_no_video_stream(realmusic_dir: Path) -> None:
    mp3 = realmusic_dir / "2.mp3"
    info = probe(mp3)
    assert info.has_audio and not info.has_video
    assert info.duration == pytest.approx(45.0, abs=1.0)
    with pytest.raises(DataError, match=r"2\.mp3: has no video stream"):
        read_frames(mp3, [0.0])
