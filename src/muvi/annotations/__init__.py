"""Processing the ratings, as described in Chua et al. 2022.

Raw cursor logs -> regular 2 Hz series (:func:`resample_logs`), the analysis
window (:func:`analysis_window`; 118 samples in the paper, a study's own from
:func:`study_window`), the constant-cursor filter
(:func:`quality_filter`), the gold standard (:func:`ewe`,
:func:`gold_standard`), Lin's CCC (:func:`ccc`) and the leave-one-out
inter-rater agreement (:func:`agreement`, :func:`agreement_summary`,
:func:`pooled_agreement`).
"""

from muvi.annotations.agreement import (
    agreement,
    agreement_summary,
    leave_one_out_ccc,
    pooled_agreement,
)
from muvi.annotations.ewe import EWE_VARIANTS, EweResult, ewe, gold_standard
from muvi.annotations.metrics import ccc, pearson, rmse
from muvi.annotations.quality import constant_annotations, quality_filter
from muvi.annotations.resampling import SamplingReport, resample_logs, resample_series
from muvi.annotations.window import (
    AnalysisWindow,
    analysis_window,
    study_window,
    window_for_excerpt,
)

__all__ = [
    "AnalysisWindow",
    "EWE_VARIANTS",
    "EweResult",
    "SamplingReport",
    "agreement",
    "agreement_summary",
    "analysis_window",
    "ccc",
    "constant_annotations",
    "ewe",
    "gold_standard",
    "leave_one_out_ccc",
    "pearson",
    "pooled_agreement",
    "quality_filter",
    "resample_logs",
    "resample_series",
    "rmse",
    "study_window",
    "window_for_excerpt",
]
