"""The load test, bounded for the suite: 50 simulated participants post
samples at 2 Hz for about 30 s on 127.0.0.1; the server is killed with
SIGKILL a third of the way through and restarted. Nothing acknowledged may be
lost, and with the clients' resending nothing logged is lost either.
``benchmarks/study_load.py`` runs the same code for the full 5 minutes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "study_load.py"


def _load_benchmark():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("study_load", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_fifty_participants_and_a_kill_9_lose_nothing_acknowledged(tmp_path: Path) -> None:
    bench = _load_benchmark()
    report = bench.run_load(tmp_path, participants=50, duration_s=30.0, kill_at_s=10.0, down_s=1.0)
    print("\n".join(report.lines()))
    assert report.kills == 1
    assert report.requests_failed > 0  # the crash was felt by the clients
    expected = 50 * int(30.0 / 0.5)
    assert report.samples_logged == expected
    assert report.acked_but_lost == 0
    assert report.logged_never_stored == 0
    assert report.samples_acked == report.samples_stored == expected
