"""The one figure style: palettes that colour-blind readers can tell apart, and
files a journal's production can use (SVG and PDF with their text as text).

The colour-vision simulation is implemented here, independently of the package:
the Machado, Oliveira and Fernandes (2009) matrices at severity 1.0, applied in
linear RGB, then CIELAB (D65) and the CIE 1976 colour difference.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest

from muvi.analysis.personalised import CV_SCHEME_COLOURS
from muvi.analysis.static_effects import RESIDUAL_COLOURS
from muvi.data.schema import GEMS_CATEGORIES
from muvi.plotting import style

# Machado et al. (2009), Table 1 at severity 1.0: linear RGB -> simulated linear RGB
DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)
PROTANOPIA = np.array(
    [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]
)
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
WHITE_D65 = np.array([0.95047, 1.0, 1.08883])

MIN_DELTA_E = 15.0
"""The smallest CIE 1976 difference allowed between two colours of one palette."""

FORMER_CATEGORY_COLOURS = (
    "#4e79a7", "#59a14f", "#9c755f", "#f28e2b", "#edc948",
    "#e15759", "#ff9da7", "#76b7b2", "#b07aa1",
)  # fmt: skip
"""The GEMS colours before (Tableau 10): Transcendence's green and Power's red merge."""


def linear_rgb(colour: str) -> np.ndarray:
    channels = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)


def cielab(linear: np.ndarray) -> np.ndarray:
    xyz = SRGB_TO_XYZ @ np.clip(linear, 0.0, 1.0) / WHITE_D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(colours: list[str], vision: np.ndarray | None) -> tuple[float, str, str]:
    """The smallest CIE 1976 delta E between two colours seen with ``vision``."""
    seen = {c: cielab(linear_rgb(c) if vision is None else vision @ linear_rgb(c)) for c in colours}
    return min(
        (float(np.linalg.norm(seen[a] - seen[b])), a, b)
        for a, b in itertools.combinations(colours, 2)
    )


def test_the_simulation_keeps_greys_and_merges_red_with_green() -> None:
    """Known properties of the simulation: every row sums to 1 (greys stay grey), and
    a pure red and a green of the same lightness under deuteranopia look alike."""
    for vision in (DEUTERANOPIA, PROTANOPIA):
        np.testing.assert_allclose(vision.sum(axis=1), 1.0, atol=1e-5)
    assert cielab(np.ones(3)) == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    # the former palette's green and red: far apart normally, a few units with deuteranopia
    green, red = "#59a14f", "#e15759"
    assert closest_pair([green, red], None)[0] > 50
    assert closest_pair([green, red], DEUTERANOPIA)[0] < 3


PALETTES = {
    "GEMS categories": [style.CATEGORY_COLOURS[c] for c in GEMS_CATEGORIES],
    "models": list(style.MODEL_PALETTE),
    "modalities": list(style.MODALITY_COLOURS.values()),
    "cross-validation schemes": list(CV_SCHEME_COLOURS.values()),
    "residual signs": list(RESIDUAL_COLOURS.values()),
}


@pytest.mark.parametrize("name", sorted(PALETTES))
@pytest.mark.parametrize(
    "vision", [None, DEUTERANOPIA, PROTANOPIA], ids=["normal", "deuteranopia", "protanopia"]
)
def test_every_categorical_palette_stays_distinct_for_colour_blind_readers(
    name: str, vision: np.ndarray | None
) -> None:
    colours = PALETTES[name]
    assert len(set(colours)) == len(colours)
    distance, a, b = closest_pair(colours, vision)
    assert distance >= MIN_DELTA_E, f"{name}: {a} and {b} are {distance:.1f} apart"


def test_the_former_gems_colours_fail_the_same_check() -> None:
    """The check can fail: the GEMS colours used before merge under deuteranopia."""
    assert closest_pair(list(FORMER_CATEGORY_COLOURS), None)[0] >= MIN_DELTA_E
    assert closest_pair(list(FORMER_CATEGORY_COLOURS), DEUTERANOPIA)[0] < MIN_DELTA_E


LABELS = ("Wonder (share)", "Time (s)", "Valence", "Joyful activation")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A figure with known labels, written by :func:`style.save_figure`."""
    fig = style.new_figure(style.COLUMN_WIDTH_IN, 2.4)
    with style.figure_style():
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], label=LABELS[0], color=style.CATEGORY_COLOURS["Wonder"])
        ax.plot([0, 1], [1, 0], label=LABELS[3], color=style.CATEGORY_COLOURS["Joyful activation"])
        ax.set_xlabel(LABELS[1])
        ax.set_ylabel(LABELS[2])
        style.legend_outside(ax)
    return style.save_figure(fig, tmp_path_factory.mktemp("figure") / "labels.png")


def test_png_svg_and_pdf_are_written_beside_each_other(written: Path) -> None:
    assert written.suffix == ".png" and written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    assert written.with_suffix(".svg").read_text().lstrip().startswith("<?xml")


def test_the_svg_keeps_its_text_as_text(written: Path) -> None:
    root = ET.parse(written.with_suffix(".svg")).getroot()
    texts = ["".join(e.itertext()) for e in root.iter("{http://www.w3.org/2000/svg}text")]
    for label in LABELS:
        assert label in texts, (label, texts)
    assert "Time (s)" not in {e.get("id") for e in root.iter()}  # not a glyph path's name


def _pdf_text(data: bytes) -> list[str]:
    """The strings shown by the PDF's text operators, decoded through the fonts'
    ToUnicode maps (2-byte codes, Identity-H, as matplotlib writes TrueType text)."""
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            streams.append(zlib.decompress(raw))
        except zlib.error:
            streams.append(raw)
    to_unicode: dict[int, str] = {}
    for stream in streams:
        if b"begincmap" not in stream:
            continue
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
            for low, high, targets in re.findall(rb"<(\w+)>\s*<(\w+)>\s*\[([^\]]*)\]", block):
                codes = range(int(low, 16), int(high, 16) + 1)
                for code, target in zip(codes, re.findall(rb"<(\w+)>", targets), strict=True):
                    to_unicode[code] = chr(int(target, 16))
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
            for code, target in re.findall(rb"<(\w+)>\s*<(\w+)>", block):
                to_unicode[int(code, 16)] = chr(int(target, 16))
    shown = []
    for stream in streams:
        for block in re.findall(rb"BT(.*?)ET", stream, re.S):
            raw = b"".join(
                re.sub(rb"\\(.)", rb"\1", s)
                for s in re.findall(rb"\(((?:\\.|[^\\)])*)\)", block, re.S)
            )
            codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
            shown.append("".join(to_unicode.get(c, "\ufffd") for c in codes))
    return shown


def test_the_pdf_embeds_its_font_and_keeps_its_text(written: Path) -> None:
    data = written.with_suffix(".pdf").read_bytes()
    assert b"/FontFile2" in data  # the TrueType font embedded, not glyphs drawn as paths
    text = _pdf_text(data)
    for label in LABELS:
        assert label in text, (label, text)
