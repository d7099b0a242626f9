"""Shots: PySceneDetect's ContentDetector on generated videos with cuts at known times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from muvi.errors import DataError
from muvi.features.shots import ShotConfig, detect_shots, shot_of_times, shots_from_cuts

FPS = 25


def write_textured_shots(path: Path, lengths: list[float], fps: int = FPS) -> list[float]:
    """Shots of different random textures (a new image per shot, slight motion
    inside each); returns the cut times."""
    import av

    rng = np.random.default_rng(11)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        index = 0
        for seconds in lengths:
            base = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
            for k in range(round(seconds * fps)):
                img = np.roll(base, k, axis=1)  # a slow pan inside the shot
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                frame.pts = index
                index += 1
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return list(np.cumsum(lengths)[:-1])


@pytest.fixture(scope="module")
def textured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    path = tmp_path_factory.mktemp("shots") / "textured.mp4"
    return path, write_textured_shots(path, [1.6, 2.0, 1.2, 1.4])


def test_hard_cuts_found_within_one_frame(textured: tuple[Path, list[float]]) -> None:
    path, cuts = textured
    scan = detect_shots(path)
    assert len(scan.cuts) == len(cuts)
    np.testing.assert_allclose(scan.cuts, cuts, atol=1.0 / FPS + 1e-6)
    assert scan.fps == FPS and scan.n_frames == round(6.2 * FPS)
    assert scan.end == pytest.approx(6.2)
    assert [round(s.duration, 2) for s in scan.shots] == [1.6, 2.0, 1.2, 1.4]


def test_times_are_relative_to_the_excerpt_start(textured: tuple[Path, list[float]]) -> None:
    path, cuts = textured
    scan = detect_shots(path, start=1.0, duration=3.0)  # covers 1.0 .. 4.0 s of the file
    np.testing.assert_allclose(scan.cuts, [c - 1.0 for c in cuts if 1.0 < c < 4.0], atol=1.0 / FPS)
    assert scan.end == pytest.approx(3.0)


def test_pure_hue_changes_score_below_the_default_threshold(cuts_video) -> None:  # type: ignore[no-untyped-def]
    """ContentDetector averages the mean |change| of H, S and V (OpenCV 8-bit).
    Red -> green and green -> blue change only the hue, by 60 of 180 levels:
    a score of 60/3 = 20 < 27, so no cut; blue -> white changes hue by 120 and
    saturation by 255: 125 > 27, a cut."""
    scan = detect_shots(cuts_video.path)
    np.testing.assert_allclose(scan.cuts, [6.0], atol=1.0 / cuts_video.fps)
    lower = detect_shots(cuts_video.path, config=ShotConfig(threshold=15.0))
    np.testing.assert_allclose(lower.cuts, cuts_video.cut_times, atol=1.0 / cuts_video.fps)


def test_shot_lookup() -> None:
    shots = shots_from_cuts([1.0, 2.5], 4.0)
    assert shot_of_times(np.array([0.0, 0.99, 1.0, 2.49, 2.5, 3.9, 9.0]), shots).tolist() == [
        0,
        0,
        1,
        1,
        2,
        2,
        2,
    ]


def test_bad_files(tmp_path: Path, corrupt_video: Path, audioless_video) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="no such video file"):
        detect_shots(tmp_path / "absent.mp4")
    with pytest.raises(DataError, match="corrupt.mp4"):
        detect_shots(corrupt_video)
    scan = detect_shots(audioless_video.path)  # no audio is fine for shots
    assert scan.cuts == [] and len(scan.shots) == 1
