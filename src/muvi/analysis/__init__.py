"""The study's descriptive statistics and hypothesis tests (Chua et al. 2022, §3.2 and §4).

One module per analysis, each a set of functions over the tidy tables of
:class:`muvi.data.dataset.MuviDataset` that return tidy pandas tables:

- :mod:`~muvi.analysis.participants` (§3.2), :mod:`~muvi.analysis.dataset_size` (§4.1),
  :mod:`~muvi.analysis.distribution` (§4.2), :mod:`~muvi.analysis.gems` (§4.1),
  :mod:`~muvi.analysis.cooccurrence` (§4), :mod:`~muvi.analysis.modality_agreement` (§4.2),
  :mod:`~muvi.analysis.dynamic_effects` (§4), :mod:`~muvi.analysis.static_effects` (§4);
- beyond the paper (:mod:`~muvi.analysis.beyond`): label reliability
  (:mod:`~muvi.analysis.reliability`), static emotion from the features
  (:mod:`~muvi.analysis.static_prediction`), personalised perception
  (:mod:`~muvi.analysis.personalised`), the modality that carries the audiovisual
  rating (:mod:`~muvi.analysis.modality_contribution`) and rater lag
  (:mod:`muvi.annotations.lag`);
- :mod:`~muvi.analysis.steps` lists them all as steps; :func:`run_analysis` runs
  them on a study folder and writes tables, figures and ``summary.json``
  (``muvi analyze``, :func:`muvi.workflows.run_analysis`, adds ``report.html``).
"""

from muvi.analysis.pipeline import analyze_dataset, run_analysis

__all__ = ["analyze_dataset", "run_analysis"]
