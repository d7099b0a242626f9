"""Re-export of :mod:`muvi.plotting.style` (its home since the figures of the
analyses and of the models share it); import it from there."""

from muvi.plotting.style import *  # noqa: F403
