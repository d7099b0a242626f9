"""A new music video -> valence/arousal curves at 2 Hz, per modality.

:func:`predict_video` extracts the features that the saved model bundles
need (once, for all of them), runs each bundle, and returns one curve per
target modality (``music``, ``visual``, ``audiovisual``) and dimension, as
written by ``muvi predict``: ``curves.csv``, ``curves.json`` and
``curves.png``.

Bundles are the folders written by ``muvi train``
(:func:`muvi.models.bundle.save_bundle`). When several bundles predict the
same modality and dimension (e.g. the audiovisual ratings from audio, from
visual, A1, A2 and PAIR), the richest model is used: PAIR, then A2 (late
fusion), A1 (early fusion), an LSTM, LASSO; the choice is recorded in
``curves.json``.

The first 4 samples of every curve are empty (NaN in the CSV, null in the
JSON): the models predict a rating from the 2 s of features before it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from muvi.data.schema import (
    DIMENSIONS,
    MODALITIES,
    SAMPLE_PERIOD_S,
    emobase_feature_names,
    visual_feature_family,
)
from muvi.display import escape_mathtext
from muvi.errors import BundleError

ARCHITECTURE_PREFERENCE = ("pair", "late_fusion", "early_fusion", "lstm", "lasso")
"""Which bundle predicts a modality and dimension when several could."""

CURVES_CSV = "curves.csv"
CURVES_JSON = "curves.json"
CURVES_PNG = "curves.png"


@dataclass
class CurveModel:
    """The bundle chosen for one curve."""

    column: str
    """``<modality>_<dimension>``, e.g. ``music_valence``."""
    bundle: Any
    """A :class:`muvi.models.bundle.ModelBundle`."""

    @property
    def name(self) -> str:
        return str(self.bundle.manifest.get("name", self.bundle.path.name))


def find_bundles(model_dir: str | Path) -> list[Path]:
    """The bundle folders in ``model_dir`` (itself a bundle, or a folder of bundles).

    Raises:
        BundleError: no bundle there.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        problem = (
            "expected a model folder, found a file" if folder.exists() else "model folder not found"
        )
        raise BundleError(f"{folder}: {problem}")
    if (folder / "manifest.json").exists():
        return [folder]
    found = sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file())
    if not found:
        raise BundleError(
            f"{folder}: no model bundles here (folders with a manifest.json, written by `muvi train`)"
        )
    return found


def choose_models(bundles: Sequence[Any]) -> list[CurveModel]:
    """One bundle per target modality and dimension, by :data:`ARCHITECTURE_PREFERENCE`
    (then the one reading more feature sets, then the name), in modality then
    dimension order."""
    rank = {a: i for i, a in enumerate(ARCHITECTURE_PREFERENCE)}
    best: dict[tuple[str, str], Any] = {}

    def key(b: Any) -> tuple[int, int, str]:
        return (
            rank.get(str(b.manifest.get("architecture")), len(rank)),
            -len(b.manifest.get("feature_sets", ())),
            b.path.name,
        )

    for bundle in bundles:
        slot = (bundle.target_modality, bundle.dimension)
        if slot not in best or key(bundle) < key(best[slot]):
            best[slot] = bundle
    order = {(m, d): i for i, (m, d) in enumerate((m, d) for m in MODALITIES for d in DIMENSIONS)}
    chosen = sorted(best.items(), key=lambda kv: order.get(kv[0], len(order)))
    return [CurveModel(f"{m}_{d}", b) for (m, d), b in chosen]


def needed_families(columns: Sequence[str], bundle_name: str = "the model") -> list[str]:
    """The feature families (extractor names) that produce ``columns``.

    Examples:
        >>> needed_families(["pcm_intensity_sma_max", "colour__hue_00", "lighting__key"])
        ['audio', 'colour', 'lighting']

    Raises:
        BundleError: a column that no extractor produces.
    """
    audio = set(emobase_feature_names())
    families: list[str] = []
    for column in columns:
        family = "audio" if column in audio else visual_feature_family(column)
        if family == "other":
            raise BundleError(
                f"bundle {bundle_name}: feature column {column!r} is produced by no feature extractor"
            )
        if family not in families:
            families.append(family)
    from muvi.features.registry import family_names

    return [f for f in family_names() if f in families]


