"""The runner's preview of a study: the participant's pages in their order
(sign-up, instructions, sound check, the practice trials and one item per
condition, the overlay preference, the end) rendered from the participants'
own templates, with nothing written to the database.

The preview's forms go to the next preview page instead of the server's
participant routes, the trial page keeps its cursor samples in the browser,
and the sound check's count travels in the preview's own address (the runner
may see it; participants never do). Included by :func:`muvi.study.app.create_app`.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at run time.

import random
import secrets
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from muvi.study import online, service
from muvi.study.deps import DB, RowId, RunnerDep, own_study, render
from muvi.study.models import Item, Study
from muvi.study.participant_routes import _gems_groups

router = APIRouter()


def _preview_trials(session: Session, study: Study) -> list[tuple[Item, str, bool]]:
    """(item, modality, practice): the practice items, then one item per condition."""
    practice_modality = next((m for m in study.modality_list if m != "music"), "music")
    trials = [(i, practice_modality, True) for i in service.study_items(session, study, "practice")]
    items = {str(i.id): i for i in service.study_items(session, study)}
    order = [items[i] for i in study.item_order.split(",") if i in items]
    for n, modality in enumerate(study.modality_list):
        trials.append((order[n % len(order)], modality, False))
    return trials


def _steps(session: Session, study: Study) -> list[str]:
    options = online.study_options(session, study.id)
    trials = _preview_trials(session, study)
    steps = ["signup", "instructions"] + (["sound-check"] if options.sound_check else [])
    return steps + [f"trial-{n}" for n in range(len(trials))] + ["preference", "done"]


def _context(study: Study, steps: list[str], step: str, **extra: Any) -> dict[str, Any]:
    base = f"/runner/studies/{study.id}"
    at = steps.index(step)
    following = steps[at + 1] if at + 1 < len(steps) else "done"
    preview = {"study": study.name, "back": base, "next": f"{base}/preview/{following}", **extra}
    return {"preview": preview, "pcsrf": "", "error": None}


@router.get("/runner/studies/{study_id}/preview")
def preview_start(study_id: RowId, runner: RunnerDep, session: DB) -> Response:
    own_study(session, runner, study_id)
    return RedirectResponse(f"/runner/studies/{study_id}/preview/signup", status_code=303)


@router.get("/runner/studies/{study_id}/preview/sound-check/calibration.wav")
def preview_calibration(study_id: RowId, runner: RunnerDep, session: DB) -> Response:
    own_study(session, runner, study_id)
    return Response(online.calibration_audio(), media_type="audio/wav")


@router.get("/runner/studies/{study_id}/preview/sound-check/test.wav")
def preview_test(study_id: RowId, runner: RunnerDep, session: DB, draw: int = 0) -> Response:
    own_study(session, runner, study_id)
    count = _draw_count(draw)
    return Response(
        online.sound_check_audio(count, draw),
        media_type="audio/wav",
        headers={"Cache-Control": "no-store"},
    )


def _draw_count(draw: int) -> int:
    return random.Random(draw).choice(online.SOUND_CHECK_BEEPS)


@router.get("/runner/studies/{study_id}/preview/{step}")
def preview_page(
    request: Request, study_id: RowId, step: str, runner: RunnerDep, session: DB
) -> Response:
    study = own_study(session, runner, study_id)
    steps = _steps(session, study)
    if step not in steps:
        raise HTTPException(404, f"the preview has no page {step!r}")
    options = online.study_options(session, study.id)
    person = SimpleNamespace(token="preview", study_id=study.id)
    note = ""
    if step == "signup":
        return render(
            request,
            "signup.html",
            **_context(study, steps, step),
            study=study,
            form={},
            genders=service.GENDERS,
            options=options,
            panel={},
            countries=online.countries(),
        )
    if step == "instructions":
        return render(
            request,
            "instructions.html",
            **_context(study, steps, step),
            person=person,
            study=study,
            options=options,
            examples=service.study_items(session, study, "example"),
            quadrant_titles=service.QUADRANT_TITLES,
        )
    if step == "sound-check":
        draw = secrets.randbits(31)
        base = f"/runner/studies/{study.id}/preview/sound-check"
        return render(
            request,
            "sound_check.html",
            **_context(study, steps, step, audio=base, draw=draw),
            person=person,
            attempt=1,
            attempts=options.sound_check_attempts,
        )
    query = request.query_params
    if "draw" in query and "beeps" in query:  # the answer to the preview's sound check
        try:
            held, answered = _draw_count(int(query["draw"])), int(query["beeps"])
            verdict = "right" if held == answered else "wrong"
            note = f"The sound check held {held} beeps; you answered {answered} ({verdict})."
        except ValueError:
            note = "The sound check's answer was not a number."
    if step.startswith("trial-"):
        trials = _preview_trials(session, study)
        n = int(step[6:])
        item, modality, practice = trials[n]
        n_practice = sum(p for _, _, p in trials)
        trial = SimpleNamespace(
            id=0,
            practice=practice,
            modality=modality,
            overlaid=None if modality == "music" else n % 2 == 0,
            position=n,
        )
        return render(
            request,
            "trial.html",
            **_context(study, steps, step, note=note),
            person=person,
            study=study,
            trial=trial,
            item=item,
            number=n + 1 if practice else n + 1 - n_practice,
            total=n_practice if practice else len(trials) - n_practice,
            gems=_gems_groups(),
            progress=online.Progress(n, len(trials), (len(trials) - n) * study.excerpt_seconds),
            attention=None,
            options=options,
        )
    if step == "preference":
        return render(
            request,
            "preference.html",
            **_context(study, steps, step),
            person=person,
            choices=service.OVERLAY_PREFERENCES,
        )
    code, _redirect = online.completion(options, {})
    return render(
        request, "done.html", **_context(study, steps, step), person=person, code=code, redirect=""
    )
