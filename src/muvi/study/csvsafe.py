"""The one place where the study server writes CSV cells: text that a
spreadsheet would evaluate as a formula is neutralised on the way out.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return (e.g. a favourite genre ``-Rock`` typed by a participant) is written
with a leading apostrophe (``'-Rock``), the escape spreadsheets themselves use
for "this is text", so opening an export in Excel, LibreOffice or Google
Sheets evaluates nothing. Numbers (a negative valence included) are written as
numbers, unchanged. A line break inside a text cell is written as a space, so
every row stays one line. Every CSV that ``muvi study export`` writes goes
through :func:`escape_frame`: the published files as the ``escape`` hook of
the writers in :mod:`muvi.data.published`, the online-collection tables
through :func:`write_csv`; anything else that writes a CSV of user-provided
text should too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula."""


def escape_cell(value: object) -> object:
    """A cell as it is written to an exported CSV: text that a spreadsheet
    would evaluate gets a leading apostrophe; everything else is unchanged.

    Examples:
        >>> escape_cell("-Rock"), escape_cell("=1+1"), escape_cell("@SUM(A1)")
        ("'-Rock", "'=1+1", "'@SUM(A1)")
        >>> escape_cell("Rock"), escape_cell(-0.5), escape_cell(""), escape_cell("a\\r\\nb")
        ('Rock', -0.5, '', 'a b')
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    # every row stays one line: a line break inside a cell becomes a space
    return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name passed through
    :func:`escape_cell`; number columns are left as they are.

    This is the ``escape`` hook the published writers of
    :mod:`muvi.data.published` take.

    Examples:
        >>> escape_frame(pd.DataFrame({"genre": ["-Rock", "Pop"], "age": [-3, 20]})).to_dict("list")
        {'genre': ["'-Rock", 'Pop'], 'age': [-3, 20]}
    """
    escaped = frame.copy()
    for column in escaped.columns:
        if not pd.api.types.is_numeric_dtype(escaped[column]):  # text (or mixed) cells
            # element by element into an object column: Series.map would infer a dtype
            # and turn a column of integers with a gap into floats (-3 -> -3.0)
            cells = [escape_cell(value) for value in escaped[column]]
            escaped[column] = pd.Series(cells, index=escaped.index, dtype=object)
    escaped.columns = [escape_cell(str(c)) for c in escaped.columns]
    return escaped


def write_csv(frame: pd.DataFrame, path: Path, lineterminator: str = "\n") -> None:
    """Write one exported CSV that is not a published file (the online-collection
    tables) with every text cell passed through :func:`escape_cell`.

    Args:
        frame: the table (its column names are written as the header).
        path: the file to write.
        lineterminator: the line end.
    """
    escape_frame(frame).to_csv(path, index=False, lineterminator=lineterminator)
