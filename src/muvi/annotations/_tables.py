"""Shared checks and reshaping of the tidy dynamic table (internal)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from muvi.data.schema import ANNOTATION_KEYS
from muvi.data.tables import require_columns
from muvi.errors import DataError

__all__ = ["ANNOTATION_KEYS", "DYNAMIC_TABLE", "check_dynamic", "item_matrices", "require_columns"]

DYNAMIC_TABLE = "the dynamic ratings"


def check_dynamic(dynamic: pd.DataFrame, dimensions: Iterable[str] = ()) -> None:
    """Check the tidy dynamic table: key columns, int samples, no duplicate sample,
    finite ratings in the given dimensions."""
    require_columns(dynamic, (*ANNOTATION_KEYS, "sample", *dimensions), DYNAMIC_TABLE)
    dup = dynamic.duplicated(subset=[*ANNOTATION_KEYS, "sample"])
    if dup.any():
        row = dynamic.loc[dup].iloc[0]
        raise DataError(
            f"duplicate sample {row['sample']} in the annotation of participant "
            f"{row['participant_id']} ({row['modality']})",
            item=str(row["media_id"]),
        )
    for dim in dimensions:
        values = pd.to_numeric(dynamic[dim], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = dynamic.loc[bad].iloc[0]
            raise DataError(
                f"{dim} of participant {row['participant_id']} ({row['modality']}) at "
                f"sample {row['sample']} is missing or not a number",
                item=str(row["media_id"]),
            )


def item_matrices(
    dynamic: pd.DataFrame, dimensions: tuple[str, ...] = ("valence", "arousal")
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]:
    """For every (item, modality): its annotators and their ratings as an
    array of shape ``(n_dimensions, n_annotators, n_samples)``.

    Only the samples that every annotator of the item and modality has are
    kept (run :func:`muvi.annotations.analysis_window` first to give all series
    the same length). Items come in order of first appearance.

    Yields:
        ``(media_id, modality, participant_ids, samples, ratings)``.
    """
    wide = dynamic.pivot(
        index=["media_id", "modality", "participant_id"],
        columns="sample",
        values=list(dimensions),
    )
    all_samples = np.sort(dynamic["sample"].unique())
    wide = wide.reindex(columns=pd.MultiIndex.from_product([list(dimensions), all_samples]))
    order = dynamic[["media_id", "modality"]].drop_duplicates()
    groups = wide.groupby(level=[0, 1], sort=False)
    for media_id, modality in order.itertuples(index=False):
        block = groups.get_group((media_id, modality))
        values = block.to_numpy(dtype=float).reshape(len(block), len(dimensions), -1)
        complete = np.isfinite(values).all(axis=(0, 1))
        participants = block.index.get_level_values("participant_id").to_numpy()
        yield (
            str(media_id),
            str(modality),
            participants,
            all_samples[complete],
            values[:, :, complete].transpose(1, 0, 2),
        )
