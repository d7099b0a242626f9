"""Figures and the self-contained HTML report.

:class:`ReportSection` and :func:`write_report` build one HTML page from
sections that any stage can contribute; :func:`run_sections` gives the
sections of an analysis run (``muvi analyze``), one per step of
:mod:`muvi.analysis.steps` (builders in :data:`SECTION_BUILDERS`).
"""

from muvi.report.analysis_sections import is_public_release, study_title
from muvi.report.html import ReportSection, format_value, table_html, write_report
from muvi.report.step_sections import (
    SECTION_BUILDERS,
    analysis_sections,
    beyond_sections,
    register_section,
    run_sections,
)

__all__ = [
    "SECTION_BUILDERS",
    "ReportSection",
    "analysis_sections",
    "beyond_sections",
    "format_value",
    "is_public_release",
    "register_section",
    "run_sections",
    "study_title",
    "table_html",
    "write_report",
]
