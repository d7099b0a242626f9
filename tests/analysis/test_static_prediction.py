"""Static emotion from the music: nested CV, permutation test and CIs on the real MuVi files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.analysis import static_prediction as sp
from muvi.data.loaders import load_dataset


@pytest.fixture(scope="module")
def real(muvi_dir):
    data = load_dataset(muvi_dir, features=True)
    assert data.audio_features is not None
    return data, sp.item_feature_summaries(data.audio_features)


def test_summaries_are_mean_and_std_over_the_window(real) -> None:
    data, summaries = real
    item = data.items[0]
    series = data.audio_features.loc[item].iloc[:118]
    name = series.columns[5]
    assert summaries.loc[item, f"{name}_mean"] == pytest.approx(series[name].mean())
    assert summaries.loc[item, f"{name}_std"] == pytest.approx(series[name].std(ddof=0))
    assert summaries.shape == (81, 2 * 988)


def test_leave_one_out_is_exact() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(15, 6)), rng.normal(size=(15, 2))
    model = sp.RidgeLooCV(alphas=(0.5, 5.0)).fit(x, y)
    xs = (x - x.mean(axis=0)) / x.std(axis=0)
    for a, alpha in enumerate((0.5, 5.0)):
        errors = []
        for i in range(15):
            keep = np.arange(15) != i
            # ridge with an unpenalised intercept on the other 14 rows, by least squares
            design = np.column_stack([np.ones(14), xs[keep]])
            penalty = np.sqrt(alpha) * np.eye(7)[1:]
            coef = np.linalg.lstsq(
                np.vstack([design, penalty]), np.vstack([y[keep], np.zeros((6, 2))]), rcond=None
            )[0]
            errors.append(y[i] - np.concatenate([[1.0], xs[i]]) @ coef)
        assert model.loo_mse_[a] == pytest.approx((np.array(errors) ** 2).mean(axis=0))


class _Spy(sp.RidgeLooCV):
    seen: list[np.ndarray] = []

    def fit(self, x: np.ndarray, y: np.ndarray) -> sp.RidgeLooCV:
        _Spy.seen.append(x.copy())
        return super().fit(x, y)


def test_nested_cv_never_fits_on_a_held_out_item(real) -> None:
    _, summaries = real
    x = summaries.to_numpy()
    y = np.random.default_rng(1).random((len(x), 1))
    folds = sp.outer_folds(len(x), 10, seed=0)
    _Spy.seen = []
    sp.nested_cv_predict(x, y, folds, _Spy)
    assert len(_Spy.seen) == 10
    for fold, trained in enumerate(_Spy.seen):
        held_out = x[folds == fold]
        # every row it was fitted on is a training item; none is a held-out item
        assert len(trained) == (folds != fold).sum()
        assert not (trained[:, None, :] == held_out[None, :, :]).all(axis=-1).any()


def test_a_predictable_target_is_found_and_its_shuffle_scores_at_chance(real) -> None:
    _, summaries = real
    rng = np.random.default_rng(5)
    z = summaries.to_numpy()
    z = (z - z.mean(axis=0)) / np.where(z.std(axis=0) > 0, z.std(axis=0), 1)
    signal = z[:, :40].mean(axis=1)
    signal = (signal - signal.min()) / (signal.max() - signal.min())
    shares = pd.DataFrame(
        {"signal": signal, "shuffled": rng.permutation(signal)}, index=summaries.index
    )
    cfg = sp.StaticPredictionConfig(n_permutations=49, n_bootstrap=100)
    table = sp.predict_item_shares(summaries, shares, cfg).set_index("target")
    assert table.loc["signal", "r2"] > 0.5
    assert table.loc["signal", "p_value"] == pytest.approx(1 / 50)
    assert table.loc["signal", "r2_ci_low"] > 0.3
    # the same values shuffled over items carry no information: chance level
    assert table.loc["shuffled", "r2"] < 0.05
    assert table.loc["shuffled", "p_value"] > 0.05


def test_real_shares_permutation_count_and_result(real) -> None:
    data, summaries = real
    cfg = sp.StaticPredictionConfig(n_permutations=29, n_bootstrap=50)
    table = sp.static_prediction(data.static, {"audio": summaries}, cfg)
    assert len(table) == 3 * 12 and (table["n_permutations"] == 29).all()
    scaled = table["p_value"] * 30
    assert np.allclose(scaled, np.round(scaled)) and scaled.between(1, 30).all()
    # what the real files show: the music's features explain no category's item share
    # (every out-of-fold R^2 is below 0.1, in line with the labels' low reliability)
    assert (table["r2"] < 0.1).all()
    assert (table["r2_ci_low"] <= table["r2"]).all() and (table["r2"] <= table["r2_ci_high"]).all()
