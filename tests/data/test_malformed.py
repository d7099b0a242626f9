"""Malformed input: each case breaks one thing in a small, valid study folder
and checks that :func:`muvi.data.loaders.load_dataset` refuses it with a
DataError whose message names the file, the row or item where meaningful,
and the problem.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from muvi.cli import main
from muvi.data import schema
from muvi.data.loaders import load_dataset
from muvi.errors import DataError

ITEMS = ["aa_1", "bb", "cc_3"]
PEOPLE = [
    ["1", "20", "Female", "SG", "SG", "EN", "Pop", "2", "Yes", "Overlaid"],
    ["2", "31", "Male", "CN", "CN", "ZH", "Rock", "5", "Yes", "Side-by-Side"],
    ["3", "25", "Female", "GB", "GB", "EN", "Jazz", "0", "Yes", "Overlaid"],
]
# (participant, media id as published, public modality, seen, labels, overlay_type)
STATIC = [
    ("1", "aa", "music", "False", ["moved"], "irrelevant"),
    ("1", "bb", "muted_video", "True", ["calm", "tender"], "1"),
    ("2", "cc", "video", "False", ["sad"], "0"),
    ("3", "bb", "video", "False", ["joyful", "bouncy"], "1"),
]
N_SAMPLES = 120


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _static_rows() -> tuple[list[str], list[list[str]]]:
    # Labels in the published, odd order: moved, nervous, then the rest.
    labels = ["moved", "nervous", *[x for x in schema.GEMS_LABELS if x not in ("moved", "nervous")]]
    header = [*schema.STATIC_KEY_COLUMNS, *labels, "overlay_type"]
    rows = []
    for pid, media, modality, seen, ticked, overlay in STATIC:
        rows.append(
            [pid, media, modality, seen, *["1" if x in ticked else "0" for x in labels], overlay]
        )
    return header, rows


def _dynamic_rows() -> tuple[list[str], list[list[str]]]:
    header = [*schema.DYNAMIC_KEY_COLUMNS, "seq", "valence", "arousal"]
    rows = []
    for pid, media, modality, *_ in STATIC[:2]:
        for k in range(N_SAMPLES):
            rows.append([pid, media, modality, str(k), f"{0.5 * np.sin(k / 9):.4f}", "0.1"])
    return header, rows


def _emobase_rows(n_rows: int = 120, n_features: int = 988) -> tuple[list[str], list[list[str]]]:
    # The published layout: unnamed index, 'name', features (one shared name), class.
    header = ["", *["mfcc_sma[1]_max"] * (n_features + 2)]
    rows = [
        [str(k), f"liveturn_{k}", *[f"{(k + j) % 50}" for j in range(n_features)], "unassigned"]
        for k in range(n_rows)
    ]
    return header, rows


def _study(root: Path, *, emobase: bool = False) -> Path:
    """A small valid study in the published layout."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "video_urls.csv").write_bytes(("video_id\r\n" + "\r\n".join(ITEMS)).encode())
    _write_csv(root / "participant_data.csv", list(schema.PARTICIPANT_COLUMNS), PEOPLE)
    _write_csv(root / "media_data.csv", *_static_rows())
    _write_csv(root / "av_data.csv", *_dynamic_rows())
    if emobase:
        folder = root / "emobase_features"
        folder.mkdir()
        for item in ITEMS:
            _write_csv(folder / f"{item}.csv", *_emobase_rows())
    return root


def _edit(path: Path, change: Callable[[list[str], list[list[str]]], object]) -> None:
    header, rows = _read_csv(path)
    change(header, rows)
    _write_csv(path, header, rows)


