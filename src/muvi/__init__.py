"""MuVi: study and predict the emotion that music videos convey.

The package follows the study's data flow, one sub-package per stage:
``data`` (schema, loaders, simulator, download) -> ``annotations`` (2 Hz
series, quality filter, EWE, agreement) -> ``analysis`` (descriptive and
statistical results); ``features`` (audio and visual extractors) and
``annotations`` -> ``models`` (LASSO, LSTM, A1, A2, PAIR, the protocol) ->
``predict`` and ``report``; ``study`` runs a new annotation study.
"""

__version__ = "0.1.0"
