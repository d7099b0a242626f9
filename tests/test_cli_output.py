"""What the command line prints: --quiet and --verbose on every command, log records
on stderr, help texts without docstring line breaks, progress from the library's
callback drawn as Rich bars, and Rich nowhere in the library."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from muvi.progress import ProgressEvent

SRC = Path(__file__).resolve().parents[1] / "src" / "muvi"


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    """Leave the ``muvi`` logger as it was (the CLI sets its level and handler)."""
    logger = logging.getLogger("muvi")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


def _leaf_commands() -> dict[str, object]:
    import typer.main

    from muvi.cli import app

    found: dict[str, object] = {}

    def walk(command: object, path: str) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, f"{path} {name}".strip())
        else:
            found[path] = command

    walk(typer.main.get_command(app), "")
    return found


def test_every_command_takes_quiet_and_verbose_and_its_help_has_no_docstring_breaks() -> None:
    commands = _leaf_commands()
    assert {"analyze", "predict", "extract", "weights list", "study export"} <= set(commands)
    for name, command in commands.items():
        flags = {opt for p in command.params for opt in p.opts}  # type: ignore[attr-defined]
        assert {"--quiet", "-q", "--verbose", "-v"} <= flags, name
        text = command.help or ""  # type: ignore[attr-defined]
        assert text, name
        # a line break inside a paragraph is a docstring's, not the author's
        assert "\n" not in text.replace("\n\n", ""), (name, text)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from muvi.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "level", "note_shown"),
    [
        ([], logging.INFO, True),
        (["--quiet"], logging.WARNING, False),
        (["-q"], logging.WARNING, False),
        (["--verbose"], logging.DEBUG, True),
    ],
)
def test_quiet_and_verbose_set_the_log_level_before_or_after_the_command(
    args: list[str],
    level: int,
    note_shown: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = ["weights", "path", "fer2013-vgg19", "--weights-dir", str(tmp_path)]
    for argv in ([*command, *args], [*args, *command]):
        code, out, err = _run(argv, capsys)
        assert code == 0
        assert out.strip() == str(tmp_path / "fer2013_vgg19_PrivateTest_model.t7")  # stdout: result
        assert ("note: fer2013-vgg19 is missing" in err) is note_shown  # stderr: the note
        assert logging.getLogger("muvi").level == level


def test_library_warnings_reach_stderr_even_when_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    from muvi.cli import _configure_logging, _output

    _output.quiet = _output.verbose = False
    _configure_logging(quiet=True)
    logging.getLogger("muvi.features.batch").info("a note")
    logging.getLogger("muvi.features.batch").warning("a [red]warning[/] kept as written")
    logging.getLogger("muvi.predict").debug("a detail")
    err = capsys.readouterr().err
    assert err == "warning: a [red]warning[/] kept as written\n"
    _output.quiet = False
    _configure_logging(verbose=True)
    logging.getLogger("muvi.predict").debug("a detail")
    assert capsys.readouterr().err == "debug: [muvi.predict] a detail\n"
    _output.verbose = False
    _configure_logging()


def test_no_rich_import_in_the_library() -> None:
    """Rich draws for the command line only (cli.py, display.py); the models package is
    allowed until its restructure lands."""
    allowed = {SRC / "cli.py", SRC / "display.py"}
    pattern = re.compile(r"^\s*(from rich\b|import rich\b)", re.MULTILINE)
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if path not in allowed
        and "models" not in path.relative_to(SRC).parts
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_simulate_reports_each_part_through_the_callback(tmp_path: Path) -> None:
    from muvi.data.simulator import simulate

    events: list[ProgressEvent] = []
    simulate(tmp_path, seed=1, n_items=3, n_participants=3, progress=events.append)
    # 3 items: annotators, cursor logs, labels and truth, 3 feature files, metadata
    assert [(e.stage, e.done, e.total) for e in events] == [("simulate", k, 7) for k in range(1, 8)]
    assert events[0].message == "annotators" and events[-1].message == "metadata"
    assert events[-1].finished


def test_run_analysis_reports_every_stage_once(small_study: Path, tmp_path: Path) -> None:
    from muvi.analysis import run_analysis

    events: list[ProgressEvent] = []
    run_analysis(small_study, tmp_path, progress=events.append, figures=False)
    assert {e.stage for e in events} == {"analyze"}
    assert events[0].done == 0 and events[0].message == "loading the study"
    assert [e.done for e in events] == list(range(len(events)))  # one step at a time
    assert events[-1].finished and events[-1].message == "done"


def test_progress_bars_draw_the_events() -> None:
    from rich.console import Console

    from muvi.display import ProgressBars

    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=100, markup=False)
    with ProgressBars(terminal, label="download") as bars:
        bars(ProgressEvent("download", 0, 2, "MuVi release", "files"))
        bars(ProgressEvent("file", 500, 1000, "a [b].csv", "bytes"))
        bars(ProgressEvent("file", 1000, 1000, "a [b].csv", "bytes"))  # done: removed
        bars(ProgressEvent("download", 2, 2, "a [b].csv", "files"))
    drawn = out.getvalue()
    assert "2/2 files" in drawn and "a [b].csv" in drawn and "500 bytes/1.0 kB" in drawn
    assert bars.last["download"].finished
    quiet = io.StringIO()
    with ProgressBars(Console(file=quiet, force_terminal=True), enabled=False) as bars:
        bars(ProgressEvent("simulate", 1, 2, "annotators"))
    assert quiet.getvalue() == ""
