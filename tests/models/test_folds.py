"""The outer folds, against scikit-learn called directly on the real item list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, train_test_split

from muvi.errors import DataError
from muvi.models.folds import cv_folds


def test_folds_match_scikit_learn_on_the_real_item_list(muvi_dir):
    items = pd.read_csv(muvi_dir / "video_urls.csv")["video_id"].str.strip().tolist()
    assert len(items) == 81
    folds = cv_folds(items)
    expected = []
    for train_idx, held_idx in KFold(n_splits=5, shuffle=True, random_state=42).split(
        np.arange(81)
    ):
        val_idx, test_idx = train_test_split(held_idx, random_state=42, test_size=0.5)
        expected.append((train_idx, val_idx, test_idx))
    assert len(folds) == 5
    for fold, (train_idx, val_idx, test_idx) in zip(folds, expected, strict=True):
        assert list(fold.train) == [items[i] for i in train_idx]
        assert list(fold.validation) == [items[i] for i in val_idx]
        assert list(fold.test) == [items[i] for i in test_idx]
        assert not set(fold.train) & set(fold.test)
        assert not set(fold.train) & set(fold.validation)
        assert not set(fold.validation) & set(fold.test)
    # every item is held out exactly once; 81 = 16*4 + 17 held-out items
    held = [m for f in folds for m in f.validation + f.test]
    assert sorted(held) == sorted(items)
    assert sorted(len(f.validation) + len(f.test) for f in folds) == [16, 16, 16, 16, 17]


def test_too_few_or_duplicate_items_are_refused():
    with pytest.raises(DataError, match="too few"):
        cv_folds(["a", "b", "c"])
    with pytest.raises(DataError, match="duplicate"):
        cv_folds(["a"] * 12)
