"""Fixtures of the study web application tests: generated media, a throwaway
PostgreSQL server, and a study made through the Python API."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from studyhelpers import Setup, make_setup

from muvi.study.localserver import free_port

MEDIA_COLOURS = {"red": (220, 40, 40), "green": (40, 200, 80), "blue": (40, 80, 220)}


def make_media(path: Path, seconds: float, colour: tuple[int, int, int], tone_hz: float) -> Path:
    """A WebM file (VP8 + Opus) of ``seconds`` of one colour, with a bar that
    moves across it, and a sine tone: small media that Chromium plays."""
    import av

    fps = 10
    with av.open(str(path), "w", format="webm") as container:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = container.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            image = np.empty((120, 160, 3), np.uint8)
            image[:] = colour
            x = int(i / (seconds * fps) * 150)
            image[:, x : x + 10] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        rate, chunk = 48000, 960
        t = np.arange(int(seconds * rate)) / rate
        wave = (0.2 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
        for start in range(0, len(wave) - chunk + 1, chunk):
            frame = av.AudioFrame.from_ndarray(
                wave[None, start : start + chunk], format="flt", layout="mono"
            )
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def study_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A media folder with three generated 5 s clips: red.webm, green.webm, blue.webm."""
    folder = tmp_path_factory.mktemp("study_media")
    for (name, colour), tone in zip(MEDIA_COLOURS.items(), (330.0, 440.0, 550.0), strict=True):
        make_media(folder / f"{name}.webm", 5.0, colour, tone)
    return folder


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[int]:
    """A throwaway PostgreSQL server on 127.0.0.1 (its port), started for this
    test run and stopped (and deleted) after it."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="muvi-pg-"))
    if os.geteuid() == 0:  # postgres refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        subprocess.run(
            [
                *as_user,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield port
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
            )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: int, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the throwaway PostgreSQL server."""
    import psycopg

    name = "muvi_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    dsn = f"host=127.0.0.1 port={postgres_server} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{postgres_server}/{name}"


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    """A study application on a fresh SQLite database (see :func:`studyhelpers.make_setup`)."""
    return make_setup(tmp_path)
