"""Batched training of the study's grid: timings, the device's ceiling, and
the effect of bfloat16 on the results (SIMULATED study).

Usage (one part per call; each part prints a compact table and writes JSON
into ``--out``; benchmarks/gpu_check.sh runs them all on a GPU)::

    python benchmarks/batched_grid.py --part simulate --data /tmp/muvi_sim
    python benchmarks/batched_grid.py --part caps
    python benchmarks/batched_grid.py --part epochs --data /tmp/muvi_sim   # one epoch of every network
    python benchmarks/batched_grid.py --part grid --data /tmp/muvi_sim     # full grid, one seed
    python benchmarks/batched_grid.py --part seeds --seeds 0-4 --precision bfloat16 --data ...
    python benchmarks/batched_grid.py --part compare --out DIR             # bf16 vs float32 seeds

Parts:

* ``simulate``: a full-size SIMULATED study (81 items, 49 participants;
  :mod:`muvi.data.simulator`), prepared once and cached as a pickle beside it.
* ``caps``: the device, the CPU's extensions (AVX2, AVX-512, AVX-512-BF16,
  AMX), and measured matrix-product speeds: float32, TF32 (GPU) and bfloat16,
  for a 2048^2 product and for the first LSTM layer's (1024 x 988) @ (988 x 1024).
* ``epochs``: one epoch (training pass + validation loss) of every network of
  the grid (5 folds x 2 dimensions x 7 experiments, PAIR after its
  initialisers), one network at a time (:func:`train_network`) against the
  stacks of :func:`fit_grid_networks` in float32 and in bfloat16; the
  matrix-product FLOPs of the batched epoch are counted
  (``torch.utils.flop_counter``) and divided by the measured peaks: the
  ceiling no implementation of the same arithmetic can beat.
* ``grid``: the full paper grid (70 networks, 100 epochs at most, early
  stopping, + 50 LASSO fits in ``--workers`` threads, alongside the stacks on
  a GPU), one seed, batched, with its wall time split: stacks, LASSO (during
  and after the stacks), scoring, the rest (series, scaling, windows);
  with the ``epochs`` part's JSON it also PROJECTS the one-at-a-time grid
  (measured epoch time per network x the epochs each network ran; labelled).
* ``seeds``: the networks of the grid (no LASSO) for several training seeds
  at once, in one precision; per seed, the summary (mean CCC and RMSE per
  experiment and dimension) is written to JSON.
* ``compare``: per experiment and dimension, bfloat16's mean over seeds minus
  float32's, against float32's seed-to-seed standard deviation (same seeds;
  the settings, paper or REDUCED, come from the seed files, which record
  them, and files of different settings are not compared).

``--quick`` shrinks everything (12 items, small networks, 2 epochs) to check
that the script runs end to end; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muvi.models.fused_cells import failed as fused_cells_failed
from muvi.models.fused_cells import set_fused_cells
from muvi.models.lasso import LassoConfig
from muvi.models.lstm import BlockConfig
from muvi.models.precision import cpu_capabilities, resolve_precision
from muvi.models.protocol import (
    EvaluationConfig,
    StudyData,
    fit_grid_networks,
    prepare_study,
    run_evaluation,
)
from muvi.models.training import TrainingConfig, resolve_device

QUICK_BLOCK = BlockConfig(hidden=(16, 16))


def _out(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write(args: argparse.Namespace, name: str, doc: dict[str, Any]) -> None:
    path = _out(args) / name
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    print(f"(wrote {path})")


def load_study(args: argparse.Namespace) -> StudyData:
    """The simulated study, prepared once and cached as a pickle."""
    from muvi.data.loaders import load_dataset
    from muvi.data.simulator import simulate

    data = Path(args.data)
    cache = data.with_suffix(".prepared.pkl")
    if cache.exists():
        with cache.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache, written below
    start = time.perf_counter()
    if not data.exists():
        items, participants = (12, 12) if args.quick else (81, 49)
        simulate(data, seed=0, n_items=items, n_participants=participants, progress=False)
        print(f"simulated a study (SIMULATED data) in {time.perf_counter() - start:.1f} s")
    study = prepare_study(load_dataset(data))
    with cache.open("wb") as fh:
        pickle.dump(study, fh)
    print(
        f"study: {len(study.items)} items (SIMULATED), ready in {time.perf_counter() - start:.1f} s"
    )
    return study


def _print_stack(description: str, n: int, seconds: float) -> None:
    print(f"    stack done: {description.split(': ', 1)[1]}, {n} networks, {seconds:.1f} s",
          flush=True)  # fmt: skip


def grid_config(args: argparse.Namespace, **training: Any) -> EvaluationConfig:
    settings = {
        "device": args.device,
        "threads": args.threads,
        "precision": args.precision,
        **training,
    }
    if args.quick:
        settings.setdefault("max_epochs", 2)
    if args.reduced:  # labelled REDUCED settings (not the paper's): small, fast networks
        settings.setdefault("max_epochs", 15)
        settings.setdefault("patience", 3)
        settings.setdefault("learning_rate", 1e-3)
    block = QUICK_BLOCK if args.quick else BlockConfig()
    if args.reduced:
        block = BlockConfig(hidden=(32, 32))
    lasso = LassoConfig(n_alphas=5, eps=1e-2) if args.quick else LassoConfig()
    return EvaluationConfig(
        experiments=tuple(args.experiments),
        block=block,
        training=TrainingConfig(**settings),
        lasso=lasso,
        workers=args.workers,
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# --------------------------------------------------------------------------
# caps: what the hardware multiplies how fast
# --------------------------------------------------------------------------


def matmul_gflops(m: int, k: int, n: int, dtype: torch.dtype, device: torch.device) -> float:
    """Best speed of an (m x k) @ (k x n) product in ``dtype`` on ``device`` (GFLOP/s)."""
    a = torch.randn(m, k, device=device).to(dtype)
    b = torch.randn(k, n, device=device).to(dtype)
    repeats = 50 if device.type == "cuda" else 5
    for _ in range(3):
        a @ b
    _sync(device)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _sync(device)
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * m * k * n / best / 1e9


def peaks(device: torch.device) -> dict[str, float]:
    """float32 / TF32 (CUDA) / bfloat16 matrix-product speeds, 2048^2 and the LSTM's first product."""
    out = {}
    shapes = {"2048^2": (2048, 2048, 2048), "lstm first layer": (1024, 988, 1024)}
    if device.type == "cuda":
        shapes["8192^2"] = (8192, 8192, 8192)
    for label, shape in shapes.items():
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False
        out[f"float32 {label}"] = matmul_gflops(*shape, torch.float32, device)
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            out[f"tf32 {label}"] = matmul_gflops(*shape, torch.float32, device)
            torch.backends.cuda.matmul.allow_tf32 = False
        out[f"bfloat16 {label}"] = matmul_gflops(*shape, torch.bfloat16, device)
    return out


