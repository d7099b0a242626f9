"""A simulated MuVi study, written in exactly the published file formats.

Everything this module writes is SIMULATED: the folder gets a ``README.md``
whose first line says so and a ``muvi_metadata.json`` with
``"simulated": true``. It is the toolkit's demo and test data, never the real study.

Generative model (one draw per seed, all randomness from one
:class:`numpy.random.SeedSequence`):

* **Items.** Each item has four smooth latent trajectories over its 60 s
  excerpt: audio energy ``e_a``, audio mood ``m_a``, visual energy ``e_v`` and
  visual mood ``m_v``. Each is an item level plus a sum of three slow
  sinusoids plus AR(1) drift. The visual factors are partly coupled to the
  audio ones (``visual = c * audio + sqrt(1 - c^2) * own``), as a music
  video's pictures are cut to its music.
* **Hidden truth**, per modality, ``tanh(gain * ...)`` of the factors: the
  music condition sees only the audio part (arousal ``e_a``, valence
  ``m_a``); the visual condition only the visual part (``e_v``, ``m_v``);
  audiovisual a mix where arousal depends MOSTLY on audio
  (``0.8 e_a + 0.2 e_v``) and valence on both (``0.5 m_a + 0.5 m_v``). It is
  written to ``simulation_ground_truth.csv``.
* **Features** are noisy functions of the factors. Audio (emobase, 988 real
  names): intensity, loudness and zero-crossing rate follow ``e_a``
  (exponentially), the first MFCCs mix ``e_a`` and ``tanh(m_a)``, pitch follows
  ``m_a``; the other columns (line spectral frequencies, deltas, voicing,
  higher MFCCs) are noise; ``...Pos`` columns are integers in 0..49 as in the
  real files. Visual: one column per column of the registered visual
  families (:func:`muvi.data.schema.visual_feature_columns`; the study's 883).
  Of the study's six families, warm hues, brightness and happy faces follow
  ``m_v``; saturation, shot cuts (actions change per shot) and a few scene
  classes follow ``e_v``; objects and the other classes are noise; histograms
  and class probabilities are proper distributions. A column of any other
  registered family is ``sigmoid(w_m m_v + w_e e_v + noise)`` in (0, 1), with
  weights ``w`` drawn per column, so a newly registered family is simulated
  with no change here.
* **Annotators** move a cursor that follows the truth of their modality
  with a lag (0.5-2 s), first-order smoothing (time constant 0.3-1.5 s),
  an individual bias and scale, and hand tremor (AR(1) noise). Some
  annotations are *careless* (mostly slow random wandering, little truth),
  some *contrary* (the truth sign-flipped), some *constant* (the cursor
  never moves in valence, arousal or both). The browser logs the cursor
  every ~0.5 s with jitter (``raw_av_logs.csv``), and ``av_data.csv`` is
  exactly what :func:`muvi.data.resampling.resample_logs` makes of those logs.
  A few logs end early, so some series are shorter than the analysis window.
* **Static labels**: each GEMS category has a prototype (valence, arousal);
  the chance of ticking its labels falls with the distance between the
  prototype and the annotator's impression of the item (the mean truth plus
  noise); at least one label per annotation. Familiarity depends on the
  item's popularity; the overlay is drawn with p = 1/2 for visual and
  audiovisual trials.
* **Participants and assignment**: profiles like the real study's (age 18-40,
  gender, countries, lyric language, favourite genre, 0-15 years of
  training, layout preference). Each rates 30-36 items (all items when there
  are fewer), never one item twice in any modality; items and modalities are
  assigned to the least-rated first, so every item and modality gets a
  similar number of ratings.

Examples:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = simulate(folder, seed=1, n_items=4, n_participants=6)
    ...     first_line = open(f"{folder}/README.md").readline()
    >>> summary.n_annotations, "SIMULATED" in first_line
    (24, True)
"""

from __future__ import annotations

import dataclasses
import json
import math
import string
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from muvi import __version__
from muvi.data import published, schema
from muvi.data.loaders import short_id
from muvi.data.resampling import resample_logs
from muvi.data.window import EXCERPT_KEY
from muvi.errors import MuviError
from muvi.progress import ProgressCallback, Steps

SIMULATED_NOTICE = (
    "SIMULATED DATA made by muvi.data.simulator: not the real MuVi study, "
    "never to be reported as its results."
)

# GEMS category prototypes on the (valence, arousal) plane: where a listener
# who ticks that category would have put the cursor on average.
_CATEGORY_PROTOTYPES: dict[str, tuple[float, float]] = {
    "Wonder": (0.45, 0.25),
    "Transcendence": (0.25, 0.35),
    "Peacefulness": (0.35, -0.55),
    "Tenderness": (0.5, -0.35),
    "Nostalgia": (0.0, -0.35),
    "Power": (0.3, 0.65),
    "Joyful activation": (0.65, 0.55),
    "Sadness": (-0.55, -0.45),
    "Tension": (-0.5, 0.6),
}
_LABEL_SHARE_IN_CATEGORY = (0.75, 0.5, 0.35)

_COUNTRIES = ("SG", "CN", "KR", "MY", "IN", "ID", "GR", "CY", "HK", "CZ", "JP", "US")
_COUNTRY_P = (0.55, 0.13, 0.06, 0.04, 0.04, 0.03, 0.04, 0.03, 0.02, 0.02, 0.02, 0.02)
_ENCULTURATION = ("SG", "GB", "US", "JP", "CN", "KR", "NL")
_LANGUAGE_OF = {
    "SG": ("EN", "ZH"),
    "CN": ("ZH",),
    "KR": ("KO",),
    "MY": ("EN", "ZH"),
    "IN": ("EN", "TA"),
    "ID": ("EN",),
    "GR": ("EL", "EN"),
    "CY": ("EL", "EN"),
    "HK": ("ZH", "EN"),
    "CZ": ("EN",),
    "JP": ("JA",),
    "US": ("EN",),
}
_GENRES = (
    "Pop",
    "Rock",
    "Classical-music",
    "Indie-Rock",
    "Rhythm-and-Blues",
    "Jazz",
    "Metal",
    "Country",
    "Electronic-dance-music",
    "Techno",
    "Other",
)
_GENRE_P = (0.38, 0.1, 0.14, 0.08, 0.07, 0.04, 0.05, 0.05, 0.03, 0.03, 0.03)
_ID_CHARS = string.ascii_letters + string.digits + "-"


