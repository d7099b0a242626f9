"""Valence/arousal distribution (Chua et al. 2022, §4.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.analysis.distribution import rating_density, rating_means


@pytest.fixture
def dynamic() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": [1, 1, 2, 2, 3, 3],
            "media_id": ["a"] * 6,
            "modality": ["music", "music", "music", "music", "visual", "visual"],
            "sample": [0, 1, 0, 1, 0, 1],
            "valence": [0.2, 0.4, 0.0, -0.2, 0.9, 0.7],
            "arousal": [-0.5, -0.3, 0.1, 0.3, 0.5, 0.5],
        }
    )


def test_means_by_hand(dynamic):
    means = rating_means(dynamic).set_index(["dimension", "modality"])
    assert means.loc[("valence", "music"), "mean"] == pytest.approx(0.1)
    assert means.loc[("valence", "visual"), "mean"] == pytest.approx(0.8)
    assert means.loc[("valence", "all"), "mean"] == pytest.approx(2.0 / 6)
    assert means.loc[("arousal", "all"), "n_samples"] == 6
    # sample SD of music arousal (-0.5, -0.3, 0.1, 0.3): mean -0.1, SS 0.4, /3
    assert means.loc[("arousal", "music"), "std"] == pytest.approx(np.sqrt(0.4 / 3))
    assert ("valence", "audiovisual") not in means.index


def test_density_integrates_to_one_and_places_samples(dynamic):
    density = rating_density(dynamic, bins=4)  # bins 0.5 wide
    assert density.sum() * 0.25 == pytest.approx(1.0)
    # (0.9, 0.5) and (0.7, 0.5) fall in valence bin 3, arousal bin 3 -> 2 of 6 samples
    assert density[3, 3] * 0.25 == pytest.approx(2 / 6)
