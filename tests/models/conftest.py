"""Small synthetic studies made here (not the simulator): audio feature 0 is a
slow random walk that drives arousal in every modality; valence depends on it
weakly; the visual features are noise. Everything is seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.data.schema import MODALITIES
from muvi.models.protocol import StudyData

N_SAMPLES = 118


def make_study(n_items: int = 12, seed: int = 0, n_audio: int = 6, n_visual: int = 5) -> StudyData:
    """A synthetic StudyData (features, gold standard) of ``n_items`` items."""
    rng = np.random.default_rng(seed)
    items = [f"item{i:02d}" for i in range(n_items)]
    index = pd.MultiIndex.from_product([items, range(N_SAMPLES)], names=["media_id", "sample"])
    audio = rng.normal(size=(n_items, N_SAMPLES, n_audio))
    drive = np.cumsum(rng.normal(size=(n_items, N_SAMPLES)), axis=1)
    drive = drive / np.abs(drive).max(axis=1, keepdims=True)
    audio[:, :, 0] = drive
    visual = rng.normal(size=(n_items, N_SAMPLES, n_visual))
    audio_names = [f"mfcc_sma[{k}]_amean" for k in range(n_audio)]
    visual_names = [f"colour__hue_{k:02d}" for k in range(n_visual)]
    features = {
        "audio": pd.DataFrame(audio.reshape(-1, n_audio), index=index, columns=audio_names),
        "visual": pd.DataFrame(visual.reshape(-1, n_visual), index=index, columns=visual_names),
    }
    parts = []
    for modality in MODALITIES:
        arousal = 0.8 * drive + 0.05 * rng.normal(size=drive.shape)
        valence = 0.3 * drive + 0.3 * rng.normal(size=drive.shape)
        parts.append(
            pd.DataFrame(
                {
                    "media_id": np.repeat(items, N_SAMPLES),
                    "modality": modality,
                    "sample": np.tile(np.arange(N_SAMPLES), n_items),
                    "valence": valence.reshape(-1),
                    "arousal": arousal.reshape(-1),
                    "valence_std": 0.1,
                    "arousal_std": 0.1,
                }
            )
        )
    return StudyData(items=items, features=features, gold=pd.concat(parts, ignore_index=True))


@pytest.fixture(scope="session")
def synthetic_study() -> StudyData:
    return make_study()


@pytest.fixture(scope="session")
def study_factory():
    return make_study