@dataclass
class SimulationConfig:
    """Knobs of the generative model (module docstring), defaults as documented.

    Attributes:
        items_per_participant: fewest and most items one participant rates
            (30-36 in the study).
        annotation_samples: samples of a complete 2 Hz series (120: 60 s
            excerpts); other lengths are written to ``muvi_metadata.json`` as
            ``excerpt_seconds``, from which the analysis window follows.
        fine_step_s: time step of the simulated cursor (s).
        underscore_id_share: share of item ids with an underscore (their
            annotation files use the short form, as in the real release).
        factor_level_sd: spread of the items' mean latent factors.
        factor_wave_amplitude: amplitude of the slow sinusoids of a factor.
        audio_visual_coupling: how much the visual factors follow the audio ones.
        truth_gain: gain inside ``tanh`` that maps factors to ratings.
        audiovisual_arousal_audio_weight: weight of audio in audiovisual arousal.
        audiovisual_valence_audio_weight: weight of audio in audiovisual valence.
        lag_s: range of an annotator's reaction lag (s).
        smoothing_s: range of the cursor's smoothing time constant (s).
        bias_sd: spread of an annotator's bias (rating units).
        scale_range: range of an annotator's scale (use of the plane).
        tremor_sd: standard deviation of hand tremor (rating units).
        careless_share: share of careless (noise-dominated) annotations.
        contrary_share: share of contrary (sign-flipped) annotations.
        constant_share: share of annotations whose cursor never moves.
        short_share: share of logs that end early (a few shorter than 118 samples).
        log_interval_s: nominal logging interval of the browser (s).
        log_jitter_s: standard deviation of the logging interval (s).
        overlay_probability: chance that the plane is drawn over the video.
        label_rate: chance of ticking a category whose prototype matches the
            impression exactly (falls with distance).
        label_width: distance on the plane at which that chance has fallen
            to ``exp(-1/2)`` of its peak.
    """

    items_per_participant: tuple[int, int] = (30, 36)
    annotation_samples: int = 120
    fine_step_s: float = 0.1
    underscore_id_share: float = 0.17
    factor_level_sd: float = 0.45
    factor_wave_amplitude: float = 0.3
    audio_visual_coupling: float = 0.5
    truth_gain: float = 1.2
    audiovisual_arousal_audio_weight: float = 0.8
    audiovisual_valence_audio_weight: float = 0.5
    lag_s: tuple[float, float] = (0.5, 2.0)
    smoothing_s: tuple[float, float] = (0.3, 1.5)
    bias_sd: float = 0.1
    scale_range: tuple[float, float] = (0.6, 1.1)
    tremor_sd: float = 0.03
    careless_share: float = 0.1
    contrary_share: float = 0.07
    constant_share: float = 0.03
    short_share: float = 0.04
    log_interval_s: float = schema.SAMPLE_PERIOD_S
    log_jitter_s: float = 0.04
    overlay_probability: float = 0.5
    label_rate: float = 0.6
    label_width: float = 0.45

    def __post_init__(self) -> None:
        lo, hi = self.items_per_participant
        if not 1 <= lo <= hi:
            raise ValueError(f"items_per_participant must be 1 <= low <= high, got {lo, hi}")
        if self.annotation_samples < 2:
            raise ValueError("annotation_samples must be at least 2")
        shares = (self.careless_share, self.contrary_share, self.constant_share)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError("careless, contrary and constant shares must be >= 0 and sum to <= 1")
        for name in ("short_share", "underscore_id_share", "overlay_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1]")


@dataclass
class SimulationSummary:
    """What :func:`simulate` wrote.

    Attributes:
        out_dir: the study folder.
        seed: the seed it was made with.
        n_items, n_participants, n_annotations: sizes.
        n_constant, n_careless, n_contrary, n_short: annotations of each
            special kind (short = the log ended before 59 s).
        files: every file written, relative to ``out_dir``.
    """

    out_dir: Path
    seed: int
    n_items: int
    n_participants: int
    n_annotations: int
    n_constant: int
    n_careless: int
    n_contrary: int
    n_short: int
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"SIMULATED study (seed {self.seed}): {self.n_items} items, "
            f"{self.n_participants} participants, {self.n_annotations} annotations "
            f"({self.n_careless} careless, {self.n_contrary} contrary, "
            f"{self.n_constant} constant, {self.n_short} cut short) in {self.out_dir}"
        )


# --------------------------------------------------------------------------
# Items and their latent factors
# --------------------------------------------------------------------------


def _item_ids(rng: np.random.Generator, n_items: int, underscore_share: float) -> list[str]:
    """YouTube-like 11-character ids; some contain an underscore, and no two
    share a short form (the id cut at its first underscore)."""
    ids: list[str] = []
    taken: set[str] = set()
    while len(ids) < n_items:
        chars = list(rng.choice(list(_ID_CHARS), size=11))
        chars[0] = str(rng.choice(list(string.ascii_letters + string.digits)))
        if rng.random() < underscore_share:
            chars[int(rng.integers(1, 10))] = "_"
        video_id = "".join(chars)
        if video_id in taken or short_id(video_id) in taken:
            continue
        taken.update({video_id, short_id(video_id)})
        ids.append(video_id)
    return ids


