"""The study database: runners, studies, items, participants, trials and samples.

The tables are created and upgraded by the Alembic migrations in
``muvi/study/migrations`` (see :func:`muvi.study.db.upgrade`); this module is
the ORM view of them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class AppSetting(Base):
    """Server-wide settings kept in the database (the key of the CSRF tokens)."""

    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Runner(Base):
    """A study runner (researcher) account; passwords are stored as argon2 hashes."""

    __tablename__ = "runners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """An admin sees and exports every study; other runners only their own."""


class RunnerSession(Base):
    """A runner's login: the cookie holds a random id, the table its SHA-256.

    A session ends when it is revoked (logout, password change), after
    ``idle`` seconds without a request, or ``absolute`` seconds after login
    (see :class:`muvi.study.security.SecurityConfig`).
    """

    __tablename__ = "runner_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Study(Base):
    """One study: its items, conditions and the state of the balanced assignment."""

    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    invite_token: Mapped[str] = mapped_column(String(64), unique=True)
    modalities: Mapped[str] = mapped_column(String(100))
    """Comma-separated toolkit modality names."""
    items_per_participant: Mapped[int] = mapped_column(Integer)
    excerpt_seconds: Mapped[float] = mapped_column(Float)
    item_order: Mapped[str] = mapped_column(Text)
    """Comma-separated item row ids: the random cyclic order of the assignment."""
    assign_seed: Mapped[int] = mapped_column(Integer)
    assign_pointer: Mapped[int] = mapped_column(Integer, default=0)
    """How many (item, modality) cells have been handed out so far."""
    created_by: Mapped[int | None] = mapped_column(ForeignKey("runners.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    items: Mapped[list[Item]] = relationship(back_populates="study", order_by="Item.position")

    @property
    def modality_list(self) -> list[str]:
        return [m for m in self.modalities.split(",") if m]


class StudyState(Base):
    """A study's running state (migration ``ux_0004_study_state``); a study
    without a row runs and has no target."""

    __tablename__ = "study_state"
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), primary_key=True)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """Set while the runner has paused the study: no new sign-ups; those who
    signed up before may finish."""
    target_participants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """How many participants the runner aims for (None: no target)."""


class Item(Base):
    """A media excerpt of a study: a rated item, a practice item or a quadrant example."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("study_id", "role", "media_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    """``item`` (rated and exported), ``practice`` or ``example``."""
    media_id: Mapped[str] = mapped_column(String(200))
    media_file: Mapped[str] = mapped_column(String(500))
    start_s: Mapped[float] = mapped_column(Float, default=0.0)
    quadrant: Mapped[str | None] = mapped_column(String(40), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    study: Mapped[Study] = relationship(back_populates="items")


class Participant(Base):
    """An anonymous annotator: the profile of ``participant_data.csv`` and a resume token."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    age: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(40))
    country_live_longest: Mapped[str] = mapped_column(String(8))
    country_musical_enculturation: Mapped[str] = mapped_column(String(8))
    lyric_language: Mapped[str] = mapped_column(String(8))
    favorite_genre: Mapped[str] = mapped_column(String(80))
    years_formal_training: Mapped[int] = mapped_column(Integer)
    understood: Mapped[bool] = mapped_column(Boolean, default=False)
    """Set when the participant confirms they understood the instructions."""
    overlay_pref: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    trials: Mapped[list[Trial]] = relationship(
        back_populates="participant", order_by="Trial.position"
    )


class Trial(Base):
    """One item shown to one participant in one modality (practice trials included)."""

    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("participant_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    modality: Mapped[str] = mapped_column(String(20))
    overlaid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """True: plane drawn over the video; False: beside it; None for music."""
    practice: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    seen_previously: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    labels: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Comma-separated GEMS labels ticked after the item."""
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    participant: Mapped[Participant] = relationship(back_populates="trials")
    item: Mapped[Item] = relationship()


class Sample(Base):
    """One logged cursor position, stored as it arrives; ``seq`` makes retries idempotent."""

    __tablename__ = "samples"
    __table_args__ = (UniqueConstraint("trial_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    """Seconds since the excerpt started playing (media time)."""
    valence: Mapped[float] = mapped_column(Float)
    arousal: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
