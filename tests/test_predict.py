"""`muvi predict`: features of a new video -> valence/arousal curves at 2 Hz.

The bundles here are fitted in the test on features whose relation to the
rating is known (visual valence = 2 * brightness - 1), so the predicted curve
of a generated black-then-white video must follow the picture at the right
samples. The end-to-end test trains bundles on a simulated study with
`muvi train` and checks the curves' length and range.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# the video generator of the feature tests
sys.path.insert(0, str(Path(__file__).parent / "features"))
from videogen import BLACK, WHITE, silence, tone, write_video  # noqa: E402

from muvi.data.schema import emobase_feature_names  # noqa: E402
from muvi.errors import BundleError  # noqa: E402
from muvi.predict import find_bundles, needed_families, predict_video  # noqa: E402

N_ITEMS, N_SAMPLES = 6, 24


def _series(columns: list[str], set_name: str, seed: int, target_of=None):  # type: ignore[no-untyped-def]
    from muvi.models.windows import SeriesSet

    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (N_ITEMS, N_SAMPLES, len(columns))).astype(np.float32)
    targets = (
        target_of(values) if target_of is not None else rng.uniform(-1, 1, (N_ITEMS, N_SAMPLES))
    ).astype(np.float32)
    return SeriesSet(
        items=[f"item{i}" for i in range(N_ITEMS)],
        features={set_name: values},
        targets=targets,
        feature_names={set_name: columns},
        samples=np.arange(N_SAMPLES),
    )


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two LASSO bundles with a known rule: visual_valence = 2 * brightness - 1
    (colour + lighting features) and music_arousal = 0.4 * loudness - 1 (emobase
    ``pcm_loudness_sma_amean``, drawn in [0, 5] for training)."""
    from muvi.features.colour import colour_columns
    from muvi.features.lighting import lighting_columns
    from muvi.models.bundle import save_bundle
    from muvi.models.lasso import LassoConfig, LassoRegressor

    out = tmp_path_factory.mktemp("bundles")
    visual_columns = colour_columns() + lighting_columns()
    brightness = visual_columns.index("lighting__brightness_mean")
    visual = _series(visual_columns, "visual", 1, lambda v: 2 * v[..., brightness] - 1)
    lasso = LassoRegressor(("visual",), LassoConfig(inner_folds=3)).fit(visual)
    save_bundle(lasso, out / "visual_valence_lasso", target_modality="visual", dimension="valence")
    audio_columns = list(emobase_feature_names())
    loudness = audio_columns.index("pcm_loudness_sma_amean")

    def arousal(values: np.ndarray) -> np.ndarray:
        values[..., loudness] *= 5
        return 0.4 * values[..., loudness] - 1

    audio = _series(audio_columns, "audio", 2, arousal)
    lasso = LassoRegressor(("audio",), LassoConfig(inner_folds=3)).fit(audio)
    save_bundle(
        lasso,
        out / "music_arousal_lasso",
        target_modality="music",
        dimension="arousal",
        simulated=True,
    )
    return out


