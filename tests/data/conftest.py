"""Helpers of the dataset-layout tests: short audio files whose loud part
starts at a known moment, to check where the features are taken from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import muvi.features  # noqa: F401  (registers the music layouts' feature extractor)

SR = 16000


def write_tone(path: Path, seconds: float, onset_s: float, freq: float = 440.0) -> Path:
    """A mono 16 kHz WAV: silence (a faint noise) until ``onset_s``, then a loud tone."""
    from scipy.io import wavfile

    n = round(seconds * SR)
    rng = np.random.default_rng(0)
    signal = 1e-4 * rng.standard_normal(n)
    start = round(onset_s * SR)
    t = np.arange(n - start) / SR
    signal[start:] += 0.5 * np.sin(2 * np.pi * freq * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, SR, (signal * 32767).astype(np.int16))
    return path


@pytest.fixture
def tone() -> Callable[..., Path]:
    """:func:`write_tone`."""
    return write_tone


def _first_loud(table: pd.DataFrame, item: str) -> int:
    level = table.xs(item, level="media_id")["pcm_intensity_sma_amean"]
    return int(np.flatnonzero(level.to_numpy() > 100 * level.min() + 1e-6)[0])


@pytest.fixture
def first_loud() -> Callable[[pd.DataFrame, str], int]:
    """The first sample of an item whose emobase mean intensity is clearly above
    the silence before the tone of :func:`write_tone`."""
    return _first_loud
