"""Decoding media files with PyAV (FFmpeg's libraries, no external binary).

:func:`probe` describes a file, :func:`read_audio` decodes a stretch of its
audio as mono float32 at a chosen rate, and :func:`iter_frames` /
:func:`read_frames` return the RGB frames nearest a list of times. Frames are
decoded sequentially from one seek and the frame nearest each requested time
is kept, which is far faster than seeking once per time.

Every problem with the file (missing, not a media container, no audio or
video stream, undecodable data) raises :class:`muvi.errors.DataError` naming
the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from muvi.errors import DataError


@dataclass(frozen=True)
class MediaInfo:
    """What a media file contains.

    Attributes:
        duration: seconds (the longest stream).
        fps: average frame rate of the video stream (None without video).
        width, height: frame size in pixels (0 without video).
        has_audio, has_video: whether the streams exist.
        sample_rate: audio sample rate (None without audio).
    """

    duration: float
    fps: float | None
    width: int
    height: int
    has_audio: bool
    has_video: bool
    sample_rate: int | None = None


@contextmanager
def _open(path: str | Path) -> Iterator[Any]:
    import av

    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path)
    if path.is_dir():
        raise DataError("is a folder, not a media file", file=path)
    try:
        container = av.open(str(path))
    except av.FFmpegError as err:
        raise DataError(f"is not a readable media file ({_reason(err)})", file=path) from None
    try:
        yield container
    finally:
        container.close()


def _reason(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return str(text).strip().rstrip(".").split(":")[0] or type(err).__name__


def _seconds(value: Any, time_base: Any) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def probe(path: str | Path) -> MediaInfo:
    """Describe a media file.

    Args:
        path: the file.

    Returns:
        A :class:`MediaInfo`.

    Raises:
        DataError: missing or unreadable file, or a file with neither audio nor video.
    """
    with _open(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise DataError("contains neither an audio nor a video stream", file=path)
        durations = [
            d
            for d in (_seconds(s.duration, s.time_base) for s in (video, audio) if s is not None)
            if d is not None
        ]
        if container.duration is not None:
            durations.append(container.duration / 1_000_000)
        if not durations:
            raise DataError("has no known duration", file=path)
        fps = None
        if video is not None:
            rate = video.average_rate or video.guessed_rate or video.base_rate
            fps = float(rate) if rate else None
        return MediaInfo(
            duration=max(durations),
            fps=fps,
            width=int(video.codec_context.width) if video is not None else 0,
            height=int(video.codec_context.height) if video is not None else 0,
            has_audio=audio is not None,
            has_video=video is not None,
            sample_rate=int(audio.codec_context.sample_rate) if audio is not None else None,
        )


def read_audio(
    path: str | Path, start: float = 0.0, duration: float | None = None, sr: int = 16000
) -> tuple[np.ndarray, int]:
    """Decode a stretch of a file's audio as mono float32.

    Args:
        path: the media file.
        start: seconds from the beginning of the file.
        duration: seconds to read; None reads to the end.
        sr: output sample rate (Hz); channels are mixed down to mono.

    Returns:
        ``(samples, sr)``: samples of shape (n,), n <= duration * sr (the file
        may end earlier).

    Raises:
        DataError: unreadable file, no audio stream, or undecodable audio.

    Examples:
        >>> read_audio("missing.mp4")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        muvi.errors.DataError: missing.mp4: file not found
    """
    import av

    with _open(path) as container:
        if not container.streams.audio:
            raise DataError("has no audio stream", file=path)
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        end = math.inf if duration is None else start + duration
        if start > 1.0:
            container.seek(int((start - 1.0) * 1_000_000), backward=True, any_frame=False)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        try:
            for frame in container.decode(stream):
                t = frame.time
                if t is None:
                    t = (
                        first_time + sum(len(c) for c in chunks) / sr
                        if first_time is not None
                        else 0.0
                    )
                frame_end = t + frame.samples / frame.sample_rate
                if frame_end <= start:
                    continue
                if t >= end:
                    break
                if first_time is None:
                    first_time = t
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as err:
            raise DataError(f"audio could not be decoded ({_reason(err)})", file=path) from None
    if first_time is None or not chunks:
        return np.zeros(0, dtype=np.float32), sr
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    offset = max(0, round((start - first_time) * sr))
    samples = samples[offset:]
    if duration is not None:
        samples = samples[: round(duration * sr)]
    return samples, sr


def iter_frames(
    path: str | Path, times: Sequence[float] | np.ndarray, *, max_height: int | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    """The RGB frame nearest each requested time, decoding sequentially.

    Args:
        path: the video file.
        times: seconds from the beginning of the file, ascending (e.g. the
            500 ms grid of an excerpt).
        max_height: frames taller than this are scaled down, keeping the
            aspect ratio (None keeps the native size).

    Yields:
        ``(time, frame)`` per requested time, frame uint8 of shape (h, w, 3);
        a time after the last frame gets the last frame when it lies within
        one frame period of it, and nothing after that.

    Raises:
        DataError: unreadable file, no video stream, or undecodable video.
    """
    import av

    targets = np.asarray(times, dtype=np.float64)
    if len(targets) == 0:
        return
    if np.any(np.diff(targets) < 0):
        raise ValueError("times must be ascending")
    with _open(path) as container:
        if not container.streams.video:
            raise DataError("has no video stream", file=path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        period = 1.0 / float(rate) if rate else 0.04
        height = int(stream.codec_context.height)
        width = int(stream.codec_context.width)
        size: dict[str, int] = {}
        if max_height is not None and height > max_height:
            scale = max_height / height
            size = {"width": 2 * round(width * scale / 2), "height": max_height}

        def rgb(frame: Any) -> np.ndarray:
            return frame.to_ndarray(format="rgb24", **size)

        if targets[0] > 2.0:
            container.seek(int((targets[0] - 1.0) * 1_000_000), backward=True, any_frame=False)
        k = 0
        previous: Any = None
        previous_time = -math.inf
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else previous_time + period
                while k < len(targets) and t >= targets[k]:
                    # nearest of the frame before and this one
                    if previous is not None and targets[k] - previous_time <= t - targets[k]:
                        yield float(targets[k]), rgb(previous)
                    else:
                        yield float(targets[k]), rgb(frame)
                    k += 1
                if k >= len(targets):
                    return
                previous, previous_time = frame, t
        except av.FFmpegError as err:
            raise DataError(f"video could not be decoded ({_reason(err)})", file=path) from None
        while (
            previous is not None
            and k < len(targets)
            and targets[k] - previous_time <= period + 1e-6
        ):
            yield float(targets[k]), rgb(previous)
            k += 1


def read_frames(
    path: str | Path, times: Sequence[float] | np.ndarray, *, max_height: int | None = None
) -> np.ndarray:
    """All frames of :func:`iter_frames` as one array.

    Returns:
        uint8 array (len(times), h, w, 3).

    Raises:
        DataError: as :func:`iter_frames`, or the video ends before the last time.
    """
    out: np.ndarray | None = None
    count = 0
    for _, frame in iter_frames(path, times, max_height=max_height):
        if out is None:  # one allocation: stacking a list would copy 120 frames again
            out = np.empty((len(times), *frame.shape), dtype=np.uint8)
        out[count] = frame
        count += 1
    if count < len(times):
        last = float(np.asarray(times)[count])
        raise DataError(f"the video ends before {last:.2f} s", file=path)
    if out is None:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    return out
