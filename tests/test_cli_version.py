"""``muvi --version`` prints the installed distribution's version."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from typer.testing import CliRunner

import muvi
from muvi.cli import app


def test_version_option():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"muvi {muvi.__version__}"
    # the package metadata (pyproject.toml, as installed) says the same
    assert muvi.__version__ == version("muvi")


def test_version_from_the_entry_point():
    code = "from muvi.cli import main; main(['--version'])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"muvi {muvi.__version__}\n"
