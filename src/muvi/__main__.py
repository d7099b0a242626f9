"""``python -m muvi``: the command line."""

from muvi.cli import main

if __name__ == "__main__":
    main()
