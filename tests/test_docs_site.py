"""The docs site's build-time helpers: cross-reference roles as links, the CLI reference.

The docstrings cite other objects with reStructuredText roles (``:func:`x```), which
``help()`` shows as they are; ``scripts/mkdocs/rst_roles.py`` turns them into links
when the site is built. ``scripts/mkdocs/cli_reference.py`` writes the CLI reference
from the Typer app.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
import typer.main
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    path = REPO / "scripts" / "mkdocs" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mkdocs_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roles_resolve_in_the_scope_of_their_docstring() -> None:
    griffe = pytest.importorskip("griffe")
    roles = load_script("rst_roles")
    package = griffe.load("muvi.annotations", search_paths=[str(REPO / "src")])
    # muvi.annotations imports resample_logs from muvi.annotations.resampling (which
    # re-exports it from muvi.data.resampling): a bare name resolves through the imports
    text = roles.rewrite(package, "See :func:`resample_logs` and :mod:`~muvi.annotations.lag`.")
    found = re.findall(
        r'<autoref identifier="([^"]+)" optional><code>([^<]+)</code></autoref>', text
    )
    assert len(found) == 2, text
    (first, first_shown), (second, second_shown) = found
    assert (
        first.endswith(".resample_logs")
        and first.startswith("muvi.")
        and first_shown == "resample_logs"
    )
    assert (second, second_shown) == ("muvi.annotations.lag", "lag")
    assert ":func:" not in text and ":mod:" not in text


def test_roles_in_examples_and_code_blocks_are_left_alone() -> None:
    griffe = pytest.importorskip("griffe")
    roles = load_script("rst_roles")
    package = griffe.load("muvi.annotations", search_paths=[str(REPO / "src")])
    text = "```text\n:func:`x`\n```\n    >>> ':func:`y`'\n"
    assert roles.rewrite(package, text) == text
    # an rST literal block (shown as code): the role becomes its name, with no tag
    literal = "::\n\n    OUT/x.csv  (:mod:`~muvi.annotations.lag`)\n"
    after = roles.rewrite(package, literal + "\nThen :mod:`muvi.annotations.lag`.\n")
    assert after.startswith("::\n\n    OUT/x.csv  (lag)\n")
    assert after.count("<autoref") == 1


@pytest.mark.skipif(
    shutil.which("mkdocs") is None and not Path(sys.executable).with_name("mkdocs").exists(),
    reason="mkdocs is not installed",
)
def test_a_built_page_links_where_the_roles_were(tmp_path: Path) -> None:
    """Build one API page with the site's settings and read its HTML back."""
    source = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    plugins = source[source.index("plugins:") : source.index("markdown_extensions:")]
    plugins = plugins.replace("paths: [src]", f"paths: [{REPO / 'src'}]")
    plugins = plugins.replace(
        "scripts/mkdocs/rst_roles.py", str(REPO / "scripts" / "mkdocs" / "rst_roles.py")
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Annotations\n\n::: muvi.annotations\n", encoding="utf-8")
    config = (
        textwrap.dedent(
            f"""\
        site_name: test
        docs_dir: {docs}
        site_dir: {tmp_path / "site"}
        theme:
          name: readthedocs
        """
        )
        + plugins
    )
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    command = [
        str(mkdocs) if mkdocs.exists() else "mkdocs",
        "build",
        "--strict",
        "-f",
        str(tmp_path / "mkdocs.yml"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    source_roles = len(
        re.findall(r":(?:func|class|mod|meth|attr|data):`", _docstrings("muvi.annotations"))
    )
    assert source_roles > 20  # the package's docstrings do cite with roles
    assert not re.search(r":(?:func|class|mod|meth|attr|data):`", html)
    assert "&lt;autoref" not in html  # no tag shown as text (in a code block)
    links = re.findall(r'<a class="autorefs autorefs-internal"[^>]*href="#(muvi\.[^"]+)"', html)
    assert "muvi.annotations.ewe.gold_standard" in links or any(
        link.endswith(".gold_standard") for link in links
    ), sorted(set(links))[:20]
    assert len(links) > 20


def _docstrings(package: str) -> str:
    folder = REPO / "src" / Path(*package.split("."))
    return "\n".join(p.read_text(encoding="utf-8") for p in folder.rglob("*.py"))


def _commands(command, path):  # type: ignore[no-untyped-def]
    yield path, command
    for name, child in (getattr(command, "commands", None) or {}).items():
        yield from _commands(child, [*path, name])


def test_the_cli_reference_holds_every_command_and_option_of_the_help() -> None:
    from muvi.cli import app

    reference = load_script("cli_reference").cli_markdown()
    runner = CliRunner()
    for path, _command in _commands(typer.main.get_command(app), ["muvi"]):
        heading = re.search(rf"^#{{2,}} `{' '.join(path)}`$", reference, re.M)
        assert heading, path
        section = reference[heading.start() :]
        following = re.search(r"\n#{2,} `", section[1:])
        section = section[: following.start() + 1] if following else section
        shown = runner.invoke(app, [*path[1:], "--help"], env={"COLUMNS": "250"})
        assert shown.exit_code == 0, shown.output
        # every option --help prints (a word starting with --) is in the reference's section
        printed = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", shown.output)) - {"--help"}
        documented = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", section))
        assert printed <= documented, (path, sorted(printed - documented))
