"""Bad command-line arguments and file-system errors: every command answers with
one line naming the path (exit 2), never a traceback, and loses nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from corpus_helpers import assert_one_clear_line, fingerprint, make_study
from videogen import RED, tone, write_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return write_video(folder / "good.mp4", [(2.0, RED)], tone(2.0)).path


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study database holding one study, named ``[/] x`` (Rich markup)."""
    from muvi.study.db import open_database
    from muvi.study.service import MediaSpec, StudyConfig, create_study

    folder = tmp_path_factory.mktemp("db")
    (folder / "media").mkdir()
    (folder / "media" / "clip.webm").write_bytes(b"not played here")
    engine, sessions = open_database(folder / "study.db")
    with sessions() as session:
        config = StudyConfig("[/] x", [MediaSpec("item_a", "clip.webm")], items_per_participant=1)
        create_study(session, config, folder / "media")
    engine.dispose()
    return folder / "study.db"


def _file(tmp: Path, name: str = "a_file", data: bytes = b"results of an earlier run\n") -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


def test_analyze_out_is_a_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    study, out = make_study(tmp_path / "study"), _file(tmp_path)
    before = fingerprint(tmp_path)
    result = cli(["analyze", "--data", study, "--out", out, "--quiet"])
    assert_one_clear_line(result, str(out), "expected a folder, found a file")
    assert fingerprint(tmp_path) == before


def test_analyze_out_below_a_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    study, out = make_study(tmp_path / "study"), _file(tmp_path) / "results"
    before = fingerprint(tmp_path)
    result = cli(["analyze", "--data", study, "--out", out])
    assert_one_clear_line(result, "a_file", "is a file")
    assert fingerprint(tmp_path) == before


def test_analyze_out_where_nothing_can_be_written(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    target = Path("/sys/muvi-corpus-out")
    if not Path("/sys").is_dir() or os.access("/sys", os.W_OK) and _can_create(target):
        pytest.skip("no read-only folder to write into on this machine")
    study = make_study(tmp_path / "study")
    result = cli(["analyze", "--data", study, "--out", target, "--quiet"])
    assert_one_clear_line(result, str(target), "permission denied")


def _can_create(path: Path) -> bool:
    try:
        path.mkdir()
    except OSError:
        return False
    path.rmdir()
    return True


def test_simulate_out_is_a_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = _file(tmp_path)
    result = cli(["simulate", "--out", out, "--items", "3", "--participants", "2"])
    assert_one_clear_line(result, str(out), "file")
    assert out.read_bytes() == b"results of an earlier run\n"


def test_simulate_out_below_a_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = _file(tmp_path) / "study"
    result = cli(["simulate", "--out", out, "--items", "3", "--participants", "2"])
    assert_one_clear_line(result, "a_file", "is a file")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ("starts", "expected a CSV file, found a folder")),
        (b"\x00\x01\x02binary", ("starts.csv", "binary content")),
        (
            b"media_id,start\ngood,-2\n",
            ("starts.csv, row 1", "start '-2' is not a time in seconds"),
        ),
        (b"media_id,start\ngood,soon\n", ("starts.csv, row 1", "start 'soon' is not a time")),
        (b"media_id\ngood\n", ("starts.csv", "missing column 'start'")),
        (b"", ("starts.csv", "the file is empty")),
    ],
    ids=["a-folder", "binary", "negative", "text", "no-start-column", "empty"],
)
def test_extract_bad_starts(  # type: ignore[no-untyped-def]
    clip: Path, tmp_path: Path, cli, content: bytes | None, words: tuple[str, ...]
) -> None:
    if content is None:
        starts = tmp_path / "starts"
        starts.mkdir()
    else:
        starts = _file(tmp_path, "starts.csv", content)
    out = tmp_path / "out"
    out.mkdir()
    before = fingerprint(tmp_path)
    result = cli(["extract", clip, "--out", out, "--features", "colour", "--starts", starts])
    assert_one_clear_line(result, *words)
    assert fingerprint(tmp_path) == before


