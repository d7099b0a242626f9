"""Which modality carries the audiovisual rating: checked by hand, by NNLS and on the simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

from muvi.analysis import modality_contribution as mc
from muvi.annotations import gold_standard, quality_filter
from muvi.data.loaders import load_dataset
from muvi.data.schema import ANALYSIS_SAMPLES


def test_weights_agree_with_scipy_nnls() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        m, v, noise = rng.normal(size=(3, 80))
        av = rng.normal() * m + rng.normal() * v + 0.5 * noise
        w = mc.mixing_weights(av, m, v)[0]
        centred = np.column_stack([m - m.mean(), v - v.mean()])
        expected, _ = nnls(centred, av - av.mean())
        assert w == pytest.approx(expected, abs=1e-8)


def test_block_bootstrap_keeps_blocks_contiguous() -> None:
    idx = mc._block_indices(np.random.default_rng(1), 118, 10, 20)
    assert idx.shape == (20, 118)
    steps = np.diff(idx[:, :10], axis=1)
    assert (steps == 1).all() and idx.min() >= 0 and idx.max() < 118


def _gold(small_study) -> pd.DataFrame:
    data, _ = quality_filter(load_dataset(small_study), n_samples=ANALYSIS_SAMPLES)
    assert data.dynamic is not None
    return gold_standard(data.dynamic)


def test_simulated_arousal_is_mostly_music(small_study) -> None:
    """SIMULATED: the simulator builds audiovisual arousal as 0.8 music + 0.2 pictures and
    valence as 0.5 + 0.5 (SimulationConfig). From the annotators' gold standards, the mean
    music share is 0.70 for arousal and 0.48 for valence on the small study (12 items)."""
    cfg = mc.ContributionConfig(n_bootstrap=100)
    table = mc.modality_contribution(_gold(small_study), cfg)
    dist = mc.contribution_distribution(table, cfg).set_index("dimension")
    assert dist.loc["arousal", "mean_share"] > 0.6
    assert dist.loc["arousal", "median"] > dist.loc["valence", "median"]
    assert dist.loc["valence", "mean_ci_low"] < 0.5 < dist.loc["valence", "mean_ci_high"]
    assert (table["share_ci_low"] <= table["share_ci_high"]).all()


def test_the_hidden_truth_gives_the_built_weights(small_study) -> None:
    """On the simulator's noise-free truth, the share recovers the built weights
    (0.8 and 0.5) up to the tanh that maps latent factors to ratings."""
    truth = pd.read_csv(small_study / "simulation_ground_truth.csv")
    table = mc.modality_contribution(truth, mc.ContributionConfig(n_bootstrap=20))
    median = table.groupby("dimension")["music_share"].median()
    assert median["arousal"] == pytest.approx(0.8, abs=0.1)
    assert median["valence"] == pytest.approx(0.5, abs=0.1)


def test_incongruent_items_are_the_least_correlated(small_study) -> None:
    table = mc.modality_contribution(_gold(small_study), mc.ContributionConfig(n_bootstrap=20))
    worst = mc.incongruent_items(table, n=3)
    for dim, part in worst.groupby("dimension"):
        everything = table[table["dimension"] == dim]["r_music_visual"]
        assert part["r_music_visual"].max() <= everything.nsmallest(3).max()
        for row in part.itertuples():
            assert row.followed == ("music" if row.r_av_music >= row.r_av_visual else "visual")
