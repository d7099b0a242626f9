"""The extractor registry: lookup, order, conflicts, and the output contract."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from videogen import GeneratedVideo

from muvi.data import schema
from muvi.data.loaders import ItemCatalog, load_visual_features
from muvi.errors import MuviError
from muvi.features import extract_video
from muvi.features.batch import extract_batch
from muvi.features.registry import (
    Extractor,
    FeatureFamily,
    UnknownFeatureError,
    available,
    family_columns,
    family_names,
    get,
    register,
    register_family,
    resolve,
    unregister,
    unregister_family,
)


def _green_share(media) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    share = [float((f[..., 1] > 200).mean()) for f in media.frames]
    return pd.DataFrame(
        {"colour__green_share": share}, index=pd.RangeIndex(len(share), name="sample")
    )


@pytest.fixture
def green_share() -> Iterator[Extractor]:
    extractor = register(
        Extractor("green_share", "colour", "frames", lambda: ["colour__green_share"], _green_share)
    )
    yield extractor
    unregister("green_share")


def test_builtins_are_found() -> None:
    assert {"audio", "colour", "lighting"} <= set(available())
    assert get("colour").family == "colour" and get("audio").kind == "audio"
    assert not get("lighting").needs_weights


def test_resolve_orders_by_family_and_expands_aliases() -> None:
    assert [e.name for e in resolve("lighting,audio, colour,lighting")] == [
        "audio",
        "colour",
        "lighting",
    ]
    assert [e.name for e in resolve("cheap")] == ["audio", "colour", "lighting"]
    assert [e.name for e in resolve(["colour"])] == ["colour"]


def test_unknown_name_lists_what_exists() -> None:
    with pytest.raises(
        UnknownFeatureError, match=r"unknown feature extractor 'colours' \(available: audio, colour"
    ):
        resolve("colours")
    with pytest.raises(MuviError, match="no feature extractors"):
        resolve(" , ")


def test_two_extractors_of_one_family_conflict(green_share: Extractor) -> None:
    with pytest.raises(MuviError, match="both produce the 'colour' family"):
        resolve("colour,green_share")


def test_name_clash_and_bad_family() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(Extractor("colour", "colour", "frames", lambda: [], _green_share))
    with pytest.raises(ValueError, match="unknown family 'texture'"):
        Extractor("texture", "texture", "frames", lambda: [], _green_share)


def test_a_registered_extractor_runs_in_extract_video(
    green_share: Extractor, cuts_video: GeneratedVideo
) -> None:
    visual = extract_video(cuts_video.path, features="green_share,lighting", start=0.0).visual
    assert visual is not None
    assert list(visual.columns) == [
        "media_id",
        "frame",
        "colour__green_share",
        *get("lighting").columns(),
    ]
    share = visual["colour__green_share"].to_numpy()
    # green shot from 2 to 4 s = frames 4-7; white (also G > 200) from 6 s = frames 12-15
    expected = np.zeros(16)
    expected[4:8] = 1
    expected[12:] = 1
    np.testing.assert_allclose(share, expected, atol=0.03)


def test_output_contract_is_checked(cuts_video: GeneratedVideo) -> None:
    broken = register(
        Extractor("broken", "faces", "frames", lambda: ["faces__count"], _green_share)
    )
    try:
        with pytest.raises(RuntimeError, match="differ from its declared columns"):
            extract_video(cuts_video.path, features="broken", start=0.0)
    finally:
        unregister(broken.name)


def test_the_yolo_backend_resolves_by_name_in_a_fresh_process():
    # the registry is global: a new interpreter shows what a user's first lookup sees
    import subprocess
    import sys

    code = (
        "from muvi.features.registry import resolve\n"
        "print([(e.name, e.family) for e in resolve('audio,objects_yolo')])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[('audio', 'audio'), ('objects_yolo', 'objects')]"


def _red_share(media) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    share = [float((f[..., 0] > 200).mean()) for f in media.frames]
    return pd.DataFrame({"tint__red_share": share}, index=pd.RangeIndex(len(share), name="sample"))


@pytest.fixture
def tint_family() -> Iterator[FeatureFamily]:
    """A toy family, registered as a new family would be: the family, then its extractor."""
    family = register_family(FeatureFamily("tint", "visual", lambda: ("tint__red_share",)))
    register(Extractor("tint", "tint", "frames", lambda: family_columns("tint"), _red_share))
    yield family
    unregister("tint")
    unregister_family("tint")


def test_a_registered_family_is_in_the_layout_and_the_output(
    tint_family: FeatureFamily, red_blue_video: GeneratedVideo, tmp_path
) -> None:
    # the published layout grows by the family's column, after the built-in ones
    columns = schema.visual_feature_columns()
    assert len(columns) == 884 and columns[-1] == "tint__red_share"
    assert schema.visual_feature_family("tint__red_share") == "tint"
    assert family_names()[-1] == "tint"
    # red for 2 s (frames 0-3), then blue (frames 4-7): the red share is 1 then 0
    visual = extract_video(red_blue_video.path, features="tint,lighting", start=0.0).visual
    assert visual is not None
    assert list(visual.columns) == [
        "media_id",
        "frame",
        *get("lighting").columns(),
        "tint__red_share",
    ]
    np.testing.assert_allclose(visual["tint__red_share"], [1, 1, 1, 1, 0, 0, 0, 0], atol=0.02)
    # batch extraction writes it into the published combined file, which the loader reads
    media_id = red_blue_video.path.stem
    report = extract_batch([red_blue_video.path], tmp_path, features="tint", starts={media_id: 0.0})
    assert report.visual_file is not None
    header = report.visual_file.read_text(encoding="utf-8").split("\n")[0]
    assert header == "media_id,frame,tint__red_share"
    loaded = load_visual_features(report.visual_file, ItemCatalog([media_id]))
    np.testing.assert_allclose(loaded["tint__red_share"], [1, 1, 1, 1, 0, 0, 0, 0], atol=0.02)


def test_family_rules() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_family(FeatureFamily("colour", "visual", lambda: ("colour__x",)))
    with pytest.raises(ValueError, match="column 'red' is not named 'tint__<feature>'"):
        register_family(FeatureFamily("tint", "visual", lambda: ("red",)))
    assert "tint" not in family_names()
    with pytest.raises(ValueError, match="unknown modality"):
        FeatureFamily("tint", "smell", tuple)  # type: ignore[arg-type]


def test_feature_families_of_earlier_versions_reads_the_registered_ones(
    tint_family: FeatureFamily,
) -> None:
    from muvi.features.registry import FEATURE_FAMILIES

    assert FEATURE_FAMILIES == (
        "audio",
        "colour",
        "lighting",
        "faces",
        "scenes",
        "objects",
        "actions",
        "tint",
    )
