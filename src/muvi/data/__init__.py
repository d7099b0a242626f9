"""data stage of the MuVi toolkit.

:func:`open_study` (from :mod:`muvi.data.formats`) opens a study folder in any
known layout.
"""

from muvi.data.formats import open_study

__all__ = ["open_study"]
