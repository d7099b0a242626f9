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
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

import muvi
from muvi.data.schema import GEMS_LABELS
from muvi.errors import MuviError
from muvi.plotting.names import column_header, model_name

MAX_TABLE_ROWS = 400
"""Longer tables are cut in the report (the CSV files keep every row)."""


@dataclass
class ReportSection:
    """One section of the report.

    Attributes:
        title: the heading (also listed in the table of contents).
        html: trusted HTML shown first (paragraphs written by the toolkit).
        tables: caption -> table, rendered in order after ``html``.
        figures: caption -> PNG file, embedded in order after the tables (shown
            at 1.5 times its printed size, with links to the SVG and PDF written beside it).
    """

    title: str
    html: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        """The id of the section in the page (``Label co-occurrence`` -> ``label-co-occurrence``)."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


P_COLUMNS = frozenset({"p", "p_value", "pvalue", "p-value", "q", "q_value"})
"""p-values, raw or corrected (a ``q_value`` is a Benjamini-Hochberg q; a column
ending ``_holm`` is a Holm-corrected p)."""
COUNT_COLUMNS = frozenset(
    {"n", "count", "dof", "df", "static", "dynamic", "annotations", "selections", "groups"}
)
STATISTIC_COLUMNS = frozenset({"chi2", "statistic", "u", "h", "t", "ks", "residual"})


def column_kind(name: object) -> str:
    """How the numbers of a column are rounded, from its name.

    Returns one of ``p`` (p-values: ``0.003``, ``< 0.001``), ``count``
    (integers), ``years`` (ages and years of training: 1 decimal), ``percent``
    (shares in %: 1 decimal), ``statistic`` (test statistics: 2 decimals) or
    ``value`` (3 decimals, e.g. r and CCC).

    Examples:
        >>> [column_kind(c) for c in ("p", "age_mean", "item_share", "chi2", "n", "ccc")]
        ['p', 'years', 'percent', 'statistic', 'count', 'value']
        >>> [column_kind(c) for c in ("ccc_p_holm", "q_value")]
        ['p', 'p']
    """
    text = str(name).strip().lower()
    if text in P_COLUMNS or text.endswith(("_p", "_p_holm", "_q")) or text.startswith("p_"):
        return "p"
    if text in COUNT_COLUMNS or text.startswith("n_") or text.endswith("count"):
        return "count"
    if text.endswith("more_than_3") or text.endswith("3_or_less"):
        return "count"
    if "age" in text.split("_") or "training" in text or "years" in text:
        return "years"
    if "share" in text or "%" in text or "percent" in text:
        return "percent"
    if text in STATISTIC_COLUMNS or text.startswith("chi") or "residual" in text:
        return "statistic"
    return "value"


_DECIMALS = {"years": 1, "percent": 1, "statistic": 2, "value": 3}


def format_value(value: object, kind: str = "value") -> str:
    """How one table cell is written.

    Integers plainly; p-values as ``0.003`` or ``< 0.001``; counts as integers;
    years and percentages with 1 decimal, test statistics with 2, other numbers
    with 3 (small non-zero values in scientific notation); missing as ``–``.

    Args:
        value: the cell.
        kind: the column's kind (:func:`column_kind`).

    Returns:
        The text of the cell.

    Examples:
        >>> format_value(3.0), format_value(0.123456), format_value(2.5e-08), format_value(None)
        ('3', '0.123', '2.50e-08', '–')
        >>> format_value(0.0031, "p"), format_value(2.5e-08, "p"), format_value(23.347, "years")
        ('0.003', '< 0.001', '23.3')
        >>> format_value(19.0, "years"), format_value(0.9996, "p")
        ('19', '1.000')
        >>> format_value(12.0, "percent"), format_value(42.25, "statistic"), format_value(4.0, "count")
        ('12.0', '42.25', '4')
    """
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        x = float(value)
        if kind == "p":
            return "< 0.001" if x < 0.001 else f"{x:.3f}"
        if kind == "count" and abs(x) < 1e15:
            return str(round(x))
        if kind == "years" and x.is_integer():
            return str(int(x))
        if kind in ("years", "percent", "statistic"):
            return f"{x:.{_DECIMALS[kind]}f}"
        if x.is_integer() and abs(x) < 1e12:
            return str(int(x))
        if abs(x) < 1e-3:
            return f"{x:.2e}"
        return f"{x:.3f}"
    return str(value)


_NAME_COLUMNS = ("measure", "variable")
"""Columns of long tables whose values name what the row's ``value`` is."""


def _is_row_number(column: pd.Series) -> bool:
    values = pd.to_numeric(column, errors="coerce")
    return bool(values.notna().all()) and values.tolist() == list(range(len(column)))


