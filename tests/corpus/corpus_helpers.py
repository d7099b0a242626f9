"""The malformed-input corpus: helpers that make each damaged input
from a good one in the test's temporary folder, run the command line in this
process, and fingerprint folders so a test can show that nothing already
stored was lost or changed."""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "features"))

from muvi.data import schema  # noqa: E402

ITEMS = ["aa_1", "bb", "cc_3"]
PEOPLE = [
    ["1", "20", "Female", "SG", "SG", "EN", "Pop", "2", "Yes", "Overlaid"],
    ["2", "31", "Male", "CN", "CN", "ZH", "Rock", "5", "Yes", "Side-by-Side"],
    ["3", "25", "Female", "GB", "GB", "EN", "Jazz", "0", "Yes", "Overlaid"],
]
STATIC = [  # participant, media id as published, modality, seen, ticked labels, overlay_type
    ("1", "aa", "music", "False", ["moved"], "irrelevant"),
    ("1", "bb", "muted_video", "True", ["calm", "tender"], "1"),
    ("2", "cc", "video", "False", ["sad"], "0"),
    ("3", "bb", "video", "False", ["joyful", "bouncy"], "1"),
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def emobase_rows(n_rows: int = 120, n_features: int = 988) -> tuple[list[str], list[list[str]]]:
    """The published emobase layout: unnamed index, ``name``, the features (one
    shared header name, as released), ``class``."""
    header = ["", *["mfcc_sma[1]_max"] * (n_features + 2)]
    rows = [
        [str(k), f"liveturn_{k}", *[f"{(k + j) % 50}" for j in range(n_features)], "unassigned"]
        for k in range(n_rows)
    ]
    return header, rows


def make_study(root: Path) -> Path:
    """A small valid study in the published layout: 3 items, 3 participants,
    4 static annotations, 2 dynamic annotations of 120 samples, emobase files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "video_urls.csv").write_bytes(("video_id\r\n" + "\r\n".join(ITEMS)).encode())
    write_csv(root / "participant_data.csv", list(schema.PARTICIPANT_COLUMNS), PEOPLE)
    labels = list(schema.GEMS_LABELS)
    header = [*schema.STATIC_KEY_COLUMNS, *labels, "overlay_type"]
    rows = [
        [pid, media, modality, seen, *["1" if x in ticked else "0" for x in labels], overlay]
        for pid, media, modality, seen, ticked, overlay in STATIC
    ]
    write_csv(root / "media_data.csv", header, rows)
    dynamic = [
        [pid, media, modality, str(k), f"{0.5 * np.sin(k / 9):.4f}", "0.1"]
        for pid, media, modality, *_ in STATIC[:2]
        for k in range(120)
    ]
    write_csv(
        root / "av_data.csv", [*schema.DYNAMIC_KEY_COLUMNS, "seq", "valence", "arousal"], dynamic
    )
    folder = root / "emobase_features"
    folder.mkdir()
    for item in ITEMS:
        write_csv(folder / f"{item}.csv", *emobase_rows())
    (root / "muvi_metadata.json").write_text('{"simulated": false}', encoding="utf-8")
    return root


def set_cell(path: Path, row: int, column: str | int, value: str) -> None:
    """Set one cell (1-based data row; column by name or position) of a CSV file."""
    header, rows = read_csv(path)
    rows[row - 1][header.index(column) if isinstance(column, str) else column] = value
    write_csv(path, header, rows)


def fingerprint(*roots: Path) -> dict[str, str]:
    """Every file and folder under ``roots`` -> its sha256 (``dir`` for a folder)."""
    out: dict[str, str] = {}
    for root in roots:
        if root.is_file():
            out[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
            continue
        for path in sorted(root.rglob("*")) if root.exists() else []:
            out[str(path)] = (
                "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
            )
    return out


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], Outcome]:
    """Run ``muvi ARGS`` in this process; its exit status and output. An exception
    escaping the entry point (a traceback for the user) fails the test."""
    from muvi.cli import main

    def run(args: list[str]) -> Outcome:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def assert_one_clear_line(result: Outcome, *words: str) -> str:
    """Exit status 2, exactly one line on stderr holding every one of ``words``,
    and no traceback anywhere."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.out + result.err
    lines = result.err_lines
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: "), line
    for word in words:
        assert word in line, (word, line)
    return line
