"""Shots: hard cuts found with PySceneDetect's ContentDetector.

The video is decoded once with PyAV from the excerpt's start; every frame
(scaled down to at most ``detect_width`` pixels wide, as PySceneDetect does by
default) is fed to :class:`scenedetect.ContentDetector`, which scores the
change in hue, saturation, brightness and edges from the previous frame and
reports a cut where the score exceeds ``threshold`` (its default, 27). A cut
is reported at the time of the first frame of the new shot, so it is exact to
one frame. Callers that need the frames too (the action model) pass a
``frame_sink`` and get each decoded frame during the same pass.

Examples:
    >>> shots = shots_from_cuts([2.0, 4.0], 6.0)
    >>> [(s.start, s.end) for s in shots]
    [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    >>> shot_of_times(np.array([0.0, 1.5, 2.0, 5.5]), shots).tolist()
    [0, 0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from muvi.errors import DataError

FrameSink = Callable[[float, Any], None]
"""``sink(time_from_start_s, av.VideoFrame)``, called for every decoded frame."""


@dataclass(frozen=True)
class ShotConfig:
    """Shot detection settings (PySceneDetect's defaults).

    Attributes:
        threshold: ContentDetector threshold on the frame-change score.
        min_shot_s: shortest shot; closer cuts are merged (PySceneDetect: 15 frames).
        detect_width: frames are scaled down to this width for detection.
    """

    threshold: float = 27.0
    min_shot_s: float = 0.6
    detect_width: int = 256


@dataclass(frozen=True)
class Shot:
    """One shot, in seconds from the excerpt's start: ``[start, end)``."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ShotScan:
    """What one decoding pass found.

    Attributes:
        cuts: times of the first frame of every new shot (s from the start).
        shots: the shots covering ``[0, end)``.
        end: time just after the last decoded frame (s from the start).
        fps: the video stream's frame rate.
        n_frames: frames decoded.
    """

    cuts: list[float]
    shots: list[Shot]
    end: float
    fps: float
    n_frames: int


def shots_from_cuts(cuts: Sequence[float], end: float) -> list[Shot]:
    """Shots between consecutive cut times, from 0 to ``end``."""
    bounds = [0.0, *[float(c) for c in cuts if 0.0 < c < end], float(end)]
    return [Shot(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def shot_of_times(times: np.ndarray, shots: Sequence[Shot]) -> np.ndarray:
    """Index of the shot that contains each time (times past the end get the last shot)."""
    if not shots:
        raise ValueError("no shots")
    starts = np.asarray([s.start for s in shots])
    return np.clip(np.searchsorted(starts, np.asarray(times), side="right") - 1, 0, len(shots) - 1)


def detect_shots(
    path: str | Path,
    start: float = 0.0,
    duration: float | None = None,
    config: ShotConfig = ShotConfig(),
    *,
    frame_sink: FrameSink | None = None,
) -> ShotScan:
    """Find the hard cuts of a video between ``start`` and ``start + duration``.

    Args:
        path: the video file.
        start: where to begin (s from the beginning of the file).
        duration: how much to scan (s); None scans to the end.
        config: detection settings.
        frame_sink: called with every decoded frame (see :data:`FrameSink`).

    Returns:
        A :class:`ShotScan`; times are relative to ``start``.

    Raises:
        DataError: the file is missing, not a video, or cannot be decoded.
    """
    import av
    from scenedetect import ContentDetector, FrameTimecode

    path = Path(path)
    if not path.is_file():
        raise DataError("no such video file", file=path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as err:
        raise DataError(f"not a readable media file ({type(err).__name__})", file=path) from None
    with container:
        if not container.streams.video:
            raise DataError("has no video stream", file=path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 25.0
        width = int(stream.codec_context.width)
        height = int(stream.codec_context.height)
        scale = min(1.0, config.detect_width / max(1, width))
        detect_w = max(2, 2 * round(width * scale / 2))
        detect_h = max(2, 2 * round(height * scale / 2))
        detector = ContentDetector(
            threshold=config.threshold, min_scene_len=max(1, round(config.min_shot_s * fps))
        )
        if start > 2.0:
            container.seek(int((start - 1.0) * 1_000_000), backward=True, any_frame=False)
        stop = None if duration is None else start + duration
        times: list[float] = []
        cut_frames: list[int] = []
        previous = -np.inf
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else previous + 1.0 / fps
                previous = t
                if t < start - 0.5 / fps:
                    continue
                if stop is not None and t >= stop - 1e-6:
                    break
                index = len(times)
                times.append(t - start)
                bgr = frame.to_ndarray(format="bgr24", width=detect_w, height=detect_h)
                cut_frames += [
                    c.frame_num for c in detector.process_frame(FrameTimecode(index, fps), bgr)
                ]
                if frame_sink is not None:
                    frame_sink(t - start, frame)
        except av.FFmpegError as err:
            raise DataError(
                f"video could not be decoded ({type(err).__name__})", file=path
            ) from None
        if not times:
            raise DataError(f"no video frames after {start:.2f} s", file=path)
        cut_frames += [
            c.frame_num for c in detector.post_process(FrameTimecode(len(times) - 1, fps))
        ]
    end = times[-1] + 1.0 / fps
    cuts = sorted({times[i] for i in cut_frames if 0 < i < len(times)})
    return ShotScan(
        cuts=cuts, shots=shots_from_cuts(cuts, end), end=end, fps=fps, n_frames=len(times)
    )
