"""Online data collection: recruitment panels, per-study texts and questions,
and data-quality aids (sound check, attention trials, screen size).

A study's online options (:class:`OnlineOptions`) are set on the runner's
study form and kept as JSON beside the study; the defaults are the MuVi
study's (no panel, the standard consent and instructions, the seven profile
questions of ``participant_data.csv``, no checks), so a study made without
them behaves as before.

The export (:func:`export_online`) adds four files to the published layout,
whose files stay exactly as published:

``panel_data.csv``
    one row per participant who signed up: ``participant_id`` (as in
    ``participant_data.csv``), one column per recorded URL parameter,
    ``finished`` (``True``/``False``), ``completion_code`` (the code shown
    to a finished participant, else empty), ``signed_up_at``, ``finished_at``.
``profile_questions.csv``
    ``participant_id`` and one column per question the runner added (named by
    its id); the seven published profile columns stay in
    ``participant_data.csv``.
``quality.csv``
    one row per participant: screen size, ``sound_check`` (``passed``,
    ``failed``, ``not_taken`` or ``off``), ``sound_check_attempts``,
    ``attention_trials`` and ``attention_passed``. Exports made before the
    sound check was named for what it tests call these two columns
    ``headphone_check`` and ``headphone_attempts``; :func:`read_quality`
    reads both.
``attention.csv``
    one row per finished attention trial: its target, tolerance, the mean
    cursor position over the second half of the excerpt, the distance to the
    target and ``passed``.

Attention trials are neither rated items nor practice: they are left out of
the published files and of every analysis.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import secrets
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd
from markupsafe import Markup
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from muvi.data.schema import PARTICIPANT_COLUMNS
from muvi.study import service
from muvi.study.csvsafe import write_csv
from muvi.study.models import Item, Participant, Sample, Study, Trial
from muvi.study.online_models import ParticipantOnline, StudyOnline
from muvi.study.service import MediaSpec, StudyError

HERE = Path(__file__).parent

# --------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelPreset:
    """The URL parameters a recruitment panel appends to the study link, and
    where it wants a finished participant sent (``{code}``: the completion code)."""

    title: str
    params: tuple[str, ...]
    redirect_url: str = ""
    link_suffix: str = ""
    """What to append to the invite link when entering it on the panel's site."""


PANEL_PRESETS: dict[str, PanelPreset] = {
    "prolific": PanelPreset(
        "Prolific",
        ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
        "https://app.prolific.com/submissions/complete?cc={code}",
        "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}",
    ),
    "mturk": PanelPreset("Amazon Mechanical Turk", ("workerId", "assignmentId", "hitId")),
    "sona": PanelPreset("SONA Systems", ("id",), link_suffix="?id=%SURVEY_CODE%"),
}
"""Prolific, MTurk and SONA: the parameters each one passes (their documented names)."""

_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_PARAM_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}")
"""A panel value: no leading ``-`` or ``@``, so no spreadsheet reads it as a formula."""
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")

# --------------------------------------------------------------------------
# Texts and questions
# --------------------------------------------------------------------------

DEFAULT_CONSENT = (
    "You will hear music, watch muted videos and watch music videos, and tell us continuously "
    "which emotion they convey by moving a cursor on a plane; after each item you pick the words "
    "that describe it. Your answers are stored anonymously, with the profile below. You can stop "
    "at any time; your personal link lets you continue later."
)
"""The consent text of the MuVi study app (the default)."""

DEFAULT_INSTRUCTIONS = """Each item plays for {seconds} seconds. While it plays, keep the cursor on the plane where it shows the emotion the item conveys **right now**:

- **valence** (left to right): from negative, unpleasant, to positive, pleasant;
- **arousal** (bottom to top): from calm, low energy, to excited, high energy.

Move the mouse over the plane, drag with a finger on a touch screen, or click the plane and use the arrow keys. The current coordinates are shown under the plane. Music items play sound only, some videos are muted, and the plane is drawn either over the video or beside it.

After each item, say whether you had seen or heard it before, and tick every word that describes the emotion of the item as a whole (at least one)."""
"""The instructions of the MuVi study app (the default); ``{seconds}`` is the excerpt length."""

QUESTION_KINDS = ("text", "number", "choice", "country")


@dataclass(frozen=True)
class Question:
    """A profile question the runner adds to the seven published ones.

    Attributes:
        id: its column name in ``profile_questions.csv``.
        kind: ``text``, ``number`` (whole number in ``low``..``high``),
            ``choice`` (one of ``choices``) or ``country`` (ISO 3166 list).
        label: the question as shown.
        choices: the answers of a ``choice`` question.
        low: smallest answer of a ``number`` question.
        high: largest answer of a ``number`` question.
        required: whether an answer is needed.
    """

    id: str
    kind: str
    label: str
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 1000
    required: bool = True


