"""Small tidy tables built by hand for the analysis tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muvi.data.schema import GEMS_LABELS


def _static_table(
    rows: list[tuple[int, str, str, bool, tuple[str, ...], str | None]],
) -> pd.DataFrame:
    """A tidy static table from (participant, item, modality, seen, ticked labels, overlay)."""
    records = []
    for participant, item, modality, seen, ticked, overlay in rows:
        record: dict[str, object] = {
            "participant_id": participant,
            "media_id": item,
            "modality": modality,
            "seen_previously": seen,
        }
        record.update({label: int(label in ticked) for label in GEMS_LABELS})
        record["overlay"] = overlay
        records.append(record)
    return pd.DataFrame(records)


@pytest.fixture
def make_static():
    """Build a tidy static table from (participant, item, modality, seen, labels, overlay)."""
    return _static_table


@pytest.fixture
def random_static() -> pd.DataFrame:
    """300 random annotations with label probabilities that differ by modality
    and gender, for the statistical tests (seeded)."""
    rng = np.random.default_rng(11)
    n = 300
    modality = rng.choice(["music", "visual", "audiovisual"], size=n)
    participant = rng.integers(0, 20, size=n)
    base = rng.uniform(0.05, 0.4, size=len(GEMS_LABELS))
    boost = np.where(modality == "audiovisual", 1.6, 1.0)[:, None] * np.ones(len(GEMS_LABELS))
    boost[:, :3] *= np.where(participant % 2 == 0, 1.8, 1.0)[:, None]
    ticks = (rng.uniform(size=(n, len(GEMS_LABELS))) < np.clip(base * boost, 0, 1)).astype(int)
    table = pd.DataFrame(ticks, columns=list(GEMS_LABELS))
    table.insert(0, "participant_id", participant)
    table.insert(1, "media_id", rng.choice(["a", "b", "c", "d"], size=n))
    table.insert(2, "modality", modality)
    table.insert(3, "seen_previously", rng.uniform(size=n) < 0.3)
    overlay = rng.choice(["overlaid", "side_by_side"], size=n).astype(object)
    overlay[modality == "music"] = None
    table["overlay"] = overlay
    return table


@pytest.fixture
def random_participants() -> pd.DataFrame:
    """The 20 participants of :func:`random_static`: even ids female, training 0..9."""
    ids = np.arange(20)
    return pd.DataFrame(
        {
            "participant_id": ids,
            "age": 20 + ids % 7,
            "gender": np.where(ids % 2 == 0, "Female", "Male"),
            "years_formal_training": ids % 10,
            "overlay_pref": np.where(ids % 3 == 0, "Overlaid", "Side-by-Side"),
        }
    )
