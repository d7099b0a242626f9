"""Where the music starts, and the 60 s excerpt on the 500 ms grid."""

from __future__ import annotations

import numpy as np
import pytest
from videogen import GeneratedVideo, silence, tone

from muvi.errors import DataError
from muvi.features.excerpt import ExcerptConfig, find_music_start, frame_rms, load_excerpt

SR = 16000


def test_silent_intro_is_detected(silent_intro_video: GeneratedVideo) -> None:
    excerpt = load_excerpt(silent_intro_video.path)
    assert silent_intro_video.music_start == pytest.approx(3.0, abs=1e-3)
    assert excerpt.start == pytest.approx(3.0, abs=0.1)
    # 3.0 s of media remain after the start: 6 windows of 500 ms
    assert excerpt.n_samples == 6 and excerpt.duration == 3.0
    assert len(excerpt.audio) == 3 * SR
    assert any("music starts" in n for n in excerpt.notes)
    assert any("shorter than 60 s" in n and "6 rows" in n for n in excerpt.notes)


def test_a_click_is_not_the_music_start() -> None:
    rng = np.random.default_rng(1)
    audio = np.concatenate(
        [
            silence(1.0),
            tone(0.3, amplitude=0.5),  # a short sound, not sustained for 1 s
            silence(2.7),
            tone(3.0, amplitude=0.5),
        ]
    )
    audio += rng.normal(0, 1e-4, len(audio)).astype(np.float32)  # a noise floor at -80 dB
    assert find_music_start(audio, SR) == pytest.approx(4.0, abs=0.05)


def test_a_quiet_ambience_before_the_music_counts_as_silence() -> None:
    rng = np.random.default_rng(2)
    ambience = rng.normal(0, 0.005, 2 * SR).astype(np.float32)  # ~ -46 dB, 37 dB below the music
    audio = np.concatenate([ambience, tone(4.0, amplitude=0.5)])
    assert find_music_start(audio, SR) == pytest.approx(2.0, abs=0.05)


def test_silence_has_no_start() -> None:
    assert find_music_start(silence(3.0), SR) is None
    assert find_music_start(np.zeros(10, dtype=np.float32), SR) is None


def test_frame_rms_by_hand() -> None:
    audio = np.concatenate([np.full(800, 0.5), np.full(800, -0.25)]).astype(np.float32)
    np.testing.assert_allclose(frame_rms(audio, SR, 0.05), [0.5, 0.25])


def test_given_start_and_grid(red_blue_video: GeneratedVideo) -> None:
    excerpt = load_excerpt(red_blue_video.path, start=1.0)
    np.testing.assert_allclose(excerpt.times, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert excerpt.frames is not None and excerpt.frames.shape[0] == 6
    # file times 1.0, 1.5 are red; 2.0 and later blue
    assert excerpt.frames[1, 0, 0, 0] > 200 and excerpt.frames[2, 0, 0, 2] > 200
    assert excerpt.media_id == "red_blue"


def test_full_minute_is_120_rows(minute_video: GeneratedVideo) -> None:
    excerpt = load_excerpt(minute_video.path, kinds=["audio"])
    assert excerpt.start == pytest.approx(1.0, abs=0.1)
    assert excerpt.n_samples == 120 and excerpt.duration == 60.0
    assert excerpt.frames is None and len(excerpt.audio) == 60 * SR
    assert not any("shorter" in n for n in excerpt.notes)


def test_excerpt_length_is_configurable(minute_video: GeneratedVideo) -> None:
    excerpt = load_excerpt(
        minute_video.path, start=0.0, kinds=["frames"], config=ExcerptConfig(seconds=5.0)
    )
    assert excerpt.n_samples == 10 and excerpt.audio is None


def test_start_outside_the_file(red_blue_video: GeneratedVideo) -> None:
    with pytest.raises(
        DataError, match=r"red_blue\.mp4: excerpt start 9.00 s is at or after the end"
    ):
        load_excerpt(red_blue_video.path, start=9.0)
    with pytest.raises(DataError, match="not a time"):
        load_excerpt(red_blue_video.path, start=-1.0)


def test_audioless_video(audioless_video: GeneratedVideo) -> None:
    with pytest.raises(DataError, match=r"no_audio\.mp4: has no audio stream"):
        load_excerpt(audioless_video.path)
    # visual features alone do not need audio: the excerpt starts at 0 s, reported
    excerpt = load_excerpt(audioless_video.path, kinds=["frames"])
    assert excerpt.start == 0.0 and excerpt.n_samples == 4
    assert any("no audio stream" in n for n in excerpt.notes)


def test_a_frame_extractor_without_decoded_frames_is_refused_by_name(tmp_path):
    import numpy as np
    import pytest

    from muvi.features.excerpt import ExcerptMedia

    media = ExcerptMedia("clip", tmp_path / "clip.mp4", 0.0, 1.0, np.array([0.0, 0.5]))
    with pytest.raises(RuntimeError, match="the colour extractor needs the excerpt's frames"):
        media.require_frames("colour")
    media.frames = np.zeros((2, 4, 4, 3), np.uint8)
    assert media.require_frames("colour") is media.frames