def parse_questions(text: str) -> tuple[Question, ...]:
    """Read the runner's questions, one per line: ``id | kind | label [| detail] [| optional]``;
    the detail of a ``choice`` question is its answers separated by ``;``, of a
    ``number`` question its range ``low-high``.

    Examples:
        >>> q = parse_questions("hand | choice | Writing hand? | left; right\\nhours | number | Hours a day | 0-24 | optional")
        >>> q[0].choices, q[1].low, q[1].high, q[1].required
        (('left', 'right'), 0, 24, False)
    """
    questions: list[Question] = []
    reserved = set(PARTICIPANT_COLUMNS)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        required = True
        if len(parts) > 3 and parts[-1].lower() == "optional":
            required = False
            parts = parts[:-1]
        if len(parts) not in (3, 4) or not parts[2]:
            raise StudyError(
                f"questions, line {number}: expected 'id | kind | label [| detail] [| optional]'"
            )
        qid, kind, label = parts[0], parts[1].lower(), parts[2]
        detail = parts[3] if len(parts) == 4 else ""
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", qid):
            raise StudyError(
                f"questions, line {number}: id {qid!r} must be 1-40 lower-case letters, digits or _"
            )
        if qid in reserved or qid == "participant_id" or any(q.id == qid for q in questions):
            raise StudyError(f"questions, line {number}: id {qid!r} is used already")
        if kind not in QUESTION_KINDS:
            raise StudyError(
                f"questions, line {number}: kind {kind!r} must be one of {', '.join(QUESTION_KINDS)}"
            )
        if len(label) > 300:
            raise StudyError(f"questions, line {number}: the label is longer than 300 characters")
        choices: tuple[str, ...] = ()
        low, high = 0, 1000
        if kind == "choice":
            choices = tuple(dict.fromkeys(c.strip() for c in detail.split(";") if c.strip()))
            if len(choices) < 2:
                raise StudyError(
                    f"questions, line {number}: a choice question needs two or more answers "
                    "separated by ';'"
                )
        elif kind == "number" and detail:
            found = re.fullmatch(r"(-?\d+)\s*-\s*(-?\d+)", detail)
            if found is None or int(found[1]) > int(found[2]):
                raise StudyError(
                    f"questions, line {number}: range {detail!r} must read low-high, e.g. 0-24"
                )
            low, high = int(found[1]), int(found[2])
        elif detail:
            raise StudyError(
                f"questions, line {number}: a {kind} question takes no detail (got {detail!r})"
            )
        questions.append(Question(qid, kind, label, choices, low, high, required))
    return tuple(questions)


@lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """The ISO 3166-1 alpha-2 codes and short English names (package data).

    Examples:
        >>> dict(countries())["SG"], len(countries())
        ('Singapore', 249)
    """
    data = json.loads((HERE / "countries.json").read_text(encoding="utf-8"))
    return tuple((str(code), str(name)) for code, name in data["countries"])


def country_code(value: str, what: str) -> str:
    """An ISO 3166-1 alpha-2 code from a form field (any case), or a clear error.

    Examples:
        >>> country_code("gb", "country")
        'GB'
    """
    code = value.strip().upper()
    if code not in dict(countries()):
        raise StudyError(f"{what}: choose a country from the list")
    return code


def check_answers(questions: Sequence[Question], form: Mapping[str, str]) -> dict[str, Any]:
    """Validate the answers to the runner's questions (form fields ``q_<id>``).

    Returns:
        ``{id: answer}`` (an int for number questions; empty string for an
        unanswered optional question).

    Examples:
        >>> qs = parse_questions("hours | number | Hours a day | 0-24")
        >>> check_answers(qs, {"q_hours": "3"})
        {'hours': 3}
    """
    answers: dict[str, Any] = {}
    for q in questions:
        raw = str(form.get(f"q_{q.id}", "")).strip()
        if not raw:
            if q.required:
                raise StudyError(f"please answer: {q.label}")
            answers[q.id] = ""
            continue
        if q.kind == "number":
            try:
                value = int(raw)
            except ValueError:
                raise StudyError(f"{q.label}: give a whole number") from None
            if not q.low <= value <= q.high:
                raise StudyError(f"{q.label}: give a number between {q.low} and {q.high}")
            answers[q.id] = value
        elif q.kind == "choice":
            if raw not in q.choices:
                raise StudyError(f"{q.label}: choose one of the answers listed")
            answers[q.id] = raw
        elif q.kind == "country":
            answers[q.id] = country_code(raw, q.label)
        else:
            if len(raw) > 500:
                raise StudyError(f"{q.label}: at most 500 characters")
            answers[q.id] = raw
    return answers


def paragraphs(text: str) -> Markup:
    """Plain text as HTML: paragraphs split at blank lines, lines starting with
    ``- `` as a list, ``**words**`` in bold; everything else escaped.

    Examples:
        >>> str(paragraphs("One **two** <b>.\\n\\n- a\\n- b"))
        '<p>One <b>two</b> &lt;b&gt;.</p>\\n<ul><li>a</li><li>b</li></ul>'
    """

    def inline(line: str) -> str:
        return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escape(line, quote=False))

    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            blocks.append("<ul>" + "".join(f"<li>{inline(x[2:])}</li>" for x in lines) + "</ul>")
        elif lines:
            blocks.append("<p>" + " ".join(inline(x) for x in lines) + "</p>")
    return Markup("\n".join(blocks))


# --------------------------------------------------------------------------
# Attention trials
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionSpec:
    """An attention trial: a clip with a known emotion region, or an
    instructed-response item (``instruction`` set, e.g. "move the cursor to
    the top right corner and keep it there").

    It passes when the mean cursor position over the second half of the
    excerpt lies within ``tolerance`` (Euclidean, plane units) of
    (``valence``, ``arousal``).
    """

    media_id: str
    media_file: str
    start_s: float
    valence: float
    arousal: float
    tolerance: float
    instruction: str = ""

    @property
    def kind(self) -> str:
        return "instructed" if self.instruction else "known_emotion"


