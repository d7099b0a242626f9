"""The study's cross-validation folds (Chua et al. 2022, section 5).

The items in ``video_urls.csv`` order are split by ``KFold(5, shuffle=True,
random_state=42)``; each fold's held-out items are split in half by
``train_test_split(random_state=42, test_size=0.5)``, the first half for
validation (early stopping) and the second for testing, as the published
reference code does.

A small study (a few songs of a music dataset) cannot always take five such
folds: :func:`fold_plan` keeps the paper's five folds whenever every fold can
hold out at least one validation and one test item (10 items or more), and
otherwise uses as many folds as allow that (``n // 2``, at least 2), with a
note saying what was used.

Examples:
    >>> folds = cv_folds([f"item{i}" for i in range(10)])
    >>> len(folds), len(folds[0].train), len(folds[0].validation), len(folds[0].test)
    (5, 8, 1, 1)
    >>> fold_plan(6).n_splits
    3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.model_selection import KFold, train_test_split

from muvi.errors import DataError

N_FOLDS: int = 5
RANDOM_STATE: int = 42
PAPER_HELD_OUT: int = 4
"""Validation and test items each that a fold of the paper's size holds out
at the least (5 folds of the MuVi items: about 8 held out, half each)."""
MIN_ITEMS: int = 4
"""The fewest items that folds can be made of: 2 folds, each training on 2
items and holding out 1 validation and 1 test item."""


@dataclass(frozen=True)
class FoldPlan:
    """How many folds a study of ``n_items`` takes, and what to say about it.

    Attributes:
        n_items: the items to split.
        n_splits: the folds used.
        note: one sentence naming the folds and their sizes when they differ
            from the paper's (fewer folds, or folds that validate or test on
            fewer than :data:`PAPER_HELD_OUT` items); empty otherwise.
    """

    n_items: int
    n_splits: int
    note: str = ""


def fold_plan(n_items: int, n_splits: int = N_FOLDS) -> FoldPlan:
    """The folds for ``n_items``: the paper's 5 when each can hold out one
    validation and one test item, else ``n_items // 2`` folds (at least 2).

    Raises:
        DataError: fewer than :data:`MIN_ITEMS` items.

    Examples:
        >>> plan = fold_plan(10)
        >>> plan.n_splits, plan.note.split(":")[0]
        (5, '10 items')
        >>> fold_plan(81).note
        ''
    """
    if n_items < MIN_ITEMS:
        raise DataError(
            f"{n_items} items are too few for cross-validation (at least {MIN_ITEMS}: "
            "2 folds with training, validation and test items)"
        )
    used = min(n_splits, n_items // 2)
    held = n_items // used
    sizes = (
        f"{used} folds of about {n_items - held} training, {held // 2} validation and "
        f"{held - held // 2} test item(s)"
    )
    if used == n_splits and held // 2 >= PAPER_HELD_OUT:
        return FoldPlan(n_items, used)
    reason = (
        f"fewer than the paper's {n_splits} folds, since each fold must hold out at least "
        "one validation and one test item"
        if used < n_splits
        else f"the paper's {n_splits} folds, but each validates (early stopping) and tests on "
        "so few items that each fold's scores rest on one or two of them"
    )
    return FoldPlan(n_items, used, f"{n_items} items: {sizes} ({reason}).")


@dataclass(frozen=True)
class Fold:
    """One outer fold: the items that train, stop early and test its models."""

    index: int
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def study_folds(items: Sequence[str], random_state: int = RANDOM_STATE) -> list[Fold]:
    """:func:`cv_folds` with the number of folds of :func:`fold_plan`
    (the paper's 5 for 10 items or more)."""
    return cv_folds(items, fold_plan(len(items)).n_splits, random_state)


def cv_folds(
    items: Sequence[str], n_splits: int = N_FOLDS, random_state: int = RANDOM_STATE
) -> list[Fold]:
    """The outer folds over items in cross-validation order.

    Args:
        items: media ids in ``video_urls.csv`` order.
        n_splits: number of folds (the study: 5).
        random_state: seed of both splits (the study: 42).

    Returns:
        One :class:`Fold` per split; every item is a test item exactly once
        or a validation item exactly once.

    Raises:
        DataError: too few items for the folds, or duplicate items.
    """
    items = list(items)
    if len(set(items)) != len(items):
        raise DataError("duplicate media ids in the item list")
    if len(items) < 2 * n_splits:
        raise DataError(
            f"{len(items)} items are too few for {n_splits} folds with validation and test items"
        )
    folds = []
    splitter = KFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    for k, (train_idx, held_idx) in enumerate(splitter.split(items)):
        validation_idx, test_idx = train_test_split(
            held_idx, random_state=random_state, test_size=0.5
        )
        folds.append(
            Fold(
                index=k,
                train=tuple(items[i] for i in train_idx),
                validation=tuple(items[i] for i in validation_idx),
                test=tuple(items[i] for i in test_idx),
            )
        )
    return folds
