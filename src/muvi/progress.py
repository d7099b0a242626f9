"""Progress reporting: the library calls back, the command line draws.

Library functions that take a while (:func:`muvi.data.simulator.simulate`,
:func:`muvi.analysis.run_analysis`, :func:`muvi.data.download.download_release`,
:func:`muvi.features.batch.extract_batch`, :func:`muvi.predict.run_prediction`)
accept an optional ``progress`` callback. They call it with a
:class:`ProgressEvent` as work advances; the default, None, is silent. The
library never draws anything: ``muvi`` (the command line) turns the events
into Rich progress bars, a notebook may print them or feed a widget, a test
may collect them in a list.

Examples:
    >>> events = []
    >>> step = Steps(events.append, "simulate", total=2)
    >>> step("annotators")
    >>> step("features")
    >>> [(e.stage, e.done, e.total, e.message) for e in events]
    [('simulate', 1, 2, 'annotators'), ('simulate', 2, 2, 'features')]
    >>> events[-1].finished
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ProgressCallback", "ProgressEvent", "Steps", "emit"]


@dataclass(frozen=True)
class ProgressEvent:
    """Where one stage of a long task stands.

    Attributes:
        stage: what is advancing, e.g. ``simulate``, ``analyze``, ``download``
            (files), ``file`` (the bytes of one downloaded file), ``extract``,
            ``predict``. A task may report several stages (the files of a
            download and the bytes of each).
        done: units done so far (0 when a stage starts).
        total: units in all, or None when unknown (a download without a size).
        message: what is being done now (a step's name, a media id, a file name).
        unit: what ``done`` and ``total`` count: ``steps``, ``files``, ``bytes``,
            ``videos``.
    """

    stage: str
    done: int
    total: int | None
    message: str = ""
    unit: str = "steps"

    @property
    def finished(self) -> bool:
        """True when ``done`` has reached a known ``total``."""
        return self.total is not None and self.done >= self.total


ProgressCallback = Callable[[ProgressEvent], None]
"""What a library function's ``progress`` argument takes."""


def emit(
    progress: ProgressCallback | None,
    stage: str,
    done: int,
    total: int | None,
    message: str = "",
    unit: str = "steps",
) -> None:
    """Call ``progress`` with one event (nothing when ``progress`` is None).

    Examples:
        >>> emit(None, "x", 1, 2)  # silent
        >>> emit(print, "download", 3, 10, "a.csv", unit="files")
        ProgressEvent(stage='download', done=3, total=10, message='a.csv', unit='files')
    """
    if progress:  # None (and False, as older callers passed) is silent
        progress(ProgressEvent(stage, done, total, message, unit))


class Steps:
    """Counts the steps of one stage and reports each as it finishes.

    Args:
        progress: the callback, or None (then calling this does nothing).
        stage: the stage's name.
        total: the number of steps, when known.
        unit: what a step is (``steps``, ``videos``...).

    Calling the object with a message reports one more step done;
    :meth:`start` reports the stage with nothing done yet (for a bar that
    should appear before the first, slow, step finishes).
    """

    def __init__(
        self,
        progress: ProgressCallback | None,
        stage: str,
        total: int | None,
        *,
        unit: str = "steps",
    ) -> None:
        self.progress = progress
        self.stage = stage
        self.total = total
        self.unit = unit
        self.done = 0

    def start(self, message: str = "") -> None:
        """Report the stage as started (``done`` as it stands, usually 0)."""
        emit(self.progress, self.stage, self.done, self.total, message, self.unit)

    def __call__(self, message: str = "") -> None:
        self.done += 1
        emit(self.progress, self.stage, self.done, self.total, message, self.unit)
