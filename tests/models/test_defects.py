"""The authors' code's two defects, replicated on request only.

``pair-leak``: PAIR starts in every fold from the last fold's unimodal
models; a spy on the estimators shows which items' ratings reached each PAIR
model, and the protocol's fit log must say the same. ``chunked-scoring``: the
networks' test windows are scored in consecutive chunks of 111, recomputed
here from the stored predictions. Every output written under a defect says so.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from muvi.models import lstm as lstm_module
from muvi.models.lasso import LassoConfig
from muvi.models.lstm import BlockConfig
from muvi.models.protocol import EvaluationConfig, run_evaluation, write_results
from muvi.models.reference_code import (
    DEFECT_DESCRIPTIONS,
    chunked_scores,
    defect_notice,
    pair_leaked_items,
)
from muvi.models.training import TrainingConfig

PAIR_ONLY = dict(
    experiments=(7,),
    models=("lstm",),
    dimensions=("arousal",),
    block=BlockConfig(hidden=(8, 8)),
    training=TrainingConfig(max_epochs=2, threads=1),
    workers=1,  # the spies live in this process
)


def _spied(study, config):
    """Run the grid, recording the items each prepared estimator trained on and
    which estimators started each PAIR model."""
    mp = pytest.MonkeyPatch()
    seen: dict[int, set[str]] = {}  # id(estimator) -> items of its train + validation
    starts: list[tuple[object, object, object]] = []  # (pair, music model, visual model)
    prepare = lstm_module.SequenceRegressor.prepare
    initialise = lstm_module.PairRegressor._initialise

    def spy_prepare(self, train, validation=None):
        seen[id(self)] = set(train.items) | (set(validation.items) if validation else set())
        return prepare(self, train, validation)

    def spy_initialise(self, net):
        starts.append((self, self.initialisers.audio, self.initialisers.visual))
        return initialise(self, net)

    mp.setattr(lstm_module.SequenceRegressor, "prepare", spy_prepare)
    mp.setattr(lstm_module.PairRegressor, "_initialise", spy_initialise)
    try:
        results = run_evaluation(study, config)
    finally:
        mp.undo()
    return results, seen, starts


def _reached(results, seen, starts):
    """Per fold: the items whose ratings reached the PAIR model scored in it
    (its own training, and its two initialisers'), found by the spy."""
    own = {frozenset(set(f.train) | set(f.validation)): f.index for f in results.folds}
    out: dict[int, set[str]] = {}
    for pair, music, visual in starts:
        fold = own[frozenset(seen[id(pair)])]
        out[fold] = seen[id(pair)] | seen[id(music)] | seen[id(visual)]
    return out


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one_at_a_time"])
def test_pair_leak_on_test_items_reach_pair_off_never(synthetic_study, batched):
    config = EvaluationConfig(**PAIR_ONLY)
    config = replace(config, training=replace(config.training, batched=batched))
    leaky = replace(config, defects=frozenset({"pair-leak"}))
    clean_results, clean_seen, clean_starts = _spied(synthetic_study, config)
    leak_results, leak_seen, leak_starts = _spied(synthetic_study, leaky)
    folds = leak_results.folds
    assert len(clean_starts) == len(leak_starts) == len(folds) == 5

    clean = _reached(clean_results, clean_seen, clean_starts)
    leaked = _reached(leak_results, leak_seen, leak_starts)
    last = folds[-1]
    for fold in folds:
        test = set(fold.test)
        assert not clean[fold.index] & test  # off: never
        # on: exactly the fold's test items that trained the last fold's models
        expected = test & (set(last.train) | set(last.validation))
        assert leaked[fold.index] & test == expected
        if fold.index != last.index:
            assert expected, f"fold {fold.index}: its test items trained the last fold's models"
        assert set(pair_leaked_items(folds, True)[fold.index]) <= expected
        # the fit log says the same, naming the modality of the leaked ratings
        log = leak_results.fit_log
        mine = log[(log["fold"] == fold.index) & (log["name"] == "exp7_pair")]
        logged = set(mine["media_id"]) & test
        assert logged == expected
        leaked_modalities = set(mine.loc[mine["media_id"].isin(expected), "modality"])
        assert leaked_modalities == ({"music", "visual"} if expected else set())
        clean_log = clean_results.fit_log
        assert not set(clean_log.loc[clean_log["fold"] == fold.index, "media_id"]) & test
    # the leak changes the scores of the earlier folds' PAIR models, not the last fold's
    a = clean_results.per_item.set_index(["fold", "media_id"])["rmse"]
    b = leak_results.per_item.set_index(["fold", "media_id"])["rmse"]
    assert np.allclose(a.loc[last.index], b.loc[last.index], atol=1e-6)
    assert not np.allclose(a.drop(index=last.index), b.drop(index=last.index), atol=1e-6)


def test_pair_leak_batched_equals_one_at_a_time(synthetic_study):
    config = EvaluationConfig(**PAIR_ONLY, defects=frozenset({"pair-leak"}))
    batched = run_evaluation(synthetic_study, config)
    alone = run_evaluation(
        synthetic_study, replace(config, training=replace(config.training, batched=False))
    )
    keys = ["fold", "name", "dimension", "media_id"]
    a = batched.per_item.sort_values(keys).reset_index(drop=True)
    b = alone.per_item.sort_values(keys).reset_index(drop=True)
    assert a[keys].equals(b[keys])
    assert np.allclose(a["rmse"], b["rmse"], atol=1e-5)
    fa = batched.fit_log.sort_values([*keys, "modality", "role"]).reset_index(drop=True)
    fb = alone.fit_log.sort_values([*keys, "modality", "role"]).reset_index(drop=True)
    assert fa.equals(fb)


@pytest.fixture(scope="module")
def chunked_run(synthetic_study):
    config = EvaluationConfig(
        experiments=(1, 6),
        models=("lasso", "lstm"),
        dimensions=("arousal",),
        block=BlockConfig(hidden=(8, 8)),
        training=TrainingConfig(max_epochs=2, threads=1),
        lasso=LassoConfig(n_alphas=5, eps=1e-2),
        defects=frozenset({"chunked-scoring"}),
    )
    return run_evaluation(synthetic_study, config)


def test_chunked_scoring_equals_the_chunks_recomputed_from_predictions(chunked_run):
    results = chunked_run
    preds = results.predictions
    checked = mixed = 0
    for fold in results.folds:
        for name in ("exp1_lstm", "exp6_late_fusion"):
            part = preds[(preds["fold"] == fold.index) & (preds["name"] == name)]
            # stacked item after item, in the fold's test order, as the code stacks them
            order = {m: i for i, m in enumerate(fold.test)}
            part = part.assign(pos=part["media_id"].map(order)).sort_values(["pos", "sample"])
            y, p = part["target"].to_numpy(float), part["prediction"].to_numpy(float)
            assert y.size == 114 * len(fold.test)
            rows = results.per_item[
                (results.per_item["fold"] == fold.index) & (results.per_item["name"] == name)
            ]
            # the code: int(n_windows / 111) chunks, one per item, the rest never scored
            assert len(rows) == len(fold.test) == (y.size // 111)
            expected = chunked_scores(y, p, list(fold.test))
            for row, exp, j in zip(rows.itertuples(), expected, range(len(rows)), strict=True):
                ys, ps = y[111 * j : 111 * (j + 1)], p[111 * j : 111 * (j + 1)]
                by_hand = float(np.mean((ys - ps) ** 2))  # the MSE, written out
                assert row.mse == pytest.approx(by_hand, rel=1e-9)
                assert row.mse == pytest.approx(exp["error"], rel=1e-9)
                assert row.rmse == pytest.approx(np.sqrt(by_hand), rel=1e-9)
                assert row.ccc == pytest.approx(exp["ccc"], rel=1e-7)
                assert row.media_id == fold.test[j] and row.chunk == j
                assert row.chunk_items == "+".join(exp["items"])
                checked += 1
            if len(fold.test) > 1:  # chunk 1 mixes item 0's last 3 windows with item 1
                assert rows.iloc[1]["chunk_items"] == f"{fold.test[0]}+{fold.test[1]}"
                mixed += 1
    assert mixed > 0
    assert checked == 2 * sum(len(f.test) for f in results.folds)
    # LASSO (not in the code) is still scored per item
    lasso = results.per_item[results.per_item["name"] == "exp1_lasso"]
    assert lasso["chunk"].isna().all() and len(lasso) == 7


def test_outputs_under_defects_say_so_and_default_ones_do_not(
    chunked_run, synthetic_study, tmp_path
):
    from muvi.report.html import write_report
    from muvi.report.models import evaluation_sections

    paths = write_results(chunked_run, tmp_path / "defect")
    doc = json.loads(paths["results"].read_text())
    assert doc["defects"] == ["chunked-scoring"]
    assert doc["defect_notice"] == defect_notice(["chunked-scoring"])
    assert DEFECT_DESCRIPTIONS["chunked-scoring"] in doc["defect_notice"]
    assert doc["config"]["defects"] == ["chunked-scoring"]
    for key in ("per_item", "summary", "ttests", "predictions", "fit_log", "training"):
        table = pd.read_csv(paths[key])
        assert (table["defects"] == "chunked-scoring").all(), key
    page = write_report(
        tmp_path / "r.html", "m", evaluation_sections(tmp_path, chunked_run), simulated=False
    )
    text = page.read_text()
    assert "Warning: defects of the authors' published code replicated on request." in text
    assert "chunked-scoring" in text

    default = run_evaluation(
        synthetic_study,
        EvaluationConfig(
            experiments=(1,), models=("lstm",), dimensions=("arousal",),
            block=BlockConfig(hidden=(8, 8)), training=TrainingConfig(max_epochs=1, threads=1),
        ),
    )  # fmt: skip
    paths = write_results(default, tmp_path / "plain")
    doc = json.loads(paths["results"].read_text())
    assert doc["defects"] == [] and doc["defect_notice"] == ""
    for key in ("per_item", "summary", "fit_log"):
        assert "defects" not in pd.read_csv(paths[key]).columns
    page = write_report(
        tmp_path / "p.html", "m", evaluation_sections(tmp_path, default), simulated=False
    )
    assert "replicated on request" not in page.read_text()


def test_final_training_refuses_defects(synthetic_study, tmp_path):
    from muvi.errors import MuviError
    from muvi.models.final import train_final_models

    config = EvaluationConfig(**{**PAIR_ONLY, "defects": frozenset({"pair-leak"})})
    with pytest.raises(MuviError, match="concern cross-validation"):
        train_final_models(synthetic_study, tmp_path, config)
