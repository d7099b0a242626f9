"""EWE and the gold standard against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from muvi.annotations import ewe, gold_standard

# Three annotators x four samples:
#   A = [1, 1, -1, -1]
#   B = [1, 1, -1, -1]
#   C = [1, -1, 1, -1]
PANEL = np.array([[1, 1, -1, -1], [1, 1, -1, -1], [1, -1, 1, -1]], dtype=float)


def test_paper_ewe_by_hand() -> None:
    # mean m = [1, 1/3, -1/3, -1] (already centred), |m| = sqrt(1 + 1/9 + 1/9 + 1) = sqrt(20)/3
    # r_A = A.m / (|A| |m|) = (1 + 1/3 + 1/3 + 1) / (2 sqrt(20)/3) = 8 / (2 sqrt(20)) = 2/sqrt(5)
    # r_B = r_A = 2/sqrt(5)
    # r_C = (1 - 1/3 - 1/3 + 1) / (2 sqrt(20)/3) = 4 / (2 sqrt(20)) = 1/sqrt(5)
    # normalised weights 2/5, 2/5, 1/5
    # ewe = 0.4 A + 0.4 B + 0.2 C = [1, 0.6, -0.6, -1]
    # population std per sample: 0; [1, 1, -1]: mean 1/3, var (4/9 + 4/9 + 16/9)/3 = 8/9; same; 0
    result = ewe(PANEL)
    assert result.weights == pytest.approx([2 / math.sqrt(5), 2 / math.sqrt(5), 1 / math.sqrt(5)])
    assert result.ewe == pytest.approx([1.0, 0.6, -0.6, -1.0])
    assert result.mean == pytest.approx([1.0, 1 / 3, -1 / 3, -1.0])
    assert result.std == pytest.approx([0.0, math.sqrt(8) / 3, math.sqrt(8) / 3, 0.0])
    assert not result.fallback


def test_others_ewe_by_hand() -> None:
    # A against mean(B, C) = [1, 0, 0, -1]: A.ref = 2, |A| = 2, |ref| = sqrt(2) -> r = 1/sqrt(2)
    # B likewise 1/sqrt(2); C against mean(A, B) = A: C.A = 1 - 1 - 1 + 1 = 0 -> r = 0 -> w = 0
    # ewe = (A + B) / 2 = [1, 1, -1, -1]
    result = ewe(PANEL, variant="others")
    assert result.weights == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(2), 0.0], abs=1e-12)
    assert result.ewe == pytest.approx([1.0, 1.0, -1.0, -1.0])


def test_contrary_and_constant_annotators_get_weight_zero() -> None:
    # D = -A correlates negatively with the mean; E never moved (r undefined)
    panel = np.vstack([PANEL, -PANEL[0], np.full(4, 0.3)])
    weights = ewe(panel).weights
    assert weights[3] == 0.0 and weights[4] == 0.0
    assert (weights[:3] > 0).all()


def test_all_zero_weights_fall_back_to_the_mean() -> None:
    # two opposite annotators: the mean is constant 0, so both r are undefined
    panel = np.array([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, -1.0, 1.0]])
    result = ewe(panel)
    assert result.fallback
    assert result.weights.tolist() == [0.0, 0.0]
    assert result.ewe.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_common_rescaling_keeps_the_weights() -> None:
    # Pearson weights are unchanged when every rating is mapped by 0.5 x + 0.1;
    # the EWE, a weighted mean, follows the same map
    mapped = ewe(0.5 * PANEL + 0.1)
    assert mapped.weights == pytest.approx(ewe(PANEL).weights)
    assert mapped.ewe == pytest.approx(0.5 * ewe(PANEL).ewe + 0.1)


@pytest.mark.parametrize(
    ("ratings", "variant", "message"),
    [
        (np.zeros(4), "paper", "shape"),
        (np.array([[0.0, np.nan]]), "paper", "NaN"),
        (PANEL, "median", "unknown EWE variant"),
    ],
)
def test_bad_input_is_refused(ratings, variant, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        ewe(ratings, variant=variant)


def _tidy(panel: np.ndarray, media_id: str, modality: str) -> pd.DataFrame:
    n, t = panel.shape
    return pd.DataFrame(
        {
            "participant_id": np.repeat(np.arange(1, n + 1), t),
            "media_id": media_id,
            "modality": modality,
            "sample": np.tile(np.arange(t), n),
            "time": np.tile(np.arange(t) * 0.5, n),
            "valence": panel.ravel(),
            "arousal": 0.5 * panel.ravel() + 0.1,
        }
    )


def test_gold_standard_table() -> None:
    dynamic = pd.concat([_tidy(PANEL, "x_1", "music"), _tidy(PANEL[:2], "y", "visual")])
    gold = gold_standard(dynamic)
    assert list(gold.columns) == [
        "media_id",
        "modality",
        "sample",
        "valence",
        "arousal",
        "valence_std",
        "arousal_std",
    ]
    assert len(gold) == 8
    first = gold[gold["media_id"] == "x_1"]
    assert first["sample"].tolist() == [0, 1, 2, 3]
    assert first["valence"].to_numpy() == pytest.approx([1.0, 0.6, -0.6, -1.0])
    # arousal = 0.5 valence + 0.1 for everyone: same weights, ewe and std scale with it
    assert first["arousal"].to_numpy() == pytest.approx([0.6, 0.4, -0.2, -0.4])
    assert first["arousal_std"].to_numpy() == pytest.approx(0.5 * first["valence_std"].to_numpy())
    second = gold[gold["media_id"] == "y"]
    assert second["valence"].to_numpy() == pytest.approx([1.0, 1.0, -1.0, -1.0])


def test_gold_standard_uses_the_samples_every_annotator_has() -> None:
    dynamic = _tidy(PANEL, "x", "music")
    dynamic = dynamic[~((dynamic["participant_id"] == 3) & (dynamic["sample"] == 3))]
    assert gold_standard(dynamic)["sample"].tolist() == [0, 1, 2]
