"""Fixtures of the malformed-input corpus (the helpers live in corpus_helpers.py)."""

from corpus_helpers import cli  # noqa: F401  (a fixture)