def parse_attention(text: str) -> tuple[AttentionSpec, ...]:
    """Read attention trials, one per line:
    ``media_id, media_file, start_s, valence, arousal, tolerance[, instruction]``.

    Examples:
        >>> parse_attention("att1, red.webm, 0, 0.8, 0.8, 0.4, Move the cursor to the top right, and stay")[0].instruction
        'Move the cursor to the top right, and stay'
    """
    specs: list[AttentionSpec] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",", 6)]
        if len(parts) < 6:
            raise StudyError(
                f"attention trials, line {number}: expected 'media_id, media_file, start_s, "
                "valence, arousal, tolerance[, instruction]'"
            )
        try:
            start, valence, arousal, tolerance = (float(p) for p in parts[2:6])
        except ValueError:
            raise StudyError(
                f"attention trials, line {number}: start, valence, arousal and tolerance must be numbers"
            ) from None
        if not all(math.isfinite(x) for x in (start, valence, arousal, tolerance)):
            raise StudyError(f"attention trials, line {number}: numbers must be finite")
        if not (-1 <= valence <= 1 and -1 <= arousal <= 1):
            raise StudyError(
                f"attention trials, line {number}: valence and arousal must lie in [-1, 1]"
            )
        if not 0 < tolerance <= 2:
            raise StudyError(
                f"attention trials, line {number}: tolerance must be above 0 and at most 2"
            )
        instruction = parts[6] if len(parts) == 7 else ""
        if len(instruction) > 300:
            raise StudyError(f"attention trials, line {number}: instruction over 300 characters")
        if any(s.media_id == parts[0] for s in specs):
            raise StudyError(f"attention trials, line {number}: media id {parts[0]!r} twice")
        specs.append(
            AttentionSpec(parts[0], parts[1], start, valence, arousal, tolerance, instruction)
        )
    return tuple(specs)


@dataclass(frozen=True)
class AttentionOutcome:
    """How a participant did on an attention trial."""

    mean_valence: float
    mean_arousal: float
    distance: float
    n_samples: int
    passed: bool


def attention_outcome(
    samples: Sequence[tuple[float, float, float]], spec: AttentionSpec, excerpt_seconds: float
) -> AttentionOutcome:
    """Judge an attention trial from its cursor samples ``(timestamp, valence, arousal)``.

    Examples:
        >>> spec = AttentionSpec("a", "a.webm", 0, 0.8, 0.8, 0.3)
        >>> late = [(t, 0.7, 0.9) for t in (2.0, 2.5, 3.0)]
        >>> attention_outcome([(0.0, -1.0, -1.0), *late], spec, 4.0).passed
        True
        >>> attention_outcome([(0.0, 0.8, 0.8)], spec, 4.0).passed  # nothing in the second half
        False
    """
    late = [(v, a) for t, v, a in samples if t >= excerpt_seconds / 2]
    if not late:
        return AttentionOutcome(math.nan, math.nan, math.nan, 0, False)
    mean_v = sum(v for v, _ in late) / len(late)
    mean_a = sum(a for _, a in late) / len(late)
    distance = math.hypot(mean_v - spec.valence, mean_a - spec.arousal)
    return AttentionOutcome(mean_v, mean_a, distance, len(late), distance <= spec.tolerance)


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------


RENAMED_OPTIONS = {"headphone_check": "sound_check", "headphone_attempts": "sound_check_attempts"}
"""Option and ``quality.csv`` names before the sound check was named for what it tests."""


@dataclass
class OnlineOptions:
    """A study's online options; every default is the MuVi study's behaviour.

    Attributes:
        panel: the recruitment-panel preset (a key of :data:`PANEL_PRESETS`) or "".
        url_params: the URL parameters recorded on arrival (first: the panel's
            participant id, one sign-up per value).
        require_params: refuse arrivals whose link lacks them.
        completion_code: shown to finished participants (and put in the redirect).
        redirect_url: where finished participants are sent; ``{code}`` and
            ``{<param>}`` are replaced by the code and the recorded values.
        consent_text: the consent shown before the profile questions.
        instructions_text: the rating instructions (``{seconds}``: excerpt length).
        questions: profile questions added to the seven published ones.
        sound_check: a sound check before the practice trials (count quiet
            beeps; it tests that sound plays and is loud enough, not
            headphones; named ``headphone_check`` in studies made before).
        sound_check_attempts: attempts allowed; after the last failure the
            participant continues and the failure is recorded.
        fullscreen: ask for full screen when an item starts.
        min_screen_px: refuse screens whose shorter side is smaller (CSS
            pixels; 0 accepts phones).
        attention: the attention trials, spread among the rated items.
    """

    panel: str = ""
    url_params: tuple[str, ...] = ()
    require_params: bool = False
    completion_code: str = ""
    redirect_url: str = ""
    consent_text: str = DEFAULT_CONSENT
    instructions_text: str = DEFAULT_INSTRUCTIONS
    questions: tuple[Question, ...] = ()
    sound_check: bool = False
    sound_check_attempts: int = 3
    fullscreen: bool = False
    min_screen_px: int = 0
    attention: tuple[AttentionSpec, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> OnlineOptions:
        data = json.loads(text)
        data["url_params"] = tuple(data.get("url_params", ()))
        data["questions"] = tuple(
            Question(**{**q, "choices": tuple(q.get("choices", ()))})
            for q in data.get("questions", ())
        )
        data["attention"] = tuple(AttentionSpec(**a) for a in data.get("attention", ()))
        for old, new in RENAMED_OPTIONS.items():  # options stored before the rename
            if old in data:
                data.setdefault(new, data.pop(old))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def link_suffix(self) -> str:
        """What to append to the invite link on the panel's site."""
        preset = PANEL_PRESETS.get(self.panel)
        if preset is not None and preset.params == self.url_params and preset.link_suffix:
            return preset.link_suffix
        return "".join(f"{'?' if i == 0 else '&'}{p}=..." for i, p in enumerate(self.url_params))


def check_redirect(url: str, params: Sequence[str]) -> str:
    """Validate a redirect template: an absolute http(s) URL whose ``{...}``
    placeholders are ``{code}`` or recorded parameters.

    Examples:
        >>> check_redirect("https://app.prolific.com/submissions/complete?cc={code}", ())
        'https://app.prolific.com/submissions/complete?cc={code}'
    """
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or any(c in url for c in " \"'<>\\")
    ):
        raise StudyError("the redirect URL must be a full http:// or https:// address")
    for name in re.findall(r"\{([^{}]*)\}", url):
        if name != "code" and name not in params:
            raise StudyError(
                f"the redirect URL names {{{name}}}: only {{code}} and the recorded URL "
                "parameters can be filled in"
            )
    return url


