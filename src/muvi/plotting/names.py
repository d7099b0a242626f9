"""What the reader sees instead of code names: models, table columns, axes.

One mapping for the whole package, so figures, report tables and the
command line name a model or a column the same way. This module imports
nothing from :mod:`muvi.models`, so the models and ``muvi predict`` can
import it.

Examples:
    >>> model_name("exp5_early_fusion"), model_name("exp1_lstm"), model_name("exp3_lasso")
    ('Early fusion (A1)', 'LSTM, audio', 'LASSO, audio')
    >>> column_header("age_mean"), column_header("training_more_than_3")
    ('Age, mean (years)', 'Musical training > 3 years')
"""

from __future__ import annotations

import re
from typing import Final

from muvi.data.schema import GEMS_LABELS

ARCHITECTURE_NAMES: Final = {
    "lasso": "LASSO",
    "lstm": "LSTM",
    "early_fusion": "Early fusion (A1)",
    "late_fusion": "Late fusion (A2)",
    "pair": "PAIR",
}
"""Model kinds and architectures of Chua et al. 2022 -> display names."""

EXPERIMENT_FEATURES: Final = {
    1: "audio",
    2: "visual",
    3: "audio",
    4: "visual",
    5: "audio+visual",
    6: "audio+visual",
    7: "audio+visual",
}
"""The features each experiment of the paper's grid reads (experiments 1-7 of Chua et al.
2022, as :data:`muvi.models.protocol.EXPERIMENTS` runs them)."""

EXPERIMENT_ARCHITECTURE: Final = {
    1: "lstm",
    2: "lstm",
    3: "lstm",
    4: "lstm",
    5: "early_fusion",
    6: "late_fusion",
    7: "pair",
}
"""The neural model of each experiment (what ``lstm`` means in experiments 5-7)."""

MODEL_ORDER: Final = (
    "LASSO, audio",
    "LSTM, audio",
    "LASSO, visual",
    "LSTM, visual",
    "LASSO, audio+visual",
    "Early fusion (A1)",
    "Late fusion (A2)",
    "PAIR",
)
"""Every model of the grid by display name, in the order figures and tables list them
(and :func:`muvi.plotting.style.model_colour` colours them)."""

_CODE = re.compile(r"^exp(\d+)_([a-z_]+)$")


def model_name(code: str) -> str:
    """The display name of a model code of ``results.json`` (``exp5_early_fusion``).

    Single-modality models say which features they read ("LSTM, audio"); the
    fusion models their architecture ("Early fusion (A1)", "Late fusion (A2)",
    "PAIR"). A name that is not a code of the grid is returned unchanged, so
    display names pass through.

    Args:
        code: ``exp<N>_<kind>`` or any other name.

    Returns:
        The display name.

    Examples:
        >>> model_name("exp2_lstm"), model_name("exp7_pair"), model_name("exp5_lasso")
        ('LSTM, visual', 'PAIR', 'LASSO, audio+visual')
        >>> model_name("exp6_lstm"), model_name("my model")
        ('Late fusion (A2)', 'my model')
    """
    match = _CODE.match(code)
    if match is None:
        return code
    number, kind = int(match.group(1)), match.group(2)
    if number not in EXPERIMENT_FEATURES or kind not in ARCHITECTURE_NAMES:
        return code
    if kind == "lstm":
        kind = EXPERIMENT_ARCHITECTURE[number]
    if kind in ("lasso", "lstm"):
        return f"{ARCHITECTURE_NAMES[kind]}, {EXPERIMENT_FEATURES[number]}"
    return ARCHITECTURE_NAMES[kind]


MODALITY_NAMES: Final = {
    "music": "Music",
    "visual": "Visual (muted video)",
    "audiovisual": "Audiovisual (video)",
}
"""The three conditions as a reader would name them."""

AXIS_LABELS: Final = {
    "valence": "Valence (rating, −1 to 1)",
    "arousal": "Arousal (rating, −1 to 1)",
    "time": "Time (s)",
    "video_time": "Time in the video (s)",
    "ccc": "CCC (Lin's concordance, −1 to 1)",
    "rmse": "RMSE (rating units)",
    "pearson": "Pearson r",
    "item_share": "Annotations that ticked the label (%)",
    "selections": "Selections (count)",
    "density": "Density (share of samples per bin)",
}
"""Axis labels with their units."""

