"""The one source of truth for the study's vocabulary and file layouts.

Modality names, the GEMS taxonomy, the 2 Hz time base, and the column
specifications of every published file live here; every other module imports
them from this file.

Examples:
    >>> MODALITIES
    ('music', 'visual', 'audiovisual')
    >>> to_modality("muted_video")
    'visual'
    >>> to_public_modality("audiovisual")
    'video'
    >>> len(GEMS_LABELS), len(GEMS_CATEGORIES), len(GEMS_SUPERFACTORS)
    (27, 9, 3)
    >>> GEMS_CATEGORY_OF["filled_with_wonder"], GEMS_SUPERFACTOR_OF["filled_with_wonder"]
    ('Wonder', 'Sublimity')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

# --------------------------------------------------------------------------
# Modalities (conditions)
# --------------------------------------------------------------------------

MODALITIES: Final = ("music", "visual", "audiovisual")
"""The toolkit's names of the three conditions, in the paper's order."""

PUBLIC_MODALITIES: Final = {"music": "music", "muted_video": "visual", "video": "audiovisual"}
"""Spelling in the published files -> the toolkit's name."""

MODALITY_TO_PUBLIC: Final = {v: k for k, v in PUBLIC_MODALITIES.items()}
"""The toolkit's name -> spelling in the published files."""

MODALITY_PAIRS: Final = (
    ("music", "visual"),
    ("music", "audiovisual"),
    ("visual", "audiovisual"),
)

DIMENSIONS: Final = ("valence", "arousal")


def to_modality(value: str) -> str:
    """Map a modality as spelled in a published file (or already in the
    toolkit's spelling) to the toolkit's name.

    Args:
        value: ``music``, ``muted_video``, ``video`` or a toolkit name.

    Returns:
        One of :data:`MODALITIES`.

    Raises:
        ValueError: the spelling is unknown.

    Examples:
        >>> to_modality("video"), to_modality("visual")
        ('audiovisual', 'visual')
    """
    key = str(value).strip()
    if key in PUBLIC_MODALITIES:
        return PUBLIC_MODALITIES[key]
    if key in MODALITIES:
        return key
    known = sorted(set(PUBLIC_MODALITIES) | set(MODALITIES))
    raise ValueError(f"unknown modality {value!r} (expected one of {', '.join(known)})")


def to_public_modality(modality: str) -> str:
    """The published spelling of a toolkit modality name (``visual`` -> ``muted_video``)."""
    return MODALITY_TO_PUBLIC[to_modality(modality)]


# --------------------------------------------------------------------------
# Time base
# --------------------------------------------------------------------------

SAMPLE_PERIOD_S: Final = 0.5
"""The time base of every series and feature row: 2 Hz."""
EXCERPT_SECONDS: Final = 60.0
ANALYSIS_SAMPLES: Final = 118
"""The analysis window: the first 118 samples (59 s) of every series."""
FEATURE_ROWS_ALLOWED: Final = (119, 120)
"""Rows per item in the published emobase files (one per 500 ms window)."""

# --------------------------------------------------------------------------
# GEMS-28 (27 labels), 9 categories, 3 superfactors
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GemsTerm:
    label: str
    """snake_case column name in ``media_data.csv``."""
    category: str
    superfactor: str

    @property
    def display(self) -> str:
        """Human-readable term, e.g. ``filled with wonder``."""
        return self.label.replace("_", " ")


_GEMS_TABLE: Final = (
    ("Sublimity", "Wonder", ("moved", "allured", "filled_with_wonder")),
    ("Sublimity", "Transcendence", ("fascinated", "overwhelmed", "feeling_of_transcendence")),
    ("Sublimity", "Peacefulness", ("serene", "calm", "soothed")),
    ("Sublimity", "Tenderness", ("tender", "affectionate", "mellow")),
    ("Sublimity", "Nostalgia", ("nostalgic", "sentimental", "dreamy")),
    ("Vitality", "Power", ("strong", "energetic", "triumphant")),
    ("Vitality", "Joyful activation", ("animated", "bouncy", "joyful")),
    ("Unease", "Sadness", ("sad", "tearful", "blue")),
    ("Unease", "Tension", ("tense", "agitated", "nervous")),
)