def options_from_form(form: Mapping[str, str], media_dir: Path) -> OnlineOptions:
    """The online options from the runner's study form (validated; media checked).

    Args:
        form: the posted fields (see ``study_new.html``).
        media_dir: the media folder (for the attention clips).

    Returns:
        The options, with the preset's parameters, redirect and a random
        completion code filled in where the runner left them empty.
    """
    panel = form.get("panel", "").strip()
    if panel and panel not in PANEL_PRESETS and panel != "custom":
        raise StudyError(f"unknown panel {panel!r}")
    preset = PANEL_PRESETS.get(panel)
    params = tuple(p.strip() for p in re.split(r"[,\s]+", form.get("url_params", "")) if p.strip())
    if not params and preset is not None:
        params = preset.params
    for p in params:
        if not _PARAM_NAME.fullmatch(p):
            raise StudyError(f"URL parameter {p!r} must be letters, digits or _ (up to 40)")
    if len(set(params)) != len(params) or len(params) > 10:
        raise StudyError("URL parameters must be distinct, at most 10")
    redirect = form.get("redirect_url", "").strip()
    if not redirect and preset is not None:
        redirect = preset.redirect_url
    redirect = check_redirect(redirect, params)
    code = form.get("completion_code", "").strip()
    if code and not _CODE.fullmatch(code):
        raise StudyError("the completion code may hold only letters, digits, _ and - (up to 64)")
    if not code and (params or redirect):
        code = secrets.token_hex(4).upper()

    def integer(name: str, low: int, high: int, default: int) -> int:
        raw = form.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise StudyError(f"{name.replace('_', ' ')} must be a whole number") from None
        if not low <= value <= high:
            raise StudyError(f"{name.replace('_', ' ')} must be between {low} and {high}")
        return value

    consent = form.get("consent_text", "").strip() or DEFAULT_CONSENT
    instructions = form.get("instructions_text", "").strip() or DEFAULT_INSTRUCTIONS
    for name, text in (("consent text", consent), ("instructions", instructions)):
        if len(text) > 20_000:
            raise StudyError(f"the {name} is longer than 20000 characters")
    attention = parse_attention(form.get("attention", ""))
    for spec in attention:
        service._check_media(
            MediaSpec(spec.media_id, spec.media_file, spec.start_s), media_dir, "attention trial"
        )
    return OnlineOptions(
        panel=panel,
        url_params=params,
        require_params=form.get("require_params") == "on",
        completion_code=code,
        redirect_url=redirect,
        consent_text=consent,
        instructions_text=instructions,
        questions=parse_questions(form.get("questions", "")),
        sound_check=form.get("sound_check") == "on",
        sound_check_attempts=integer("sound_check_attempts", 1, 10, 3),
        fullscreen=form.get("fullscreen") == "on",
        min_screen_px=integer("min_screen_px", 0, 4000, 0),
        attention=attention,
    )


def questions_text(questions: Sequence[Question]) -> str:
    """The questions in the form's line format (to show them again)."""
    lines = []
    for q in questions:
        detail = (
            "; ".join(q.choices)
            if q.kind == "choice"
            else (f"{q.low}-{q.high}" if q.kind == "number" else "")
        )
        line = " | ".join(x for x in (q.id, q.kind, q.label, detail) if x)
        lines.append(line + ("" if q.required else " | optional"))
    return "\n".join(lines)


def save_options(session: Session, study: Study, options: OnlineOptions) -> None:
    """Store a study's online options and its attention clips (committed).

    Args:
        session: an open database session.
        study: the study, just created.
        options: its options (see :func:`options_from_form`).
    """
    session.add(StudyOnline(study_id=study.id, options=options.to_json()))
    session.add_all(
        Item(
            study_id=study.id,
            role="attention",
            position=i,
            media_id=spec.media_id,
            media_file=spec.media_file,
            start_s=spec.start_s,
        )
        for i, spec in enumerate(options.attention)
    )
    session.commit()


