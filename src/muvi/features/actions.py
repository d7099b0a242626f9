"""Actions: Kinetics-400 class probabilities per shot (I3D), broadcast to 500 ms rows.

The excerpt is cut into shots (:mod:`muvi.features.shots`, PySceneDetect);
the scan records which frames make each shot's clip, and a second decoding
pass converts only those frames to RGB (converting every frame cost more than
the rest of the family). Clip sampling, per shot:

- frames are resampled to ``clip_fps`` (25 fps, the rate of Kinetics and of
  the released I3D), each scaled so its short side is ``clip_size * 256/224``
  and centre-cropped to ``clip_size`` x ``clip_size`` (224 for the release);
- ``clip_frames`` consecutive frames (32 by default, 1.28 s; the release was
  trained on 64) are taken around the middle of the shot; a shot shorter than
  that is stretched by repeating its frames evenly;
- pixels are scaled to [-1, 1] and the I3D network
  (:class:`muvi.features.nets.i3d.InceptionI3d`, weights ``i3d-kinetics400``)
  gives logits; their softmax is the shot's probabilities.

Every 500 ms row gets the probabilities of the shot that contains its time:
columns ``actions__000`` .. ``actions__399`` (Kinetics-400 label order).

Examples:
    >>> clip_indices(100, 32)[:3].tolist(), clip_indices(100, 32)[-1]
    ([34, 35, 36], np.int64(65))
    >>> clip_indices(4, 8).tolist()
    [0, 0, 1, 1, 2, 2, 3, 3]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from muvi.data.schema import N_KINETICS400_CLASSES
from muvi.errors import DataError
from muvi.features import weights as wts
from muvi.features.registry import Extractor, family_columns, register
from muvi.features.shots import ShotConfig, ShotScan, detect_shots, shot_of_times

if TYPE_CHECKING:
    from muvi.features.excerpt import ExcerptMedia

I3D_WEIGHTS: Final = "i3d-kinetics400"


@dataclass(frozen=True)
class ActionsConfig:
    """Action recognition settings.

    Attributes:
        weights: the I3D weights name.
        clip_frames: frames per clip given to I3D.
        clip_fps: frame rate the clip is sampled at.
        clip_size: side of the square crop (224 for the release).
        shots: shot detection settings.
        batch_size: shot clips per I3D forward pass.
    """

    weights: str = I3D_WEIGHTS
    clip_frames: int = 32
    clip_fps: float = 25.0
    clip_size: int = 224
    shots: ShotConfig = field(default_factory=ShotConfig)
    batch_size: int = 4


def actions_columns() -> list[str]:
    """The actions family's columns, in file order (registered in :mod:`muvi.data.schema`)."""
    return family_columns("actions")


def clip_indices(n_frames: int, clip_frames: int) -> np.ndarray:
    """Which of a shot's ``n_frames`` frames form its clip of ``clip_frames``.

    Consecutive frames centred in the shot; a shorter shot repeats frames evenly.
    """
    if n_frames <= 0:
        raise ValueError("a shot needs at least one frame")
    if n_frames >= clip_frames:
        first = (n_frames - clip_frames) // 2
        return np.arange(first, first + clip_frames)
    return (np.arange(clip_frames) * n_frames) // clip_frames


def _build(spec: wts.WeightsSpec, checkpoint: Any) -> Any:
    from muvi.features.nets.i3d import InceptionI3d

    model = InceptionI3d(width=float(spec.config.get("width", 1.0)))
    model = wts.load_into(model, wts.state_dict_from_checkpoint(checkpoint), spec)
    # checked against the checkpoint layout above; from here on only inference
    return model.eval().fuse_batch_norm()


class _ClipTimes:
    """Records the times of the frames sampled at ``clip_fps`` during the shot scan.

    Only the times are kept: converting every frame of the video to RGB would
    cost more than the rest of the actions family together, and only
    ``clip_frames`` frames per shot are used (:func:`read_clip_frames` converts
    those after the scan).
    """

    def __init__(self, clip_fps: float) -> None:
        self.clip_fps = clip_fps
        self.times: list[float] = []
        self._next = 0.0

    def __call__(self, t: float, frame: Any) -> None:
        if t + 1e-6 < self._next:
            return
        self._next = max(self._next + 1.0 / self.clip_fps, t)
        self.times.append(t)


def clip_times(scan: ShotScan, sampled: np.ndarray, clip_frames: int) -> list[np.ndarray]:
    """The frame times (s from the start) of each shot's clip.

    Args:
        scan: the shots.
        sampled: times of the frames sampled at ``clip_fps``, ascending.
        clip_frames: frames per clip.

    Returns:
        One array of ``clip_frames`` times per shot (repeated times for short shots).

    Examples:
        >>> from muvi.features.shots import Shot
        >>> scan = ShotScan([1.0], [Shot(0.0, 1.0), Shot(1.0, 2.0)], 2.0, 4.0, 8)
        >>> [c.tolist() for c in clip_times(scan, np.arange(8) * 0.25, 2)]
        [[0.25, 0.5], [1.25, 1.5]]
    """
    out = []
    for shot in scan.shots:
        inside = np.flatnonzero((sampled >= shot.start - 1e-6) & (sampled < shot.end - 1e-6))
        if len(inside) == 0:  # a shot shorter than one clip frame: its nearest frame
            inside = np.array([int(np.argmin(np.abs(sampled - shot.start)))])
        out.append(sampled[inside[clip_indices(len(inside), clip_frames)]])
    return out


