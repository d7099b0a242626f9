"""Loading weights: checked checkpoints, state dicts, one model per process.

Examples:
    >>> state_dict_from_checkpoint({"net": {"module.fc.weight": 1}})
    {'fc.weight': 1}
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from muvi.errors import WeightsError
from muvi.features.weights.catalogue import TRUST_ENV, WeightsSpec
from muvi.features.weights.store import how_to_get, require_weights


def load_checkpoint(name: str, weights_dir: str | Path | None = None) -> tuple[Any, WeightsSpec]:
    """Verify and read a PyTorch checkpoint (never downloads).

    The file is read with ``torch.load(weights_only=True)``; only a built-in
    release whose full sha256 is registered and matches may fall back to full
    unpickling (old checkpoints that pickled extra objects), or any file when
    ``$MUVI_TRUST_WEIGHTS`` is ``1``.

    Returns:
        (the loaded object, its spec).

    Raises:
        WeightsError: missing, corrupt or unreadable.
    """
    import warnings

    import torch

    status = require_weights(name, weights_dir)
    spec = status.spec
    # Only a built-in release whose full sha256 matches may be unpickled fully; a
    # manifest's checksum was computed from the file itself and proves nothing.
    trusted = (
        spec.manifest is None
        and status.state == "present"
        and spec.sha256 is not None
        and len(spec.sha256) == 64
    ) or os.environ.get(TRUST_ENV) == "1"
    # A damaged or foreign file can fail inside the unpickler in many ways
    # (UnpicklingError, KeyError, EOFError, ...): all mean "not a checkpoint".
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            obj = torch.load(status.path, map_location="cpu", weights_only=True)
        except Exception as err:
            if not trusted:
                reason = (str(err).splitlines() or [type(err).__name__])[0][:160]
                raise WeightsError(
                    f"weights {name!r} at {status.path} cannot be read safely as a PyTorch "
                    f"checkpoint ({reason}); {how_to_get(spec, weights_dir)} (or, if you trust "
                    f"this file, set {TRUST_ENV}=1 to allow full unpickling)"
                ) from None
            obj = torch.load(status.path, map_location="cpu", weights_only=False)
    return obj, spec


def state_dict_from_checkpoint(obj: Any, *, keys: Iterable[str] = ("state_dict", "net")) -> dict:
    """The state dict inside a checkpoint, with DataParallel ``module.`` prefixes removed.

    Released checkpoints wrap their tensors differently: Places365 saves
    ``{"state_dict": {"module.conv1.weight": ...}, "epoch": ...}``, the FER2013
    VGG19 ``{"net": {...}, "acc": ...}``, I3D a bare state dict.

    Examples:
        >>> import torch
        >>> sd = state_dict_from_checkpoint({"state_dict": {"module.fc.bias": torch.zeros(2)}})
        >>> list(sd)
        ['fc.bias']
    """
    state = obj
    if isinstance(obj, Mapping):
        for key in keys:
            if key in obj and (isinstance(obj[key], Mapping) or hasattr(obj[key], "state_dict")):
                state = obj[key]
                break
    if hasattr(state, "state_dict") and not isinstance(state, Mapping):
        state = state.state_dict()
    if not isinstance(state, Mapping):
        raise TypeError(f"no state dict in a checkpoint of type {type(obj).__name__}")
    out = {}
    for key, value in state.items():
        out[key[len("module.") :] if key.startswith("module.") else key] = value
    return out


def load_into(model: Any, state: Mapping[str, Any], spec: WeightsSpec) -> Any:
    """Load ``state`` into ``model``, tolerating only absent BatchNorm counters.

    Raises:
        WeightsError: keys or shapes do not match the architecture (wrong file or config).
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong_shape:
        detail = []
        if missing:
            detail.append(f"missing keys {missing[:3]}")
        if unexpected:
            detail.append(f"unexpected keys {unexpected[:3]}")
        if wrong_shape:
            detail.append(f"shape mismatch at {wrong_shape[:3]}")
        raise WeightsError(
            f"weights {spec.name!r} do not fit the {spec.architecture} architecture with "
            f"config {dict(spec.config)}: {'; '.join(detail)}"
        )
    model.load_state_dict(state, strict=False)
    return model


_MODELS: dict[tuple[str, str | None, str], Any] = {}
_MODELS_KEPT: Final = 8


def load_model(
    name: str,
    weights_dir: str | Path | None,
    build: Callable[[WeightsSpec, Any], Any],
) -> Any:
    """Verify, load and build a network once per process (then reuse it).

    Args:
        name: weights name.
        weights_dir: the weights folder.
        build: ``build(spec, checkpoint) -> model`` (builds the architecture
            from ``spec.config`` and loads the checkpoint into it).

    Returns:
        The model, in eval mode when it is a torch module.

    Raises:
        WeightsError: missing, corrupt, unreadable or mismatching weights.
    """
    status = require_weights(name, weights_dir)
    key = (str(status.path), status.sha256, f"{build.__module__}.{build.__qualname__}")
    if key not in _MODELS:
        checkpoint, spec = load_checkpoint(name, weights_dir)
        model = build(spec, checkpoint)
        if hasattr(model, "eval"):
            model.eval()
        if len(_MODELS) >= _MODELS_KEPT:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = model
    return _MODELS[key]
