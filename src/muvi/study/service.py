"""What the study application does, independent of HTTP: accounts, studies,
enrolment with balanced assignment, trials, samples and progress.

The web routes (:mod:`muvi.study.runner_routes`,
:mod:`muvi.study.participant_routes`, :mod:`muvi.study.participant_api`), the
command line and the tests all call these functions with an SQLAlchemy
session; every change the server makes to the database goes through them (or
through the online-collection functions of :mod:`muvi.study.online`).
"""

from __future__ import annotations

import math
import random
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from muvi.data.schema import EXCERPT_SECONDS, GEMS_LABELS, MODALITIES, SAMPLE_PERIOD_S
from muvi.errors import MuviError
from muvi.study.assignment import handed_out, next_cells
from muvi.study.models import (
    AppSetting,
    Item,
    Participant,
    Runner,
    Sample,
    Study,
    StudyState,
    Trial,
    utcnow,
)
from muvi.study.security import forbidden_character

QUADRANTS: tuple[str, ...] = (
    "positive_high_arousal",
    "positive_low_arousal",
    "negative_low_arousal",
    "negative_high_arousal",
)
"""The four quadrants of the valence/arousal plane, each with an example clip."""
QUADRANT_TITLES: dict[str, str] = {
    "positive_high_arousal": "pleasant and energetic (e.g. joyful, excited)",
    "positive_low_arousal": "pleasant and calm (e.g. serene, tender)",
    "negative_low_arousal": "unpleasant and calm (e.g. sad, tired)",
    "negative_high_arousal": "unpleasant and energetic (e.g. tense, angry)",
}
GENDERS: tuple[str, ...] = ("Female", "Male", "Non-binary", "Prefer not to say")
OVERLAY_PREFERENCES: tuple[str, ...] = ("Overlaid", "Side-by-Side")
"""``overlay_pref`` as spelled in the published ``participant_data.csv``."""
PAPER_ITEMS_PER_PARTICIPANT = 30
"""MuVi participants rated about 30 to 36 items."""

MAX_PASSWORD_CHARS = 200
TIMESTAMP_TOLERANCE_S = 0.5
"""How far past the end of the excerpt a sample's timestamp may lie (the
browser stops logging at the excerpt's end; this allows for its timer)."""
SAMPLE_CAP_MARGIN = 2.0
"""How many times the cursor rate (one sample per ``SAMPLE_PERIOD_S``, 2 Hz)
the cap on samples per trial allows: room for a logger up to twice as fast
(:func:`max_samples_per_trial`)."""

_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None


class StudyError(MuviError, ValueError):
    """A request to the study application is invalid; the message says why."""


class SampleCapError(StudyError):
    """A batch of cursor samples would take a trial past its cap
    (:func:`max_samples_per_trial`); the server answers 413."""


# --------------------------------------------------------------------------
# Runner accounts
# --------------------------------------------------------------------------


