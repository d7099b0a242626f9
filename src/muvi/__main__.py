"""``python -m muvi``: the command line."""

from muvi.cli import main

main()