COLUMN_HEADERS: Final = {
    "n": "N",
    "count": "Count",
    "mean": "Mean",
    "std": "SD",
    "sd": "SD",
    "min": "Min",
    "max": "Max",
    "median": "Median",
    "age_mean": "Age, mean (years)",
    "age_std": "Age, SD (years)",
    "age_min": "Age, min (years)",
    "age_max": "Age, max (years)",
    "age_median": "Age, median (years)",
    "training_mean": "Musical training, mean (years)",
    "training_std": "Musical training, SD (years)",
    "training_min": "Musical training, min (years)",
    "training_max": "Musical training, max (years)",
    "training_median": "Musical training, median (years)",
    "training_more_than_3": "Musical training > 3 years",
    "training_3_or_less": "Musical training ≤ 3 years",
    "years_of_training": "Musical training (years)",
    "participant_id": "Participant",
    "media_id": "Item",
    "modality": "Modality",
    "dimension": "Dimension",
    "annotations": "Annotations",
    "selections": "Selections (count)",
    "participants": "Participants",
    "items": "Items",
    "samples": "Samples (2 Hz)",
    "reason": "Reason",
    "superfactor": "Superfactor",
    "category": "Category",
    "label": "Label",
    "group": "Group",
    "grouping": "Grouping",
    "share": "Share of selections (%)",
    "item_share": "Annotations that ticked it (%)",
    "any_share": "Annotations with any label of it (%)",
    "distinct_labels": "Distinct labels",
    "a": "A",
    "b": "B",
    "r": "Pearson r",
    "p": "p",
    "p_value": "p",
    "p_holm": "p, Holm-corrected",
    "q_value": "q (Benjamini-Hochberg FDR)",
    "ccc_p": "CCC p",
    "ccc_p_holm": "CCC p, Holm-corrected",
    "mse_p": "MSE p",
    "mse_p_holm": "MSE p, Holm-corrected",
    "t": "t",
    "name": "Model",
    "metric": "Metric",
    "n_items": "Items (N)",
    "n_samples": "Samples (N, 2 Hz)",
    "mean_a": "Mean of A",
    "mean_b": "Mean of B",
    "chi2": "χ²",
    "dof": "df",
    "statistic": "Statistic",
    "valence": "Valence",
    "arousal": "Arousal",
    "valence_mean": "Valence, mean",
    "valence_std": "Valence, SD",
    "arousal_mean": "Arousal, mean",
    "arousal_std": "Arousal, SD",
    "ccc": "CCC",
    "ccc_mean": "CCC, mean",
    "ccc_std": "CCC, SD",
    "rmse": "RMSE",
    "rmse_mean": "RMSE, mean",
    "rmse_std": "RMSE, SD",
    "mse": "MSE",
    "mse_mean": "MSE, mean",
    "mse_std": "MSE, SD",
    "pearson": "Pearson r",
    "pair": "Modality pair",
    "r_mean": "Pearson r, mean",
    "r_std": "Pearson r, SD",
    "observed": "Observed",
    "expected": "Expected",
    "adjusted_residual": "Adjusted residual",
    "median_valence": "Median valence",
    "median_arousal": "Median arousal",
    "test": "Test",
    "seen_previously": "Seen before",
    "measure": "Measure",
    "variable": "Question",
    "value": "Value",
    "gender": "Gender",
    "favorite_genre": "Favourite genre",
    "lyric_language": "Language of the lyrics",
    "overlay_pref": "Preferred overlay",
    "training": "Musical training",
    "familiarity": "Seen before",
    "overlay": "Overlay",
    "issue": "Note",
    "level": "Level",
    "residual": "Residual",
    "static": "Static annotations",
    "dynamic": "Dynamic annotations",
    "dropped_labels": "Labels nobody ticked (left out)",
    "groups": "Groups",
    "overlay_type": "Overlay",
}
"""Column names of muvi's tables -> report headers (units in parentheses)."""


def column_header(column: object) -> str:
    """The report header of a table column.

    Known names come from :data:`COLUMN_HEADERS`; a GEMS label is written with
    spaces; other snake_case names get spaces and a capital first letter;
    anything else (already readable headers) is kept.

    Args:
        column: the column name.

    Returns:
        The header text.

    Examples:
        >>> column_header("age_std"), column_header("filled_with_wonder")
        ('Age, SD (years)', 'filled with wonder')
        >>> column_header("n_annotations"), column_header("music share %")
        ('N annotations', 'music share %')
    """
    name = str(column)
    if name in COLUMN_HEADERS:
        return COLUMN_HEADERS[name]
    if name in GEMS_LABELS:
        return name.replace("_", " ")
    if re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", name):
        text = name.replace("_", " ")
        return text[0].upper() + text[1:]
    return name
