"""HSV hue and saturation histograms."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from videogen import GeneratedVideo

from muvi.features import extract_video
from muvi.features.colour import colour_columns, colour_histograms, hsv_histograms


def test_each_named_column_holds_its_hue_and_saturation_bin() -> None:
    # one frame per hue bin k, at the bin's centre (20k + 10 degrees), saturation
    # at the centre of bin k % 8: each frame puts all its mass in the two columns
    # named for those bins, worked out here from the bin widths alone
    frames = []
    for k in range(18):
        r, g, b = colorsys.hsv_to_rgb((20 * k + 10) / 360, (k % 8 + 0.5) / 8, 1.0)
        frames.append(np.full((4, 4, 3), [round(255 * r), round(255 * g), round(255 * b)]))
    table = colour_histograms(np.asarray(frames, dtype=np.uint8))
    assert list(table.columns) == colour_columns()
    for k in range(18):
        row = table.loc[k]
        assert row[f"colour__hue_{k:02d}"] == pytest.approx(1.0)
        assert row[f"colour__sat_{k % 8:02d}"] == pytest.approx(1.0)
        assert row.sum() == pytest.approx(2.0)


def test_red_then_blue_at_the_right_frames(red_blue_video: GeneratedVideo) -> None:
    visual = extract_video(red_blue_video.path, features="colour", start=0.0).visual
    assert visual is not None and len(visual) == 8
    assert visual["frame"].tolist() == list(range(8))
    # red (hue 0 deg) falls in bin 0 (0-20 deg) for frames 0-3 (0.0-1.5 s);
    # blue (240 deg) in bin 12 (240-260 deg) for frames 4-7 (2.0-3.5 s)
    np.testing.assert_allclose(visual["colour__hue_00"], [1, 1, 1, 1, 0, 0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(visual["colour__hue_12"], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-9)
    # fully saturated: the last saturation bin
    np.testing.assert_allclose(visual["colour__sat_07"], 1.0, atol=1e-9)
    hues = visual[[c for c in visual.columns if "hue" in c]].to_numpy()
    np.testing.assert_allclose(hues.sum(axis=1), 1.0)


def test_stripes_of_known_hue_and_saturation() -> None:
    # 18 stripes, stripe k (k+1 columns wide) at the centre of hue bin k (20k + 10 deg),
    # saturation at the centre of bin k % 8, value 1: the histograms follow the widths
    widths = np.arange(1, 19)
    columns = []
    for k, width in enumerate(widths):
        r, g, b = colorsys.hsv_to_rgb((20 * k + 10) / 360, (k % 8 + 0.5) / 8, 1.0)
        columns += [[round(255 * r), round(255 * g), round(255 * b)]] * int(width)
    image = np.asarray([columns] * 5, dtype=np.uint8)
    hue, sat = hsv_histograms(image)
    np.testing.assert_allclose(hue, widths / widths.sum())
    expected_sat = np.zeros(8)
    for k, width in enumerate(widths):
        expected_sat[k % 8] += width
    np.testing.assert_allclose(sat, expected_sat / widths.sum())


def test_grey_counts_as_unsaturated() -> None:
    grey = np.full((1, 6, 6, 3), 128, dtype=np.uint8)
    table = colour_histograms(grey)
    assert table.loc[0, "colour__sat_00"] == pytest.approx(1.0)
    assert table.loc[0, "colour__hue_00"] == pytest.approx(1.0)
