"""The paper's printed figures beside muvi's (``src/muvi/data/paper_values.json``).

Each figure the paper prints that muvi computes is stored with the section it
comes from, its printed text (whose digits give its precision) and the
summary (or results) key muvi computes it under. :func:`compare_value` puts
one beside muvi's value: the difference and whether muvi's value rounds to
the printed one. On simulated data nothing is ever called a match.

Examples:
    >>> v = PaperValue(key="x", section="§1", quantity="a mean", printed="0.34", source="test")
    >>> v.value, v.decimals
    (0.34, 2)
    >>> compare_value(v, 0.3449).status
    'match'
    >>> compare_value(v, 0.3451).status
    'differs'
    >>> compare_value(v, 0.34, simulated=True).status
    'not compared'
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from muvi.errors import DataError

PAPER_FILE = "paper_values.json"
"""The data file in :mod:`muvi.data`."""

MATCH = "match"
DIFFERS = "differs"
NOT_DETERMINABLE = "not determinable here"
NOT_COMPARED = "not compared"
STATUSES = (MATCH, DIFFERS, NOT_DETERMINABLE, NOT_COMPARED)

SIMULATED_REASON = "simulated data: shown for reference, never compared with the paper"


@dataclass(frozen=True)
class PaperValue:
    """One figure as the paper prints it.

    Attributes:
        key: muvi's name for it.
        section: where the paper prints it (``§4.1.2``, ``Table 5``), None when
            the source at hand does not say.
        quantity: what it is, in words.
        printed: the text as printed (``"15.83"``): its digits after the point
            are its precision.
        source: where the value was read.
        summary: dotted path of muvi's value in ``summary.json`` (analyze).
        results: locator of muvi's value in ``results.json`` (evaluate,
            reproduce): ``{"name": ..., "dimension": ..., "field": ...}``.
        needs_dynamic: only the dynamic ratings (``av_data.csv``) determine it.
        caveat_without_dynamic: why muvi's value is only approximate when the
            dynamic ratings are absent.
        not_determinable: why no muvi output determines it.
    """

    key: str
    section: str | None
    quantity: str
    printed: str
    source: str
    summary: str | None = None
    results: dict[str, str] | None = None
    needs_dynamic: bool = False
    caveat_without_dynamic: str | None = None
    not_determinable: str | None = None

    @property
    def value(self) -> float:
        """The printed number."""
        return float(self.printed)

    @property
    def decimals(self) -> int:
        """Digits after the decimal point as printed.

        Examples:
            >>> PaperValue("k", None, "q", "1.5", "s").decimals
            1
        """
        return len(self.printed.split(".", 1)[1]) if "." in self.printed else 0


@dataclass(frozen=True)
class Comparison:
    """A paper figure beside muvi's.

    Attributes:
        paper: the figure.
        ours: muvi's value (None when not determinable).
        difference: ``ours - paper`` (None without ours).
        status: one of :data:`STATUSES`.
        why: the reason for the status (empty for a plain match or difference).
    """

    paper: PaperValue
    ours: float | None
    difference: float | None
    status: str
    why: str

    def to_json(self) -> dict[str, Any]:
        """A plain record for ``summary.json`` / ``results.json``."""
        return {
            "key": self.paper.key,
            "section": self.paper.section,
            "quantity": self.paper.quantity,
            "paper": self.paper.printed,
            "precision": self.paper.decimals,
            "ours": self.ours,
            "difference": self.difference,
            "status": self.status,
            "why": self.why,
            "source": self.paper.source,
        }


def _parse(record: dict[str, Any], where: str) -> PaperValue:
    fields = set(PaperValue.__dataclass_fields__)
    unknown = sorted(set(record) - fields)
    if unknown:
        raise DataError(
            f"unknown field(s) {', '.join(unknown)}", file=where, item=record.get("key")
        )
    try:
        value = PaperValue(**record)
        _ = value.value
    except (TypeError, ValueError) as err:
        raise DataError(
            f"malformed paper value ({err})", file=where, item=record.get("key")
        ) from None
    return value


@lru_cache(maxsize=1)
def _packaged() -> tuple[PaperValue, ...]:
    text = resources.files("muvi.data").joinpath(PAPER_FILE).read_text(encoding="utf-8")
    return tuple(_parse(r, PAPER_FILE) for r in json.loads(text)["values"])


def paper_values() -> tuple[PaperValue, ...]:
    """Every figure of the packaged data file.

    Examples:
        >>> next(v for v in paper_values() if v.key == "distinct_labels_per_stimulus").printed
        '15.83'
    """
    return _packaged()


def not_yet_listed() -> list[dict[str, str]]:
    """The paper's sections whose figures the data file does not hold yet."""
    text = resources.files("muvi.data").joinpath(PAPER_FILE).read_text(encoding="utf-8")
    return list(json.loads(text).get("not_yet_listed", []))


