"""``run_analysis`` / ``muvi analyze``: every output, on the real files and on
dynamic studies (one built here, one from the simulator)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from muvi.analysis.outputs import figure_path, table_path
from muvi.analysis.steps import DYNAMIC_TABLES, STATIC_TABLES
from muvi.cli import main
from muvi.data.dataset import MuviDataset
from muvi.data.schema import GEMS_CATEGORIES, GEMS_LABELS, MODALITIES
from muvi.errors import DataError
from muvi.workflows import analyze_dataset, run_analysis

PNG = b"\x89PNG\r\n\x1a\n"
GROUPINGS = {"modality", "overlay", "gender", "training", "familiarity"}
STATIC_FIGURES = [
    "label_cooccurrence",
    *(f"gems_labels_{m}" for m in MODALITIES),
    *(f"observed_expected_{g}" for g in GROUPINGS),
]


def check_static_summary(summary: dict) -> None:
    """The keys of the static summary, as the outputs module documents them."""
    assert set(summary["participants"]) == {
        "n",
        "gender",
        "age_mean",
        "age_std",
        "age_min",
        "age_max",
        "layout_preference",
    }
    annotations = summary["annotations"]
    assert set(annotations) == {
        "static_total",
        "per_participant",
        "static_per_modality",
        "dynamic_per_modality",
        "per_item_modality",
        "excluded",
    }
    assert annotations["static_total"] == sum(annotations["static_per_modality"].values())
    assert set(annotations["static_per_modality"]) == set(MODALITIES)
    assert set(annotations["per_item_modality"]) == {"min", "median", "max"}
    gems = summary["gems"]
    assert set(gems) == {
        "labels_per_annotation",
        "distinct_labels_per_stimulus",
        "distinct_labels_per_item_pooled",
        "item_share",
        "category_any_share",
        # Table 3's figures and the label figures of §3.2 / §4.1.2 (muvi.analysis.paper_steps)
        "label_counts",
        "labels_total",
        "label_share",
        "labels_offered",
        "labels_per_annotation_median",
        "least_frequent_labels",
    }
    assert gems["labels_offered"] == len(GEMS_LABELS)
    assert sum(gems["label_share"].values()) == pytest.approx(100.0)
    assert set(gems["labels_per_annotation"]) == {*MODALITIES, "all"}
    assert set(gems["distinct_labels_per_stimulus"]) == {*MODALITIES, "all"}
    assert set(gems["item_share"]) == set(GEMS_LABELS)
    assert set(gems["category_any_share"]) == set(GEMS_CATEGORIES)
    pairs = summary["label_correlations"]
    assert set(pairs) == {"top_positive", "top_negative", "pairs"}
    for pair in pairs["top_positive"] + pairs["top_negative"]:
        assert set(pair) == {"a", "b", "r", "p"}
    assert pairs["top_positive"][0]["r"] > 0 > pairs["top_negative"][0]["r"]
    assert set(summary["chi_square"]) == GROUPINGS
    for test in summary["chi_square"].values():
        assert set(test) == {"chi2", "dof", "p", "verdict"}


def check_outputs(out: Path, dynamic: bool, figures: bool = True) -> None:
    for name in STATIC_TABLES:
        assert table_path(out, name).is_file(), name
    for name in STATIC_FIGURES:
        path = figure_path(out, name)
        assert path.is_file() == figures, name
        if figures:
            assert path.read_bytes()[:8] == PNG, name
            assert path.stat().st_size > 10_000, name
    for name in DYNAMIC_TABLES:
        assert table_path(out, name).is_file() == dynamic, name
    for m in MODALITIES:
        path = figure_path(out, f"density_{m}")
        assert path.is_file() == (dynamic and figures)
        if dynamic and figures:
            assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    assert (out / "gold_standard.csv").is_file() == dynamic
    assert (out / "agreement.csv").is_file() == dynamic
    assert (out / "report.html").stat().st_size > (50_000 if figures else 5_000)


@pytest.fixture(scope="module")
def real_run(muvi_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("analyze_real")
    main(["analyze", "--data", str(muvi_dir), "--out", str(out), "--quiet", "--no-beyond"])
    return out


def test_real_files_static_outputs(real_run):
    check_outputs(real_run, dynamic=False)
    summary = json.loads((real_run / "summary.json").read_text())
    assert set(summary) == {
        "analysis_window",
        "participants",
        "annotations",
        "gems",
        "label_correlations",
        "chi_square",
        "paper",
    }
    check_static_summary(summary)
    # the published release has no muvi_metadata.json: the paper's 118 samples
    assert summary["analysis_window"]["samples"] == 118
    assert summary["analysis_window"]["source"].startswith("the paper's default")
    assert summary["participants"]["n"] == 49
    assert summary["annotations"]["static_per_modality"] == {
        "music": 493,
        "visual": 491,
        "audiovisual": 510,
    }
    assert summary["annotations"]["dynamic_per_modality"] is None
    assert summary["annotations"]["excluded"] == {}
    # modality x 27 labels (all ticked at least once): (3 - 1) * (27 - 1)
    assert summary["chi_square"]["modality"]["dof"] == 52
    html = (real_run / "report.html").read_text()
    assert "SIMULATED DATA" not in html
    for title in ("Participants", "GEMS labels", "Label co-occurrence", "Effects on static labels"):
        assert f">{title}</h2>" in html
    assert html.count("data:image/png;base64,") == len(STATIC_FIGURES)


def test_real_gems_table_matches_a_direct_count(real_run, muvi_dir):
    raw = pd.read_csv(muvi_dir / "media_data.csv")
    table = pd.read_csv(table_path(real_run, "gems_labels"))
    overall = table[table["modality"] == "all"].set_index("label")
    for label in ("energetic", "calm", "feeling_of_transcendence"):
        assert overall.loc[label, "count"] == raw[label].sum()
        assert overall.loc[label, "item_share"] == pytest.approx(100 * raw[label].mean())
    music = table[table["modality"] == "music"].set_index("label")
    raw_music = raw[raw["media_modality"] == "music"]
    assert music.loc["sad", "item_share"] == pytest.approx(100 * raw_music["sad"].mean())


def test_cli_reports_a_missing_folder_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err


def built_study(simulated: bool) -> MuviDataset:
    """4 items x 3 modalities x 4 annotators, 120 samples each (the window keeps
    118); participant 99's music annotation of item i0 never moves its valence."""
    rng = np.random.default_rng(1)
    items = ["i0_full", "i1_full", "i2_full", "i3_full"]
    truth = {i: np.sin(np.linspace(0, 3, 120) + k) * 0.6 for k, i in enumerate(items)}
    static_rows, parts = [], []
    pid = 0
    for item in items:
        for modality in MODALITIES:
            for k in range(4):
                participant = 99 if (item == "i0_full" and modality == "music" and k == 0) else pid
                pid += 1
                valence = np.clip(truth[item] + rng.normal(0, 0.15, 120), -1, 1)
                arousal = np.clip(-truth[item] * 0.5 + rng.normal(0, 0.15, 120), -1, 1)
                if participant == 99:
                    valence = np.full(120, 0.2)
                parts.append(
                    pd.DataFrame(
                        {
                            "participant_id": participant,
                            "media_id": item,
                            "modality": modality,
                            "sample": np.arange(120),
                            "time": np.arange(120) * 0.5,
                            "valence": valence,
                            "arousal": arousal,
                        }
                    )
                )
                row = {
                    "participant_id": participant,
                    "media_id": item,
                    "modality": modality,
                    "seen_previously": bool(rng.uniform() < 0.3),
                }
                row.update({label: int(rng.uniform() < 0.2) for label in GEMS_LABELS})
                row["overlay"] = (
                    None if modality == "music" else ("overlaid" if k % 2 else "side_by_side")
                )
                static_rows.append(row)
    ids = sorted({r["participant_id"] for r in static_rows})
    participants = pd.DataFrame(
        {
            "participant_id": ids,
            "age": [20 + i % 9 for i in ids],
            "gender": ["Female" if i % 2 else "Male" for i in ids],
            "years_formal_training": [i % 8 for i in ids],
            "overlay_pref": ["Overlaid" if i % 3 else "Side-by-Side" for i in ids],
        }
    )
    return MuviDataset(
        root=Path("built"),
        items=items,
        participants=participants,
        static=pd.DataFrame(static_rows),
        dynamic=pd.concat(parts, ignore_index=True),
        simulated=simulated,
    )


