"""``muvi analyze`` with the analyses beyond the paper, on a simulated study."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from muvi.analysis.beyond import BeyondConfig
from muvi.analysis.modality_contribution import ContributionConfig
from muvi.analysis.outputs import LAG_COMPENSATED_GOLD_FILE, figure_path, table_path
from muvi.analysis.personalised import PersonalisedConfig
from muvi.analysis.reliability import ReliabilityConfig
from muvi.analysis.static_prediction import StaticPredictionConfig
from muvi.analysis.steps import BEYOND_TABLES
from muvi.cli import main
from muvi.data.loaders import load_dataset
from muvi.workflows import analyze_dataset

FAST = BeyondConfig(
    reliability=ReliabilityConfig(n_splits=20, n_bootstrap=30, n_permutations=19),
    prediction=StaticPredictionConfig(outer_folds=4, n_permutations=19, n_bootstrap=30),
    personalised=PersonalisedConfig(
        n_bootstrap=50, n_flips=50, targets=("Power", "Sadness"), importance=False
    ),
    contribution=ContributionConfig(n_bootstrap=30),
    lag_compensation="others",
)


@pytest.fixture(scope="module")
def beyond_run(small_study, tmp_path_factory):
    out = tmp_path_factory.mktemp("beyond")
    summary = analyze_dataset(load_dataset(small_study), out, beyond=FAST)
    return out, summary


def test_every_table_figure_and_summary_block(beyond_run) -> None:
    out, summary = beyond_run
    for name in BEYOND_TABLES:
        assert table_path(out, name).is_file(), name
    for name in ("item_reliability", "personalised_gains", "rater_lags", "modality_contribution"):
        assert figure_path(out, name).is_file(), name
    for features in ("audio", "visual", "audio_visual"):
        assert figure_path(out, f"static_prediction_{features}").is_file()
    assert (out / LAG_COMPENSATED_GOLD_FILE).is_file()
    block = json.loads((out / "summary.json").read_text())["beyond"]
    assert set(block) == {
        "reliability",
        "static_prediction",
        "personalised",
        "lag",
        "modality_contribution",
    }
    assert block == json.loads(json.dumps(summary["beyond"]))
    assert set(block["static_prediction"]) == {"audio", "visual", "audio+visual"}
    prediction = pd.read_csv(table_path(out, "static_prediction"))
    assert (prediction["n_permutations"] == 19).all()
    html = (out / "report.html").read_text()
    for title in (
        "reliability of the static labels",
        "static emotion from the features",
        "personalised perception",
        "rater lag",
        "which modality carries the audiovisual rating",
    ):
        assert f">Beyond the paper: {title}</h2>" in html
    assert "SIMULATED" in html


def test_simulated_arousal_comes_out_mostly_music_in_the_run(beyond_run) -> None:
    _, summary = beyond_run
    shares = summary["beyond"]["modality_contribution"]
    assert shares["arousal"]["mean_music_share"] > 0.6
    assert shares["arousal"]["mean_music_share"] > shares["valence"]["mean_music_share"]
    change = summary["beyond"]["lag"]["compensation"]["agreement_change"]
    assert sum(change.values()) > 0


def test_a_run_without_them_removes_their_files(beyond_run, small_study) -> None:
    out, _ = beyond_run
    analyze_dataset(load_dataset(small_study, features=False), out, figures=False)
    for name in BEYOND_TABLES:
        assert not table_path(out, name).exists(), name
    assert not (out / LAG_COMPENSATED_GOLD_FILE).exists()
    assert not figure_path(out, "item_reliability").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "--lag-compensation", "sideways"],
        ["evaluate", "--lag-compensation", "sideways"],
    ],
)
def test_cli_refuses_an_unknown_lag_source_in_one_line(args, small_study, tmp_path, capsys):
    command = [args[0], "--data", str(small_study), "--out", str(tmp_path / "o"), *args[1:]]
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--quiet"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "sideways" in err and "Traceback" not in err and len(err.splitlines()) <= 2


def test_cli_asks_for_at_least_200_permutations(small_study, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(
            ["analyze", "--data", str(small_study), "--out", str(tmp_path), "--permutations", "50"]
        )
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_evaluate_lag_compensation_feeds_shifted_ratings_to_the_protocol(
    small_study, tmp_path, monkeypatch
):
    """The wiring of ``muvi evaluate --lag-compensation``: the protocol receives a study
    whose gold standard (the models' targets) is made from the lag-shifted ratings."""
    import muvi.models.cv as cv
    import muvi.models.results as model_results
    import muvi.report.models as report_models
    from muvi.annotations import gold_standard, quality_filter
    from muvi.annotations.lag import lag_compensated_dataset
    from muvi.workflows import EvaluateOptions, ModelOptions, evaluate

    seen = {}

    def fake_run(study, config, on_fit):
        seen["study"] = study
        return "results"

    monkeypatch.setattr(cv, "run_evaluation", fake_run)
    monkeypatch.setattr(model_results, "write_results", lambda results, out, blocks=None: {})
    monkeypatch.setattr(report_models, "write_figures", lambda *args: [])
    monkeypatch.setattr(report_models, "write_paper_comparison", lambda out: None)
    options = EvaluateOptions(
        small_study, tmp_path, ModelOptions(device="cpu"), lag_compensation="others"
    )
    outcome = evaluate(options, lambda what: None)
    assert outcome.results == "results" and outcome.paths["rater_lags"].is_file()
    shifted, _ = lag_compensated_dataset(load_dataset(small_study), "others")
    expected = gold_standard(quality_filter(shifted)[0].dynamic)
    plain = gold_standard(quality_filter(load_dataset(small_study))[0].dynamic)
    got = seen["study"].gold
    key = ["media_id", "modality", "sample"]
    merged = got.merge(expected, on=key, suffixes=("", "_expected")).merge(
        plain, on=key, suffixes=("", "_plain")
    )
    assert len(merged) == len(got) == len(expected)
    assert merged["arousal"].to_numpy() == pytest.approx(merged["arousal_expected"].to_numpy())
    assert not (merged["arousal"] - merged["arousal_plain"]).abs().lt(1e-9).all()