def matches(paper: PaperValue, ours: float) -> bool:
    """Does ``ours`` round to the printed figure (half a unit of its last digit)?

    Examples:
        >>> v = PaperValue("k", None, "q", "15.83", "s")
        >>> matches(v, 15.827), matches(v, 15.8351)
        (True, False)
    """
    half = 0.5 * 10.0 ** (-paper.decimals)
    return abs(ours - paper.value) <= half * (1 + 1e-9)


def compare_value(
    paper: PaperValue,
    ours: float | None,
    *,
    simulated: bool = False,
    why_missing: str = "",
    caveat: str = "",
) -> Comparison:
    """Put one paper figure beside muvi's value.

    Args:
        paper: the figure.
        ours: muvi's value, or None when the data at hand cannot give it.
        simulated: the data are simulated (never called a match).
        why_missing: the reason when ``ours`` is None.
        caveat: why ``ours`` is only approximate, if it is.

    Returns:
        The comparison.
    """
    if ours is None or (isinstance(ours, float) and not math.isfinite(ours)):
        why = why_missing or paper.not_determinable or "muvi's output has no value for it"
        return Comparison(paper, None, None, NOT_DETERMINABLE, why)
    ours = float(ours)
    difference = ours - paper.value
    if simulated:
        return Comparison(paper, ours, difference, NOT_COMPARED, SIMULATED_REASON)
    status = MATCH if matches(paper, ours) else DIFFERS
    return Comparison(paper, ours, difference, status, caveat)


def lookup(document: dict[str, Any], path: str) -> float | None:
    """A number at a dotted path of a JSON document, or None when absent.

    Examples:
        >>> lookup({"a": {"b": 2}}, "a.b"), lookup({"a": {}}, "a.b")
        (2.0, None)
    """
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if node is None or isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return float(node)


def compare_summary(
    summary: dict[str, Any],
    *,
    simulated: bool,
    has_dynamic: bool,
    values: tuple[PaperValue, ...] | None = None,
) -> list[Comparison]:
    """Every paper figure beside ``muvi analyze``'s summary.

    Args:
        summary: the ``summary.json`` document (before the ``paper`` block).
        simulated: the study is simulated.
        has_dynamic: the study has dynamic ratings (``av_data.csv``).
        values: the figures (default: the packaged file's).

    Returns:
        One comparison per figure that ``summary.json`` could hold (those with
        a ``summary`` path) and per figure no muvi output determines; figures
        of ``results.json`` are left to :func:`compare_results`.
    """
    rows = []
    for paper in values if values is not None else paper_values():
        if paper.summary is None:
            if paper.results is None:
                rows.append(compare_value(paper, None, simulated=simulated))
            continue
        if paper.needs_dynamic and not has_dynamic:
            why = "needs the dynamic ratings (av_data.csv), which this folder does not have"
            rows.append(compare_value(paper, None, why_missing=why))
            continue
        caveat = "" if has_dynamic else (paper.caveat_without_dynamic or "")
        rows.append(
            compare_value(paper, lookup(summary, paper.summary), simulated=simulated, caveat=caveat)
        )
    return rows


def compare_results(
    results: dict[str, Any], values: tuple[PaperValue, ...] | None = None
) -> list[Comparison]:
    """Every paper figure with a ``results`` locator beside ``results.json``.

    For ``muvi evaluate`` / ``muvi reproduce``: the locator names an entry of
    ``results["experiments"]`` by its ``name`` and ``dimension`` and the
    ``field`` to read (``rmse_mean``, ``ccc_mean``, ...). ``results["simulated"]``
    decides whether a value may be called a match.

    Args:
        results: the ``results.json`` document.
        values: the figures (default: the packaged file's).

    Returns:
        One comparison per figure with a locator.
    """
    simulated = bool(results.get("simulated", False))
    experiments = results.get("experiments", [])
    rows = []
    for paper in values if values is not None else paper_values():
        if paper.results is None:
            continue
        where = paper.results
        entry = next(
            (
                e
                for e in experiments
                if e.get("name") == where.get("name")
                and e.get("dimension") == where.get("dimension")
            ),
            None,
        )
        if entry is None:
            why = f"results.json has no {where.get('name')} {where.get('dimension')} entry"
            rows.append(compare_value(paper, None, why_missing=why))
            continue
        ours = entry.get(where.get("field", ""))
        why = f"results.json's entry has no {where.get('field')}"
        rows.append(
            compare_value(
                paper,
                None if ours is None else float(ours),
                simulated=simulated,
                why_missing=why,
            )
        )
    return rows


def paper_block(comparisons: list[Comparison]) -> dict[str, Any]:
    """The ``paper`` block of ``summary.json`` / ``results.json``.

    Returns:
        ``{"source": ..., "comparisons": [...], "counts": {status: n},
        "not_yet_listed": [...]}``.
    """
    counts = {s: sum(c.status == s for c in comparisons) for s in STATUSES}
    return {
        "source": "src/muvi/data/paper_values.json",
        "comparisons": [c.to_json() for c in comparisons],
        "counts": counts,
        "not_yet_listed": not_yet_listed(),
    }
