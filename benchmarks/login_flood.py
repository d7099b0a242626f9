"""Memory and responsiveness of the study server under a flood of bad logins.

Starts ``muvi study serve`` on 127.0.0.1 in a child process, makes one bad
login (so that the baseline includes one argon2 check), then sends N bad
logins at the same moment, each for its own unknown name and, through the
trusted local proxy header ``X-Forwarded-For``, from its own address (so that
the login throttle does not stop them and only the bound on concurrent
password checks limits the memory). Prints the server's resident memory
before, its peak (``VmHWM`` from /proc), the answers, and how long another
page took to answer during the flood.

Usage::

    python benchmarks/login_flood.py [--logins 40]

Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from muvi.study.localserver import StudyServerProcess

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def bad_login(url: str, i: int, answers: list[int]) -> None:
    """One bad login for the unknown name ``ghost{i}`` from address 198.51.100.i."""
    with httpx.Client(base_url=url, timeout=300) as http:
        csrf = CSRF_FIELD.search(http.get("/runner/login").text)
        assert csrf is not None
        reply = http.post(
            "/runner/login",
            data={"username": f"ghost{i}", "password": "guess", "csrf_token": csrf.group(1)},
            headers={"X-Forwarded-For": f"198.51.100.{i % 250 + 1}"},
        )
        answers.append(reply.status_code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=40, help="concurrent bad logins")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="muvi-flood-") as tmp:
        media = Path(tmp) / "media"
        media.mkdir()
        with StudyServerProcess(Path(tmp) / "study.db", media) as server:
            assert server.process is not None
            pid = server.process.pid
            warm: list[int] = []
            bad_login(server.url, 10_000, warm)
            rss_before, peak_before = memory_mib(pid)
            answers: list[int] = []
            threads = [
                threading.Thread(target=bad_login, args=(server.url, i, answers))
                for i in range(args.logins)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            time.sleep(0.2)
            probe = time.perf_counter()
            httpx.get(server.url + "/runner/login", timeout=300).raise_for_status()
            probe_s = time.perf_counter() - probe
            for thread in threads:
                thread.join()
            flood_s = time.perf_counter() - started
            rss_after, peak_after = memory_mib(pid)
    print(f"concurrent bad logins: {args.logins}")
    print(f"answers: {dict(sorted(Counter(answers).items()))}")
    print(f"server RSS before: {rss_before:.0f} MiB (peak so far {peak_before:.0f} MiB)")
    print(
        f"server peak during the flood: {peak_after:.0f} MiB (+{peak_after - peak_before:.0f} MiB)"
    )
    print(f"server RSS after: {rss_after:.0f} MiB")
    print(f"another page during the flood: {probe_s:.2f} s; the flood took {flood_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
