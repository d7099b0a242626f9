"""Wall time of training the study's models, fast path against a straightforward one.

(One network at a time. Batched training of the grid, bfloat16 and the GPU
measurements are in benchmarks/batched_grid.py and benchmarks/gpu_check.sh;
``--grid`` here runs ``run_evaluation``, which trains the networks in stacks.)

Usage::

    .venv/bin/python benchmarks/train_grid.py                 # one epoch per architecture
    .venv/bin/python benchmarks/train_grid.py --grid          # ... and the full grid (long)
    .venv/bin/python benchmarks/train_grid.py --device cuda   # on a GPU

It simulates a full-size study (81 items; SIMULATED data, see
``muvi.data.simulator``), takes the training and validation items of the first
outer fold and times one epoch (training pass + validation loss) of every
architecture with the paper's settings (2 LSTM layers of 256 units, batch 256):

* ``fast``: :func:`muvi.models.training.train_network`, the toolkit's path
  (feature rows kept once in memory, first-layer row projections shared by
  the overlapping windows, no data loader);
* ``reference``: a straightforward PyTorch implementation written here for
  comparison, the way a Keras ``model.fit`` is fed: every overlapping 4-row
  window materialised as its own copy (an ``(n_windows, 4, n_features)``
  array), a shuffling ``DataLoader`` of batches of 256, ``nn.LSTM`` run on
  each window, and the validation windows likewise;
* ``--keras-python PATH`` (optional; TensorFlow is not a MuVi dependency): the
  real thing, a plain tf.keras ``Sequential`` of the unimodal model
  (benchmarks/keras_reference.py) fitted on the same windows as float32
  arrays in a subprocess run by that interpreter (e.g. a separate venv with
  ``pip install tensorflow-cpu numpy``), ``--keras-threads`` threads, one
  warm-up epoch then ``--repeats`` timed epochs.

On the CPU it also prints the ceiling: the floating-point work of one epoch
of the audio LSTM (matrix products, counted by torch's ``FlopCounterMode``)
divided by this CPU's best measured float32 matrix-product speed is the
shortest epoch any implementation of the same maths in float32 can reach, and
Keras's epoch time over it the largest possible speed-up.

``--compare-threads`` times two epochs one after the other with 1 and 2 threads
and side by side in two 1-thread processes (``EvaluationConfig.workers``).
``--grid --grid-epochs N --workers W`` runs the whole protocol with at most N
epochs per network (100: the paper's full grid).

Both paths train the same network (same parameters, same maths: the tests
check equal outputs and gradients). With ``--grid`` it also runs the whole
protocol (7 experiments x 2 dimensions + LASSO for experiments 1-5, 5 folds)
and prints its wall time; otherwise it prints a projection from the measured
epoch times and ``--assumed-epochs``, labelled as such.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from muvi.models.folds import cv_folds
from muvi.models.lasso import LassoRegressor
from muvi.models.lstm import (
    EarlyFusionRegressor,
    LateFusionRegressor,
    LSTMRegressor,
    PairInitialisers,
    PairRegressor,
    SequenceRegressor,
)
from muvi.models.protocol import EvaluationConfig, StudyData, prepare_study
from muvi.models.training import TrainingConfig, WindowData, seed_everything, train_network
from muvi.models.windows import SeriesSet, align_series


def load_study(data: Path | None, items: int, participants: int) -> StudyData:
    from muvi.data.loaders import load_dataset
    from muvi.data.simulator import simulate

    if data is None:
        data = Path(tempfile.mkdtemp(prefix="muvi_bench_")) / "simulated"
        simulate(data, seed=0, n_items=items, n_participants=participants)
    return prepare_study(load_dataset(data))


def _prepared(model: SequenceRegressor, train: SeriesSet, val: SeriesSet):
    """Fit scalers and build the net exactly as ``fit`` does, without training."""
    from muvi.models.windows import MinMaxScaling

    model.scalers_ = {s: MinMaxScaling().fit(train.features[s]) for s in model.feature_sets}
    model.feature_names_ = {s: list(train.feature_names[s]) for s in model.feature_sets}
    seed_everything(0)
    model.net_ = model._build({s: train.features[s].shape[-1] for s in model.feature_sets})
    model._initialise(model.net_)
    return model.net_, model._window_data(train), model._window_data(val)


def fast_epoch(net, train: WindowData, val: WindowData, config: TrainingConfig) -> float:
    cfg = TrainingConfig(**{**config.__dict__, "max_epochs": 1})
    start = time.perf_counter()
    train_network(net, train, val, cfg)
    if cfg.device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def reference_epoch(net, train: WindowData, val: WindowData, config: TrainingConfig) -> float:
    """One epoch fed the straightforward way: one materialised copy per window."""
    device = torch.device(config.device)
    start = time.perf_counter()
    names = list(net.blocks)
    train_x = [train.rows[k][train.positions] for k in names]  # (n_windows, 4, n_features)
    val_x = [val.rows[k][val.positions] for k in names]
    loader = DataLoader(
        TensorDataset(*train_x, train.targets), batch_size=config.batch_size, shuffle=True
    )
    net.to(device).train()
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    for *xs, y in loader:
        pred = net({k: x.to(device) for k, x in zip(names, xs, strict=True)})
        loss = torch.nn.functional.mse_loss(pred, y.to(device))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    with torch.no_grad():
        total = 0.0
        for *xs, y in DataLoader(TensorDataset(*val_x, val.targets), batch_size=config.batch_size):
            pred = net({k: x.to(device) for k, x in zip(names, xs, strict=True)})
            total += float(torch.nn.functional.mse_loss(pred, y.to(device), reduction="sum"))
    if config.device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def matmul_peak(threads: int, size: int = 2048, repeats: int = 10) -> float:
    """This CPU's float32 matrix-product speed in GFLOP/s with ``threads``
    threads: the best of ``repeats`` products of two ``size`` x ``size``
    matrices (the ceiling for any exact float32 implementation)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = float("inf")
    for _ in range(3 + repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    torch.set_num_threads(previous)
    return 2 * size**3 / best / 1e9


def epoch_flops(net, train: WindowData, val: WindowData, config: TrainingConfig) -> float:
    """Floating-point operations of one epoch (training pass + validation loss),
    counted by torch's ``FlopCounterMode`` (matrix products; the elementwise
    work is not counted) on one full batch, scaled to the training windows,
    plus the validation predictions."""
    import copy

    from torch.utils.flop_counter import FlopCounterMode

    from muvi.models.training import _forward_batch, predict_windows

    net = copy.deepcopy(net).train()
    batch = torch.arange(min(config.batch_size, len(train)))
    with FlopCounterMode(display=False) as counter:
        pred = _forward_batch(net, train.rows, train.positions[batch])
        torch.nn.functional.mse_loss(pred, train.targets[batch]).backward()
    per_window = counter.get_total_flops() / len(batch)
    with FlopCounterMode(display=False) as counter:
        predict_windows(net, val)
    return per_window * len(train) + counter.get_total_flops()


KERAS_SCRIPT = Path(__file__).with_name("keras_reference.py")


def export_windows(train: WindowData, val: WindowData, path: Path, block: str = "main") -> Path:
    """Write the windows of one block as materialised float32 arrays for Keras.

    ``train_x[w]`` is the ``(history, n_features)`` stack of the rows at
    ``train.positions[w]``, ``train_y[w]`` its target: exactly the windows the
    toolkit trains on, one copy per window, as ``model.fit`` wants them.
    """
    arrays = {}
    for role, data in (("train", train), ("val", val)):
        arrays[f"{role}_x"] = data.rows[block][data.positions].numpy().astype(np.float32)
        arrays[f"{role}_y"] = data.targets.numpy().astype(np.float32)
    np.savez(path, **arrays)
    return path


def keras_epoch(
    python: Path, train: WindowData, val: WindowData, threads: int, repeats: int
) -> dict:
    """Time the straightforward tf.keras model (benchmarks/keras_reference.py)
    in a subprocess run by ``python`` (an interpreter with TensorFlow).

    Returns:
        The script's JSON report (``epoch_s``: timed epochs after a warm-up).

    Raises:
        RuntimeError: the interpreter is missing or the script failed.
    """
    if not Path(python).exists():
        raise RuntimeError(f"--keras-python {python}: no such interpreter")
    with tempfile.TemporaryDirectory(prefix="muvi_keras_") as tmp:
        path = export_windows(train, val, Path(tmp) / "windows.npz")
        done = subprocess.run(
            [str(python), str(KERAS_SCRIPT), str(path), "--threads", str(threads),
             "--repeats", str(repeats)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the Keras reference failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _epoch_in_process(net, train: WindowData, val: WindowData, threads: int) -> float:
    torch.set_num_threads(threads)
    return fast_epoch(net, train, val, TrainingConfig(threads=threads))


def thread_comparison(net, train: WindowData, val: WindowData) -> dict[str, float]:
    """Seconds for TWO epochs of the same net (e.g. the valence and the arousal
    model of a fold): one after the other with 1 and with 2 threads, and side
    by side in two spawned processes with 1 thread each (what
    ``EvaluationConfig(workers=2)`` does with whole folds)."""
    import copy
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    out = {}
    for threads in (1, 2):
        start = time.perf_counter()
        for _ in range(2):
            fast_epoch(copy.deepcopy(net), train, val, TrainingConfig(threads=threads))
        out[f"serial, {threads} thread{'s' if threads > 1 else ''}"] = time.perf_counter() - start
    torch.set_num_threads(2)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(time.sleep, [1.0, 1.0]))  # start both workers before timing
        start = time.perf_counter()
        jobs = [pool.submit(_epoch_in_process, copy.deepcopy(net), train, val, 1) for _ in range(2)]
        for job in jobs:
            job.result()
        out["2 processes x 1 thread"] = time.perf_counter() - start
    return out


def run_grid(study: StudyData, config: TrainingConfig, args: argparse.Namespace) -> None:
    """Run and time the whole protocol (paper settings unless --grid-epochs)."""
    from dataclasses import replace

    from muvi.models.protocol import run_evaluation

    config = replace(config, max_epochs=args.grid_epochs)
    start = time.perf_counter()
    results = run_evaluation(study, EvaluationConfig(training=config, workers=args.workers))
    grid_s = time.perf_counter() - start
    epochs = results.training["epochs"]
    what = "full grid" if args.grid_epochs == 100 else f"grid capped at {args.grid_epochs} epochs"
    print(f"[{config.device}] MEASURED {what} ({args.workers} worker processes, "
          f"{args.threads} threads): {grid_s / 60:.1f} min "
          f"({len(epochs)} networks, {epochs.mean():.1f} epochs on average, "
          f"{epochs.sum()} epochs in all)")  # fmt: skip
    summary = results.summary()
    print(summary[["name", "dimension", "ccc_mean", "rmse_mean"]].to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, help="an existing study folder (default: simulate one)"
    )
    parser.add_argument("--items", type=int, default=81)
    parser.add_argument("--participants", type=int, default=49)
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="epochs timed per path (best kept)")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument(
        "--keras-python",
        type=Path,
        help="a Python with TensorFlow: also time a plain tf.keras model of exp 1 (optional)",
    )
    parser.add_argument("--keras-threads", type=int, default=2, help="TensorFlow's threads")
    parser.add_argument(
        "--compare-threads",
        action="store_true",
        help="time 2 epochs: serial with 1 and 2 threads vs 2 processes x 1 thread",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="processes for the --grid run (EvaluationConfig)"
    )
    parser.add_argument(
        "--only-audio", action="store_true", help="time only the audio LSTM (exp 1/3)"
    )
    parser.add_argument(
        "--grid-epochs", type=int, default=100, help="max epochs in the --grid run (paper: 100)"
    )
    parser.add_argument("--grid", action="store_true", help="also run and time the full grid")
    parser.add_argument(
        "--assumed-epochs",
        type=int,
        default=14,
        help="epochs per network, for the projection only (the measured full grid on the "
        "default simulated study averaged 13.6)",
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if args.device != "all":
        devices = [args.device]
    print(f"torch {torch.__version__}, {args.threads} CPU threads, devices: {', '.join(devices)}")
    t0 = time.perf_counter()
    study = load_study(args.data, args.items, args.participants)
    print(f"study: {len(study.items)} items{' (SIMULATED)' if study.simulated else ''}, "
          f"loaded in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    fold = cv_folds(study.items)[0]

    def sets(modality: str) -> tuple[SeriesSet, SeriesSet]:
        target = study.target(modality, "arousal")
        return (
            align_series(study.features, target, study.items_with_target(modality, fold.train)),
            align_series(
                study.features, target, study.items_with_target(modality, fold.validation)
            ),
        )

    music, visual, audiovisual = sets("music"), sets("visual"), sets("audiovisual")
    print(f"fold 0: {len(audiovisual[0].items)} training items "
          f"({len(audiovisual[0].items) * 114} windows), {len(audiovisual[1].items)} validation items")  # fmt: skip

    start = time.perf_counter()
    LassoRegressor(("audio",)).fit(*music)
    lasso_s = time.perf_counter() - start
    print(f"LASSO (exp 1, alpha by grouped 5-fold CV, 30 alphas): {lasso_s:.1f} s per fit")

    for device in devices:
        config = TrainingConfig(device=device, threads=args.threads)
        init_cfg = TrainingConfig(max_epochs=1, device=device, threads=args.threads)
        pair_init = PairInitialisers(
            LSTMRegressor("audio", training=init_cfg).fit(*music),
            LSTMRegressor("visual", training=init_cfg).fit(*visual),
        )
        architectures = {
            "lstm (audio, exp 1/3)": (LSTMRegressor("audio", training=config), music),
            "lstm (visual, exp 2/4)": (LSTMRegressor("visual", training=config), visual),
            "A1 early fusion (exp 5)": (EarlyFusionRegressor(training=config), audiovisual),
            "A2 late fusion (exp 6)": (LateFusionRegressor(training=config), audiovisual),
            "PAIR (exp 7)": (PairRegressor(pair_init, training=config), audiovisual),
        }
        print(f"\n[{device}] one epoch (training + validation loss), best of {args.repeats}:")
        print(f"{'architecture':<26}{'fast (s)':>10}{'reference (s)':>15}{'speed-up':>10}")
        epoch_s: dict[str, float] = {}
        for label, (model, (train, val)) in architectures.items():
            if args.only_audio and not label.startswith("lstm (audio"):
                continue
            net, tr, va = _prepared(model, train, val)
            fast = min(fast_epoch(net, tr, va, config) for _ in range(args.repeats))
            epoch_s[label] = fast
            if label.startswith("lstm (audio"):
                audio_windows = (tr, va)
            if args.no_reference:
                print(f"{label:<26}{fast:>10.2f}")
                continue
            ref = min(reference_epoch(net, tr, va, config) for _ in range(args.repeats))
            print(f"{label:<26}{fast:>10.2f}{ref:>15.2f}{ref / fast:>9.1f}x")
        if args.keras_python is not None and device == "cpu":
            report = keras_epoch(
                args.keras_python, *audio_windows, args.keras_threads, args.repeats
            )
            keras_s = min(report["epoch_s"])
            ours = epoch_s["lstm (audio, exp 1/3)"]
            print(f"[cpu] tf.keras {report['tensorflow']} reference, lstm (audio, exp 1/3), "
                  f"{report['threads']} threads: epochs {', '.join(f'{t:.2f}' for t in report['epoch_s'])} s "
                  f"(warm-up {report['warmup_s']:.2f} s)")  # fmt: skip
            print(f"[cpu] one epoch: ours {ours:.2f} s, Keras {keras_s:.2f} s, "
                  f"speed-up {keras_s / ours:.1f}x (target: 5x)")  # fmt: skip
        if device == "cpu":
            tr, va = audio_windows
            net, _, _ = _prepared(LSTMRegressor("audio", training=config), *music)
            flops = epoch_flops(net, tr, va, config)
            peak = matmul_peak(args.threads)
            floor = flops / (peak * 1e9)
            ours = epoch_s["lstm (audio, exp 1/3)"]
            print(f"[cpu] lstm (audio, exp 1/3): {flops / 1e9:.0f} GFLOP per epoch in matrix "
                  f"products (counted); this CPU multiplies float32 matrices at {peak:.0f} "
                  f"GFLOP/s at best with {args.threads} threads (measured), so no exact float32 "
                  f"epoch can take less than {floor:.2f} s; ours runs at "
                  f"{flops / ours / 1e9:.0f} GFLOP/s ({100 * floor / ours:.0f}% of that ceiling)")  # fmt: skip
            if args.keras_python is not None:
                print(f"[cpu] against Keras's {keras_s:.2f} s, the largest speed-up any exact "
                      f"float32 implementation could reach on this CPU is {keras_s / floor:.1f}x")  # fmt: skip
        if args.compare_threads and device == "cpu":
            net, tr, va = _prepared(LSTMRegressor("audio", training=config), *music)
            print("[cpu] two epochs of lstm (audio, exp 1/3), e.g. valence + arousal of a fold:")
            for label, seconds in thread_comparison(net, tr, va).items():
                print(f"    {label:<26}{seconds:>8.2f} s")
        if args.only_audio:
            if args.grid:
                run_grid(study, config, args)
            continue
        # the grid fits, per fold and dimension: exp 1-4 LSTMs, A1, A2, PAIR + 5 LASSO
        per_fold_dim = (
            2 * epoch_s["lstm (audio, exp 1/3)"]
            + 2 * epoch_s["lstm (visual, exp 2/4)"]
            + epoch_s["A1 early fusion (exp 5)"]
            + epoch_s["A2 late fusion (exp 6)"]
            + epoch_s["PAIR (exp 7)"]
        )
        projected = 10 * (per_fold_dim * args.assumed_epochs + 5 * lasso_s)
        print(f"[{device}] one epoch of every network of the grid (5 folds x 2 dimensions): "
              f"{10 * per_fold_dim:.0f} s")  # fmt: skip
        print(f"[{device}] PROJECTED full grid at {args.assumed_epochs} epochs per network "
              f"(not measured): {projected / 60:.0f} min")  # fmt: skip
        if args.grid:
            run_grid(study, config, args)


if __name__ == "__main__":
    main()