def _factor_paths(
    rng: np.random.Generator, n_items: int, t: np.ndarray, cfg: SimulationConfig
) -> np.ndarray:
    """Smooth latent trajectories, shape ``(n_items, 4, len(t))``: e_a, m_a, e_v, m_v."""
    n_t = len(t)
    level = rng.normal(0.0, cfg.factor_level_sd, size=(n_items, 4, 1))
    periods = rng.uniform(8.0, 60.0, size=(n_items, 4, 3, 1))
    phases = rng.uniform(0.0, 2 * np.pi, size=(n_items, 4, 3, 1))
    amps = rng.dirichlet(np.ones(3), size=(n_items, 4))[..., None] * cfg.factor_wave_amplitude
    waves = (amps * np.sin(2 * np.pi * t / periods + phases)).sum(axis=2)
    drift = _ar1(rng, (n_items, 4), n_t, rho=math.exp(-cfg.fine_step_s / 3.0), sd=0.08)
    paths = level + waves + drift
    c = cfg.audio_visual_coupling
    paths[:, 2:] = c * paths[:, :2] + math.sqrt(1 - c * c) * paths[:, 2:]
    return paths


def _ar1(
    rng: np.random.Generator, shape: tuple[int, ...], n_t: int, rho: float, sd: float
) -> np.ndarray:
    """Stationary AR(1) noise of marginal std ``sd`` along a last axis of length n_t."""
    shocks = rng.normal(0.0, sd * math.sqrt(1 - rho * rho), size=(*shape, n_t))
    out = np.empty_like(shocks)
    out[..., 0] = rng.normal(0.0, sd, size=shape)
    for i in range(1, n_t):
        out[..., i] = rho * out[..., i - 1] + shocks[..., i]
    return out


def _truth(paths: np.ndarray, cfg: SimulationConfig) -> np.ndarray:
    """Hidden truth, shape ``(n_items, 3 modalities, 2 dimensions, n_t)``."""
    e_a, m_a, e_v, m_v = (paths[:, k] for k in range(4))
    wa, wv = cfg.audiovisual_arousal_audio_weight, cfg.audiovisual_valence_audio_weight
    latent = np.stack(
        [
            np.stack([m_a, e_a], axis=1),  # music: audio only
            np.stack([m_v, e_v], axis=1),  # visual: pictures only
            np.stack([wv * m_a + (1 - wv) * m_v, wa * e_a + (1 - wa) * e_v], axis=1),
        ],
        axis=1,
    )
    return np.tanh(cfg.truth_gain * latent)


# --------------------------------------------------------------------------
# Participants and the assignment of items
# --------------------------------------------------------------------------


def _participants(rng: np.random.Generator, n: int) -> pd.DataFrame:
    ids = rng.permutation(n)
    live = rng.choice(_COUNTRIES, size=n, p=_COUNTRY_P)
    encult = np.where(rng.random(n) < 0.6, live, rng.choice(_ENCULTURATION, size=n))
    language = [str(rng.choice(_LANGUAGE_OF[str(c)])) for c in live]
    training = np.where(
        rng.random(n) < 0.25, 0, np.minimum(rng.geometric(0.18, size=n), 15)
    ).astype(int)
    return pd.DataFrame(
        {
            "participant_id": ids,
            "age": np.clip(np.round(19 + rng.gamma(2.0, 1.8, size=n)), 18, 40).astype(int),
            "gender": rng.choice(["Female", "Male"], size=n, p=[0.42, 0.58]),
            "country_live_longest": live,
            "country_musical_enculturation": encult,
            "lyric_language": language,
            "favorite_genre": rng.choice(_GENRES, size=n, p=_GENRE_P),
            "years_formal_training": training,
            "understood_yes_or_no": "Yes",
            "overlay_pref": rng.choice(["Side-by-Side", "Overlaid"], size=n, p=[0.65, 0.35]),
        }
    )[list(schema.PARTICIPANT_COLUMNS)]


def _assign(
    rng: np.random.Generator, participants: np.ndarray, n_items: int, cfg: SimulationConfig
) -> list[tuple[int, int, int]]:
    """Trials ``(participant_id, item index, modality index)`` in each
    participant's playing order: distinct items per participant, least-rated
    items and item-modalities first (random among ties)."""
    per_item = np.zeros(n_items)
    per_cell = np.zeros((n_items, len(schema.MODALITIES)))
    lo, hi = cfg.items_per_participant
    trials: list[tuple[int, int, int]] = []
    for pid in participants:
        k = min(int(rng.integers(lo, hi + 1)), n_items)
        order = np.lexsort((rng.random(n_items), per_item))
        chosen = order[:k]
        per_item[chosen] += 1
        for item in rng.permutation(chosen):
            cell = per_cell[item]
            modality = int(np.lexsort((rng.random(len(cell)), cell))[0])
            cell[modality] += 1
            trials.append((int(pid), int(item), modality))
    return trials


# --------------------------------------------------------------------------
# Annotators: cursor paths and raw logs
# --------------------------------------------------------------------------

_NORMAL, _CARELESS, _CONTRARY, _CONSTANT = "normal", "careless", "contrary", "constant"


