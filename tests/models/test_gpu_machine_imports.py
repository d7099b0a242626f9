"""What the GPU check needs works without the feature-extraction packages.

benchmarks/gpu_check.sh runs on a machine with torch, numpy, pandas, scipy,
scikit-learn, matplotlib, rich, typer and jinja2 only; the shipped emobase
feature names must equal the ``opensmile`` package's list, and simulating,
loading and training on a study must not import opensmile, dask or fastapi.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from muvi.data.schema import emobase_feature_names


def test_shipped_emobase_names_equal_opensmile() -> None:
    opensmile = pytest.importorskip("opensmile")
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.emobase,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    assert emobase_feature_names() == tuple(smile.feature_names)


def test_simulate_and_train_without_extraction_packages(tmp_path) -> None:
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        BLOCKED = {{"opensmile", "dask", "distributed", "fastapi", "av", "uvicorn", "cv2"}}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        from muvi.data.loaders import load_dataset
        from muvi.data.simulator import simulate
        from muvi.models.lstm import BlockConfig
        from muvi.models.protocol import EvaluationConfig, prepare_study, run_evaluation
        from muvi.models.training import TrainingConfig
        simulate(r"{tmp_path / "sim"}", seed=0, n_items=10, n_participants=12, progress=False)
        study = prepare_study(load_dataset(r"{tmp_path / "sim"}"))
        config = EvaluationConfig(experiments=(1,), models=("lstm",), dimensions=("arousal",),
                                  block=BlockConfig(hidden=(4, 4)),
                                  training=TrainingConfig(max_epochs=1, threads=1))
        results = run_evaluation(study, config)
        print(len(study.features["audio"].columns), len(results.per_item))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    n_audio, n_scored = done.stdout.split()
    assert int(n_audio) == 988
    assert int(n_scored) > 0
