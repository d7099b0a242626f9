"""The openSMILE licence notice: said once per process, when openSMILE is first used."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import opensmile

from muvi.features import audio


def test_licence_notice_once_per_process(caplog, monkeypatch):
    monkeypatch.setattr(audio, "_notice_given", False)
    audio._smile.cache_clear()
    sr = 16000
    signal = 0.3 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="muvi.features.audio"):
        audio.emobase_windows(signal, sr)
        audio._smile.cache_clear()  # even a fresh openSMILE object does not repeat it
        audio.emobase_windows(signal, sr)
    notices = [r for r in caplog.records if "openSMILE" in r.getMessage()]
    assert len(notices) == 1
    assert notices[0].levelno == logging.WARNING and notices[0].name == "muvi.features.audio"
    assert audio.opensmile_licence_notice() is False


def test_notice_matches_the_installed_licence():
    # the installed package's own licence file: research / non-commercial terms
    dist = Path(opensmile.__file__).resolve().parent.parent
    licence = next(dist.glob("opensmile-*.dist-info/licenses/LICENSE")).read_text()
    assert "non-commercial purpose" in licence
    assert "commercial research" in licence
    text = audio.OPENSMILE_LICENCE_NOTICE
    assert "non-commercial" in text and "commercial research" in text and "audEERING" in text
