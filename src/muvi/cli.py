"""The ``muvi`` command line: a thin layer over the Python API.

Each command parses its arguments and calls one API function. Errors in the
user's input (:class:`muvi.errors.MuviError`) are printed as one sentence and
the command exits with status 2, never with a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from muvi.errors import MuviError

app = typer.Typer(
    name="muvi",
    help="MuVi: study and predict the emotion that music videos convey.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


# --- data commands (simulate, download) -------------------------------------


# --- analysis commands (analyze, demo) --------------------------------------


# --- model commands (evaluate, train) ---------------------------------------


# --- feature commands (extract, weights, predict) ---------------------------


# --- study commands (study serve, study export) -----------------------------


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``muvi`` console script."""
    try:
        app(args=argv, standalone_mode=False)
    except MuviError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except FileNotFoundError as err:
        console.print(f"[bold red]error:[/] file not found: {err.filename or err}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        console.print("aborted")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except SystemExit:
        raise
    except Exception as err:  # click usage errors come through here too
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise


def _path(value: str) -> Path:
    return Path(value).expanduser()


if __name__ == "__main__":  # pragma: no cover
    main()