def table_html(table: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A DataFrame as an HTML table (escaped, formatted with :func:`format_value`).

    Headers are the readable names of :func:`muvi.plotting.names.column_header`;
    numbers are rounded by the kind of their column (:func:`column_kind`), or,
    in a long table with a ``measure`` (or ``variable``) column, by the kind of
    the row's measure. Model codes (``exp5_early_fusion``) are written as
    :func:`muvi.plotting.names.model_name` names them, the code kept as the cell's tooltip. A named or non-integer
    index becomes leading columns; row numbers (an unnamed integer index, or a
    column ``index`` / ``Unnamed: 0`` holding 0, 1, 2, ...) are left out.

    Args:
        table: the table.
        max_rows: rows shown at most (a note says how many there were).

    Returns:
        The HTML of the table (and of the note, when rows were cut).
    """
    frame = table
    unnamed = all(n is None for n in frame.index.names)
    if unnamed and pd.api.types.is_integer_dtype(frame.index):
        # row numbers (also after sorting or filtering): never a column of the report
        frame = frame.reset_index(drop=True)
    elif not isinstance(frame.index, pd.RangeIndex) or not unnamed:
        frame = frame.reset_index()
    drop = [
        c
        for c in frame.columns
        if str(c) in ("index", "level_0") or str(c).startswith("Unnamed: ")
        if _is_row_number(frame[c])
    ]
    frame = frame.drop(columns=drop)
    note = ""
    if len(frame) > max_rows:
        note = f'<p class="note">first {max_rows} of {len(frame)} rows</p>'
        frame = frame.head(max_rows)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    head = "".join(
        ("<th class='num'>" if is_num else "<th>") + html_lib.escape(column_header(c)) + "</th>"
        for c, is_num in zip(frame.columns, numeric, strict=True)
    )
    kinds = [column_kind(c) for c in frame.columns]
    names = next((c for c in _NAME_COLUMNS if c in frame.columns), None)
    rows = []
    for record in frame.to_dict("records"):
        row_kind = column_kind(record[names]) if names is not None else None
        cells = []
        for (column, value), is_num, kind in zip(record.items(), numeric, kinds, strict=True):
            code = ""
            if column == names:
                text = column_header(value)
            else:
                use = row_kind if (row_kind and column == "value") else kind
                text = format_value(value, use)
                if isinstance(value, str):
                    text = value.replace("_", " ") if value in GEMS_LABELS else model_name(value)
                    if text != value and value not in GEMS_LABELS:
                        # the code of results.json stays at hand, as the cell's tooltip
                        code = f' title="{html_lib.escape(value)}"'
            cell = html_lib.escape(text)
            cells.append(
                f'<td class="num"{code}>{cell}</td>' if is_num else f"<td{code}>{cell}</td>"
            )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


SCREEN_PX_PER_INCH = 144
"""Figures are shown at 1.5 times their printed size (96 CSS px per inch), so a
one-column figure (3.5 in) is 504 px wide on screen."""


def _figure(path: Path, report_dir: Path, caption: str) -> dict[str, Any]:
    """What the template needs of one figure: the PNG as a data URL, its width on
    screen, and the relative links to its SVG and PDF (when written beside it)."""
    path = Path(path)
    if not path.is_file():
        raise MuviError(f"report figure {path} does not exist")
    data = path.read_bytes()
    width = None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        px = int.from_bytes(data[16:20], "big")
        dpi = _png_dpi(data) or 100.0
        width = round(px / dpi * SCREEN_PX_PER_INCH)
    links = []  # the vector files written beside the PNG, linked relatively
    for suffix in ("svg", "pdf"):
        vector = path.with_suffix(f".{suffix}")
        if vector.is_file():
            try:
                href = vector.resolve().relative_to(report_dir.resolve()).as_posix()
            except ValueError:
                href = vector.resolve().as_uri()
            links.append((suffix.upper(), href))
    return {
        "caption": caption,
        "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
        "width": width,
        "links": links,
    }


def _png_dpi(data: bytes) -> float | None:
    """The resolution in a PNG's pHYs chunk (pixels per metre -> dpi), if any."""
    at = data.find(b"pHYs")
    if at < 0 or len(data) < at + 13 or data[at + 12] != 1:
        return None
    return int.from_bytes(data[at + 4 : at + 8], "big") * 0.0254


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
    report_dir = Path(path).parent
    rendered = [
        {
            "title": s.title,
            "anchor": s.anchor,
            "html": s.html,
            "tables": [(caption, table_html(t)) for caption, t in s.tables.items()],
            "figures": [_figure(p, report_dir, caption) for caption, p in s.figures.items()],
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
