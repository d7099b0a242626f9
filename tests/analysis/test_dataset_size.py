"""Dataset size (Chua et al. 2022, §4.1), by hand and on the real static file."""

from __future__ import annotations

import csv
import statistics
from collections import Counter

import pandas as pd
import pytest

from muvi.analysis.dataset_size import annotation_counts, annotations_per_item, per_item_range


def test_counts_by_hand():
    static = pd.DataFrame(
        {
            "participant_id": [1, 2, 3, 1, 2],
            "media_id": ["a", "a", "a", "b", "b"],
            "modality": ["music", "music", "visual", "visual", "audiovisual"],
        }
    )
    dynamic = pd.DataFrame(  # two samples of each of two annotations
        {
            "participant_id": [1, 1, 3, 3],
            "media_id": ["a", "a", "a", "a"],
            "modality": ["music", "music", "visual", "visual"],
        }
    )
    counts = annotation_counts(static, dynamic).set_index("modality")
    assert counts["static"].tolist() == [2, 2, 1, 5]
    assert counts["dynamic"].tolist() == [1, 1, 0, 2]
    per_item = annotations_per_item(static, items=["a", "b", "c"])
    assert len(per_item) == 9  # every item and modality, even without annotations
    cell = per_item.set_index(["media_id", "modality"])["annotations"]
    assert cell[("a", "music")] == 2 and cell[("c", "visual")] == 0
    ranges = per_item_range(per_item).set_index("modality")
    # music cells: a 2, b 0, c 0
    assert ranges.loc["music"].tolist() == [0, 0, 2]
    assert ranges.loc["all", "max"] == 2


def test_real_static_file(muvi_dir):
    from muvi.data.loaders import ItemCatalog, load_static, load_video_urls

    with open(muvi_dir / "media_data.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    spelled = {"music": "music", "muted_video": "visual", "video": "audiovisual"}
    expected = Counter(spelled[r["media_modality"]] for r in rows)
    cells = Counter((r["media_id"], r["media_modality"]) for r in rows)

    items = load_video_urls(muvi_dir / "video_urls.csv")
    static = load_static(muvi_dir / "media_data.csv", ItemCatalog(items))
    counts = annotation_counts(static).set_index("modality")["static"]
    assert counts["all"] == len(rows) == 1494
    for modality, n in expected.items():
        assert counts[modality] == n
    ranges = per_item_range(annotations_per_item(static, items)).set_index("modality")
    assert len(cells) == 81 * 3  # every item got annotations in every modality
    assert ranges.loc["all", "min"] == min(cells.values())
    assert ranges.loc["all", "max"] == max(cells.values())
    assert ranges.loc["all", "median"] == pytest.approx(statistics.median(cells.values()))
