"""The toolkit's error types.

Every problem with a user's input is raised as a :class:`MuviError` subclass
whose message is one sentence naming the file, the row or item, and what is
wrong. The command line prints that sentence and exits with status 2.

Examples:
    >>> err = DataError("missing column 'valence'", file="av_data.csv", row=3)
    >>> str(err)
    "av_data.csv, row 3: missing column 'valence'"
"""

from __future__ import annotations

from pathlib import Path


class MuviError(Exception):
    """Base class of errors that the command line reports as one line."""


class DataError(MuviError, ValueError):
    """A published (or user) data file is malformed.

    Args:
        problem: what is wrong, in a few words.
        file: the file (path or name) where it was found.
        row: 1-based data row in that file (header excluded), when known.
        item: the media item concerned, when known.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        item: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.row = row
        self.item = item
        where = []
        if self.file is not None:
            where.append(self.file)
        if row is not None:
            where.append(f"row {row}")
        if item is not None:
            where.append(f"item {item}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


class WeightsError(MuviError, FileNotFoundError):
    """Pretrained weights are missing or corrupt; the message says how to get them."""


class BundleError(MuviError, ValueError):
    """A saved model bundle is unreadable or does not match its input."""
