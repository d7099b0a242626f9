"""Modality agreement of dynamic ratings against numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.analysis.modality_agreement import (
    item_mean_series,
    modality_correlation_summary,
    modality_correlations,
)


def series(participant, item, modality, valence, arousal):
    n = len(valence)
    return pd.DataFrame(
        {
            "participant_id": participant,
            "media_id": item,
            "modality": modality,
            "sample": np.arange(n),
            "valence": valence,
            "arousal": arousal,
        }
    )


@pytest.fixture
def dynamic() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    parts = []
    for item in ("a", "b", "c"):
        for modality in ("music", "visual", "audiovisual"):
            for participant in range(3):
                parts.append(
                    series(
                        participant, item, modality, rng.uniform(-1, 1, 10), rng.uniform(-1, 1, 10)
                    )
                )
    return pd.concat(parts, ignore_index=True)


def test_mean_series_and_correlations_against_numpy(dynamic):
    means = item_mean_series(dynamic)
    sub = dynamic[(dynamic["media_id"] == "b") & (dynamic["modality"] == "visual")]
    expected_mean = sub.groupby("sample")["arousal"].mean().to_numpy()
    got = means[(means["media_id"] == "b") & (means["modality"] == "visual")]
    np.testing.assert_allclose(got["arousal"].to_numpy(), expected_mean)
    assert (got["n_annotations"] == 3).all()

    r = modality_correlations(dynamic)
    assert len(r) == 3 * 2 * 3  # items x dimensions x pairs
    table = r.set_index(["media_id", "dimension", "pair"])["r"]
    per_item = {}
    for item in ("a", "b", "c"):
        m = means[means["media_id"] == item]
        music = m[m["modality"] == "music"]["valence"].to_numpy()
        audiovisual = m[m["modality"] == "audiovisual"]["valence"].to_numpy()
        per_item[item] = np.corrcoef(music, audiovisual)[0, 1]
        assert table[(item, "valence", "music-audiovisual")] == pytest.approx(per_item[item])

    summary = modality_correlation_summary(r).set_index(["dimension", "pair"])
    values = np.array(list(per_item.values()))
    row = summary.loc[("valence", "music-audiovisual")]
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    assert row["n_items"] == 3


def test_missing_modality_and_constant_series():
    dynamic = pd.concat(
        [
            series(1, "a", "music", [0.0, 0.5, 1.0], [0.1, 0.1, 0.1]),
            series(2, "a", "visual", [0.0, 0.25, 0.5], [0.0, 0.2, 0.1]),
        ]
    )
    r = modality_correlations(dynamic)
    # no audiovisual annotation: only the music-visual pair
    assert r["pair"].unique().tolist() == ["music-visual"]
    valence = r[r["dimension"] == "valence"]["r"].iloc[0]
    assert valence == pytest.approx(1.0)
    assert np.isnan(r[r["dimension"] == "arousal"]["r"].iloc[0])  # constant music arousal
    summary = modality_correlation_summary(r)
    assert summary["dimension"].tolist() == ["valence"]  # undefined r is left out
