"""One study as one object: the tidy tables that every analysis and model reads.

The loaders in :mod:`muvi.data.loaders` build a :class:`MuviDataset` from a
folder in the published layout (the public release, a simulated study, or a
study export).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


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

    @property
    def has_dynamic(self) -> bool:
        return self.dynamic is not None
