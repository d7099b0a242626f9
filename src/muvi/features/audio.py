"""Audio features: openSMILE emobase functionals per 500 ms window.

The study describes each non-overlapping 500 ms window of the excerpt's
audio with the 988 emobase functionals of openSMILE. openSMILE's licence allows
non-commercial and research use only: the first extraction in a process says so
(:func:`opensmile_licence_notice`). The columns are
:func:`muvi.data.schema.emobase_feature_names` in order, the same as
:func:`muvi.data.loaders.load_emobase` gives for the published files, so
extracted and published features are interchangeable.

Examples:
    >>> import numpy as np
    >>> sr = 16000
    >>> signal = 0.3 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)
    >>> table = emobase_windows(signal, sr)
    >>> table.shape
    (2, 988)
    >>> table.columns[0], table.index.name
    ('pcm_intensity_sma_max', 'sample')
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from muvi.data.schema import SAMPLE_PERIOD_S, emobase_feature_names
from muvi.features.excerpt import ExcerptMedia
from muvi.features.registry import Extractor, register

logger = logging.getLogger(__name__)

OPENSMILE_LICENCE_NOTICE = (
    "openSMILE, which computes the emobase audio features, is licensed by audEERING "
    "for non-commercial use only (teaching, academic research, personal use) and for "
    "commercial research under the conditions of its licence (section B); any other "
    "commercial use needs a licence from audEERING GmbH. See 'Licences of dependencies "
    "and weights' in muvi's getting-started guide (docs/getting-started.md)."
)
"""What muvi says, once per process, the first time it runs openSMILE (its licence
is the audEERING Research License Agreement shipped with the ``opensmile`` package)."""

_notice_given = False


def opensmile_licence_notice() -> bool:
    """Log :data:`OPENSMILE_LICENCE_NOTICE` as a warning on the ``muvi.features.audio``
    logger, the first time only in this process.

    Returns:
        True when this call logged it, False when it had been logged before.
    """
    global _notice_given
    if _notice_given:
        return False
    _notice_given = True
    logger.warning(OPENSMILE_LICENCE_NOTICE)
    return True


@lru_cache(maxsize=1)
def _smile() -> Any:
    import opensmile

    opensmile_licence_notice()

    return opensmile.Smile(
        feature_set=opensmile.FeatureSet.emobase,
        feature_level=opensmile.FeatureLevel.Functionals,
    )


def emobase_windows(audio: np.ndarray, sr: int, window_s: float = SAMPLE_PERIOD_S) -> pd.DataFrame:
    """emobase functionals of each complete non-overlapping window.

    Args:
        audio: mono samples, shape (n,), floats in [-1, 1].
        sr: sample rate (Hz).
        window_s: window length (s); the study's 500 ms by default.

    Returns:
        DataFrame indexed by ``sample`` (0, 1, ...; one per complete window),
        988 columns named as :func:`muvi.data.schema.emobase_feature_names`.
    """
    names = list(emobase_feature_names())
    hop = round(window_s * sr)
    n = len(audio) // hop
    if n == 0:
        return pd.DataFrame(columns=names, index=pd.RangeIndex(0, name="sample"), dtype="float64")
    starts = pd.to_timedelta(np.arange(n) * hop / sr, unit="s")
    ends = pd.to_timedelta((np.arange(n) + 1) * hop / sr, unit="s")
    index = pd.MultiIndex.from_arrays([starts, ends], names=["start", "end"])
    signal = np.asarray(audio[: n * hop], dtype=np.float32)
    table = _smile().process_signal_from_index(signal, sr, index)
    table = table[names].astype("float64")
    table.index = pd.RangeIndex(n, name="sample")
    return table


def _run(media: ExcerptMedia) -> pd.DataFrame:
    if media.audio is None:
        raise RuntimeError("the audio extractor needs the excerpt's audio")
    return emobase_windows(media.audio, media.sr)


AUDIO = register(
    Extractor(
        name="audio",
        family="audio",
        kind="audio",
        columns=lambda: list(emobase_feature_names()),
        run=_run,
        description="openSMILE emobase functionals (988) per 500 ms window",
    )
)
