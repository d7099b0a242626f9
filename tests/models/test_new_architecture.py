"""A new network in the grid: the GRU of ``gru_architecture.py`` (one file)
runs through cross-validation, final training, bundles and predict's choice."""

from __future__ import annotations

import gru_architecture
import numpy as np
import pytest

from muvi.models.bundle import load_bundle
from muvi.models.final import train_final_models
from muvi.models.grid import EvaluationConfig, demo_config
from muvi.models.protocol import run_evaluation
from muvi.models.training import TrainingConfig
from muvi.models.windows import align_series
from muvi.predict import architecture_preference


@pytest.fixture
def gru():
    gru_architecture.register()
    yield
    gru_architecture.unregister()


def config() -> EvaluationConfig:
    return EvaluationConfig(
        experiments=(1, gru_architecture.GRU_EXPERIMENT),
        models=("lstm",),
        dimensions=("arousal",),
        block=demo_config().block,
        training=TrainingConfig(max_epochs=2, batched=False, threads=1),
    )


def test_a_registered_gru_runs_in_the_grid_beside_the_lstm(gru, synthetic_study):
    results = run_evaluation(synthetic_study, config())
    per_item = results.per_item
    assert set(per_item["name"]) == {"exp1_lstm", "exp8_gru"}
    # the same targets (music ratings) and test items as experiment 1
    items = per_item.groupby("name")["media_id"].apply(frozenset)
    assert items["exp8_gru"] == items["exp1_lstm"]
    assert items["exp8_gru"] == {m for fold in results.folds for m in fold.test}
    # no test item's ratings reached the GRU of its fold
    log = results.fit_log[results.fit_log["name"] == "exp8_gru"]
    for fold in results.folds:
        trained = set(log.loc[log["fold"] == fold.index, "media_id"])
        assert trained and not trained & set(fold.test)
    assert np.isfinite(per_item["ccc"]).all()


def test_a_gru_bundle_predicts_as_the_trained_model(gru, synthetic_study, tmp_path):
    folders = train_final_models(synthetic_study, tmp_path, config())
    names = sorted(f.name for f in folders)
    assert names == ["music_arousal_gru", "music_arousal_lstm"]
    bundle = load_bundle(tmp_path / "music_arousal_gru")
    assert type(bundle.model).__name__ == "GRURegressor"
    data = align_series(synthetic_study.features, synthetic_study.target("music", "arousal"),
                        synthetic_study.items[:2], synthetic_study.n_samples)  # fmt: skip
    # a second path: the GRU's own torch forward over each window, by hand
    model = bundle.model
    scaled = model.scalers_["audio"].transform(data.features["audio"])
    windows = np.stack([scaled[:, t - model.history : t] for t in range(model.history,
                        data.targets.shape[1])], axis=1)  # fmt: skip
    import torch

    with torch.no_grad():
        flat = torch.from_numpy(windows.reshape(-1, model.history, scaled.shape[-1]).astype("f4"))
        by_hand = model.net_.forward({"main": flat}).numpy().reshape(len(data.items), -1)
    assert model.predict(data)[:, model.history :] == pytest.approx(by_hand, abs=1e-5)


def test_predict_prefers_the_papers_networks_to_a_new_one(gru):
    order = architecture_preference()
    assert order[0] == "pair" and order[-1] == "lasso"
    assert order.index("gru") > order.index("lstm")
