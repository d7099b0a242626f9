"""The MuVi layout: the public MuVi release, a simulated study, a ``muvi study export``.

Files: ``video_urls.csv``, ``participant_data.csv``, ``media_data.csv``
(required); ``av_data.csv``, ``emobase_features/``,
``combined_visual_features.csv``, ``muvi_metadata.json`` (optional). The
reader is :func:`muvi.data.loaders.load_dataset`.
"""

from __future__ import annotations

from pathlib import Path

from muvi.data import schema
from muvi.data.dataset import MuviDataset
from muvi.data.formats import DatasetLayout, OpenOptions


def _recognise(root: Path) -> str | None:
    if (root / schema.VIDEO_URLS_FILE).is_file() or (root / schema.STATIC_FILE).is_file():
        return f"{schema.VIDEO_URLS_FILE} / {schema.STATIC_FILE}"
    return None


def _read(root: Path, options: OpenOptions) -> MuviDataset:
    from muvi.data.loaders import load_dataset

    return load_dataset(
        root,
        require_dynamic=options.require_dynamic,
        features=options.features,
        window_samples=options.window_samples,
    )


LAYOUT = DatasetLayout(
    name="muvi",
    title="MuVi release, simulated study or muvi study export",
    recognise=_recognise,
    read=_read,
    priority=10,
)
