"""The simulator: published formats, determinism, assignment, the special
annotations it makes, and that the EWE recovers its hidden truth."""

from __future__ import annotations

import bisect
import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from muvi.annotations import ccc, constant_annotations, gold_standard, quality_filter
from muvi.data import schema
from muvi.data.dataset import MuviDataset
from muvi.data.loaders import load_dataset, short_id
from muvi.data.simulator import SimulationConfig, simulate
from muvi.errors import MuviError

KEYS = ["participant_id", "media_id", "modality"]
KEYS_PUBLISHED = ["participant_id", "media_id", "media_modality"]


@pytest.fixture(scope="module")
def loaded(small_study: Path) -> MuviDataset:
    """The small simulated study, loaded once by the toolkit's loader."""
    return load_dataset(small_study)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(small_study: Path, tmp_path: Path) -> None:
    # the conftest fixture is simulate(seed=7, n_items=12, n_participants=16)
    simulate(tmp_path, seed=7, n_items=12, n_participants=16)
    again, first = _files(tmp_path), _files(small_study)
    assert sorted(again) == sorted(first)
    assert len(first) == 9 + 12  # 9 files + one emobase file per item
    assert all(again[name] == first[name] for name in first)


def test_another_seed_gives_another_study(small_study: Path, tmp_path: Path) -> None:
    simulate(tmp_path, seed=8, n_items=4, n_participants=5)
    assert (tmp_path / "av_data.csv").read_bytes() != (small_study / "av_data.csv").read_bytes()


def test_everything_is_marked_simulated(small_study: Path, loaded: MuviDataset) -> None:
    first_line = (small_study / "README.md").read_text().splitlines()[0]
    assert "SIMULATED" in first_line
    meta = json.loads((small_study / schema.METADATA_FILE).read_text())
    assert meta["simulated"] is True and meta["seed"] == 7
    assert meta["config"]["lag_s"] == [0.5, 2.0]
    assert loaded.simulated


def test_item_list_and_short_ids(small_study: Path) -> None:
    raw = (small_study / schema.VIDEO_URLS_FILE).read_bytes()
    lines = raw.decode().split("\r\n")
    assert lines[0] == "video_id" and b"\n" not in raw.replace(b"\r\n", b"")
    items = lines[1:]
    assert len(items) == 12 and len(set(items)) == 12
    assert all(len(i) == 11 for i in items)
    static = pd.read_csv(small_study / schema.STATIC_FILE, dtype={"media_id": str})
    spelled = set(static["media_id"])
    # the annotation files spell every item by its short form, like the real ones
    assert spelled == {short_id(i) for i in items}
    if any("_" in i for i in items):
        assert not spelled & {i for i in items if "_" in i}


def test_ids_with_underscores_are_made(tmp_path: Path) -> None:
    config = SimulationConfig(underscore_id_share=1.0)
    simulate(tmp_path, seed=3, n_items=5, n_participants=3, config=config)
    items = (tmp_path / schema.VIDEO_URLS_FILE).read_text().split()[1:]
    assert all("_" in i for i in items)
    dataset = load_dataset(tmp_path)  # the loader maps the short forms back
    assert set(dataset.static["media_id"]) == set(items)


def test_static_and_participant_files_match_the_published_layout(small_study: Path) -> None:
    with (small_study / schema.STATIC_FILE).open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == schema.STATIC_COLUMNS_PUBLISHED
    static = pd.read_csv(small_study / schema.STATIC_FILE, dtype=str)
    assert set(static["media_modality"]) == {"music", "muted_video", "video"}
    assert set(static["seen_previously"]) <= {"True", "False"}
    music = static["media_modality"] == "music"
    assert set(static.loc[music, "overlay_type"]) == {"irrelevant"}
    assert set(static.loc[~music, "overlay_type"]) == {"0", "1"}
    labels = static[list(schema.GEMS_LABELS)].astype(int)
    assert set(np.unique(labels)) == {0, 1}
    assert (labels.sum(axis=1) >= 1).all()  # at least one GEMS term per annotation
    people = pd.read_csv(small_study / schema.PARTICIPANTS_FILE)
    assert tuple(people.columns) == schema.PARTICIPANT_COLUMNS
    assert sorted(people["participant_id"]) == list(range(16))
    assert people["age"].between(18, 40).all()
    assert people["years_formal_training"].between(0, 15).all()
    assert set(people["understood_yes_or_no"]) == {"Yes"}


