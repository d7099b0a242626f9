"""Wall time of training the study's models, fast path against a straightforward one.

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
  each window, and the validation windows likewise. Keras/TensorFlow is not
  installed here, so this PyTorch version stands in for the Keras reference.

Both paths train the same network (same parameters, same maths: the tests
check equal outputs and gradients). With ``--grid`` it also runs the whole
protocol (7 experiments x 2 dimensions + LASSO for experiments 1-5, 5 folds)
and prints its wall time; otherwise it prints a projection from the measured
epoch times and ``--assumed-epochs``, labelled as such.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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
        simulate(data, seed=0, n_items=items, n_participants=participants, progress=False)
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
    parser.add_argument("--grid", action="store_true", help="also run and time the full grid")
    parser.add_argument("--assumed-epochs", type=int, default=30, help="for the projection only")
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
            net, tr, va = _prepared(model, train, val)
            fast = min(fast_epoch(net, tr, va, config) for _ in range(args.repeats))
            epoch_s[label] = fast
            if args.no_reference:
                print(f"{label:<26}{fast:>10.2f}")
                continue
            ref = min(reference_epoch(net, tr, va, config) for _ in range(args.repeats))
            print(f"{label:<26}{fast:>10.2f}{ref:>15.2f}{ref / fast:>9.1f}x")
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
            from muvi.models.protocol import run_evaluation

            start = time.perf_counter()
            results = run_evaluation(study, EvaluationConfig(training=config))
            grid_s = time.perf_counter() - start
            epochs = results.training["epochs"]
            print(f"[{device}] MEASURED full grid: {grid_s / 60:.1f} min "
                  f"({len(epochs)} networks, {epochs.mean():.1f} epochs on average)")  # fmt: skip
            summary = results.summary()
            print(summary[["name", "dimension", "ccc_mean", "rmse_mean"]].to_string(index=False))


if __name__ == "__main__":
    main()