def test_extract_out_is_a_file(clip: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = _file(tmp_path)
    result = cli(["extract", clip, "--out", out, "--features", "colour"])
    assert_one_clear_line(result, str(out), "expected a folder, found a file")
    assert out.read_bytes() == b"results of an earlier run\n"


def test_extract_an_input_that_does_not_exist(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(["extract", tmp_path / "nowhere.mp4", "--out", tmp_path / "out"])
    assert_one_clear_line(result, "nowhere.mp4", "no such file or folder")
    assert not (tmp_path / "out").exists()


def test_extract_a_folder_without_media(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "videos").mkdir()
    _file(tmp_path / "videos", "notes.txt")
    result = cli(["extract", tmp_path / "videos", "--out", tmp_path / "out"])
    assert_one_clear_line(result, "videos", "no media files")


def test_study_export_db_is_not_a_database(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    db = _file(tmp_path, "notes.db", b"this is a text file, not SQLite\n" * 10)
    before = fingerprint(tmp_path)
    result = cli(["study", "export", "--db", db, "--out", tmp_path / "out"])
    assert_one_clear_line(result, f"--db {db}", "not a usable study database", "not an SQLite")
    assert fingerprint(tmp_path) == before


def test_study_export_db_is_a_damaged_database(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """An SQLite header over garbage: SQLite's own error, caught in one place in the CLI."""
    db = _file(tmp_path, "damaged.db", b"SQLite format 3\x00" + bytes(range(256)) * 16)
    before = fingerprint(tmp_path)
    result = cli(["study", "export", "--db", db, "--out", tmp_path / "out"])
    assert_one_clear_line(result, f"--db {db}", "not a usable study database (")
    assert fingerprint(tmp_path) == before


def test_study_export_db_is_a_folder(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "db").mkdir()
    result = cli(["study", "export", "--db=" + str(tmp_path / "db"), "--out", tmp_path / "out"])
    assert_one_clear_line(result, str(tmp_path / "db"), "database")
    assert not (tmp_path / "out").exists()


def test_study_create_runner_db_is_not_a_database(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    db = _file(tmp_path, "notes.db", b"\x00garbage" * 100)
    before = fingerprint(tmp_path)
    result = cli(["study", "create-runner", "ann", "--db", db, "--password", "long enough pw"])
    assert_one_clear_line(result, f"--db {db}", "not a usable study database")
    assert fingerprint(tmp_path) == before


def test_study_export_out_is_a_file(database: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = _file(tmp_path)
    result = cli(["study", "export", "--db", database, "--out", out])
    assert_one_clear_line(result, str(out), "expected a folder, found a file")
    assert out.read_bytes() == b"results of an earlier run\n"


def test_evaluate_a_missing_study(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        ["evaluate", "--data", tmp_path / "nowhere", "--out", tmp_path / "out", "--epochs", "1"]
    )
    assert_one_clear_line(result, "nowhere", "dataset folder not found")


def test_train_out_is_a_file(small_study: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = _file(tmp_path)
    args = ["--experiments", "1", "--models", "lasso", "--dimensions", "valence", "--quiet"]
    result = cli(["train", "--data", small_study, "--out", out, *args])
    assert_one_clear_line(result, str(out), "is a file")
    assert out.read_bytes() == b"results of an earlier run\n"


def test_predict_out_is_a_file(clip: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bundles").mkdir()
    out = _file(tmp_path)
    result = cli(["predict", clip, "--model", tmp_path / "bundles", "--out", out])
    assert_one_clear_line(result, "bundles", "no model bundles here")
    assert out.read_bytes() == b"results of an earlier run\n"


@pytest.mark.parametrize(
    "content", [b"x", b"my notes\n", b"id,name\n1,a\n"], ids=["1-byte", "text", "csv"]
)
@pytest.mark.parametrize("command", ["export", "create-runner"])
def test_a_short_file_given_as_db_is_left_as_it_is(  # type: ignore[no-untyped-def]
    tmp_path: Path, cli, content: bytes, command: str
) -> None:
    """SQLite takes a short file for an empty database and writes its tables over it."""
    db = _file(tmp_path, "notes.txt", content)
    args = (
        ["--out", tmp_path / "out"]
        if command == "export"
        else ["ann", "--password", "long enough pw"]
    )
    result = cli(["study", command, "--db", db, *args])
    assert_one_clear_line(result, f"--db {db}", "not an SQLite database")
    assert db.read_bytes() == content


def test_study_export_escapes_nothing_and_prints_the_name_verbatim(
    database: Path, tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """Rich markup in names: a study named ``[/] x`` does not crash the export's message."""
    out = tmp_path / "d[" / "b] [red]out"  # a path holding d[/b] and [red]
    result = cli(["study", "export", "--db", database, "--out", out])
    assert result.code == 0, result.err
    assert f"exported study '[/] x' to {out}:" in result.err
    assert (out / "video_urls.csv").read_text().split() == ["video_id", "item_a"]


def test_an_end_of_file_no_reader_caught_is_one_line_not_aborted(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """typer turns an EOFError escaping a command into an abort ("aborted", exit 130,
    no file named): how a zero-byte bundle or cache ended before. The readers now
    name the file; whatever still escapes is an error line, exit 2."""
    import pickle

    import typer

    from muvi import cli as cli_module

    probe = typer.Typer()
    empty = _file(tmp_path, "empty.pkl", b"")

    @probe.command()
    def load(path: str) -> None:
        with open(path, "rb") as handle:
            pickle.load(handle)

    @probe.command()
    def other() -> None:  # a second command keeps the sub-command form
        pass

    monkeypatch.setattr(cli_module, "app", probe)
    result = cli(["load", empty])
    assert_one_clear_line(result, "a file ended unexpectedly (truncated or empty)")
    assert "aborted" not in result.err


def test_ctrl_c_still_aborts(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import typer

    from muvi import cli as cli_module

    probe = typer.Typer()

    @probe.command()
    def wait() -> None:
        raise KeyboardInterrupt

    @probe.command()
    def other() -> None:
        pass

    monkeypatch.setattr(cli_module, "app", probe)
    result = cli(["wait"])
    assert result.code == 130 and "Traceback" not in result.err and "error:" not in result.err


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "--data", "{file}", "--out", "{tmp}/out"],
        ["validate", "{file}"],
        ["evaluate", "--data", "{file}", "--out", "{tmp}/out"],
        ["predict", "{file}", "--model", "{file}", "--out", "{tmp}/out"],
    ],
    ids=["analyze", "validate", "evaluate", "predict-model"],
)
def test_a_file_where_a_folder_is_expected(tmp_path: Path, cli, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    file = _file(tmp_path, "study.csv")
    result = cli([a.format(file=file, tmp=tmp_path) for a in args])
    assert_one_clear_line(result, str(file), "folder, found a file")
    assert not (tmp_path / "out").exists()
