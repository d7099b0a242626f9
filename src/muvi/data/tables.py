"""Checks shared by the functions that take a tidy table (internal to the toolkit)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from muvi.errors import DataError


def require_columns(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise a one-sentence :class:`~muvi.errors.DataError` when ``table`` lacks a column.

    Args:
        table: the table given by the caller.
        columns: the columns it must have.
        what: the table in words, for the message (``"the raw cursor logs"``).

    Raises:
        DataError: ``table`` is not a DataFrame, or lacks a column.

    Examples:
        >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "b"], "the table")
        Traceback (most recent call last):
        ...
        muvi.errors.DataError: the table lack column(s) 'b'
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{what} lack column(s) {', '.join(repr(c) for c in missing)}")
