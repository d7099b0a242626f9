"""No tracked file tells how the project was made.

Users read every file of the repository: code, comments, docstrings, tests, data
and docs. Words that only the project's making explains (numbered tickets, work
sittings, borrowed machines, an internal specification's sections) mean nothing
to them, so this test greps every tracked text file for them and names each hit
as ``file:line``.

The study app legitimately speaks of sessions (a runner's login session, a
participant's session, the database session), so the patterns catch a session
only when it is qualified as a stretch of work ("this session", "a later
session's machine", "session 3", "session time").
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Each pattern, with what it catches. Case-insensitive.
PATTERNS: dict[str, str] = {
    "a numbered issue": r"\bissues?\s?#?\d+",
    "an issue written as #N": r"(?<![\w&#/])#\d{1,2}(?![\w])",
    "a work session": (
        r"\b(?:this|that|these|those|a\slater|the\slater|later|an\searlier|the\searlier|earlier"
        r"|previous|next|prior|last)\ssessions?(?:'s)?\b"
    ),
    "a numbered session": r"\bsessions?\s\d+\b",
    "session time": r"\bsession(?:'s)?\stime\b",
    "a machine's session": r"\b(?:GPU|CPU|device)\ssessions?\b",
    "a lent machine": r"\blent\b",
    "a later machine": r"\blater\smachine\b",
    "a specification's section": r"\bSPEC\ssection",
    "definitions fixed by": r"\bdefinitions\sfixed\sby\b",
    "stopped for time": r"\bstopped\sfor\s(?:lack\sof\s)?(?:session\s)?time\b",
    "filed by": r"\bfiled\sby\sa\b",
    "other engineers": r"\bengineers?'?\b",
}
COMPILED = {name: re.compile(p, re.IGNORECASE) for name, p in PATTERNS.items()}

# Files this test may not read as text.
BINARY_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".webm",
    ".mp4",
    ".mp3",
    ".wav",
    ".ogg",
    ".pdf",
    ".gz",
    ".zip",
    ".pt",
    ".pth",
    ".npz",
    ".npy",
    ".ico",
    ".woff",
    ".woff2",
}


def tracked_files() -> list[Path]:
    """The files git tracks in this checkout (none when it is not a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [REPO / name for name in out.decode().split("\0") if name]


def hits_in(text: str) -> list[tuple[int, str, str]]:
    """(line number, pattern name, line) for every process word in ``text``."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for name, pattern in COMPILED.items():
            if pattern.search(line):
                found.append((number, name, line.strip()))
    return found


@pytest.mark.parametrize(
    "line",
    [
        "as issue 12 defined it",
        "the speed work (issues 10 and 16)",
        "see #16 for the details",
        "measured in this session",
        "a later session's machine: 2 cores",
        "an earlier session, same GPU kind",
        "session 3 ran the grid",
        "the next GPU session should run it",
        "stopped for lack of session time",
        "no GPU was lent to these runs",
        "on a later machine",
        "SPEC section 4",
        "Definitions fixed by the tracker:",
        "# issue 25: filed by a session",
        "other engineers' jobs ran beside it",
    ],
)
def test_patterns_catch_process_words(line: str) -> None:
    assert hits_in(line), line


@pytest.mark.parametrize(
    "line",
    [
        "A session ends after 2 h without a request",
        "service.set_runner_password(session, username, new)  # ends every session",
        "End one session (logout); unknown ids are ignored.",
        "The engine and a session factory.",
        "the participant's session token",
        "color: #222; background: #000;",
        "&#39; and &#8212; are entities",
        "a Likert item #a1 and the URL /page#12",
        "the spec of the weights (SPEC = [(6, 11, 0)])",
        "the paper's Section 4.1.2 and Table 6",
    ],
)
def test_patterns_spare_ordinary_words(line: str) -> None:
    assert not hits_in(line), hits_in(line)


def test_no_tracked_file_tells_how_the_project_was_made() -> None:
    files = tracked_files()
    if not files:
        pytest.skip("not a git checkout: no tracked files to read")
    me = Path(__file__).resolve()
    problems = []
    for path in files:
        if path.resolve() == me or path.suffix.lower() in BINARY_SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, name, line in hits_in(text):
            problems.append(f"{path.relative_to(REPO)}:{number}: {name}: {line[:120]}")
    assert not problems, "words of how the project was made:\n" + "\n".join(problems)
