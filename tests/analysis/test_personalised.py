"""Personalised perception on the real MuVi files: profile against item features alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.analysis import personalised as pp
from muvi.analysis.static_prediction import item_feature_summaries
from muvi.data.loaders import load_dataset

FAST = dict(n_bootstrap=200, n_flips=200, targets=("Power", "Sadness"))


@pytest.fixture(scope="module")
def real(muvi_dir):
    data = load_dataset(muvi_dir, features=True)
    return data, item_feature_summaries(data.audio_features)


def test_logistic_matches_scikit_learn() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, :1] + rng.normal(size=(200, 1)) > 0.5).astype(float)
    w = pp.fit_logistic(x, y, c=0.3)
    ref = LogisticRegression(C=0.3, tol=1e-10, max_iter=1000).fit(x, y[:, 0])
    assert w[0, 0] == pytest.approx(ref.intercept_[0], abs=1e-6)
    assert w[1:, 0] == pytest.approx(ref.coef_[0], abs=1e-6)


def test_profile_design_follows_the_participant_file(real) -> None:
    data, _ = real
    design, groups = pp.profile_design(data.static, data.participants)
    people = data.participants.set_index("participant_id")
    female = people.loc[data.static["participant_id"], "gender"].to_numpy() == "Female"
    male_col = [c for c in groups["gender"] if c == "gender=Male"]
    assert male_col and (design[male_col[0]].to_numpy() == (~female).astype(float)).all()
    years = people.loc[data.static["participant_id"], "years_formal_training"].to_numpy()
    assert np.allclose(design["musical_training"], np.log1p(years))
    assert (design["familiarity"] == data.static["seen_previously"].astype(float)).all()
    assert set(groups) == set(pp.PROFILE_FIELDS)


def test_folds_hold_out_whole_annotators(real) -> None:
    data, _ = real
    folds = pp._fold_of(data.static["participant_id"].to_numpy(), 5, seed=0)
    per_annotator = pd.Series(folds).groupby(data.static["participant_id"].to_numpy()).nunique()
    assert (per_annotator == 1).all() and len(set(folds)) == 5


def test_a_planted_gender_effect_is_found_and_attributed(real) -> None:
    """Known truth on the real annotations: 'Power' replaced by a tick that depends on gender."""
    data, summaries = real
    rng = np.random.default_rng(4)
    people = data.participants.set_index("participant_id")
    female = people.loc[data.static["participant_id"], "gender"].to_numpy() == "Female"
    static = data.static.copy()
    for label in ("strong", "energetic", "triumphant"):
        static[label] = 0
    static["strong"] = (rng.random(len(static)) < np.where(female, 0.85, 0.15)).astype(int)
    cfg = pp.PersonalisedConfig(**FAST)
    gains, importance = pp.personalised_perception(static, data.participants, summaries, cfg)
    power = gains[gains["target"] == "Power"].set_index("cv")
    for scheme in ("annotators", "items"):
        assert power.loc[scheme, "gain"] > 0.2  # log 2 - H(0.15) ~ 0.27 nats at most
        assert power.loc[scheme, "p_value"] < 0.01
        assert power.loc[scheme, "auc_full"] > 0.8
    fields = importance[importance["target"] == "Power"].set_index("field")
    assert fields["loss_increase"].idxmax() == "gender"
    assert fields.loc["gender", "p_value"] < 0.01


def test_real_profiles_do_not_generalise_to_new_annotators(real) -> None:
    """What the real files show: held-out annotators are not predicted
    better with their profile than without (no category gains with p < 0.05)."""
    data, summaries = real
    cfg = pp.PersonalisedConfig(
        **{**FAST, "targets": ("Power", "Sadness", "Nostalgia")}, importance=False
    )
    gains, importance = pp.personalised_perception(data.static, data.participants, summaries, cfg)
    assert importance.empty
    new_people = gains[gains["cv"] == "annotators"]
    assert (new_people["p_value"] >= 0.05).all()
    assert (new_people["gain_ci_low"] <= new_people["gain"]).all()
    scaled = gains["p_value"] * 201
    assert np.allclose(scaled, np.round(scaled))  # over the stated 200 sign flips
