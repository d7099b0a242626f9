"""The study's cross-validation folds (Chua et al. 2022, section 5).

The items in ``video_urls.csv`` order are split by ``KFold(5, shuffle=True,
random_state=42)``; each fold's held-out items are split in half by
``train_test_split(random_state=42, test_size=0.5)``, the first half for
validation (early stopping) and the second for testing, as the published
reference code does.

Examples:
    >>> folds = cv_folds([f"item{i}" for i in range(10)])
    >>> len(folds), len(folds[0].train), len(folds[0].validation), len(folds[0].test)
    (5, 8, 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.model_selection import KFold, train_test_split

from muvi.errors import DataError

N_FOLDS: int = 5
RANDOM_STATE: int = 42


@dataclass(frozen=True)
class Fold:
    """One outer fold: the items that train, stop early and test its models."""

    index: int
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


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
