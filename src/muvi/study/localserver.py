"""Run the study server in a child process on 127.0.0.1 (used by the load
benchmark and the tests, which need to kill it with SIGKILL and restart it).

Examples:
    >>> port = free_port()
    >>> 1024 < port < 65536
    True
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StudyServerProcess:
    """``muvi study serve`` in a child process.

    Args:
        db: database path or URL.
        media_dir: the media folder.
        port: the port (a free one by default).
        log: file that receives the server's output.

    Examples:
        ``with StudyServerProcess("study.db", "media") as server: httpx.get(server.url + "/runner/login")``
    """

    def __init__(
        self,
        db: str | Path,
        media_dir: str | Path,
        port: int | None = None,
        log: Path | None = None,
    ) -> None:
        self.db = str(db)
        self.media_dir = str(media_dir)
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and wait until it answers."""
        command = [sys.executable, "-m", "muvi.cli", "study", "serve", "--db", self.db,
                   "--media", self.media_dir, "--port", str(self.port)]  # fmt: skip
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the study server exited with status {self.process.returncode}")
            try:
                if httpx.get(self.url + "/runner/login", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the study server did not answer within {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL the server (a crash: no shutdown handlers run)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop the server politely, or kill it after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> StudyServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
