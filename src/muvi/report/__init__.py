"""Figures and the self-contained HTML report.

:class:`ReportSection` and :func:`write_report` build one HTML page from
sections that any stage can contribute; :func:`analysis_sections` gives the
sections of an analysis run (``muvi analyze``).
"""

from muvi.report.analysis_sections import analysis_sections, is_public_release, study_title
from muvi.report.html import ReportSection, format_value, table_html, write_report

__all__ = [
    "ReportSection",
    "analysis_sections",
    "format_value",
    "is_public_release",
    "study_title",
    "table_html",
    "write_report",
]