def test_the_header_order_is_the_real_one(muvi_dir: Path) -> None:
    with (muvi_dir / schema.STATIC_FILE).open() as fh:
        assert tuple(next(csv.reader(fh))) == schema.STATIC_COLUMNS_PUBLISHED


def test_assignment_never_repeats_an_item_and_is_balanced(small_study: Path) -> None:
    static = pd.read_csv(small_study / schema.STATIC_FILE, dtype={"media_id": str})
    assert not static.duplicated(["participant_id", "media_id"]).any()
    # 12 items < 30: everybody rates every item once, in one of the modalities
    assert (static.groupby("participant_id").size() == 12).all()
    cells = static.groupby(["media_id", "media_modality"]).size()
    assert len(cells) == 36 and cells.max() - cells.min() <= 1


def test_default_assignment_size(tmp_path: Path) -> None:
    # 40 items and 40 participants: 30-36 items each, item/modality cells within 1 of each other
    config = SimulationConfig()
    from muvi.data.simulator import _assign  # the assignment alone, without writing files

    trials = _assign(np.random.default_rng(0), np.arange(40), 40, config)
    table = pd.DataFrame(trials, columns=["participant", "item", "modality"])
    per_person = table.groupby("participant").size()
    assert per_person.between(30, 36).all()
    assert not table.duplicated(["participant", "item"]).any()
    cells = table.groupby(["item", "modality"]).size()
    assert len(cells) == 120 and cells.max() - cells.min() <= 1


def test_av_data_is_the_resampling_of_the_raw_logs(small_study: Path) -> None:
    raw = pd.read_csv(small_study / schema.RAW_LOGS_FILE, dtype={"media_id": str})
    assert tuple(raw.columns) == schema.RAW_LOG_COLUMNS
    intervals = raw.groupby(["participant_id", "media_id", "media_modality"])["timestamp"].diff()
    assert 0.45 < intervals.mean() < 0.55 and intervals.std() > 0.01  # jittered ~0.5 s
    av = pd.read_csv(small_study / schema.DYNAMIC_FILE, dtype={"media_id": str})
    assert tuple(av.columns) == schema.DYNAMIC_COLUMNS
    # the 2 Hz values worked out here by hand, point by point: at t = k / 2 s, the
    # straight line between the logged points either side, the end values held
    logs = {key: log.sort_values("timestamp") for key, log in raw.groupby(KEYS_PUBLISHED)}
    assert set(logs) == set(map(tuple, av[KEYS_PUBLISHED].drop_duplicates().values))
    for key, series in av.groupby(KEYS_PUBLISHED):
        log = logs[key]
        stamps = log["timestamp"].tolist()
        n_expected = sum(1 for k in range(200) if k * 0.5 <= stamps[-1] + 1e-9)
        assert series["seq"].tolist() == list(range(n_expected)), key
        for dimension in ("valence", "arousal"):
            values = log[dimension].tolist()
            for k, got in zip(series["seq"], series[dimension], strict=True):
                t = k * 0.5
                after = bisect.bisect_right(stamps, t)
                if after == 0:
                    expected = values[0]
                elif after == len(stamps):
                    expected = values[-1]
                else:
                    t0, t1 = stamps[after - 1], stamps[after]
                    v0, v1 = values[after - 1], values[after]
                    expected = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
                assert got == pytest.approx(expected, abs=1e-12), (key, dimension, k)
    assert av[["valence", "arousal"]].abs().max().max() <= 1.0
    lengths = av.groupby(["participant_id", "media_id", "media_modality"]).size()
    assert lengths.max() == 120 and (lengths < schema.ANALYSIS_SAMPLES).any()