def check_runner_password(password: str) -> None:
    """Refuse a runner password shorter than 8 or longer than 200 characters."""
    if len(password) < 8:
        raise StudyError("a runner password needs at least 8 characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise StudyError(f"a runner password may have at most {MAX_PASSWORD_CHARS} characters")


def create_runner(session: Session, username: str, password: str, admin: bool = False) -> Runner:
    """Create a study runner account with an argon2-hashed password.

    Args:
        session: an open database session (committed here).
        username: 3 to 80 letters, digits, ``.``, ``_`` or ``-``.
        password: 8 to 200 characters.
        admin: an admin sees and exports every study; a runner only their own.

    Returns:
        The new runner.
    """
    if not re.fullmatch(r"[A-Za-z0-9._-]{3,80}", username):
        raise StudyError(f"runner name {username!r} must be 3-80 letters, digits, '.', '_', '-'")
    check_runner_password(password)
    if session.scalar(select(Runner).where(Runner.username == username)) is not None:
        raise StudyError(f"a runner named {username!r} exists already")
    runner = Runner(username=username, password_hash=_hasher.hash(password), is_admin=admin)
    session.add(runner)
    session.commit()
    return runner


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
    return _DUMMY_HASH


def authenticate_runner(session: Session, username: str, password: str) -> Runner | None:
    """The runner whose name and password match, else ``None``.

    An unknown name costs the same work as a known one: the password is
    verified against a dummy argon2 hash, so neither the time nor the memory of
    the answer says which names exist.
    """
    runner = session.scalar(select(Runner).where(Runner.username == username))
    try:
        _hasher.verify(runner.password_hash if runner else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return runner


def set_runner_password(session: Session, username: str, password: str) -> int:
    """Give a runner a new password and end all of their sessions.

    Args:
        session: an open database session (committed here).
        username: the runner's name.
        password: the new password (8 to 200 characters).

    Returns:
        How many live sessions were ended.
    """
    from muvi.study.security import revoke_all_runner_sessions

    check_runner_password(password)
    runner = session.scalar(select(Runner).where(Runner.username == username))
    if runner is None:
        raise StudyError(f"there is no runner named {username!r}")
    runner.password_hash = _hasher.hash(password)
    session.commit()
    return revoke_all_runner_sessions(session, runner.id)


def visible_studies(session: Session, runner: Runner) -> list[Study]:
    """The studies a runner may see: their own, or every study for an admin."""
    query = select(Study).order_by(Study.id)
    if not runner.is_admin:
        query = query.where(Study.created_by == runner.id)
    return list(session.scalars(query))


def study_for_runner(session: Session, runner: Runner, study_id: int) -> Study | None:
    """A study the runner may see, else ``None`` (missing and not theirs look the same)."""
    study = session.get(Study, study_id)
    if study is None or not (runner.is_admin or study.created_by == runner.id):
        return None
    return study


# --------------------------------------------------------------------------
# Studies
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaSpec:
    """One media excerpt: its id (the YouTube id in MuVi), its file under the
    media folder, and where the excerpt starts (where the music starts)."""

    media_id: str
    media_file: str
    start_s: float = 0.0


@dataclass
class StudyConfig:
    """What a runner defines for a study; the defaults are the paper's.

    Attributes:
        name: shown to the runner only.
        items: the rated items, in the order written to ``video_urls.csv``.
        modalities: the conditions (toolkit names).
        items_per_participant: how many items each participant rates.
        excerpt_seconds: length of every excerpt (60 s in MuVi).
        practice: the practice items (MuVi used two practice trials).
        examples: one example clip per quadrant (keys of :data:`QUADRANTS`).
    """

    name: str
    items: list[MediaSpec]
    modalities: tuple[str, ...] = MODALITIES
    items_per_participant: int = PAPER_ITEMS_PER_PARTICIPANT
    excerpt_seconds: float = EXCERPT_SECONDS
    practice: list[MediaSpec] = field(default_factory=list)
    examples: dict[str, MediaSpec] = field(default_factory=dict)


def parse_media_lines(text: str, what: str) -> list[MediaSpec]:
    """Read ``media_id, media_file[, start_s]`` lines (the runner's form).

    Examples:
        >>> parse_media_lines("abc, abc.webm, 12.5\\nxyz, x.webm", "items")
        [MediaSpec(media_id='abc', media_file='abc.webm', start_s=12.5), MediaSpec(media_id='xyz', media_file='x.webm', start_s=0.0)]
    """
    specs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise StudyError(f"{what}, line {number}: expected 'media_id, media_file[, start_s]'")
        try:
            start = float(parts[2]) if len(parts) == 3 and parts[2] else 0.0
        except ValueError:
            raise StudyError(
                f"{what}, line {number}: start time {parts[2]!r} is not a number"
            ) from None
        specs.append(MediaSpec(parts[0], parts[1], start))
    return specs


def _check_length(column: Any, value: str, what: str) -> None:
    """Refuse text longer than its database column (PostgreSQL would fail on it)."""
    limit = column.property.columns[0].type.length
    if limit is not None and len(value) > limit:
        raise StudyError(f"{what} has {len(value)} characters; at most {limit} are allowed")


def _check_media(spec: MediaSpec, media_dir: Path, what: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", spec.media_id):
        raise StudyError(f"{what}: media id {spec.media_id!r} may hold only letters, digits, _ -")
    _check_length(Item.media_file, spec.media_file, f"{what} {spec.media_id}: the media file name")
    if forbidden_character(spec.media_file) is not None:
        raise StudyError(f"{what} {spec.media_id}: the media file name holds a control character")
    path = (media_dir / spec.media_file).resolve()
    if media_dir.resolve() not in path.parents or not path.is_file():
        raise StudyError(f"{what} {spec.media_id}: media file {spec.media_file!r} not found")
    if not 0 <= spec.start_s < 36000:
        raise StudyError(f"{what} {spec.media_id}: start time {spec.start_s} s is out of range")


def create_study(
    session: Session, config: StudyConfig, media_dir: Path, runner_id: int | None = None
) -> Study:
    """Validate a study definition against the media folder and store it.

    Args:
        session: an open database session (committed here).
        config: the study definition.
        media_dir: the folder the server serves media from.
        runner_id: the runner who creates it.

    Returns:
        The new study with its invite token.
    """
    if not config.name.strip():
        raise StudyError("the study needs a name")
    _check_length(Study.name, config.name.strip(), "the study name")
    if not config.items:
        raise StudyError("the study needs at least one item")
    ids = [s.media_id for s in config.items]
    if len(set(ids)) != len(ids):
        raise StudyError("item ids must be unique")
    modalities = tuple(dict.fromkeys(config.modalities))
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown or not modalities:
        raise StudyError(f"modalities must be among {', '.join(MODALITIES)}, got {unknown}")
    k = config.items_per_participant
    if not 0 < k <= len(config.items):
        raise StudyError(
            f"items per participant must be between 1 and the number of items ({len(config.items)}), got {k}"
        )
    if not 0.5 <= config.excerpt_seconds <= 600:
        raise StudyError(f"excerpt length {config.excerpt_seconds} s must be between 0.5 and 600 s")
    for spec in config.items:
        _check_media(spec, media_dir, "item")
    for spec in config.practice:
        _check_media(spec, media_dir, "practice item")
    for quadrant, spec in config.examples.items():
        if quadrant not in QUADRANTS:
            raise StudyError(
                f"unknown quadrant {quadrant!r} (expected one of {', '.join(QUADRANTS)})"
            )
        _check_media(spec, media_dir, f"example for {quadrant}")
    rng = random.Random(secrets.randbits(64))
    study = Study(
        name=config.name.strip(),
        invite_token=secrets.token_urlsafe(16),
        modalities=",".join(modalities),
        items_per_participant=k,
        excerpt_seconds=float(config.excerpt_seconds),
        item_order="",
        assign_seed=rng.randrange(2**31),
        assign_pointer=0,
        created_by=runner_id,
    )
    session.add(study)
    session.flush()
    rows = [
        Item(study_id=study.id, role="item", position=i, **vars(s))
        for i, s in enumerate(config.items)
    ]
    rows += [
        Item(study_id=study.id, role="practice", position=i, **vars(s))
        for i, s in enumerate(config.practice)
    ]
    rows += [
        Item(study_id=study.id, role="example", position=QUADRANTS.index(q), quadrant=q, **vars(s))
        for q, s in config.examples.items()
    ]
    session.add_all(rows)
    session.flush()
    order = [str(r.id) for r in rows if r.role == "item"]
    rng.shuffle(order)
    study.item_order = ",".join(order)
    session.commit()
    return study


def study_items(session: Session, study: Study, role: str = "item") -> list[Item]:
    """The items of a study with one role, in their defined order."""
    return list(
        session.scalars(
            select(Item).where(Item.study_id == study.id, Item.role == role).order_by(Item.position)
        )
    )


# --------------------------------------------------------------------------
# Participants
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """The profile survey: the fields of ``participant_data.csv`` asked at sign-up."""

    age: int
    gender: str
    country_live_longest: str
    country_musical_enculturation: str
    lyric_language: str
    favorite_genre: str
    years_formal_training: int

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Profile:
        """Validate the survey form; the error names the first bad field.

        Examples:
            >>> Profile.from_form({"age": "23", "gender": "Male", "country_live_longest": "sg",
            ...     "country_musical_enculturation": "GB", "lyric_language": "en",
            ...     "favorite_genre": "Rock", "years_formal_training": "4"}).lyric_language
            'EN'
        """

        def text(name: str) -> str:
            return str(form.get(name, "")).strip()

        def integer(name: str, low: int, high: int) -> int:
            try:
                value = int(text(name))
            except ValueError:
                raise StudyError(f"{name.replace('_', ' ')} must be a whole number") from None
            if not low <= value <= high:
                raise StudyError(f"{name.replace('_', ' ')} must be between {low} and {high}")
            return value

        def code(name: str) -> str:
            value = text(name).upper()
            if not re.fullmatch(r"[A-Z]{2}", value):
                raise StudyError(f"{name.replace('_', ' ')} must be a two-letter code, e.g. SG")
            return value

        gender = text("gender")
        if gender not in GENDERS:
            raise StudyError(f"gender must be one of {', '.join(GENDERS)}")
        genre = text("favorite_genre").replace(" ", "-")
        if not re.fullmatch(r"[\w&'-]{1,80}", genre):
            raise StudyError("favorite genre must be 1-80 letters (no commas)")
        return cls(
            age=integer("age", 10, 120),
            gender=gender,
            country_live_longest=code("country_live_longest"),
            country_musical_enculturation=code("country_musical_enculturation"),
            lyric_language=code("lyric_language"),
            favorite_genre=genre,
            years_formal_training=integer("years_formal_training", 0, 100),
        )


def _draw_overlay(rng: random.Random, modality: str) -> bool | None:
    # The plane is drawn over the video or beside it with probability 1/2 per item.
    return None if modality == "music" else rng.random() < 0.5


PAUSED_MESSAGE = (
    "This study is paused: it takes no new participants at the moment. Please try again later."
)
STARTED_MESSAGE = (
    "this study has participants already: its items, conditions and design can no longer be "
    "changed (create a new study instead)"
)


def _state_row(session: Session, study: Study) -> StudyState:
    row = session.get(StudyState, study.id)
    if row is None:
        row = StudyState(study_id=study.id)
        session.add(row)
    return row


def is_paused(session: Session, study: Study) -> bool:
    """Whether the runner has paused the study."""
    row = session.get(StudyState, study.id, populate_existing=True)
    return row is not None and row.paused_at is not None


def study_target(session: Session, study: Study) -> int | None:
    """The number of participants the runner aims for (None: none set)."""
    row = session.get(StudyState, study.id)
    return None if row is None else row.target_participants


def study_state(session: Session, study: Study) -> str:
    """``not_started`` (nobody signed up), ``running``, or ``paused``."""
    if is_paused(session, study):
        return "paused"
    return "running" if participant_counts(session).get(study.id, 0) else "not_started"


def set_paused(session: Session, study: Study, paused: bool) -> None:
    """Pause a study (new sign-ups are refused; whoever signed up may finish) or resume it."""
    _state_row(session, study).paused_at = utcnow() if paused else None
    session.commit()


def set_target(session: Session, study: Study, target: int | None) -> None:
    """Set the number of participants the runner aims for (None: none)."""
    if target is not None and not 1 <= target <= 100_000:
        raise StudyError("the target must be a whole number of participants between 1 and 100000")
    _state_row(session, study).target_participants = target
    session.commit()


def update_study(session: Session, study: Study, config: StudyConfig, media_dir: Path) -> Study:
    """Replace the definition of a study nobody has signed up for (committed).

    The study keeps its id and invite link; its items (attention clips
    included: :func:`muvi.study.online.replace_options` adds them again),
    conditions, design and assignment sequence are made anew from ``config``
    (validated as by :func:`create_study`).

    Raises:
        StudyError: a participant has signed up already, or the new definition is invalid.
    """
    if participant_counts(session).get(study.id, 0):
        raise StudyError(STARTED_MESSAGE)
    fresh = create_study(session, config, media_dir, study.created_by)
    session.execute(delete(Item).where(Item.study_id == study.id))
    session.execute(update(Item).where(Item.study_id == fresh.id).values(study_id=study.id))
    for name in (
        "name",
        "modalities",
        "items_per_participant",
        "excerpt_seconds",
        "item_order",
        "assign_seed",
    ):
        setattr(study, name, getattr(fresh, name))
    study.assign_pointer = 0
    session.flush()
    session.delete(fresh)
    session.commit()
    session.expire(study)
    return study


ABANDONED_AFTER = timedelta(hours=3)
"""A participant who has not finished and shows no activity for this long has
left: their unrated cells go to the next arrivals (see :func:`kept_cells`)."""


def kept_cells(
    session: Session, study: Study, now: datetime, abandoned_after: timedelta = ABANDONED_AFTER
) -> Counter[tuple[str, str]]:
    """Rated trials per cell ``(item row id, modality)``, plus the trials held
    by participants still taking part (not finished, active within
    ``abandoned_after``): what the balanced assignment counts as kept."""
    # who is still taking part: not finished, and seen within `abandoned_after`
    people = session.execute(
        select(
            Participant.id,
            Participant.created_at,
            func.max(Trial.started_at),
            func.max(Trial.completed_at),
        )
        .outerjoin(Trial, Trial.participant_id == Participant.id)
        .where(Participant.study_id == study.id, Participant.finished_at.is_(None))
        .group_by(Participant.id, Participant.created_at)
    ).all()
    cutoff = _utc(now) - abandoned_after
    active = [
        person
        for person, *moments in people
        if max(_utc(m) for m in moments if m is not None) >= cutoff
    ]
    counted = session.execute(
        select(Trial.item_id, Trial.modality, func.count())
        .join(Participant, Participant.id == Trial.participant_id)
        .join(Item, Item.id == Trial.item_id)
        .where(
            Participant.study_id == study.id,
            Item.role == "item",
            Trial.practice.is_(False),
            Trial.completed_at.is_not(None) | Trial.participant_id.in_(active),
        )
        .group_by(Trial.item_id, Trial.modality)
    ).all()
    return Counter({(str(item), modality): int(n) for item, modality, n in counted})


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def enrol_participant(
    session: Session,
    study: Study,
    profile: Profile,
    attention: Sequence[Item] = (),
    now: datetime | None = None,
) -> Participant:
    """Sign a participant up: store the profile and assign their trials.

    The practice items come first (in the study's first modality that shows the
    video, else music), then the participant's cells in a random order, with
    the ``attention`` items (if any) spread evenly among them (see
    :func:`spread_slots`). The cells are first those that participants who
    left did not rate (:func:`muvi.study.assignment.next_cells`), then the
    next positions of the study's balanced sequence
    (:mod:`muvi.study.assignment`). The pointer moves with a compare-and-set
    ``UPDATE``, so participants who sign up at the same moment never get the
    same sequence positions.

    Args:
        session: an open database session (committed here).
        study: the study.
        profile: the published profile.
        attention: the study's attention clips.
        now: the time of the sign-up (for finding who has left; default now).

    Returns:
        The participant with their resume token.
    """
    if is_paused(session, study):
        raise StudyError(PAUSED_MESSAGE)
    k = study.items_per_participant
    item_order = study.item_order.split(",")
    modalities = study.modality_list
    while True:
        pointer = session.scalar(select(Study.assign_pointer).where(Study.id == study.id))
        assert pointer is not None
        expected = handed_out(item_order, modalities, study.assign_seed, pointer)
        kept = kept_cells(session, study, now or utcnow())
        cells, after = next_cells(
            item_order, modalities, study.assign_seed, pointer, k, expected, kept
        )
        moved = session.execute(
            update(Study)
            .where(Study.id == study.id, Study.assign_pointer == pointer)
            .values(assign_pointer=after)
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            break
        session.rollback()
    rng = random.Random(secrets.randbits(64))
    rng.shuffle(cells)
    if attention:
        check_modality = "audiovisual" if "audiovisual" in study.modality_list else None
        check_modality = check_modality or study.modality_list[0]
        for slot, item in zip(spread_slots(len(cells), len(attention)), attention, strict=True):
            cells.insert(slot, (str(item.id), check_modality))
    participant = Participant(
        study_id=study.id,
        token=secrets.token_urlsafe(24),
        created_at=now or utcnow(),
        **vars(profile),
    )
    session.add(participant)
    session.flush()
    practice_modality = next((m for m in study.modality_list if m != "music"), "music")
    position = 0
    for item in study_items(session, study, "practice"):
        session.add(
            Trial(
                participant_id=participant.id,
                item_id=item.id,
                modality=practice_modality,
                overlaid=_draw_overlay(rng, practice_modality),
                practice=True,
                position=position,
            )
        )
        position += 1
    for item_id, modality in cells:
        session.add(
            Trial(
                participant_id=participant.id,
                item_id=int(item_id),
                modality=modality,
                overlaid=_draw_overlay(rng, modality),
                practice=False,
                position=position,
            )
        )
        position += 1
    session.commit()
    return participant


def spread_slots(n_rated: int, n_extra: int) -> list[int]:
    """Where to insert ``n_extra`` trials among ``n_rated`` (indices into the
    growing list, in insertion order): evenly spaced among the rated trials.

    Examples:
        >>> spread_slots(6, 2), spread_slots(2, 1), spread_slots(0, 1)
        ([2, 5], [1], [0])
    """
    slots = []
    for k in range(1, n_extra + 1):
        slots.append(math.ceil(k * n_rated / (n_extra + 1)) + k - 1)
    return slots


def server_secret(session: Session) -> str:
    """The key of the server's CSRF tokens, made once and kept in the database so
    that open pages keep working across a restart of the server."""
    setting = session.get(AppSetting, "secret_key")
    if setting is None:
        session.add(AppSetting(key="secret_key", value=secrets.token_hex(32)))
        try:
            session.commit()
        except Exception:  # another worker made it at the same moment
            session.rollback()
        setting = session.get(AppSetting, "secret_key")
    assert setting is not None
    return setting.value


def participant_counts(session: Session) -> dict[int, int]:
    """Study id -> how many participants have signed up."""
    rows = session.execute(
        select(Participant.study_id, func.count()).group_by(Participant.study_id)
    )
    return {int(study_id): int(n) for study_id, n in rows.all()}


def study_by_invite(session: Session, invite: str) -> Study | None:
    """The study of an invite link's token (``None`` for an unknown one)."""
    return session.scalar(select(Study).where(Study.invite_token == invite[:64]))


def participant_by_token(session: Session, token: str) -> Participant | None:
    """The participant of a personal link's token (``None`` for an unknown one)."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Participant).where(Participant.token == token))


def confirm_instructions(session: Session, participant: Participant) -> None:
    """Record that the participant has read and understood the instructions."""
    participant.understood = True
    session.commit()


def participant_trials(session: Session, participant: Participant) -> list[Trial]:
    """The participant's trials in the order they are shown."""
    return list(
        session.scalars(
            select(Trial).where(Trial.participant_id == participant.id).order_by(Trial.position)
        )
    )


def next_trial(session: Session, participant: Participant) -> Trial | None:
    """The participant's first trial without answers (``None`` when all are done)."""
    return session.scalar(
        select(Trial)
        .where(Trial.participant_id == participant.id, Trial.completed_at.is_(None))
        .order_by(Trial.position)
        .limit(1)
    )


def next_step(session: Session, participant: Participant) -> str:
    """Where a (returning) participant continues: ``instructions``, ``trial``,
    ``preference`` or ``done``."""
    if not participant.understood:
        return "instructions"
    if next_trial(session, participant) is not None:
        return "trial"
    if participant.overlay_pref is None:
        return "preference"
    return "done"


def own_trial(session: Session, participant: Participant, trial_id: int) -> Trial:
    """The participant's trial ``trial_id``; refuses anybody else's.

    Raises:
        PermissionError: the trial is not theirs (or does not exist).
    """
    trial = session.get(Trial, trial_id)
    if trial is None or trial.participant_id != participant.id:
        raise PermissionError(f"trial {trial_id} is not one of this participant's trials")
    return trial


def start_trial(session: Session, trial: Trial) -> None:
    """(Re)start a trial: a restarted trial drops the samples of its unfinished run."""
    if trial.completed_at is not None:
        raise StudyError(f"trial {trial.id} is finished already")
    session.execute(delete(Sample).where(Sample.trial_id == trial.id))
    trial.started_at = utcnow()
    session.commit()


@dataclass(frozen=True)
class CursorSample:
    """One cursor position logged by the browser."""

    seq: int
    timestamp: float
    valence: float
    arousal: float


def max_samples_per_trial(excerpt_seconds: float) -> int:
    """The most cursor samples one trial stores: the excerpt (plus
    :data:`TIMESTAMP_TOLERANCE_S`) at the cursor rate of 2 Hz, times
    :data:`SAMPLE_CAP_MARGIN`, rounded up. A sample's ``seq`` (numbered from 0
    in each run of a trial) must lie below it, so that the unique
    ``(trial, seq)`` pairs bound the rows of a trial whatever a client sends.

    Examples:
        >>> max_samples_per_trial(60.0), max_samples_per_trial(4.0)
        (242, 18)
    """
    return math.ceil(
        (excerpt_seconds + TIMESTAMP_TOLERANCE_S) / SAMPLE_PERIOD_S * SAMPLE_CAP_MARGIN
    )


def store_samples(
    session: Session, trial: Trial, samples: Sequence[CursorSample], excerpt_seconds: float
) -> list[int]:
    """Store a batch of cursor samples in one transaction.

    A sample whose ``seq`` is stored already (a retried batch) is skipped, so
    the client can resend until it gets the acknowledgement. A batch with a
    ``seq`` at or beyond :func:`max_samples_per_trial` is refused whole
    (:class:`SampleCapError`); what the trial stored before is kept.

    Returns:
        The acknowledged ``seq`` numbers (all of the batch), after the commit.
    """
    cap = max_samples_per_trial(excerpt_seconds)
    beyond = [s.seq for s in samples if s.seq >= cap]
    if beyond:
        raise SampleCapError(
            f"a trial of a {excerpt_seconds:g} s excerpt stores at most {cap} cursor samples "
            f"(seq 0 to {cap - 1}); seq {min(beyond)} is beyond that, so this batch was not "
            "stored (the trial's earlier samples are kept)"
        )
    if trial.completed_at is not None:
        raise StudyError(f"trial {trial.id} is finished already")
    if trial.started_at is None:
        raise StudyError(f"trial {trial.id} has not been started")
    for s in samples:
        if not (-1.0 <= s.valence <= 1.0 and -1.0 <= s.arousal <= 1.0):
            raise StudyError(f"sample {s.seq}: valence and arousal must lie in [-1, 1]")
        if not 0.0 <= s.timestamp <= excerpt_seconds + TIMESTAMP_TOLERANCE_S:
            raise StudyError(
                f"sample {s.seq}: timestamp {s.timestamp} s is outside the excerpt "
                f"(0 to {excerpt_seconds} s, {TIMESTAMP_TOLERANCE_S} s tolerance)"
            )
    if samples:
        rows = [
            {
                "trial_id": trial.id,
                "seq": s.seq,
                "timestamp": s.timestamp,
                "valence": s.valence,
                "arousal": s.arousal,
                "received_at": utcnow(),
            }
            for s in samples
        ]
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(Sample).values(rows).on_conflict_do_nothing())
    session.commit()
    return [s.seq for s in samples]


def answer_trial(
    session: Session, trial: Trial, seen_previously: bool, labels: Iterable[str]
) -> None:
    """Store the familiarity answer and the GEMS terms; at least one term is required."""
    chosen = list(dict.fromkeys(labels))
    unknown = [label for label in chosen if label not in GEMS_LABELS]
    if unknown:
        raise StudyError(f"unknown GEMS term(s): {', '.join(unknown)}")
    if not chosen:
        raise StudyError("tick at least one term that describes the emotion of the item")
    if trial.completed_at is not None:
        raise StudyError(f"trial {trial.id} is answered already")
    if trial.started_at is None:
        raise StudyError(f"trial {trial.id} has not been played yet")
    trial.seen_previously = seen_previously
    trial.labels = ",".join(label for label in GEMS_LABELS if label in chosen)
    trial.completed_at = utcnow()
    session.commit()


def set_preference(session: Session, participant: Participant, preference: str) -> None:
    """Store the preferred layout (``Overlaid`` or ``Side-by-Side``) and finish."""
    if preference not in OVERLAY_PREFERENCES:
        raise StudyError(f"layout preference must be one of {', '.join(OVERLAY_PREFERENCES)}")
    if next_trial(session, participant) is not None:
        raise StudyError("the layout question comes after the last trial")
    participant.overlay_pref = preference
    participant.finished_at = utcnow()
    session.commit()


# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressRow:
    media_id: str
    modality: str
    assigned: int
    completed: int


def study_progress(session: Session, study: Study) -> list[ProgressRow]:
    """Ratings per item and modality: trials assigned and trials completed."""
    counts: dict[tuple[int, str], list[int]] = {}
    query = (
        select(Trial.item_id, Trial.modality, Trial.completed_at.is_not(None), func.count())
        .join(Participant, Participant.id == Trial.participant_id)
        .where(Participant.study_id == study.id, Trial.practice.is_(False))
        .group_by(Trial.item_id, Trial.modality, Trial.completed_at.is_not(None))
    )
    for item_id, modality, done, n in session.execute(query):
        entry = counts.setdefault((item_id, modality), [0, 0])
        entry[0] += n
        if done:
            entry[1] += n
    rows = []
    for item in study_items(session, study):
        for modality in study.modality_list:
            assigned, completed = counts.get((item.id, modality), [0, 0])
            rows.append(ProgressRow(item.media_id, modality, assigned, completed))
    return rows


@dataclass(frozen=True)
class StudyTotals:
    """The runner's overview: trials per condition and per item, and
    participants against the target."""

    per_modality: dict[str, tuple[int, int]]
    """modality -> (completed, assigned)."""
    per_item: list[tuple[str, dict[str, int], int]]
    """(media id, completed per modality, completed in all)."""
    participants: int
    finished: int
    target: int | None
    state: str

    @property
    def percent(self) -> int | None:
        """Finished participants as a share of the target (None without one).

        Examples:
            >>> StudyTotals({}, [], 10, 3, 12, "running").percent
            25
        """
        if not self.target:
            return None
        return min(100, round(100 * self.finished / self.target))

    @property
    def spread(self) -> int:
        """Largest minus smallest number of completed trials over the conditions."""
        done = [c for c, _ in self.per_modality.values()]
        return max(done) - min(done) if done else 0


def study_totals(session: Session, study: Study) -> StudyTotals:
    """Totals of :func:`study_progress` per condition and per item, and the
    participants signed up and finished against the runner's target."""
    rows = study_progress(session, study)
    per_modality = {m: (0, 0) for m in study.modality_list}
    per_item: dict[str, dict[str, int]] = {}
    for row in rows:
        done, assigned = per_modality[row.modality]
        per_modality[row.modality] = (done + row.completed, assigned + row.assigned)
        per_item.setdefault(row.media_id, {})[row.modality] = row.completed
    people = session.execute(
        select(func.count(), func.count(Participant.finished_at)).where(
            Participant.study_id == study.id
        )
    ).one()
    return StudyTotals(
        per_modality=per_modality,
        per_item=[(media, counts, sum(counts.values())) for media, counts in per_item.items()],
        participants=int(people[0]),
        finished=int(people[1]),
        target=study_target(session, study),
        state=study_state(session, study),
    )