@pytest.fixture(scope="module")
def black_white(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Black for 3 s then white for 3 s; a tone for the first 3 s, then silence."""
    folder = tmp_path_factory.mktemp("video")
    audio = np.concatenate([tone(3.0), silence(3.0)])
    return write_video(folder / "bw.mp4", [(3.0, BLACK), (3.0, WHITE)], audio).path


def test_curves_follow_the_picture_and_the_sound(
    bundles: Path, black_white: Path, tmp_path: Path
) -> None:
    from muvi.features import extract_video

    curves = predict_video(black_white, bundles, start=0.0, out_dir=tmp_path)
    assert list(curves.columns) == ["sample", "time", "music_arousal", "visual_valence"]
    assert curves["sample"].tolist() == list(range(12))
    np.testing.assert_allclose(curves["time"], np.arange(12) * 0.5)
    valence = curves["visual_valence"].to_numpy()
    # the first 4 samples have no 2 s of history; then black (samples 4, 5: t = 2.0, 2.5 s)
    # gives 2 * 0 - 1 = -1 and white (samples 6-11, from 3.0 s) 2 * 1 - 1 = +1
    assert np.isnan(valence[:4]).all()
    np.testing.assert_allclose(valence[4:6], -1.0, atol=0.2)
    np.testing.assert_allclose(valence[6:], 1.0, atol=0.2)
    # the sound is the other way round: the tone's loudness L until 3 s, then silence (L = 0)
    arousal = curves["music_arousal"].to_numpy()
    loud = extract_video(black_white, features="audio", start=0.0).audio
    expected = 0.4 * loud["pcm_loudness_sma_amean"].to_numpy() - 1
    assert np.isnan(arousal[:4]).all()
    np.testing.assert_allclose(arousal[4:], expected[4:], atol=0.2)
    assert arousal[4:6].min() > 0 and arousal[6:].max() < -0.8

    saved = pd.read_csv(tmp_path / "curves.csv")
    pd.testing.assert_frame_equal(saved, curves, check_dtype=False)
    payload = json.loads((tmp_path / "curves.json").read_text())
    assert payload["curves"]["visual_valence"][:4] == [None] * 4
    assert payload["curves"]["visual_valence"][6] == pytest.approx(valence[6])
    assert payload["models"]["visual_valence"]["bundle"] == "visual_valence_lasso"
    assert payload["trained_on_simulated_data"] is True  # the music bundle says so
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_the_needed_families_are_extracted() -> None:
    assert needed_families(["lighting__key", "mfcc_sma[1]_max"]) == ["audio", "lighting"]
    with pytest.raises(BundleError, match="'texture__grain' is produced by no feature extractor"):
        needed_families(["texture__grain"], "b")


def test_no_bundle_is_a_clear_error(tmp_path: Path, black_white: Path) -> None:
    with pytest.raises(BundleError, match="no model bundles here"):
        predict_video(black_white, tmp_path)
    with pytest.raises(BundleError, match="model folder not found"):
        find_bundles(tmp_path / "missing")


def test_cli_predict(bundles: Path, black_white: Path, tmp_path: Path) -> None:
    from muvi.cli import main

    main(
        [
            "predict",
            str(black_white),
            "--model",
            str(bundles / "visual_valence_lasso"),
            "--start",
            "0",
            "--out",
            str(tmp_path),
        ]
    )
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert list(curves.columns) == ["sample", "time", "visual_valence"]
    assert len(curves) == 12


@pytest.mark.slow
def test_end_to_end_with_bundles_trained_on_a_simulated_study(
    small_study: Path, tmp_path: Path
) -> None:
    """`muvi train` on the simulated study, then `muvi predict` on a generated video.

    The study's visual features are cut down to the colour and lighting
    families (a study may use any subset of the families) so the test needs
    no visual models; the bundles' manifests then make `muvi predict` extract
    exactly audio, colour and lighting."""
    import shutil

    from muvi.cli import main

    study = tmp_path / "study"
    shutil.copytree(small_study, study)
    visual_file = study / "combined_visual_features.csv"
    visual = pd.read_csv(visual_file)
    keep = [
        c
        for c in visual.columns
        if not c.startswith(("faces__", "scenes__", "objects__", "actions__"))
    ]
    visual[keep].to_csv(visual_file, index=False)

    bundles = tmp_path / "bundles"
    main(
        [
            "train",
            "--data",
            str(study),
            "--out",
            str(bundles),
            "--experiments",
            "1,2,6",
            "--dimensions",
            "arousal",
            "--epochs",
            "1",
            "--quiet",
        ]
    )
    silent_second = np.zeros(16000, dtype=np.float32)
    clip = write_video(
        tmp_path / "clip.mp4",
        [(4.0, BLACK), (4.0, WHITE)],
        np.concatenate([silent_second, tone(7.0)]),
    )
    main(["predict", str(clip.path), "--model", str(bundles), "--out", str(tmp_path / "out")])
    curves = pd.read_csv(tmp_path / "out" / "curves.csv")
    # the music starts after 1 s of silence: 7 s of excerpt = 14 samples at 2 Hz
    assert len(curves) == 14
    expected = ["music_arousal", "visual_arousal", "audiovisual_arousal"]
    assert list(curves.columns) == ["sample", "time", *expected]
    values = curves[expected].to_numpy()
    assert np.isnan(values[:4]).all()
    assert np.isfinite(values[4:]).all() and (np.abs(values[4:]) <= 1).all()
    payload = json.loads((tmp_path / "out" / "curves.json").read_text())
    assert payload["trained_on_simulated_data"] is True
    assert payload["excerpt_start_s"] == pytest.approx(1.0, abs=0.1)
    assert payload["models"]["audiovisual_arousal"]["architecture"] == "late_fusion"


@pytest.mark.parametrize("name", ["clip $x^$ 2.mp4", "$\\frac{1}{$.mp4", "a [red] [b] $.mp4"])
def test_cli_predict_on_a_file_named_with_mathtext_writes_the_png(
    name: str, bundles: Path, black_white: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """matplotlib reads ``$...$`` in a title as mathtext: an invalid formula used to
    crash after the CSV and JSON were written, leaving no PNG."""
    import shutil

    from muvi.cli import main

    video = tmp_path / name
    shutil.copy(black_white, video)
    out = tmp_path / "d[" / "b] out"  # the path holds d[/b]
    main(["predict", str(video), "--model", str(bundles / "visual_valence_lasso"), "--start", "0", "--out", str(out)])  # fmt: skip
    png = out / "curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert json.loads((out / "curves.json").read_text())["video"] == str(video)
    err = capsys.readouterr().err
    assert f"wrote {out / 'curves.png'}" in err  # the path printed as written


# --- what `muvi predict` says: skipped modalities, warnings, ratings ---------


def _ccc(x: np.ndarray, y: np.ndarray) -> float:
    """Lin's CCC by the formula, population moments (written out here, not the package's)."""
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    return float(2 * cov / (((x - mx) ** 2).mean() + ((y - my) ** 2).mean() + (mx - my) ** 2))


@pytest.fixture(scope="module")
def faces_bundles(bundles: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The music bundle of ``bundles`` beside a visual bundle that reads the faces
    features (which need pretrained weights)."""
    import shutil

    from muvi.features.faces import faces_columns
    from muvi.models.bundle import save_bundle
    from muvi.models.lasso import LassoConfig, LassoRegressor

    out = tmp_path_factory.mktemp("faces_bundles")
    shutil.copytree(bundles / "music_arousal_lasso", out / "music_arousal_lasso")
    columns = faces_columns()
    series = _series(columns, "visual", 3, lambda v: v[..., 0] - 0.5)
    lasso = LassoRegressor(("visual",), LassoConfig(inner_folds=3)).fit(series)
    save_bundle(lasso, out / "visual_valence_lasso", target_modality="visual", dimension="valence")
    return out


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from muvi.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def test_absent_visual_weights_skip_visual_and_predict_music(
    faces_bundles: Path, black_white: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty_weights = tmp_path / "no_weights"
    empty_weights.mkdir()
    out = tmp_path / "out"
    code, err = _run(
        ["predict", black_white, "--model", faces_bundles, "--start", "0", "--out", out,
         "--weights-dir", empty_weights],
        capsys,
    )  # fmt: skip
    assert code == 0
    curves = pd.read_csv(out / "curves.csv")
    assert list(curves.columns) == ["sample", "time", "music_arousal"]
    # the console says which modality was skipped and why (the weights named), once
    skipped = [line for line in err.splitlines() if line.startswith("warning: visual skipped:")]
    assert len(skipped) == 1
    assert "faces features cannot be extracted" in skipped[0]
    assert "'fer2013-vgg19'" in skipped[0] and "missing" in skipped[0]
    payload = json.loads((out / "curves.json").read_text())
    assert list(payload["skipped"]) == ["visual_valence"]
    assert "fer2013-vgg19" in payload["skipped"]["visual_valence"]
    assert list(payload["curves"]) == ["music_arousal"]
    # asking for visual alone: nothing can be made, one line naming the reason
    code, err = _run(
        ["predict", black_white, "--model", faces_bundles, "--start", "0", "--out",
         tmp_path / "out2", "--weights-dir", empty_weights, "--modalities", "visual"],
        capsys,
    )  # fmt: skip
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: no curve can be made: visual_valence:")
    assert not (tmp_path / "out2" / "curves.csv").exists()


def test_modalities_option_limits_the_curves(
    bundles: Path, black_white: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(
        ["predict", black_white, "--model", bundles, "--start", "0", "--out", tmp_path,
         "--modalities", "visual"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert list(pd.read_csv(tmp_path / "curves.csv").columns) == [
        "sample",
        "time",
        "visual_valence",
    ]
    # the music bundle was not asked for: it is neither run nor reported as skipped
    assert "skipped" not in err
    code, err = _run(
        ["predict", black_white, "--model", bundles, "--out", tmp_path, "--modalities", "sound"],
        capsys,
    )
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "error: --modalities: 'sound' is not a modality (choose from music, visual, "
        "audiovisual, or all)"
    )


def test_warnings_on_test_weights_and_simulated_bundles(
    bundles: Path,
    faces_bundles: Path,
    black_white: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The faces features come from random test weights and the music bundle was
    trained on simulated data: the console, curves.json and the drawn figure say both."""
    from matplotlib.text import Text

    from muvi.plotting import style
    from muvi.testing import build_test_weights

    weights = tmp_path / "weights"
    build_test_weights(weights, ["faces"])
    drawn: list[str] = []
    save = style.save_figure

    def record(fig, path, formats=style.FORMATS):  # type: ignore[no-untyped-def]
        drawn.extend(t.get_text() for t in fig.findobj(Text) if t.get_text())
        return save(fig, path, formats)

    monkeypatch.setattr(style, "save_figure", record)
    out = tmp_path / "out"
    code, err = _run(
        ["predict", black_white, "--model", faces_bundles, "--start", "0", "--out", out,
         "--weights-dir", weights],
        capsys,
    )  # fmt: skip
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert any(
        "faces features came from small randomly initialised TEST weights" in w for w in warnings
    )
    assert any("trained on SIMULATED data (music_arousal_lasso)" in w for w in warnings)
    payload = json.loads((out / "curves.json").read_text())
    assert payload["test_weights"] == ["faces"]
    assert payload["trained_on_simulated_data"] is True
    assert payload["models"]["music_arousal"]["trained_on_simulated_data"] is True
    assert payload["models"]["visual_valence"]["trained_on_simulated_data"] is False
    assert len(payload["warnings"]) == 2
    text = "\n".join(drawn)
    assert "WARNING: faces features from random TEST weights" in text
    assert "WARNING: models trained on SIMULATED data" in text
    assert (out / "curves.png").is_file() and (out / "curves.svg").is_file()
    # a real-data bundle on features that need no weights: no warning anywhere
    drawn.clear()
    code, err = _run(
        ["predict", black_white, "--model", bundles / "visual_valence_lasso", "--start", "0",
         "--out", tmp_path / "plain"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "warning:" not in err
    assert json.loads((tmp_path / "plain" / "curves.json").read_text())["warnings"] == []
    assert drawn and not any("WARNING" in t for t in drawn)


def test_ratings_give_ccc_and_rmse_computed_by_the_formula(
    bundles: Path, black_white: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ratings on the video's clock (the excerpt starts at 1 s), compared with the
    curves: CCC and RMSE as computed here by the formula, on the samples with both."""
    start = 1.0
    rng = np.random.default_rng(5)
    n = 10  # 5 s of excerpt after the 1 s start
    valence = rng.uniform(-1, 1, n)
    arousal = rng.uniform(-1, 1, n)
    ratings = tmp_path / "my ratings.csv"
    pd.DataFrame(
        {"time": start + 0.5 * np.arange(n), "valence": valence, "arousal": arousal}
    ).to_csv(ratings, index=False)
    out = tmp_path / "out"
    code, err = _run(
        ["predict", black_white, "--model", bundles, "--start", start, "--out", out,
         "--ratings", ratings],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    curves = pd.read_csv(out / "curves.csv")
    assert len(curves) == n
    np.testing.assert_allclose(curves["time"], start + 0.5 * np.arange(n))  # the video's clock
    payload = json.loads((out / "curves.json").read_text())
    assert payload["time_axis"] == "video" and payload["excerpt_start_s"] == start
    found = {(a["modality"], a["dimension"]): a for a in payload["ratings"]["agreement"]}
    assert sorted(found) == [("music", "arousal"), ("visual", "valence")]
    for (modality, dimension), rated in (
        (("music", "arousal"), arousal),
        (("visual", "valence"), valence),
    ):
        predicted = curves[f"{modality}_{dimension}"].to_numpy()
        both = np.isfinite(predicted)  # the first 4 samples have no prediction
        assert both.sum() == n - 4
        ccc = _ccc(rated[both], predicted[both])
        rmse = float(np.sqrt(np.mean((rated[both] - predicted[both]) ** 2)))
        entry = found[(modality, dimension)]
        assert entry["ccc"] == pytest.approx(ccc, abs=1e-9)
        assert entry["rmse"] == pytest.approx(rmse, abs=1e-9)
        assert entry["n_samples"] == n - 4
        assert f"vs your ratings, {modality} {dimension}: CCC {ccc:.3f}, RMSE {rmse:.3f}" in err
    # the same ratings by sample number, for the visual condition only
    by_sample = tmp_path / "by_sample.csv"
    pd.DataFrame(
        {"sample": np.arange(n), "modality": "visual", "valence": valence, "arousal": arousal}
    ).to_csv(by_sample, index=False)
    code, err = _run(
        ["predict", black_white, "--model", bundles, "--start", start, "--out", tmp_path / "o2",
         "--ratings", by_sample],
        capsys,
    )  # fmt: skip
    again = json.loads((tmp_path / "o2" / "curves.json").read_text())["ratings"]["agreement"]
    assert [(a["modality"], a["dimension"]) for a in again] == [("visual", "valence")]
    assert again[0]["ccc"] == pytest.approx(found[("visual", "valence")]["ccc"], abs=1e-12)


def test_a_ratings_time_off_the_grid_is_one_line_naming_the_row(
    bundles: Path, black_white: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ratings = tmp_path / "r.csv"
    ratings.write_text("time,valence\n0.0,0.1\n0.5,0.2\n0.8,0.3\n")
    code, err = _run(
        ["predict", black_white, "--model", bundles, "--start", "0", "--out", tmp_path / "o",
         "--ratings", ratings],
        capsys,
    )  # fmt: skip
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(ratings) in last and "row 3" in last
    assert "time 0.8 s is not on the 2 Hz grid" in last
    assert "Traceback" not in err


def test_an_audio_file_predicts_music_and_says_why_visual_is_skipped(
    bundles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scipy.io import wavfile
    from videogen import AUDIO_RATE

    audio = tmp_path / "song.wav"
    wavfile.write(audio, AUDIO_RATE, (tone(6.0) * 32767).astype(np.int16))
    code, err = _run(
        ["predict", audio, "--model", bundles, "--start", "0", "--out", tmp_path / "out"], capsys
    )
    assert code == 0, err
    assert list(pd.read_csv(tmp_path / "out" / "curves.csv").columns) == [
        "sample",
        "time",
        "music_arousal",
    ]
    lines = [line for line in err.splitlines() if line.startswith("warning: visual skipped:")]
    assert len(lines) == 1 and "song.wav has no video stream" in lines[0]


def test_a_malformed_ratings_file_fails_before_the_extraction(
    bundles: Path,
    black_white: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import muvi.features.batch

    def no_extraction(*args: object, **kwargs: object) -> None:
        raise AssertionError("the video was decoded before the ratings were checked")

    monkeypatch.setattr(muvi.features.batch, "extract_video", no_extraction)
    for text, problem in (
        ("time,valence\n1.0,0.2\n1.5,high\n", "row 2: valence 'high' is not a number"),
        ("t,valence\n1.0,0.2\n", "a ratings file needs a 'time' (s) or a 'sample' column"),
        ("sample,mood\n0,0.2\n", "a ratings file needs a 'valence' and/or an 'arousal' column"),
        ("sample,valence\n0,0.1\n0,0.2\n", "row 2: sample 0 of music is rated twice"),
        ("sample,modality,arousal\n0,audio,0.1\n", "row 1: modality 'audio' is not one of"),
        ("sample,valence\n1.5,0.1\n", "row 1: sample '1.5' is not a sample number"),
    ):
        ratings = tmp_path / "r.csv"
        ratings.write_text(text)
        code, err = _run(
            ["predict", black_white, "--model", bundles, "--out", tmp_path / "o", "--ratings",
             ratings],
            capsys,
        )  # fmt: skip
        assert code == 2, text
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"error: {ratings}") and problem in last, (text, last)
    assert not (tmp_path / "o").exists()  # nothing written


def test_the_figure_one_panel_per_dimension_on_the_video_clock() -> None:
    """The figure of a hand-made prediction: a panel per dimension, the x axis on the
    video's clock with the excerpt start marked, each modality in its fixed colour, the
    ratings in black, CCC and RMSE in the legend, the warnings above."""
    from types import SimpleNamespace

    from matplotlib.colors import to_hex

    from muvi.plotting.style import GOLD_STANDARD_COLOUR, MODALITY_COLOURS
    from muvi.predict import Agreement, CurveModel, Prediction, curves_figure

    def model(modality: str, dimension: str, architecture: str, sets: list[str]) -> CurveModel:
        manifest = {"name": f"{modality}_{dimension}_{architecture}", "architecture": architecture,
                    "feature_sets": sets, "simulated": modality == "visual"}  # fmt: skip
        bundle = SimpleNamespace(manifest=manifest, target_modality=modality, dimension=dimension,
                                 path=Path(manifest["name"]))  # fmt: skip
        return CurveModel(f"{modality}_{dimension}", bundle)

    n, start = 8, 12.5
    t = start + 0.5 * np.arange(n)
    curves = pd.DataFrame({"sample": np.arange(n), "time": t, "music_valence": 0.1,
                           "visual_valence": 0.3, "music_arousal": 1.5})  # fmt: skip
    ratings = pd.DataFrame({"sample": np.arange(n), "music_valence": 0.2, "visual_valence": 0.2})
    result = Prediction(
        curves=curves,
        models=[
            model("music", "valence", "lstm", ["audio"]),
            model("visual", "valence", "lasso", ["visual"]),
            model("music", "arousal", "lasso", ["audio"]),
        ],
        start=start,
        video=Path("clip.mp4"),
        simulated_bundles=["visual_valence_lasso"],
        ratings=ratings,
        agreement=[Agreement("music", "valence", 0.25, 0.1, 8)],
    )
    fig = curves_figure(result)
    valence, arousal = fig.axes[:2]
    assert valence.get_ylabel().startswith("Valence") and arousal.get_ylabel().startswith("Arousal")
    assert arousal.get_xlabel() == "Time in the video (s)"
    lines = {line.get_label(): line for line in valence.lines}
    assert lines["Excerpt start"].get_xdata()[0] == start
    assert to_hex(lines["Your ratings"].get_color()) == GOLD_STANDARD_COLOUR
    music = lines["Music: LSTM, audio (CCC 0.25, RMSE 0.10)"]
    np.testing.assert_allclose(music.get_xdata(), t)
    assert to_hex(music.get_color()) == MODALITY_COLOURS["music"]
    visual = lines["Visual (muted video): LASSO, visual"]
    assert to_hex(visual.get_color()) == MODALITY_COLOURS["visual"]
    # the music arousal of 1.5 leaves the axis: marked on the top edge in the music colour
    marks = [ln for ln in arousal.lines if ln.get_marker() == "^"]
    assert len(marks) == 1 and to_hex(marks[0].get_color()) == MODALITY_COLOURS["music"]
    assert "WARNING: models trained on SIMULATED data" in fig.get_suptitle()


def test_ratings_on_their_own_grid_are_interpolated_at_the_curves_times(tmp_path: Path) -> None:
    """Ratings at 2.0, 2.5, 3.0, 3.5 s; curves from 0.7 s (a detected start): sample j
    is at 0.7 + j / 2 s, so sample 3 (2.2 s) is 0.6 of the 2.0 s rating and 0.4 of the
    2.5 s one, worked out by hand below."""
    from muvi.predict import align_ratings

    file = tmp_path / "r.csv"
    file.write_text("time,valence\n2.0,0.1\n2.5,0.3\n3.0,0.2\n3.5,-0.4\n")
    placed = align_ratings(file, start=0.7, n_samples=8, start_detected=True)
    expected = [np.nan] * 3 + [0.6 * 0.1 + 0.4 * 0.3, 0.6 * 0.3 + 0.4 * 0.2, 0.6 * 0.2 - 0.4 * 0.4]
    expected += [np.nan, np.nan]  # 3.7 s and 4.2 s are after the last rating
    np.testing.assert_allclose(placed.table["music_valence"], expected, atol=1e-12)
    assert placed.note is not None
    assert "0.20 s off" in placed.note and "--start 0.5 puts the curves" in placed.note
    # on the ratings' own grid (start 0.5 s): each rating is a sample's, no note
    placed = align_ratings(file, start=0.5, n_samples=8)
    np.testing.assert_allclose(
        placed.table["music_valence"], [np.nan] * 3 + [0.1, 0.3, 0.2, -0.4, np.nan]
    )
    assert placed.note is None
    # a missing rating leaves the samples on both sides of it empty
    file.write_text("time,valence\n2.0,0.1\n2.5,\n3.0,0.2\n3.5,-0.4\n")
    series = align_ratings(file, start=0.7, n_samples=8).table["music_valence"].to_numpy()
    assert np.isnan(series[3:5]).all() and series[5] == pytest.approx(-0.04)


def test_ratings_that_cannot_be_aligned_say_why_in_one_line(tmp_path: Path) -> None:
    from muvi.errors import DataError
    from muvi.predict import align_ratings

    file = tmp_path / "r.csv"
    file.write_text("time,arousal\n100.0,0.1\n100.5,0.3\n")
    with pytest.raises(DataError, match=r"do not overlap the curves' \(0\.70-4\.20 s") as err:
        align_ratings(file, start=0.7, n_samples=8)
    assert "--start" in str(err.value) and "\n" not in str(err.value)
    file.write_text("time,arousal\n1.0,0.1\n1.5,0.3\n1.8,0.2\n")
    with pytest.raises(DataError, match="row 3: time 1.8 s is not on the 2 Hz grid of the ratings"):
        align_ratings(file, start=0.7, n_samples=8)


def test_predict_on_a_real_mp3_aligns_the_1000_songs_ratings(
    bundles: Path, realmusic_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Song 12 of the 1000 Songs excerpts: the music start found in the audio shifts the
    curves' grid off the ratings' (2 Hz from 15 s); the ratings, given as the dataset's
    own file, are interpolated at the curves' times (checked with numpy's interp on the
    real row), and the warnings stay one short line each."""
    song = realmusic_dir / "12.mp3"
    arousal_file = realmusic_dir / "arousal_cont_average.csv"
    out = tmp_path / "out"
    code, err = _run(
        ["predict", song, "--model", bundles, "--out", out, "--ratings", arousal_file], capsys
    )
    assert code == 0, err
    payload = json.loads((out / "curves.json").read_text())
    start = payload["excerpt_start_s"]
    assert 0.6 < start < 0.8  # the music start found in the audio
    assert any("interpolated linearly" in n and "--start 0.5" in n for n in payload["notes"])
    assert "interpolated linearly" in payload["ratings"]["alignment"]
    row = pd.read_csv(arousal_file).set_index("song_id").loc[12]
    times = np.array([int(c[len("sample_") : -len("ms")]) / 1000 for c in row.index])
    curve_times = np.asarray(payload["time"])
    inside = (curve_times >= times[0]) & (curve_times <= times[-1])
    expected = np.where(inside, np.interp(curve_times, times, row.to_numpy(float)), np.nan)
    rated = np.array(payload["ratings"]["series"]["music_arousal"], dtype=float)
    np.testing.assert_allclose(rated, expected, atol=1e-12)
    (found,) = payload["ratings"]["agreement"]
    assert found["n_samples"] == int(inside.sum())
    # the visual bundle needs two visual families of a file without a picture: one line
    (line,) = [x for x in err.splitlines() if x.startswith("warning: visual skipped")]
    assert "12.mp3 has no video stream, 2 times" in line and len(line) < 200
    # --start 0.5 puts the curves on the ratings' times: the file's values, as they are
    code, err = _run(
        ["predict", song, "--model", bundles, "--out", tmp_path / "o2", "--start", "0.5",
         "--ratings", realmusic_dir],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    again = json.loads((tmp_path / "o2" / "curves.json").read_text())
    assert not any("interpolated" in n for n in again["notes"])
    assert again["ratings"]["alignment"] is None
    series = np.array(again["ratings"]["series"]["music_arousal"], dtype=float)
    k = (15.0 - 0.5) / 0.5  # the 15 s rating is sample 29
    assert series[int(k)] == pytest.approx(row.iloc[0], abs=1e-12)
    assert np.isnan(series[: int(k)]).all()


def test_a_time_rated_twice_off_the_curves_grid_is_one_line(tmp_path: Path) -> None:
    from muvi.errors import DataError
    from muvi.predict import align_ratings

    file = tmp_path / "r.csv"
    file.write_text("time,valence\n2.0,0.1\n2.5,0.3\n2.5,0.2\n")
    with pytest.raises(DataError, match="row 3: time 2.5 s of music is rated twice"):
        align_ratings(file, start=0.7, n_samples=8)


def test_the_1000_songs_layout_reads_the_songs_row_and_names_what_is_missing(
    realmusic_dir: Path, tmp_path: Path
) -> None:
    from muvi.errors import DataError
    from muvi.predict import align_ratings

    valence = pd.read_csv(realmusic_dir / "valence_cont_average.csv").set_index("song_id")
    placed = align_ratings(realmusic_dir, start=0.0, n_samples=91, song="3")
    # sample k is at k / 2 s: the 15 s rating is sample 30, the 45 s one sample 90
    assert placed.table.loc[30, "music_valence"] == pytest.approx(valence.loc[3, "sample_15000ms"])
    assert placed.table.loc[90, "music_valence"] == pytest.approx(valence.loc[3, "sample_45000ms"])
    assert placed.table["music_valence"].notna().sum() == 61 and placed.note is None
    with pytest.raises(DataError, match="no row for song_id 999"):
        align_ratings(realmusic_dir, start=0.0, n_samples=91, song="999")
    with pytest.raises(DataError, match="needs valence_cont_average.csv and/or arousal"):
        align_ratings(tmp_path, start=0.0, n_samples=91, song="3")


def test_one_problem_of_many_bundles_and_families_is_said_once_with_its_count() -> None:
    """Four visual bundles of six families each on an audio file: 24 pairs, one clause."""
    from muvi.predict import skip_reason

    families = ["colour", "lighting", "faces", "objects", "scenes", "shots"]
    bundles = ["visual_valence_lstm", "visual_arousal_lstm", "visual_valence_lasso", "pair"]
    blocked = [(b, f, "12.mp3 has no video stream") for b in bundles for f in families]
    reason = skip_reason(blocked)
    assert reason.count("has no video stream") == 1
    assert "(12.mp3 has no video stream, 24 times)" in reason
    assert reason.startswith("colour, lighting, faces, objects, scenes, shots features")
    assert reason.endswith("bundles " + ", ".join(bundles) + " skipped")
    # two problems: two clauses, each with its own count
    mixed = skip_reason(
        [
            ("a", "faces", "weights missing"),
            ("a", "colour", "no video"),
            ("b", "faces", "weights missing"),
        ]
    )
    assert mixed == (
        "faces features cannot be extracted (weights missing, 2 times): bundles a, b skipped; "
        "colour features cannot be extracted (no video): bundle a skipped"
    )


def test_ratings_by_sample_say_they_count_from_a_detected_start(tmp_path: Path) -> None:
    from muvi.predict import align_ratings

    file = tmp_path / "r.csv"
    file.write_text("sample,arousal\n0,0.1\n1,0.3\n")
    placed = align_ratings(file, start=0.7, n_samples=4, start_detected=True)
    assert placed.table["music_arousal"].tolist()[:2] == [0.1, 0.3]
    assert placed.note is not None and "found in the audio (0.70 s)" in placed.note
    assert align_ratings(file, start=0.7, n_samples=4).note is None  # --start given
