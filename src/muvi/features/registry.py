"""The registry of feature extractors: name -> family, columns, and how to run it.

Each extractor module registers itself at import by calling :func:`register`
with an :class:`Extractor`. Batch extraction and ``muvi predict`` look
extractors up by name (``--features audio,colour``); the built-in modules are
imported on first use, so registering is all a new extractor module has to do.
The families and their columns are described once, by
:func:`muvi.data.schema.register_family` (re-exported here as
:func:`register_family`): the published column layout
(:func:`muvi.data.schema.visual_feature_columns`) is derived from them, and
the default extractor of a family takes its columns from there
(:func:`family_columns`). A new family is one :func:`register_family` and one
:func:`register`; nothing else changes.

An extractor's ``run`` receives the decoded excerpt
(:class:`muvi.features.excerpt.ExcerptMedia`: 500 ms frames, audio, path,
start, weights folder) and returns one row per 500 ms sample: a DataFrame
indexed by ``sample`` (0, 1, ...; ``len(media.times)`` rows) whose columns are
exactly ``columns()`` in that order. Visual columns are named
``<family>__<name>`` (:func:`muvi.data.schema.visual_feature_columns`); the
audio columns are the 988 emobase names.

Kinds say what the extractor reads, so the excerpt decodes only what is
needed: ``audio`` (``media.audio``), ``frames`` (``media.frames``, RGB uint8
at the 500 ms grid) or ``video`` (the file itself, ``media.path`` from
``media.start`` for ``media.duration`` s, e.g. shot detection and clip models;
the 500 ms frames are decoded for it as well).

Examples:
    >>> import pandas as pd
    >>> from muvi.features.registry import Extractor, register, get, unregister
    >>> def mean_red(media):
    ...     values = [float(f[..., 0].mean()) for f in media.frames]
    ...     return pd.DataFrame({"colour__red_mean": values}, index=pd.RangeIndex(len(values), name="sample"))
    >>> ext = register(Extractor("red_mean", "colour", "frames", lambda: ["colour__red_mean"], mean_red))
    >>> get("red_mean").family
    'colour'
    >>> unregister("red_mean")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

import pandas as pd

from muvi.data.schema import (
    FeatureFamily,
    feature_families,
    feature_family,
    register_family,
    unregister_family,
)
from muvi.errors import MuviError

if TYPE_CHECKING:
    from muvi.features.excerpt import ExcerptMedia

ExtractorKind = Literal["audio", "frames", "video"]

__all__ = [
    "CHEAP_FEATURES",
    "DEFAULT_FEATURES",
    "Extractor",
    "ExtractorKind",
    "FeatureFamily",
    "UnknownFeatureError",
    "available",
    "family_columns",
    "family_names",
    "get",
    "register",
    "register_family",
    "resolve",
    "unregister",
    "unregister_family",
]

DEFAULT_FEATURES: Final = ("audio", "colour", "lighting", "faces", "scenes", "objects", "actions")
"""The extractors run when none are named: the study's families, each by the
extractor named as the family."""

CHEAP_FEATURES: Final = ("audio", "colour", "lighting")
"""The families that need no pretrained weights."""

_BUILTIN_MODULES: Final = {
    "audio": "muvi.features.audio",
    "colour": "muvi.features.colour",
    "lighting": "muvi.features.lighting",
    "faces": "muvi.features.faces",
    "scenes": "muvi.features.scenes",
    "objects": "muvi.features.objects",
    "actions": "muvi.features.actions",
    # the optional YOLO backend of the objects family (AGPL extra), beside the default
    "objects_yolo": "muvi.features.objects",
}
"""Where the built-in extractors live; imported on first lookup."""


def family_names() -> tuple[str, ...]:
    """Every registered feature family, audio first then the visual ones in file order.

    Examples:
        >>> family_names()[:3]
        ('audio', 'colour', 'lighting')
    """
    return tuple(f.name for f in feature_families())


def __getattr__(name: str) -> tuple[str, ...]:
    # FEATURE_FAMILIES, the constant of earlier versions, is now read from the
    # registered families (muvi.data.schema), so that it stays one list
    if name == "FEATURE_FAMILIES":
        return family_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def family_columns(name: str) -> list[str]:
    """The columns of a registered family, in file order (the ``columns`` of its
    default extractor).

    Examples:
        >>> family_columns("lighting")
        ['lighting__brightness_mean', 'lighting__brightness_std', 'lighting__key']
    """
    return list(feature_family(name).columns())


class UnknownFeatureError(MuviError, KeyError):
    """A feature extractor name that nobody registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Extractor:
    """One feature extractor.

    Attributes:
        name: what users type in ``--features`` (the family name for the defaults).
        family: a registered family (:func:`family_names`); output is grouped by family.
        kind: ``audio``, ``frames`` or ``video`` (what it reads, see the module doc).
        columns: returns the output column names, in order.
        run: ``ExcerptMedia -> DataFrame`` (index ``sample``, columns ``columns()``).
        needs_weights: True when it loads pretrained weights from ``media.weights_dir``.
        description: one line for ``muvi extract --help`` and reports.
    """

    name: str
    family: str
    kind: ExtractorKind
    columns: Callable[[], Sequence[str]]
    run: Callable[[ExcerptMedia], pd.DataFrame]
    needs_weights: bool = False
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.family not in family_names():
            raise ValueError(
                f"extractor {self.name!r}: unknown family {self.family!r} "
                f"(expected one of {', '.join(family_names())}; see register_family)"
            )
        if self.kind not in ("audio", "frames", "video"):
            raise ValueError(f"extractor {self.name!r}: unknown kind {self.kind!r}")

    def extract(self, media: ExcerptMedia) -> pd.DataFrame:
        """Run the extractor and check its output against the contract.

        Returns:
            The extractor's DataFrame, index ``sample`` 0..n-1 (n = ``len(media.times)``),
            float columns exactly ``columns()``.

        Raises:
            RuntimeError: the extractor broke its contract (a bug, not bad input).
        """
        out = self.run(media)
        expected = list(self.columns())
        n = len(media.times)
        if list(out.columns) != expected:
            missing = [c for c in expected if c not in out.columns][:3]
            raise RuntimeError(
                f"extractor {self.name!r} returned columns that differ from its "
                f"declared columns (first missing: {missing})"
            )
        if len(out) != n:
            raise RuntimeError(f"extractor {self.name!r} returned {len(out)} rows, expected {n}")
        out = out.astype("float64")
        out.index = pd.RangeIndex(n, name="sample")
        return out


