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
    profile: str = "paper",
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
        profile: the settings' profile (``paper`` or ``reference-code``,
            :mod:`muvi.models.profiles`), recorded as ``profile``.

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
        "params": model.manifest_params(),
        "profile": profile,
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


def _existing_file(path: Path) -> Path:
    """``path``, refusing a missing file or a folder in its place."""
    if path.is_dir():
        raise BundleError(f"{path}: expected a file, found a folder")
    if not path.exists():
        raise BundleError(f"{path.parent}: not a model bundle ({path.name} is missing)")
    return path


def _read_json(path: Path, expected: type = dict) -> Any:
    """The JSON document in ``path``, which must be a ``expected`` (dict or list).

    Raises:
        BundleError: a missing file, a folder, binary or non-UTF-8 content,
            invalid JSON, or another type of document; the message names the file.
    """
    data = _existing_file(path).read_bytes()
    if not data.strip():
        raise BundleError(f"{path}: the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BundleError(
            f"{path}: not a JSON text file (undecodable byte at offset {err.start})"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise BundleError(f"{path}: unreadable JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(document, expected):
        kind = "an object" if expected is dict else "a list"
        raise BundleError(f"{path}: expected {kind}, found {type(document).__name__}")
    return document


def _field(
    document: dict[str, Any], key: str, expected: type | tuple[type, ...], path: Path
) -> Any:
    """``document[key]``, refusing a missing key or a value of another type.

    Examples:
        >>> _field({"dimension": "valence"}, "dimension", str, Path("manifest.json"))
        'valence'
        >>> _field({"dimension": 3}, "dimension", str, Path("manifest.json"))
        Traceback (most recent call last):
        ...
        muvi.errors.BundleError: manifest.json: field 'dimension' must be str, found int (3)
    """
    if key not in document:
        raise BundleError(f"{path}: field {key!r} is missing")
    value = document[key]
    if not isinstance(value, expected) or (
        isinstance(value, bool) and bool not in _types(expected)
    ):
        names = " or ".join(t.__name__ for t in _types(expected))
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise BundleError(
            f"{path}: field {key!r} must be {names}, found {type(value).__name__} ({shown})"
        )
    return value


def _types(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _configured(cls: Any, values: dict[str, Any], what: str, path: Path) -> Any:
    """``cls(**values)``, naming the manifest field when the values do not fit."""
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise BundleError(f"{path}: {what} does not fit this MuVi ({err})") from None


def _read_lasso_arrays(path: Path, n_features: int) -> tuple[np.ndarray, float, float]:
    """Coefficients, intercept and alpha from ``lasso.npz`` (plain arrays only).

    Raises:
        BundleError: a missing, empty, truncated or non-npz file, a missing
            array, or arrays of the wrong shape or with non-finite values.
    """
    _existing_file(path)
    if path.stat().st_size == 0:
        raise BundleError(f"{path}: the file is empty")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            missing = [k for k in ("coef", "intercept", "alpha") if k not in arrays.files]
            if missing:
                raise BundleError(f"{path}: the array {missing[0]!r} is missing")
            coef = np.asarray(arrays["coef"], dtype=np.float64)
            intercept = np.asarray(arrays["intercept"], dtype=np.float64)
            alpha = np.asarray(arrays["alpha"], dtype=np.float64)
    except BundleError:
        raise
    except Exception as err:  # zipfile, pickle and EOF errors of a damaged file
        raise BundleError(
            f"{path}: not a readable .npz file (truncated or damaged: {type(err).__name__})"
        ) from None
    if coef.shape != (n_features,):
        raise BundleError(
            f"{path}: 'coef' has shape {coef.shape}, expected ({n_features},) for the "
            "bundle's feature names"
        )
    if intercept.size != 1 or alpha.size != 1:
        raise BundleError(f"{path}: 'intercept' and 'alpha' must be single numbers")
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all() and np.isfinite(alpha).all()):
        raise BundleError(f"{path}: the coefficients are not all finite")
    return coef, float(intercept.reshape(())), float(alpha.reshape(()))


def _read_state_dict(path: Path) -> dict[str, Any]:
    """A PyTorch ``state_dict`` (tensors only), loaded with ``weights_only=True``.

    Raises:
        BundleError: a missing, empty, truncated or garbage file, or one that
            does not hold a mapping of names to tensors.
    """
    import torch

    _existing_file(path)
    if path.stat().st_size == 0:
        raise BundleError(f"{path}: the file is empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # EOFError, pickle and zip errors of a damaged file
        reason = str(err).strip().splitlines()[0][:80] if str(err).strip() else ""
        raise BundleError(
            f"{path}: not a readable PyTorch weights file (truncated or damaged: "
            f"{type(err).__name__}{': ' + reason if reason else ''})"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise BundleError(f"{path}: expected a state_dict (names -> tensors), found something else")
    return state


def _read_names_and_scalers(
    folder: Path, sets: tuple[str, ...]
) -> tuple[dict[str, list[str]], dict[str, MinMaxScaling]]:
    """The feature names and the scaler statistics of each feature set, checked
    against each other."""
    names_file, scalers_file = folder / FEATURES, folder / SCALERS
    names = _read_json(names_file)
    scalers = _read_json(scalers_file)
    out_names: dict[str, list[str]] = {}
    out_scalers: dict[str, MinMaxScaling] = {}
    for s in sets:
        if s not in names or s not in scalers:
            raise BundleError(f"{folder}: feature set {s!r} lacks names or scaler statistics")
        listed = names[s]
        if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
            raise BundleError(
                f"{names_file}: the names of feature set {s!r} must be a list of text"
            )
        state = scalers[s]
        try:
            scaling = MinMaxScaling.from_state(state)
        except (KeyError, TypeError, ValueError) as err:
            raise BundleError(
                f"{scalers_file}: the statistics of feature set {s!r} are malformed ({err})"
            ) from None
        for what in ("data_min_", "data_range_"):
            values = getattr(scaling, what)
            if values.shape != (len(listed),):
                raise BundleError(
                    f"{folder}: {s} feature names and scaler statistics differ in length"
                )
            if not np.isfinite(values).all():
                raise BundleError(f"{scalers_file}: {s} {what[:-1]} holds non-finite values")
        out_names[s] = list(listed)
        out_scalers[s] = scaling
    return out_names, out_scalers


def load_bundle(directory: str | Path) -> ModelBundle:
    """Load a bundle written by :func:`save_bundle`, validating every file.

    Unknown extra manifest fields are ignored (later versions may add some).

    Args:
        directory: the bundle folder.

    Returns:
        The :class:`ModelBundle`.

    Raises:
        BundleError: the folder is not a bundle, is of an unknown format
            version, a file is missing, empty, truncated, not of its format,
            replaced by a folder, lacks a field or holds one of the wrong type,
            or the files disagree with each other; the message names the file.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise BundleError(f"{folder}: model bundle folder not found")
    manifest_file = folder / MANIFEST
    manifest = _read_json(manifest_file)
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{folder}: {MANIFEST} is not a MuVi model bundle manifest")
    if manifest.get("format_version") != BUNDLE_VERSION:
        raise BundleError(
            f"{folder}: bundle format version {manifest.get('format_version')} is not supported "
            f"(this MuVi reads version {BUNDLE_VERSION})"
        )
    for key in ("target_modality", "dimension"):
        _field(manifest, key, str, manifest_file)
    architecture = _field(manifest, "architecture", str, manifest_file)
    params = _field(manifest, "params", dict, manifest_file)
    feature_sets = _field(manifest, "feature_sets", list, manifest_file)
    if not feature_sets or not all(isinstance(s, str) for s in feature_sets):
        raise BundleError(f"{manifest_file}: field 'feature_sets' must be a non-empty list of text")
    sets = tuple(feature_sets)
    names, scalers = _read_names_and_scalers(folder, sets)
    model: SequenceRegressor | LassoRegressor
    if architecture == "lasso":
        config = _field(params, "config", dict, manifest_file)
        model = LassoRegressor(
            sets, _configured(LassoConfig, config, "params.config", manifest_file)
        )
        n_features = sum(len(names[s]) for s in sets)
        model.coef_, model.intercept_, model.alpha_ = _read_lasso_arrays(
            folder / LASSO_WEIGHTS, n_features
        )
    elif architecture in estimator_classes():
        block_params = dict(_field(params, "block", dict, manifest_file))
        hidden = block_params.get("hidden")
        if not isinstance(hidden, list) or not all(isinstance(h, int) for h in hidden):
            raise BundleError(f"{manifest_file}: params.block.hidden must be a list of integers")
        block_params["hidden"] = tuple(hidden)
        if block_params.get("projection") is not None:
            # saved before the projection's activation was a field: muvi's earlier
            # --block reference, whose projection was ReLU
            block_params.setdefault("projection_activation", "relu")
        block = _configured(BlockConfig, block_params, "params.block", manifest_file)
        training_params = _field(params, "training", dict, manifest_file)
        training = _configured(TrainingConfig, training_params, "params.training", manifest_file)
        history = _field(params, "history", int, manifest_file)
        cls = estimator_classes()[architecture]
        if cls is LSTMRegressor:
            model = LSTMRegressor(sets[0], block, training, history)
        else:
            model = cls(block=block, training=training, history=history)
        net = model._build({s: len(names[s]) for s in sets})
        weights_file = folder / TORCH_WEIGHTS
        state = _read_state_dict(weights_file)
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            detail = str(err).strip().splitlines()
            reason = detail[1].strip() if len(detail) > 1 else (detail[0] if detail else "")
            raise BundleError(
                f"{weights_file}: the weights do not fit the {architecture} model of the "
                f"manifest ({reason[:120]})"
            ) from None
        net.eval()
        model.net_ = net
    else:
        raise BundleError(f"{folder}: unknown architecture {architecture!r}")
    model.scalers_ = scalers
    model.feature_names_ = names
    return ModelBundle(model=model, manifest=manifest, path=folder)
