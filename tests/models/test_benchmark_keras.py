"""benchmarks/train_grid.py's Keras hand-off: the exported windows are exactly the
toolkit's windows (one materialised copy per window), and TensorFlow stays optional."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from muvi.models.training import WindowData
from muvi.models.windows import window_positions


@pytest.fixture(scope="module")
def train_grid(load_benchmark):
    return load_benchmark("train_grid")


def _data(n_items: int, seed: int) -> WindowData:
    g = torch.Generator().manual_seed(seed)
    rows = torch.rand(n_items * 7, 3, generator=g)
    positions = torch.from_numpy(window_positions(n_items, 7, 4))
    return WindowData({"main": rows}, positions, torch.arange(len(positions), dtype=torch.float32))


def test_exported_windows_are_the_rows_of_each_window(train_grid, tmp_path):
    train, val = _data(2, 0), _data(1, 1)
    path = train_grid.export_windows(train, val, tmp_path / "w.npz")
    saved = np.load(path)
    assert saved["train_x"].shape == (2 * 3, 4, 3)  # 7 samples - 4 history = 3 windows/item
    assert saved["train_x"].dtype == np.float32
    rows = train.rows["main"].numpy()
    # by hand: item 1's first window predicts its sample 4 from its rows 0..3 (7..10 overall)
    np.testing.assert_array_equal(saved["train_x"][3], rows[7:11])
    np.testing.assert_array_equal(saved["train_y"], np.arange(6, dtype=np.float32))
    np.testing.assert_array_equal(saved["val_x"][2], val.rows["main"].numpy()[2:6])


def test_keras_is_optional_and_a_missing_interpreter_is_a_clear_error(train_grid, tmp_path):
    with pytest.raises(RuntimeError, match="no such interpreter"):
        train_grid.keras_epoch(tmp_path / "nopython", _data(1, 0), _data(1, 1), 1, 1)


def test_the_keras_script_loads_and_explains_itself_without_tensorflow(
    load_benchmark, monkeypatch, capsys
):
    # TensorFlow made unimportable (None in sys.modules): the script still loads and
    # answers --help, so it is TensorFlow, not the script, that decides where it can run
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    module = load_benchmark("keras_reference")
    monkeypatch.setattr(sys, "argv", ["keras_reference.py", "--help"])
    with pytest.raises(SystemExit) as exited:
        module.main()
    assert exited.value.code == 0
    assert "windows" in capsys.readouterr().out
