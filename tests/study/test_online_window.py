"""Any excerpt length: a study with 20-second excerpts is collected through the
study service, exported, and analysed by ``muvi analyze`` with the window the
export names (38 samples: the excerpt less its last second, as the paper's 118
samples are 59 s of 60 s excerpts). The ratings are SIMULATED (a scripted
cursor), the pipeline that carries them is the real one."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from muvi.annotations import study_window, window_for_excerpt
from muvi.cli import app, main
from muvi.data.loaders import load_dataset
from muvi.data.schema import MODALITIES
from muvi.errors import DataError
from muvi.study import service
from muvi.study.db import open_database
from muvi.study.export import export_study
from muvi.study.models import Item, Trial

EXCERPT_S = 20.0
ITEMS = 6


def _curve(item: int, t: float) -> tuple[float, float]:
    """The scripted cursor's target on item ``item`` at media time ``t``."""
    phase = item * 0.9
    return 0.6 * math.sin(0.3 * t + phase), 0.5 * math.cos(0.2 * t + phase)


def collect_20s_study(db: Path, media: Path) -> int:
    """Fifteen scripted participants rate six 20 s items in three modalities."""
    for i in range(ITEMS):
        (media / f"clip{i}.webm").write_bytes(
            b"placeholder: the service only checks that it exists"
        )
    _engine, sessions = open_database(db)
    rng = random.Random(5)
    with sessions() as session:
        study = service.create_study(
            session,
            service.StudyConfig(
                name="20 s excerpts (simulated ratings)",
                items=[service.MediaSpec(f"clip{i}", f"clip{i}.webm") for i in range(ITEMS)],
                items_per_participant=ITEMS,
                excerpt_seconds=EXCERPT_S,
            ),
            media,
        )
        profile = service.Profile(31, "Female", "SG", "SG", "EN", "Pop", 3)
        for _ in range(15):
            person = service.enrol_participant(session, study, profile)
            for trial in session.query(Trial).filter_by(participant_id=person.id):
                item = session.get(Item, trial.item_id)
                assert item is not None
                index = int(item.media_id.removeprefix("clip"))
                service.start_trial(session, trial)
                offset = rng.uniform(-0.15, 0.15)
                samples, t, seq = [], 0.0, 0
                while t <= EXCERPT_S:
                    v, a = _curve(index, t)
                    samples.append(service.CursorSample(seq, round(t, 3), v + offset, a - offset))
                    seq += 1
                    t += 0.5 + rng.uniform(-0.04, 0.04)
                service.store_samples(session, trial, samples, EXCERPT_S)
                service.answer_trial(session, trial, False, ["joyful"])
            service.set_preference(session, person, "Overlaid")
        return study.id


def test_window_follows_the_excerpt_length() -> None:
    # the paper: 60 s excerpts, 118 samples; the same 1 s margin for others
    assert window_for_excerpt(60.0) == 118
    assert window_for_excerpt(20.0) == 38
    assert window_for_excerpt(45.0) == 88
    assert study_window({}).n_samples == 118  # the published release has no metadata
    assert study_window({"excerpt_seconds": 20.0}).n_samples == 38
    assert study_window({"excerpt_seconds": 20.0, "analysis_window_samples": 30}).n_samples == 30
    assert study_window({"excerpt_seconds": 20.0}, override=12).source == "--window-samples"
    with pytest.raises(DataError, match="muvi_metadata.json: excerpt_seconds must be"):
        study_window({"excerpt_seconds": "twenty"})
    with pytest.raises(DataError, match="analysis_window_samples must be a positive"):
        study_window({"analysis_window_samples": 0})


def test_a_bad_window_in_the_metadata_names_the_file(tmp_path: Path, muvi_dir: Path) -> None:
    # the real published files with a broken muvi_metadata.json beside them
    for name in ("video_urls.csv", "participant_data.csv", "media_data.csv"):
        (tmp_path / name).symlink_to(muvi_dir / name)
    (tmp_path / "muvi_metadata.json").write_text('{"excerpt_seconds": -5}')
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path, features=False)
    assert str(err.value) == (
        f"{tmp_path / 'muvi_metadata.json'}: excerpt_seconds must be a positive number, got -5"
    )