_REGISTRY: dict[str, Extractor] = {}


def register(extractor: Extractor, *, replace: bool = False) -> Extractor:
    """Add an extractor to the registry (call it at import of its module).

    Args:
        extractor: the extractor.
        replace: allow replacing one already registered under that name.

    Returns:
        The extractor, so the call can be used as an expression.

    Raises:
        ValueError: the name is taken and ``replace`` is False.
    """
    current = _REGISTRY.get(extractor.name)
    if current is not None and not replace and current != extractor:
        raise ValueError(f"a feature extractor named {extractor.name!r} is already registered")
    _REGISTRY[extractor.name] = extractor
    return extractor


def unregister(name: str) -> None:
    """Remove an extractor (mainly for tests); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def _load_builtin(name: str) -> None:
    module = _BUILTIN_MODULES.get(name)
    if module is None or name in _REGISTRY:
        return
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:  # a dependency of the module is missing: say so
            raise


def get(name: str) -> Extractor:
    """The extractor registered under ``name`` (importing a built-in one on demand).

    Raises:
        UnknownFeatureError: nobody registered that name.
    """
    key = name.strip()
    _load_builtin(key)
    try:
        return _REGISTRY[key]
    except KeyError:
        known = ", ".join(available())
        raise UnknownFeatureError(
            f"unknown feature extractor {name!r} (available: {known})"
        ) from None


def available() -> list[str]:
    """Names of every extractor that can be used, built-in families first.

    Examples:
        >>> {"audio", "colour", "lighting"} <= set(available())
        True
    """
    for name in _BUILTIN_MODULES:
        _load_builtin(name)
    order = {f: i for i, f in enumerate(family_names())}
    return sorted(
        _REGISTRY, key=lambda n: (order[_REGISTRY[n].family], n != _REGISTRY[n].family, n)
    )


def resolve(features: str | Iterable[str] | None = None) -> list[Extractor]:
    """Turn a ``--features`` value into extractors, in family order, without duplicates.

    Args:
        features: a comma-separated string (``"audio,colour"``), a list of
            names, or None for :data:`DEFAULT_FEATURES`. ``"all"`` means every
            default family; ``"cheap"`` the families without weights.

    Returns:
        The extractors, audio first then the visual families in file order.

    Raises:
        UnknownFeatureError: a name is not registered.
        MuviError: two extractors of the same family were asked for.

    Examples:
        >>> [e.name for e in resolve("lighting, colour")]
        ['colour', 'lighting']
    """
    if features is None:
        names: list[str] = list(DEFAULT_FEATURES)
    elif isinstance(features, str):
        names = [n for n in (p.strip() for p in features.split(",")) if n]
    else:
        names = [str(n).strip() for n in features]
    expanded: list[str] = []
    for n in names:
        if n == "all":
            expanded += DEFAULT_FEATURES
        elif n == "cheap":
            expanded += CHEAP_FEATURES
        else:
            expanded.append(n)
    if not expanded:
        raise MuviError("no feature extractors were named")
    chosen: dict[str, Extractor] = {}
    for n in dict.fromkeys(expanded):
        ext = get(n)
        other = chosen.get(ext.family)
        if other is not None and other.name != ext.name:
            raise MuviError(
                f"feature extractors {other.name!r} and {ext.name!r} both produce the "
                f"{ext.family!r} family; choose one"
            )
        chosen[ext.family] = ext
    order = {f: i for i, f in enumerate(family_names())}
    return sorted(chosen.values(), key=lambda e: order[e.family])
