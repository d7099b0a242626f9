"""Actions: Kinetics-400 class probabilities per shot (I3D), broadcast to 500 ms rows.

The excerpt is cut into shots (:mod:`muvi.features.shots`, PySceneDetect) in
the same decoding pass that collects the frames for the action model. Clip
sampling, per shot:

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

from muvi.data.schema import N_KINETICS400_CLASSES, visual_feature_columns
from muvi.features import weights as wts
from muvi.features.registry import Extractor, register
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
    """

    weights: str = I3D_WEIGHTS
    clip_frames: int = 32
    clip_fps: float = 25.0
    clip_size: int = 224
    shots: ShotConfig = field(default_factory=ShotConfig)


def actions_columns() -> list[str]:
    """The actions family's columns, in file order."""
    return [c for c in visual_feature_columns() if c.startswith("actions__")]


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
    return wts.load_into(model, wts.state_dict_from_checkpoint(checkpoint), spec)


class _ClipFrames:
    """Collects frames at ``clip_fps``, scaled and centre-cropped, during the shot scan."""

    def __init__(self, config: ActionsConfig) -> None:
        self.config = config
        self.times: list[float] = []
        self.frames: list[np.ndarray] = []
        self._next = 0.0

    def __call__(self, t: float, frame: Any) -> None:
        if t + 1e-6 < self._next:
            return
        self._next = max(self._next + 1.0 / self.config.clip_fps, t)
        size = self.config.clip_size
        short = round(size * 256 / 224)
        w, h = int(frame.width), int(frame.height)
        scale = short / min(w, h)
        sw, sh = max(size, round(w * scale)), max(size, round(h * scale))
        img = frame.to_ndarray(format="rgb24", width=sw, height=sh)
        top, left = (sh - size) // 2, (sw - size) // 2
        self.times.append(t)
        self.frames.append(np.ascontiguousarray(img[top : top + size, left : left + size]))


def shot_probabilities(
    scan: ShotScan, clips: _ClipFrames, model: Any, clip_frames: int
) -> np.ndarray:
    """Kinetics probabilities (n_shots, 400) of every shot of a scan."""
    import torch

    times = np.asarray(clips.times)
    out = np.zeros((len(scan.shots), N_KINETICS400_CLASSES))
    for k, shot in enumerate(scan.shots):
        inside = np.flatnonzero((times >= shot.start - 1e-6) & (times < shot.end - 1e-6))
        if len(inside) == 0:  # a shot shorter than one clip frame: its nearest frame
            inside = np.array([int(np.argmin(np.abs(times - shot.start)))])
        chosen = inside[clip_indices(len(inside), clip_frames)]
        clip = np.stack([clips.frames[i] for i in chosen]).astype(np.float32)  # (T, H, W, 3)
        x = torch.from_numpy(clip / 127.5 - 1.0).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
        with torch.inference_mode():
            out[k] = torch.softmax(model(x), dim=1)[0].double().numpy()
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
    clips = _ClipFrames(config)
    scan = detect_shots(path, start, duration, config.shots, frame_sink=clips)
    probs = shot_probabilities(scan, clips, model, config.clip_frames)
    rows = probs[shot_of_times(np.asarray(times, dtype=np.float64), scan.shots)]
    frame = pd.DataFrame(
        rows, columns=actions_columns(), index=pd.RangeIndex(len(rows), name="sample")
    )
    return frame, scan


def build_test_model(folder: Path, *, width: float = 0.0625) -> tuple[str, Path]:
    """Save a small random I3D (same structure, ``width`` x channels) as a bare
    state dict (the public port's layout) and register it (testing aid)."""
    import torch

    from muvi.features.nets.i3d import InceptionI3d

    spec = wts.KNOWN_WEIGHTS[I3D_WEIGHTS]
    path = Path(folder) / spec.file_name
    net = InceptionI3d(width=width)
    # He initialisation keeps activations alive through the 20-odd layers, so the
    # random test network's output still depends on its input (PyTorch's default
    # initialisation shrinks them to nothing and every clip gets the same output).
    for module in net.modules():
        if isinstance(module, torch.nn.Conv3d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(net.state_dict(), path)
    wts.register_weights_file(
        path,
        name=I3D_WEIGHTS,
        family="actions",
        architecture=spec.architecture,
        config={"width": width},
        classes=spec.classes,
        description=f"I3D at width {width}: {wts.TEST_MODEL_NOTE}",
        licence=wts.TEST_MODEL_LICENCE,
        test_model=True,
    )
    return I3D_WEIGHTS, path


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
