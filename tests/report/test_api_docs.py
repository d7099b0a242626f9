"""The API reference (mkdocs.yml, docs/api/) covers every package of muvi.

The build itself (``mkdocs build --strict``) runs in scripts/test.sh.
"""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import muvi

REPO = Path(__file__).resolve().parents[2]


def test_every_package_has_a_page_in_the_nav():
    pages = {p.name: p.read_text() for p in (REPO / "docs" / "api").glob("*.md")}
    documented = {m for text in pages.values() for m in re.findall(r"^::: (\S+)$", text, re.M)}
    packages = {
        f"muvi.{info.name}"
        for info in pkgutil.iter_modules(muvi.__path__)
        if info.ispkg or info.name == "predict"
    }
    assert packages, "no packages found"
    assert packages <= documented, f"not in docs/api: {sorted(packages - documented)}"
    nav = (REPO / "mkdocs.yml").read_text()
    for name in pages:
        assert f"api/{name}" in nav, f"docs/api/{name} is not in mkdocs.yml's nav"
    # the build fails on docstring problems: strict mode is on in the configuration too
    assert re.search(r"^strict: true$", nav, re.M)
