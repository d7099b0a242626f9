"""Fixtures shared by the whole suite.

The real public files live in ``../shared/muvi`` beside the checkout (or where
``MUVI_SHARED`` points); tests that need them skip with a clear reason when
that folder is absent. Simulated studies are made by the tests themselves.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUVI_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """Import a script of ``benchmarks/`` by file name (they are not a package)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(
            f"{name}_bench", REPO / "benchmarks" / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"{name}_bench"] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def muvi_dir() -> Path:
    """The real public MuVi files (``../shared/muvi``)."""
    path = SHARED / "muvi"
    if not (path / "video_urls.csv").exists():
        pytest.skip(f"the public MuVi files are not at {path}")
    return path


@pytest.fixture(scope="session")
def realmusic_dir() -> Path:
    """Ten real 45 s MP3 excerpts with their averaged 2 Hz ratings."""
    path = SHARED / "realmusic"
    if not path.exists():
        pytest.skip(f"the real music excerpts are not at {path}")
    return path


@pytest.fixture(scope="session")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated study (12 items, 16 participants), written once per run."""
    from muvi.data.simulator import simulate

    out = tmp_path_factory.mktemp("small_study")
    simulate(out, seed=7, n_items=12, n_participants=16)
    return out
