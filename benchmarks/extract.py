"""Time feature extraction per family on a generated 60 s 720p music video.

Usage:
    .venv/bin/python benchmarks/extract.py [--clip PATH] [--families all] [--threads 2]

The clip (1280x720, 25 fps H.264, 44.1 kHz AAC; moving shapes over a colour
gradient with a hard cut every 6 s; a chord with a beat) is generated once
into a temporary folder unless ``--clip`` names one. The visual families that
need pretrained weights run with the small test models of
:func:`muvi.testing.build_test_weights` standing in for the real
ones (same code path, smaller networks), so their times are lower bounds of
the real models' times.

The small test models are the real architectures at reduced width (faces:
VGG19-FER at width 1/8; scenes: a bottleneck ResNet with one block per stage
and width_per_group 8; objects: the full-size SSDlite320 MobileNetV3 with
random weights; actions: I3D at width 1/16), exactly as the tests build them;
the inputs (sizes, normalisation, clip sampling) are the real models'.

Threads: torch runs ``--threads`` intra-op threads (default 2). OpenMP's
default is to spin-wait between parallel regions, which on a machine shared
with other busy processes makes 2-thread convolutions up to ~10x slower
(measured: SSDlite backbone 50 s vs 6 s per 120 frames); the benchmark sets
``OMP_WAIT_POLICY=PASSIVE`` (unless the environment sets it) before torch is
imported, and prints it. Set the same in the environment of ``muvi extract``
on shared machines.

Printed: seconds per step (decoding the audio, decoding the 120 frames of the
500 ms grid, each extractor), the end-to-end time of ``extract_video`` for
audio+colour+lighting (target: under 5 s) and for every family, and the
real-time factor (processing seconds per second of media; below 1 is faster
than real time).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

DURATION_S = 60.0
WIDTH, HEIGHT, FPS, AUDIO_RATE = 1280, 720, 25, 44100


def make_clip(path: Path, seconds: float = DURATION_S) -> Path:
    """Write the benchmark clip (a generated, not a real, music video)."""
    import av

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    n_shots = int(np.ceil(seconds / 6))
    shot_colours = rng.integers(0, 256, (n_shots, 3)).astype(np.uint8)
    backgrounds = []
    for shot in range(n_shots):
        image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
        image[..., 0] = (xx * 255 // WIDTH + shot * 40) % 256
        image[..., 1] = (yy * 255 // HEIGHT + shot * 70) % 256
        image[..., 2] = shot_colours[shot, 2]
        backgrounds.append(image)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "23"}
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "stereo"
        for i in range(round(seconds * FPS)):
            t = i / FPS
            shot = int(t // 6)
            frame = backgrounds[shot].copy()
            cx = int((WIDTH - 200) * (0.5 + 0.5 * np.sin(t)))
            cy = int((HEIGHT - 200) * (0.5 + 0.5 * np.cos(1.3 * t)))
            frame[cy : cy + 200, cx : cx + 200] = shot_colours[shot]
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = i
            for packet in video.encode(vf):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        n = round(seconds * AUDIO_RATE)
        tt = np.arange(n) / AUDIO_RATE
        chord = sum(np.sin(2 * np.pi * f * tt) for f in (220.0, 277.2, 329.6)) / 3
        beat = (np.sin(2 * np.pi * 2 * tt) > 0.9) * rng.normal(0, 0.3, n)
        signal = (0.4 * chord * (0.6 + 0.4 * np.sin(2 * np.pi * tt / 15)) + beat).astype(np.float32)
        stereo = np.stack([signal, signal])
        for start in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(stereo[:, start : start + 1024]),
                format="fltp",
                layout="stereo",
            )
            af.sample_rate, af.pts = AUDIO_RATE, start
            for packet in audio.encode(af):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


def _timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """(result, wall seconds, CPU seconds of this process, all threads)."""
    tic, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - tic, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clip", type=Path, help="an existing clip to time instead of generating one"
    )
    parser.add_argument("--families", default="all", help="extractors to time (default all)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args()

    # before torch (and its OpenMP runtime) is loaded: see the module docstring
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    from muvi.features import extract_video
    from muvi.features.excerpt import load_excerpt
    from muvi.features.registry import CHEAP_FEATURES, resolve
    from muvi.testing import build_test_weights

    work = Path(tempfile.mkdtemp(prefix="muvi-bench-"))
    clip = args.clip
    if clip is None:
        clip, seconds, _ = _timed(make_clip, work / "clip_720p_60s.mp4")
        print(f"generated {clip} ({clip.stat().st_size / 1e6:.1f} MB) in {seconds:.1f} s")
    weights = work / "weights"
    extractors = resolve(args.families)
    neural = [e.family for e in extractors if e.needs_weights]
    if neural:
        build_test_weights(weights, neural)

    print(
        f"cores visible: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
        "load average (1/5/15 min): " + " ".join(f"{v:.1f}" for v in os.getloadavg())
    )
    if neural:
        print(
            "neural families run SMALL TEST MODELS (random weights, reduced width of the same "
            "architectures: VGG19-FER x1/8, ResNet 1-1-1-1 width 8, SSDlite320 full size, "
            "I3D x1/16); the real models' inputs, preprocessing and code paths"
        )
    rows: list[tuple[str, float, float]] = []
    audio_media, wall, cpu = _timed(load_excerpt, clip, start=0.0, kinds=["audio"])
    rows.append(("decode audio (60 s, to 16 kHz mono)", wall, cpu))
    frame_media, wall, cpu = _timed(
        load_excerpt, clip, start=0.0, kinds=["frames"], weights_dir=weights
    )
    rows.append((f"decode frames ({frame_media.n_samples} at the 500 ms grid)", wall, cpu))
    frame_media.audio, frame_media.sr = audio_media.audio, audio_media.sr
    for extractor in extractors:
        # the first call loads models / openSMILE (once per process): not timed
        _timed(extractor.extract, frame_media)
        _, wall, cpu = _timed(extractor.extract, frame_media)
        label = f"{extractor.name}" + (" (small test model)" if extractor.needs_weights else "")
        rows.append((label, wall, cpu))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'step':<{width}}  wall s   CPU s  real-time factor (wall)")
    for label, wall, cpu in rows:
        print(f"{label:<{width}}  {wall:6.2f}  {cpu:6.2f}  {wall / DURATION_S:8.3f}")

    cheap = ",".join(CHEAP_FEATURES)
    _, wall, cpu = _timed(extract_video, clip, features=cheap)
    print(
        f"\nextract_video({cheap}), music start found in the audio: {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU (target < 5 s), real-time factor {wall / DURATION_S:.3f}"
    )
    print("load average (1/5/15 min): " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    if neural:
        _, wall, cpu = _timed(extract_video, clip, features=args.families, weights_dir=weights)
        print(
            f"extract_video({args.families}, small test models): {wall:.2f} s wall, {cpu:.2f} s CPU, "
            f"real-time factor {wall / DURATION_S:.3f} "
            f"({'faster' if wall < DURATION_S else 'slower'} than real time)"
        )


if __name__ == "__main__":
    main()
