"""The self-contained HTML report: sections, tables, embedded figures, banner."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

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
    assert "line.png" not in text and "<link" not in text and "<script src" not in text


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
    assert "<th>Label</th>" in indexed and "<td>a</td>" in indexed


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


def _cells(html: str) -> list[list[str]]:
    """The text of every body row's cells."""
    body = html.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if "<td" in row]


def _headers(html: str) -> list[str]:
    return re.findall(r"<th(?: [^>]*)?>(.*?)</th>", html)


def test_readable_headers_and_rounding_by_column_kind():
    table = pd.DataFrame(
        {
            "grouping": ["modality", "gender"],
            "chi2": [42.2999, 61.0],
            "dof": [52.0, 26.0],
            "p": [0.8281, 0.00012],
            "age_mean": [23.3469, 19.0],
            "item_share": [16.633, 7.5],
            "r": [0.40213, -0.2],
        }
    )
    html = table_html(table)
    assert _headers(html) == [
        "Grouping",
        "χ²",
        "df",
        "p",
        "Age, mean (years)",
        "Annotations that ticked it (%)",
        "Pearson r",
    ]
    assert _cells(html) == [
        ["modality", "42.30", "52", "0.828", "23.3", "16.6", "0.402"],
        ["gender", "61.00", "26", "&lt; 0.001", "19", "7.5", "-0.200"],
    ]


def test_long_table_rounds_each_row_by_its_measure():
    # the participants table of the real release: measure,value rows
    table = pd.DataFrame(
        {
            "measure": ["n", "age_mean", "age_std", "training_more_than_3"],
            "value": [49.0, 23.3469, 3.2757, 22.0],
        }
    )
    assert _cells(table_html(table)) == [
        ["N", "49"],
        ["Age, mean (years)", "23.3"],
        ["Age, SD (years)", "3.3"],
        ["Musical training &gt; 3 years", "22"],
    ]


def test_no_row_number_column_and_model_names():
    # t-tests sorted by p keep a shuffled integer index: never shown as a column
    ttests = pd.DataFrame(
        {
            "a": ["exp1_lasso", "exp5_early_fusion", "exp1_lstm"],
            "b": ["exp7_pair", "exp6_late_fusion", "exp2_lstm"],
            "p": [0.2, 0.003, 0.5],
        }
    ).sort_values("p")
    html = table_html(ttests)
    assert _headers(html) == ["A", "B", "p"]
    assert _cells(html) == [
        ["Early fusion (A1)", "Late fusion (A2)", "0.003"],
        ["LASSO, audio", "PAIR", "0.200"],
        ["LSTM, audio", "LSTM, visual", "0.500"],
    ]
    # the code of results.json is the tooltip of the readable name
    assert '<td title="exp5_early_fusion">Early fusion (A1)</td>' in html
    # a CSV written with its index reads back with an "Unnamed: 0" column of row numbers
    read_back = pd.DataFrame({"Unnamed: 0": [0, 1], "label": ["filled_with_wonder", "calm"]})
    html = table_html(read_back)
    assert _headers(html) == ["Label"]
    assert _cells(html) == [["filled with wonder"], ["calm"]]


def test_wide_tables_scroll_under_a_sticky_header(tmp_path):
    wide = pd.DataFrame({f"column_{i}": [float(i)] for i in range(40)})
    text = write_report(
        tmp_path / "r.html", "t", [ReportSection("Wide", tables={"w": wide})], simulated=False
    ).read_text()
    style = text.split("<style>", 1)[1].split("</style>", 1)[0]
    th_rule = re.search(r"\bth \{([^}]*)\}", style)
    assert th_rule is not None and "position: sticky" in th_rule.group(1)
    scroll_rule = re.search(r"\.scroll \{([^}]*)\}", style)
    assert scroll_rule is not None
    assert "overflow: auto" in scroll_rule.group(1)
    assert "background-attachment: local, local, scroll, scroll" in scroll_rule.group(1)
    # the hint sits right before the table's box, and the script shows it when wide
    assert re.search(r'<p class="hint">[^<]*scroll sideways[^<]*</p>\s*<div class="scroll">', text)
    assert "box.scrollWidth > box.clientWidth" in text


