"""scripts/check_imports.py: passes on the package, fails on an import against the flow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "check_imports.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


def test_the_package_follows_the_flow() -> None:
    done = _run("--list")
    assert done.returncode == 0, done.stdout + done.stderr
    # the edges named in the README's layout section, counted from the source
    assert "annotations -> data:" in done.stdout
    assert "predict -> features:" in done.stdout
    assert "data -> annotations" not in done.stdout


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "muvi" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_lazy_import_up_the_stream_fails(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "__version__ = '0'\n",
            "errors.py": "",
            "data/__init__.py": "from muvi import __version__\n",
            "data/simulator.py": "import numpy\n\n\ndef simulate():\n"
            "    from muvi.annotations import resample_logs\n",
            "annotations/__init__.py": "from muvi.data import schema\nfrom muvi.errors import E\n",
            "analysis/steps.py": "from ..annotations import ewe\n",
        },
    )
    done = _run(str(src))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines == [
        "muvi/data/simulator.py:5: data -> annotations goes against the flow: "
        "from muvi.annotations import resample_logs"
    ]
    assert "1 import(s) against the flow" in done.stderr


def test_a_relative_import_is_resolved(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"data/loaders.py": "from ..analysis import gems\n"})
    done = _run(str(src))
    assert done.returncode == 1
    assert "muvi/data/loaders.py:1: data -> analysis goes against the flow" in done.stdout