def replace_options(session: Session, study: Study, options: OnlineOptions) -> None:
    """Store new online options for a study nobody has signed up for (committed);
    its attention clips are replaced by those of ``options``."""
    session.execute(delete(StudyOnline).where(StudyOnline.study_id == study.id))
    session.execute(delete(Item).where(Item.study_id == study.id, Item.role == "attention"))
    save_options(session, study, options)


def study_options(session: Session, study_id: int) -> OnlineOptions:
    """A study's online options.

    Args:
        session: an open database session.
        study_id: the study.

    Returns:
        Its options; the defaults (the MuVi study's) when it has none.
    """
    row = session.get(StudyOnline, study_id)
    return OnlineOptions() if row is None else OnlineOptions.from_json(row.options)


def attention_items(session: Session, study: Study) -> list[Item]:
    """The study's attention clips as items, in their defined order."""
    return service.study_items(session, study, "attention")


# --------------------------------------------------------------------------
# Arrival and sign-up
# --------------------------------------------------------------------------


def panel_values(options: OnlineOptions, query: Mapping[str, str]) -> dict[str, str]:
    """The study's URL parameters found in an arrival's query (or form), checked.

    Examples:
        >>> opts = OnlineOptions(url_params=("PROLIFIC_PID", "STUDY_ID"))
        >>> panel_values(opts, {"PROLIFIC_PID": "5f1a", "other": "x"})
        {'PROLIFIC_PID': '5f1a'}
    """
    values = {}
    for name in options.url_params:
        value = str(query.get(name, "")).strip()
        if not value:
            continue
        if not _PARAM_VALUE.fullmatch(value):
            raise StudyError(
                f"the link's {name} parameter must be 1-128 letters, digits or . _ : @ - "
                "(starting with a letter, digit or _)"
            )
        values[name] = value
    if options.require_params:
        missing = [n for n in options.url_params if n not in values]
        if missing:
            raise StudyError(
                "this study link must be opened from the recruitment site: it lacks "
                + ", ".join(missing)
            )
    return values


def check_screen(options: OnlineOptions, form: Mapping[str, str]) -> tuple[int | None, int | None]:
    """The screen size the sign-up page measured; refuses a screen smaller
    than the study allows (its shorter side, CSS pixels).

    Examples:
        >>> check_screen(OnlineOptions(min_screen_px=600), {"screen_width": "1280", "screen_height": "800"})
        (1280, 800)
    """

    def pixels(name: str) -> int | None:
        try:
            value = int(str(form.get(name, "")).strip())
        except ValueError:
            return None
        return value if 0 < value < 100_000 else None

    width, height = pixels("screen_width"), pixels("screen_height")
    if options.min_screen_px:
        if width is None or height is None:
            raise StudyError(
                "the size of your screen could not be read: please allow JavaScript and reload"
            )
        if min(width, height) < options.min_screen_px:
            raise StudyError(small_screen_message(options))
    return width, height


def small_screen_message(options: OnlineOptions) -> str:
    return (
        f"This study needs a larger screen (at least {options.min_screen_px} pixels on its "
        "shorter side): please open the link on a computer or a tablet."
    )


def check_not_enrolled(
    session: Session, study: Study, panel: Mapping[str, str], options: OnlineOptions
) -> None:
    """Refuse a second sign-up with the same panel participant id."""
    if not options.url_params or options.url_params[0] not in panel:
        return
    found = session.scalar(
        select(ParticipantOnline).where(
            ParticipantOnline.study_id == study.id,
            ParticipantOnline.panel_id == panel[options.url_params[0]],
        )
    )
    if found is not None:
        raise StudyError(
            f"you have signed up for this study already ({options.url_params[0]} "
            f"{panel[options.url_params[0]]}): continue with your personal link, in the browser "
            "you started with"
        )


