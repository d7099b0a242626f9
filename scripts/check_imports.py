#!/usr/bin/env python3
"""List the imports between muvi's subpackages and fail on one against the flow.

The flow (README, "How the code is laid out"): ``data`` -> ``annotations`` ->
``analysis``; ``features`` and ``annotations`` -> ``models`` -> ``predict`` /
``report``; ``study`` writes the files that ``data`` reads. A subpackage may
import the ones upstream of it, never one downstream. Every ``import`` and
``from ... import`` statement counts, at module level or inside a function
(a lazy import is still a dependency), read from the source with :mod:`ast`,
so nothing is imported or run.

Usage:
    python scripts/check_imports.py [--list] [SRC]

Prints each edge against the flow (file:line and the import) and exits 1 if
there is one; ``--list`` also prints every edge between subpackages with its
number of imports. Exit 0 means the code follows the flow.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from pathlib import Path

# What each part of the package may import, besides itself and the foundation.
# The foundation (muvi/__init__.py, errors.py, display.py, progress.py) may be imported
# by anyone and imports nothing of muvi.
FOUNDATION = {"muvi", "errors", "display", "progress"}
ALLOWED: dict[str, set[str]] = {
    "data": set(),
    "plotting": {"data"},  # the one look of every figure, below whatever draws one
    "annotations": {"data", "plotting"},
    "analysis": {"data", "annotations", "plotting"},
    "features": {"data"},
    "models": {"data", "annotations", "features", "plotting"},
    "predict": {"data", "annotations", "features", "models", "plotting"},
    "report": {"data", "annotations", "analysis", "features", "models", "plotting"},
    "study": {"data", "annotations"},
    "testing": {"data", "features"},  # small test models of the feature networks
    # the workflows of the commands (open the study, compute, write, render)
    "workflows": {
        "data",
        "annotations",
        "analysis",
        "features",
        "models",
        "plotting",
        "predict",
        "report",
    },
    "cli": {"*"},
    "__main__": {"cli"},
}

# Edges against the flow that are allowed for now, file by file (none left: the models
# restructure moved the model figures into report/ and the analyze workflow moved to
# muvi.workflows). Add a line here only with the work that will remove it.
PENDING: set[tuple[str, str]] = set()


PARTS = {*ALLOWED, *FOUNDATION}


def part_of(path: Path, src: Path) -> str:
    """The subpackage (or top-level module) a source file belongs to."""
    rel = path.relative_to(src / "muvi")
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_parts(tree: ast.AST, module: str) -> list[tuple[int, str, str]]:
    """``(line, part, statement)`` for every import of muvi in a parsed file."""
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's own package
                base = module.split(".")[: -node.level]
                names = [".".join([*base, node.module] if node.module else base)]
            elif node.module:
                names = [node.module]
            if names == ["muvi"]:  # from muvi import data, __version__, ...
                names = [f"muvi.{a.name}" if a.name in PARTS else "muvi" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "muvi":
                continue
            part = parts[1] if len(parts) > 1 else "muvi"
            found.append((node.lineno, part, ast.unparse(node).splitlines()[0]))
    return found


def check(src: Path) -> tuple[Counter[tuple[str, str]], list[str]]:
    """Every edge between parts, and the lines that go against the flow."""
    edges: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    for path in sorted((src / "muvi").rglob("*.py")):
        rel = path.relative_to(src)
        module = ".".join(rel.with_suffix("").parts)
        here = part_of(path, src)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as err:
            wrong.append(f"{rel}:{err.lineno}: cannot be parsed ({err.msg})")
            continue
        for line, there, statement in imported_parts(tree, module):
            if there == here:
                continue
            edges[(here, there)] += 1
            if there in FOUNDATION:
                continue
            allowed = ALLOWED.get(here)
            pending = (str(path.relative_to(src / "muvi")), there) in PENDING
            if allowed is None:
                wrong.append(f"{rel}:{line}: {here} is not in the flow: {statement}")
            elif not ("*" in allowed or there in allowed or pending):
                wrong.append(f"{rel}:{line}: {here} -> {there} goes against the flow: {statement}")
    return edges, wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--list", action="store_true", help="print every edge between parts")
    args = parser.parse_args(argv)
    src = Path(args.src)
    if not (src / "muvi").is_dir():
        print(f"check_imports: no muvi package under {src}", file=sys.stderr)
        return 2
    edges, wrong = check(src)
    if args.list:
        for (here, there), n in sorted(edges.items()):
            pending = any(p.split("/")[0] == here and t == there for p, t in PENDING)
            note = " (pending: allowed for now)" if pending and there not in ALLOWED[here] else ""
            print(f"{here} -> {there}: {n}{note}")
    for line in wrong:
        print(line)
    if wrong:
        print(f"check_imports: {len(wrong)} import(s) against the flow", file=sys.stderr)
        return 1
    print(f"check_imports: {sum(edges.values())} imports between parts, all with the flow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
