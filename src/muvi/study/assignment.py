"""Random but balanced assignment of (item, modality) cells to participants.

The cells of a study (every item in every modality) are handed out along one
sequence; each arriving participant takes the next ``k`` positions. Position
``p`` shows item ``item_order[p % n]`` (``n`` items, in the study's random
order) in modality ``(p + p // L) % M`` (``M`` modalities, ``L`` the least
common multiple of ``n`` and ``M``), the modality names permuted anew, at
random, for every full pass of ``n * M`` positions. This gives, after every
arrival:

- **conditions**: every aligned block of ``M`` positions holds each modality
  once, so the number of cells per modality never differs by more than one,
  whatever the number of participants (even 1);
- **items**: every aligned block of ``n`` positions holds each item once, so
  the number of cells per item never differs by more than one, and the ``k``
  cells of one participant are ``k`` different items;
- **item x modality cells**: one full pass of ``n * M`` positions holds every
  cell exactly once (the shift by ``p // L`` moves an item to the modalities
  it has not had yet when ``n`` and ``M`` share a factor, e.g. the paper's 81
  items and 3 modalities), so the number of participants per cell never
  differs by more than one either.

A participant who leaves part-way leaves cells unrated. :func:`next_cells`
hands those cells (a *deficit*: fewer kept trials than the sequence gave out)
to the next arrivals before the sequence goes on, so the kept counts return
to the balanced ones as soon as the deficit is refilled: the kept counts per
cell are the balanced ones less the deficit still waiting. A deficit cell
waits while its item is among the next ``k`` positions of the sequence (an
arrival never rates an item twice); with ``k`` at most half the items every
item leaves that window within a few arrivals, so the deficit drains. With
``k`` close to the number of items it may wait longer (``k`` equal to it:
every arrival rates every item from the sequence and a deficit stays).

Examples:
    >>> cells = assign_cells(["a", "b", "c"], ["music", "visual"], seed=1, pointer=0, k=2)
    >>> len(cells), len({item for item, _ in cells})
    (2, 2)
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence, Set


def modality_order(modalities: Sequence[str], seed: int, cycle: int) -> list[str]:
    """The names given to the modality indices in pass ``cycle`` of ``n * M`` positions."""
    order = list(modalities)
    random.Random(f"{seed}:{cycle}").shuffle(order)
    return order


def cell_at(
    item_order: Sequence[str], modalities: Sequence[str], seed: int, position: int
) -> tuple[str, str]:
    """The cell ``(item, modality)`` at one position of the study's sequence.

    Examples:
        >>> [cell_at(["a", "b"], ["m", "v"], 0, p)[0] for p in range(4)]
        ['a', 'b', 'a', 'b']
    """
    n, m = len(item_order), len(modalities)
    period = math.lcm(n, m)
    cycle = position // (n * m)
    index = (position + position // period) % m
    return item_order[position % n], modality_order(modalities, seed, cycle)[index]


def assign_cells(
    item_order: Sequence[str],
    modalities: Sequence[str],
    seed: int,
    pointer: int,
    k: int,
) -> list[tuple[str, str]]:
    """The ``k`` cells handed to the participant who arrives at ``pointer``.

    Args:
        item_order: the study's random permutation of its items.
        modalities: the study's conditions.
        seed: the study's assignment seed.
        pointer: how many cells earlier participants took.
        k: items per participant (at most the number of items).

    Returns:
        ``k`` pairs ``(item, modality)`` with distinct items.

    Raises:
        ValueError: ``k`` is larger than the number of items, or not positive.

    Examples:
        >>> assign_cells(["a", "b"], ["music"], seed=0, pointer=1, k=2)
        [('b', 'music'), ('a', 'music')]
    """
    n = len(item_order)
    if not 0 < k <= n:
        raise ValueError(f"items per participant must be between 1 and {n}, got {k}")
    if not modalities:
        raise ValueError("a study needs at least one modality")
    return [cell_at(item_order, modalities, seed, p) for p in range(pointer, pointer + k)]


def handed_out(
    item_order: Sequence[str], modalities: Sequence[str], seed: int, pointer: int
) -> Counter[tuple[str, str]]:
    """How often the sequence has given out each cell in its first ``pointer`` positions.

    Examples:
        >>> handed_out(["a", "b"], ["m"], 0, 3)[("a", "m")]
        2
    """
    n, m = len(item_order), len(modalities)
    full, rest = divmod(pointer, n * m)
    counts: Counter[tuple[str, str]] = Counter(
        {(i, mod): full for i in item_order for mod in modalities}
    )
    start = full * n * m
    counts.update(cell_at(item_order, modalities, seed, p) for p in range(start, start + rest))
    return counts


def refill_cells(
    expected: Mapping[tuple[str, str], int],
    kept: Mapping[tuple[str, str], int],
    k: int,
    busy: Set[str] = frozenset(),
) -> list[tuple[str, str]]:
    """Cells left unrated by participants who left, for the next arrival (at most ``k``).

    A cell's deficit is how many more times the sequence gave it out than it
    is kept (rated, or held by a participant still taking part). The cells
    with the largest deficit go first, one per item and none of an item in
    ``busy`` (those the arrival gets from the sequence), and among them those
    of the modality with the largest total deficit, so the refill itself
    keeps the conditions even.

    Args:
        expected: :func:`handed_out` of the study's pointer.
        kept: the kept trials per cell.
        k: items per participant.
        busy: items the arrival may be given by the sequence.

    Returns:
        Up to ``k`` cells with distinct items (empty when nothing is missing).

    Examples:
        >>> expected = {("a", "m"): 1, ("b", "m"): 1, ("a", "v"): 1, ("b", "v"): 1}
        >>> refill_cells(expected, {("a", "m"): 1, ("b", "m"): 1, ("a", "v"): 1}, 2)
        [('b', 'v')]
    """
    deficit = {c: n - kept.get(c, 0) for c, n in expected.items() if n > kept.get(c, 0)}
    by_modality: Counter[str] = Counter()
    for (_item, modality), gap in deficit.items():
        by_modality[modality] += gap
    chosen: list[tuple[str, str]] = []
    items = set(busy)
    for cell in sorted(deficit, key=lambda c: (-deficit[c], -by_modality[c[1]], c)):
        if len(chosen) == k:
            break
        if cell[0] not in items:
            chosen.append(cell)
            items.add(cell[0])
    return chosen


def next_cells(
    item_order: Sequence[str],
    modalities: Sequence[str],
    seed: int,
    pointer: int,
    k: int,
    expected: Mapping[tuple[str, str], int],
    kept: Mapping[tuple[str, str], int],
) -> tuple[list[tuple[str, str]], int]:
    """The next arrival's ``k`` cells and the new pointer: cells that
    participants who left did not rate (:func:`refill_cells`, of items the
    next ``k`` sequence positions do not hold), then the sequence.

    Examples:
        >>> order, mods = ["a", "b", "c", "d"], ["m"]
        >>> kept = {("a", "m"): 1, ("c", "m"): 1, ("d", "m"): 1}  # b was left unrated
        >>> next_cells(order, mods, 0, 4, 1, handed_out(order, mods, 0, 4), kept)
        ([('b', 'm')], 4)
        >>> next_cells(order, mods, 0, 4, 2, handed_out(order, mods, 0, 4), kept)  # b waits: the arrival gets b from the sequence
        ([('a', 'm'), ('b', 'm')], 6)
    """
    window = {item for item, _ in assign_cells(item_order, modalities, seed, pointer, k)}
    refill = refill_cells(expected, kept, k, busy=window)
    taken = k - len(refill)
    sequence = assign_cells(item_order, modalities, seed, pointer, taken) if taken else []
    return refill + sequence, pointer + taken
