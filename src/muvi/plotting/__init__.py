"""The look of every figure and the words the reader sees.

:mod:`muvi.plotting.style` (sizes, fonts, colour roles, the figure writer) and
:mod:`muvi.plotting.names` (models, table columns and axes in words) sit just
above :mod:`muvi.data`, so the figures of the analyses, of the models and of
the report share one look without importing each other. ``muvi.report.style``
and ``muvi.report.names`` re-export them for older code.
"""
