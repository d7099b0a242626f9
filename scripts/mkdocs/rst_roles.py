"""A griffe extension for the docs site: reStructuredText roles become links.

The docstrings are Google style and cite other objects with Sphinx roles
(``:func:`gold_standard```, ``:class:`~muvi.data.dataset.MuviDataset```,
``:mod:`muvi.annotations.lag```), which read well in ``help()``. Markdown
shows them as literal text, so this extension rewrites every docstring of the
loaded package before mkdocstrings renders it: each role becomes an autorefs
cross-reference to the object it names, resolved in the scope of the object
whose docstring it is in (its members, its module's imports, its parents).
The docstrings in the source stay as they are.

A name that resolves to an object of the package that the site does not
document (a private helper) or to another project's object (``pandas.DataFrame``)
is shown as code without a link, as mkdocstrings shows such names in
signatures.

Used by ``mkdocs.yml`` (``handlers.python.options.extensions``).
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

# :func:`name`, :py:class:`~pkg.mod.Class`, :meth:`title <pkg.mod.Class.method>`
ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|mod|meth|attr|data|exc|obj|const|type|attribute|function"
    r"|method|module)"
    r":`(?P<body>[^`]+)`"
)
FENCE = re.compile(r"^\s*(```|~~~)")


def split_role(body: str) -> tuple[str, str]:
    """The (shown text, target) of a role's body.

    Examples:
        >>> split_role("~muvi.data.dataset.MuviDataset")
        ('MuviDataset', 'muvi.data.dataset.MuviDataset')
        >>> split_role("the loader <muvi.data.loaders.load_dataset>")
        ('the loader', 'muvi.data.loaders.load_dataset')
        >>> split_role("run_analysis()")
        ('run_analysis()', 'run_analysis')
    """
    explicit = re.fullmatch(r"(?s)(?P<title>.*?)\s*<(?P<target>[^<>]+)>", body)
    if explicit and explicit["title"]:
        return explicit["title"].strip(), explicit["target"].strip()
    target = body.strip()
    shown = target
    if target.startswith("~"):
        target = target[1:]
        shown = target.rsplit(".", 1)[-1]
    if target.startswith("."):
        target = target.lstrip(".")
    return shown, target.removesuffix("()")


def resolve(obj: griffe.Object, target: str) -> str:
    """The full path of ``target`` as seen from ``obj`` (``target`` itself if unknown)."""
    first, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            found = scope.resolve(first)
        except (griffe.NameResolutionError, AttributeError):
            scope = scope.parent
            continue
        return f"{found}.{rest}" if rest else found
    return target


def link(obj: griffe.Object, match: re.Match[str]) -> str:
    """The autorefs tag of one role found in the docstring of ``obj``."""
    shown, target = split_role(match["body"])
    identifier = resolve(obj, target)
    code = f"<code>{html.escape(shown)}</code>"
    return f'<autoref identifier="{html.escape(identifier, quote=True)}" optional>{code}</autoref>'


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rewrite(obj: griffe.Object, text: str) -> str:
    """``text`` with every role outside code replaced by a cross-reference.

    Fenced blocks and doctest lines are left as written; in the indented
    literal block that follows a line ending in ``::`` (shown as code) a role
    becomes the name it shows, without a link.
    """
    out = []
    in_fence = False
    literal_indent: int | None = None  # the indentation of the line that ended in "::"
    for line in text.splitlines(keepends=True):
        if literal_indent is not None:
            if not line.strip() or _indent(line) > literal_indent:
                out.append(ROLE.sub(lambda m: split_role(m["body"])[0], line))
                continue
            literal_indent = None
        if FENCE.match(line):
            in_fence = not in_fence
        doctest = line.lstrip().startswith((">>>", "..."))
        out.append(line if in_fence or doctest else ROLE.sub(lambda m: link(obj, m), line))
        if not in_fence and line.rstrip().endswith("::"):
            literal_indent = _indent(line)
    return "".join(out)


def walk(obj: griffe.Object) -> Any:
    """Every object of ``obj``'s tree (aliases left out: their targets are walked)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from walk(member)  # type: ignore[arg-type]


class RstRoles(griffe.Extension):
    """Rewrite the roles of every docstring once the whole package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in walk(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite(obj, obj.docstring.value)
                obj.docstring.__dict__.pop("parsed", None)  # parse the new text
