"""``muvi predict``: valence/arousal curves for a new video from trained bundles.

:func:`predict` checks its options, then runs
:func:`muvi.predict.run_prediction` (features of the video, one curve per
modality with a bundle, the files written, and the agreement with the
user's own ratings when given).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.errors import MuviError
from muvi.progress import ProgressCallback

if TYPE_CHECKING:
    from muvi.predict import Prediction

__all__ = ["PredictOptions", "predict"]


@dataclass(frozen=True)
class PredictOptions:
    """What ``muvi predict`` makes.

    Attributes:
        video: the music video (or audio) file.
        model: a bundle folder from ``muvi train``, or a folder of bundles.
        out: the folder for ``curves.csv``, ``.json``, ``.png``, ``.svg`` and
            ``.pdf`` (None: nothing written).
        start: where the music starts (s); None finds it in the audio.
        weights_dir: pretrained weights folder for the visual extractors.
        modalities: ``music``, ``visual``, ``audiovisual`` (comma separated),
            or ``all``: every modality with a bundle.
        ratings: the user's own 2 Hz ratings to compare the curves with (a CSV,
            or the 1000 Songs files or their folder: :func:`muvi.predict.align_ratings`).
    """

    video: Path
    model: Path
    out: Path | None = None
    start: float | None = None
    weights_dir: Path | None = None
    modalities: str = "all"
    ratings: Path | None = None


def predict(options: PredictOptions, progress: ProgressCallback | None = None) -> Prediction:
    """``muvi predict``: curves at 2 Hz for a new video, per modality.

    Args:
        options: what to predict (:class:`PredictOptions`).
        progress: called with :class:`muvi.progress.ProgressEvent` s (stage ``predict``).

    Returns:
        The :class:`muvi.predict.Prediction`.

    Raises:
        MuviError: an unknown modality or a missing ratings file (before any work);
        BundleError / DataError: see :func:`muvi.predict.run_prediction`.
    """
    from muvi.predict import parse_modalities, run_prediction

    parse_modalities(options.modalities)  # a wrong name fails before any work
    if options.ratings is not None and not Path(options.ratings).exists():
        raise MuviError(f"--ratings {options.ratings}: no such file or folder")
    chosen = options.modalities.strip()
    return run_prediction(
        options.video,
        options.model,
        start=options.start,
        out_dir=options.out,
        weights_dir=options.weights_dir,
        modalities=None if chosen in ("", "all") else chosen,
        ratings=options.ratings,
        progress=progress,
    )
