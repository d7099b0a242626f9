"""Balanced random assignment, checked as participants arrive one by one
(property-based: any number of items, modalities, items per participant),
with participants who leave part-way, and at the paper's size."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sqlalchemy import select

from muvi.data.schema import MODALITIES
from muvi.study.assignment import assign_cells
from muvi.study.db import open_database
from muvi.study.models import Item, Participant, Trial
from muvi.study.service import (
    ABANDONED_AFTER,
    MediaSpec,
    Profile,
    StudyConfig,
    create_study,
    enrol_participant,
    kept_cells,
)

PROFILE = Profile(30, "Male", "SG", "SG", "EN", "Pop", 2)


@st.composite
def designs(draw: st.DrawFn) -> tuple[int, tuple[str, ...], int, int, int]:
    n_items = draw(st.integers(1, 14))
    modalities = tuple(
        draw(st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=3, unique=True))
    )
    k = draw(st.integers(1, n_items))
    participants = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    return n_items, modalities, k, participants, seed


@given(designs())
@settings(max_examples=300, deadline=None)
def test_cells_balanced_and_never_repeated(
    design: tuple[int, tuple[str, ...], int, int, int],
) -> None:
    n_items, modalities, k, participants, seed = design
    items = [f"item{i}" for i in range(n_items)]
    counts = Counter({(i, m): 0 for i in items for m in modalities})
    pointer = 0
    for _ in range(participants):
        cells = assign_cells(items, modalities, seed, pointer, k)
        pointer += k
        assert len(cells) == k
        assert len({item for item, _ in cells}) == k  # never the same item twice, any modality
        assert all(cell in counts for cell in cells)
        counts.update(cells)
        assert max(counts.values()) - min(counts.values()) <= 1  # after every arrival


def _spread(counter: Counter, keys: list) -> int:  # type: ignore[type-arg]
    values = [counter.get(key, 0) for key in keys]
    return max(values) - min(values)


@given(designs())
@settings(max_examples=300, deadline=None)
def test_conditions_items_and_cells_within_one_after_every_arrival(
    design: tuple[int, tuple[str, ...], int, int, int],
) -> None:
    # counted here from the cells handed out, independently of the sequence's formula
    n_items, modalities, k, participants, seed = design
    items = [f"item{i}" for i in range(n_items)]
    per_modality: Counter[str] = Counter()
    per_item: Counter[str] = Counter()
    per_cell: Counter[tuple[str, str]] = Counter()
    for arrival in range(participants):
        cells = assign_cells(items, modalities, seed, arrival * k, k)
        per_modality.update(m for _, m in cells)
        per_item.update(i for i, _ in cells)
        per_cell.update(cells)
        assert _spread(per_modality, list(modalities)) <= 1
        assert _spread(per_item, items) <= 1
        assert _spread(per_cell, [(i, m) for i in items for m in modalities]) <= 1


def test_paper_design_five_participants_rate_every_condition() -> None:
    # 81 items, 3 conditions, 30 items each: 150 cells after 5 participants, 50 per condition
    items = [f"v{i}" for i in range(81)]
    cells = [c for p in range(5) for c in assign_cells(items, MODALITIES, 7, 30 * p, 30)]
    assert Counter(m for _, m in cells) == dict.fromkeys(MODALITIES, 50)
    # one full pass of 81 x 3 cells holds every cell exactly once (the design as limit)
    full = [c for p in range(81 * 3) for c in assign_cells(items, MODALITIES, 7, p, 1)]
    assert Counter(full) == {(i, m): 1 for i in items for m in MODALITIES}


def test_modality_order_varies_between_passes() -> None:
    items = [f"i{i}" for i in range(4)]
    first_modality_per_pass = {
        assign_cells(items, MODALITIES, seed=3, pointer=cycle * 12, k=1)[0][1]
        for cycle in range(30)
    }
    assert first_modality_per_pass == set(MODALITIES)


def test_refuses_more_items_than_the_study_has() -> None:
    with pytest.raises(ValueError, match="between 1 and 2"):
        assign_cells(["a", "b"], ["music"], seed=0, pointer=0, k=3)


def _study(tmp: Path, n_items: int, modalities: tuple[str, ...], k: int):  # type: ignore[no-untyped-def]
    media = tmp / "media"
    media.mkdir(exist_ok=True)
    (media / "clip.webm").write_bytes(b"not played in this test")
    _engine, sessions = open_database(tmp / f"study{n_items}_{k}_{len(modalities)}.db")
    session = sessions()
    study = create_study(
        session,
        StudyConfig(
            "assignment test",
            [MediaSpec(f"item{i}", "clip.webm") for i in range(n_items)],
            modalities=modalities,
            items_per_participant=k,
            practice=[MediaSpec("p1", "clip.webm"), MediaSpec("p2", "clip.webm")],
        ),
        media,
    )
    return session, study


@given(designs())
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_enrolment_in_database_balanced(
    tmp_path: Path, design: tuple[int, tuple[str, ...], int, int, int]
) -> None:
    n_items, modalities, k, participants, _seed = design
    session, study = _study(tmp_path, n_items, modalities, k)
    counts = Counter({(i, m): 0 for i in range(n_items) for m in modalities})
    media_of = {
        item.id: int(item.media_id[4:])
        for item in session.scalars(select(Item).where(Item.role == "item"))
    }
    for _ in range(min(participants, 15)):
        person = enrol_participant(session, study, PROFILE)
        trials = list(
            session.scalars(
                select(Trial).where(Trial.participant_id == person.id).order_by(Trial.position)
            )
        )
        practice, rated = trials[:2], trials[2:]
        assert all(t.practice for t in practice) and not any(t.practice for t in rated)
        assert len(rated) == k
        assert len({t.item_id for t in rated}) == k
        for t in rated:
            assert (t.overlaid is None) == (t.modality == "music")
            counts[(media_of[t.item_id], t.modality)] += 1
        assert max(counts.values()) - min(counts.values()) <= 1
    session.close()


def test_overlay_drawn_with_probability_one_half(tmp_path: Path) -> None:
    session, study = _study(tmp_path, 10, ("visual", "audiovisual"), 10)
    for _ in range(40):
        enrol_participant(session, study, PROFILE)
    overlaid = [t.overlaid for t in session.scalars(select(Trial).where(Trial.practice.is_(False)))]
    assert len(overlaid) == 400
    assert binomtest(sum(overlaid), len(overlaid), 0.5).pvalue > 1e-4
    session.close()


@pytest.mark.parametrize(
    ("seed", "n_items", "k"), [(0, 2, 1), (1, 4, 2), (2, 6, 3), (3, 9, 4), (4, 5, 2)]
)
def test_cells_left_by_dropouts_refilled_by_the_next_arrivals(
    tmp_path: Path, seed: int, n_items: int, k: int
) -> None:
    """k at most half the items, where the refill is sure to drain. SIMULATED arrivals: some participants leave part-way (a random subset of
    their trials rated); once they count as gone, later arrivals rate what they
    left. The rated counts then come back to the balanced ones (within one)."""
    session, study = _study(tmp_path, n_items, MODALITIES, k)
    rng = random.Random(seed)
    clock = datetime(2026, 12, 1, tzinfo=UTC)
    cells = {
        (str(i.id), m)
        for i in session.scalars(select(Item).where(Item.role == "item"))
        for m in MODALITIES
    }

    def rate(person_id: int, share: float) -> None:
        for t in session.scalars(
            select(Trial).where(Trial.participant_id == person_id, Trial.practice.is_(False))
        ):
            if rng.random() < share:
                t.started_at = t.completed_at = clock
        session.commit()

    def rated() -> Counter[tuple[str, str]]:
        return Counter(
            (str(t.item_id), t.modality)
            for t in session.scalars(
                select(Trial).where(Trial.practice.is_(False), Trial.completed_at.is_not(None))
            )
        )

    for _ in range(rng.randint(3, 8)):  # a phase with drop-outs
        person = enrol_participant(session, study, PROFILE, now=clock)
        leaves = rng.random() < 0.5
        rate(person.id, rng.uniform(0, 0.8) if leaves else 1.0)
        if not leaves:
            session.get(Participant, person.id).finished_at = clock  # type: ignore[union-attr]
            session.commit()
        clock += timedelta(minutes=30)
    clock += ABANDONED_AFTER + timedelta(minutes=1)  # everyone who left now counts as gone
    for _ in range(3 * len(MODALITIES) * n_items):  # participants who finish
        person = enrol_participant(session, study, PROFILE, now=clock)
        rate(person.id, 1.0)
        session.get(Participant, person.id).finished_at = clock  # type: ignore[union-attr]
        session.commit()
        clock += timedelta(minutes=1)
    counts = rated()
    assert sum(kept_cells(session, study, clock).values()) == sum(counts.values())
    assert _spread(counts, sorted(cells)) <= 1
    per_modality = Counter(m for (_, m), n in counts.items() for _ in range(n))
    assert _spread(per_modality, list(MODALITIES)) <= 1
    session.close()
