"""The GEMS label table on a tiny table counted by hand."""

from __future__ import annotations

import pytest

from muvi.analysis.gems import (
    distinct_labels_per_item,
    gems_summary,
    group_table,
    label_table,
    labels_per_annotation,
)


@pytest.fixture
def tiny(make_static):
    # 5 annotations, 12 selections in all:
    #   music: 2 annotations, 5 selections; visual: 2, 4; audiovisual: 1, 3
    return make_static(
        [
            (1, "a", "music", False, ("calm", "serene", "sad"), None),
            (2, "a", "music", False, ("calm", "joyful"), None),
            (1, "b", "visual", True, ("calm",), "overlaid"),
            (3, "a", "visual", False, ("tense", "nervous", "agitated"), "side_by_side"),
            (2, "b", "audiovisual", False, ("sad", "blue", "calm"), "overlaid"),
        ]
    )


def test_label_counts_and_shares(tiny):
    table = label_table(tiny).set_index(["modality", "label"])
    # calm: ticked by 4 of the 5 annotations, 4 of 12 selections
    assert table.loc[("all", "calm"), "count"] == 4
    assert table.loc[("all", "calm"), "share"] == pytest.approx(100 * 4 / 12)
    assert table.loc[("all", "calm"), "item_share"] == pytest.approx(100 * 4 / 5)
    # in music calm is 2 of 5 selections and 2 of 2 annotations
    assert table.loc[("music", "calm"), "share"] == pytest.approx(40.0)
    assert table.loc[("music", "calm"), "item_share"] == pytest.approx(100.0)
    # sad: once in music (1/5 selections, 1/2 annotations), once in audiovisual (1/3, 1/1)
    assert table.loc[("music", "sad"), ["share", "item_share"]].tolist() == pytest.approx([20, 50])
    assert table.loc[("audiovisual", "sad"), "share"] == pytest.approx(100 / 3)
    assert table.loc[("visual", "tense"), "item_share"] == pytest.approx(50.0)
    assert table.loc[("all", "moved"), "count"] == 0
    assert table.loc[("visual", "calm"), "category"] == "Peacefulness"
    assert table.loc[("visual", "calm"), "superfactor"] == "Sublimity"
    # shares within each modality add up to 100 %
    for modality in ("music", "visual", "audiovisual", "all"):
        assert table.loc[modality, "share"].sum() == pytest.approx(100.0)


def test_category_and_superfactor_groups(tiny):
    cats = group_table(tiny, "category").set_index(["modality", "group"])
    # Peacefulness (serene, calm, soothed): 5 selections of 12; 4 of 5 annotations
    assert cats.loc[("all", "Peacefulness"), "count"] == 5
    assert cats.loc[("all", "Peacefulness"), "share"] == pytest.approx(500 / 12)
    assert cats.loc[("all", "Peacefulness"), "any_share"] == pytest.approx(80.0)
    # Tension: 3 selections, all in one visual annotation -> 50 % of visual
    assert cats.loc[("visual", "Tension"), "any_share"] == pytest.approx(50.0)
    assert cats.loc[("all", "Tension"), "any_share"] == pytest.approx(20.0)
    supers = group_table(tiny, "superfactor").set_index(["modality", "group"])
    # Unease = Sadness + Tension: sad, sad, blue, tense, nervous, agitated = 6; 3 annotations
    assert supers.loc[("all", "Unease"), "count"] == 6
    assert supers.loc[("all", "Unease"), "any_share"] == pytest.approx(60.0)
    assert supers.loc[("all", "Vitality"), "count"] == 1  # joyful
    with pytest.raises(ValueError, match="level"):
        group_table(tiny, "family")


def test_labels_per_annotation_and_distinct_labels(tiny):
    per = labels_per_annotation(tiny).set_index("modality")
    assert per.loc["music", "mean"] == pytest.approx(2.5)
    assert per.loc["visual", ["annotations", "selections", "min", "max"]].tolist() == [2, 4, 1, 3]
    assert per.loc["all", "mean"] == pytest.approx(12 / 5)
    distinct = distinct_labels_per_item(tiny).set_index(["media_id", "modality"])
    # item a in music: calm, serene, sad, joyful
    assert distinct.loc[("a", "music"), "distinct_labels"] == 4
    # item a over all modalities: calm serene sad joyful tense nervous agitated
    assert distinct.loc[("a", "all"), "distinct_labels"] == 7
    # item b: calm (visual); sad blue calm (audiovisual) -> 3 distinct
    assert distinct.loc[("b", "all"), "distinct_labels"] == 3


def test_summary_block(tiny):
    block = gems_summary(tiny)
    assert set(block) == {
        "labels_per_annotation",
        "distinct_labels_per_stimulus",
        "distinct_labels_per_item_pooled",
        "item_share",
        "category_any_share",
    }
    assert block["labels_per_annotation"]["all"] == pytest.approx(2.4)
    # pooled per item: a has 7 distinct labels over its modalities, b has 3
    assert block["distinct_labels_per_item_pooled"] == pytest.approx((7 + 3) / 2)
    # per stimulus (item x modality), the paper's definition, counted by hand:
    # (a, music) 4, (a, visual) 3, (b, visual) 1, (b, audiovisual) 3 -> 11 / 4
    assert block["distinct_labels_per_stimulus"] == pytest.approx(
        {"music": 4.0, "visual": 2.0, "audiovisual": 3.0, "all": 11 / 4}
    )
    assert block["distinct_labels_per_stimulus"]["all"] < block["distinct_labels_per_item_pooled"]
    assert block["item_share"]["calm"] == pytest.approx(80.0)
    assert len(block["item_share"]) == 27 and len(block["category_any_share"]) == 9
    assert block["category_any_share"]["Sadness"] == pytest.approx(40.0)


def test_missing_label_column_is_a_clear_error(tiny):
    from muvi.errors import DataError

    with pytest.raises(DataError, match="lack GEMS label column.*tearful"):
        label_table(tiny.drop(columns=["tearful"]))
