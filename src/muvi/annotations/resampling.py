"""Raw cursor logs -> regular 2 Hz rating series.

The conversion lives in :mod:`muvi.data.resampling`, with the published file
formats it produces (``av_data.csv`` from ``raw_av_logs.csv``); it is
re-exported here, the annotation stage where the flow of the ratings starts.
"""

from muvi.data.resampling import (
    RAW_TABLE,
    SamplingReport,
    default_n_samples,
    resample_logs,
    resample_series,
)

__all__ = ["RAW_TABLE", "SamplingReport", "default_n_samples", "resample_logs", "resample_series"]
