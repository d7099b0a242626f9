"""The workflows' options: checked before any work, one clear line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from muvi.cli import main
from muvi.errors import MuviError
from muvi.workflows import EvaluateOptions, ModelOptions, TrainOptions, evaluate, train
from muvi.workflows.options import default_cache, parse_experiments, split_names


def test_lists_and_cache_folder():
    assert split_names(" 1, ,2 ") == ("1", "2")
    assert parse_experiments("7,1") == (7, 1)
    assert default_cache(None, Path("out")) == Path("out") / "cache"
    with pytest.raises(MuviError, match="--experiments takes numbers"):
        parse_experiments("1,two")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ModelOptions(profile="keras"), "--profile is paper or reference-code, not 'keras'"),
        (ModelOptions(defects=("leak",)), "--replicate-defects"),
        (ModelOptions(device="tpu"), "unknown device 'tpu'"),
        (ModelOptions(precision="bfloat16", batched=False), "needs batched training"),
    ],
)
def test_model_options_refuse_what_cannot_run(options, message):
    with pytest.raises(MuviError, match=message):
        options.config()


def test_the_note_names_the_device():
    config, note = ModelOptions(device="cpu", epochs=3).config()
    assert config.training.max_epochs == 3 and note.startswith("training on cpu")


def test_an_unknown_layout_is_one_line_before_any_work(small_study, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--data", str(small_study), "--out", str(tmp_path / "e"),
              "--layout", "nope"])  # fmt: skip
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown layout 'nope'" in err and "Traceback" not in err
    assert not (tmp_path / "e").exists()


def test_the_workflows_refuse_bad_options_before_opening_the_study(tmp_path):
    missing = tmp_path / "no study"
    with pytest.raises(MuviError, match="--lag-compensation"):
        evaluate(EvaluateOptions(missing, tmp_path / "e", lag_compensation="sideways"))
    with pytest.raises(MuviError, match="concern cross-validation"):
        train(TrainOptions(missing, tmp_path / "t", ModelOptions(defects=("pair-leak",))))
