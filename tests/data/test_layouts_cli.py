"""``muvi validate``, ``muvi analyze`` and ``muvi evaluate`` on the music layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from muvi.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_validate_the_real_songs_as_they_are(realmusic_dir: Path, capsys) -> None:
    code, text = _run(["validate", str(realmusic_dir)], capsys)
    assert code == 0, text
    assert "ok:" in text and "items 10" in text and "audio files 10" in text
    assert "window samples 60" in text


def test_validate_a_broken_long_csv_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "ratings.csv").write_text(
        "item,rater,time_s,valence,arousal\na,r,0,0.1,0.1\na,r,0.5,2.0,0.1\n"
    )
    code, text = _run(["validate", str(tmp_path)], capsys)
    assert code == 2
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ratings.csv: valence 2 lies outside [-1, 1]" in errors[0]
    assert "Traceback" not in text


def _long_study(root: Path, tone, n_items: int, n_raters: int, n_samples: int = 8) -> None:
    """Items whose tone starts at a different moment; raters follow loudness, plus noise."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n_items):
        onset = 1.0 + 0.5 * (i % 4)
        tone(root / f"s{i}.wav", 1.0 + 0.5 * n_samples + 0.2, onset_s=onset)
        for r in range(n_raters):
            for k in range(n_samples):
                loud = 1.0 + 0.5 * k >= onset
                v = float(np.clip(0.6 * loud - 0.3 + 0.05 * rng.standard_normal(), -1, 1))
                a = float(np.clip(0.5 * loud - 0.2 + 0.05 * rng.standard_normal(), -1, 1))
                rows.append(f"s{i},rater{r},{1.0 + 0.5 * k},{v:.4f},{a:.4f}")
    (root / "ratings.csv").write_text(
        "item,rater,time_s,valence,arousal\n" + "\n".join(rows) + "\n"
    )


def test_evaluate_a_small_long_csv_study_with_adapted_folds(tmp_path: Path, tone, capsys) -> None:
    data = tmp_path / "data"
    _long_study(data, tone, n_items=6, n_raters=1)
    out = tmp_path / "out"
    args = ["evaluate", "--data", str(data), "--out", str(out), "--models", "lasso"]
    code, text = _run([*args, "--dimensions", "valence"], capsys)
    assert code == 0, text
    assert "6 items: 3 folds" in text and "Experiments run: 1" in text
    results = json.loads((out / "results.json").read_text())
    assert len(results["folds"]) == 3
    assert any("averages over raters" in note for note in results["notes"])
    assert len(list((out / "cache" / "emobase").glob("*.csv"))) == 6
    # each test item's CCC, computed here from its predictions (Lin's formula)
    per_item = pd.read_csv(out / "per_item.csv", dtype={"media_id": str})
    predictions = pd.read_csv(out / "predictions.csv", dtype={"media_id": str})
    tested = sorted(per_item["media_id"])
    assert tested == sorted(m for f in results["folds"] for m in f["test"])
    for item in tested:
        rows = predictions[predictions["media_id"] == item]
        x, y = rows["prediction"].to_numpy(), rows["target"].to_numpy()
        ccc = 2 * np.cov(x, y, bias=True)[0, 1] / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)
        got = per_item.loc[per_item["media_id"] == item, "ccc"].iloc[0]
        assert got == pytest.approx(ccc, abs=1e-6)


def test_analyze_per_rater_long_csv_gets_agreement(tmp_path: Path, tone, capsys) -> None:
    data = tmp_path / "data"
    _long_study(data, tone, n_items=3, n_raters=3)
    out = tmp_path / "out"
    code, text = _run(["analyze", "--data", str(data), "--out", str(out), "--no-figures"], capsys)
    assert code == 0, text
    summary = json.loads((out / "summary.json").read_text())
    skipped = " ".join(summary["study"]["skipped"])
    assert "GEMS labels: skipped" in skipped and "gold standard and agreement" not in skipped
    assert summary["dynamic"]["agreement"] is not None
    assert (out / "tables" / "agreement_summary.csv").is_file()


def _pmemo(root: Path, tone, n_songs: int) -> None:
    """A PMEmo2019-like folder: 8 ratings from 15.5 s, chorus clips with a tone."""
    (root / "annotations").mkdir(parents=True)
    lines = ["musicId,frameTime,Arousal(mean),Valence(mean)"]
    for song in range(1, n_songs + 1):
        onset = 16.0 + 0.5 * (song % 3)
        tone(root / "chorus" / f"{song}.wav", 20.0, onset_s=onset)
        for k in range(8):
            t = 15.5 + 0.5 * k
            level = 0.7 if t >= onset else 0.3
            lines.append(f"{song},{t},{level},{1 - level}")
    (root / "annotations" / "dynamic_annotations.csv").write_text("\n".join(lines) + "\n")


def _deam(root: Path) -> None:
    folder = (
        root / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)"
    )
    folder.mkdir(parents=True)
    header = "song_id, " + ", ".join(f"sample_{15000 + 500 * k}ms" for k in range(6))
    for dimension, sign in (("valence", 1), ("arousal", -1)):
        rows = [f"{s}," + ",".join(f"{sign * 0.1 * (k % 3):.2f}" for k in range(6)) for s in (2, 3)]
        (folder / f"{dimension}.csv").write_text("\n".join([header, *rows]) + "\n")


@pytest.mark.parametrize("layout", ["deam", "pmemo"])
def test_validate_and_analyze_deam_and_pmemo(layout: str, tmp_path: Path, tone, capsys) -> None:
    data = tmp_path / "data"
    _deam(data) if layout == "deam" else _pmemo(data, tone, 2)
    code, text = _run(["validate", str(data)], capsys)
    assert code == 0 and "items 2" in text, text
    out = tmp_path / "out"
    args = ["analyze", "--data", str(data), "--out", str(out), "--no-figures", "--no-beyond"]
    code, text = _run(args, capsys)
    assert code == 0, text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"]["layout"] == layout and summary["study"]["averaged"]
    assert any(
        s.startswith("gold standard and agreement: skipped") for s in summary["study"]["skipped"]
    )


def test_evaluate_a_pmemo_folder_with_two_folds(tmp_path: Path, tone, capsys) -> None:
    data = tmp_path / "data"
    _pmemo(data, tone, 4)
    out = tmp_path / "out"
    args = ["evaluate", "--data", str(data), "--out", str(out), "--models", "lasso"]
    code, text = _run([*args, "--dimensions", "arousal"], capsys)
    assert code == 0, text
    assert "4 items: 2 folds" in text
    results = json.loads((out / "results.json").read_text())
    assert len(results["folds"]) == 2
    # PMEmo's [0, 1] ratings reach the models as 2 x - 1: 0.3 -> -0.4, 0.7 -> 0.4
    targets = pd.read_csv(out / "predictions.csv")["target"].round(6)
    assert set(targets) <= {-0.4, 0.4}