def _cursor_paths(
    rng: np.random.Generator,
    truth: np.ndarray,
    trials: list[tuple[int, int, int]],
    kinds: list[str],
    constant_dims: np.ndarray,
    t: np.ndarray,
    cfg: SimulationConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cursor of every trial on the fine grid, shape ``(n_trials, 2, n_t)``,
    with each trial's reaction lag and smoothing time constant (s), ``(n_trials,)`` each."""
    n, n_t = len(trials), len(t)
    lag = rng.uniform(*cfg.lag_s, size=n)
    tau = rng.uniform(*cfg.smoothing_s, size=n)
    bias = rng.normal(0.0, cfg.bias_sd, size=(n, 2))
    scale = rng.uniform(*cfg.scale_range, size=(n, 2))
    start = rng.normal(0.0, 0.1, size=(n, 2))
    wander = _ar1(rng, (n, 2), n_t, rho=math.exp(-cfg.fine_step_s / 2.0), sd=0.5)
    tremor = _ar1(rng, (n, 2), n_t, rho=0.8, sd=cfg.tremor_sd)

    target = np.empty((n, 2, n_t))
    for j, (_, item, modality) in enumerate(trials):
        for d in range(2):
            # np.interp holds the first truth value before the excerpt starts
            target[j, d] = np.interp(t - lag[j], t, truth[item, modality, d])
    kind = np.array(kinds)
    sign = np.where(kind == _CONTRARY, -1.0, 1.0)[:, None, None]
    target = bias[..., None] + sign * scale[..., None] * target
    careless = kind == _CARELESS
    target[careless] = 0.15 * target[careless] + wander[careless]

    cursor = np.empty((n, 2, n_t))
    pos = start.copy()
    alpha = (cfg.fine_step_s / tau)[:, None]
    for i in range(n_t):
        pos = pos + np.minimum(alpha, 1.0) * (target[..., i] - pos)
        cursor[..., i] = pos
    cursor = np.clip(cursor + tremor, -1.0, 1.0)
    # a cursor that never moves stays where it was put at the start
    frozen = constant_dims[..., None] & np.ones(n_t, dtype=bool)
    cursor = np.where(frozen, np.clip(start, -1, 1)[..., None], cursor)
    return cursor, lag, tau


def _log_times(rng: np.random.Generator, end: float, cfg: SimulationConfig) -> np.ndarray:
    """Jittered logging times from about 0 s up to ``end`` (the last one is ``end``)."""
    n_max = int(end / cfg.log_interval_s) + 8
    steps = np.clip(
        rng.normal(cfg.log_interval_s, cfg.log_jitter_s, size=n_max),
        0.7 * cfg.log_interval_s,
        1.3 * cfg.log_interval_s,
    )
    times = rng.uniform(0.0, 0.05) + np.concatenate([[0.0], np.cumsum(steps)])
    times = times[times < end - 0.05]
    return np.round(np.append(times, end), 3)


# --------------------------------------------------------------------------
# Static labels
# --------------------------------------------------------------------------


def _static_labels(
    rng: np.random.Generator, impression: np.ndarray, cfg: SimulationConfig
) -> np.ndarray:
    """0/1 labels in GEMS order, shape ``(n_trials, 27)``, at least one per row."""
    protos = np.array([_CATEGORY_PROTOTYPES[c] for c in schema.GEMS_CATEGORIES])
    dist2 = ((impression[:, None, :] - protos[None]) ** 2).sum(axis=-1)
    p_category = 0.03 + cfg.label_rate * np.exp(-dist2 / (2 * cfg.label_width**2))
    share = np.array(_LABEL_SHARE_IN_CATEGORY)
    p_label = (p_category[:, :, None] * share[None, None, :]).reshape(len(impression), -1)
    labels = (rng.random(p_label.shape) < p_label).astype(int)
    for row in np.flatnonzero(labels.sum(axis=1) == 0):
        labels[row, rng.choice(p_label.shape[1], p=p_label[row] / p_label[row].sum())] = 1
    return labels


# --------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------

_POSITIVE_BASE = {
    "pcm_intensity": 1e-3,
    "pcm_loudness": 0.5,
    "pcm_zcr": 0.08,
    "voiceProb": 0.4,
    "F0env": 150.0,
    "F0": 120.0,
}
_SPREAD = {"range", "stddev", "iqr1-2", "iqr2-3", "iqr1-3", "linregerrA", "linregerrQ"}


def _emobase_plan(
    rng: np.random.Generator, names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column: kind code, base, scale, loadings on (e_a, tanh m_a), noise sd.

    Kind codes: 0 signed (base + scale z), 1 positive (base exp(scale z)),
    2 integer position, 3 skewness, 4 kurtosis, 5 slope.
    """
    n = len(names)
    kind = np.zeros(n, dtype=int)
    base = np.zeros(n)
    scale = np.ones(n)
    load = np.zeros((n, 2))
    noise = np.full(n, 1.0)
    for c, name in enumerate(names):
        family, _, functional = name.rpartition("_")
        delta = "_de" in family
        if functional.endswith("Pos"):
            kind[c] = 2
            continue
        if functional in ("skewness", "kurtosis", "linregc1"):
            kind[c] = {"skewness": 3, "kurtosis": 4, "linregc1": 5}[functional]
            continue
        prefix = next((p for p in _POSITIVE_BASE if family.startswith(p)), None)
        spread = functional in _SPREAD
        if family.startswith("lspFreq"):
            k = int(family.split("[")[1].split("]")[0])
            kind[c], base[c], scale[c] = 1, 0.25 + 0.35 * k, 0.1
        elif prefix is not None:
            kind[c], base[c], scale[c] = 1, _POSITIVE_BASE[prefix], 0.4
            if not delta and prefix in ("pcm_intensity", "pcm_loudness", "pcm_zcr"):
                load[c] = (1.6 if prefix == "pcm_intensity" else 1.0, 0.0)
            elif not delta and prefix in ("F0", "F0env"):
                load[c] = (0.2, 0.8)
        else:  # mfcc
            k = int(family.split("[")[1].split("]")[0])
            kind[c], base[c], scale[c] = 0, rng.normal(0.0, 8.0 / k), 2.0 + 4.0 / k
            if not delta and k <= 4:
                load[c] = rng.uniform(0.4, 1.0, size=2) * rng.choice([-1.0, 1.0], size=2)
        if delta:
            base[c] = 0.0 if kind[c] == 0 else base[c] * 0.3
        if spread:
            kind[c], base[c], scale[c] = 1, max(abs(base[c]), 1e-4) * 0.3, 0.3
            load[c] *= 0.4
        noise[c] = 0.35 if load[c].any() else 1.0
    return kind, base, scale, load, noise


def _emobase_values(
    rng: np.random.Generator, plan: tuple[np.ndarray, ...], factors: np.ndarray
) -> np.ndarray:
    """Feature rows of one item, shape ``(n_rows, 988)``; ``factors`` (2, n_rows)."""
    kind, base, scale, load, noise = plan
    n_rows = factors.shape[1]
    signal = np.stack([factors[0], np.tanh(factors[1])], axis=1) @ load.T
    z = signal + noise * rng.normal(size=signal.shape)
    values = np.where(kind == 0, base + scale * z, base * np.exp(scale * z))
    for code, draw in (
        (2, lambda size: rng.integers(0, 50, size=size)),
        (3, lambda size: rng.normal(0.0, 0.6, size=size)),
        (4, lambda size: 1.5 + rng.gamma(2.0, 0.8, size=size)),
        (5, lambda size: rng.normal(0.0, 0.01, size=size)),
    ):
        columns = np.flatnonzero(kind == code)
        values[:, columns] = draw((n_rows, len(columns)))
    return values


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _modelled_visual_columns() -> tuple[str, ...]:
    """The columns that :func:`_visual_values` models, in its order: the
    study's six visual families as :mod:`muvi.data.schema` names them."""
    return (
        *(f"colour__hue_{i:02d}" for i in range(schema.HUE_BINS)),
        *(f"colour__sat_{i:02d}" for i in range(schema.SATURATION_BINS)),
        "lighting__brightness_mean",
        "lighting__brightness_std",
        "lighting__key",
        "faces__detected",
        "faces__count",
        *(f"faces__{e}" for e in schema.FER_EXPRESSIONS),
        *(f"scenes__{i:03d}" for i in range(schema.N_PLACES365_CLASSES)),
        *(f"objects__{i:02d}" for i in range(schema.N_COCO_CLASSES)),
        *(f"actions__{i:03d}" for i in range(schema.N_KINETICS400_CLASSES)),
    )


def _registered_visual_values(
    rng: np.random.Generator, factors: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Rows of the features of families the simulator has no model of:
    ``sigmoid(w_m m_v + w_e e_v + noise)``, shape ``(n_rows, n_columns)``;
    ``weights`` is ``(2, n_columns)``: each column's ``w_m`` and ``w_e``."""
    e_v, m_v = factors
    noise = rng.normal(0.0, 0.3, (len(e_v), weights.shape[1]))
    return 1 / (1 + np.exp(-(m_v[:, None] * weights[0] + e_v[:, None] * weights[1] + noise)))


def _visual_values(rng: np.random.Generator, factors: np.ndarray) -> np.ndarray:
    """Visual feature rows of one item in the columns of
    :func:`_modelled_visual_columns`, shape ``(n_rows, 883)``; ``factors`` is
    ``(2, n_rows)``: visual energy e_v and visual mood m_v."""
    e_v, m_v = factors
    n = len(e_v)
    hue_bins = np.arange(schema.HUE_BINS)
    # warm hues (reds/oranges/yellows near 0 degrees) rise with visual mood
    warmth = np.cos(2 * np.pi * hue_bins / schema.HUE_BINS)
    hue = _softmax(
        rng.normal(0, 0.8, schema.HUE_BINS)
        + 1.2 * m_v[:, None] * warmth
        + rng.normal(0, 0.2, (n, schema.HUE_BINS))
    )
    sat_bins = np.linspace(-1, 1, schema.SATURATION_BINS)
    sat = _softmax(1.5 * e_v[:, None] * sat_bins + rng.normal(0, 0.3, (n, schema.SATURATION_BINS)))
    bright = 1 / (1 + np.exp(-(0.2 + 1.2 * m_v + rng.normal(0, 0.25, n))))
    bright_std = np.clip(0.12 + 0.05 * e_v + rng.normal(0, 0.02, n), 0.01, 0.5)
    face_rate = rng.uniform(0.2, 0.9)
    detected = (rng.random(n) < face_rate).astype(float)
    count = detected * (1 + rng.poisson(0.6, n))
    expr_logits = rng.normal(0, 0.5, (n, len(schema.FER_EXPRESSIONS)))
    expr_logits[:, schema.FER_EXPRESSIONS.index("happy")] += 2.0 * m_v
    expr_logits[:, schema.FER_EXPRESSIONS.index("sad")] -= 1.5 * m_v
    expressions = _softmax(expr_logits) * detected[:, None]
    # shots: more cuts when the pictures are energetic
    cut = rng.random(n) < 0.04 + 0.12 / (1 + np.exp(-2 * e_v))
    cut[0] = True
    shot = np.cumsum(cut) - 1
    n_shots = int(shot[-1]) + 1
    scene_of_item = rng.normal(0, 1.0, schema.N_PLACES365_CLASSES)
    scene_of_item[rng.choice(schema.N_PLACES365_CLASSES, 4, replace=False)] += 5.0
    energetic = rng.choice(schema.N_PLACES365_CLASSES, 3, replace=False)
    scene_logits = scene_of_item + rng.normal(0, 0.8, (n_shots, schema.N_PLACES365_CLASSES))[shot]
    scene_logits[:, energetic] += 2.0 * e_v[:, None]
    scenes = _softmax(scene_logits)
    objects = np.zeros((n, schema.N_COCO_CLASSES))
    present = rng.choice(schema.N_COCO_CLASSES, 5, replace=False)
    seen = rng.random((n, 5)) < rng.uniform(0.1, 0.8, 5)
    objects[:, present] = seen * rng.uniform(0.3, 0.99, (n, 5))
    objects[:, 0] = np.maximum(objects[:, 0], detected * rng.uniform(0.5, 0.99, n))  # person
    action_logits = rng.normal(0, 1.0, (n_shots, schema.N_KINETICS400_CLASSES))
    action_logits[:, rng.choice(schema.N_KINETICS400_CLASSES, 3, replace=False)] += 4.0
    actions = _softmax(action_logits)[shot]
    return np.hstack(
        [
            hue,
            sat,
            np.column_stack([bright, bright_std, bright * bright_std, detected, count]),
            expressions,
            scenes,
            objects,
            actions,
        ]
    )


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _write_readme(out: Path, seed: int, n_items: int, n_participants: int) -> None:
    text = f"""# SIMULATED DATA: this folder is NOT the real MuVi study

Everything here was made by `muvi.data.simulator` (muvi {__version__}, seed {seed},
{n_items} items, {n_participants} participants). No real person rated anything, no
video exists behind these ids, and no result computed from these files may be
reported as a result of the MuVi study. `muvi_metadata.json` carries
`"simulated": true`, the seed, the full configuration and, under `annotators`,
every annotation's true reaction lag and smoothing time constant (s).

The files use exactly the published formats of the MuVi release, so every
loader, analysis and model of the toolkit runs on them unchanged:

| file | what |
|---|---|
| `{schema.VIDEO_URLS_FILE}` | the simulated item ids, in cross-validation order (CRLF) |
| `{schema.PARTICIPANTS_FILE}` | simulated participant profiles |
| `{schema.STATIC_FILE}` | static annotations: familiarity, 27 GEMS labels, overlay type |
| `{schema.DYNAMIC_FILE}` | dynamic valence/arousal at 2 Hz (the resampled raw logs) |
| `{schema.RAW_LOGS_FILE}` | raw cursor logs, ~0.5 s with jitter (timestamp in s) |
| `{schema.EMOBASE_DIR}/<id>.csv` | simulated emobase features, one row per 500 ms |
| `{schema.VISUAL_FEATURES_FILE}` | simulated visual features, one row per 500 ms frame |
| `{schema.GROUND_TRUTH_FILE}` | the hidden truth the simulated annotators followed |
| `{schema.METADATA_FILE}` | `simulated: true`, seed, configuration, special annotations |

The generative model is documented in the docstring of `muvi.data.simulator`.
"""
    (out / "README.md").write_text(text, encoding="utf-8")


_CONSTANT_REASON = {
    (True, True): "constant valence and arousal",
    (True, False): "constant valence",
    (False, True): "constant arousal",
}


def _annotation_kinds(
    rng: np.random.Generator, n_trials: int, cfg: SimulationConfig
) -> tuple[list[str], np.ndarray]:
    """Each trial's annotator kind, and which dimensions a constant one freezes
    (shape ``(n_trials, 2)``: valence, arousal)."""
    edges = np.cumsum([cfg.constant_share, cfg.careless_share, cfg.contrary_share])
    kinds = [
        (_CONSTANT, _CARELESS, _CONTRARY, _NORMAL)[int(np.searchsorted(edges, d, "right"))]
        for d in rng.random(n_trials)
    ]
    which = rng.choice(3, size=n_trials, p=[0.7, 0.15, 0.15])  # both, valence only, arousal only
    is_constant = np.array(kinds) == _CONSTANT
    frozen = np.column_stack([is_constant & (which != 2), is_constant & (which != 1)])
    return kinds, frozen


def _raw_logs(
    rng: np.random.Generator,
    trials: list[tuple[int, int, int]],
    cursor: np.ndarray,
    short: np.ndarray,
    t_fine: np.ndarray,
    items: list[str],
    cfg: SimulationConfig,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The browser's log of every trial (full ids, toolkit modality names; the
    published writer spells them), and which dimensions of each trial's log
    never move (shape ``(n_trials, 2)``: valence, arousal).

    A complete log ends in the last half second of the excerpt (so it covers
    all its 2 Hz samples); a log cut short ends up to 5 s earlier.
    """
    duration = cfg.annotation_samples * schema.SAMPLE_PERIOD_S
    last_sample = duration - schema.SAMPLE_PERIOD_S
    times: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for j in range(len(trials)):
        end = (
            rng.uniform(duration - 5.0, last_sample - 0.01)
            if short[j]
            else rng.uniform(last_sample, duration - 0.01)
        )
        stamps = _log_times(rng, end, cfg)
        times.append(stamps)
        values.append(np.round([np.interp(stamps, t_fine, cursor[j, d]) for d in range(2)], 4))
    per_log = np.repeat(np.arange(len(trials)), [len(t) for t in times])
    trial_table = np.array(trials)
    logs = pd.DataFrame(
        {
            "participant_id": trial_table[per_log, 0],
            "media_id": np.array(items)[trial_table[per_log, 1]],
            "modality": np.array(schema.MODALITIES)[trial_table[per_log, 2]],
            "timestamp": np.concatenate(times),
            "valence": np.concatenate([v[0] for v in values]),
            "arousal": np.concatenate([v[1] for v in values]),
        }
    )
    never_moved = np.array([[np.ptp(v[d]) == 0 for d in range(2)] for v in values], dtype=bool)
    return logs, never_moved.reshape(len(trials), 2)


def _static_table(
    rng: np.random.Generator,
    trials: list[tuple[int, int, int]],
    mean_truth: np.ndarray,
    items: list[str],
    cfg: SimulationConfig,
) -> pd.DataFrame:
    """The tidy static table (what :func:`muvi.data.loaders.load_static`
    returns); ``mean_truth`` is ``(n_items, 3, 2)``, the excerpt's mean truth
    per modality and dimension."""
    item_idx = np.array([i for _, i, _ in trials])
    mod_idx = np.array([m for _, _, m in trials])
    impression = mean_truth[item_idx, mod_idx] + rng.normal(0, 0.25, (len(trials), 2))
    labels = _static_labels(rng, impression, cfg)
    popularity = np.asarray(rng.beta(1.5, 4.0, size=mean_truth.shape[0]))
    seen = rng.random(len(trials)) < popularity[item_idx]
    overlaid = rng.random(len(trials)) < cfg.overlay_probability
    static = pd.DataFrame(labels, columns=list(schema.GEMS_LABELS))
    static["participant_id"] = [p for p, _, _ in trials]
    static["media_id"] = [items[i] for i in item_idx]
    static["modality"] = [schema.MODALITIES[m] for m in mod_idx]
    static["seen_previously"] = seen
    is_music = mod_idx == schema.MODALITIES.index("music")
    static["overlay"] = [
        None if music else (schema.OVERLAID if over else schema.SIDE_BY_SIDE)
        for music, over in zip(is_music, overlaid, strict=True)
    ]
    return static[
        [
            "participant_id",
            "media_id",
            "modality",
            "seen_previously",
            *schema.GEMS_LABELS,
            "overlay",
        ]
    ]


def _ground_truth_table(items: list[str], truth_2hz: np.ndarray) -> pd.DataFrame:
    """The hidden truth, ``truth_2hz`` of shape ``(n_items, 3, 2, n_samples)``."""
    n_items, n_modalities, _, n_samples = truth_2hz.shape
    return pd.DataFrame(
        {
            "media_id": np.repeat(items, n_modalities * n_samples),
            "modality": np.tile(np.repeat(schema.MODALITIES, n_samples), n_items),
            "sample": np.tile(np.arange(n_samples), n_modalities * n_items),
            "valence": truth_2hz[:, :, 0].ravel(),
            "arousal": truth_2hz[:, :, 1].ravel(),
        }
    )


def _special_annotations(
    trials: list[tuple[int, int, int]],
    items: list[str],
    kinds: list[str],
    frozen: np.ndarray,
    short: np.ndarray,
    never_moved: np.ndarray,
) -> dict[str, list[dict[str, Any]]]:
    """The metadata lists of constant, careless, contrary and short annotations
    (full ids, toolkit modality names).

    ``never_moved`` (``(n_trials, 2)``) says which logged dimensions never
    change: every annotation made constant is among them; should a moving
    cursor have stayed pinned at the edge of the plane for a whole excerpt,
    it is listed too, with that cause. This list is the simulator's own
    record, against which the quality filter
    (:func:`muvi.annotations.constant_annotations`) can be checked.
    """

    def key(j: int | np.integer) -> dict[str, Any]:
        pid, item, modality = trials[int(j)]
        return {
            "participant_id": pid,
            "media_id": items[item],
            "modality": schema.MODALITIES[modality],
        }

    constant = []
    for made in np.flatnonzero(frozen.any(axis=1)):
        reason = _CONSTANT_REASON[(bool(frozen[made, 0]), bool(frozen[made, 1]))]
        constant.append({**key(made), "reason": reason, "cause": "never moved"})
    for pinned in np.flatnonzero(never_moved.any(axis=1) & ~frozen.any(axis=1)):
        reason = _CONSTANT_REASON[(bool(never_moved[pinned, 0]), bool(never_moved[pinned, 1]))]
        constant.append(  # pragma: no cover - depends on the draw
            {**key(pinned), "reason": reason, "cause": "pinned at the plane's edge"}
        )
    kind = np.array(kinds)
    return {
        "constant": constant,
        "careless": [key(j) for j in np.flatnonzero(kind == _CARELESS)],
        "contrary": [key(j) for j in np.flatnonzero(kind == _CONTRARY)],
        "short": [key(j) for j in np.flatnonzero(short)],
    }


def _annotator_truth(
    trials: list[tuple[int, int, int]],
    items: list[str],
    kinds: list[str],
    lags: np.ndarray,
    taus: np.ndarray,
) -> list[dict[str, Any]]:
    """Every annotation's true reaction lag and smoothing time constant (s) and its
    kind (``normal``, ``careless``, ``contrary``, ``constant``), for checking lag estimates.

    The cursor follows the truth ``lag_s`` late, through a first-order smoother
    of time constant ``smoothing_s``, which adds about ``smoothing_s`` of delay."""
    return [
        {
            "participant_id": pid,
            "media_id": items[item],
            "modality": schema.MODALITIES[modality],
            "kind": kinds[j],
            "lag_s": round(float(lags[j]), 4),
            "smoothing_s": round(float(taus[j]), 4),
        }
        for j, (pid, item, modality) in enumerate(trials)
    ]


def _write_features(
    out: Path,
    items: list[str],
    factors_2hz: np.ndarray,
    rng: np.random.Generator,
    plan: tuple[np.ndarray, ...],
    step: Callable[[str], None],
) -> None:
    """One emobase file per item and the combined visual features CSV;
    ``factors_2hz`` is ``(n_items, 4, n_samples)``: e_a, m_a, e_v, m_v."""
    names = list(schema.emobase_feature_names())
    # the registered visual columns: modelled ones from _visual_values, the others
    # (families registered beside the study's) from _registered_visual_values
    columns = list(schema.visual_feature_columns())
    modelled = {c: i for i, c in enumerate(_modelled_visual_columns())}
    others = [c for c in columns if c not in modelled]
    order = np.array(
        [modelled[c] if c in modelled else len(modelled) + others.index(c) for c in columns],
        dtype=int,
    )
    # their own stream, so that registering a family leaves every other column as it was
    others_rng = np.random.default_rng(
        cast(np.random.SeedSequence, rng.bit_generator.seed_seq).spawn(1)[0]
    )
    others_weights = others_rng.normal(0.0, 1.0, (2, len(others)))
    visual_blocks = []
    for item_index, video_id in enumerate(items):
        factors = factors_2hz[item_index]
        audio = _emobase_values(rng, plan, factors[:2])
        published.write_emobase(
            pd.DataFrame(audio, columns=names),
            out / schema.EMOBASE_DIR / f"{video_id}.csv",
            float_format="%.7g",  # openSMILE's precision
        )
        values = _visual_values(rng, factors[2:])
        if others:
            extra = _registered_visual_values(others_rng, factors[2:], others_weights)
            values = np.hstack([values, extra])
        visual_blocks.append(values[:, order])
        step(f"features of {video_id}")
    n_rows = [len(block) for block in visual_blocks]
    index = pd.MultiIndex.from_arrays(
        [np.repeat(items, n_rows), np.concatenate([np.arange(n) for n in n_rows])],
        names=list(schema.ITEM_SAMPLE_INDEX),
    )
    visual = pd.DataFrame(np.vstack(visual_blocks), index=index, columns=columns)
    published.write_visual_features(visual, out / schema.VISUAL_FEATURES_FILE, float_format="%.5g")


def _prepare_folder(out: Path) -> Path:
    """Create ``out``, or empty the features of an earlier simulation there.

    A non-empty folder that does not hold a simulated study is refused, so
    that simulated files never overwrite a real dataset.
    """
    if out.exists() and not out.is_dir():
        raise MuviError(f"{out} is a file, not a folder")
    if out.exists() and any(out.iterdir()):
        try:
            earlier = json.loads((out / schema.METADATA_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            earlier = {}
        if not (isinstance(earlier, dict) and earlier.get("simulated") is True):
            raise MuviError(
                f"{out} is not empty and holds no simulated study; "
                "choose a new or empty folder (nothing was written)"
            )
        for stale in (out / schema.EMOBASE_DIR).glob("*.csv"):
            stale.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def simulate(
    out_dir: str | Path,
    seed: int = 0,
    n_items: int = 81,
    n_participants: int = 49,
    *,
    config: SimulationConfig | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationSummary:
    """Write a complete SIMULATED study in the published MuVi formats.

    Args:
        out_dir: folder to write: new, empty, or an earlier simulated study
            (whose files are replaced).
        seed: the seed; the same seed and sizes give byte-identical files.
        n_items: media items (81 in the study).
        n_participants: participants (49 in the study).
        config: the generative model's knobs (:class:`SimulationConfig`).
        progress: called with a :class:`muvi.progress.ProgressEvent` (stage
            ``simulate``) after each part is written; None (the default) is silent.

    Returns:
        A :class:`SimulationSummary` of what was written.

    Raises:
        ValueError: fewer than 1 item or 2 participants, a negative seed.
        MuviError: ``out_dir`` is not empty and holds no earlier simulated
            study (simulated files never overwrite other data).
    """
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, got {n_items}")
    if n_participants < 2:
        raise ValueError(f"n_participants must be at least 2, got {n_participants}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    cfg = config or SimulationConfig()
    out = _prepare_folder(Path(out_dir).expanduser())
    # one independent stream per part, so that a change in one part leaves the others alone
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    rng_ids, rng_fac, rng_ppl, rng_assign, rng_cur, rng_log, rng_static, rng_feat, rng_plan = (
        streams
    )
    with nullcontext(Steps(progress, "simulate", n_items + 4)) as step:
        items = _item_ids(rng_ids, n_items, cfg.underscore_id_share)
        duration = cfg.annotation_samples * schema.SAMPLE_PERIOD_S
        t_fine = np.arange(0.0, duration + 1e-9, cfg.fine_step_s)
        on_2hz = np.round(
            np.arange(cfg.annotation_samples) * schema.SAMPLE_PERIOD_S / cfg.fine_step_s
        ).astype(int)
        paths = _factor_paths(rng_fac, n_items, t_fine, cfg)
        truth = _truth(paths, cfg)

        participants = _participants(rng_ppl, n_participants)
        trials = _assign(rng_assign, participants["participant_id"].to_numpy(), n_items, cfg)
        kinds, frozen = _annotation_kinds(rng_cur, len(trials), cfg)
        short = (rng_log.random(len(trials)) < cfg.short_share) & ~frozen.any(axis=1)
        cursor, lags, taus = _cursor_paths(rng_cur, truth, trials, kinds, frozen, t_fine, cfg)
        step("annotators")

        # the raw logs are written, then read back, so that av_data.csv is
        # exactly what resample_logs makes of the file as published
        raw_path = out / schema.RAW_LOGS_FILE
        logs, never_moved = _raw_logs(rng_log, trials, cursor, short, t_fine, items, cfg)
        published.write_raw_logs(logs, raw_path)
        dynamic, report = resample_logs(pd.read_csv(raw_path, dtype={"media_id": str}))
        published.write_dynamic(dynamic, out / schema.DYNAMIC_FILE)
        step("cursor logs")

        truth_2hz = truth[..., on_2hz]
        static = _static_table(rng_static, trials, truth_2hz.mean(axis=-1), items, cfg)
        published.write_static(static, out / schema.STATIC_FILE)
        published.write_participants(participants, out / schema.PARTICIPANTS_FILE)
        published.write_video_urls(items, out / schema.VIDEO_URLS_FILE)
        _ground_truth_table(items, truth_2hz).to_csv(
            out / schema.GROUND_TRUTH_FILE, index=False, float_format="%.6f", lineterminator="\n"
        )
        step("labels and truth")

        plan = _emobase_plan(rng_plan, schema.emobase_feature_names())
        _write_features(out, items, paths[..., on_2hz], rng_feat, plan, step)

        special = _special_annotations(trials, items, kinds, frozen, short, never_moved)
        metadata = {
            "simulated": True,
            "notice": SIMULATED_NOTICE,
            "generator": "muvi.data.simulator",
            "muvi_version": __version__,
            "seed": seed,
            "n_items": n_items,
            "n_participants": n_participants,
            "config": dataclasses.asdict(cfg),
            "sampling": dataclasses.asdict(report),
            "annotations": special,
            "annotators": _annotator_truth(trials, items, kinds, lags, taus),
        }
        if cfg.annotation_samples != SimulationConfig.annotation_samples:
            # excerpts other than the study's 60 s carry their length: every workflow
            # then reads its analysis window from it (muvi.data.window.study_window)
            metadata[EXCERPT_KEY] = duration
        published.write_metadata(metadata, out / schema.METADATA_FILE)
        _write_readme(out, seed, n_items, n_participants)
        step("metadata")
    return SimulationSummary(
        out_dir=out,
        seed=seed,
        n_items=n_items,
        n_participants=n_participants,
        n_annotations=len(trials),
        n_constant=len(special["constant"]),
        n_careless=len(special["careless"]),
        n_contrary=len(special["contrary"]),
        n_short=len(special["short"]),
        files=[
            schema.VIDEO_URLS_FILE,
            schema.PARTICIPANTS_FILE,
            schema.STATIC_FILE,
            schema.DYNAMIC_FILE,
            schema.RAW_LOGS_FILE,
            *(f"{schema.EMOBASE_DIR}/{video_id}.csv" for video_id in items),
            schema.VISUAL_FEATURES_FILE,
            schema.GROUND_TRUTH_FILE,
            schema.METADATA_FILE,
            "README.md",
        ],
    )
