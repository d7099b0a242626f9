"""Time of one sign-up's assignment at the paper's design (81 items, 3
conditions, 30 items per participant, 2 practice items) as the study fills.

Enrols ``--participants`` participants one after the other in a fresh SQLite
study through :func:`muvi.study.service.enrol_participant` (which reads the
kept trials to refill cells left by drop-outs, then takes the next positions
of the balanced sequence) and prints the median time of the first ten and of
the last ten sign-ups, and the largest.

Usage::

    python benchmarks/study_enrolment.py [--participants 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from muvi.study.db import open_database
from muvi.study.service import MediaSpec, Profile, StudyConfig, create_study, enrol_participant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp, "media")
        media.mkdir()
        (media / "clip.webm").write_bytes(b"not decoded here")
        engine, sessions = open_database(Path(tmp, "study.db"))
        with sessions() as session:
            study = create_study(
                session,
                StudyConfig(
                    "enrolment benchmark",
                    [MediaSpec(f"v{i}", "clip.webm") for i in range(81)],
                    items_per_participant=30,
                    practice=[MediaSpec("p1", "clip.webm"), MediaSpec("p2", "clip.webm")],
                ),
                media,
            )
            profile = Profile(30, "Male", "SG", "SG", "EN", "Pop", 1)
            times = []
            for _ in range(args.participants):
                start = time.perf_counter()
                enrol_participant(session, study, profile)
                times.append(time.perf_counter() - start)
        engine.dispose()
    ms = [1000 * t for t in times]
    print(
        f"{args.participants} sign-ups: first ten median {statistics.median(ms[:10]):.1f} ms, "
        f"last ten median {statistics.median(ms[-10:]):.1f} ms, largest {max(ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
