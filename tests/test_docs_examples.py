"""Every shell and Python example of the README and the docs site runs.

One test per page (README.md and every ``docs/**/*.md``, so a new page is picked
up without touching this file). The page's fenced blocks marked ``bash`` or
``python`` run in the order they appear, in one fresh temporary folder, each
block in its own process (``bash -e`` or ``python``); files one block writes are
there for the next. The environment: this checkout's ``src`` first on
``PYTHONPATH``, the virtual environment's ``muvi`` and ``python`` first on
``PATH``, ``MUVI_SHARED`` pointing at the shared folder of real files (the
environment variable if set, else ``<repo>/../shared``), and matplotlib
without a display. A page that uses ``MUVI_SHARED`` is skipped, with the reason,
when that folder is absent.

A block that must not run (the test command itself, an install) is marked by the
page with a visible, reasoned HTML comment on the line before it::

    <!-- docs-example: skip (this is the test command itself) -->

Output and anything else that must not run goes in ``text`` blocks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN_LANGUAGES = {"bash", "python"}
SKIP = re.compile(r"<!--\s*docs-example:\s*skip\b\s*(?:\((?P<reason>[^)]*)\))?\s*-->")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
MOST_SKIPS = 8  # the skipped set stays small: everything else runs
BLOCK_TIMEOUT_S = 300


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    language: str
    code: str
    line: int  # 1-based line of its opening fence
    skip_reason: str | None  # None: it runs; "": marked skip without a reason


def blocks_of(text: str) -> list[Block]:
    """Every fenced block of a Markdown page, with the skip marker right before it.

    Examples:
        >>> page = "<!-- docs-example: skip (an install) -->\\n```bash\\npip install x\\n```\\n"
        >>> [(b.language, b.code, b.skip_reason) for b in blocks_of(page)]
        [('bash', 'pip install x\\n', 'an install')]
    """
    lines = text.splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        language = info.split()[0].lower() if info else ""
        body = []
        j = i + 1
        while j < len(lines) and not re.match(
            rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]
        ):
            body.append(lines[j])
            j += 1
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = SKIP.search(before)
        reason = None if marker is None else (marker["reason"] or "").strip()
        code = "\n".join(body) + "\n" if body else ""
        out.append(Block(language, code, i + 1, reason))
        i = j + 1
    return out


def pages() -> list[Path]:
    """README.md and every page under docs/, in a stable order."""
    found = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [p for p in found if p.is_file()]


def shared_folder() -> Path:
    """The folder of real files: $MUVI_SHARED, else <repo>/../shared."""
    return Path(os.environ.get("MUVI_SHARED") or REPO.parent / "shared").resolve()


def page_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def environment() -> dict[str, str]:
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MUVI_SHARED"] = str(shared_folder())
    env["MPLBACKEND"] = "Agg"
    env.setdefault("NO_COLOR", "1")
    return env


def run_block(block: Block, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if block.language == "bash":
        command = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    else:
        command = [sys.executable, "-c", block.code]
    return subprocess.run(
        command,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )


def test_blocks_of_reads_fences_and_markers() -> None:
    page = (
        "Intro\n\n"
        "```bash\necho one\n```\n\n"
        "<!-- docs-example: skip (the test command itself) -->\n"
        "```bash\nbash scripts/test.sh\n```\n"
        "```text\nok\n```\n"
        "<!-- docs-example: skip -->\n\n"
        "````python\nprint('```')\n````\n"
    )
    got = [(b.language, b.code, b.line, b.skip_reason) for b in blocks_of(page)]
    assert got == [
        ("bash", "echo one\n", 3, None),
        ("bash", "bash scripts/test.sh\n", 8, "the test command itself"),
        ("text", "ok\n", 11, None),
        ("python", "print('```')\n", 16, ""),
    ]


def test_every_skip_has_a_reason_and_the_skipped_set_is_small() -> None:
    skipped = []
    for path in pages():
        for block in blocks_of(path.read_text(encoding="utf-8")):
            if block.language in RUN_LANGUAGES and block.skip_reason is not None:
                where = f"{page_id(path)}:{block.line}"
                assert block.skip_reason, f"{where}: a skipped example must say why"
                skipped.append(where)
    assert len(skipped) <= MOST_SKIPS, f"{len(skipped)} skipped examples: {skipped}"


@pytest.mark.parametrize("path", pages(), ids=page_id)
def test_page_examples_run(path: Path, tmp_path: Path) -> None:
    runnable = [
        b
        for b in blocks_of(path.read_text(encoding="utf-8"))
        if b.language in RUN_LANGUAGES and b.skip_reason is None
    ]
    if not runnable:
        pytest.skip("no bash or python example on this page")
    if any("MUVI_SHARED" in b.code for b in runnable) and not shared_folder().is_dir():
        pytest.skip(f"the page uses the real files and {shared_folder()} is absent")
    env = environment()
    for block in runnable:
        try:
            done = run_block(block, tmp_path, env)
        except subprocess.TimeoutExpired as err:
            output = ((err.stdout or b"") + (err.stderr or b"")).decode(errors="replace")[-4000:]
            pytest.fail(
                f"{page_id(path)}:{block.line}: the {block.language} example ran past "
                f"{BLOCK_TIMEOUT_S} s:\n{block.code}\n--- its output ---\n{output}",
                pytrace=False,
            )
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-4000:]
            pytest.fail(
                f"{page_id(path)}:{block.line}: the {block.language} example failed "
                f"(exit status {done.returncode}):\n{block.code}\n--- its output ---\n{output}",
                pytrace=False,
            )
