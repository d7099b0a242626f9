"""Time ``muvi analyze`` with and without the analyses beyond the paper.

Usage:
    .venv/bin/python benchmarks/beyond.py [--data ../shared/muvi] [--repeats 1]

Runs :func:`muvi.workflows.analyze_dataset` on the study folder (default: the
real public MuVi files beside the checkout) three ways: without the new
steps (``--no-beyond``), with them (the CLI default: 1000 permutations,
personalised models with field importance), and with them but without the
personalised step (``--no-personalised``). Each run writes figures, as the
CLI does. Printed: wall and CPU seconds per run, the time of each stage of
the full run, the 1-minute load average before and after (the machine may be
shared), and the CPU model and core count.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    from muvi.analysis.beyond import BeyondConfig
    from muvi.data.loaders import load_dataset
    from muvi.workflows import analyze_dataset

    default = Path(__file__).resolve().parents[2] / "shared" / "muvi"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {_cpu()}, {os.cpu_count()} logical CPUs visible")
    print(f"study: {args.data}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    runs = {
        "--no-beyond": None,
        "--beyond (default)": BeyondConfig(),
        "--beyond --no-personalised": BeyondConfig(run_personalised=False),
    }
    stages: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in runs.items():
            for repeat in range(args.repeats):
                last = [time.perf_counter(), "loading the study"]
                record = name == "--beyond (default)" and repeat == 0

                def step(stage: str, last: list = last, record: bool = record) -> None:
                    now = time.perf_counter()
                    if record:
                        stages[str(last[1])] = now - float(last[0])
                    last[0], last[1] = now, stage

                wall, cpu = time.perf_counter(), time.process_time()
                dataset = load_dataset(args.data, features=config is not None)
                step("quality filter")
                analyze_dataset(dataset, Path(tmp) / "out", beyond=config, step=step)
                step("done")
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(f"{name:<28} wall {wall:6.1f} s   CPU {cpu:6.1f} s")
    print("stages of the full run (wall s):")
    for stage, seconds in stages.items():
        print(f"  {stage:<48} {seconds:6.1f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