def test_figures_shown_at_print_size_with_their_svg_and_pdf(tmp_path):
    from muvi.plotting import style

    with style.figure_style():
        fig = style.new_figure(style.COLUMN_WIDTH_IN, 2.0)
        fig.add_subplot().plot([0, 1], [1, 0])
    png = style.save_figure(fig, tmp_path / "figures" / "line.png")
    out = write_report(
        tmp_path / "report.html",
        "t",
        [ReportSection("F", figures={"A line": png})],
        simulated=False,
    )
    text = out.read_text()
    with Image.open(png) as image:
        expected = round(image.size[0] / 300 * 144)
    assert f'style="width: {expected}px"' in text
    assert 400 < expected < 560  # about 1.5 x 3.5 in x 96 px/in, less the trimmed margin
    assert '(<a href="figures/line.svg">SVG</a>, <a href="figures/line.pdf">PDF</a>)' in text


def test_report_title_of_the_real_release_and_of_other_folders(muvi_dir, tmp_path):
    from muvi.report import is_public_release, study_title

    assert is_public_release(muvi_dir)
    assert study_title(muvi_dir, {}, simulated=False) == "MuVi public release"
    # the same files with one changed byte are not the release
    copy = tmp_path / "pilot"
    copy.mkdir()
    for name in ("media_data.csv", "participant_data.csv"):
        (copy / name).write_bytes((muvi_dir / name).read_bytes())
    with open(copy / "media_data.csv", "ab") as handle:
        handle.write(b"\n")
    assert not is_public_release(copy)
    assert study_title(copy, {}, simulated=False) == "MuVi study: pilot"
    assert study_title(copy, {"name": "Pilot study 2026"}, simulated=False) == "Pilot study 2026"


def test_analyze_report_title_option(muvi_dir, tmp_path):
    from muvi.cli import main

    out = tmp_path / "out"
    main(["analyze", "--data", str(muvi_dir), "--out", str(out), "--quiet", "--no-figures"])
    assert "<title>MuVi public release</title>" in (out / "report.html").read_text()
    main(
        ["analyze", "--data", str(muvi_dir), "--out", str(out), "--quiet", "--no-figures"]
        + ["--title", "Replication, lab A"]
    )
    text = (out / "report.html").read_text()
    assert "<title>Replication, lab A</title>" in text and "<h1>Replication, lab A</h1>" in text


def test_analyze_writes_every_figure_as_png_and_svg(muvi_dir, tmp_path):
    from muvi.cli import main

    out = tmp_path / "out"
    main(["analyze", "--data", str(muvi_dir), "--out", str(out), "--quiet"])
    pngs = sorted((out / "figures").glob("*.png"))
    # 3 modalities of label bars, the co-occurrence heatmap, 5 groupings of chi-square tests,
    # and the analyses beyond the paper that static labels and audio features allow
    beyond = {"item_reliability.png", "static_prediction_audio.png", "personalised_gains.png"}
    assert beyond <= {png.name for png in pngs}
    assert len(pngs) == 3 + 1 + 5 + len(beyond)
    for png in pngs:
        assert png.with_suffix(".svg").is_file(), png.name
        with Image.open(png) as image:
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01), png.name
    text = (out / "report.html").read_text()
    assert text.count("data:image/png;base64,") == len(pngs)
    assert text.count(">SVG</a>") == len(pngs) and text.count(">PDF</a>") == len(pngs)
    assert '<a href="figures/label_cooccurrence.svg">' in text
    assert '<a href="figures/label_cooccurrence.pdf">' in text
    assert all(png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-" for png in pngs)
    # the stars' correction named in the caption, the corrected p beside the raw one
    assert "Benjamini-Hochberg FDR-corrected over every target, condition and feature set" in text
    assert ">p, Holm-corrected</th>" in text and "Holm correction over the five" in text
    # a later run without figures leaves none of the earlier ones behind, SVGs included
    main(["analyze", "--data", str(muvi_dir), "--out", str(out), "--quiet", "--no-figures"])
    assert not list((out / "figures").glob("*.png")) and not list((out / "figures").glob("*.svg"))