def record_arrival(
    session: Session,
    person: Participant,
    options: OnlineOptions,
    panel: Mapping[str, str],
    answers: Mapping[str, Any],
    screen: tuple[int | None, int | None],
) -> ParticipantOnline:
    """Store what a new participant brought (panel values, answers, screen); committed.

    Args:
        session: an open database session.
        person: the participant, just enrolled.
        options: the study's options.
        panel: the checked URL parameters (:func:`panel_values`).
        answers: the checked answers (:func:`check_answers`).
        screen: the screen's width and height (:func:`check_screen`).

    Returns:
        The participant's online row.

    Raises:
        StudyError: another sign-up with the same panel id won a race (two
            requests at once); this participant is removed again.
    """
    first = options.url_params[0] if options.url_params else None
    row = ParticipantOnline(
        participant_id=person.id,
        study_id=person.study_id,
        panel_id=panel.get(first) if first else None,
        panel=json.dumps(dict(panel)),
        answers=json.dumps(dict(answers)),
        screen_width=screen[0],
        screen_height=screen[1],
        headphone_attempts=0,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        session.execute(delete(Trial).where(Trial.participant_id == person.id))
        session.execute(delete(Participant).where(Participant.id == person.id))
        session.commit()
        study = session.get(Study, person.study_id)
        assert study is not None
        check_not_enrolled(session, study, panel, options)
        raise StudyError("the sign-up could not be stored; please try again") from None
    return row


def participant_record(session: Session, person: Participant) -> ParticipantOnline:
    """The participant's online row (made, empty, for one who signed up before 0003)."""
    row = session.get(ParticipantOnline, person.id)
    if row is None:
        row = ParticipantOnline(
            participant_id=person.id,
            study_id=person.study_id,
            panel="{}",
            answers="{}",
            headphone_attempts=0,
        )
        session.add(row)
        session.flush()
    return row


# --------------------------------------------------------------------------
# The participant's path
# --------------------------------------------------------------------------


def next_step(session: Session, person: Participant) -> str:
    """:func:`muvi.study.service.next_step` with the sound check before
    the first trial: ``instructions``, ``sound-check``, ``trial``,
    ``preference`` or ``done``."""
    step = service.next_step(session, person)
    if step == "trial" and needs_sound_check(session, person):
        return "sound-check"
    return step


def needs_sound_check(session: Session, person: Participant) -> bool:
    """True while the study asks for the sound check and it is not decided yet."""
    if not study_options(session, person.study_id).sound_check:
        return False
    row = session.get(ParticipantOnline, person.id)
    return row is None or row.headphone_passed is None


SOUND_CHECK_BEEPS = (3, 4, 5, 6)
"""How many beeps a test may hold (drawn per participant and attempt, kept on the server)."""
SOUND_RATE_HZ = 16_000
SOUND_TEST_SECONDS = 5.5
"""Every test lasts this long whatever its count, so its size tells nothing."""
BEEP_SECONDS = 0.18
BEEP_HZ = 1000.0
CALIBRATION_AMPLITUDE = 0.25
TEST_AMPLITUDE = CALIBRATION_AMPLITUDE * 10 ** (-12 / 20)
"""The test beeps are 12 dB quieter than the calibration tone."""


def new_sound_check(session: Session, person: Participant, rng: random.Random | None = None) -> int:
    """Draw the number of beeps of the next test and keep it (committed); the
    page never carries it: the audio comes from :func:`sound_check_audio`."""
    row = participant_record(session, person)
    row.headphone_expected = (rng or random.Random(secrets.randbits(64))).choice(SOUND_CHECK_BEEPS)
    session.commit()
    return row.headphone_expected


def _wav(samples: Any) -> bytes:
    """16-bit mono PCM WAV bytes of samples in [-1, 1]."""
    import io
    import wave

    import numpy as np

    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SOUND_RATE_HZ)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _tone(seconds: float, amplitude: float) -> Any:
    import numpy as np

    t = np.arange(round(seconds * SOUND_RATE_HZ)) / SOUND_RATE_HZ
    ramp = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # 10 ms ramps: no clicks
    return amplitude * ramp * np.sin(2 * np.pi * BEEP_HZ * t)


def beep_onsets(count: int, rng: random.Random) -> list[float]:
    """Onsets (s) of ``count`` beeps at uneven gaps (count by ear, not by rhythm).

    Examples:
        >>> onsets = beep_onsets(6, random.Random(0))
        >>> len(onsets), onsets[-1] + BEEP_SECONDS < SOUND_TEST_SECONDS
        (6, True)
    """
    at = rng.uniform(0.2, 0.5)
    onsets = []
    for _ in range(count):
        onsets.append(at)
        at += BEEP_SECONDS + rng.uniform(0.25, 0.6)
    return onsets


def sound_check_audio(count: int, seed: int) -> bytes:
    """The test as a WAV file: ``count`` quiet beeps in :data:`SOUND_TEST_SECONDS`.

    Examples:
        >>> len(sound_check_audio(3, 1)) == len(sound_check_audio(6, 2))
        True
    """
    import numpy as np

    signal = np.zeros(round(SOUND_TEST_SECONDS * SOUND_RATE_HZ))
    beep = _tone(BEEP_SECONDS, TEST_AMPLITUDE)
    for onset in beep_onsets(count, random.Random(seed)):
        start = round(onset * SOUND_RATE_HZ)
        signal[start : start + len(beep)] += beep
    return _wav(signal)


@lru_cache(maxsize=1)
def calibration_audio() -> bytes:
    """The calibration tone as a WAV file: 2 s at 1 kHz, 12 dB above the test beeps."""
    return _wav(_tone(2.0, CALIBRATION_AMPLITUDE))


def current_sound_check(session: Session, person: Participant) -> bytes:
    """The audio of the participant's current test (the count stays on the server)."""
    row = participant_record(session, person)
    if row.headphone_expected is None or row.headphone_passed is not None:
        raise StudyError("there is no sound check to play; reload the page")
    # the gaps vary with the participant and the attempt; they tell nothing about the count
    seed = int.from_bytes(
        hashlib.sha256(f"{person.token}:{row.headphone_attempts}".encode()).digest()[:8], "big"
    )
    return sound_check_audio(row.headphone_expected, seed)


def answer_sound_check(session: Session, person: Participant, answer: str) -> bool | None:
    """Judge a sound-check answer on the server (committed).

    Returns:
        True: passed; False: failed the last allowed attempt (the participant
        goes on, the failure is recorded); None: wrong, another attempt is left.
    """
    options = study_options(session, person.study_id)
    row = participant_record(session, person)
    if row.headphone_passed is not None:
        raise StudyError("the sound check is done already")
    if row.headphone_expected is None:
        raise StudyError("the sound check has not been played yet; reload the page")
    try:
        count = int(answer)
    except ValueError:
        raise StudyError("give the number of beeps you heard") from None
    row.headphone_attempts += 1
    if count == row.headphone_expected:
        row.headphone_passed = True
    elif row.headphone_attempts >= options.sound_check_attempts:
        row.headphone_passed = False
    row.headphone_expected = None
    session.commit()
    return row.headphone_passed


