"""What one analysis of ``muvi analyze`` is: an :class:`AnalysisStep`.

The steps themselves are listed once, in :mod:`muvi.analysis.steps`; the
pipeline runs them in that order, counts its progress stages from them, and
removes the tables they declare before a new run. Each step names the report
section that shows it; the builders of those sections live in
:mod:`muvi.report` (analysis is upstream of report and does not import it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from muvi.data.dataset import MuviDataset

if TYPE_CHECKING:
    from muvi.analysis.beyond import BeyondConfig

STAGES = ("static", "dynamic", "beyond-static", "beyond-dynamic")
"""When a step runs: ``static`` on every study, ``dynamic`` when the study has
dynamic ratings, ``beyond-static`` and ``beyond-dynamic`` likewise but only with
the analyses beyond the paper (``muvi analyze --beyond``)."""

NEEDS = {
    "raters": "per-rater dynamic series (rater agreement, EWE, rater lags)",
    "visual": "ratings of the visual and audiovisual conditions",
    "gems": "GEMS labels (the static annotations)",
    "participants": "the raters' profiles",
}
"""What a step may need of a study, as keys of :attr:`MuviDataset.lacks`: a
study that lacks one (a music-only dataset, averaged ratings) skips the steps
that need it, with a note."""

SUMMARY_BLOCKS: dict[str, str | None] = {
    "static": None,
    "dynamic": "dynamic",
    "beyond-static": "beyond",
    "beyond-dynamic": "beyond",
}
"""The block of ``summary.json`` a stage's summary keys go in (None: the top level)."""


@dataclass
class StepContext:
    """What a step works on.

    Attributes:
        data: the quality-filtered study.
        excluded: the annotations the quality filter left out (with their reason).
        out: the output folder (:mod:`muvi.analysis.outputs`).
        figures: draw figures.
        beyond: the settings of the analyses beyond the paper (None: not run).
        shared: results one step leaves for a later one (e.g. the item
            feature summaries of the beyond steps).
    """

    data: MuviDataset
    excluded: pd.DataFrame
    out: Path
    figures: bool = True
    beyond: BeyondConfig | None = None
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisStep:
    """One analysis of ``muvi analyze`` (the fields after ``run`` are keyword-only).

    Attributes:
        name: its progress stage (the message shown while it runs); unique.
        stage: one of :data:`STAGES`.
        run: computes it: writes its tables and figures under ``context.out``
            and returns its summary keys (exactly :attr:`summary_keys`).
        tables: the names of the tables it may write (``OUT/tables/<name>.csv``).
        figures: the names (glob patterns) of the figures it may draw
            (``OUT/figures/<name>.png``, ``.svg`` and ``.pdf``).
        summary_keys: the keys it fills, in its stage's block of ``summary.json``
            (:data:`SUMMARY_BLOCKS`).
        section: the name under which :mod:`muvi.report` registers the builder
            of its report section (None: no section of its own).
        needs: what it needs of the study (keys of :data:`NEEDS`); a study
            whose :attr:`MuviDataset.lacks` names one skips it, with a note,
            and its summary keys are None.
    """

    name: str
    stage: str
    run: Callable[[StepContext], dict[str, Any]]
    _: KW_ONLY
    tables: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    summary_keys: tuple[str, ...] = ()
    section: str | None = None
    needs: tuple[str, ...] = ()

    def skipped_for(self, data: MuviDataset) -> str | None:
        """Why this step does not apply to ``data`` (None: it applies).

        Examples:
            >>> import pandas as pd
            >>> from pathlib import Path
            >>> step = AnalysisStep("x", "dynamic", lambda c: {}, needs=("raters",))
            >>> data = MuviDataset(Path("."), [], pd.DataFrame(), pd.DataFrame(),
            ...                    lacks={"raters": "averaged ratings"})
            >>> step.skipped_for(data)
            'x: skipped, as the study lacks raters: averaged ratings'
        """
        for need in self.needs:
            if need in data.lacks:
                return f"{self.name}: skipped, as the study lacks {need}: {data.lacks[need]}"
        return None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(
                f"step {self.name!r}: stage must be one of {', '.join(STAGES)}, not {self.stage!r}"
            )
        unknown = [n for n in self.needs if n not in NEEDS]
        if unknown:
            raise ValueError(f"step {self.name!r}: unknown needs {unknown} (known: {list(NEEDS)})")
