"""A self-contained HTML report: sections of text, tables and figures in one file.

Figures are embedded as base64 PNG and the style sheet is inline, so the file
can be mailed or archived alone. Any stage adds its results as
:class:`ReportSection` objects; :func:`write_report` renders a list of them
(the analyses' sections from :func:`muvi.report.analysis_sections`, a model
evaluation's, ...) into one page.

Examples:
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> section = ReportSection("Counts", html="<p>Two items.</p>",
    ...                         tables={"per item": pd.DataFrame({"item": ["a", "b"], "n": [3, 4]})})
    >>> out = write_report(Path(tempfile.mkdtemp()) / "r.html", "Demo", [section], simulated=True)
    >>> text = out.read_text()
    >>> "SIMULATED" in text, "<td>a</td>" in text
    (True, True)
"""

from __future__ import annotations

import base64
import datetime as dt
import html as html_lib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

import muvi
from muvi.errors import MuviError

MAX_TABLE_ROWS = 400
"""Longer tables are cut in the report (the CSV files keep every row)."""


@dataclass
class ReportSection:
    """One section of the report.

    Attributes:
        title: the heading (also listed in the table of contents).
        html: trusted HTML shown first (paragraphs written by the toolkit).
        tables: caption -> table, rendered in order after ``html``.
        figures: caption -> PNG file, embedded in order after the tables.
    """

    title: str
    html: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        """The id of the section in the page (``Label co-occurrence`` -> ``label-co-occurrence``)."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


def format_value(value: object) -> str:
    """How one table cell is written: integers plainly, floats with 3 decimals
    (small non-zero values such as p-values in scientific notation), missing as ``–``.

    Examples:
        >>> format_value(3.0), format_value(0.123456), format_value(2.5e-08), format_value(None)
        ('3', '0.123', '2.50e-08', '–')
    """
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        x = float(value)
        if x.is_integer() and abs(x) < 1e12:
            return str(int(x))
        if abs(x) < 1e-3:
            return f"{x:.2e}"
        return f"{x:.3f}"
    return str(value)


def table_html(table: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A DataFrame as an HTML table (escaped, formatted with :func:`format_value`).

    A named or non-trivial index becomes leading columns.
    """
    frame = table
    if not isinstance(frame.index, pd.RangeIndex) or any(n is not None for n in frame.index.names):
        frame = frame.reset_index()
    note = ""
    if len(frame) > max_rows:
        note = f'<p class="note">first {max_rows} of {len(frame)} rows</p>'
        frame = frame.head(max_rows)
    head = "".join(f"<th>{html_lib.escape(str(c))}</th>" for c in frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="num">{html_lib.escape(format_value(v))}</td>'
            if is_num
            else f"<td>{html_lib.escape(format_value(v))}</td>"
            for v, is_num in zip(record, numeric, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


def _embedded_png(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise MuviError(f"report figure {path} does not exist")
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def write_report(
    path: str | Path,
    title: str,
    sections: Sequence[ReportSection],
    *,
    simulated: bool,
    notes: Iterable[str] = (),
) -> Path:
    """Render sections into one self-contained HTML file.

    Args:
        path: the HTML file to write (its folder is created).
        title: the page title.
        sections: the sections, in order.
        simulated: True when the data is simulated: a prominent banner then
            says so on top of the page.
        notes: short sentences shown under the title (e.g. what was left out).

    Returns:
        ``path``.
    """
    env = Environment(
        loader=PackageLoader("muvi.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html")
    rendered = [
        {
            "title": s.title,
            "anchor": s.anchor,
            "html": s.html,
            "tables": [(caption, table_html(t)) for caption, t in s.tables.items()],
            "figures": [(caption, _embedded_png(p)) for caption, p in s.figures.items()],
        }
        for s in sections
    ]
    page = template.render(
        title=title,
        sections=rendered,
        simulated=simulated,
        notes=list(notes),
        version=muvi.__version__,
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
