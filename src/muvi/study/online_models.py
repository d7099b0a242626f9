"""The tables of online data collection (migration ``0003_online``): a study's
online options and what the study learns about each participant beyond the
published profile (recruitment-panel parameters, answers to the runner's own
questions, the screen, the sound check).

They live beside the tables of :mod:`muvi.study.models` (same metadata) and
only add to them: a study or participant without a row here has the defaults
of the MuVi study (no panel, the standard texts, no checks).
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from muvi.study.models import Base


class StudyOnline(Base):
    """A study's online options (:class:`muvi.study.online.OnlineOptions` as JSON)."""

    __tablename__ = "study_online"
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), primary_key=True)
    options: Mapped[str] = mapped_column(Text)


class ParticipantOnline(Base):
    """What a participant brought or did beyond the published profile."""

    __tablename__ = "participant_online"
    __table_args__ = (UniqueConstraint("study_id", "panel_id"),)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    panel_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """The value of the study's first URL parameter (e.g. ``PROLIFIC_PID``): one
    sign-up per value and study (NULL, a participant without it, may repeat)."""
    panel: Mapped[str] = mapped_column(Text, default="{}")
    """JSON object: every recorded URL parameter and its value."""
    answers: Mapped[str] = mapped_column(Text, default="{}")
    """JSON object: answers to the runner's own profile questions."""
    screen_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    screen_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the sound check's three columns keep the names of migration 0003
    headphone_expected: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The number of beeps of the sound check now played to the participant
    (on the server only: the page and the audio's address never carry it)."""
    headphone_attempts: Mapped[int] = mapped_column(Integer, default=0)
    headphone_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """None: not taken (or not asked); True: passed; False: failed every attempt."""
