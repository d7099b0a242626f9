"""Saved models: one self-describing folder per model.

A bundle holds ``manifest.json`` (architecture, target modality and dimension,
configuration, package versions, file list), ``features.json`` (feature names
per feature set, in input order), ``scalers.json`` (the min-max statistics of
the training items) and the weights: ``weights.pt`` (a PyTorch
``state_dict``, loaded with ``weights_only=True``) for the LSTM models, or
``lasso.npz`` (coefficients, intercept, alpha: plain arrays rather than a
pickle, so loading a bundle never runs code) for LASSO.

:func:`load_bundle` returns a :class:`ModelBundle` whose
:meth:`ModelBundle.predict_frame` takes the features of one item as a
DataFrame indexed by (``media_id``, ``sample``) (or by ``sample``) with
exactly the bundle's columns in the bundle's order, and refuses anything else
with a :class:`muvi.errors.BundleError` naming the difference.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from muvi.errors import BundleError
from muvi.models.architectures import estimator_classes
from muvi.models.lasso import LassoConfig, LassoRegressor
from muvi.models.lstm import (
    BlockConfig,
    LSTMRegressor,
    SequenceRegressor,
)
from muvi.models.training import TrainingConfig
from muvi.models.windows import MinMaxScaling, SeriesSet

BUNDLE_FORMAT = "muvi-model-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
FEATURES = "features.json"
SCALERS = "scalers.json"
TORCH_WEIGHTS = "weights.pt"
LASSO_WEIGHTS = "lasso.npz"

_SEQUENCE_CLASSES: dict[str, type[SequenceRegressor]] = estimator_classes()


def bundle_name(target_modality: str, dimension: str, architecture: str) -> str:
    """The folder name ``muvi train`` uses, e.g. ``music_arousal_lstm``.

    Examples:
        >>> bundle_name("audiovisual", "arousal", "late_fusion")
        'audiovisual_arousal_late_fusion'
    """
    return f"{target_modality}_{dimension}_{architecture}"


def _versions() -> dict[str, str]:
    import scipy
    import sklearn
    import torch

    import muvi

    return {
        "muvi": muvi.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }


def save_bundle(
    model: SequenceRegressor | LassoRegressor,
    directory: str | Path,
    *,
    target_modality: str,
    dimension: str,
    simulated: bool = False,
    trained_on: Sequence[str] = (),
    notes: str = "",
    name: str | None = None,
) -> Path:
    """Save a fitted model as a self-describing folder.

    Args:
        model: a fitted LSTM, A1, A2, PAIR or LASSO estimator.
        directory: the bundle folder (created; files inside are replaced).
        target_modality: the ratings it predicts (``music``, ``visual``, ``audiovisual``).
        dimension: ``valence`` or ``arousal``.
        simulated: True when trained on a simulated study (recorded in the manifest).
        trained_on: media ids of the items whose ratings trained it.
        notes: free text kept in the manifest.
        name: the bundle's name (default :func:`bundle_name`).

    Returns:
        The folder.
    """
    if not hasattr(model, "scalers_"):
        raise BundleError(f"cannot save an unfitted {type(model).__name__}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"features": FEATURES, "scalers": SCALERS}
    (folder / FEATURES).write_text(json.dumps(model.feature_names_, indent=1), encoding="utf-8")
    (folder / SCALERS).write_text(
        json.dumps({s: sc.state() for s, sc in model.scalers_.items()}), encoding="utf-8"
    )
    extra: dict[str, Any] = {}
    if isinstance(model, LassoRegressor):
        np.savez(
            folder / LASSO_WEIGHTS,
            coef=model.coef_,
            intercept=np.array(model.intercept_),
            alpha=np.array(model.alpha_),
        )
        files["weights"] = LASSO_WEIGHTS
    else:
        import torch

        assert model.net_ is not None
        torch.save(model.net_.state_dict(), folder / TORCH_WEIGHTS)
        files["weights"] = TORCH_WEIGHTS
        extra["training_history"] = {
            "epochs": model.history_.epochs,
            "best_epoch": model.history_.best_epoch,
            "train_loss": model.history_.train_loss,
            "validation_loss": model.history_.validation_loss,
        }
        # the precision the matrix products were trained in (prediction may use either)
        extra["precision"] = getattr(model.history_, "precision", "float32")
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "name": name or bundle_name(target_modality, dimension, model.architecture),
        "architecture": model.architecture,
        "target_modality": target_modality,
        "dimension": dimension,
        "feature_sets": list(model.feature_sets),
        "n_features": {s: len(n) for s, n in model.feature_names_.items()},
        "params": model.get_params(),
        "files": files,
        "versions": _versions(),
        "simulated": bool(simulated),
        "trained_on": list(trained_on),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "notes": notes,
        **extra,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return folder


@dataclass
class ModelBundle:
    """A loaded bundle: the estimator and its manifest.

    Attributes:
        model: the fitted estimator.
        manifest: the contents of ``manifest.json``.
        path: the folder it came from.
    """

    model: SequenceRegressor | LassoRegressor
    manifest: dict[str, Any]
    path: Path

    @property
    def target_modality(self) -> str:
        return str(self.manifest["target_modality"])

    @property
    def dimension(self) -> str:
        return str(self.manifest["dimension"])

    @property
    def feature_columns(self) -> list[str]:
        """The input columns, in order: each feature set's names, sets in the model's order."""
        names = self.model.feature_names_
        return [n for s in self.model.feature_sets for n in names[s]]

    def check_columns(self, columns: Iterable[Any]) -> None:
        """Raise :class:`BundleError` naming how ``columns`` differ from the bundle's."""
        expected = self.feature_columns
        given = [str(c) for c in columns]
        if given == expected:
            return
        where = f"bundle {self.path.name}"
        missing = [c for c in expected if c not in set(given)]
        unexpected = [c for c in given if c not in set(expected)]
        if missing:
            raise BundleError(
                f"{where}: the input lacks {len(missing)} of the model's {len(expected)} feature "
                f"columns (first: {missing[0]!r})"
            )
        if unexpected:
            raise BundleError(
                f"{where}: the input has {len(unexpected)} feature columns the model was not "
                f"trained on (first: {unexpected[0]!r})"
            )
        if len(given) != len(expected):
            raise BundleError(
                f"{where}: the input has {len(given)} feature columns, the model expects "
                f"{len(expected)} (some are repeated)"
            )
        pos = next(i for i, (a, b) in enumerate(zip(given, expected, strict=True)) if a != b)
        raise BundleError(
            f"{where}: feature columns are in a different order: position {pos} is "
            f"{given[pos]!r}, the model expects {expected[pos]!r}"
        )

    def predict_frame(self, features: pd.DataFrame) -> pd.Series:
        """Predict the rating curve of one item.

        Args:
            features: one item's features, indexed by (``media_id``, ``sample``)
                or by ``sample`` (consecutive 2 Hz samples), with exactly
                :attr:`feature_columns` as columns, in that order (for a fusion
                model, the audio columns then the visual columns).

        Returns:
            The predicted ``dimension`` indexed by ``sample``; the first 4
            samples are NaN (no complete 2 s window precedes them).

        Raises:
            BundleError: the columns differ from the bundle's, the frame holds
                several items, samples are not consecutive, or a value is not finite.
        """
        self.check_columns(features.columns)
        where = f"bundle {self.path.name}"
        index = features.index
        if isinstance(index, pd.MultiIndex):
            if "sample" not in index.names or "media_id" not in index.names:
                raise BundleError(f"{where}: features must be indexed by (media_id, sample)")
            items = index.get_level_values("media_id").unique()
            if len(items) != 1:
                raise BundleError(
                    f"{where}: the features hold {len(items)} items; predict one item at a time"
                )
            samples = index.get_level_values("sample").to_numpy()
        else:
            samples = index.to_numpy()
        try:
            samples = samples.astype(np.int64)
        except (TypeError, ValueError) as err:
            raise BundleError(f"{where}: the sample index is not integer") from err
        order = np.argsort(samples, kind="stable")
        samples = samples[order]
        if samples.size and np.any(np.diff(samples) != 1):
            gap = int(np.flatnonzero(np.diff(samples) != 1)[0])
            raise BundleError(
                f"{where}: samples must be consecutive, but sample {samples[gap]} is followed "
                f"by {samples[gap + 1]}"
            )
        values = features.to_numpy(dtype=np.float64)[order]
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise BundleError(
                f"{where}: feature {features.columns[col]!r} is not finite at sample {samples[row]}"
            )
        split: dict[str, np.ndarray] = {}
        start = 0
        for s in self.model.feature_sets:
            width = len(self.model.feature_names_[s])
            split[s] = values[None, :, start : start + width].astype(np.float32)
            start += width
        data = SeriesSet(
            items=["item"],
            features=split,
            targets=np.full((1, samples.size), np.nan, dtype=np.float32),
            feature_names=self.model.feature_names_,
            samples=samples,
        )
        pred = self.model.predict(data)[0]
        return pd.Series(pred, index=pd.Index(samples, name="sample"), name=self.dimension)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """:meth:`predict_frame` as a numpy array."""
        return self.predict_frame(features).to_numpy()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BundleError(f"{path.parent}: not a model bundle ({path.name} is missing)") from err
    except json.JSONDecodeError as err:
        raise BundleError(f"{path}: unreadable JSON ({err.msg} at line {err.lineno})") from err


