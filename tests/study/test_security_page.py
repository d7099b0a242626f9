"""docs/security.md states the defaults of the study server's settings: each
``name`` (value) it gives is the default of that field of
:class:`muvi.study.security.SecurityConfig`, and every field is stated."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from muvi.study.security import DEFAULT_SECURITY, SecurityConfig
from muvi.study.service import SAMPLE_CAP_MARGIN, max_samples_per_trial

PAGE = Path(__file__).resolve().parents[2] / "docs" / "security.md"
UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "MiB": 1024 * 1024}


def _value(text: str) -> object:
    if text in ("on", "off"):
        return text == "on"
    if text.startswith("`"):
        return tuple(re.findall(r"`([^`]+)`", text))
    number, _, unit = text.partition(" ")
    return float(number) * UNITS.get(unit, 1.0)


def test_the_page_states_every_default() -> None:
    stated = {
        name: _value(value)
        for name, value in re.findall(
            r"`(\w+)` \(([^()]*(?:\([^()]*\))?[^()]*)\)", PAGE.read_text()
        )
        if name in {f.name for f in dataclasses.fields(SecurityConfig)}
    }
    assert set(stated) == {f.name for f in dataclasses.fields(SecurityConfig)}
    for name, value in stated.items():
        default = getattr(DEFAULT_SECURITY, name)
        assert value == (default if isinstance(default, (bool, tuple)) else float(default)), name


def test_the_page_states_the_cap() -> None:
    text = PAGE.read_text()
    assert f"`muvi.study.service.SAMPLE_CAP_MARGIN` ({SAMPLE_CAP_MARGIN:g})" in text
    assert f"60 s excerpts the cap is {max_samples_per_trial(60.0)}" in text
