"""The self-contained HTML report: sections, tables, embedded figures, banner."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from muvi.errors import MuviError
from muvi.report import ReportSection, analysis_sections, format_value, table_html, write_report


@pytest.fixture
def png(tmp_path) -> Path:
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    path = tmp_path / "line.png"
    fig.savefig(path)
    return path


def test_report_embeds_figures_and_tables(tmp_path, png):
    sections = [
        ReportSection(
            "Model results",  # a section another stage adds
            html="<p>CCC of <b>PAIR</b>.</p>",
            tables={"Scores": pd.DataFrame({"model": ["<lasso>", "pair"], "ccc": [0.25, 0.5]})},
            figures={"Predictions": png},
        ),
        ReportSection("Empty section"),
    ]
    out = write_report(
        tmp_path / "sub" / "report.html", "A & B", sections, simulated=False, notes=["one note"]
    )
    text = out.read_text()
    assert "SIMULATED" not in text
    assert "<title>A &amp; B</title>" in text
    assert "<p>CCC of <b>PAIR</b>.</p>" in text  # trusted section HTML kept as is
    assert "<td>&lt;lasso&gt;</td>" in text  # table cells escaped
    assert '<td class="num">0.250</td>' in text
    assert "<li>one note</li>" in text
    assert 'href="#model-results"' in text and 'id="empty-section"' in text
    # the figure is embedded, byte for byte, and nothing points to outside files
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert [base64.b64decode(e) for e in embedded] == [png.read_bytes()]
    assert "line.png" not in text and "<link" not in text and "<script" not in text


def test_simulated_banner(tmp_path):
    text = write_report(tmp_path / "r.html", "Demo", [], simulated=True).read_text()
    assert "SIMULATED DATA" in text and "not the real MuVi study" in text
    assert "<title>[SIMULATED] Demo</title>" in text


def test_missing_figure_is_a_clear_error(tmp_path):
    section = ReportSection("x", figures={"gone": tmp_path / "gone.png"})
    with pytest.raises(MuviError, match="gone.png does not exist"):
        write_report(tmp_path / "r.html", "t", [section], simulated=False)


def test_cell_formatting_and_long_tables():
    assert format_value(np.int64(7)) == "7"
    assert format_value(float("nan")) == "–"
    assert format_value(1e-30) == "1.00e-30"
    assert format_value(-0.5) == "-0.500"
    assert format_value(True) == "True"
    html = table_html(pd.DataFrame({"n": range(10)}), max_rows=4)
    assert html.count("<tr>") == 5 and "first 4 of 10 rows" in html
    indexed = table_html(pd.DataFrame({"v": [1.5]}, index=pd.Index(["a"], name="label")))
    assert "<th>label</th>" in indexed and "<td>a</td>" in indexed


def test_analysis_sections_without_outputs_are_still_valid(tmp_path):
    # an empty output folder and an empty summary give the five static sections
    sections = analysis_sections(tmp_path, {})
    assert [s.title for s in sections] == [
        "Study size and data quality",
        "Participants",
        "GEMS labels",
        "Label co-occurrence",
        "Effects on static labels",
    ]
    assert all(not s.figures for s in sections)
    out = write_report(tmp_path / "r.html", "t", sections, simulated=False)
    assert out.stat().st_size > 1000
