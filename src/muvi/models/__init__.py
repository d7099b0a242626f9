"""The study's models and evaluation protocol (Chua et al. 2022, section 5).

- :mod:`muvi.models.windows`: features and ratings joined on (media_id, sample),
  the 4-row input windows, min-max scaling;
- :mod:`muvi.models.folds`: the outer cross-validation folds;
- :mod:`muvi.models.lasso`: the LASSO baseline;
- :mod:`muvi.models.lstm`: LSTM blocks, the unimodal, A1, A2 and PAIR models,
  each with its fast forward over (feature rows, window positions), for one
  network and for a stack of networks;
- :mod:`muvi.models.recurrence`: the two LSTM layers as one operation with a
  hand-written backward (one network, and stacked with a network axis);
- :mod:`muvi.models.training`: one-at-a-time training (the reference);
- :mod:`muvi.models.batched`: networks of one shape trained together;
- :mod:`muvi.models.stacking`: pieces of stacked networks (dropout streams);
- :mod:`muvi.models.precision`: float32 / bfloat16 and what the hardware has;
- :mod:`muvi.models.architectures`: the one table of architectures;
- :mod:`muvi.models.grid`: the 7 experiments and the grid's configuration;
- :mod:`muvi.models.cv`: the cross-validation runner (batched, processes, Dask);
- :mod:`muvi.models.results`: metrics tables, t-tests, importance, files;
- :mod:`muvi.models.final`: final models on all items;
- :mod:`muvi.models.protocol`: re-exports of the above for callers;
- :mod:`muvi.models.bundle`: saved, self-describing models.

Figures and report sections are in :mod:`muvi.report.models`; nothing here
imports :mod:`muvi.report`. Nothing is imported here, so ``import muvi.models``
does not load torch.
"""