GEMS: Final = tuple(
    GemsTerm(label, category, superfactor)
    for superfactor, category, labels in _GEMS_TABLE
    for label in labels
)
GEMS_LABELS: Final = tuple(t.label for t in GEMS)
GEMS_CATEGORIES: Final = tuple(dict.fromkeys(t.category for t in GEMS))
GEMS_SUPERFACTORS: Final = tuple(dict.fromkeys(t.superfactor for t in GEMS))
GEMS_CATEGORY_OF: Final = {t.label: t.category for t in GEMS}
GEMS_SUPERFACTOR_OF: Final = {t.label: t.superfactor for t in GEMS}
GEMS_LABELS_OF_CATEGORY: Final = {
    c: tuple(t.label for t in GEMS if t.category == c) for c in GEMS_CATEGORIES
}

# --------------------------------------------------------------------------
# Overlay type (how the rating plane was shown)
# --------------------------------------------------------------------------

OVERLAID: Final = "overlaid"
SIDE_BY_SIDE: Final = "side_by_side"
OVERLAY_TYPES: Final = (OVERLAID, SIDE_BY_SIDE)
PUBLIC_OVERLAY: Final = {"1": OVERLAID, "0": SIDE_BY_SIDE, "irrelevant": None}
"""``overlay_type`` as published -> the toolkit's value (``None`` for music)."""
OVERLAY_TO_PUBLIC: Final = {OVERLAID: "1", SIDE_BY_SIDE: "0", None: "irrelevant"}

# --------------------------------------------------------------------------
# Published file layouts
# --------------------------------------------------------------------------

VIDEO_URLS_FILE: Final = "video_urls.csv"
PARTICIPANTS_FILE: Final = "participant_data.csv"
STATIC_FILE: Final = "media_data.csv"
DYNAMIC_FILE: Final = "av_data.csv"
EMOBASE_DIR: Final = "emobase_features"
VISUAL_FEATURES_FILE: Final = "combined_visual_features.csv"
RAW_LOGS_FILE: Final = "raw_av_logs.csv"
"""Raw cursor logs (not part of the public release; written by the simulator
and the study export): one row per logged cursor position."""
GROUND_TRUTH_FILE: Final = "simulation_ground_truth.csv"
METADATA_FILE: Final = "muvi_metadata.json"
"""Written beside a dataset made by the toolkit (simulator, study export);
carries the ``simulated`` flag."""

VIDEO_URLS_COLUMNS: Final = ("video_id",)
PARTICIPANT_COLUMNS: Final = (
    "participant_id",
    "age",
    "gender",
    "country_live_longest",
    "country_musical_enculturation",
    "lyric_language",
    "favorite_genre",
    "years_formal_training",
    "understood_yes_or_no",
    "overlay_pref",
)
STATIC_KEY_COLUMNS: Final = ("participant_id", "media_id", "media_modality", "seen_previously")
STATIC_COLUMNS: Final = (*STATIC_KEY_COLUMNS, *GEMS_LABELS, "overlay_type")
DYNAMIC_KEY_COLUMNS: Final = ("participant_id", "media_id", "media_modality")
ANNOTATION_KEYS: Final[tuple[str, str, str]] = ("participant_id", "media_id", "modality")
"""One annotation in the tidy tables: a participant, an item, a modality (toolkit name)."""
DYNAMIC_SAMPLE_COLUMN: Final = "seq"
"""The 2 Hz sample index column of ``av_data.csv`` (the name used by the
published reference code). The loader also accepts ``sample`` or a time
column in seconds (``time``)."""
DYNAMIC_COLUMNS: Final = (*DYNAMIC_KEY_COLUMNS, DYNAMIC_SAMPLE_COLUMN, "valence", "arousal")
RAW_LOG_COLUMNS: Final = (*DYNAMIC_KEY_COLUMNS, "timestamp", "valence", "arousal")
"""``timestamp`` is seconds since the media started playing."""
VISUAL_KEY_COLUMNS: Final = ("media_id", "frame")
"""The combined visual features CSV: ``media_id``, the 500 ms frame index, then
one column per feature."""

# Tidy, in-memory forms used everywhere in the toolkit (what loaders return):
#   static:   participant_id, media_id (full video id), modality, seen_previously (bool),
#             the 27 GEMS label columns (int 0/1, GEMS order), overlay (OVERLAID,
#             SIDE_BY_SIDE, or None for music)
#   dynamic:  participant_id, media_id, modality, sample (int, 2 Hz), time (s),
#             valence, arousal
#   features: index (media_id, sample), one float column per feature
ITEM_SAMPLE_INDEX: Final = ("media_id", "sample")


