"""Dataset layouts as plug-ins, and :func:`open_study`, the one door to a study.

Every command and the Python API reach a study through :func:`open_study`:
it recognises the folder's layout, reads it with that layout's reader into a
:class:`muvi.data.dataset.MuviDataset`, and sets what every workflow reads
from it: the analysis window (:attr:`MuviDataset.window`), the layout's name
(:attr:`MuviDataset.layout`) and what the layout cannot supply
(:attr:`MuviDataset.lacks`).

A layout is one module in this package that defines ``LAYOUT``, a
:class:`DatasetLayout`. The modules are found when the package is first used,
so adding a layout touches its own file (and its test) only. The order of
:data:`DatasetLayout.priority` decides which layout wins when several
recognise a folder (the most specific first).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.errors import DataError

if TYPE_CHECKING:
    from muvi.data.dataset import MuviDataset
    from muvi.progress import ProgressCallback

__all__ = ["DatasetLayout", "OpenOptions", "layouts", "open_study", "recognise"]


@dataclass(frozen=True)
class OpenOptions:
    """What the caller of :func:`open_study` asks of a reader.

    Attributes:
        features: load (or extract) the feature tables; False skips them where
            the layout allows (the analyses of the ratings do not need them).
        window_samples: the analysis window chosen by the user, in 2 Hz samples
            (``--window-samples``); None: the study's own.
        require_dynamic: refuse a study without dynamic (2 Hz) ratings.
        cache_dir: where features extracted from the media are cached
            (``--cache``); None: the reader's default.
        progress: called as long work (feature extraction) advances.
    """

    features: bool = True
    window_samples: int | None = None
    require_dynamic: bool = False
    cache_dir: Path | None = None
    progress: ProgressCallback | None = None


@dataclass(frozen=True)
class DatasetLayout:
    """One dataset layout: how to recognise a folder and how to read it.

    Attributes:
        name: the layout's short name (``muvi``, ``long-csv``...), as
            ``--layout`` takes it.
        title: a few words for people (``MuVi release or muvi study export``).
        recognise: ``recognise(folder)`` returns None when the folder is not in
            this layout, else a few words saying why it is (``video_urls.csv
            and media_data.csv``).
        read: ``read(folder, options)`` returns the study; it raises
            :class:`muvi.errors.DataError` naming the file and what is wrong.
        cannot_supply: what this layout never holds, each with why
            (``{"video": "music only"}``); a reader adds per-folder gaps to
            :attr:`MuviDataset.lacks` itself.
        priority: higher is tried first (a specific layout above a general one).
    """

    name: str
    title: str
    recognise: Callable[[Path], str | None]
    read: Callable[[Path, OpenOptions], MuviDataset]
    cannot_supply: dict[str, str] = field(default_factory=dict)
    priority: int = 0


_LAYOUTS: dict[str, DatasetLayout] = {}


def layouts() -> list[DatasetLayout]:
    """Every layout of this package, the most specific first.

    Examples:
        >>> "muvi" in [layout.name for layout in layouts()]
        True
    """
    if not _LAYOUTS:
        for module in pkgutil.iter_modules(__path__):
            if module.name.startswith("_"):
                continue
            layout = getattr(importlib.import_module(f"{__name__}.{module.name}"), "LAYOUT", None)
            if isinstance(layout, DatasetLayout):
                _LAYOUTS[layout.name] = layout
    return sorted(_LAYOUTS.values(), key=lambda layout: (-layout.priority, layout.name))


def recognise(path: str | Path, layout: str | None = None) -> tuple[DatasetLayout, str]:
    """The layout of a folder and why it was recognised.

    Args:
        path: the study folder.
        layout: a layout's name to use instead of recognising one.

    Returns:
        The layout and a few words saying how it was recognised.

    Raises:
        DataError: the folder is missing, no layout recognises it, or
            ``layout`` names no layout.
    """
    root = Path(path)
    if not root.is_dir():
        problem = (
            "expected a study folder, found a file" if root.exists() else "dataset folder not found"
        )
        raise DataError(problem, file=root)
    known = layouts()
    if layout is not None:
        for candidate in known:
            if candidate.name == layout:
                return candidate, f"--layout {layout}"
        names = ", ".join(candidate.name for candidate in known)
        raise DataError(f"unknown layout {layout!r} (known: {names})", file=root)
    for candidate in known:
        reason = candidate.recognise(root)
        if reason is not None:
            return candidate, reason
    titles = "; ".join(f"{candidate.name} ({candidate.title})" for candidate in known)
    raise DataError(f"no known dataset layout recognises this folder (known: {titles})", file=root)


def open_study(
    path: str | Path,
    *,
    layout: str | None = None,
    features: bool = True,
    window_samples: int | None = None,
    require_dynamic: bool = False,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> MuviDataset:
    """Open a study folder in any known layout: the one door to a study.

    Args:
        path: the folder.
        layout: the layout's name (default: recognised from the folder).
        features: load the feature tables (see :class:`OpenOptions`).
        window_samples: the analysis window in 2 Hz samples (default: the study's own).
        require_dynamic: refuse a study without dynamic ratings.
        cache_dir: where features extracted from media are cached.
        progress: called as long work advances.

    Returns:
        The study, with :attr:`MuviDataset.window`, :attr:`MuviDataset.layout`
        and :attr:`MuviDataset.lacks` set.

    Raises:
        DataError: the folder is missing, in no known layout, or malformed.
    """
    root = Path(path)
    found, _ = recognise(root, layout)
    options = OpenOptions(
        features=features,
        window_samples=window_samples,
        require_dynamic=require_dynamic,
        cache_dir=None if cache_dir is None else Path(cache_dir),
        progress=progress,
    )
    dataset = found.read(root, options)
    dataset.layout = found.name
    for what, why in found.cannot_supply.items():
        dataset.lacks.setdefault(what, why)
    if require_dynamic and dataset.dynamic is None:
        raise DataError("the dynamic annotations are required but this study has none", file=root)
    return dataset