def part_caps(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    caps = cpu_capabilities()
    print(f"torch {torch.__version__}, python {platform.python_version()}, "
          f"{torch.get_num_threads()} CPU threads, device {device}")  # fmt: skip
    print(f"CPU: {caps.name or platform.processor()}: AVX2 {caps.avx2}, AVX-512 {caps.avx512}, "
          f"AVX-512-BF16 {caps.avx512_bf16}, AMX {caps.amx}")  # fmt: skip
    doc: dict[str, Any] = {"cpu": caps.__dict__, "device": str(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        print(f"GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, "
              f"compute capability {props.major}.{props.minor}")  # fmt: skip
        doc["gpu"] = props.name
    for label in ("float32", "bfloat16", "auto"):
        print(f"precision {label} -> {resolve_precision(label, device)[1]}")
    speeds = peaks(device)
    cpu_speeds = peaks(torch.device("cpu")) if device.type == "cuda" and not args.quick else {}
    print(f"\n{'matrix product':<30}{'GFLOP/s':>12}")
    for label, value in speeds.items():
        print(f"{device.type + ' ' + label:<30}{value:>12.0f}")
    for label, value in cpu_speeds.items():
        print(f"{'cpu ' + label:<30}{value:>12.0f}")
    doc["peaks"] = speeds
    doc["cpu_peaks"] = cpu_speeds
    _write(args, f"caps_{device.type}.json", doc)


# --------------------------------------------------------------------------
# epochs: one epoch of every network, one at a time vs stacked
# --------------------------------------------------------------------------

STACKS = {
    "audio LSTM (exp 1, 3)": ("exp1_lstm", "exp3_lstm"),
    "visual LSTM (exp 2, 4)": ("exp2_lstm", "exp4_lstm"),
    "A1 early fusion (exp 5)": ("exp5_early_fusion",),
    "A2 + PAIR (exp 6, 7)": ("exp6_late_fusion", "exp7_pair"),
}


def _stack_label(names: list[str]) -> str:
    for label, members in STACKS.items():
        if set(names) <= set(members):
            return label
    return ", ".join(names)


def batched_epoch(
    study: StudyData, config: EvaluationConfig, folds: list[Any], count: bool = False
) -> tuple[dict[str, tuple[int, float]], float, float | None]:
    """One epoch of every network in stacks: stack label -> (networks, seconds),
    the total wall time, and the counted matrix-product FLOPs (with ``count``)."""
    device = resolve_device(config.training.device)
    stacks: dict[str, tuple[int, float]] = {}

    def on_stack(description: str, n: int, seconds: float) -> None:
        names = description.split(": ", 1)[1].split(", ")
        stacks[_stack_label(names)] = (n, seconds)

    flops = None
    _sync(device)
    start = time.perf_counter()
    if count:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            fit_grid_networks(study, config, folds, on_stack=on_stack)
        flops = float(counter.get_total_flops())
    else:
        fit_grid_networks(study, config, folds, on_stack=on_stack)
    _sync(device)
    return stacks, time.perf_counter() - start, flops


def one_at_a_time_epoch(
    study: StudyData, config: EvaluationConfig, folds: list[Any]
) -> dict[str, tuple[int, float]]:
    """One epoch of every network trained alone (the same networks as the
    stacks): stack label -> (networks, seconds summed over the networks)."""
    alone = replace(config, training=replace(config.training, batched=False))
    return batched_epoch(study, alone, folds)[0]


def _folds(study: StudyData, args: argparse.Namespace) -> list[Any]:
    from muvi.models.folds import cv_folds

    return cv_folds(study.items)[: args.folds]


def part_epochs(args: argparse.Namespace) -> None:
    study = load_study(args)
    device = resolve_device(args.device)
    folds = _folds(study, args)
    one = grid_config(args, max_epochs=1, precision="float32")
    # warm-up, not timed: the CUDA context, kernels and allocator, and the fused LSTM
    # cells, which torch.compile builds per precision and stack shape (a first stack
    # would otherwise pay 5-20 s of compiling): the same epoch once in each precision
    for precision in ("float32", "bfloat16"):
        batched_epoch(study, replace(one, training=replace(one.training, precision=precision)),
                      folds)  # fmt: skip
    print(f"\n[{device}] one epoch (training + validation loss) of every network of "
          f"{len(folds)} fold(s) x 2 dimensions, experiments {args.experiments}:")  # fmt: skip
    alone = one_at_a_time_epoch(study, one, folds)
    stacks32, wall32, flops = batched_epoch(study, one, folds, count=False)
    bf = replace(one, training=replace(one.training, precision="bfloat16"))
    stacks16, wall16, _ = batched_epoch(study, bf, folds)
    header = (f"{'stack':<26}{'nets':>5}{'alone s':>9}{'batched s':>11}{'speed-up':>10}"
              f"{'bf16 s':>9}{'bf16/fp32':>11}")  # fmt: skip
    print(header)
    rows = []
    for label in STACKS:
        if label not in stacks32:
            continue
        n, b32 = stacks32[label]
        b16 = stacks16.get(label, (n, float("nan")))[1]
        a = alone.get(label, (n, float("nan")))[1]
        print(
            f"{label:<26}{n:>5}{a:>9.2f}{b32:>11.2f}{a / b32:>9.1f}x{b16:>9.2f}{b32 / b16:>10.2f}x"
        )
        rows.append({"stack": label, "networks": n, "alone_s": a, "batched_s": b32,
                     "batched_bf16_s": b16})  # fmt: skip
    total_alone = sum(a for _, a in alone.values())
    sum32 = sum(b for _, b in stacks32.values())
    sum16 = sum(b for _, b in stacks16.values())
    print(f"{'all stacks':<26}{sum(n for n, _ in stacks32.values()):>5}{total_alone:>9.2f}"
          f"{sum32:>11.2f}{total_alone / sum32:>9.1f}x{sum16:>9.2f}{sum32 / sum16:>10.2f}x")  # fmt: skip
    print(f"(alone: train_network one network after another, seconds summed; batched: wall "
          f"time of each stack (train_stacked); with the preparation of every network's "
          f"windows the batched epoch took {wall32:.2f} s (float32) and {wall16:.2f} s "
          f"(bfloat16); PAIR's stage uses 1-epoch initialisers)")  # fmt: skip
    doc = {"device": str(device), "folds": len(folds), "stacks": rows,
           "alone_total_s": total_alone, "batched_stacks_s": sum32,
           "batched_bf16_stacks_s": sum16, "batched_wall_s": wall32,
           "batched_bf16_wall_s": wall16}  # fmt: skip
    if not args.no_flops:
        # counted on the first fold's networks (dispatch-level counting is slow), scaled
        # by the number of folds (fold sizes differ by an item or two: approximate)
        _, _, flops = batched_epoch(study, one, folds[:1], count=True)
        assert flops is not None
        flops *= len(folds)
        speeds = peaks(device)
        key = "8192^2" if device.type == "cuda" else "2048^2"
        print(f"\n[{device}] ceiling: the batched epoch does {flops / 1e9:.0f} GFLOP of matrix "
              "products (counted on fold 1 x folds); at this device's measured peak it "
              "cannot take less than:")  # fmt: skip
        doc["flops"] = flops
        doc["ceiling_s"] = {}
        for prec in ("float32", "tf32", "bfloat16"):
            if f"{prec} {key}" not in speeds:
                continue
            floor = flops / (speeds[f"{prec} {key}"] * 1e9)
            measured = sum16 if prec == "bfloat16" else sum32
            doc["ceiling_s"][prec] = floor
            print(f"    {prec:<9} peak {speeds[f'{prec} {key}']:>8.0f} GFLOP/s -> {floor:.3f} s "
                  f"(measured {'bf16' if prec == 'bfloat16' else 'float32'} batched: "
                  f"{measured:.2f} s, {100 * floor / measured:.0f}% of the ceiling)")  # fmt: skip
    _write(args, f"epochs_{device.type}.json", doc)


# --------------------------------------------------------------------------
# grid: the full grid, one seed
# --------------------------------------------------------------------------


def _timed_grid(study: StudyData, config: EvaluationConfig) -> tuple[Any, dict[str, float]]:
    """Run the grid and split its wall time: stacks, LASSO (how much of it ran
    while the stacks trained), scoring, and the rest (preparing series and
    windows, padding, copies to the device)."""
    from muvi.models import cv

    marks: dict[str, list[tuple[float, float]]] = {"stack": [], "lasso": [], "score": []}
    fit_lasso, run_job = cv.fit_lasso_models, cv._run_job

    def spy(fn: Any, mark: str) -> Any:
        """``fn``, recording the start and end of every call under ``marks[mark]``."""

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                marks[mark].append((t0, time.perf_counter()))

        return timed

    lasso_spy, job_spy = spy(fit_lasso, "lasso"), spy(run_job, "score")

    def on_stack(description: str, n: int, seconds: float) -> None:
        _print_stack(description, n, seconds)
        now = time.perf_counter()
        marks["stack"].append((now - seconds, now))

    device = resolve_device(config.training.device)
    cv.fit_lasso_models, cv._run_job = lasso_spy, job_spy  # type: ignore[assignment]
    try:
        _sync(device)
        start = time.perf_counter()
        results = run_evaluation(study, config, on_stack=on_stack)
        _sync(device)
        end = time.perf_counter()
    finally:
        cv.fit_lasso_models, cv._run_job = fit_lasso, run_job  # type: ignore[assignment]

    def span(name: str) -> tuple[float, float]:
        got = marks[name]
        return (min(a for a, _ in got), max(b for _, b in got)) if got else (start, start)

    stacks = sum(b - a for a, b in marks["stack"])
    s0, s1 = span("stack")
    l0, l1 = span("lasso")
    c0, c1 = span("score")
    split = {
        "wall_s": end - start,
        "stacks_s": stacks,
        "stacks_span_s": s1 - s0,
        "lasso_span_s": l1 - l0,
        "lasso_thread_s": sum(b - a for a, b in marks["lasso"]),
        "lasso_during_stacks_s": max(0.0, min(l1, s1) - max(l0, s0)),
        "lasso_after_stacks_s": max(0.0, l1 - max(l0, s1)) if marks["stack"] else l1 - l0,
        "scoring_s": c1 - c0,
        "before_stacks_s": (s0 - start) if marks["stack"] else 0.0,
    }
    split["other_s"] = split["wall_s"] - split["before_stacks_s"] - split["stacks_span_s"] - split[
        "lasso_after_stacks_s"] - split["scoring_s"]  # fmt: skip
    return results, split


def part_grid(args: argparse.Namespace) -> None:
    study = load_study(args)
    device = resolve_device(args.device)
    config = grid_config(args)
    results, split = _timed_grid(study, config)
    wall = split["wall_s"]
    training = results.training
    epochs = training["epochs"]
    stack_s = training.groupby("seconds").size()  # one wall time per stack
    what = "full grid" if config.training.max_epochs == 100 else (
        f"grid capped at {config.training.max_epochs} epochs")  # fmt: skip
    print(f"\n[{device}] MEASURED {what}, batched, {config.training.precision}, one seed: "
          f"{wall:.1f} s wall ({len(epochs)} networks, {int(epochs.sum())} epochs, "
          f"{epochs.mean():.1f} per network; stacks trained in {sum(stack_s.index):.1f} s; "
          f"LASSO with --workers {config.workers})")  # fmt: skip
    print(f"[{device}] split of the wall time: before the stacks (series, scaling, windows, "
          f"nets) {split['before_stacks_s']:.1f} s; stacks {split['stacks_span_s']:.1f} s "
          f"(sum of stack times {split['stacks_s']:.1f} s, the rest between stacks: PAIR's "
          f"preparation, padding); LASSO {split['lasso_span_s']:.1f} s from first to last fit "
          f"({split['lasso_thread_s']:.1f} thread-seconds), of which "
          f"{split['lasso_during_stacks_s']:.1f} s during the stacks and "
          f"{split['lasso_after_stacks_s']:.1f} s after them; scoring "
          f"{split['scoring_s']:.1f} s; other {split['other_s']:.1f} s")  # fmt: skip
    doc = {"device": str(device), "networks": len(epochs),
           "epochs": int(epochs.sum()), "stacks_s": float(sum(stack_s.index)),
           "workers": config.workers, **split}  # fmt: skip
    epochs_json = _out(args) / f"epochs_{device.type}.json"
    if epochs_json.exists():
        measured = json.loads(epochs_json.read_text())
        per_net = {r["stack"]: r["alone_s"] / r["networks"] for r in measured["stacks"]}
        projected = 0.0
        for label, members in STACKS.items():
            part = training[training["name"].isin(members)]
            if len(part):
                projected += float(part["epochs"].sum()) * per_net.get(label, float("nan"))
        print(f"[{device}] PROJECTED one-at-a-time networks of the same grid (measured "
              f"one-network epoch times x the epochs each network ran here; not run): "
              f"{projected:.0f} s = {projected / 60:.1f} min, plus LASSO")  # fmt: skip
        doc["projected_one_at_a_time_networks_s"] = projected
    summary = results.summary()
    print(summary[["name", "dimension", "ccc_mean", "rmse_mean"]].to_string(index=False))
    _write(args, f"grid_{device.type}.json", doc)


# --------------------------------------------------------------------------
# seeds and compare: the effect of bfloat16 on the results
# --------------------------------------------------------------------------


def part_epoch(args: argparse.Namespace) -> None:
    """One architecture, one way: ``--mode alone`` trains ``--nets`` networks
    one after another with :func:`train_network`; ``batched`` stacks them
    (float32 or ``--precision``); each for ``--epochs`` epochs. The networks
    are the audio LSTMs (exp 1) of fold 0's valence and arousal (and again
    for more than 2). Prints seconds per network-epoch; for side-by-side
    claims run two modes under ``farm-bench --vs``."""
    import copy

    from muvi.models.batched import train_stacked
    from muvi.models.folds import cv_folds
    from muvi.models.lstm import LSTMRegressor
    from muvi.models.training import train_network
    from muvi.models.windows import align_series

    study = load_study(args)
    fold = cv_folds(study.items)[0]
    config = TrainingConfig(
        max_epochs=args.epochs, device=args.device, threads=args.threads,
        precision=args.precision, patience=args.epochs + 1,
    )  # fmt: skip
    prepared = []
    for dimension in ("valence", "arousal"):
        target = study.target("music", dimension)
        sets = [
            align_series(study.features, target, study.items_with_target("music", items))
            for items in (fold.train, fold.validation)
        ]
        model = LSTMRegressor("audio", QUICK_BLOCK if args.quick else BlockConfig(), config)
        prepared.append(model.prepare(*sets))
    prepared = [prepared[i % 2] for i in range(args.nets)]

    def train(epochs: int) -> None:
        nets = [copy.deepcopy(p[0]) for p in prepared]
        run = replace(config, max_epochs=epochs, patience=epochs + 1)
        if args.mode == "alone":
            for net, (_, tr, va) in zip(nets, prepared, strict=True):
                train_network(net, tr, va, run)
        else:
            train_stacked(nets, [p[1] for p in prepared], [p[2] for p in prepared], run)

    fused = {"auto": None, "on": True, "off": False}[args.fused]
    set_fused_cells(fused)
    if args.warmup:  # compiles the fused cells (if used); not timed
        start = time.perf_counter()
        train(args.warmup)
        print(f"warm-up ({args.warmup} epoch(s), includes compiling the fused cells): "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    start, cpu = time.perf_counter(), time.process_time()
    train(args.epochs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    per = seconds / (args.nets * args.epochs)
    print(f"[{args.device}] audio LSTM, {args.mode}, {args.precision}, fused cells "
          f"{args.fused}{' (compile FAILED: eager)' if fused_cells_failed() else ''}, "
          f"{args.nets} network(s), {args.epochs} epoch(s), {torch.get_num_threads()} "
          f"thread(s): {seconds:.2f} s wall, {cpu:.2f} s CPU; {per:.2f} s wall and "
          f"{cpu / (args.nets * args.epochs):.2f} s CPU per network-epoch")  # fmt: skip


def _seed_list(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def part_seeds(args: argparse.Namespace) -> None:
    study = load_study(args)
    device = resolve_device(args.device)
    seeds = _seed_list(args.seeds)
    config = replace(grid_config(args), models=("lstm",))
    from muvi.models.folds import cv_folds

    folds = cv_folds(study.items)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _sync(device)
    start = time.perf_counter()
    fitted = fit_grid_networks(study, config, folds, seeds=seeds, on_stack=_print_stack)
    _sync(device)
    train_s = time.perf_counter() - start
    peak_gib = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    if peak_gib is not None:
        props = torch.cuda.get_device_properties(device)
        print(f"[{device}] peak GPU memory of the stacks: {peak_gib:.1f} GiB of "
              f"{props.total_memory / 2**30:.0f} GiB ({len(seeds)} seeds x 20 audio LSTMs "
              "in the largest stack)")  # fmt: skip
    n_epochs = sum(m.history_.epochs for m in fitted.values())
    label = " (REDUCED settings)" if args.reduced else ""
    print(f"\n[{device}] MEASURED {len(seeds)} seeds ({seeds[0]}..{seeds[-1]}) of the grid's "
          f"networks{label}, batched, {args.precision}: {train_s:.1f} s ({len(fitted)} "
          f"networks, {n_epochs} epochs)")  # fmt: skip
    per_seed = {}
    start = time.perf_counter()
    for seed in seeds:
        seeded = replace(config, training=replace(config.training, seed=seed))
        results = run_evaluation(study, seeded, prefitted=fitted)
        per_seed[str(seed)] = results.summary()[
            ["name", "dimension", "ccc_mean", "rmse_mean"]
        ].to_dict("records")
    print(f"(scored {len(seeds)} seeds on the CPU in {time.perf_counter() - start:.1f} s)")
    doc = {"device": str(device), "precision": args.precision, "seeds": seeds,
           "settings": _settings(args), "experiments": list(args.experiments),
           "train_s": train_s, "networks": len(fitted), "epochs": n_epochs,
           "peak_gpu_gib": peak_gib, "summaries": per_seed}  # fmt: skip
    _write(args, f"seeds_{args.precision}_{seeds[0]}-{seeds[-1]}.json", doc)


def _settings(args: argparse.Namespace) -> str:
    """The training settings' label: ``REDUCED``, ``QUICK`` or ``paper``."""
    return "QUICK" if args.quick else "REDUCED" if args.reduced else "paper"


def part_compare(args: argparse.Namespace) -> None:
    import pandas as pd

    out = _out(args)
    tables: dict[str, pd.DataFrame] = {}
    settings: set[str] = set()
    unrecorded = _settings(args)  # files written before seed files recorded their settings
    for precision in ("float32", "bfloat16"):
        frames = []
        for path in sorted(out.glob(f"seeds_{precision}_*.json")):
            doc = json.loads(path.read_text())
            settings.add(doc.get("settings", unrecorded))
            for seed, records in doc["summaries"].items():
                frame = pd.DataFrame(records)
                frame["seed"] = int(seed)
                frames.append(frame)
        if frames:
            tables[precision] = pd.concat(frames, ignore_index=True)
    if len(tables) < 2:
        print("compare: needs seeds_float32_*.json and seeds_bfloat16_*.json in --out")
        return
    if len(settings) > 1:
        print(f"compare: the seed files in {out} mix settings ({', '.join(sorted(settings))}); "
              "compare runs of one kind")  # fmt: skip
        return
    (setting,) = settings
    f32, b16 = tables["float32"], tables["bfloat16"]
    common = sorted(set(f32["seed"]) & set(b16["seed"]))
    f32, b16 = f32[f32["seed"].isin(common)], b16[b16["seed"].isin(common)]
    table = compare_precisions(f32, b16)
    print(f"\nbfloat16 vs float32, SIMULATED study, {setting} settings, seeds {common} (mean over seeds; "
          "sd: float32's seed-to-seed standard deviation, ddof=1; se: standard error of "
          "the difference of the two means, from both precisions' sds; beyond: |diff| > 2 se):")  # fmt: skip
    with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))
    over = table[table["beyond_noise"]]
    print(
        f"beyond seed noise (|diff| > 2 se) in {len(over)} of {len(table)} rows: "
        + (", ".join(f"{r.name} {r.dimension} {r.metric}" for r in over.itertuples()) or "none")
    )
    print(f"largest |diff|/sd {table['diff_over_sd'].abs().max():.2f}")
    figure = compare_figure(table, _out(args) / "compare_bf16_float32.png", common, setting)
    print(f"(wrote {figure})")
    _write(args, "compare_bf16_float32.json",
           {"seeds": common, "settings": setting, "rows": table.to_dict("records")})  # fmt: skip


def compare_precisions(f32: Any, b16: Any) -> Any:
    """Per run, dimension and metric (CCC, RMSE): each precision's mean over
    seeds, the difference (bfloat16 - float32), float32's seed-to-seed sd
    (ddof 1), the difference in those sds, the standard error of the
    difference of two means ``sqrt((sd32^2 + sd16^2) / seeds)``, Welch's
    t-test p-value, and ``beyond_noise``: |diff| > 2 se."""
    import pandas as pd
    from scipy import stats

    rows = []
    keys = ["name", "dimension"]
    for metric in ("ccc_mean", "rmse_mean"):
        a = f32.groupby(keys)[metric]
        b = b16.groupby(keys)[metric]
        for key, values32 in a:
            values16 = b.get_group(key)
            m32, m16 = float(values32.mean()), float(values16.mean())
            sd32, sd16 = float(values32.std()), float(values16.std())
            n = min(len(values32), len(values16))
            se = ((sd32**2 + sd16**2) / n) ** 0.5
            diff = m16 - m32
            p = (
                float(stats.ttest_ind(values16, values32, equal_var=False).pvalue)
                if se > 0
                else 1.0
            )
            rows.append({"metric": metric.split("_")[0], "name": key[0], "dimension": key[1],
                         "float32": m32, "bfloat16": m16, "diff": diff,
                         "float32_seed_sd": sd32, "bfloat16_seed_sd": sd16,
                         "diff_over_sd": diff / sd32 if sd32 > 0 else float("nan"),
                         "se": se, "welch_p": p,
                         "beyond_noise": bool(abs(diff) > 2 * se)})  # fmt: skip
    return pd.DataFrame(rows)


def compare_figure(table: Any, path: Path, seeds: list[int], setting: str) -> Path:
    """Dot plot of the bfloat16 - float32 differences in float32 seed sds,
    one row per run and dimension, CCC and RMSE side by side, with
    +-2 se bars (SIMULATED study and the training settings, labelled so)."""
    import matplotlib

    matplotlib.use("Agg")
    from muvi.plotting.style import figure_style, new_figure, save_figure

    with figure_style():
        labels = sorted({(r.name, r.dimension) for r in table.itertuples()})
        fig = new_figure(7.0, 0.32 * len(labels) + 1.6)
        axes = fig.subplots(1, 2, sharey=True)
        for ax, metric in zip(axes, ("ccc", "rmse"), strict=True):
            part = table[table["metric"] == metric].set_index(["name", "dimension"])
            for y, label in enumerate(labels):
                r = part.loc[label]
                sd = r["float32_seed_sd"]
                x, bar = r["diff"] / sd, 2 * r["se"] / sd
                colour = "#b2182b" if r["beyond_noise"] else "#2166ac"
                ax.errorbar(x, y, xerr=bar, fmt="o", color=colour, capsize=2, ms=4)
            ax.axvline(0, color="0.4", lw=0.8)
            ax.set_title(f"{metric.upper()}: bfloat16 - float32")
            ax.set_xlabel("difference / float32 seed sd")
        axes[0].set_yticks(range(len(labels)))
        axes[0].set_yticklabels([f"{n.replace('_', ' ')}, {d}" for n, d in labels])
        axes[0].invert_yaxis()
        fig.suptitle(f"SIMULATED study, {setting} settings, {len(seeds)} seeds per precision "
                     "(bars: +-2 se; red: beyond seed noise)")  # fmt: skip
        return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", required=True,
                        choices=("simulate", "caps", "epochs", "grid", "seeds", "compare",
                                 "epoch"))  # fmt: skip
    parser.add_argument("--mode", default="batched", choices=("alone", "batched"))
    parser.add_argument("--nets", type=int, default=2, help="networks (epoch part)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (epoch part)")
    parser.add_argument("--fused", default="auto", choices=("auto", "on", "off"),
                        help="fused LSTM cells (epoch part; auto: muvi's rule)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=1, help="epochs (epoch part)")
    parser.add_argument("--data", default="/tmp/muvi_batched_sim", help="simulated study folder")
    parser.add_argument("--out", default=os.environ.get("OUT", "/tmp/muvi_batched_out"))
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--precision", default="float32",
                        choices=("float32", "bfloat16", "auto"))  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1,
                        help="LASSO threads (grid part; on a GPU they run alongside the stacks)")  # fmt: skip
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--folds", type=int, default=5, help="folds in the epochs part")
    parser.add_argument("--experiments", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7])
    parser.add_argument("--no-flops", action="store_true", help="skip counting FLOPs")
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks it runs")
    parser.add_argument(
        "--reduced",
        action="store_true",
        help="REDUCED settings (32-unit LSTMs, lr 1e-3, 15 epochs, patience 3) for CPU runs",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    np.set_printoptions(precision=4)
    if args.part == "simulate":
        load_study(args)
        return
    {"caps": part_caps, "epochs": part_epochs, "grid": part_grid, "seeds": part_seeds,
     "compare": part_compare, "epoch": part_epoch}[args.part](args)  # fmt: skip


if __name__ == "__main__":
    main()
