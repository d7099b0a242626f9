"""Showing user text (study names, media ids, paths) verbatim.

Two renderers read markup inside plain strings: Rich (``[bold]...[/]``) and
matplotlib (``$...$`` is mathtext). A study named ``[/] x`` or a file named
``a $x$ b.mp4`` must appear as written and must not crash either of them, so
every place that hands user text to one of them goes through this module:

- :func:`console` and :func:`text_column` give Rich output with markup off;
  styled parts are built with :func:`styled` (a Rich ``Text``), never by
  formatting user text into a markup string;
- :func:`escape_markup` for the rare string that must stay markup;
- :func:`escape_mathtext` for matplotlib titles, labels and legends.

Examples:
    >>> escape_markup("d[/b] and [red]")
    'd\\\\[/b] and \\\\[red]'
    >>> escape_mathtext("clip $x$ 100$")
    'clip \\\\$x\\\\$ 100\\\\$'
"""

from __future__ import annotations

from typing import Any

__all__ = ["console", "escape_markup", "escape_mathtext", "styled", "text_column"]


def escape_markup(text: object) -> str:
    """``text`` with every Rich markup tag escaped, so Rich prints it as written.

    Args:
        text: anything; it is converted with ``str``.

    Returns:
        The escaped string.

    Examples:
        >>> from rich.text import Text
        >>> Text.from_markup(escape_markup("[/] x")).plain
        '[/] x'
    """
    from rich.markup import escape

    return escape(str(text))


def escape_mathtext(text: object) -> str:
    """``text`` with its dollar signs escaped, so matplotlib draws it as written
    instead of reading ``$...$`` as mathtext (an unbalanced or invalid formula
    raises while the figure is drawn).

    Args:
        text: anything; it is converted with ``str``.

    Returns:
        The escaped string (outside mathtext, backslashes are literal).

    Examples:
        >>> escape_mathtext("$\\\\frac{$.mp4")
        '\\\\$\\\\frac{\\\\$.mp4'
    """
    return str(text).replace("$", r"\$")


def console(*, stderr: bool = True, **options: Any) -> Any:
    """A Rich ``Console`` that never reads markup, highlights numbers or wraps a line
    (a long path stays on one line) in what it prints.

    Args:
        stderr: write to standard error (the default) rather than standard output.
        options: other ``rich.console.Console`` arguments.

    Returns:
        The console.

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> console(file=out).print("[/] x d[/b]")
        >>> out.getvalue()
        '[/] x d[/b]\\n'
    """
    from rich.console import Console

    return Console(stderr=stderr, markup=False, highlight=False, soft_wrap=True, **options)


def styled(*parts: str | tuple[str, str]) -> Any:
    """A Rich ``Text`` from plain pieces and ``(text, style)`` pairs: styling
    without markup, so no piece is ever parsed.

    Examples:
        >>> styled(("error:", "bold red"), " d[/b]").plain
        'error: d[/b]'
    """
    from rich.text import Text

    return Text.assemble(*parts)


def text_column(template: str, *, style: str = "") -> Any:
    """A progress-bar column showing ``template`` (e.g. ``"{task.description}"``)
    formatted, without reading markup in the result (descriptions hold media
    ids and file names).

    Examples:
        >>> text_column("{task.description}").markup
        False
    """
    from rich.progress import TextColumn

    return TextColumn(template, markup=False, style=style)
