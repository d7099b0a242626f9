"""Small music videos made with PyAV for the feature tests.

Every clip is made in the test's temporary folder, so its content is known
exactly: solid-colour segments (hard cuts at known times) and an audio track
built from silence and sine tones. :func:`write_video` writes one and returns
a :class:`GeneratedVideo` describing it; ``conftest.py`` wraps the common
clips as fixtures. Import as ``from videogen import ...`` (this folder is on
``sys.path`` while its tests run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RGB = tuple[int, int, int]

RED: RGB = (255, 0, 0)
GREEN: RGB = (0, 255, 0)
BLUE: RGB = (0, 0, 255)
GREY: RGB = (128, 128, 128)
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)

AUDIO_RATE = 16000
"""Sample rate of the generated audio tracks (Hz)."""


@dataclass
class GeneratedVideo:
    """What a generated clip contains.

    Attributes:
        path: the file written.
        duration: seconds of video.
        fps: frame rate of the video stream.
        width, height: frame size in pixels.
        segments: (seconds, RGB colour) per solid-colour segment, in order.
        cut_times: seconds at which the colour changes (hard cuts).
        music_start: seconds of silence before the audio becomes non-silent
            (0.0 when the track starts with sound; None without audio).
        has_audio: whether an audio stream was written.
        audio: the mono float32 samples written (at ``sr``), or None.
        sr: sample rate of ``audio``.
    """

    path: Path
    duration: float
    fps: int
    width: int
    height: int
    segments: list[tuple[float, RGB]]
    cut_times: list[float] = field(default_factory=list)
    music_start: float | None = None
    has_audio: bool = True
    audio: np.ndarray | None = None
    sr: int = AUDIO_RATE


def tone(
    seconds: float, freq: float = 440.0, amplitude: float = 0.5, sr: int = AUDIO_RATE
) -> np.ndarray:
    """A sine tone, mono float32."""
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float, sr: int = AUDIO_RATE) -> np.ndarray:
    """Digital silence, mono float32."""
    return np.zeros(round(seconds * sr), dtype=np.float32)


def write_video(
    path: Path,
    segments: Sequence[tuple[float, RGB]],
    audio: np.ndarray | None = None,
    *,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    sr: int = AUDIO_RATE,
    pattern: bool = False,
) -> GeneratedVideo:
    """Write an H.264/AAC mp4 (or any container PyAV knows from the suffix).

    Args:
        path: output file.
        segments: (seconds, RGB) solid-colour segments, in order.
        audio: mono float samples in [-1, 1] at ``sr``; None writes no audio stream.
        fps: video frame rate.
        size: (width, height), even numbers.
        sr: audio sample rate.
        pattern: draw a small moving white square over the colour (for tests
            that need motion inside a shot); the square covers < 3 % of the frame.

    Returns:
        A :class:`GeneratedVideo` describing the clip.
    """
    import av

    width, height = size
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        vstream = container.add_stream("libx264", rate=fps)
        vstream.width, vstream.height = width, height
        vstream.pix_fmt = "yuv420p"
        vstream.options = {"preset": "ultrafast", "crf": "18"}
        astream = None
        if audio is not None:
            astream = container.add_stream("aac", rate=sr)
            astream.layout = "mono"
        index = 0
        for seconds, colour in segments:
            for _ in range(round(seconds * fps)):
                img = np.empty((height, width, 3), dtype=np.uint8)
                img[:] = np.asarray(colour, dtype=np.uint8)
                if pattern:
                    side = max(2, min(width, height) // 8)
                    x = (index * 2) % (width - side)
                    img[:side, x : x + side] = 255
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = index
                for packet in vstream.encode(frame):
                    container.mux(packet)
                index += 1
        for packet in vstream.encode():
            container.mux(packet)
        if astream is not None and audio is not None:
            samples = np.clip(np.asarray(audio, dtype=np.float32), -1, 1)
            chunk = 1024
            for start in range(0, len(samples), chunk):
                block = samples[start : start + chunk][None, :]
                aframe = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(block), format="fltp", layout="mono"
                )
                aframe.sample_rate = sr
                aframe.pts = start
                for packet in astream.encode(aframe):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)

    cuts: list[float] = []
    elapsed = 0.0
    for (seconds, colour), (_, next_colour) in zip(segments, segments[1:], strict=False):
        elapsed += seconds
        if colour != next_colour:  # consecutive segments of one colour are one shot
            cuts.append(round(elapsed, 6))
    music_start: float | None = None
    if audio is not None:
        loud = np.flatnonzero(np.abs(audio) > 1e-4)
        music_start = float(loud[0] / sr) if len(loud) else None
    return GeneratedVideo(
        path=path,
        duration=sum(s for s, _ in segments),
        fps=fps,
        width=width,
        height=height,
        segments=list(segments),
        cut_times=cuts,
        music_start=music_start,
        has_audio=audio is not None,
        audio=None if audio is None else np.asarray(audio, dtype=np.float32),
        sr=sr,
    )
