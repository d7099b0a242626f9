"""A new test of the static labels (age: under 30 against 30 and older) added
with one registration, in this file: the chi-square test, its tables and
figure in ``muvi analyze``, and its figure in the report."""

from __future__ import annotations

import pandas as pd
import pytest

from muvi.analysis.static_effects import (
    GROUPINGS,
    annotation_groups,
    contingency_table,
    register_grouping,
    static_effects,
    unregister_grouping,
)
from muvi.cli import main
from muvi.data.simulator import simulate


def age_group(static: pd.DataFrame, participants: pd.DataFrame | None) -> pd.Series:
    assert participants is not None
    age = static["participant_id"].map(participants.set_index("participant_id")["age"])
    return age.map(lambda a: None if pd.isna(a) else ("under 30" if a < 30 else "30 or older"))


@pytest.fixture
def age():
    register_grouping("age", "age (under 30 vs 30 or older)", age_group)
    yield
    unregister_grouping("age")


def test_the_new_grouping_counts_selections_by_age(age, make_static):
    static = make_static(
        [
            (1, "a", "music", False, ("calm", "sad"), None),
            (2, "a", "visual", True, ("calm",), "overlaid"),
            (3, "b", "audiovisual", False, ("sad", "tense"), "side_by_side"),
        ]
    )
    people = pd.DataFrame({"participant_id": [1, 2, 3], "age": [22, 41, 29]})
    table = contingency_table(annotation_groups(static, people), "age")
    # by hand: participants 1 and 3 are under 30 (calm 1, sad 2, tense 1), 2 is not (calm 1)
    assert table.index.tolist() == ["30 or older", "under 30"]
    assert table.loc["under 30", ["calm", "sad", "tense"]].tolist() == [1, 2, 1]
    assert table.loc["30 or older", ["calm", "sad", "tense"]].tolist() == [1, 0, 0]
    assert list(static_effects(static, people)) == [*GROUPINGS, "age"]


def test_analyze_tests_and_reports_the_new_grouping(age, tmp_path):
    study = tmp_path / "study"
    simulate(study, seed=1, n_items=12, n_participants=8)
    out = tmp_path / "analysis"
    main(["analyze", "--data", str(study), "--out", str(out), "--no-beyond", "--quiet"])
    chi = pd.read_csv(out / "tables" / "chi_square.csv")
    assert chi["grouping"].tolist() == [*GROUPINGS, "age"]
    observed = pd.read_csv(out / "tables" / "contingency_age.csv", index_col=0)
    row = chi.set_index("grouping").loc["age"]
    assert int(row["selections"]) == int(observed.to_numpy().sum())
    assert (out / "figures" / "observed_expected_age.png").is_file()
    assert "Observed and expected selections by age" in (out / "report.html").read_text()
