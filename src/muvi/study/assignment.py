"""Random but balanced assignment of (item, modality) cells to participants.

The cells of a study (every item in every modality) are laid out on a cycle:
a random permutation of the items is repeated once per modality, and each
repetition is shown in one modality (the order of the modalities is drawn
anew for every pass over the cycle). Each arriving participant takes the next
``k`` cells of the cycle. Because ``k`` consecutive positions hold ``k``
different items, nobody sees an item twice in any modality; because the
cells are handed out in turn, the number of participants per item and
modality never differs by more than one as participants arrive.

Examples:
    >>> cells = assign_cells(["a", "b", "c"], ["music", "visual"], seed=1, pointer=0, k=2)
    >>> len(cells), len({item for item, _ in cells})
    (2, 2)
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def modality_order(modalities: Sequence[str], seed: int, cycle: int) -> list[str]:
    """The order in which the modalities are shown in pass ``cycle`` over the items."""
    order = list(modalities)
    random.Random(f"{seed}:{cycle}").shuffle(order)
    return order


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
    per_cycle = n * len(modalities)
    cells = []
    for position in range(pointer, pointer + k):
        cycle, within = divmod(position, per_cycle)
        block = within // n
        cells.append((item_order[position % n], modality_order(modalities, seed, cycle)[block]))
    return cells
