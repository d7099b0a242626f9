"""Seed spread of muvi's reference-code profile beside the authors' code, on one study.

The study: the real item list, the real (participant, item, condition) triples
of ``media_data.csv`` and the real emobase features of the public release,
with SIMULATED continuous ratings (``av_data.csv`` is not public here). The
simulated ratings follow the item's real audio: for each item a hidden
arousal and valence path is a fixed random projection of its standardised
emobase rows (arousal more strongly than valence, valence with a larger
item-level offset), and every annotator's 2 Hz series is that path, delayed
by 0-3 samples, with a personal offset and slowly varying noise. It is written
in the published layout and marked SIMULATED in ``muvi_metadata.json``.

Three steps, each a subcommand:

* ``build``: write the study (``--rating-seed`` picks the simulated ratings);
* ``muvi``: muvi's ``reference-code`` profile with the defects ``pair-leak``
  and ``chunked-scoring`` (what ``muvi evaluate --profile reference-code
  --replicate-defects pair-leak,chunked-scoring --experiments 1 --models lstm``
  runs), once per training seed;
* ``authors``: the authors' training function for experiment 1 (the music
  condition from the audio features), from their ``aux_files.py`` passed by
  path, once per training seed. Run it with an interpreter that has
  TensorFlow (not a muvi dependency): e.g. a separate venv made with
  ``python3.11 -m venv /work/tfvenv && /work/tfvenv/bin/pip install
  tensorflow-cpu pandas scikit-learn scipy``. The code imports ``torch`` and
  ``audtorch`` only for its concordance function; this script gives it a
  small stand-in computing the same statistic (audtorch's definition:
  Pearson's r and sample standard deviations), so neither is needed. The
  cross-validation splits are the code's: 5 shuffled folds (seed 42), each
  held-out fifth halved into validation and test (seed 42).
* ``table``: mean and spread (sample sd over seeds) of the per-seed CCC and
  MSE, per code and dimension, from the JSON lines the two steps wrote, and
  per dimension muvi's mean CCC less the authors' beside the larger seed sd
  and Welch's t test (``compare``).

Each run writes one JSON line per (seed, dimension) to ``--log``. Example::

    python benchmarks/reference_seeds.py build --real ../shared/muvi --out /tmp/seedstudy
    python benchmarks/reference_seeds.py muvi --study /tmp/seedstudy --seeds 0,1,2,3,4 \\
        --log /tmp/seeds.jsonl
    /work/tfvenv/bin/python benchmarks/reference_seeds.py authors --study /tmp/seedstudy \\
        --aux /path/to/aux_files.py --seeds 0,1,2 --log /tmp/seeds.jsonl
    python benchmarks/reference_seeds.py table --log /tmp/seeds.jsonl

The per-item CCC and MSE of a seed are averaged the way the code's
``print_results`` does (over the scored chunks of every fold).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import types
from pathlib import Path

SAMPLES = 120
"""2 Hz samples per simulated annotation (60 s, as muvi's simulator)."""
DIMENSIONS = ("valence", "arousal")


def _seeds(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()]


def _emit(log: Path, record: dict) -> None:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


# --------------------------------------------------------------------------
# build: the real triples and features with SIMULATED ratings
# --------------------------------------------------------------------------


def _emobase_matrix(path: Path):
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(path)
    values = frame.iloc[:, 2:-1].to_numpy(dtype=float)  # index, name ... class
    if len(values) < SAMPLES:
        values = np.vstack([values, np.repeat(values[-1:], SAMPLES - len(values), axis=0)])
    return values[:SAMPLES]


def build(real: Path, out: Path, rating_seed: int) -> None:
    import numpy as np
    import pandas as pd

    from muvi.data import published
    from muvi.data.loaders import ItemCatalog, load_static, load_video_urls

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rating_seed)
    items = list(load_video_urls(real / "video_urls.csv"))
    static = load_static(real / "media_data.csv", ItemCatalog(items))
    feats = {v: _emobase_matrix(real / "emobase_features" / f"{v}.csv") for v in items}
    stacked = np.vstack(list(feats.values()))
    mean, sd = stacked.mean(axis=0), stacked.std(axis=0)
    keep = sd > 0
    kernel = np.ones(5) / 5
    paths: dict[tuple[str, str], np.ndarray] = {}
    projections = {d: rng.standard_normal(int(keep.sum())) for d in DIMENSIONS}
    scores = {
        d: {v: ((feats[v][:, keep] - mean[keep]) / sd[keep]) @ projections[d] for v in items}
        for d in DIMENSIONS
    }
    gain = {"arousal": 0.9, "valence": 0.45}
    offset_sd = {"arousal": 0.2, "valence": 0.35}
    for d in DIMENSIONS:
        spread = np.concatenate(list(scores[d].values())).std()
        for v in items:
            smooth = np.convolve(scores[d][v] / spread, kernel, mode="same")
            paths[(v, d)] = np.tanh(gain[d] * smooth + rng.normal(0.0, offset_sd[d]))
    rows = []
    for trial in static.itertuples():
        lag = int(rng.integers(0, 4))
        series = {}
        for d in DIMENSIONS:
            path = paths[(trial.media_id, d)]
            delayed = np.concatenate([np.full(lag, path[0]), path[: SAMPLES - lag]])
            noise = np.zeros(SAMPLES)
            for t in range(1, SAMPLES):
                noise[t] = 0.92 * noise[t - 1] + rng.normal(0.0, 0.06)
            series[d] = np.clip(delayed + noise + rng.normal(0.0, 0.12), -1.0, 1.0)
        rows.append(
            pd.DataFrame(
                {
                    "participant_id": trial.participant_id,
                    "media_id": trial.media_id,
                    "modality": trial.modality,
                    "sample": np.arange(SAMPLES),
                    "valence": series["valence"],
                    "arousal": series["arousal"],
                }
            )
        )
    published.write_dynamic(pd.concat(rows, ignore_index=True), out / "av_data.csv")
    for name in ("video_urls.csv", "participant_data.csv", "media_data.csv"):
        (out / name).write_bytes((real / name).read_bytes())
    link = out / "emobase_features"
    if not link.exists():
        link.symlink_to((real / "emobase_features").resolve(), target_is_directory=True)
    notice = (
        "SIMULATED continuous ratings (benchmarks/reference_seeds.py, rating seed "
        f"{rating_seed}) for the real triples, items and emobase features of the public release"
    )
    (out / "muvi_metadata.json").write_text(
        json.dumps({"simulated": True, "notice": notice}, indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {out}: {len(static)} SIMULATED annotations of {len(items)} real items")


# --------------------------------------------------------------------------
# muvi: the reference-code profile with the defects
# --------------------------------------------------------------------------


def run_muvi(study_dir: Path, seeds: list[int], log: Path, threads: int, epochs: int) -> None:
    from dataclasses import replace

    from muvi.data.loaders import load_dataset
    from muvi.models.profiles import profile_config
    from muvi.models.protocol import EvaluationConfig, prepare_study, run_evaluation
    from muvi.models.reference_code import parse_defects
    from muvi.models.training import TrainingConfig

    study = prepare_study(load_dataset(study_dir))
    base = EvaluationConfig(
        experiments=(1,),
        models=("lstm",),
        dimensions=DIMENSIONS,
        defects=parse_defects("pair-leak,chunked-scoring"),
        training=TrainingConfig(max_epochs=epochs, device="cpu", threads=threads),
    )
    config = profile_config("reference-code", base)
    for seed in seeds:
        seeded = replace(config, training=replace(config.training, seed=seed))
        start = time.perf_counter()
        results = run_evaluation(study, seeded)
        seconds = time.perf_counter() - start
        summary = results.summary()
        for row in summary.itertuples():
            _emit(
                log,
                {
                    "code": "muvi",
                    "seed": seed,
                    "dimension": row.dimension,
                    "ccc": float(row.ccc_mean),
                    "mse": float(row.mse_mean),
                    "n": int(row.n_items),
                    "seconds": seconds,
                    "simulated": bool(study.simulated),
                },
            )


# --------------------------------------------------------------------------
# authors: their aux_files.py, passed by path
# --------------------------------------------------------------------------


def _ccc_like_audtorch(x, y):
    """Concordance of two 1-D series: 2 r s_x s_y / (s_x^2 + s_y^2 + (m_x - m_y)^2), sample sds."""
    import numpy as np

    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    sx, sy = x.std(ddof=1), y.std(ddof=1)
    r = np.corrcoef(x, y)[0, 1] if sx > 0 and sy > 0 else 0.0
    value = 2 * r * sx * sy / (sx * sx + sy * sy + (x.mean() - y.mean()) ** 2)
    return np.array([value])


def _stand_ins() -> None:
    """``torch.tensor`` and ``audtorch.metrics.functional.concordance_cc`` as the code uses them."""
    import numpy as np

    torch = types.ModuleType("torch")
    torch.tensor = np.asarray  # type: ignore[attr-defined]
    # scipy's array-API helpers look for these classes in an imported torch
    torch.Tensor = type("Tensor", (), {})  # type: ignore[attr-defined]
    audtorch = types.ModuleType("audtorch")
    metrics = types.ModuleType("audtorch.metrics")
    functional = types.ModuleType("audtorch.metrics.functional")
    functional.concordance_cc = _ccc_like_audtorch  # type: ignore[attr-defined]
    metrics.functional = functional  # type: ignore[attr-defined]
    audtorch.metrics = metrics  # type: ignore[attr-defined]
    sys.modules.update(
        {
            "torch": torch,
            "audtorch": audtorch,
            "audtorch.metrics": metrics,
            "audtorch.metrics.functional": functional,
        }
    )


def run_authors(study_dir: Path, aux_path: Path, seeds: list[int], log: Path, threads: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import importlib.util

    import numpy as np
    import pandas as pd
    import sklearn.model_selection
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    _stand_ins()
    spec = importlib.util.spec_from_file_location("aux_files", aux_path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {aux_path}")
    aux = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aux)
    # Keras 3 takes a list of metrics; the code passes one metric object
    aux.metrics = types.SimpleNamespace(
        RootMeanSquaredError=lambda: [tf.keras.metrics.RootMeanSquaredError()]
    )

    urls = pd.read_csv(study_dir / "video_urls.csv")
    av_df = pd.read_csv(study_dir / "av_data.csv")
    ewe = []
    for (media, modality), group in av_df.groupby(["media_id", "media_modality"]):
        a, v, a_std, v_std = aux.getEWE(group)
        ewe.append([media, modality, a, v, a_std, v_std])
    kfold = sklearn.model_selection.KFold(n_splits=5, shuffle=True, random_state=42)
    splits = []
    for train_index, held_out in kfold.split(urls):
        val_index, test_index = sklearn.model_selection.train_test_split(
            held_out, random_state=42, test_size=0.5
        )
        splits.append([train_index, val_index, test_index])
    hp = {"seq_len": 4, "dense_units": 256, "lstm_units": 256, "lr": 0.0001}
    features = str((study_dir / "emobase_features").resolve())
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="authors_run_") as work:
        os.chdir(work)
        (Path(work) / "models").mkdir()
        try:
            for seed in seeds:
                tf.keras.utils.set_random_seed(seed)
                start = time.perf_counter()
                results = aux.train_lstm(hp, features, None, ewe, "music", urls, av_df, splits)
                seconds = time.perf_counter() - start
                for dimension in DIMENSIONS:
                    part = results[results["emotion"] == dimension]
                    ccc = [float(np.ravel(c)[0]) for c in part["ccc"]]
                    _emit(
                        log,
                        {
                            "code": "authors",
                            "seed": seed,
                            "dimension": dimension,
                            "ccc": float(np.mean(ccc)),
                            "mse": float(np.mean(part["mse"].astype(float))),
                            "n": len(ccc),
                            "seconds": seconds,
                            "simulated": True,
                            "tensorflow": tf.__version__,
                        },
                    )
        finally:
            os.chdir(here)


# --------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------


def table(log: Path) -> list[dict]:
    """Mean and sample sd over seeds per (code, dimension), printed as a Markdown table."""
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["code"], r["dimension"]), []).append(r)
    rows = []
    print("| code | dimension | seeds | CCC mean | CCC sd | MSE mean | MSE sd |")
    print("|---|---|---|---|---|---|---|")
    for (code, dimension), rs in sorted(groups.items()):

        def stats(key: str, rs: list[dict] = rs) -> tuple[float, float]:
            values = [r[key] for r in rs]
            m = sum(values) / len(values)
            s = (
                math.sqrt(sum((x - m) ** 2 for x in values) / (len(values) - 1))
                if len(values) > 1
                else float("nan")
            )
            return m, s

        (cm, cs), (mm, ms) = stats("ccc"), stats("mse")
        rows.append(
            {
                "code": code,
                "dimension": dimension,
                "seeds": len(rs),
                "ccc_mean": cm,
                "ccc_sd": cs,
                "mse_mean": mm,
                "mse_sd": ms,
            }
        )
        print(f"| {code} | {dimension} | {len(rs)} | {cm:.3f} | {cs:.3f} | {mm:.4f} | {ms:.4f} |")
    gaps = compare(rows)
    if gaps:
        print()
        print("| dimension | CCC muvi - authors | larger seed sd | Welch t | p | verdict |")
        print("|---|---|---|---|---|---|")
        for g in gaps:
            print(
                f"| {g['dimension']} | {g['ccc_difference']:+.3f} | {g['larger_sd']:.3f} "
                f"| {g['welch_t']:.2f} | {g['p']:.2f} | {g['verdict']} |"
            )
    return rows


