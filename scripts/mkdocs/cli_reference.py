"""The CLI reference page, generated from the command line itself.

An mkdocs hook (``hooks:`` in ``mkdocs.yml``): on ``docs/cli.md`` it replaces
the marker ``<!-- muvi-cli-reference -->`` with one section per command of
``muvi`` (sub-commands included), each with its usage line, its help text and a
table of its arguments and options, read from the Typer app. The page cannot
drift from ``muvi COMMAND --help``: both come from the same objects. On
``docs/changelog.md`` it puts ``CHANGELOG.md`` where ``<!-- muvi-changelog -->`` is.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

MARKER = "<!-- muvi-cli-reference -->"
CHANGELOG_MARKER = "<!-- muvi-changelog -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section(command: Any, path: list[str], level: int) -> list[str]:
    ctx = command.make_context(" ".join(path), [], resilient_parsing=True)
    usage = command.get_usage(ctx).removeprefix("Usage: ").strip()
    lines = [f"{'#' * level} `{' '.join(path)}`", "", "```text", usage, "```", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help), ""]
    rows = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        record = param.get_help_record(ctx)
        if record is None:  # a positional argument without help
            name = (param.metavar or param.name or "").upper()
            record = (name, "[required]" if param.required else "")
        names, help_text = record
        rows.append(f"| `{_cell(names)}` | {_cell(help_text)} |")
    if rows:
        lines += ["| argument or option | what it does |", "|---|---|", *rows, ""]
    sub = getattr(command, "commands", None)
    if sub:
        for name, child in sub.items():
            if not getattr(child, "hidden", False):
                lines += _section(child, [*path, name], level + 1)
    return lines


def cli_markdown() -> str:
    """The reference of every ``muvi`` command as Markdown."""
    import typer.main

    from muvi.cli import app

    return "\n".join(_section(typer.main.get_command(app), ["muvi"], 2))


def changelog_markdown() -> str:
    """CHANGELOG.md of the repository, its title left out (the page has its own)."""
    text = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """mkdocs hook: put the generated reference (or the changelog) where its marker is."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_markdown())
    if CHANGELOG_MARKER in markdown:
        markdown = markdown.replace(CHANGELOG_MARKER, changelog_markdown())
    return markdown
