"""Re-export of :mod:`muvi.plotting.names` (its home since the figures of the
analyses and of the models share it); import it from there."""

from muvi.plotting.names import *  # noqa: F403