def compare(rows: list[dict]) -> list[dict]:
    """Per dimension with both codes: muvi's mean CCC less the authors', against the seed spread.

    The verdict is *within seed spread* when the difference of the means is no
    larger than the larger of the two codes' sample sds over seeds. Welch's t
    (unequal variances, Welch-Satterthwaite degrees of freedom) and its
    two-sided p say the same in a test's terms; the seeds of the two codes are
    not paired (one framework's seed 3 has nothing to do with the other's).
    """
    from scipy import stats as scipy_stats

    by = {(r["code"], r["dimension"]): r for r in rows}
    out = []
    for dimension in DIMENSIONS:
        a, b = by.get(("muvi", dimension)), by.get(("authors", dimension))
        if a is None or b is None or a["seeds"] < 2 or b["seeds"] < 2:
            continue
        diff = a["ccc_mean"] - b["ccc_mean"]
        va, vb = a["ccc_sd"] ** 2 / a["seeds"], b["ccc_sd"] ** 2 / b["seeds"]
        se = math.sqrt(va + vb)
        t = diff / se if se > 0 else math.copysign(math.inf, diff) if diff else 0.0
        df = (
            (va + vb) ** 2 / (va**2 / (a["seeds"] - 1) + vb**2 / (b["seeds"] - 1))
            if va + vb > 0
            else math.inf
        )
        p = float(2 * scipy_stats.t.sf(abs(t), df)) if math.isfinite(t) else 0.0
        larger = max(a["ccc_sd"], b["ccc_sd"])
        out.append(
            {
                "dimension": dimension,
                "ccc_difference": diff,
                "larger_sd": larger,
                "welch_t": t,
                "df": df,
                "p": p,
                "verdict": "within seed spread" if abs(diff) <= larger else "beyond seed spread",
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    b = sub.add_parser("build", help="write the study (real triples, SIMULATED ratings)")
    b.add_argument("--real", type=Path, required=True, help="the public release's folder")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--rating-seed", type=int, default=0)
    for name in ("muvi", "authors"):
        p = sub.add_parser(name)
        p.add_argument("--study", type=Path, required=True)
        p.add_argument("--seeds", default="0,1,2,3,4")
        p.add_argument("--log", type=Path, required=True)
        p.add_argument("--threads", type=int, default=2)
        if name == "muvi":
            p.add_argument("--epochs", type=int, default=100)
        else:
            p.add_argument("--aux", type=Path, required=True, help="the authors' aux_files.py")
    t = sub.add_parser("table")
    t.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    if args.step == "build":
        build(args.real, args.out, args.rating_seed)
    elif args.step == "muvi":
        run_muvi(args.study, _seeds(args.seeds), args.log, args.threads, args.epochs)
    elif args.step == "authors":
        run_authors(args.study, args.aux, _seeds(args.seeds), args.log, args.threads)
    else:
        table(args.log)


if __name__ == "__main__":
    main()