def load_bundle(directory: str | Path) -> ModelBundle:
    """Load a bundle written by :func:`save_bundle`.

    Args:
        directory: the bundle folder.

    Returns:
        The :class:`ModelBundle`.

    Raises:
        BundleError: the folder is not a bundle, is of an unknown format
            version, or its files disagree with each other.
    """
    folder = Path(directory)
    manifest = _read_json(folder / MANIFEST)
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{folder}: {MANIFEST} is not a MuVi model bundle manifest")
    if manifest.get("format_version") != BUNDLE_VERSION:
        raise BundleError(
            f"{folder}: bundle format version {manifest.get('format_version')} is not supported "
            f"(this MuVi reads version {BUNDLE_VERSION})"
        )
    names = _read_json(folder / FEATURES)
    scalers = _read_json(folder / SCALERS)
    params = manifest["params"]
    architecture = manifest["architecture"]
    sets = tuple(manifest["feature_sets"])
    for s in sets:
        if s not in names or s not in scalers:
            raise BundleError(f"{folder}: feature set {s!r} lacks names or scaler statistics")
        if len(names[s]) != len(scalers[s]["data_min"]):
            raise BundleError(f"{folder}: {s} feature names and scaler statistics differ in length")
    model: SequenceRegressor | LassoRegressor
    if architecture == "lasso":
        model = LassoRegressor(sets, LassoConfig(**params["config"]))
        try:
            weights = np.load(folder / LASSO_WEIGHTS, allow_pickle=False)
        except FileNotFoundError as err:
            raise BundleError(f"{folder}: {LASSO_WEIGHTS} is missing") from err
        model.coef_ = np.asarray(weights["coef"], dtype=np.float64)
        model.intercept_ = float(weights["intercept"])
        model.alpha_ = float(weights["alpha"])
    elif architecture in _SEQUENCE_CLASSES:
        import torch

        block_params = dict(params["block"])
        block_params["hidden"] = tuple(block_params["hidden"])
        block = BlockConfig(**block_params)
        training = TrainingConfig(**params["training"])
        cls = _SEQUENCE_CLASSES[architecture]
        if cls is LSTMRegressor:
            model = LSTMRegressor(sets[0], block, training, params["history"])
        else:
            model = cls(block=block, training=training, history=params["history"])
        net = model._build({s: len(names[s]) for s in sets})
        try:
            state = torch.load(folder / TORCH_WEIGHTS, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except FileNotFoundError as err:
            raise BundleError(f"{folder}: {TORCH_WEIGHTS} is missing") from err
        except RuntimeError as err:
            raise BundleError(f"{folder}: the weights do not fit the {architecture} model") from err
        net.eval()
        model.net_ = net
    else:
        raise BundleError(f"{folder}: unknown architecture {architecture!r}")
    model.scalers_ = {s: MinMaxScaling.from_state(scalers[s]) for s in sets}
    model.feature_names_ = {s: list(names[s]) for s in sets}
    return ModelBundle(model=model, manifest=manifest, path=folder)
