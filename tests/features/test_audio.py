"""openSMILE emobase per 500 ms window, interchangeable with the published files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from videogen import GeneratedVideo, tone

from muvi.data.loaders import ItemCatalog, load_emobase, load_video_urls
from muvi.features import extract_batch, extract_video
from muvi.features.audio import emobase_windows

SR = 16000


def test_988_named_features_per_window_as_published(muvi_dir: Path) -> None:
    signal = np.concatenate([tone(1.0, 220.0), tone(0.75, 660.0, 0.1)])
    table = emobase_windows(signal, SR)
    # 1.75 s: three complete 500 ms windows, the last 250 ms is not a window
    assert table.shape == (3, 988)
    assert list(table.index) == [0, 1, 2]
    first = load_video_urls(muvi_dir / "video_urls.csv")[:1]
    published = load_emobase(muvi_dir / "emobase_features", ItemCatalog(first))
    assert list(table.columns) == list(published.columns)
    assert np.isfinite(table.to_numpy()).all()


def test_loud_then_quiet_shows_in_loudness_and_intensity(loud_quiet_video: GeneratedVideo) -> None:
    audio = extract_video(loud_quiet_video.path, features="audio", start=0.0).audio
    assert audio is not None and len(audio) == 8
    intensity = audio["pcm_intensity_sma_amean"].to_numpy()
    loudness = audio["pcm_loudness_sma_amean"].to_numpy()
    # windows 0-3 are the loud tone (amplitude 0.8), 4-7 the quiet one (0.02)
    assert intensity[:4].min() > intensity[4:].max()
    assert loudness[:4].min() > loudness[4:].max()
    # intensity grows with the squared amplitude: (0.8 / 0.02)^2 = 1600; openSMILE's
    # loudness is intensity^0.3: 1600^0.3 = 9.1
    assert intensity[1] / intensity[6] == pytest.approx(1600, rel=0.1)
    assert loudness[1] / loudness[6] == pytest.approx(1600**0.3, rel=0.05)


def test_extracted_minute_reads_back_with_the_loader(
    minute_video: GeneratedVideo, tmp_path: Path
) -> None:
    report = extract_batch([minute_video.path], tmp_path, features="audio")
    assert report.failed == [] and report.emobase_dir is not None
    loaded = load_emobase(report.emobase_dir)
    direct = extract_video(minute_video.path, features="audio").audio
    assert loaded.shape == (120, 988)
    assert loaded.index.names == ["media_id", "sample"]
    assert set(loaded.index.get_level_values("media_id")) == {"minute"}
    np.testing.assert_allclose(loaded.to_numpy(), direct.to_numpy(), rtol=1e-9, atol=1e-12)
    header = (report.emobase_dir / "minute.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["", "name", "pcm_intensity_sma_max"] and header[-1] == "class"