def test_dynamic_outputs_on_a_built_study(tmp_path):
    # an earlier run's files in the folder are replaced, not mixed in
    figure_path(tmp_path, "density_music").parent.mkdir(parents=True)
    figure_path(tmp_path, "density_music").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("the user's own file")
    summary = analyze_dataset(built_study(simulated=True), tmp_path, figures=False)
    check_outputs(tmp_path, dynamic=True, figures=False)
    assert (tmp_path / "notes.txt").is_file()
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    check_static_summary(summary)
    assert summary["annotations"]["excluded"] == {"constant valence": 1}
    # the constant annotation is left out of the static analyses too
    assert summary["annotations"]["static_per_modality"]["music"] == 15
    assert summary["annotations"]["dynamic_per_modality"] == {
        "music": 15,
        "visual": 16,
        "audiovisual": 16,
    }
    dynamic = summary["dynamic"]
    assert set(dynamic) == {
        "mean",
        "modality_correlation",
        "ks",
        "mann_whitney",
        "kruskal",
        "annotation_median_centres",
        "agreement",
        "agreement_pooled",
    }
    # §4.2.1's two readings: the median of the per-annotation medians is the
    # Kruskal-Wallis table's median of each modality
    centres = dynamic["annotation_median_centres"]
    for d in ("valence", "arousal"):
        for m in MODALITIES:
            assert centres[d][m]["median"] == pytest.approx(dynamic["kruskal"][d]["medians"][m])
    assert set(dynamic["mean"]) == {"valence", "arousal"}
    assert set(dynamic["mean"]["valence"]) == {*MODALITIES, "all"}
    assert set(dynamic["modality_correlation"]["arousal"]) == {
        "music-visual",
        "music-audiovisual",
        "visual-audiovisual",
    }
    for pair in dynamic["modality_correlation"]["valence"].values():
        assert set(pair) == {"mean", "sd"}
        assert pair["mean"] > 0.8  # every modality follows the same hidden curve
    for test in ("ks", "mann_whitney", "kruskal"):
        for result in dynamic[test].values():
            assert set(result) == {"statistic", "p", "medians"}
    assert set(dynamic["agreement"]["valence"]) == set(MODALITIES)
    assert set(dynamic["agreement"]["valence"]["music"]) == {"mean", "std"}

    gold = pd.read_csv(tmp_path / "gold_standard.csv")
    assert gold.columns.tolist() == [
        "media_id",
        "modality",
        "sample",
        "valence",
        "arousal",
        "valence_std",
        "arousal_std",
    ]
    assert len(gold) == 4 * 3 * 118  # cut to the analysis window
    assert summary["analysis_window"]["samples"] == 118
    agreement = pd.read_csv(tmp_path / "agreement.csv")
    assert len(agreement) == 47
    assert 99 not in set(agreement["participant_id"])
    # pooled over modalities: every annotation once, population SD
    for dim in ("valence", "arousal"):
        values = agreement[dim].dropna()
        pooled = dynamic["agreement_pooled"][dim]
        assert pooled["n"] == len(values)
        assert pooled["mean"] == pytest.approx(values.mean())
        assert pooled["std"] == pytest.approx(values.std(ddof=0))
    # simulated: the paper's figures are shown, never called a match
    statuses = {c["key"]: c["status"] for c in summary["paper"]["comparisons"]}
    assert "match" not in statuses.values() and "differs" not in statuses.values()
    assert statuses["agreement_pooled_arousal_mean"] == "not compared"
    assert statuses["distinct_labels_per_stimulus"] == "not compared"
    means = pd.read_csv(table_path(tmp_path, "rating_means"))
    assert means["n_samples"].max() == 47 * 118
    html = (tmp_path / "report.html").read_text()
    assert "SIMULATED DATA" in html
    assert ">Inter-rater agreement</h2>" in html
    assert "1 constant valence" in html
    assert ">Paper vs this analysis</h2>" in html
    assert "not compared: SIMULATED data" in html

    assert "the first 118 samples (59 s at 2 Hz), from the paper" in html


