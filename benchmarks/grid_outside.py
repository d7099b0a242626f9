"""The full grid's work outside the network stacks, timed on this machine:
the LASSO fits and the preparation of every network's series and windows
(SIMULATED 81-item study, benchmarks/batched_grid.py ``--part simulate``).

Usage::

    python benchmarks/grid_outside.py --part lasso --folds 1 --data /tmp/muvi_sim
    python benchmarks/grid_outside.py --part prep --data /tmp/muvi_sim

Parts:

* ``lasso``: the LASSO fits of the grid's first ``--folds`` outer folds
  (experiments 1-5 x 2 dimensions each, the paper's LassoConfig: 30 alphas,
  5 grouped inner folds), as the grid runs them: fitted together per (fold,
  dimension) in ``--lasso-threads`` threads where the code has them
  (``_LassoFits``), one ``fit`` after another otherwise (the code before:
  scikit-learn's LassoCV).
* ``prep``: what the batched grid does before training, for all 5 folds x 2
  dimensions: align each fold's series and prepare every network (scalers,
  initial weights, windows; 70 networks, PAIR from experiments 1 and 2),
  with the shared series and scaling where the code has them.

Each part prints one line with its seconds; run it under the code before and
after a change (``PYTHONPATH=.../src``) to compare; the figures depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import time
from pathlib import Path
from typing import Any

import torch

from muvi.models import cv
from muvi.models.folds import cv_folds
from muvi.models.grid import EXPERIMENTS, EvaluationConfig, build_model
from muvi.models.lstm import PairInitialisers


def _study(path: str) -> Any:
    cache = Path(path).with_suffix(".prepared.pkl")
    if not cache.exists():
        raise SystemExit(f"{cache} not found: run batched_grid.py --part simulate --data {path}")
    with cache.open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - the benchmark's own cache


def part_lasso(study: Any, folds: list[Any], threads: int) -> None:
    config = EvaluationConfig(models=("lasso",))
    jobs = [(fold, dimension) for fold in folds for dimension in config.dimensions]
    start = time.perf_counter()
    if hasattr(cv, "_LassoFits"):  # as the grid runs them: per (fold, dimension), in threads
        fitted = cv._LassoFits(study, config, jobs, threads, cv._SeriesCache(study)).result()
        n = sum(len(f) for f in fitted)
        how = f"shared per (fold, dimension), {threads} thread(s)"
    else:  # the code before: LassoCV, one fit after another
        n = 0
        for fold, dimension in jobs:
            runner = cv._FoldRunner(study, config, fold, dimension, None)
            for exp, kind in config.runs():
                build_model(exp, kind, config).fit(runner._sets(exp.target_modality)["train"])
                n += 1
        how = "LassoCV, one fit after another"
    seconds = time.perf_counter() - start
    print(f"lasso: {n} fits of {len(folds)} fold(s), {how}: {seconds:.1f} s")


def part_prep(study: Any, folds: list[Any]) -> None:
    config = EvaluationConfig(models=("lstm",))
    series = cv._SeriesCache(study) if hasattr(cv, "_SeriesCache") else None
    scaling = getattr(cv, "shared_scaling", contextlib.nullcontext)
    start = time.perf_counter()
    n = 0
    with scaling():
        for fold in folds:
            for dimension in config.dimensions:
                extra = {"series": series} if series is not None else {}
                runner = cv._FoldRunner(study, config, fold, dimension, None, **extra)
                ready = {}
                for number in (1, 2, 3, 4, 5, 6, 7):
                    exp = EXPERIMENTS[number]
                    sets = runner._sets(exp.target_modality)
                    init = PairInitialisers(ready[1], ready[2]) if number == 7 else None
                    model = build_model(exp, exp.architecture, config, init)
                    model.prepare(sets["train"], sets["validation"])
                    ready[number] = model
                    n += 1
    seconds = time.perf_counter() - start
    how = "shared series and scaling" if series is not None else "per network"
    print(f"prep: {n} networks of {len(folds)} fold(s) x 2 dimensions, {how}: {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", required=True, choices=("lasso", "prep"))
    parser.add_argument("--data", default="/tmp/muvi_batched_sim", help="simulated study folder")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--lasso-threads", type=int, default=2, help="LASSO threads (new code)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    study = _study(args.data)
    folds = cv_folds(study.items)[: args.folds]
    if args.part == "lasso":
        part_lasso(study, folds, args.lasso_threads)
    else:
        part_prep(study, folds)


if __name__ == "__main__":
    main()
