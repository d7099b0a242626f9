"""The study's models and evaluation protocol (SPEC section 7).

- :mod:`muvi.models.windows`: features and ratings joined on (media_id, sample),
  the 4-row input windows, min-max scaling;
- :mod:`muvi.models.folds`: the outer cross-validation folds;
- :mod:`muvi.models.lasso`: the LASSO baseline;
- :mod:`muvi.models.lstm`: LSTM blocks, the unimodal, A1, A2 and PAIR models;
- :mod:`muvi.models.training`: the one training function;
- :mod:`muvi.models.protocol`: the 7 experiments, metrics, t-tests, feature
  importance, results files, figures and report sections;
- :mod:`muvi.models.bundle`: saved, self-describing models.

Nothing is imported here, so ``import muvi.models`` does not load torch.
"""