def _set(file: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set one cell (1-based data row) of a file."""

    def mutate(root: Path) -> None:
        def change(header: list[str], rows: list[list[str]]) -> None:
            rows[row - 1][header.index(column)] = value

        _edit(root / file, change)

    return mutate


def _drop_column(file: str, column: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        def change(header: list[str], rows: list[list[str]]) -> None:
            j = header.index(column)
            del header[j]
            for r in rows:
                del r[j]

        _edit(root / file, change)

    return mutate


def _append_copy(file: str, row: int) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        _edit(root / file, lambda header, rows: rows.append(list(rows[row - 1])))

    return mutate


def _delete_row(file: str, row: int) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        _edit(root / file, lambda header, rows: rows.pop(row - 1))

    return mutate


def _replace_text(file: str, text: str | bytes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / file
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")

    return mutate


def _emobase(item: str, n_rows: int = 120, n_features: int = 988) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        _write_csv(root / "emobase_features" / f"{item}.csv", *_emobase_rows(n_rows, n_features))

    return mutate


def _emobase_cell(item: str, row: int, position: int, value: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        def change(header: list[str], rows: list[list[str]]) -> None:
            rows[row - 1][position] = value

        _edit(root / "emobase_features" / f"{item}.csv", change)

    return mutate


def _delete_rows(file: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        _edit(root / file, lambda header, rows: rows.clear())

    return mutate


def _remove(file: str) -> Callable[[Path], None]:
    return lambda root: (root / file).unlink()


def _video_urls(text: str) -> Callable[[Path], None]:
    return _replace_text("video_urls.csv", text)


def _unknown_participant(root: Path) -> None:
    _set("media_data.csv", 3, "participant_id", "99")(root)


def _ambiguous(root: Path) -> None:
    # Two items now share the short form "aa"; media_data still spells "aa".
    (root / "video_urls.csv").write_bytes(b"video_id\r\naa_1\r\naa_2\r\nbb\r\ncc_3\r\n")


# (case id, mutation, needs emobase, file named in the message, row, problem pattern)
CASES: list[tuple[str, Callable[[Path], None], bool, str, int | None, str]] = [
    (
        "missing column",
        _drop_column("media_data.csv", "calm"),
        False,
        "media_data.csv",
        None,
        r"missing column 'calm'",
    ),
    (
        "unknown modality",
        _set("media_data.csv", 2, "media_modality", "audio"),
        False,
        "media_data.csv",
        2,
        r"unknown modality 'audio'",
    ),
    (
        "label value 2",
        _set("media_data.csv", 3, "sad", "2"),
        False,
        "media_data.csv",
        3,
        r"label sad must be 0 or 1, found '2'",
    ),
    (
        "overlay 1 for music",
        _set("media_data.csv", 1, "overlay_type", "1"),
        False,
        "media_data.csv",
        1,
        r"overlay_type '1' for a music annotation",
    ),
    (
        "overlay irrelevant for video",
        _set("media_data.csv", 4, "overlay_type", "irrelevant"),
        False,
        "media_data.csv",
        4,
        r"overlay_type 'irrelevant' for an audiovisual annotation",
    ),
    (
        "overlay value 2",
        _set("media_data.csv", 2, "overlay_type", "2"),
        False,
        "media_data.csv",
        2,
        r"overlay_type must be 1, 0 or irrelevant, found '2'",
    ),
    (
        "familiarity not boolean",
        _set("media_data.csv", 2, "seen_previously", "maybe"),
        False,
        "media_data.csv",
        2,
        r"seen_previously must be True or False, found 'maybe'",
    ),
    (
        "duplicate static annotation",
        _append_copy("media_data.csv", 2),
        False,
        "media_data.csv",
        5,
        r"duplicate static annotation of participant 1 in modality visual \(first in row 2\)",
    ),
    (
        "unknown media id",
        _set("media_data.csv", 2, "media_id", "zz"),
        False,
        "media_data.csv",
        2,
        r"unknown media id 'zz'",
    ),
    (
        "ambiguous short id",
        _ambiguous,
        False,
        "media_data.csv",
        1,
        r"media id 'aa' is ambiguous: it is the short form of aa_1, aa_2",
    ),
    (
        "unknown participant in media_data",
        _unknown_participant,
        False,
        "media_data.csv",
        3,
        r"participant 99 is not in participant_data.csv",
    ),
    (
        "valence 1.5",
        _set("av_data.csv", 7, "valence", "1.5"),
        False,
        "av_data.csv",
        7,
        r"valence 1.5 is outside \[-1, 1\]",
    ),
    (
        "NaN arousal",
        _set("av_data.csv", 130, "arousal", "NaN"),
        False,
        "av_data.csv",
        130,
        r"arousal is missing or not a finite number",
    ),
    (
        "empty arousal",
        _set("av_data.csv", 3, "arousal", ""),
        False,
        "av_data.csv",
        3,
        r"arousal is missing or not a finite number",
    ),
    (
        "duplicate sample",
        _set("av_data.csv", 7, "seq", "5"),
        False,
        "av_data.csv",
        7,
        r"duplicate sample 5 of participant 1 in modality music \(also in row 6\)",
    ),
    (
        "gap in samples",
        _delete_row("av_data.csv", 8),
        False,
        "av_data.csv",
        8,
        r"annotation of participant 1 in modality music has a gap \(sample 7 missing before sample 8\)",
    ),
    (
        "samples not from 0",
        _delete_row("av_data.csv", 121),
        False,
        "av_data.csv",
        121,
        r"annotation of participant 1 in modality visual starts at sample 1 instead of 0",
    ),
    (
        "no sample column",
        _drop_column("av_data.csv", "seq"),
        False,
        "av_data.csv",
        None,
        r"missing a sample column \('seq' or 'sample'\) or a time column",
    ),
    (
        "duplicate participant",
        _append_copy("participant_data.csv", 2),
        False,
        "participant_data.csv",
        4,
        r"duplicate participant_id 2",
    ),
    (
        "non-numeric age",
        _set("participant_data.csv", 3, "age", "twenty"),
        False,
        "participant_data.csv",
        3,
        r"age must be a number, found 'twenty'",
    ),
    (
        "participant id not an integer",
        _set("participant_data.csv", 1, "participant_id", "P1"),
        False,
        "participant_data.csv",
        1,
        r"participant_id must be a whole number, found 'P1'",
    ),
    (
        "emobase file with 50 rows",
        _emobase("bb", n_rows=50),
        True,
        "bb.csv",
        None,
        r"item bb: 50 rows, expected 119 or 120",
    ),
    (
        "emobase file with 900 feature columns",
        _emobase("cc_3", n_features=900),
        True,
        "cc_3.csv",
        None,
        r"expected 991 columns \(an unnamed index, 'name', 988 emobase features, a class column\), found 903",
    ),
    (
        "emobase non-numeric value",
        _emobase_cell("aa_1", 4, 2 + 10, "abc"),
        True,
        "aa_1.csv",
        4,
        r"feature .+ is not a number \('abc'\)",
    ),
    (
        "emobase file missing for an item",
        _remove("emobase_features/bb.csv"),
        True,
        "bb.csv",
        None,
        r"item bb: no emobase feature file for this item",
    ),
    (
        "empty file",
        _replace_text("media_data.csv", ""),
        False,
        "media_data.csv",
        None,
        r"the file is empty",
    ),
    (
        "corrupt (binary) CSV",
        _replace_text("participant_data.csv", b"PK\x03\x04\x00\x00\x08\x00\xffgarbage"),
        False,
        "participant_data.csv",
        None,
        r"not a CSV text file \(binary content\)",
    ),
    (
        "not UTF-8 text",
        _replace_text("participant_data.csv", "participant_id,age\n1,\xe9\n".encode("latin-1")),
        False,
        "participant_data.csv",
        None,
        r"not a UTF-8 CSV text file",
    ),
    (
        "duplicate video id in video_urls",
        _video_urls("video_id\r\naa_1\r\nbb\r\naa_1\r\ncc_3\r\n"),
        False,
        "video_urls.csv",
        3,
        r"duplicate video id 'aa_1' \(first in row 1\)",
    ),
    (
        "wrong header in video_urls",
        _video_urls("id\r\naa_1\r\nbb\r\ncc_3\r\n"),
        False,
        "video_urls.csv",
        None,
        r"expected the header 'video_id', found 'id'",
    ),
    (
        "required file missing",
        _remove("participant_data.csv"),
        False,
        "participant_data.csv",
        None,
        r"file not found",
    ),
    (
        "metadata not JSON",
        _replace_text("muvi_metadata.json", "{simulated: yes"),
        False,
        "muvi_metadata.json",
        None,
        r"not valid JSON",
    ),
    # attacks that a loader could let through or misreport
    (
        "negative age",
        _set("participant_data.csv", 2, "age", "-4"),
        False,
        "participant_data.csv",
        2,
        r"age '-4' is not an age \(expected 1 to 120 years\)",
    ),
    (
        "absurd age",
        _set("participant_data.csv", 3, "age", "250"),
        False,
        "participant_data.csv",
        3,
        r"age '250' is not an age",
    ),
    (
        "training longer than the participant's life",
        _set("participant_data.csv", 1, "years_formal_training", "35"),
        False,
        "participant_data.csv",
        1,
        r"years_formal_training '35' is negative or longer than the participant's age",
    ),
    (
        "media_data with a header and no rows",
        _delete_rows("media_data.csv"),
        False,
        "media_data.csv",
        None,
        r"has a header but no rows",
    ),
    (
        "participant_data with a header and no rows",
        _delete_rows("participant_data.csv"),
        False,
        "participant_data.csv",
        None,
        r"has a header but no rows",
    ),
    (
        "metadata simulated flag as text",
        _replace_text("muvi_metadata.json", '{"simulated": "no"}'),
        False,
        "muvi_metadata.json",
        None,
        r"'simulated' must be true or false, found \"no\"",
    ),
    (
        "metadata replaced by a folder",
        lambda root: (root / "muvi_metadata.json").mkdir(),
        False,
        "muvi_metadata.json",
        None,
        r"expected a JSON file, found a folder",
    ),
]


def test_the_valid_study_loads(tmp_path: Path) -> None:
    study = load_dataset(_study(tmp_path / "study", emobase=True), require_dynamic=True)
    assert study.items == ITEMS
    assert len(study.static) == len(STATIC)
    assert study.dynamic is not None and len(study.dynamic) == 2 * N_SAMPLES
    assert study.audio_features is not None and study.audio_features.shape == (360, 988)
    assert study.issues == []


@pytest.mark.parametrize(
    ("mutate", "emobase", "file", "row", "problem"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_malformed_input_is_refused(
    tmp_path: Path,
    mutate: Callable[[Path], None],
    emobase: bool,
    file: str,
    row: int | None,
    problem: str,
) -> None:
    root = _study(tmp_path / "study", emobase=emobase)
    mutate(root)
    with pytest.raises(DataError) as caught:
        load_dataset(root)
    message = str(caught.value)
    assert file in message, message
    assert re.search(problem, message), message
    assert Path(caught.value.file or "").name == Path(file).name
    if row is not None:
        assert caught.value.row == row, message
        assert f"row {row}" in message
    assert "\n" not in message


def test_cases_are_distinct() -> None:
    assert len({case[0] for case in CASES}) == len(CASES) >= 15


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="dataset folder not found"):
        load_dataset(tmp_path / "nowhere")


def test_require_dynamic(tmp_path: Path) -> None:
    root = _study(tmp_path / "study")
    (root / "av_data.csv").unlink()
    assert load_dataset(root).dynamic is None
    with pytest.raises(DataError, match=r"av_data.csv: the dynamic annotations are required"):
        load_dataset(root, require_dynamic=True)


def test_time_column_rounds_to_samples(tmp_path: Path) -> None:
    root = _study(tmp_path / "study")

    def to_time(header: list[str], rows: list[list[str]]) -> None:
        j = header.index("seq")
        header[j] = "time"
        for r in rows:
            r[j] = f"{int(r[j]) * 0.5 + 0.2:.2f}"  # jitter below a quarter period

    _edit(root / "av_data.csv", to_time)
    study = load_dataset(root)
    assert study.dynamic is not None
    assert study.dynamic["sample"].tolist() == [k for _ in range(2) for k in range(N_SAMPLES)]

    # Two times that round to the same sample are a duplicate.
    _set("av_data.csv", 4, "time", "1.1")(root)
    with pytest.raises(DataError, match=r"av_data.csv, row 4, item aa_1: duplicate sample 2"):
        load_dataset(root)


def test_cli_prints_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DataError reaching the CLI's entry point is one line and status 2."""
    import typer

    from muvi import cli

    root = _study(tmp_path / "study")
    _set("media_data.csv", 3, "sad", "2")(root)
    probe = typer.Typer()

    @probe.command()
    def load(data: str) -> None:
        load_dataset(data)

    @probe.command()
    def other() -> None:  # a second command keeps the sub-command form
        pass

    original = cli.app
    cli.app = probe
    try:
        with pytest.raises(SystemExit) as exited:
            main(["load", str(root)])
    finally:
        cli.app = original
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "media_data.csv, row 3: label sad must be 0 or 1" in err


# --------------------------------------------------------------------------
# emobase problems are found when the study is loaded, features or not
# --------------------------------------------------------------------------

EMOBASE_CASES = [case for case in CASES if case[2]]


@pytest.mark.parametrize(
    ("mutate", "file", "row", "problem"),
    [(c[1], c[3], c[4], c[5]) for c in EMOBASE_CASES],
    ids=[c[0] for c in EMOBASE_CASES],
)
def test_emobase_problems_are_found_at_load_time_without_features(
    tmp_path: Path, mutate: Callable[[Path], None], file: str, row: int | None, problem: str
) -> None:
    """`muvi analyze` loads the study without its features; a damaged emobase
    file used to go unnoticed until a model needed it."""
    root = _study(tmp_path / "study", emobase=True)
    mutate(root)
    with pytest.raises(DataError) as caught:
        load_dataset(root, features=False)
    assert file in str(caught.value) and re.search(problem, str(caught.value))


def test_emobase_quick_check_accepts_what_the_full_parse_accepts(tmp_path: Path) -> None:
    from muvi.data.loaders import ItemCatalog, check_emobase

    root = _study(tmp_path / "study", emobase=True)
    check_emobase(root / "emobase_features", ItemCatalog(ITEMS))  # valid: no error
    # numbers in forms the quick check does not spell out: the full parse decides
    _emobase_cell("bb", 2, 5, "1.5E+02")(root)
    _emobase_cell("bb", 3, 6, "-.25")(root)
    check_emobase(root / "emobase_features", ItemCatalog(ITEMS))
    assert load_dataset(root).audio_features is not None


def test_analyze_reports_a_header_only_media_file_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _study(tmp_path / "study")
    _delete_rows("media_data.csv")(root)
    with pytest.raises(SystemExit) as exited:
        main(["analyze", "--data", str(root), "--out", str(tmp_path / "out"), "--quiet"])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"error: {root / 'media_data.csv'}: has a header but no rows"]
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------
# muvi validate: every problem, one line each
# --------------------------------------------------------------------------


