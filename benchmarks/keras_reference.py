"""A straightforward tf.keras implementation of the unimodal model, for timing only.

Run by ``benchmarks/train_grid.py --keras-python PATH`` with a Python
interpreter that has TensorFlow (TensorFlow is NOT a MuVi dependency and is never
imported by the toolkit). It reads an ``.npz`` file holding the windows the
toolkit trains on, as float32 arrays:

* ``train_x`` (n_windows, 4, n_features), ``train_y`` (n_windows,)
* ``val_x``, ``val_y``: the validation windows

and builds the paper's unimodal model the plain Keras way::

    Sequential: LSTM(256, return_sequences=True), Dropout(0.2), LSTM(256),
                Dropout(0.2), Dense(1, tanh); Adam(1e-4), MSE, batch 256

then runs ``model.fit`` for ``1 + repeats`` epochs (the first is a warm-up:
graph tracing) with the validation windows, and prints one JSON line with the
wall time of each epoch (training pass + validation loss), measured by a
callback.

Usage::

    /work/tfvenv/bin/python benchmarks/keras_reference.py windows.npz --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("windows", help=".npz with train_x, train_y, val_x, val_y")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs after the warm-up")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.keras.utils.set_random_seed(args.seed)

    data = np.load(args.windows)
    train_x = np.asarray(data["train_x"], dtype=np.float32)
    train_y = np.asarray(data["train_y"], dtype=np.float32)
    val_x = np.asarray(data["val_x"], dtype=np.float32)
    val_y = np.asarray(data["val_y"], dtype=np.float32)
    history, n_features = train_x.shape[1], train_x.shape[2]

    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(history, n_features)),
            tf.keras.layers.LSTM(256, return_sequences=True),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.LSTM(256),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.Dense(1, activation="tanh"),
        ]
    )
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1e-4), loss="mse")

    class EpochTimer(tf.keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(time.perf_counter() - self._start)

    timer = EpochTimer()
    model.fit(
        train_x,
        train_y,
        batch_size=256,
        epochs=1 + args.repeats,
        shuffle=True,
        validation_data=(val_x, val_y),
        verbose=0,
        callbacks=[timer],
    )
    json.dump(
        {
            "tensorflow": tf.__version__,
            "threads": args.threads,
            "n_windows": int(train_x.shape[0]),
            "n_features": int(n_features),
            "warmup_s": timer.seconds[0],
            "epoch_s": timer.seconds[1:],
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
