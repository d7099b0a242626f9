"""Time the emobase checks on the published files: the fast layout check that
``load_dataset(features=False)`` runs (``check_emobase``) against the full parse
(``load_emobase``), and ``muvi validate`` on the whole folder.

Usage:
    .venv/bin/python benchmarks/emobase_check.py [--data ../shared/muvi] [--repeat 3]

Prints the best of ``--repeat`` runs of each, in seconds, and the machine's CPU.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from muvi.data.loaders import ItemCatalog, check_emobase, load_dataset, load_emobase
from muvi.data.validate import validate_study


def best(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        tic = time.perf_counter()
        run()
        times.append(time.perf_counter() - tic)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "muvi"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = args.data / "emobase_features"
    catalog = ItemCatalog(load_dataset(args.data, features=False).items)
    print(f"machine: {platform.processor() or platform.machine()}, {len(catalog)} emobase files")
    print(
        f"check_emobase (fast layout check): {best(lambda: check_emobase(folder, catalog), args.repeat):6.2f} s"
    )
    print(
        f"load_emobase (full parse):         {best(lambda: load_emobase(folder, catalog), args.repeat):6.2f} s"
    )
    print(
        f"load_dataset(features=False):      {best(lambda: load_dataset(args.data, features=False), args.repeat):6.2f} s"
    )
    print(
        f"validate_study (every file):       {best(lambda: validate_study(args.data), args.repeat):6.2f} s"
    )


if __name__ == "__main__":
    main()
