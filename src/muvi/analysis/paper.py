"""The paper's printed figures beside muvi's (``src/muvi/data/paper_values.json``).

Each figure the paper prints that software can compute is stored with the
section or table that prints it, the condition, its printed text (whose
digits give its precision) and where muvi computes it: a dotted path of
``summary.json`` (``muvi analyze``) or a locator in ``results.json`` (``muvi
evaluate``, ``muvi reproduce``). :func:`compare_value` puts one beside muvi's
value and gives it a status:

- ``reproduced``: muvi's value rounds to the printed one at its precision;
- ``differs``: it does not; the difference is given, and the known reason
  where there is one (``known_difference``);
- ``needs the dynamic ratings``: only ``av_data.csv`` determines it and the
  study has none;
- ``not determinable``: no muvi output determines it (the reason is given);
- ``not compared``: the data are SIMULATED, so nothing is ever compared.

Printed forms understood: ``0.34``, ``0.2675 ± 0.1075`` (mean ± sd: the mean
is compared, the sd shown beside), ``t(40) = 2.81``, ``1.15e5`` (precision
from the mantissa), ``31 of 49`` (with ``printed_number``) and text
(``kind="text"``: compared word for word, e.g. ``not significant``).

Examples:
    >>> v = PaperValue(key="x", section="§1", quantity="a mean", printed="0.34", source="test")
    >>> v.value, v.decimals
    (0.34, 2)
    >>> compare_value(v, 0.3449).status
    'reproduced'
    >>> compare_value(v, 0.3451).status
    'differs'
    >>> compare_value(v, 0.34, simulated=True).status
    'not compared'
    >>> w = PaperValue("t", "§7.1.2", "a t-test", "t(40) = 2.81", "test")
    >>> w.value, w.half_unit
    (2.81, 0.005)
    >>> PaperValue("u", "§4.2.1", "U", "1.15e5", "test").half_unit
    500.0
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from muvi.errors import DataError

PAPER_FILE = "paper_values.json"
"""The data file in :mod:`muvi.data`."""

REPRODUCED = "reproduced"
MATCH = REPRODUCED
"""Another name of :data:`REPRODUCED`."""
DIFFERS = "differs"
NEEDS_DYNAMIC = "needs the dynamic ratings"
NOT_DETERMINABLE = "not determinable"
NOT_COMPARED = "not compared"
STATUSES = (REPRODUCED, DIFFERS, NEEDS_DYNAMIC, NOT_DETERMINABLE, NOT_COMPARED)

SIMULATED_REASON = "SIMULATED data: shown for reference, never compared with the paper"
NEEDS_DYNAMIC_REASON = "needs the dynamic ratings (av_data.csv), which this study does not have"

_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def _number_part(printed: str) -> str:
    """The number of a printed figure: the mean of ``a ± b``, the value of ``t(df) = x``."""
    text = printed.strip()
    if "=" in text:
        text = text.rsplit("=", 1)[1].strip()
    if "±" in text:
        text = text.split("±", 1)[0].strip()
    return text


@dataclass(frozen=True)
class PaperValue:
    """One figure as the paper prints it.

    Attributes:
        key: muvi's name for it.
        section: where the paper prints it (``§4.1.2``), None for a table's figure
            that no section prints.
        quantity: what it is, in words.
        printed: the text as printed (``"15.83"``, ``"0.2675 ± 0.1075"``): its
            digits give its precision.
        source: where the paper prints it (section, table).
        table: the table that prints it (``Table 3``), if any.
        condition: the rated modality and, for models, the features.
        column: the dimension or the table's column.
        notes: where the paper is inconsistent or leaves something open.
        kind: ``number`` (default) or ``text``.
        printed_number: the number to compare where the printed text holds more
            (``31`` of ``31 of 49``).
        summary: dotted path of muvi's value in ``summary.json`` (analyze).
        results: locator of muvi's value in ``results.json`` (evaluate,
            reproduce): ``{"name", "dimension", "field"[, "sd_field"]}`` for an
            entry of ``experiments``; ``{"ttest_a", "ttest_b", "dimension",
            "metric", "field"}`` for a paired t-test of ``ttests``;
            ``{"human_test", "dimension", "field"}`` for a model-versus-human test.
        needs_dynamic: only the dynamic ratings (``av_data.csv``) determine it.
        known_difference: why muvi's value on the public files differs, where known.
        caveat_without_dynamic: why muvi's value is only approximate when the
            dynamic ratings are absent.
        not_determinable: why no muvi output determines it.
    """

    key: str
    section: str | None
    quantity: str
    printed: str
    source: str
    table: str | None = None
    condition: str | None = None
    column: str | None = None
    notes: str | None = None
    kind: str = "number"
    printed_number: str | None = None
    summary: str | None = None
    results: dict[str, str] | None = None
    needs_dynamic: bool = False
    known_difference: str | None = None
    caveat_without_dynamic: str | None = None
    not_determinable: str | None = None

    @property
    def is_text(self) -> bool:
        return self.kind == "text"

    @property
    def number_text(self) -> str:
        """The printed number as text (``2.81`` of ``t(40) = 2.81``)."""
        return self.printed_number or _number_part(self.printed)

    @property
    def value(self) -> float:
        """The printed number."""
        text = self.number_text
        if not _NUMBER.match(text):
            raise ValueError(f"no number in {self.printed!r}")
        return float(text)

    @property
    def printed_sd(self) -> float | None:
        """The sd of a ``mean ± sd`` figure, else None."""
        if "±" not in self.printed:
            return None
        return float(self.printed.split("±", 1)[1].strip())

    @property
    def decimals(self) -> int:
        """Digits after the decimal point as printed (of the mantissa, for ``1.15e5``).

        Examples:
            >>> PaperValue("k", None, "q", "1.5", "s").decimals
            1
        """
        mantissa = re.split("[eE]", self.number_text)[0]
        return len(mantissa.split(".", 1)[1]) if "." in mantissa else 0

    @property
    def half_unit(self) -> float:
        """Half a unit of the printed figure's last digit: the rounding tolerance."""
        parts = re.split("[eE]", self.number_text)
        exponent = int(parts[1]) if len(parts) == 2 else 0
        return 0.5 * 10.0 ** (exponent - self.decimals)


