"""The built-in demo end to end, on a tiny simulated study."""

from __future__ import annotations

import json

import pytest

from muvi.workflows.demo import DemoConfig, run_demo


@pytest.mark.slow
def test_demo_writes_one_report_marked_as_simulated(tmp_path):
    stages: list[str] = []
    fits: list[str] = []
    config = DemoConfig(seed=3, n_items=12, n_participants=16, epochs=1, experiments=(1, 2, 7))
    paths = run_demo(tmp_path / "demo", config, stages.append, fits.append)

    assert stages == [
        "simulating a study",
        "analysing the ratings",
        "cross-validating the models",
        "writing the report",
    ]
    # LASSO for experiments 1 and 2, networks for 1, 2 and 7; both dimensions, 5 folds
    assert len(fits) == (2 + 3) * 2 * 5
    metadata = json.loads((paths.study / "muvi_metadata.json").read_text())
    assert metadata["simulated"] is True

    results = json.loads((paths.evaluation / "results.json").read_text())
    names = {(e["name"], e["dimension"]) for e in results["experiments"]}
    assert ("exp7_pair", "arousal") in names and ("exp1_lasso", "valence") in names
    assert results["simulated"] is True

    html = paths.report.read_text(encoding="utf-8")
    assert "SIMULATED" in html
    # both halves of the pipeline are in the one report
    assert "exp7_pair" in html
    assert (paths.analysis / "summary.json").is_file()
    assert html.count("data:image/png;base64,") >= 5
