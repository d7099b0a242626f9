"""Pretrained weights: a local folder, a catalogue of known releases, checked loading.

Three modules, one concern each:

* :mod:`muvi.features.weights.catalogue`: the known releases
  (:data:`KNOWN_WEIGHTS`), the weights folder and its manifests;
* :mod:`muvi.features.weights.store`: checksums, the state of each file,
  fetching (``muvi weights fetch``) and registering a local file;
* :mod:`muvi.features.weights.loading`: checked loading of a checkpoint into a
  network, one model per process.

Everything is re-exported here (``from muvi.features import weights as wts``).
The small randomly initialised test models live in :mod:`muvi.testing`.

Examples:
    >>> KNOWN_WEIGHTS["places365-resnet50"].family
    'scenes'
"""

from muvi.features.weights.catalogue import (
    KNOWN_WEIGHTS,
    MANIFEST_SUFFIX,
    TRUST_ENV,
    WEIGHTS_ENV,
    ProgressCallback,
    WeightsSpec,
    WeightsState,
    default_weights_dir,
    fetch_command,
    get_spec,
    known_weights,
    resolve_weights_dir,
    spec_as_dict,
)
from muvi.features.weights.loading import (
    load_checkpoint,
    load_into,
    load_model,
    state_dict_from_checkpoint,
)
from muvi.features.weights.store import (
    WeightsStatus,
    fetch_weights,
    file_sha256,
    list_weights,
    register_weights_file,
    require_weights,
    sha256_matches,
    weights_status,
)

__all__ = [
    "KNOWN_WEIGHTS",
    "MANIFEST_SUFFIX",
    "TRUST_ENV",
    "WEIGHTS_ENV",
    "ProgressCallback",
    "WeightsSpec",
    "WeightsState",
    "WeightsStatus",
    "default_weights_dir",
    "fetch_command",
    "fetch_weights",
    "file_sha256",
    "get_spec",
    "known_weights",
    "list_weights",
    "load_checkpoint",
    "load_into",
    "load_model",
    "register_weights_file",
    "require_weights",
    "resolve_weights_dir",
    "sha256_matches",
    "spec_as_dict",
    "state_dict_from_checkpoint",
    "weights_status",
]