@lru_cache(maxsize=1)
def emobase_feature_names() -> tuple[str, ...]:
    """The 988 openSMILE emobase functional names, in their standard order
    (as the ``opensmile`` package lists them; shipped as ``emobase_names.txt``,
    written once from that list, so that simulating or loading a study does
    not need ``opensmile``; a test checks the file against the package).

    Examples:
        >>> names = emobase_feature_names()
        >>> len(names), names[0]
        (988, 'pcm_intensity_sma_max')
    """
    from importlib.resources import files

    text = files("muvi.data").joinpath("emobase_names.txt").read_text(encoding="utf-8")
    names = tuple(line for line in text.splitlines() if line)
    if len(names) != 988:  # pragma: no cover - guards a damaged installation
        raise RuntimeError(f"emobase_names.txt lists {len(names)} features, expected 988")
    return names


AUDIO_FEATURE_FAMILIES: Final = (
    ("mfcc", "MFCC"),
    ("lspFreq", "line spectral frequencies"),
    ("pcm_intensity", "intensity"),
    ("pcm_loudness", "loudness"),
    ("F0env", "pitch F0 envelope"),
    ("F0", "pitch F0"),
    ("voiceProb", "voicing probability"),
    ("pcm_zcr", "zero-crossing rate"),
)
"""Prefix of an emobase feature name -> its family (first match wins)."""


def audio_feature_family(name: str) -> str:
    """The family of an emobase feature name (the grouping of the LASSO feature importance,
    Chua et al. 2022 §6.3).

    Examples:
        >>> audio_feature_family("mfcc_sma[3]_amean")
        'MFCC'
        >>> audio_feature_family("F0env_sma_de_max")
        'pitch F0 envelope'
    """
    for prefix, family in AUDIO_FEATURE_FAMILIES:
        if name.startswith(prefix):
            return family
    return "other"


# --------------------------------------------------------------------------
# Feature families: the one list, and the published column layout derived from it
# --------------------------------------------------------------------------

HUE_BINS: Final = 18
"""Hue histogram bins (20 degrees each) over the HSV hue circle."""
SATURATION_BINS: Final = 8
FER_EXPRESSIONS: Final = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The seven FER2013 expression classes, in the dataset's label order."""
N_PLACES365_CLASSES: Final = 365
N_COCO_CLASSES: Final = 80
N_KINETICS400_CLASSES: Final = 400


@dataclass(frozen=True)
class FeatureFamily:
    """One family of features and its columns, in file order.

    The families registered here are the one description of the feature
    layout: :func:`visual_feature_columns` (the columns of
    ``combined_visual_features.csv``), :func:`visual_feature_family`, the
    extractors of :mod:`muvi.features` (each names its family) and the
    weights catalogue (each weights file names the family that uses it) all
    read it. Adding a family is registering it (:func:`register_family`) and
    registering an extractor that produces its columns.

    Attributes:
        name: the family's name; visual columns are named ``<name>__<feature>``.
        modality: ``audio`` (the emobase files) or ``visual`` (the combined CSV).
        columns: returns the family's column names, in file order.
        description: one line for reports and ``--help``.
    """

    name: str
    modality: Literal["audio", "visual"]
    columns: Callable[[], Sequence[str]] = field(compare=False)
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.modality not in ("audio", "visual"):
            raise ValueError(f"feature family {self.name!r}: unknown modality {self.modality!r}")
        if not self.name or "__" in self.name:
            raise ValueError(f"feature family name {self.name!r} must be non-empty, without '__'")


_FAMILIES: dict[str, FeatureFamily] = {}


def register_family(family: FeatureFamily, *, replace: bool = False) -> FeatureFamily:
    """Add a feature family (after the ones already registered).

    Args:
        family: the family.
        replace: allow replacing one already registered under that name.

    Returns:
        The family.

    Raises:
        ValueError: the name is taken and ``replace`` is False, or a visual
            family's column is not named ``<name>__<feature>``.
    """
    current = _FAMILIES.get(family.name)
    if current is not None and not replace and current is not family:
        raise ValueError(f"a feature family named {family.name!r} is already registered")
    if family.modality == "visual":
        wrong = [c for c in family.columns() if not c.startswith(f"{family.name}__")]
        if wrong:
            raise ValueError(
                f"feature family {family.name!r}: column {wrong[0]!r} is not named "
                f"'{family.name}__<feature>'"
            )
    _FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> None:
    """Remove a feature family (mainly for tests); unknown names are ignored."""
    _FAMILIES.pop(name, None)