@dataclass(frozen=True)
class Comparison:
    """A paper figure beside muvi's.

    Attributes:
        paper: the figure.
        ours: muvi's value (None when not determinable; text for a text figure).
        difference: ``ours - paper`` (None without ours, or for text).
        status: one of :data:`STATUSES`.
        why: the reason for the status (empty for a plain reproduction).
        ours_sd: muvi's sd beside a ``mean ± sd`` figure, if known.
    """

    paper: PaperValue
    ours: float | str | None
    difference: float | None
    status: str
    why: str
    ours_sd: float | None = None

    def to_json(self) -> dict[str, Any]:
        """A plain record for ``summary.json`` / ``results.json``."""
        p = self.paper
        return {
            "key": p.key,
            "section": p.section,
            "table": p.table,
            "quantity": p.quantity,
            "condition": p.condition,
            "column": p.column,
            "paper": p.printed,
            "precision": None if p.is_text else p.decimals,
            "ours": self.ours,
            "ours_sd": self.ours_sd,
            "difference": self.difference,
            "status": self.status,
            "why": self.why,
            "notes": p.notes,
            "source": p.source,
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
        if value.kind not in ("number", "text"):
            raise ValueError(f"kind is number or text, not {value.kind!r}")
        if not value.is_text:
            _ = value.value
    except (TypeError, ValueError) as err:
        raise DataError(
            f"malformed paper value ({err})", file=where, item=record.get("key")
        ) from None
    return value


def _document() -> dict[str, Any]:
    text = resources.files("muvi.data").joinpath(PAPER_FILE).read_text(encoding="utf-8")
    return dict(json.loads(text))


@lru_cache(maxsize=1)
def _packaged() -> tuple[PaperValue, ...]:
    return tuple(_parse(r, PAPER_FILE) for r in _document()["values"])


def paper_values() -> tuple[PaperValue, ...]:
    """Every figure of the packaged data file that muvi computes or explains.

    Examples:
        >>> v = next(v for v in paper_values() if v.summary == "chi_square.gender.chi2")
        >>> v.printed, v.section
        ('46.36', '§4.2.2')
    """
    return _packaged()


def not_computed() -> list[dict[str, Any]]:
    """The paper's figures muvi does not compute, each with the reason."""
    return list(_document().get("not_computed", []))


def definitions() -> dict[str, str]:
    """What the data file says about the paper's open definitions (Table 3's filter, §4.2.1)."""
    return dict(_document().get("definitions", {}))


def not_yet_listed() -> list[dict[str, str]]:
    """The paper's sections whose figures the data file does not hold (none now)."""
    return list(_document().get("not_yet_listed", []))


def _same_text(a: str, b: str) -> bool:
    def norm(s: str) -> list[str]:
        return sorted(p.strip().lower().replace("_", " ") for p in s.split(";"))

    return norm(a) == norm(b)


def matches(paper: PaperValue, ours: float) -> bool:
    """Does ``ours`` round to the printed figure (half a unit of its last digit)?

    Examples:
        >>> v = PaperValue("k", None, "q", "15.83", "s")
        >>> matches(v, 15.827), matches(v, 15.8351)
        (True, False)
    """
    return abs(ours - paper.value) <= paper.half_unit * (1 + 1e-9)


def compare_value(
    paper: PaperValue,
    ours: float | str | None,
    *,
    simulated: bool = False,
    why_missing: str = "",
    caveat: str = "",
    ours_sd: float | None = None,
    status_missing: str = NOT_DETERMINABLE,
) -> Comparison:
    """Put one paper figure beside muvi's value.

    Args:
        paper: the figure.
        ours: muvi's value, or None when the data at hand cannot give it.
        simulated: the data are SIMULATED (never compared).
        why_missing: the reason when ``ours`` is None.
        caveat: why ``ours`` is only approximate, if it is.
        ours_sd: muvi's sd, shown beside a ``mean ± sd`` figure.
        status_missing: the status when ``ours`` is None (default
            :data:`NOT_DETERMINABLE`; :data:`NEEDS_DYNAMIC` where only the
            dynamic ratings would give it).

    Returns:
        The comparison.
    """
    if ours is None or (isinstance(ours, float) and not math.isfinite(ours)):
        why = why_missing or paper.not_determinable or "muvi's output has no value for it"
        return Comparison(paper, None, None, status_missing, why)
    if paper.is_text:
        text = str(ours)
        if simulated:
            return Comparison(paper, text, None, NOT_COMPARED, SIMULATED_REASON)
        if _same_text(text, paper.printed):
            return Comparison(paper, text, None, REPRODUCED, caveat)
        return Comparison(paper, text, None, DIFFERS, paper.known_difference or caveat)
    ours = float(ours)
    difference = ours - paper.value
    if simulated:
        return Comparison(paper, ours, difference, NOT_COMPARED, SIMULATED_REASON, ours_sd)
    if matches(paper, ours):
        return Comparison(paper, ours, difference, REPRODUCED, caveat, ours_sd)
    why = "; ".join(w for w in (paper.known_difference, caveat) if w)
    return Comparison(paper, ours, difference, DIFFERS, why, ours_sd)


def lookup(document: dict[str, Any], path: str, *, text: bool = False) -> Any:
    """A number (or, with ``text``, a string) at a dotted path of a JSON
    document, or None when absent.

    Examples:
        >>> lookup({"a": {"b": 2}}, "a.b"), lookup({"a": {}}, "a.b")
        (2.0, None)
        >>> lookup({"a": "not significant"}, "a", text=True)
        'not significant'
    """
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if text:
        return node if isinstance(node, str) else None
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
        simulated: the study is SIMULATED.
        has_dynamic: the study has dynamic ratings (``av_data.csv``).
        values: the figures (default: the packaged file's).

    Returns:
        One comparison per figure that ``summary.json`` could hold (those with
        a ``summary`` path); figures of ``results.json`` and those no output
        determines are left to :func:`compare_results`.
    """
    rows = []
    for paper in values if values is not None else paper_values():
        if paper.summary is None:
            continue
        if paper.needs_dynamic and not has_dynamic:
            rows.append(
                compare_value(
                    paper, None, why_missing=NEEDS_DYNAMIC_REASON, status_missing=NEEDS_DYNAMIC
                )
            )
            continue
        caveat = "" if has_dynamic else (paper.caveat_without_dynamic or "")
        ours = lookup(summary, paper.summary, text=paper.is_text)
        rows.append(compare_value(paper, ours, simulated=simulated, caveat=caveat))
    return rows


def _experiment_value(
    experiments: list[dict[str, Any]], where: dict[str, str]
) -> tuple[float | None, float | None, str]:
    entry = next(
        (
            e
            for e in experiments
            if e.get("name") == where.get("name") and e.get("dimension") == where.get("dimension")
        ),
        None,
    )
    if entry is None:
        return None, None, f"results.json has no {where.get('name')} {where.get('dimension')} entry"
    ours, sd = entry.get(where.get("field", "")), entry.get(where.get("sd_field", ""))
    return (
        None if ours is None else float(ours),
        None if sd is None else float(sd),
        f"results.json's entry has no {where.get('field')}",
    )


def _ttest_value(ttests: list[dict[str, Any]], where: dict[str, str]) -> tuple[float | None, str]:
    a, b = where.get("ttest_a"), where.get("ttest_b")
    for row in ttests:
        if row.get("dimension") != where.get("dimension") or row.get("metric") != where.get(
            "metric"
        ):
            continue
        t = row.get(where.get("field", "t"))
        if t is None:
            continue
        if (row.get("a"), row.get("b")) == (a, b):
            return float(t), ""
        if (row.get("a"), row.get("b")) == (b, a):  # t(b, a) = -t(a, b)
            return -float(t), ""
    return None, f"results.json has no paired t-test of {a} against {b} ({where.get('dimension')})"


def _human_value(human: dict[str, Any], where: dict[str, str]) -> tuple[float | None, str]:
    for row in human.get("rows", []) if isinstance(human, dict) else []:
        if row.get("name") == where.get("human_test") and row.get("dimension") == where.get(
            "dimension"
        ):
            t = row.get(where.get("field", "t"))
            return (None if t is None else float(t)), "the test has no value (too few items)"
    why = (
        f"results.json has no model-versus-human test of {where.get('human_test')} "
        f"({where.get('dimension')}): it needs the annotators' agreement (av_data.csv)"
    )
    return None, why


def compare_results(
    results: dict[str, Any], values: tuple[PaperValue, ...] | None = None
) -> list[Comparison]:
    """Every paper figure of the models beside ``results.json``.

    For ``muvi evaluate`` / ``muvi reproduce``: a locator names an entry of
    ``results["experiments"]`` (Tables 4 and 6), a paired t-test of
    ``results["ttests"]`` (§7.1.2) or a model-versus-human test of
    ``results["human_tests"]`` (§7.1.1); see :class:`PaperValue`. The figures
    that no output determines (Table 7, §7.2) come with their reason.
    ``results["simulated"]`` decides whether a value may be compared.

    Args:
        results: the ``results.json`` document.
        values: the figures (default: the packaged file's).

    Returns:
        One comparison per figure with a locator or a ``not_determinable`` reason.
    """
    simulated = bool(results.get("simulated", False))
    experiments = results.get("experiments", [])
    rows = []
    for paper in values if values is not None else paper_values():
        where = paper.results
        if where is None:
            if paper.summary is None:
                rows.append(compare_value(paper, None, simulated=simulated))
            continue
        sd = None
        if "ttest_a" in where:
            ours, why = _ttest_value(results.get("ttests", []), where)
        elif "human_test" in where:
            ours, why = _human_value(results.get("human_tests", {}), where)
        else:
            ours, sd, why = _experiment_value(experiments, where)
        rows.append(compare_value(paper, ours, simulated=simulated, why_missing=why, ours_sd=sd))
    return rows


COMPARISON_COLUMNS = (
    "section",
    "table",
    "quantity",
    "condition",
    "column",
    "paper",
    "ours",
    "ours_sd",
    "difference",
    "status",
    "why",
    "notes",
    "source",
)
"""The columns of the comparison CSV table (``paper_comparison.csv``)."""


def comparison_rows(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a ``paper`` block's comparisons, in :data:`COMPARISON_COLUMNS`, for a CSV.

    Examples:
        >>> v = PaperValue("k", "§1", "a mean", "0.34", "s")
        >>> comparison_rows(paper_block([compare_value(v, 0.341)]))[0]["status"]
        'reproduced'
    """
    return [{k: c.get(k) for k in COMPARISON_COLUMNS} for c in block.get("comparisons", [])]


def paper_block(comparisons: list[Comparison]) -> dict[str, Any]:
    """The ``paper`` block of ``summary.json`` / ``results.json``.

    Returns:
        ``{"source": ..., "comparisons": [...], "counts": {status: n},
        "not_computed": [...], "definitions": {...}}``.
    """
    counts = {s: sum(c.status == s for c in comparisons) for s in STATUSES}
    return {
        "source": "src/muvi/data/paper_values.json",
        "comparisons": [c.to_json() for c in comparisons],
        "counts": counts,
        "not_computed": not_computed(),
        "definitions": definitions(),
    }
