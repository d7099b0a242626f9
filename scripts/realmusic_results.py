"""Cross-validate muvi's audio models on the ten real 1000 Songs excerpts with
small training settings, write the results, a per-song table and the figure of
predicted curves against the real averaged ratings (docs/figures/).

Usage: python scripts/realmusic_results.py REALMUSIC_DIR OUT FIGURE.png

The settings are :func:`muvi.models.grid.demo_config` restricted to experiment 1
(LSTM layers of 32 units, learning rate 1e-3, at most 15 epochs with patience 3,
10 LASSO alphas): NOT the paper's settings, chosen to keep the CPU cost small.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from muvi.data.formats import open_study  # noqa: E402
from muvi.models.cv import prepare_study, run_evaluation  # noqa: E402
from muvi.models.grid import demo_config  # noqa: E402
from muvi.models.results import write_results  # noqa: E402


def figure(predictions: pd.DataFrame, path: Path) -> None:
    songs = sorted(predictions["media_id"].unique(), key=int)
    dims = ("valence", "arousal")
    fig, axes = plt.subplots(len(dims), len(songs), figsize=(2.6 * len(songs), 5.2), sharey=True)
    for row, dim in enumerate(dims):
        for col, song in enumerate(songs):
            ax = axes[row][col]
            rows = predictions[
                (predictions["media_id"] == song) & (predictions["dimension"] == dim)
            ]
            target = rows[rows["name"] == rows["name"].iloc[0]].sort_values("sample")
            ax.plot(15.0 + 0.5 * target["sample"], target["target"], color="black", lw=2,
                    label="real average rating")  # fmt: skip
            for name, colour in (("exp1_lasso", "tab:orange"), ("exp1_lstm", "tab:blue")):
                model = rows[rows["name"] == name].sort_values("sample")
                label = name.split("_")[1].upper() + " from audio"
                ax.plot(15.0 + 0.5 * model["sample"], model["prediction"], color=colour,
                        label=label)  # fmt: skip
            ax.set_title(f"song {song}, {dim}", fontsize=9)
            ax.set_ylim(-1, 1)
            if row == len(dims) - 1:
                ax.set_xlabel("time in the excerpt (s)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle("REAL data, ten 1000 Songs excerpts only: each song predicted by the fold "
                 "that held it out")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(data: Path, out: Path, figure_path: Path) -> None:
    begun = time.perf_counter()
    study = prepare_study(open_study(data, cache_dir=out / "cache"))
    config = replace(demo_config(), experiments=(1,))
    results = run_evaluation(study, config)
    write_results(results, out)
    per_song = results.per_item[["name", "dimension", "media_id", "fold", "ccc", "rmse"]]
    per_song = per_song.sort_values(["dimension", "name", "media_id"], key=lambda c: c.map(str))
    per_song.to_csv(out / "per_song.csv", index=False, float_format="%.3f")
    figure(results.predictions, figure_path)
    print("\n".join(results.notes))
    print(results.summary()[["name", "dimension", "ccc_mean", "ccc_std", "rmse_mean", "n_items"]])
    print(per_song.to_string(index=False))
    print(f"{time.perf_counter() - begun:.0f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
