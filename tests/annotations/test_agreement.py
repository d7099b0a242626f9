"""Leave-one-out agreement against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from muvi.annotations import agreement, agreement_summary, ccc, ewe, leave_one_out_ccc

# A = [1, 1, -1, -1], B = A, C = [1, -1, 1, -1]
PANEL = np.array([[1, 1, -1, -1], [1, 1, -1, -1], [1, -1, 1, -1]], dtype=float)


def test_leave_one_out_by_hand() -> None:
    # without A: {B, C}, mean [1, 0, 0, -1]; r_B = r_C = 2 / (2 sqrt 2) -> equal weights,
    #   EWE = [1, 0, 0, -1]; CCC(A, EWE): means 0, var A = 1, var EWE = 0.5,
    #   cov = (1 + 0 + 0 + 1) / 4 = 0.5 -> 2 * 0.5 / (1 + 0.5) = 2/3
    # without B: the same, 2/3
    # without C: {A, B} identical, EWE = A; cov(C, A) = (1 - 1 - 1 + 1) / 4 = 0 -> 0
    assert leave_one_out_ccc(PANEL) == pytest.approx([2 / 3, 2 / 3, 0.0], abs=1e-12)


def test_leave_one_out_matches_a_direct_loop() -> None:
    rng = np.random.default_rng(1)
    truth = np.sin(np.linspace(0, 6, 40))
    panel = truth + rng.normal(scale=0.4, size=(7, 40))
    panel[2] = -panel[2]  # a contrary annotator
    for variant in ("paper", "others"):
        direct = [
            ccc(panel[j], ewe(np.delete(panel, j, axis=0), variant=variant).ewe) for j in range(7)
        ]
        assert leave_one_out_ccc(panel, variant) == pytest.approx(direct, rel=1e-10)


def _tidy(panel: np.ndarray, media_id: str, modality: str, first_id: int) -> pd.DataFrame:
    n, t = panel.shape
    return pd.DataFrame(
        {
            "participant_id": np.repeat(np.arange(first_id, first_id + n), t),
            "media_id": media_id,
            "modality": modality,
            "sample": np.tile(np.arange(t), n),
            "valence": panel.ravel(),
            # CCC is unchanged by scaling and shifting both series alike
            "arousal": 0.5 * panel.ravel() + 0.1,
        }
    )


def test_agreement_table_and_summary() -> None:
    dynamic = pd.concat(
        [
            _tidy(PANEL, "a", "music", 1),
            _tidy(PANEL[:2], "b", "visual", 1),  # one other annotator only: nan
        ],
        ignore_index=True,
    )
    table = agreement(dynamic)
    assert list(table.columns) == ["participant_id", "media_id", "modality", "valence", "arousal"]
    music = table[table["modality"] == "music"]
    assert music["participant_id"].tolist() == [1, 2, 3]
    assert music["valence"].to_numpy() == pytest.approx([2 / 3, 2 / 3, 0.0], abs=1e-12)
    assert music["arousal"].to_numpy() == pytest.approx([2 / 3, 2 / 3, 0.0], abs=1e-12)
    assert table.loc[table["modality"] == "visual", "valence"].isna().all()

    summary = agreement_summary(table)
    assert summary[["dimension", "modality"]].values.tolist() == [
        ["valence", "music"],
        ["valence", "visual"],
        ["arousal", "music"],
        ["arousal", "visual"],
    ]
    row = summary.iloc[0]
    # mean of [2/3, 2/3, 0] = 4/9; deviations 2/9, 2/9, -4/9 -> var = 24/243 -> std = sqrt(8)/9
    assert row["mean"] == pytest.approx(4 / 9)
    assert row["std"] == pytest.approx(math.sqrt(8) / 9)
    assert row["n"] == 3
    assert summary.iloc[1]["n"] == 0 and math.isnan(summary.iloc[1]["mean"])


def test_agreement_refuses_duplicate_samples() -> None:
    from muvi.errors import DataError

    dynamic = _tidy(PANEL, "a", "music", 1)
    dynamic = pd.concat([dynamic, dynamic.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="duplicate sample 0"):
        agreement(dynamic)
