"""Draw the predicted curves of `muvi evaluate` on the ten real 1000 Songs
excerpts against their real averaged ratings (docs/figures/).

Usage: python scripts/realmusic_figure.py EVALUATE_OUT FIGURE.png
(EVALUATE_OUT is the --out folder of `muvi evaluate --data <realmusic>`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def main(out_dir: Path, figure: Path) -> None:
    predictions = pd.read_csv(out_dir / "predictions.csv", dtype={"media_id": str})
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
            seconds = 15.0 + 0.5 * target["sample"]
            ax.plot(seconds, target["target"], color="black", lw=2, label="real average rating")
            for name, colour in (("exp1_lasso", "tab:orange"), ("exp1_lstm", "tab:blue")):
                model = rows[rows["name"] == name].sort_values("sample")
                if len(model):
                    label = name.split("_")[1].upper() + " (audio)"
                    ax.plot(
                        15.0 + 0.5 * model["sample"], model["prediction"], color=colour, label=label
                    )
            ax.set_title(f"song {song}, {dim}", fontsize=9)
            ax.set_ylim(-1, 1)
            if row == len(dims) - 1:
                ax.set_xlabel("time in the excerpt (s)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(
        "REAL data (1000 Songs, ten songs only): cross-validated predictions of the test songs"
    )
    fig.tight_layout()
    fig.savefig(figure, dpi=110)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
