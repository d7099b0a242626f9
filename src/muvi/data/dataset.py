"""One study as one object: the tidy tables that every analysis and model reads.

:func:`muvi.data.formats.open_study` builds a :class:`MuviDataset` from a
folder in any known layout (the MuVi release, a simulated study, a study
export, and the music datasets of :mod:`muvi.data.formats`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from muvi.data.schema import MODALITIES
from muvi.data.window import AnalysisWindow, study_window


@dataclass
class MuviDataset:
    """A MuVi-style study in the toolkit's tidy form.

    Attributes:
        root: the folder it was loaded from.
        items: full video ids in cross-validation order (``video_urls.csv``).
        participants: ``participant_data.csv`` with ``participant_id`` as int.
        static: one row per static annotation: ``participant_id``, ``media_id``
            (full video id), ``modality`` (toolkit name), ``seen_previously``
            (bool), the 27 GEMS label columns (0/1, in
            :data:`muvi.data.schema.GEMS_LABELS` order), ``overlay``
            (``overlaid``, ``side_by_side`` or ``None`` for music).
        dynamic: one row per 2 Hz sample, or ``None`` when ``av_data.csv`` is
            absent: ``participant_id``, ``media_id``, ``modality``, ``sample``
            (int from 0), ``time`` (s), ``valence``, ``arousal``.
        audio_features: emobase features indexed by (``media_id``, ``sample``),
            988 named columns, or ``None`` when absent.
        visual_features: visual features indexed by (``media_id``,
            ``sample``), or ``None`` when absent.
        simulated: True when the folder was written by the simulator.
        metadata: the contents of ``muvi_metadata.json`` when present.
        issues: notes about quirks handled while loading (e.g. a dynamic
            annotation shorter than the analysis window), one sentence each.
        layout: the name of the layout it was read from (``muvi`` for the
            MuVi release and study exports; see :mod:`muvi.data.formats`).
        lacks: what the study cannot supply, each with why (``{"video":
            "a music dataset"}``); workflows skip what needs it and say so.
        averaged: True when the dynamic ratings are averages over raters (one
            pseudo-rater per item), not per-rater series: rater agreement and
            EWE do not apply.
    """

    root: Path
    items: list[str]
    participants: pd.DataFrame
    static: pd.DataFrame
    dynamic: pd.DataFrame | None = None
    audio_features: pd.DataFrame | None = None
    visual_features: pd.DataFrame | None = None
    simulated: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    layout: str = "muvi"
    lacks: dict[str, str] = field(default_factory=dict)
    averaged: bool = False
    _window: AnalysisWindow | None = field(default=None, repr=False, compare=False)

    @property
    def has_dynamic(self) -> bool:
        return self.dynamic is not None

    @property
    def window(self) -> AnalysisWindow:
        """The study's analysis window: ``muvi_metadata.json``'s, else the
        paper's 118 samples (:func:`muvi.data.window.study_window`). A window
        chosen by the user is set with :meth:`with_window`."""
        if self._window is None:
            self._window = study_window(self.metadata)
        return self._window

    def with_window(self, window_samples: int | None) -> MuviDataset:
        """Set the analysis window chosen by the user (None: keep the study's own).

        Returns:
            The same study (for chaining).
        """
        if window_samples is not None:
            self._window = study_window(self.metadata, window_samples)
        return self

    @property
    def conditions(self) -> list[str]:
        """The rated conditions (modalities) present, in the schema's order."""
        present = set(self.static["modality"]) if len(self.static) else set()
        if self.dynamic is not None:
            present |= set(self.dynamic["modality"])
        return [m for m in MODALITIES if m in present]