def test_the_filter_leaves_out_exactly_the_constant_annotations(
    small_study: Path, loaded: MuviDataset
) -> None:
    meta = json.loads((small_study / schema.METADATA_FILE).read_text())
    made = pd.DataFrame(meta["annotations"]["constant"])
    assert set(made["cause"]) == {"never moved"}  # none pinned at the edge by chance
    assert len(made) > 0 and set(made["reason"]) <= {
        "constant valence",
        "constant arousal",
        "constant valence and arousal",
    }
    dataset = loaded
    assert dataset.dynamic is not None
    found = constant_annotations(dataset.dynamic)
    key = [*KEYS, "reason"]
    assert sorted(map(tuple, found[key].values)) == sorted(map(tuple, made[key].values))
    _, excluded = quality_filter(dataset)
    constant = excluded[excluded["reason"].str.startswith("constant")]
    assert sorted(map(tuple, constant[key].values)) == sorted(map(tuple, made[key].values))
    short = excluded[excluded["reason"] == "shorter than the analysis window"]
    listed_short = pd.DataFrame(meta["annotations"]["short"])
    assert set(map(tuple, short[KEYS].values)) <= set(map(tuple, listed_short[KEYS].values))


def _recovery(root: Path, loaded: MuviDataset | None = None) -> dict[str, tuple[float, float]]:
    """Mean CCC with the hidden truth over items and modalities: (EWE, plain mean)."""
    dataset, _ = quality_filter(loaded if loaded is not None else load_dataset(root))
    assert dataset.dynamic is not None
    truth = pd.read_csv(root / schema.GROUND_TRUTH_FILE)
    gold = gold_standard(dataset.dynamic).merge(
        truth, on=["media_id", "modality", "sample"], suffixes=("", "_true")
    )
    mean = (
        dataset.dynamic.groupby(["media_id", "modality", "sample"])[["valence", "arousal"]]
        .mean()
        .reset_index()
        .merge(truth, on=["media_id", "modality", "sample"], suffixes=("", "_true"))
    )
    out = {}
    for dim in schema.DIMENSIONS:
        scores = []
        for table in (gold, mean):
            per_panel = [
                ccc(g[dim], g[f"{dim}_true"]) for _, g in table.groupby(["media_id", "modality"])
            ]
            scores.append(float(np.mean(per_panel)))
        out[dim] = (scores[0], scores[1])
    return out


def test_ewe_recovers_the_truth_better_than_the_mean(
    small_study: Path, loaded: MuviDataset
) -> None:
    meta = json.loads((small_study / schema.METADATA_FILE).read_text())
    assert meta["annotations"]["careless"] and meta["annotations"]["contrary"]
    for dim, (by_ewe, by_mean) in _recovery(small_study, loaded).items():
        assert by_ewe > by_mean + 0.03, (dim, by_ewe, by_mean)


def test_without_bad_annotators_ewe_and_mean_agree(tmp_path: Path) -> None:
    # the control: the EWE's advantage comes from the careless and contrary annotators
    config = SimulationConfig(careless_share=0.0, contrary_share=0.0)
    simulate(tmp_path, seed=7, n_items=6, n_participants=16, config=config)
    for by_ewe, by_mean in _recovery(tmp_path).values():
        assert abs(by_ewe - by_mean) < 0.02


