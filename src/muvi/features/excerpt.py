"""The one-minute excerpt of a music video that features are extracted from.

The study's excerpt starts where the music starts (some videos open with a
silent intro) and lasts 60 s (:data:`muvi.data.schema.EXCERPT_SECONDS`).
:func:`find_music_start` finds the first *sustained* non-silent audio: the
RMS level in 50 ms frames stays above a threshold relative to the file's
loudness for at least 1 s. :func:`load_excerpt` decodes what the extractors
need (audio, the frames at the 500 ms grid) into an :class:`ExcerptMedia`.

Examples:
    >>> import numpy as np
    >>> sr = 16000
    >>> intro = np.zeros(2 * sr, dtype=np.float32)
    >>> music = 0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * sr) / sr)
    >>> find_music_start(np.concatenate([intro, music]), sr)
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from muvi.data.schema import EXCERPT_SECONDS, SAMPLE_PERIOD_S
from muvi.errors import DataError

GRID_TOLERANCE_S = 0.01
"""A last 500 ms window missing less than this much media still counts."""


@dataclass(frozen=True)
class ExcerptConfig:
    """How the excerpt is found and decoded (the study's values as defaults).

    Attributes:
        seconds: excerpt length (the study: 60 s).
        frame_s: RMS frame length for finding the music start (50 ms).
        sustain_s: how long the level must stay above the threshold (1 s).
        threshold_db: threshold relative to the file's loudness (the 95th
            percentile of the frame RMS), in dB.
        floor_dbfs: absolute floor in dB full scale; quieter frames are
            always silence (so a silent file never "starts").
        max_intro_s: the music start is searched in the first this many seconds.
        sr: audio sample rate handed to the extractors (openSMILE: 16 kHz).
        max_frame_height: frames taller than this are scaled down (keeping
            the aspect ratio) to bound memory; None keeps the native size.
    """

    seconds: float = EXCERPT_SECONDS
    frame_s: float = 0.05
    sustain_s: float = 1.0
    threshold_db: float = -30.0
    floor_dbfs: float = -60.0
    max_intro_s: float = 60.0
    sr: int = 16000
    max_frame_height: int | None = 720


@dataclass
class ExcerptMedia:
    """The decoded excerpt handed to every extractor.

    Attributes:
        media_id: the item's id (the file name without suffix by default).
        path: the media file.
        start: where the excerpt starts in the file (s).
        duration: seconds of excerpt covered by the rows (``len(times) * 0.5``).
        times: sample times relative to ``start`` (s): 0.0, 0.5, ...; row k
            covers ``[times[k], times[k] + 0.5)`` and its frame is the one
            nearest ``start + times[k]``.
        frames: RGB uint8 array (n, height, width, 3) of the frames at
            ``start + times``, or None when no frame extractor asked for them.
        audio: mono float32 samples of the excerpt at ``sr`` (exactly
            ``duration * sr`` samples), or None.
        sr: audio sample rate.
        fps: frame rate of the video stream (None without video).
        weights_dir: where extractors that need pretrained weights find them.
        notes: one sentence per thing worth reporting (short excerpt, start
            found or assumed, ...).
    """

    media_id: str
    path: Path
    start: float
    duration: float
    times: np.ndarray
    frames: np.ndarray | None = None
    audio: np.ndarray | None = None
    sr: int = 16000
    fps: float | None = None
    weights_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        """Number of 500 ms rows."""
        return len(self.times)

    def require_frames(self, extractor: str) -> np.ndarray:
        """The decoded frames, for an extractor that cannot run without them.

        Raises:
            RuntimeError: the frames were not decoded (a bug in the caller).
        """
        if self.frames is None:
            raise RuntimeError(f"the {extractor} extractor needs the excerpt's frames")
        return self.frames


def frame_rms(audio: np.ndarray, sr: int, frame_s: float = 0.05) -> np.ndarray:
    """RMS level of consecutive non-overlapping frames.

    Args:
        audio: mono samples, shape (n,).
        sr: sample rate (Hz).
        frame_s: frame length (s).

    Returns:
        RMS per complete frame, shape (n // frame_length,).

    Examples:
        >>> frame_rms(np.ones(1600, dtype=np.float32), 16000, 0.05)
        array([1., 1.])
    """
    hop = max(1, round(frame_s * sr))
    n = len(audio) // hop
    frames = np.asarray(audio[: n * hop], dtype=np.float64).reshape(n, hop)
    return np.sqrt(np.mean(frames**2, axis=1))


def find_music_start(
    audio: np.ndarray, sr: int, config: ExcerptConfig | None = None
) -> float | None:
    """Where the first sustained non-silent audio begins.

    A frame is sounding when its RMS is above both ``threshold_db`` below the
    file's loudness (95th percentile of the frame RMS) and the absolute
    ``floor_dbfs``; the music starts at the first run of sounding frames
    lasting ``sustain_s``. The start is refined inside the first frame of the
    run to the first sample above the threshold.

    Args:
        audio: mono samples, shape (n,).
        sr: sample rate (Hz).
        config: thresholds; :class:`ExcerptConfig` defaults.

    Returns:
        Seconds from the beginning of ``audio``, or None when nothing sounds.
    """
    config = config or ExcerptConfig()
    rms = frame_rms(audio, sr, config.frame_s)
    if len(rms) == 0:
        return None
    loudness = float(np.percentile(rms, 95))
    threshold = max(loudness * 10 ** (config.threshold_db / 20), 10 ** (config.floor_dbfs / 20))
    sounding = rms > threshold
    need = max(1, math.ceil(config.sustain_s / config.frame_s - 1e-9))
    # length of the run of sounding frames starting at each frame
    run = np.zeros(len(rms) + 1, dtype=np.int64)
    for i in range(len(rms) - 1, -1, -1):
        run[i] = run[i + 1] + 1 if sounding[i] else 0
    starts = np.flatnonzero(run[:-1] >= need)
    if len(starts) == 0:
        return None
    first = int(starts[0])
    hop = max(1, round(config.frame_s * sr))
    # the music may begin inside the frame before the run: refine to the sample
    lo = max(0, (first - 1) * hop)
    hi = first * hop + hop
    above = np.flatnonzero(np.abs(audio[lo:hi]) > threshold)
    onset = lo + int(above[0]) if len(above) else first * hop
    return round(onset / sr, 3)


def grid_times(available_s: float, seconds: float = EXCERPT_SECONDS) -> np.ndarray:
    """Sample times (s from the excerpt start) of the complete 500 ms windows.

    Examples:
        >>> grid_times(2.2).tolist()
        [0.0, 0.5, 1.0, 1.5]
        >>> len(grid_times(300.0)), len(grid_times(3.995))
        (120, 8)
    """
    span = min(seconds, max(0.0, available_s))
    # a window short of its end by less than 10 ms (codec padding, a start
    # found a few samples in) still counts; its audio is padded with silence
    n = int(math.floor(span / SAMPLE_PERIOD_S + GRID_TOLERANCE_S / SAMPLE_PERIOD_S))
    return np.arange(n) * SAMPLE_PERIOD_S


def load_excerpt(
    path: str | Path,
    *,
    start: float | None = None,
    media_id: str | None = None,
    kinds: Iterable[str] = ("audio", "frames"),
    weights_dir: str | Path | None = None,
    config: ExcerptConfig | None = None,
    defer_frames: bool = False,
) -> ExcerptMedia:
    """Find and decode the excerpt of a media file.

    Args:
        path: the video (or audio) file.
        start: where the music starts (s); None finds it in the audio
            (:func:`find_music_start`; 0 s when nothing sounds, reported).
        media_id: the item's id; defaults to the file name without suffix.
        kinds: what to decode: ``audio`` and/or ``frames`` (``video`` implies
            ``frames``).
        weights_dir: passed on to the extractors.
        config: :class:`ExcerptConfig`.
        defer_frames: check the video stream but leave ``frames`` None; the
            caller decodes them later with :func:`decode_frames`.

    Returns:
        The :class:`ExcerptMedia`, with one row per complete 500 ms window of
        the excerpt (120 for a full 60 s; fewer for a shorter file, reported
        in ``notes``).

    Raises:
        DataError: the file is missing, unreadable, lacks the stream that is
            needed, or ``start`` is outside it.
    """
    from muvi.features.media import probe, read_audio

    config = config or ExcerptConfig()
    path = Path(path)
    wanted = set(kinds)
    want_audio = "audio" in wanted
    want_frames = bool(wanted & {"frames", "video"})
    info = probe(path)
    notes: list[str] = []
    if want_audio and not info.has_audio:
        raise DataError("has no audio stream, so audio features cannot be extracted", file=path)
    if want_frames and not info.has_video:
        raise DataError("has no video stream, so visual features cannot be extracted", file=path)

    intro_audio: np.ndarray | None = None
    if start is None:
        if info.has_audio:
            search = min(info.duration, config.max_intro_s + config.seconds)
            intro_audio, _ = read_audio(path, 0.0, search, sr=config.sr)
            found = find_music_start(
                intro_audio[: round(config.max_intro_s * config.sr)], config.sr, config
            )
            if found is None:
                start = 0.0
                notes.append(
                    "no sustained sound in the first "
                    f"{config.max_intro_s:g} s: the excerpt starts at 0 s"
                )
            else:
                start = found
                notes.append(f"the music starts at {found:.2f} s")
        else:
            start = 0.0
            notes.append("no audio stream to find the music start: the excerpt starts at 0 s")
    elif start < 0 or not math.isfinite(start):
        raise DataError(f"excerpt start {start} s is not a time in the file", file=path)
    if start >= info.duration:
        raise DataError(
            f"excerpt start {start:.2f} s is at or after the end of the file ({info.duration:.2f} s)",
            file=path,
        )
    times = grid_times(info.duration - start, config.seconds)
    if len(times) == 0:
        raise DataError(f"less than {SAMPLE_PERIOD_S} s of media after {start:.2f} s", file=path)
    duration = len(times) * SAMPLE_PERIOD_S
    if duration < config.seconds:
        notes.append(
            f"the excerpt is {duration:g} s ({len(times)} rows), shorter than {config.seconds:g} s"
        )

    audio = None
    if want_audio:
        n = round(duration * config.sr)
        first = round(start * config.sr)
        if intro_audio is not None and first + n <= len(intro_audio):
            audio = intro_audio[first : first + n].copy()
        else:
            audio, _ = read_audio(path, start, duration, sr=config.sr)
        if len(audio) < n:  # codecs may end a few ms early
            audio = np.concatenate([audio, np.zeros(n - len(audio), dtype=np.float32)])
        audio = audio[:n]

    media = ExcerptMedia(
        media_id=media_id or path.stem,
        path=path,
        start=float(start),
        duration=duration,
        times=times,
        audio=audio,
        sr=config.sr,
        fps=info.fps,
        weights_dir=Path(weights_dir) if weights_dir is not None else None,
        notes=notes,
    )
    if want_frames and not defer_frames:
        decode_frames(media, config)
    return media


def decode_frames(media: ExcerptMedia, config: ExcerptConfig | None = None) -> np.ndarray:
    """Decode the excerpt's frames at its 500 ms grid into ``media.frames``.

    :func:`load_excerpt` calls it when frames are asked for; batch extraction
    calls it itself to decode frames while the audio features are computed.

    Returns:
        The frames, uint8 (n, height, width, 3).

    Raises:
        DataError: the file has no video stream or ends early.
    """
    from muvi.features.media import read_frames

    config = config or ExcerptConfig()
    media.frames = read_frames(
        media.path, media.start + media.times, max_height=config.max_frame_height
    )
    return media.frames
