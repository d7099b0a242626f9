"""The project's metadata: one version, this project's URLs, a short README."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

import muvi

REPO = Path(__file__).resolve().parents[1]
HOME = "https://github.com/muvi-toolkit/muvi"


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_written_in_one_place() -> None:
    project = pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "muvi.__version__"}
    init = (REPO / "src" / "muvi" / "__init__.py").read_text(encoding="utf-8")
    assert re.findall(r"^__version__ = \"([^\"]+)\"$", init, re.M) == [muvi.__version__]


def test_urls_name_this_project() -> None:
    urls = pyproject()["project"]["urls"]
    assert urls["Source"] == HOME and urls["Homepage"] == HOME
    assert all(url.startswith(HOME) for url in urls.values()), urls
    site = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8").split("\nplugins:")[0])
    assert site["repo_url"] == HOME
    for name in ("pyproject.toml", "mkdocs.yml"):
        assert "AMAAI-Lab" not in (REPO / name).read_text(encoding="utf-8"), name


def test_readme_is_a_landing_page() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    first_screen = "\n".join(lines[:40])  # what a reader sees before scrolling
    for needed in ("pip install", "bash scripts/demo.sh", "bash scripts/test.sh", "own data"):
        assert needed in first_screen, needed
    assert "2202.10453" in "\n".join(lines)


def test_the_changelog_keeps_an_unreleased_section() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert re.search(
        rf"^## \[{re.escape(muvi.__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M
    )
