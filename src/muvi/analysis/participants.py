"""Who took part: count, gender, age, musical training, preferred layout (Chua et al. 2022, §3.2).

Examples:
    >>> import pandas as pd
    >>> people = pd.DataFrame({
    ...     "participant_id": [1, 2, 3], "age": [20, 22, 27],
    ...     "gender": ["Female", "Male", "Female"], "years_formal_training": [0, 4, 8],
    ...     "overlay_pref": ["Overlaid", "Side-by-Side", "Side-by-Side"]})
    >>> s = participants_summary(people)
    >>> s["n"], s["gender"], s["age_mean"], s["age_std"]
    (3, {'Female': 2, 'Male': 1}, 23.0, 3.605551275463989)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from muvi.errors import DataError

TRAINING_THRESHOLD_YEARS = 3
"""The paper splits participants into 3 years of formal musical training or
less against more than 3."""


def training_group(years: pd.Series) -> pd.Series:
    """The musical training group of each participant: ``<=3 years`` or ``>3 years``.

    Examples:
        >>> training_group(pd.Series([0, 3, 4])).tolist()
        ['<=3 years', '<=3 years', '>3 years']
    """
    years = pd.to_numeric(years, errors="coerce")
    group = pd.Series(
        [
            None
            if pd.isna(y)
            else (
                f"<={TRAINING_THRESHOLD_YEARS} years"
                if y <= TRAINING_THRESHOLD_YEARS
                else f">{TRAINING_THRESHOLD_YEARS} years"
            )
            for y in years
        ],
        index=years.index,
        dtype=object,
    )
    return group


def _require(participants: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in participants.columns]
    if missing:
        raise DataError(f"participant table lacks column(s) {', '.join(missing)}")


def describe_participants(participants: pd.DataFrame) -> pd.DataFrame:
    """Count, age and years of musical training of the participants.

    Args:
        participants: one row per participant (``participant_id``, ``age``,
            ``years_formal_training``, ...), as loaded from ``participant_data.csv``.

    Returns:
        A table with columns ``measure`` and ``value``: ``n``, ``age_mean``,
        ``age_std`` (sample standard deviation), ``age_min``, ``age_max``,
        ``training_mean``, ``training_std``, ``training_median``,
        ``training_min``, ``training_max``, ``training_more_than_3`` (number
        of participants with more than 3 years).

    Examples:
        >>> people = pd.DataFrame({"participant_id": [1, 2], "age": [20, 24],
        ...                        "years_formal_training": [1, 5]})
        >>> float(describe_participants(people).set_index("measure").loc["age_std", "value"])
        2.8284271247461903
    """
    _require(participants, ("participant_id", "age", "years_formal_training"))
    age = pd.to_numeric(participants["age"], errors="coerce").dropna()
    training = pd.to_numeric(participants["years_formal_training"], errors="coerce").dropna()
    rows = [
        ("n", float(participants["participant_id"].nunique())),
        ("age_mean", float(age.mean())),
        ("age_std", float(age.std(ddof=1))),
        ("age_min", float(age.min())),
        ("age_max", float(age.max())),
        ("training_mean", float(training.mean())),
        ("training_std", float(training.std(ddof=1))),
        ("training_median", float(training.median())),
        ("training_min", float(training.min())),
        ("training_max", float(training.max())),
        ("training_more_than_3", float((training > TRAINING_THRESHOLD_YEARS).sum())),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"])


PROFILE_COUNTS = ("gender", "overlay_pref", "favorite_genre", "lyric_language")
"""Profile columns whose answers are counted in :func:`count_participants`."""


def count_participants(participants: pd.DataFrame) -> pd.DataFrame:
    """How many participants gave each answer of the profile questions.

    Counts ``gender``, ``overlay_pref`` (preferred layout), ``favorite_genre``,
    ``lyric_language`` (those present) and the musical training group.

    Returns:
        A table with columns ``variable``, ``value``, ``count``, most frequent
        answer first within each variable.

    Examples:
        >>> people = pd.DataFrame({"participant_id": [1, 2, 3],
        ...     "gender": ["Male", "Female", "Male"], "years_formal_training": [0, 9, 2]})
        >>> count_participants(people).values.tolist()
        [['gender', 'Male', 2], ['gender', 'Female', 1], ['training', '<=3 years', 2], ['training', '>3 years', 1]]
    """
    frames = []
    columns = [c for c in PROFILE_COUNTS if c in participants.columns]
    table = participants[columns].copy()
    if "years_formal_training" in participants.columns:
        table["training"] = training_group(participants["years_formal_training"])
        columns.append("training")
    for column in columns:
        counts = table[column].dropna().astype(str).value_counts()
        frame = pd.DataFrame({"variable": column, "value": counts.index, "count": counts.values})
        frames.append(frame.sort_values(["count", "value"], ascending=[False, True]))
    if not frames:
        return pd.DataFrame(columns=["variable", "value", "count"])
    out = pd.concat(frames, ignore_index=True)
    out["count"] = out["count"].astype(int)
    return out


def participants_summary(participants: pd.DataFrame) -> dict[str, Any]:
    """The ``participants`` block of ``summary.json``.

    Returns:
        ``{"n", "gender": {value: count}, "age_mean", "age_std" (sample),
        "age_min", "age_max", "layout_preference": {value: count}}``.
    """
    measures = describe_participants(participants).set_index("measure")["value"]
    counts = count_participants(participants)

    def counted(variable: str) -> dict[str, int]:
        sub = counts[counts["variable"] == variable]
        return {str(v): int(c) for v, c in zip(sub["value"], sub["count"], strict=True)}

    def number(key: str) -> float | int:
        value = float(measures[key])
        return int(value) if value.is_integer() and key in ("age_min", "age_max") else value

    return {
        "n": int(measures["n"]),
        "gender": counted("gender"),
        "age_mean": number("age_mean"),
        "age_std": number("age_std"),
        "age_min": number("age_min"),
        "age_max": number("age_max"),
        "layout_preference": counted("overlay_pref"),
    }