def feature_families() -> tuple[FeatureFamily, ...]:
    """Every registered family: audio first, then the visual ones in file order.

    Examples:
        >>> [f.name for f in feature_families()]
        ['audio', 'colour', 'lighting', 'faces', 'scenes', 'objects', 'actions']
    """
    families = list(_FAMILIES.values())
    return tuple(sorted(families, key=lambda f: f.modality != "audio"))


def feature_family(name: str) -> FeatureFamily:
    """The family registered under ``name``.

    Raises:
        KeyError: no such family.
    """
    return _FAMILIES[name]


def visual_feature_family(name: str) -> str:
    """The family of a visual feature column named ``<family>__<name>``.

    Examples:
        >>> visual_feature_family("scenes__beach"), visual_feature_family("mfcc_sma[1]_max")
        ('scenes', 'other')
    """
    family, sep, _ = name.partition("__")
    known = _FAMILIES.get(family)
    return family if sep and known is not None and known.modality == "visual" else "other"


def visual_feature_columns() -> tuple[str, ...]:
    """The visual feature columns of every registered visual family, in file order.

    Classes of the scene, object and action models are named by their index
    in the model's class list (``scenes__000`` is Places365 class 0, ``objects__00``
    is COCO class 0 in the 80-class order, ``actions__000`` is Kinetics-400
    class 0), so the layout does not depend on which weights are installed.

    Examples:
        >>> cols = visual_feature_columns()
        >>> cols[0], cols[18], cols[26]
        ('colour__hue_00', 'colour__sat_00', 'lighting__brightness_mean')
        >>> len(cols)
        883
    """
    return tuple(c for f in feature_families() if f.modality == "visual" for c in f.columns())


def _numbered(family: str, n: int, width: int) -> Callable[[], tuple[str, ...]]:
    return lambda: tuple(f"{family}__{i:0{width}d}" for i in range(n))


for _family in (
    FeatureFamily(
        "audio", "audio", emobase_feature_names, "openSMILE emobase functionals, 988 per 500 ms"
    ),
    FeatureFamily(
        "colour",
        "visual",
        lambda: (
            *(f"colour__hue_{i:02d}" for i in range(HUE_BINS)),
            *(f"colour__sat_{i:02d}" for i in range(SATURATION_BINS)),
        ),
        "HSV hue (18 bins) and saturation (8 bins) histograms",
    ),
    FeatureFamily(
        "lighting",
        "visual",
        lambda: ("lighting__brightness_mean", "lighting__brightness_std", "lighting__key"),
        "brightness mean and spread, and the lighting key",
    ),
    FeatureFamily(
        "faces",
        "visual",
        lambda: ("faces__detected", "faces__count", *(f"faces__{e}" for e in FER_EXPRESSIONS)),
        "faces found and their FER2013 expressions",
    ),
    FeatureFamily(
        "scenes", "visual", _numbered("scenes", N_PLACES365_CLASSES, 3), "Places365 scene classes"
    ),
    FeatureFamily(
        "objects", "visual", _numbered("objects", N_COCO_CLASSES, 2), "COCO object classes"
    ),
    FeatureFamily(
        "actions",
        "visual",
        _numbered("actions", N_KINETICS400_CLASSES, 3),
        "Kinetics-400 action classes",
    ),
):
    register_family(_family)


STATIC_COLUMNS_PUBLISHED: Final = (
    *STATIC_KEY_COLUMNS,
    *[
        "moved",
        "nervous",
        "filled_with_wonder",
        "allured",
        "fascinated",
        "overwhelmed",
        "feeling_of_transcendence",
        "serene",
        "calm",
        "soothed",
        "tender",
        "affectionate",
        "mellow",
        "nostalgic",
        "sentimental",
        "dreamy",
        "strong",
        "energetic",
        "triumphant",
        "animated",
        "bouncy",
        "joyful",
        "sad",
        "tearful",
        "blue",
        "tense",
        "agitated",
    ],
    "overlay_type",
)
"""The column order of the published ``media_data.csv`` (its label columns are
not in GEMS order); writers of that file (simulator, study export) use it."""