@dataclass(frozen=True)
class Progress:
    """Where a participant stands: trials done, all trials, time left."""

    done: int
    total: int
    seconds_left: float

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    def time_left(self) -> str:
        """The estimate in words.

        Examples:
            >>> Progress(2, 10, 30).time_left(), Progress(2, 10, 400).time_left()
            ('less than a minute', 'about 7 minutes')
        """
        if self.seconds_left < 60:
            return "less than a minute"
        minutes = math.ceil(self.seconds_left / 60)
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"


DEFAULT_ANSWER_SECONDS = 20.0
"""Time assumed for the questions after an item until the participant's own is known."""


def progress(session: Session, person: Participant, excerpt_seconds: float) -> Progress:
    """Trials done and an estimate of the time left: the trials still to do
    times the median time of this participant's finished trials (from start
    to answers), or the excerpt plus :data:`DEFAULT_ANSWER_SECONDS` before any.

    Args:
        session: an open database session.
        person: the participant.
        excerpt_seconds: the study's excerpt length (the least a trial takes).

    Returns:
        Trials done, all trials, and the seconds left.
    """
    trials = list(session.scalars(select(Trial).where(Trial.participant_id == person.id)))
    done = [t for t in trials if t.completed_at is not None]
    durations = [
        (_aware(t.completed_at) - _aware(t.started_at)).total_seconds()
        for t in done
        if t.started_at is not None and t.completed_at is not None
    ]
    per_trial = (
        statistics.median(durations) if durations else excerpt_seconds + DEFAULT_ANSWER_SECONDS
    )
    per_trial = max(per_trial, excerpt_seconds)
    return Progress(len(done), len(trials), (len(trials) - len(done)) * per_trial)


def _aware(moment: datetime | None) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones
    assert moment is not None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def attention_spec(session: Session, trial: Trial) -> AttentionSpec | None:
    """The attention spec of a trial, or None for a rated or practice trial."""
    item = session.get(Item, trial.item_id)
    if item is None or item.role != "attention":
        return None
    options = study_options(session, item.study_id)
    return next((s for s in options.attention if s.media_id == item.media_id), None)


def completion(options: OnlineOptions, panel: Mapping[str, str]) -> tuple[str, str]:
    """The completion code and the filled-in redirect URL ("" when none).

    Examples:
        >>> opts = OnlineOptions(url_params=("id",), completion_code="C0DE",
        ...     redirect_url="https://x.sona-systems.com/webstudy_credit.aspx?survey_code={id}&c={code}")
        >>> completion(opts, {"id": "12 3"})[1]
        'https://x.sona-systems.com/webstudy_credit.aspx?survey_code=12%203&c=C0DE'
    """
    if not options.redirect_url:
        return options.completion_code, ""
    values = {"code": options.completion_code, **panel}
    url = re.sub(
        r"\{([^{}]*)\}", lambda m: quote(str(values.get(m[1], "")), safe=""), options.redirect_url
    )
    return options.completion_code, url


# --------------------------------------------------------------------------
# Quality summary and export
# --------------------------------------------------------------------------


def attention_results(session: Session, study: Study) -> list[dict[str, Any]]:
    """One row per finished attention trial of the study, with its outcome
    (:func:`attention_outcome` on the trial's stored cursor samples).

    Args:
        session: an open database session.
        study: the study.

    Returns:
        The rows of ``attention.csv`` (columns :data:`ATTENTION_COLUMNS`).
    """
    options = study_options(session, study.id)
    specs = {s.media_id: s for s in options.attention}
    trials = list(
        session.execute(
            select(Trial, Item.media_id)
            .join(Item, Item.id == Trial.item_id)
            .join(Participant, Participant.id == Trial.participant_id)
            .where(
                Participant.study_id == study.id,
                Item.role == "attention",
                Trial.completed_at.is_not(None),
            )
            .order_by(Trial.participant_id, Trial.position)
        )
    )
    rows = []
    for trial, media_id in trials:
        spec = specs.get(media_id)
        if spec is None:
            continue
        samples = session.execute(
            select(Sample.timestamp, Sample.valence, Sample.arousal).where(
                Sample.trial_id == trial.id
            )
        ).all()
        outcome = attention_outcome(
            [(float(t), float(v), float(a)) for t, v, a in samples], spec, study.excerpt_seconds
        )
        rows.append(
            {
                "participant_id": trial.participant_id,
                "media_id": media_id,
                "kind": spec.kind,
                "target_valence": spec.valence,
                "target_arousal": spec.arousal,
                "tolerance": spec.tolerance,
                "mean_valence": outcome.mean_valence,
                "mean_arousal": outcome.mean_arousal,
                "distance": outcome.distance,
                "n_samples": outcome.n_samples,
                "passed": outcome.passed,
            }
        )
    return rows


def _sound_check_state(options: OnlineOptions, row: ParticipantOnline | None) -> str:
    if not options.sound_check:
        return "off"
    if row is None or row.headphone_passed is None:
        return "not_taken"
    return "passed" if row.headphone_passed else "failed"


