"""Text that Rich would read as markup (study names, media ids,
paths) is printed as written by every command, and crashes none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from corpus_helpers import assert_one_clear_line, make_study
from videogen import RED, tone, write_video

MARKUP_DIR = ("d[", "b] [red]x")  # together: d[/b] [red]x


def test_analyze_prints_an_out_path_holding_markup(small_study: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path.joinpath(*MARKUP_DIR)
    result = cli(["analyze", "--data", small_study, "--out", out, "--no-figures"])
    assert result.code == 0, result.err
    assert f"analyses written to {out} (report: {out / 'report.html'})" in result.err
    assert (out / "report.html").exists()


def test_simulate_into_a_path_holding_markup(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "[" / "] x"  # [/] x
    result = cli(["simulate", "--out", out, "--items", "3", "--participants", "2"])
    assert result.code == 0, result.err
    assert str(out) in result.out
    assert (out / "media_data.csv").exists()


def test_extract_a_video_named_with_markup(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    video = write_video(tmp_path / "[red]clip[b].mp4", [(1.0, RED)], tone(1.0)).path
    out = tmp_path.joinpath(*MARKUP_DIR)
    result = cli(["extract", video, "--out", out, "--features", "colour"])
    assert result.code == 0, result.err
    assert f"visual features: {out / 'combined_visual_features.csv'}" in result.err
    assert "[red]clip[b]" in (out / "combined_visual_features.csv").read_text()


def test_a_failed_video_named_with_markup(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "[bold]v[").mkdir()
    video = tmp_path / "[bold]v[" / "bold].mp4"  # the path holds [bold]v[/bold].mp4
    video.write_bytes(b"")
    result = cli(["extract", video, "--out", tmp_path / "out", "--features", "colour"])
    assert_one_clear_line(result, "[bold]v[/bold].mp4", "not a readable media file")


def test_an_error_naming_a_path_with_markup(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = make_study(tmp_path.joinpath(*MARKUP_DIR))
    (root / "media_data.csv").unlink()
    result = cli(["validate", root])
    assert_one_clear_line(result, f"{root / 'media_data.csv'}: file not found")


def test_no_console_message_of_the_cli_is_written_in_markup() -> None:
    """The CLI's console reads no markup (so user text is safe); a message written
    with markup tags would show them literally. Style with muvi.display.styled."""
    import muvi.cli

    source = Path(muvi.cli.__file__).read_text(encoding="utf-8")
    calls = re.findall(r"console\.print\((.*?)\)\n", source, flags=re.S)
    tagged = [
        c for c in calls if re.search(r"\[/?(bold|red|green|yellow|dim|italic|b|i)?[^\]]*\]", c)
    ]
    assert not [c for c in tagged if "[/" in c], tagged


@pytest.mark.parametrize("name", ["[/] x", "d[/b]", "[red]"])
def test_the_display_helpers_keep_text_verbatim(name: str) -> None:
    import io

    from muvi import display

    out = io.StringIO()
    display.console(file=out).print(display.styled(("error:", "bold red"), " ", name))
    assert out.getvalue() == f"error: {name}\n"
    from rich.text import Text

    assert Text.from_markup(display.escape_markup(name)).plain == name
