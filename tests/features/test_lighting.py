"""Brightness mean, std and the lighting key."""

from __future__ import annotations

import numpy as np
import pytest
from videogen import GeneratedVideo

from muvi.features import extract_video
from muvi.features.lighting import lighting_columns, lighting_key


def test_by_hand() -> None:
    frames = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    frames[0, :2] = 255  # half white, half black: mean 0.5, std 0.5, key 0.25
    frames[1] = (51, 102, 0)  # V = max = 102/255 = 0.4 everywhere: std 0, key 0
    frames[2, :1] = (0, 0, 255)  # a quarter at V = 1, the rest 0: mean 1/4, std sqrt(3)/4
    table = lighting_key(frames)
    assert list(table.columns) == lighting_columns()
    np.testing.assert_allclose(table["lighting__brightness_mean"], [0.5, 0.4, 0.25], atol=1e-7)
    np.testing.assert_allclose(
        table["lighting__brightness_std"], [0.5, 0.0, np.sqrt(3) / 4], atol=1e-7
    )
    np.testing.assert_allclose(table["lighting__key"], [0.25, 0.0, np.sqrt(3) / 16], atol=1e-7)


def test_agrees_with_scikit_image_hsv() -> None:
    from skimage.color import rgb2hsv

    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    table = lighting_key(frames)
    for k, frame in enumerate(frames):
        value = rgb2hsv(frame)[..., 2]
        assert table.iloc[k, 0] == pytest.approx(value.mean(), rel=1e-6)
        assert table.iloc[k, 1] == pytest.approx(value.std(), rel=1e-6)
        assert table.iloc[k, 2] == pytest.approx(value.mean() * value.std(), rel=1e-6)


def test_on_a_video(cuts_video: GeneratedVideo) -> None:
    visual = extract_video(cuts_video.path, features="lighting", start=0.0).visual
    assert visual is not None and len(visual) == 16
    mean = visual["lighting__brightness_mean"].to_numpy()
    # every shot is a full-value colour (red, green, blue, white) with a small white square
    np.testing.assert_allclose(mean, 1.0, atol=0.02)
    assert (visual["lighting__key"] <= visual["lighting__brightness_std"] + 1e-12).all()
