"""What the ``reference-code`` profile takes from the authors' published code.

``docs/reference_code.md`` reads the code of AMAAI-Lab/MuVi (commit c9c8a97,
``aux_files.py`` and ``train_pair_models.py``) layer by layer; the profile
itself (:mod:`muvi.models.profiles`) sets muvi's own networks and training to
the code's settings. This module holds what they share with the code:

- Keras's initialisers (:func:`keras_dense_init`, :func:`keras_orthogonal_`,
  :func:`glorot_limit`), which :mod:`muvi.models.lstm` applies under the profile;
- the two defects, replicable on request only: ``chunked-scoring``
  (:func:`chunked_windows`, :func:`chunked_scores`) and ``pair-leak``
  (:func:`pair_source_folds`, :func:`pair_leaked_items`), and how they are
  named and announced (:func:`parse_defects`, :func:`defect_notice`).

A layer-by-layer rebuild of the code's Keras networks, its Adam and its
early stopping lives with the tests (``tests/models/keras_rebuild.py``),
which check muvi's profile against it.

Examples:
    >>> sorted(parse_defects("pair-leak,chunked-scoring"))
    ['chunked-scoring', 'pair-leak']
    >>> round(glorot_limit(256, 1024), 6)
    0.068465
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from muvi.errors import MuviError

PAIR_LEAK = "pair-leak"
CHUNKED_SCORING = "chunked-scoring"
DEFECTS = (PAIR_LEAK, CHUNKED_SCORING)
"""The two defects of the published code that change its numbers (never on by default)."""

DEFECT_DESCRIPTIONS = {
    PAIR_LEAK: (
        "PAIR loads, in every fold, the unimodal models of the last fold, whose training "
        "items include the earlier folds' PAIR test items"
    ),
    CHUNKED_SCORING: (
        "test windows are scored in consecutive chunks of 111 while items have 114, so chunks "
        "mix neighbouring items and the last item's final windows are never scored"
    ),
}
"""One sentence per defect, for every output written under it."""

WINDOWS_PER_ITEM = 114
"""Windows per item in the code: 118 feature rows, windows of 4 rows, j = 0..113."""
CODE_CHUNK = 111
"""The chunk length the code scores test windows in (it assumes 111 windows per item)."""


class ReproductionError(MuviError, ValueError):
    """A reproduction setting is not understood (unknown defect, architecture or value)."""


def parse_names(
    text: str | Iterable[str],
    choices: Sequence[str],
    what: str,
    error: type[MuviError] = ReproductionError,
) -> frozenset[str]:
    """The names in a comma-separated list (or an iterable), each one of ``choices``.

    Args:
        text: e.g. ``"pair-leak, chunked-scoring"``.
        choices: the names allowed.
        what: what a name is, for the error (``defect``, ``variant``).
        error: the error raised for an unknown name.

    Raises:
        error: naming every unknown name and the choices.

    Examples:
        >>> sorted(parse_names(" b,a,,", ("a", "b"), "letter"))
        ['a', 'b']
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    found = {n.strip() for n in names if n.strip()}
    unknown = sorted(found - set(choices))
    if unknown:
        raise error(
            f"unknown {what} {', '.join(repr(u) for u in unknown)}; "
            f"choose from {', '.join(choices)}"
        )
    return frozenset(found)


def parse_defects(text: str | Iterable[str] | None) -> frozenset[str]:
    """The defects named in a comma-separated list (or an iterable of names).

    Args:
        text: e.g. ``"pair-leak,chunked-scoring"``; empty or None for none.

    Returns:
        The set of defect names.

    Raises:
        ReproductionError: a name is not one of :data:`DEFECTS`.

    Examples:
        >>> sorted(parse_defects(" chunked-scoring "))
        ['chunked-scoring']
        >>> parse_defects(None)
        frozenset()
    """
    if text is None:
        return frozenset()
    return parse_names(text, DEFECTS, "defect")


def defect_notice(defects: Iterable[str]) -> str:
    """The sentence every output written under replicated defects carries.

    Examples:
        >>> defect_notice([])
        ''
        >>> defect_notice(["pair-leak"]).startswith("DEFECTS OF THE PUBLISHED CODE REPLICATED")
        True
    """
    chosen = [d for d in DEFECTS if d in set(defects)]
    if not chosen:
        return ""
    parts = "; ".join(f"{d}: {DEFECT_DESCRIPTIONS[d]}" for d in chosen)
    return f"DEFECTS OF THE PUBLISHED CODE REPLICATED ON REQUEST ({parts})."