def _clip_image(frame: Any, size: int) -> np.ndarray:
    """Scale so the short side is ``size * 256/224``, then centre-crop ``size`` x ``size``."""
    short = round(size * 256 / 224)
    w, h = int(frame.width), int(frame.height)
    scale = short / min(w, h)
    sw, sh = max(size, round(w * scale)), max(size, round(h * scale))
    img = frame.to_ndarray(format="rgb24", width=sw, height=sh)
    top, left = (sh - size) // 2, (sw - size) // 2
    return np.ascontiguousarray(img[top : top + size, left : left + size])


def read_clip_frames(
    path: str | Path, start: float, times: np.ndarray, size: int
) -> dict[float, np.ndarray]:
    """Decode the frames at ``times`` (s from ``start``, as the shot scan timed them).

    One sequential pass from the first requested time to the last; only the
    requested frames are converted to RGB (scaled and centre-cropped as
    :func:`_clip_image`). A requested time matches the decoded frame whose time
    is nearest (the scan and this pass see the same frame times).

    Returns:
        time -> uint8 (size, size, 3) frame, for every distinct requested time.

    Raises:
        DataError: the video cannot be decoded or ends before a requested frame.
    """
    import av

    wanted = np.unique(np.asarray(times, dtype=np.float64))
    out: dict[float, np.ndarray] = {}
    if len(wanted) == 0:
        return out
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as err:
        raise DataError(f"not a readable media file ({type(err).__name__})", file=path) from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        period = 1.0 / float(rate) if rate else 0.04
        first = start + float(wanted[0])
        if first > 2.0:
            container.seek(int((first - 1.0) * 1_000_000), backward=True, any_frame=False)
        k = 0
        previous = -np.inf
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else previous + period
                previous = t
                rel = t - start
                while k < len(wanted) and wanted[k] < rel - 0.5 * period:
                    k += 1  # not a frame time of this pass (cannot happen for scan times)
                if k >= len(wanted):
                    break
                if abs(rel - wanted[k]) <= 0.5 * period:
                    out[float(wanted[k])] = _clip_image(frame, size)
                    k += 1
                    if k >= len(wanted):
                        break
        except av.FFmpegError as err:
            raise DataError(
                f"video could not be decoded ({type(err).__name__})", file=path
            ) from None
    missing = [float(t) for t in wanted if float(t) not in out]
    if missing:
        raise DataError(
            f"no video frame at {start + missing[0]:.3f} s for the action clip", file=path
        )
    return out


def shot_probabilities(clips: list[np.ndarray], model: Any, *, batch_size: int = 4) -> np.ndarray:
    """Kinetics probabilities (n_shots, 400) of each shot's clip.

    Args:
        clips: per shot, uint8 RGB frames (T, H, W, 3), all of one shape.
        model: the I3D network in eval mode.
        batch_size: clips per forward pass.

    Returns:
        float (len(clips), 400); rows sum to 1.
    """
    import torch

    out = np.zeros((len(clips), N_KINETICS400_CLASSES))
    with torch.inference_mode():
        for lo in range(0, len(clips), batch_size):
            batch = np.stack(clips[lo : lo + batch_size])  # (B, T, H, W, 3)
            x = torch.from_numpy(batch).permute(0, 4, 1, 2, 3).float().div_(127.5).sub_(1.0)
            out[lo : lo + len(batch)] = torch.softmax(model(x), dim=1).double().numpy()
    return out


def action_probabilities(
    path: str | Path,
    times: np.ndarray,
    *,
    start: float = 0.0,
    duration: float | None = None,
    weights_dir: str | Path | None = None,
    config: ActionsConfig = ActionsConfig(),
) -> tuple[pd.DataFrame, ShotScan]:
    """Shots and their action probabilities, one row per requested time.

    Args:
        path: the video file.
        times: row times relative to ``start`` (e.g. 0, 0.5, ...).
        start: excerpt start in the file (s).
        duration: excerpt length (s); None reads to the end.
        weights_dir: the weights folder.
        config: settings.

    Returns:
        (DataFrame indexed by ``sample`` with columns :func:`actions_columns`,
        the :class:`muvi.features.shots.ShotScan` with the shots found).

    Raises:
        WeightsError: I3D weights missing or corrupt.
        DataError: the video cannot be read.
    """
    model = wts.load_model(config.weights, weights_dir, _build)
    sampler = _ClipTimes(config.clip_fps)
    scan = detect_shots(path, start, duration, config.shots, frame_sink=sampler)
    per_shot = clip_times(scan, np.asarray(sampler.times), config.clip_frames)
    frames = read_clip_frames(path, start, np.concatenate(per_shot), config.clip_size)
    clips = [np.stack([frames[float(t)] for t in shot]) for shot in per_shot]
    probs = shot_probabilities(clips, model, batch_size=config.batch_size)
    rows = probs[shot_of_times(np.asarray(times, dtype=np.float64), scan.shots)]
    frame = pd.DataFrame(
        rows, columns=actions_columns(), index=pd.RangeIndex(len(rows), name="sample")
    )
    return frame, scan


def _run(media: ExcerptMedia) -> pd.DataFrame:
    frame, _ = action_probabilities(
        media.path,
        media.times,
        start=media.start,
        duration=media.duration,
        weights_dir=media.weights_dir,
    )
    return frame


ACTIONS = register(
    Extractor(
        name="actions",
        family="actions",
        kind="video",
        columns=actions_columns,
        run=_run,
        needs_weights=True,
        description="shots (PySceneDetect) and I3D Kinetics-400 probabilities per shot",
    )
)