def test_run_analysis_on_the_simulated_study(small_study, tmp_path):
    study = small_study
    summary = run_analysis(study, tmp_path)
    check_outputs(tmp_path, dynamic=True)
    check_static_summary(summary)
    assert "dynamic" in summary
    ids = pd.read_csv(study / "video_urls.csv")["video_id"].tolist()
    gold = pd.read_csv(tmp_path / "gold_standard.csv", dtype={"media_id": str})
    assert set(gold["media_id"]) <= set(ids)
    assert set(gold["modality"]) <= set(MODALITIES)
    agreement = pd.read_csv(tmp_path / "agreement.csv")
    assert agreement.columns.tolist() == [
        "participant_id",
        "media_id",
        "modality",
        "valence",
        "arousal",
    ]
    assert "SIMULATED DATA" in (tmp_path / "report.html").read_text()


def test_a_study_with_every_annotation_too_short_is_a_clear_error(tmp_path):
    # 4 s excerpts (8 samples each) never reach the 118-sample window: every
    # annotation is left out, so there is nothing to analyse.
    study = built_study(simulated=True)
    assert study.dynamic is not None
    study.dynamic = study.dynamic[study.dynamic["sample"] < 8].reset_index(drop=True)
    with pytest.raises(DataError, match="no static annotation is left.*shorter than the analysis"):
        analyze_dataset(study, tmp_path, figures=False)