# --- Keras initialisers (the reference-code profile of muvi.models.lstm) ---------------


def glorot_limit(fan_in: int, fan_out: int) -> float:
    """Glorot-uniform's bound ``sqrt(6 / (fan_in + fan_out))``.

    Examples:
        >>> round(glorot_limit(256, 1024), 6)
        0.068465
    """
    return math.sqrt(6.0 / (fan_in + fan_out))


def keras_orthogonal_(tensor: torch.Tensor, generator: torch.Generator | None = None) -> None:
    """Keras's ``Orthogonal`` initialiser on a 2-D ``(rows, cols)`` tensor, in place.

    As Keras: draw a normal ``(max, min)`` matrix, take Q of its QR
    decomposition with the signs of R's diagonal, transpose it when there are
    fewer rows than columns. For an LSTM's ``(u, 4u)`` recurrent kernel this is
    ONE orthogonal draw for the whole matrix (its rows are orthonormal).
    """
    rows, cols = tensor.shape
    flat = torch.randn(max(rows, cols), min(rows, cols), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(flat)
    q = q * torch.sign(torch.diagonal(r))
    if rows < cols:
        q = q.t()
    with torch.no_grad():
        tensor.copy_(q.to(tensor.dtype))


def keras_dense_init(layer: nn.Linear) -> None:
    """Keras's Dense defaults: Glorot-uniform kernel, zero bias."""
    with torch.no_grad():
        limit = glorot_limit(layer.in_features, layer.out_features)
        layer.weight.uniform_(-limit, limit)
        if layer.bias is not None:
            layer.bias.zero_()


def reported_error(y_true: np.ndarray, y_pred: np.ndarray, metric: str = "mse") -> float:
    """The error the code reports (its compiled loss, the MSE) or the true RMSE.

    Examples:
        >>> reported_error(np.array([0.0, 0.0]), np.array([0.3, 0.4]))
        0.125
        >>> round(reported_error(np.array([0.0, 0.0]), np.array([0.3, 0.4]), "rmse"), 6)
        0.353553
    """
    err = float(np.mean((np.asarray(y_true, float) - np.asarray(y_pred, float)) ** 2))
    if metric == "mse":
        return err
    if metric == "rmse":
        return math.sqrt(err)
    raise ReproductionError(f"metric must be 'mse' or 'rmse', not {metric!r}")


# --- defect (b): chunked scoring --------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """One chunk the code scores as an "item".

    Attributes:
        index: the chunk's number ``j``; the code labels it with test item ``j``.
        start: first window (0-based, over the fold's stacked test windows).
        stop: one past its last window.
        parts: (item position, first window within the item, one past the last)
            for each item whose windows the chunk holds.
    """

    index: int
    start: int
    stop: int
    parts: tuple[tuple[int, int, int], ...]

    @property
    def mixed(self) -> bool:
        """True when the chunk holds windows of more than one item."""
        return len(self.parts) > 1


def chunked_windows(
    n_items: int, windows_per_item: int = WINDOWS_PER_ITEM, chunk: int = CODE_CHUNK
) -> tuple[list[Chunk], list[tuple[int, int]]]:
    """How the code cuts a fold's stacked test windows into scored chunks.

    The code scores ``int(n_items * windows_per_item / chunk)`` consecutive
    chunks of ``chunk`` windows; whatever is left after them is never scored.

    Args:
        n_items: test items in the fold.
        windows_per_item: windows per item (code: 114).
        chunk: chunk length (code: 111).

    Returns:
        ``(chunks, unscored)``: the chunks, and the (item position, window
        within the item) of every window never scored.

    Examples:
        >>> chunks, unscored = chunked_windows(2, windows_per_item=5, chunk=4)
        >>> [(c.start, c.stop, c.parts) for c in chunks]
        [(0, 4, ((0, 0, 4),)), (4, 8, ((0, 4, 5), (1, 0, 3)))]
        >>> unscored
        [(1, 3), (1, 4)]
    """
    if n_items < 0 or windows_per_item < 1 or chunk < 1:
        raise ReproductionError("n_items must be >= 0, windows_per_item and chunk >= 1")
    total = n_items * windows_per_item
    n_chunks = total // chunk
    chunks = []
    for j in range(n_chunks):
        start, stop = j * chunk, (j + 1) * chunk
        parts = []
        for item in range(start // windows_per_item, (stop - 1) // windows_per_item + 1):
            lo = max(start, item * windows_per_item) - item * windows_per_item
            hi = min(stop, (item + 1) * windows_per_item) - item * windows_per_item
            parts.append((item, lo, hi))
        chunks.append(Chunk(j, start, stop, tuple(parts)))
    scored_until = n_chunks * chunk
    unscored = [divmod(w, windows_per_item) for w in range(scored_until, total)]
    return chunks, [(int(i), int(k)) for i, k in unscored]


def _ccc(y: np.ndarray, p: np.ndarray) -> float:
    """Lin's CCC with population moments (audtorch's ``concordance_cc`` equals it)."""
    dy, dp = y - y.mean(), p - p.mean()
    denom = float(np.mean(dy * dy) + np.mean(dp * dp) + (y.mean() - p.mean()) ** 2)
    return 2.0 * float(np.mean(dy * dp)) / denom if denom > 0 else float("nan")


def chunked_scores(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    items: Sequence[str],
    windows_per_item: int = WINDOWS_PER_ITEM,
    chunk: int = CODE_CHUNK,
    metric: str = "mse",
) -> list[dict[str, Any]]:
    """Score a fold's stacked test windows as the code does (defect ``chunked-scoring``).

    Args:
        y_true: targets of the fold's test windows, item after item.
        y_pred: predictions in the same order.
        items: the fold's test items in stacking order; chunk ``j`` is
            reported under ``items[j]``, as the code labels it.
        windows_per_item: windows per item.
        chunk: chunk length.
        metric: ``mse`` (the code's) or ``rmse``.

    Returns:
        One record per chunk: ``media_id`` (the label the code gives it),
        ``chunk``, ``error`` (the metric), ``ccc``, ``mixed`` (holds windows of
        two items), ``items`` (the items whose windows it holds).

    Raises:
        ReproductionError: lengths disagree.
    """
    y = np.asarray(y_true, dtype=float).reshape(-1)
    p = np.asarray(y_pred, dtype=float).reshape(-1)
    if y.shape != p.shape or y.size != len(items) * windows_per_item:
        raise ReproductionError(
            f"expected {len(items)} items x {windows_per_item} windows, "
            f"got {y.size} targets and {p.size} predictions"
        )
    chunks, _ = chunked_windows(len(items), windows_per_item, chunk)
    rows = []
    for c in chunks:
        ys, ps = y[c.start : c.stop], p[c.start : c.stop]
        rows.append(
            {
                "media_id": items[c.index],
                "chunk": c.index,
                "error": reported_error(ys, ps, metric),
                "ccc": _ccc(ys, ps),
                "mixed": c.mixed,
                "items": [items[i] for i, _, _ in c.parts],
            }
        )
    return rows


# --- defect (a): the PAIR leak -------------------------------------------------------


def pair_source_folds(n_folds: int, leak: bool) -> list[int]:
    """For each fold, the fold whose unimodal models PAIR starts from.

    Without the defect, each fold's own. With it (``pair-leak``), the last
    fold's in every fold: the code saves the unimodal models under one file
    name per experiment, so the last fold's overwrite the others before PAIR
    runs.

    Examples:
        >>> pair_source_folds(5, leak=False)
        [0, 1, 2, 3, 4]
        >>> pair_source_folds(5, leak=True)
        [4, 4, 4, 4, 4]
    """
    if n_folds < 1:
        raise ReproductionError(f"n_folds must be at least 1, not {n_folds}")
    return [n_folds - 1] * n_folds if leak else list(range(n_folds))


def pair_leaked_items(folds: Sequence[Any], leak: bool) -> list[list[str]]:
    """Per fold, the PAIR test items that trained the unimodal models it loads.

    Args:
        folds: :class:`muvi.models.folds.Fold` objects (``train``, ``test``) in order.
        leak: the ``pair-leak`` defect on or off.

    Returns:
        One list per fold (empty for every fold when ``leak`` is off).
    """
    sources = pair_source_folds(len(folds), leak)
    return [
        [item for item in fold.test if item in set(folds[src].train)]
        for fold, src in zip(folds, sources, strict=True)
    ]