def test_truth_and_features_follow_the_generative_model(
    small_study: Path, loaded: MuviDataset
) -> None:
    truth = pd.read_csv(small_study / schema.GROUND_TRUTH_FILE)
    wide = truth.pivot_table(index=["media_id", "sample"], columns="modality", values="arousal")
    r = wide.corr()
    # audiovisual arousal depends mostly on the audio part
    assert r.loc["audiovisual", "music"] > r.loc["audiovisual", "visual"] + 0.2
    dataset = loaded
    assert dataset.audio_features is not None and dataset.visual_features is not None
    music = wide["music"].rename("truth")
    joined = dataset.audio_features.join(music, how="inner")
    assert len(joined) == 12 * 120
    # loudness carries the audio energy factor; a line-spectral column does not
    assert joined["pcm_loudness_sma_amean"].corr(joined["truth"], method="spearman") > 0.5
    assert abs(joined["lspFreq_sma[3]_amean"].corr(joined["truth"], method="spearman")) < 0.2


def test_emobase_files_have_the_published_layout(small_study: Path) -> None:
    names = schema.emobase_feature_names()
    path = next((small_study / schema.EMOBASE_DIR).glob("*.csv"))
    with path.open(newline="") as fh:
        header = next(csv.reader(fh))
    assert header[0] == "" and header[1] == "name" and header[-1] == "class"
    assert tuple(header[2:-1]) == names
    assert b"\r\n" not in path.read_bytes()
    table = pd.read_csv(path, index_col=0)
    assert len(table) == 120
    assert table["name"].tolist() == [f"liveturn_{k}" for k in range(120)]
    assert set(table["class"]) == {"unassigned"}
    values = table[list(names)].to_numpy()
    integer = (values == np.round(values)).all(axis=0)
    pos = np.array([n.endswith("Pos") for n in names])
    # as in the real files: the ...Pos columns are exactly the integer-valued ones, in 0..49
    assert np.array_equal(integer, pos)
    assert values[:, pos].min() >= 0 and values[:, pos].max() <= 49


def test_visual_features_are_plausible(small_study: Path) -> None:
    visual = pd.read_csv(small_study / schema.VISUAL_FEATURES_FILE, dtype={"media_id": str})
    assert tuple(visual.columns) == (*schema.VISUAL_KEY_COLUMNS, *schema.visual_feature_columns())
    assert len(visual) == 12 * 120
    for family in ("colour__hue", "colour__sat", "scenes__", "actions__"):
        block = visual.filter(like=family)
        assert np.allclose(block.sum(axis=1), 1.0, atol=1e-3), family
    probs = visual.filter(regex="^(faces__(?!count)|objects__|scenes__|actions__|lighting__)")
    assert probs.min().min() >= 0 and probs.max().max() <= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_items": 0}, "n_items"),
        ({"n_participants": 1}, "n_participants"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_sizes_are_refused(tmp_path: Path, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="shares"):
        SimulationConfig(careless_share=0.7, contrary_share=0.5)


def test_the_simulate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from muvi.cli import main

    main(["simulate", "--out", str(tmp_path), "--seed", "2", "--items", "3", "--participants", "4"])
    line = capsys.readouterr().out.strip()
    assert line.startswith("SIMULATED study (seed 2): 3 items, 4 participants")
    assert len(pd.read_csv(tmp_path / schema.STATIC_FILE)) == 12  # 4 people x 3 items
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "--out", str(tmp_path), "--items", "0"])
    assert stop.value.code == 2
    assert "--items must be at least 1" in capsys.readouterr().err


def test_a_folder_with_other_data_is_never_overwritten(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "media_data.csv").write_text("precious\n")
    with pytest.raises(MuviError, match="not empty and holds no simulated study"):
        simulate(real, n_items=2, n_participants=2)
    assert (real / "media_data.csv").read_text() == "precious\n"
    assert sorted(p.name for p in real.iterdir()) == ["media_data.csv"]


def test_a_simulated_folder_is_replaced_cleanly(tmp_path: Path) -> None:
    simulate(tmp_path, seed=1, n_items=4, n_participants=3)
    simulate(tmp_path, seed=2, n_items=2, n_participants=3)
    assert len(list((tmp_path / schema.EMOBASE_DIR).glob("*.csv"))) == 2
    assert load_dataset(tmp_path).items == (tmp_path / "video_urls.csv").read_text().split()[1:]