def test_a_20_second_study_export_is_analysed(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    db = tmp_path / "study.db"
    study_id = collect_20s_study(db, media)
    _engine, sessions = open_database(db)
    export = tmp_path / "export"
    with sessions() as session:
        export_study(session, export, study_id)
    metadata = json.loads((export / "muvi_metadata.json").read_text())
    assert metadata["excerpt_seconds"] == 20.0
    assert metadata["analysis_window_samples"] == 38
    av = pd.read_csv(export / "av_data.csv")
    # 40 samples (0 .. 19.5 s) per annotation at 2 Hz
    assert set(av.groupby(["participant_id", "media_id", "media_modality"]).size()) == {40}

    # no note claims the 20 s annotations are shorter than the window
    assert load_dataset(export, features=False).issues == []

    out = tmp_path / "analysis"
    result = CliRunner().invoke(
        app, ["analyze", "--data", str(export), "--out", str(out), "--no-figures", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "analysis window 38 samples (19 s)" in " ".join(result.output.split())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["analysis_window"]["samples"] == 38
    assert summary["analysis_window"]["seconds"] == 19.0
    assert "muvi_metadata.json" in summary["analysis_window"]["source"]
    assert summary["annotations"]["dynamic_per_modality"] == {m: 30 for m in MODALITIES}
    gold = pd.read_csv(out / "gold_standard.csv")
    assert len(gold) == ITEMS * 3 * 38
    assert gold["sample"].max() == 37
    # the gold standard follows the scripted curve (the offsets average out)
    clip0 = gold[(gold["media_id"] == "clip0") & (gold["modality"] == "music")]
    expected = [_curve(0, 0.5 * k)[0] for k in clip0["sample"]]
    assert np.corrcoef(clip0["valence"], expected)[0, 1] > 0.99
    html = (out / "report.html").read_text()
    assert "the first 38 samples (19 s at 2 Hz), from the excerpt length" not in html
    assert "the first 38 samples (19 s at 2 Hz), from analysis_window_samples" in html


def test_the_paper_window_forced_on_20_second_excerpts_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # what the issue met: 20 s annotations never reach 118 samples
    media = tmp_path / "media"
    media.mkdir()
    study_id = collect_20s_study(tmp_path / "study.db", media)
    _engine, sessions = open_database(tmp_path / "study.db")
    with sessions() as session:
        export_study(session, tmp_path / "export", study_id)
    with pytest.raises(SystemExit) as stopped:
        main(["analyze", "--data", str(tmp_path / "export"), "--out", str(tmp_path / "a118"),
              "--window-samples", "118", "--quiet", "--no-figures"])  # fmt: skip
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert "no static annotation is left" in output
    assert "90 shorter than the analysis window" in output
    assert "Traceback" not in output


def test_feature_files_of_20_second_excerpts_load(tmp_path: Path) -> None:
    # 2 Hz emobase rows of a 20 s excerpt: 39 or 40 (the published 60 s files: 119 or 120)
    from muvi.data import schema

    media = tmp_path / "media"
    media.mkdir()
    study_id = collect_20s_study(tmp_path / "study.db", media)
    _engine, sessions = open_database(tmp_path / "study.db")
    export = tmp_path / "export"
    with sessions() as session:
        export_study(session, export, study_id)
    names = schema.emobase_feature_names()
    folder = export / "emobase_features"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(ITEMS):
        rows = 40 if i else 39
        pd.DataFrame(rng.normal(size=(rows, len(names))), columns=list(names)).to_csv(
            folder / f"clip{i}.csv", index=False
        )
    audio = load_dataset(export).audio_features
    assert audio is not None and len(audio) == 39 + 5 * 40
    pd.DataFrame(rng.normal(size=(120, len(names))), columns=list(names)).to_csv(
        folder / "clip3.csv", index=False
    )
    with pytest.raises(DataError, match="clip3.csv, item clip3: 120 rows, expected 39 or 40"):
        load_dataset(export)