def test_validate_passes_a_valid_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _study(tmp_path / "study", emobase=True)
    main(["validate", str(root)])
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.strip() == (
        f"ok: {root}: 5 files checked (items 3, participants 3, static annotations 4, "
        "dynamic samples 240, emobase items 3)"
    )


def test_validate_passes_the_real_release(
    muvi_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["validate", str(muvi_dir)])
    out = capsys.readouterr().out.strip()
    assert out.startswith("ok: ") and "items 81, participants 49, static annotations 1494" in out
    assert "emobase items 81" in out


def test_validate_passes_a_simulated_study(
    small_study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["validate", str(small_study)])
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"ok: {small_study}: 7 files checked"), out


def test_validate_reports_every_problem_of_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _study(tmp_path / "study", emobase=True)
    for mutate in (
        _set("participant_data.csv", 2, "age", "-4"),
        _set("participant_data.csv", 3, "years_formal_training", "x"),
        _set("media_data.csv", 2, "media_modality", "audio"),
        _set("media_data.csv", 3, "sad", "2"),
        _set("media_data.csv", 4, "seen_previously", "maybe"),
        _set("av_data.csv", 7, "valence", "1.5"),
        _set("av_data.csv", 9, "arousal", "high"),
        _emobase("bb", n_rows=50),
        _emobase_cell("cc_3", 4, 12, "abc"),
        _replace_text("muvi_metadata.json", "[]"),
    ):
        mutate(root)
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(root)])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    expected = [
        "participant_data.csv, row 3: years_formal_training must be a number, found 'x'",
        "participant_data.csv, row 2: age '-4' is not an age (expected 1 to 120 years)",
        "media_data.csv, row 2: unknown modality 'audio'",
        "media_data.csv, row 4: seen_previously must be True or False, found 'maybe'",
        "media_data.csv, row 3: label sad must be 0 or 1, found '2'",
        "av_data.csv, row 7, item aa_1: valence 1.5 is outside [-1, 1]",
        "av_data.csv, row 9, item aa_1: arousal is missing or not a finite number (found 'high')",
        "bb.csv, item bb: 50 rows, expected 119 or 120",
        "cc_3.csv, row 4, item cc_3: feature",
        "muvi_metadata.json: expected a JSON object",
    ]
    assert len(lines) == len(expected), lines
    for line, words in zip(lines, expected, strict=True):
        assert line.startswith("error: ") and words in line, (line, words)
    assert all("Traceback" not in line for line in lines)


def test_validate_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(tmp_path / "nowhere")])
    assert exited.value.code == 2
    assert (
        capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'}: study folder not found"
    )


def test_validate_reports_every_bad_column_of_the_visual_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _study(tmp_path / "study")
    rows = [[item, str(k), f"{k / 10:.1f}", "0.5"] for item in ITEMS for k in range(4)]
    rows[2][2] = "bright"  # row 3, colour__a
    rows[6][3] = "dark"  # row 7, colour__b
    rows[9][1] = "-1"  # row 10, a negative frame
    _write_csv(
        root / "combined_visual_features.csv", ["media_id", "frame", "colour__a", "colour__b"], rows
    )
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(root)])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split("combined_visual_features.csv, ", 1)[1] for line in lines] == [
        "row 10: negative frame -1",
        "row 3: feature colour__a is not a number ('bright')",
        "row 7: feature colour__b is not a number ('dark')",
    ]