def predict_video(
    video: str | Path,
    model_dir: str | Path,
    *,
    start: float | None = None,
    out_dir: str | Path | None = None,
    weights_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Valence/arousal curves of a video at 2 Hz for each modality with a bundle.

    Args:
        video: the video file (an audio file works for music-only bundles).
        model_dir: a bundle folder, or a folder of bundles (``muvi train --out``).
        start: where the music starts (s); None finds it in the audio.
        out_dir: when given, ``curves.csv``, ``curves.json`` and ``curves.png``
            are written there.
        weights_dir: pretrained weights for the visual extractors that need them.

    Returns:
        Columns ``sample``, ``time`` (s from the excerpt start), then
        ``<modality>_<dimension>`` per available bundle (music, visual,
        audiovisual; valence then arousal), values in [-1, 1], NaN for the
        first 4 samples.

    Raises:
        BundleError: no bundle, an unreadable one, or features that do not match it.
        DataError: an unreadable video or a missing stream.
        WeightsError: weights that a needed extractor lacks.
    """
    from muvi.features.batch import extract_video
    from muvi.models.bundle import load_bundle

    bundles = [load_bundle(p) for p in find_bundles(model_dir)]
    models = choose_models(bundles)
    families: list[str] = []
    for m in models:
        for family in needed_families(m.bundle.feature_columns, m.name):
            if family not in families:
                families.append(family)
    extracted = extract_video(video, features=families, start=start, weights_dir=weights_dir)
    table = extracted.table()
    n = len(table)
    curves = pd.DataFrame(
        {"sample": np.arange(n, dtype="int64"), "time": np.arange(n) * SAMPLE_PERIOD_S}
    )
    for m in models:
        predicted = m.bundle.predict_frame(table[m.bundle.feature_columns])
        curves[m.column] = predicted.reindex(range(n)).to_numpy(dtype="float64")
    if out_dir is not None:
        write_curves(
            curves,
            out_dir,
            video=Path(video),
            start=extracted.start,
            models=models,
            notes=extracted.notes,
        )
    return curves


def write_curves(
    curves: pd.DataFrame,
    out_dir: str | Path,
    *,
    video: Path,
    start: float,
    models: Sequence[CurveModel],
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """Write ``curves.csv``, ``curves.json`` and ``curves.png``.

    Returns:
        File kind (``csv``, ``json``, ``png``) -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    simulated = any(bool(m.bundle.manifest.get("simulated")) for m in models)
    paths = {"csv": out / CURVES_CSV, "json": out / CURVES_JSON, "png": out / CURVES_PNG}
    curves.to_csv(paths["csv"], index=False)

    def clean(values: pd.Series) -> list[float | None]:
        return [None if not math.isfinite(v) else float(v) for v in values.astype(float)]

    payload = {
        "video": str(video),
        "excerpt_start_s": start,
        "sample_period_s": SAMPLE_PERIOD_S,
        "models": {
            m.column: {
                "bundle": m.name,
                "architecture": m.bundle.manifest.get("architecture"),
                "feature_sets": m.bundle.manifest.get("feature_sets"),
                "trained_on_simulated_data": bool(m.bundle.manifest.get("simulated")),
            }
            for m in models
        },
        "trained_on_simulated_data": simulated,
        "notes": list(notes),
        "sample": curves["sample"].astype(int).tolist(),
        "time": curves["time"].astype(float).tolist(),
        "curves": {m.column: clean(curves[m.column]) for m in models},
    }
    paths["json"].write_text(json.dumps(payload, indent=1), encoding="utf-8")
    _plot_curves(curves, paths["png"], title=video.name, simulated=simulated)
    return paths


def _plot_curves(curves: pd.DataFrame, path: Path, *, title: str, simulated: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"music": "tab:blue", "visual": "tab:orange", "audiovisual": "tab:green"}
    fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for ax, dimension in zip(axes, DIMENSIONS, strict=True):
        ax.axhline(0, color="0.7", lw=0.8)
        for modality in MODALITIES:
            column = f"{modality}_{dimension}"
            if column in curves:
                ax.plot(curves["time"], curves[column], label=modality, color=colours[modality])
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel(dimension)
        if ax.lines[1:]:  # the zero line is not a curve
            ax.legend(loc="upper right", fontsize=8, ncols=3)
    axes[-1].set_xlabel("time in the excerpt (s)")
    heading = f"predicted valence and arousal: {escape_mathtext(title)}"
    if simulated:
        heading += "\n(models trained on SIMULATED data: not the real study)"
    fig.suptitle(heading, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