def quality_rows(session: Session, study: Study) -> list[dict[str, Any]]:
    """One row per participant of the study: panel id, finished, screen,
    sound check and attention trials (the rows of ``quality.csv``).

    Args:
        session: an open database session.
        study: the study.

    Returns:
        One dict per participant, in sign-up order.
    """
    options = study_options(session, study.id)
    attention: dict[int, list[bool]] = {}
    for r in attention_results(session, study):
        attention.setdefault(r["participant_id"], []).append(bool(r["passed"]))
    people = session.execute(
        select(Participant, ParticipantOnline)
        .outerjoin(ParticipantOnline, ParticipantOnline.participant_id == Participant.id)
        .where(Participant.study_id == study.id)
        .order_by(Participant.id)
    ).all()
    rows = []
    for person, row in people:
        outcomes = attention.get(person.id, [])
        rows.append(
            {
                "participant_id": person.id,
                "panel_id": (row.panel_id if row is not None else None) or "",
                "finished": person.finished_at is not None,
                "screen_width": row.screen_width if row is not None else None,
                "screen_height": row.screen_height if row is not None else None,
                "sound_check": _sound_check_state(options, row),
                "sound_check_attempts": row.headphone_attempts if row is not None else 0,
                "attention_trials": len(outcomes),
                "attention_passed": sum(outcomes),
            }
        )
    return rows


@dataclass(frozen=True)
class QualitySummary:
    """The runner's overview of data quality."""

    participants: int
    finished: int
    sound_check: dict[str, int]
    attention_trials: int
    attention_passed: int
    rows: list[dict[str, Any]]


def quality_summary(session: Session, study: Study) -> QualitySummary:
    """Counts over :func:`quality_rows`, for the runner's study page."""
    rows = quality_rows(session, study)
    states: dict[str, int] = {}
    for r in rows:
        states[r["sound_check"]] = states.get(r["sound_check"], 0) + 1
    return QualitySummary(
        participants=len(rows),
        finished=sum(r["finished"] for r in rows),
        sound_check=states,
        attention_trials=sum(r["attention_trials"] for r in rows),
        attention_passed=sum(r["attention_passed"] for r in rows),
        rows=rows,
    )


PANEL_FILE = "panel_data.csv"
QUESTIONS_FILE = "profile_questions.csv"
QUALITY_FILE = "quality.csv"
ATTENTION_FILE = "attention.csv"
QUALITY_COLUMNS = (
    "participant_id",
    "screen_width",
    "screen_height",
    "sound_check",
    "sound_check_attempts",
    "attention_trials",
    "attention_passed",
)
ATTENTION_COLUMNS = (
    "participant_id",
    "media_id",
    "kind",
    "target_valence",
    "target_arousal",
    "tolerance",
    "mean_valence",
    "mean_arousal",
    "distance",
    "n_samples",
    "passed",
)


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    # through the study's one CSV writer, which neutralises spreadsheet formulas
    frame = pd.DataFrame(
        {c: pd.Series([row.get(c) for row in rows], dtype=object) for c in columns},
        columns=list(columns),
    )
    write_csv(frame, path)


def export_online(session: Session, study: Study, out: Path) -> list[Path]:
    """Write ``panel_data.csv``, ``profile_questions.csv``, ``quality.csv`` and
    ``attention.csv`` (layout in the module docstring) beside the published files.

    Returns:
        The files written.
    """
    options = study_options(session, study.id)
    people = session.execute(
        select(Participant, ParticipantOnline)
        .outerjoin(ParticipantOnline, ParticipantOnline.participant_id == Participant.id)
        .where(Participant.study_id == study.id)
        .order_by(Participant.id)
    ).all()
    panel_rows, answer_rows = [], []
    for person, row in people:
        panel = json.loads(row.panel) if row is not None else {}
        answers = json.loads(row.answers) if row is not None else {}
        finished = person.finished_at is not None
        panel_rows.append(
            {
                "participant_id": person.id,
                **{p: panel.get(p, "") for p in options.url_params},
                "finished": finished,
                "completion_code": options.completion_code if finished else "",
                "signed_up_at": person.created_at.isoformat(timespec="seconds"),
                "finished_at": person.finished_at.isoformat(timespec="seconds")
                if person.finished_at
                else "",
            }
        )
        answer_rows.append({"participant_id": person.id, **answers})
    written = [out / PANEL_FILE, out / QUESTIONS_FILE, out / QUALITY_FILE, out / ATTENTION_FILE]
    _write_csv(
        written[0],
        (
            "participant_id",
            *options.url_params,
            "finished",
            "completion_code",
            "signed_up_at",
            "finished_at",
        ),
        panel_rows,
    )
    _write_csv(written[1], ("participant_id", *(q.id for q in options.questions)), answer_rows)
    _write_csv(written[2], QUALITY_COLUMNS, quality_rows(session, study))
    _write_csv(written[3], ATTENTION_COLUMNS, attention_results(session, study))
    return written


def read_quality(path: Path) -> pd.DataFrame:
    """Read an exported ``quality.csv``, old column names renamed to the current ones.

    Raises:
        DataError: the file lacks a column of :data:`QUALITY_COLUMNS`.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "quality.csv").write_text(
        ...     "participant_id,screen_width,screen_height,headphone_check,headphone_attempts,"
        ...     "attention_trials,attention_passed\\n1,1280,800,passed,1,0,0\\n")
        >>> read_quality(folder / "quality.csv")["sound_check"].tolist()
        ['passed']
    """
    from muvi.errors import DataError

    frame = pd.read_csv(path).rename(columns=RENAMED_OPTIONS)
    missing = [c for c in QUALITY_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame
