"""What the command line shows: user text verbatim, and progress bars.

The library never draws: it reports progress through a callback
(:mod:`muvi.progress`) and logs through :mod:`logging`. This module is the
command line's side of that (Rich is imported here and in :mod:`muvi.cli`
only): :class:`ProgressBars` turns progress events into Rich bars.

User text (study names, media ids, paths) is shown verbatim.

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

__all__ = [
    "ProgressBars",
    "console",
    "escape_markup",
    "escape_mathtext",
    "styled",
    "text_column",
]


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


def _amount(completed: float, total: float | None, unit: str) -> str:
    """``completed/total unit``, bytes in decimal units.

    Examples:
        >>> _amount(3, 10, "files")
        '3/10 files'
        >>> _amount(1500, None, "bytes")
        '1.5 kB/?'
        >>> _amount(2, 7, "steps")
        '2/7'
    """
    if unit == "bytes":
        from rich.filesize import decimal

        whole = decimal(int(total)) if total is not None else "?"
        return f"{decimal(int(completed))}/{whole}"
    whole = str(int(total)) if total is not None else "?"
    suffix = "" if unit == "steps" else f" {unit}"
    return f"{int(completed)}/{whole}{suffix}"


class ProgressBars:
    """Rich progress bars fed by :class:`muvi.progress.ProgressEvent` s: the
    ``progress`` callback the command line hands to the library.

    One bar per stage; a ``bytes`` stage (a file in transfer) starts afresh
    for each file and disappears when the file is complete. Nothing is drawn
    when ``enabled`` is False or the console is not a terminal (no bar left in
    a log file).

    Args:
        console: the Rich console to draw on.
        enabled: False for ``--quiet``.
        label: a bold word before every bar (e.g. the command's name); None
            shows the stage's name.

    Examples:
        >>> from muvi.progress import ProgressEvent
        >>> with ProgressBars(console(), enabled=False) as bars:
        ...     bars(ProgressEvent("simulate", 1, 4, "annotators"))
        >>> bars.last["simulate"].done
        1
    """

    def __init__(self, console: Any, *, enabled: bool = True, label: str | None = None) -> None:
        self.console = console
        self.enabled = enabled
        self.label = label
        self.last: dict[str, Any] = {}
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> ProgressBars:
        from rich.progress import BarColumn, Progress, ProgressColumn, TimeElapsedColumn
        from rich.text import Text

        class AmountColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(_amount(task.completed, task.total, task.fields.get("unit", "steps")))

        self._bar = Progress(
            text_column("{task.fields[label]}", style="bold"),
            BarColumn(),
            AmountColumn(),
            text_column("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.enabled or not self.console.is_terminal,
        )
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, event: Any) -> None:
        """Show one event (the ``progress`` callback)."""
        self.last[event.stage] = event
        if self._bar is None:
            return
        task = self._tasks.get(event.stage)
        if event.unit == "bytes" and task is not None:
            shown = self._bar.tasks[[t.id for t in self._bar.tasks].index(task)]
            if shown.description != event.message:  # the next file
                self._bar.remove_task(task)
                task = None
        if task is None:
            task = self._bar.add_task(
                event.message,
                total=event.total,
                completed=event.done,
                label=self.label or event.stage,
                unit=event.unit,
            )
            self._tasks[event.stage] = task
        self._bar.update(task, completed=event.done, total=event.total, description=event.message)
        if event.unit == "bytes" and event.finished:
            self._bar.remove_task(task)
            del self._tasks[event.stage]
