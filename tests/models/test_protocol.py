"""The evaluation protocol: leakage, metrics, tables, and the simulator's structure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from muvi.errors import DataError, MuviError
from muvi.models import lasso as lasso_module
from muvi.models import lstm as lstm_module
from muvi.models.lasso import LassoConfig
from muvi.models.lstm import BlockConfig
from muvi.models.protocol import (
    EvaluationConfig,
    count_fits,
    run_evaluation,
    write_results,
)
from muvi.models.training import TrainingConfig

TINY = dict(
    block=BlockConfig(hidden=(8, 8)),
    training=TrainingConfig(max_epochs=2, threads=1),
    lasso=LassoConfig(n_alphas=5, eps=1e-2),
    workers=1,  # the spies below live in this process
)


ONE_AT_A_TIME = TrainingConfig(max_epochs=2, threads=1, batched=False)


@pytest.fixture(scope="module")
def spied_run(synthetic_study, request):
    """The full grid on the synthetic study, trained one network at a time,
    recording every item set given to fit()."""
    mp = pytest.MonkeyPatch()
    fed: list[set[str]] = []
    labelled: list[tuple[int, set[str]]] = []
    for cls in (lstm_module.SequenceRegressor, lasso_module.LassoRegressor):
        original = cls.fit

        def spy(self, train, validation=None, _original=original):
            items = set(train.items) | (set(validation.items) if validation is not None else set())
            fed.append(items)
            return _original(self, train, validation)

        mp.setattr(cls, "fit", spy)

    def on_fit(description: str) -> None:
        fold = int(description.split()[1]) - 1  # "fold k dimension name"
        labelled.append((fold, fed.pop()))

    config = EvaluationConfig(**{**TINY, "training": ONE_AT_A_TIME})
    try:
        results = run_evaluation(synthetic_study, config, on_fit)
    finally:
        mp.undo()
    assert not fed  # every fit was reported
    return results, labelled, config


def test_batched_grid_equals_one_at_a_time_and_sees_no_test_item(spied_run, synthetic_study):
    """The grid trained in stacks (every network of a shape at once, PAIR in a
    second stage) scores every item as one-at-a-time training does, and no
    prepared network was given a test item of its fold."""
    one_at_a_time = spied_run[0]
    mp = pytest.MonkeyPatch()
    prepared: list[set[str]] = []
    original = lstm_module.SequenceRegressor.prepare

    def spy(self, train, validation=None):
        prepared.append(set(train.items) | (set(validation.items) if validation else set()))
        return original(self, train, validation)

    mp.setattr(lstm_module.SequenceRegressor, "prepare", spy)
    try:
        batched = run_evaluation(synthetic_study, EvaluationConfig(**TINY))
    finally:
        mp.undo()
    # 5 folds x 2 dimensions x 7 neural networks, each prepared once
    assert len(prepared) == 70
    allowed = [set(f.train) | set(f.validation) for f in batched.folds]
    assert all(any(items <= ok for ok in allowed) for items in prepared)
    keys = ["fold", "name", "dimension", "media_id"]
    a = one_at_a_time.per_item.sort_values(keys).reset_index(drop=True)
    b = batched.per_item.sort_values(keys).reset_index(drop=True)
    assert a[keys].equals(b[keys])
    assert np.allclose(a["rmse"], b["rmse"], atol=1e-5)
    assert np.allclose(a["ccc"], b["ccc"], atol=1e-4)
    pkeys = ["fold", "name", "dimension", "media_id", "sample"]
    pa = one_at_a_time.predictions.sort_values(pkeys).reset_index(drop=True)
    pb = batched.predictions.sort_values(pkeys).reset_index(drop=True)
    assert pa[pkeys].equals(pb[pkeys])
    assert np.allclose(pa["prediction"], pb["prediction"], atol=1e-5)
    neural = pa[~pa["name"].str.endswith("lasso")]
    assert neural.groupby("name")["prediction"].std().min() > 1e-3  # not constant outputs
    epochs = ["fold", "name", "dimension", "epochs", "best_epoch"]
    assert (
        one_at_a_time.training[epochs]
        .sort_values(epochs[:3])
        .reset_index(drop=True)
        .equals(batched.training[epochs].sort_values(epochs[:3]).reset_index(drop=True))
    )


def test_no_test_item_ratings_reach_a_model_scored_on_it(spied_run):
    results, labelled, config = spied_run
    assert len(labelled) == count_fits(config)
    for fold in results.folds:
        test_items = set(fold.test)
        seen = [items for k, items in labelled if k == fold.index]
        assert seen, "every fold fits models"
        for items in seen:  # any modality: the spy saw items, whatever their ratings
            assert not items & test_items
        # the protocol's own log agrees, per scored model, PAIR's initialisers included
        log = results.fit_log[results.fit_log["fold"] == fold.index]
        assert not set(log["media_id"]) & test_items
        scored = results.per_item[results.per_item["fold"] == fold.index]
        assert set(scored["media_id"]) <= test_items
    pair_log = results.fit_log[results.fit_log["name"] == "exp7_pair"]
    assert set(pair_log["modality"]) == {"music", "visual", "audiovisual"}
    train_roles = pair_log[pair_log["role"] == "train"]
    for fold in results.folds:
        part = train_roles[train_roles["fold"] == fold.index]
        for modality in ("music", "visual", "audiovisual"):
            assert set(part.loc[part["modality"] == modality, "media_id"]) == set(fold.train)


def test_grid_has_every_experiment_and_per_item_metrics_are_right(spied_run):
    results = spied_run[0]
    summary = results.summary()
    names = set(summary["name"])
    assert names == {
        "exp1_lasso", "exp1_lstm", "exp2_lasso", "exp2_lstm", "exp3_lasso", "exp3_lstm",
        "exp4_lasso", "exp4_lstm", "exp5_lasso", "exp5_early_fusion", "exp6_late_fusion",
        "exp7_pair",
    }  # fmt: skip
    # every item of the 12 is a test item once: 7 test items (12 = 3+3+2+2+2 held out)
    assert set(summary["n_items"]) == {sum(len(f.test) for f in results.folds)} == {7}
    # recompute RMSE and CCC from the stored predictions with the textbook formulas
    preds = results.predictions
    for row in results.per_item.sample(n=20, random_state=0).itertuples():
        part = preds[(preds["name"] == row.name) & (preds["dimension"] == row.dimension)
                     & (preds["media_id"] == row.media_id)]  # fmt: skip
        y, p = part["target"].to_numpy(float), part["prediction"].to_numpy(float)
        assert len(y) == 114  # samples 4..117
        assert row.rmse == pytest.approx(np.sqrt(np.mean((y - p) ** 2)), rel=1e-6)
        cov = np.mean((y - y.mean()) * (p - p.mean()))
        lin = 2 * cov / (y.var() + p.var() + (y.mean() - p.mean()) ** 2)
        assert row.ccc == pytest.approx(lin, rel=1e-5, abs=1e-9)
    # mean ± population std over the test items of all folds
    one = results.per_item[(results.per_item["name"] == "exp3_lasso")
                           & (results.per_item["dimension"] == "arousal")]  # fmt: skip
    row = summary[(summary["name"] == "exp3_lasso") & (summary["dimension"] == "arousal")].iloc[0]
    assert row["ccc_mean"] == pytest.approx(one["ccc"].mean())
    assert row["ccc_std"] == pytest.approx(np.std(one["ccc"].to_numpy()))


def test_arousal_is_predicted_from_audio_in_the_synthetic_study(spied_run):
    summary = spied_run[0].summary().set_index(["name", "dimension"])
    audio = summary.loc[("exp1_lasso", "arousal"), "ccc_mean"]
    visual = summary.loc[("exp2_lasso", "arousal"), "ccc_mean"]
    assert audio > 0.8 and visual < 0.2


def test_ttests_pair_the_same_items(spied_run):
    results = spied_run[0]
    table = results.ttests()
    row = table[(table["dimension"] == "arousal") & (table["metric"] == "ccc")
                & (table["a"] == "exp1_lasso") & (table["b"] == "exp7_pair")].iloc[0]  # fmt: skip
    per = results.per_item[results.per_item["dimension"] == "arousal"]
    a = per[per["name"] == "exp1_lasso"].set_index("media_id")["ccc"]
    b = per[per["name"] == "exp7_pair"].set_index("media_id")["ccc"]
    expected = stats.ttest_rel(a.sort_index(), b.loc[a.sort_index().index])
    assert row["n_items"] == 7
    assert row["t"] == pytest.approx(expected.statistic)
    assert row["p"] == pytest.approx(expected.pvalue)


def test_importance_averages_coefficients_over_folds(spied_run):
    results = spied_run[0]
    top, families = results.importance(top=3)
    coefs = results.coefficients
    part = coefs[(coefs["name"] == "exp5_lasso") & (coefs["dimension"] == "arousal")]
    by_feature = part.groupby("feature")["coef"].mean()
    # the driver of arousal (audio feature 0) is the top feature of experiment 5
    first = top[(top["name"] == "exp5_lasso") & (top["dimension"] == "arousal")].iloc[0]
    assert first["feature"] == "mfcc_sma[0]_amean" == by_feature.abs().idxmax()
    assert first["coef_mean"] == pytest.approx(by_feature["mfcc_sma[0]_amean"])
    fam = families[(families["name"] == "exp5_lasso") & (families["dimension"] == "arousal")]
    fam = fam.set_index("family")["abs_coef_sum"]
    visual = by_feature[[f for f in by_feature.index if f.startswith("colour__")]].abs().sum()
    assert fam["visual: colour"] == pytest.approx(visual)
    assert fam["audio: MFCC"] == pytest.approx(by_feature.abs().sum() - visual)


def test_results_json_has_the_required_keys(spied_run, tmp_path):
    results = spied_run[0]
    paths = write_results(results, tmp_path)
    doc = json.loads(paths["results"].read_text())
    assert {"experiments", "human_agreement", "ttests"} <= set(doc)
    # a default run replicates no defect and says nothing of any
    assert doc["defects"] == [] and doc["defect_notice"] == "" and doc["profile"] == "paper"
    assert doc["reported_error"] == "rmse"
    keys = {"name", "model", "target_modality", "features", "dimension", "rmse_mean",
            "rmse_std", "mse_mean", "mse_std", "ccc_mean", "ccc_std", "n_items"}  # fmt: skip
    assert all(set(e) == keys for e in doc["experiments"])
    assert {e["model"] for e in doc["experiments"]} == {
        "lasso", "lstm", "early_fusion", "late_fusion", "pair"
    }  # fmt: skip
    assert {e["features"] for e in doc["experiments"]} == {"audio", "visual", "audio+visual"}
    per_item = pd.read_csv(paths["per_item"])
    assert len(per_item) == len(results.per_item)
    assert "defects" not in per_item.columns and "chunk" not in per_item.columns
    assert "defects" not in pd.read_csv(paths["summary"]).columns
    # the MSE beside the RMSE: per item its square, in the summary its own mean
    assert np.allclose(per_item["mse"], per_item["rmse"] ** 2, rtol=1e-9)
    for e in doc["experiments"]:
        mine = per_item[(per_item["name"] == e["name"]) & (per_item["dimension"] == e["dimension"])]
        assert e["mse_mean"] == pytest.approx(mine["mse"].mean())
        assert e["mse_std"] == pytest.approx(np.std(mine["mse"].to_numpy()))
    assert set(pd.read_csv(paths["ttests"])["metric"]) == {"ccc", "rmse", "mse"}


def test_bad_configuration_and_missing_features_are_refused(synthetic_study):
    with pytest.raises(MuviError, match="unknown experiment 8"):
        EvaluationConfig(experiments=(8,))
    with pytest.raises(MuviError, match="unknown model family"):
        EvaluationConfig(models=("svm",))
    study = type(synthetic_study)(
        items=synthetic_study.items,
        features={"audio": synthetic_study.features["audio"]},
        gold=synthetic_study.gold,
    )
    with pytest.raises(DataError, match="need visual features"):
        run_evaluation(study, EvaluationConfig(experiments=(2,), **TINY))


def test_simulated_study_arousal_is_better_from_audio_than_visual(request):
    """On the simulator's study (arousal mostly from audio), the LASSO baseline
    predicts arousal better from audio features than from visual features, in
    the isolated conditions (exp 1 vs 2) and in the audiovisual one (3 vs 4)."""
    from muvi.data.loaders import load_dataset
    from muvi.models.protocol import prepare_study

    study = prepare_study(load_dataset(request.getfixturevalue("small_study")))
    assert study.simulated
    config = EvaluationConfig(
        experiments=(1, 2, 3, 4),
        models=("lasso",),
        dimensions=("arousal",),
        lasso=LassoConfig(n_alphas=8, eps=1e-2),
    )
    results = run_evaluation(study, config)
    ccc = results.summary().set_index("name")["ccc_mean"]
    assert ccc["exp1_lasso"] > ccc["exp2_lasso"] + 0.1
    assert ccc["exp3_lasso"] > ccc["exp4_lasso"] + 0.1
    assert results.human_agreement is not None and not results.human_agreement.empty


def test_report_sections_carry_the_tables_and_figures(spied_run, synthetic_study, tmp_path):
    from muvi.report.html import write_report
    from muvi.report.models import evaluation_sections, write_figures

    results = spied_run[0]
    figures = write_figures(results, synthetic_study, tmp_path, items=[results.folds[1].test[0]])
    # one figure per target modality and dimension of the chosen item
    assert len(figures) == 3 * 2 and all(f.stat().st_size > 1000 for f in figures)
    sections = evaluation_sections(tmp_path, results)
    titles = [s.title for s in sections]
    assert titles == ["Model evaluation", "Feature importance", "Predictions against the ratings"]
    summary_table = next(iter(sections[0].tables.values()))
    assert len(summary_table) == 24  # 12 models x 2 dimensions
    assert set(sections[2].figures.values()) == set(figures)
    page = write_report(tmp_path / "report.html", "models", sections, simulated=False)
    assert "exp7_pair" in page.read_text()
    with pytest.raises(DataError, match="not a test item"):
        write_figures(results, synthetic_study, tmp_path, items=["nope"])


def test_experiments_a_study_cannot_run_are_skipped_with_what_it_lacks(synthetic_study):
    from dataclasses import replace

    from muvi.models.cv import _applicable

    every = EvaluationConfig(models=("lstm",))
    no_music = replace(
        synthetic_study, gold=synthetic_study.gold[synthetic_study.gold["modality"] != "music"]
    )
    kept, (note,) = _applicable(every, no_music)
    # PAIR starts from experiment 1's music model: without music ratings it cannot run
    assert kept.experiments == (2, 3, 4, 5, 6)
    assert "1: no music ratings" in note and "7: no music ratings" in note
    no_visual = replace(synthetic_study, features={"audio": synthetic_study.features["audio"]})
    kept, (note,) = _applicable(every, no_visual)
    assert kept.experiments == (1, 3)
    assert "7: no visual features" in note and "2: no visual features" in note
    # a study with everything keeps the configuration and says nothing
    assert _applicable(every, synthetic_study) == (every, [])
