"""Participants (Chua et al. 2022, §3.2) on the real file, checked with the csv module."""

from __future__ import annotations

import csv
import statistics
from collections import Counter

import pandas as pd
import pytest

from muvi.analysis.participants import (
    count_participants,
    describe_participants,
    participants_summary,
    training_group,
)


@pytest.fixture(scope="module")
def real_rows(muvi_dir):
    with open(muvi_dir / "participant_data.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def real_participants(muvi_dir):
    from muvi.data.loaders import load_participants

    return load_participants(muvi_dir / "participant_data.csv")


def test_real_participants_against_the_csv_module(real_rows, real_participants):
    ages = [int(r["age"]) for r in real_rows]
    summary = participants_summary(real_participants)
    assert summary["n"] == len(real_rows) == 49
    assert summary["gender"] == dict(Counter(r["gender"] for r in real_rows))
    assert summary["gender"] == {"Male": 31, "Female": 18}
    assert summary["age_mean"] == pytest.approx(statistics.mean(ages))
    assert summary["age_std"] == pytest.approx(statistics.stdev(ages))  # sample SD
    assert (summary["age_min"], summary["age_max"]) == (min(ages), max(ages))
    assert summary["layout_preference"] == dict(Counter(r["overlay_pref"] for r in real_rows))
    assert list(summary) == [
        "n",
        "gender",
        "age_mean",
        "age_std",
        "age_min",
        "age_max",
        "layout_preference",
    ]


def test_real_training_years(real_rows, real_participants):
    years = [int(r["years_formal_training"]) for r in real_rows]
    measures = describe_participants(real_participants).set_index("measure")["value"]
    assert measures["training_mean"] == pytest.approx(statistics.mean(years))
    assert measures["training_median"] == pytest.approx(statistics.median(years))
    assert measures["training_more_than_3"] == sum(y > 3 for y in years)
    counts = count_participants(real_participants)
    training = counts[counts["variable"] == "training"].set_index("value")["count"]
    assert training["<=3 years"] + training[">3 years"] == 49
    assert training[">3 years"] == sum(y > 3 for y in years)


def test_training_group_boundary():
    assert training_group(pd.Series([3, 3.5, None])).tolist() == ["<=3 years", ">3 years", None]


def test_missing_column_is_a_clear_error():
    from muvi.errors import DataError

    with pytest.raises(DataError, match="years_formal_training"):
        describe_participants(pd.DataFrame({"participant_id": [1], "age": [20]}))
