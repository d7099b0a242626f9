"""Damaged study folders: `muvi analyze` and `muvi validate` each print one line
naming the file (and row or item) and the problem, exit 2, and change nothing:
neither the study nor an existing --out folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from corpus_helpers import (
    assert_one_clear_line,
    emobase_rows,
    fingerprint,
    make_study,
    read_csv,
    set_cell,
    write_csv,
)


def _cell(file: str, row: int, column: str | int, value: str) -> Callable[[Path], None]:
    return lambda root: set_cell(root / file, row, column, value)


def _bytes(file: str, data: bytes) -> Callable[[Path], None]:
    return lambda root: (root / file).write_bytes(data)


def _header_only(file: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        header, _rows = read_csv(root / file)
        write_csv(root / file, header, [])

    return damage


def _folder_instead(file: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path = root / file
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        path.mkdir()

    return damage


def _truncate(file: str, keep: float = 0.5) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        data = (root / file).read_bytes()
        (root / file).write_bytes(data[: int(len(data) * keep)])

    return damage


def _drop_column(file: str, column: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        header, rows = read_csv(root / file)
        j = header.index(column)
        write_csv(root / file, header[:j] + header[j + 1 :], [r[:j] + r[j + 1 :] for r in rows])

    return damage


def _emobase(item: str, n_rows: int = 120, n_features: int = 988) -> Callable[[Path], None]:
    return lambda root: write_csv(
        root / "emobase_features" / f"{item}.csv", *emobase_rows(n_rows, n_features)
    )


def _remove(file: str) -> Callable[[Path], None]:
    return lambda root: (root / file).unlink()


# (id, damage, words the line must hold: the file, the row/item, the problem)
CASES: list[tuple[str, Callable[[Path], None], tuple[str, ...]]] = [
    ("negative-age", _cell("participant_data.csv", 2, "age", "-3"),
     ("participant_data.csv, row 2", "age '-3' is not an age")),
    ("absurd-age", _cell("participant_data.csv", 1, "age", "999"),
     ("participant_data.csv, row 1", "age '999' is not an age")),
    ("age-text", _cell("participant_data.csv", 3, "age", "old"),
     ("participant_data.csv, row 3", "age must be a number, found 'old'")),
    ("duplicate-participant", _cell("participant_data.csv", 2, "participant_id", "1"),
     ("participant_data.csv, row 2", "duplicate participant_id 1")),
    ("participants-header-only", _header_only("participant_data.csv"),
     ("participant_data.csv", "has a header but no rows")),
    ("participants-binary", _bytes("participant_data.csv", b"PK\x03\x04\x00\x00garbage\xff"),
     ("participant_data.csv", "binary content")),
    ("participants-latin1", _bytes("participant_data.csv", "participant_id,age\n1,\xe9\n".encode("latin-1")),
     ("participant_data.csv", "not a UTF-8 CSV text file")),
    ("media-header-only", _header_only("media_data.csv"),
     ("media_data.csv", "has a header but no rows")),
    ("media-zero-bytes", _bytes("media_data.csv", b""), ("media_data.csv", "the file is empty")),
    ("media-a-folder", _folder_instead("media_data.csv"),
     ("media_data.csv", "expected a CSV file, found a folder")),
    ("media-missing-column", _drop_column("media_data.csv", "calm"),
     ("media_data.csv", "missing column 'calm'")),
    ("media-unknown-item", _cell("media_data.csv", 2, "media_id", "zz"),
     ("media_data.csv, row 2", "unknown media id 'zz'")),
    ("media-label-2", _cell("media_data.csv", 3, "sad", "2"),
     ("media_data.csv, row 3", "label sad must be 0 or 1")),
    ("video-urls-missing", _remove("video_urls.csv"), ("video_urls.csv", "file not found")),
    ("video-urls-header-only", _bytes("video_urls.csv", b"video_id\r\n"),
     ("video_urls.csv", "has a header but no rows")),
    ("av-valence-outside", _cell("av_data.csv", 7, "valence", "1.5"),
     ("av_data.csv, row 7, item aa_1", "valence 1.5 is outside [-1, 1]")),
    ("av-arousal-text", _cell("av_data.csv", 9, "arousal", "high"),
     ("av_data.csv, row 9", "arousal is missing or not a finite number (found 'high')")),
    ("av-truncated", _truncate("av_data.csv", 0.6),
     ("av_data.csv, row 154", "the last row has 2 of the header's 6 cells (the file looks truncated)")),
    ("emobase-short-file", _emobase("bb", n_rows=40),
     ("bb.csv, item bb", "40 rows, expected 119 or 120")),
    ("emobase-missing-columns", _emobase("cc_3", n_features=900),
     ("cc_3.csv, item cc_3", "expected 991 columns")),
    ("emobase-text-in-number", _cell("emobase_features/aa_1.csv", 4, 12, "abc"),
     ("aa_1.csv, row 4, item aa_1", "is not a number ('abc')")),
    ("emobase-missing-file", _remove("emobase_features/bb.csv"),
     ("bb.csv, item bb", "no emobase feature file for this item")),
    ("metadata-binary", _bytes("muvi_metadata.json", b"\xff\xfe\x00garbage"),
     ("muvi_metadata.json", "not a JSON text file")),
    ("metadata-wrong-type", _bytes("muvi_metadata.json", b'{"simulated": "yes"}'),
     ("muvi_metadata.json", "'simulated' must be true or false")),
]  # fmt: skip


def test_the_good_study_passes(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = make_study(tmp_path / "study")
    result = cli(["validate", root])
    assert result.code == 0 and result.err == "" and result.out.startswith("ok: ")


@pytest.mark.parametrize("command", ["analyze", "validate"])
@pytest.mark.parametrize(("damage", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_damaged_study_folder_is_one_clear_line(  # type: ignore[no-untyped-def]
    tmp_path: Path, cli, command: str, damage: Callable[[Path], None], words: tuple[str, ...]
) -> None:
    root = make_study(tmp_path / "study")
    damage(root)
    out = tmp_path / "results"
    out.mkdir()
    (out / "summary.json").write_text('{"from": "an earlier run"}', encoding="utf-8")
    before = fingerprint(tmp_path)
    if command == "analyze":
        result = cli(["analyze", "--data", root, "--out", out, "--quiet", "--no-figures"])
    else:
        result = cli(["validate", root])
    assert_one_clear_line(result, *words)
    assert fingerprint(tmp_path) == before


def test_the_cases_are_distinct() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 24
