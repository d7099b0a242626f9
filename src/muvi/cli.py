"""The ``muvi`` command line: a thin layer over the Python API.

Each command parses its arguments and calls one API function. Errors in the
user's input (:class:`muvi.errors.MuviError`) are printed as one sentence and
the command exits with status 2, never with a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from muvi.errors import MuviError

app = typer.Typer(
    name="muvi",
    help="MuVi: study and predict the emotion that music videos convey.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _quiet_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spinning (set before torch loads): on a
    machine shared with other jobs, spinning threads made 2-thread inference up to ten
    times slower in benchmarks/extract.py."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# --- data commands (simulate, download) -------------------------------------


@app.command()
def simulate(
    out: str = typer.Option(..., "--out", help="Folder to write the simulated study to."),
    seed: int = typer.Option(0, "--seed", help="Seed (>= 0); the same seed gives the same files."),
    items: int = typer.Option(81, "--items", help="Media items (81 in the study)."),
    participants: int = typer.Option(49, "--participants", help="Participants (49 in the study)."),
) -> None:
    """Write a SIMULATED study in the published MuVi formats (demo and test data)."""
    from muvi.data.simulator import simulate as simulate_study

    for option, value, least in (
        ("--seed", seed, 0),
        ("--items", items, 1),
        ("--participants", participants, 2),
    ):
        if value < least:
            raise MuviError(f"{option} must be at least {least}, got {value}")
    summary = simulate_study(
        _path(out), seed=seed, n_items=items, n_participants=participants, progress=True
    )
    typer.echo(str(summary))


@app.command()
def download(
    out: str = typer.Option(..., "--out", help="Folder that receives the release."),
    what: str = typer.Option(
        "annotations,emobase",
        "--what",
        help="Comma-separated parts: annotations, emobase (GitHub), features, media (Zenodo), or all.",
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Raw files of the GitHub repository (default: the pinned commit)."
    ),
    zenodo_url: str | None = typer.Option(
        None,
        "--zenodo-url",
        help="The Zenodo records API (default: https://zenodo.org/api/records).",
    ),
) -> None:
    """Fetch the public MuVi release, with progress, resume and checksums."""
    from muvi.data import download as release

    with release.progress_display(console) as progress:
        report = release.download_release(
            _path(out),
            what=what,
            base_url=base_url or release.GITHUB_RAW_URL,
            zenodo_url=zenodo_url or release.ZENODO_RECORDS_URL,
            progress=progress,
        )
    console.print(
        f"{len(report.downloaded)} downloaded, {len(report.resumed)} resumed, "
        f"{len(report.skipped)} already complete; manifest: {report.manifest}",
        highlight=False,
    )
    if report.unverified:
        console.print(
            f"no published checksum for {', '.join(report.unverified)}: "
            "its sha256 is recorded in the manifest",
            highlight=False,
        )


# --- analysis commands (analyze, demo) --------------------------------------


@app.command()
def analyze(
    data: str = typer.Option(
        ..., "--data", help="Study folder in the published layout (e.g. the public MuVi files)."
    ),
    out: str = typer.Option(..., "--out", help="Folder for tables, figures, summary and report."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Draw the PNG figures."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Run every analysis of the study (SPEC 5) and write tables, figures,
    summary.json and report.html; dynamic analyses run when av_data.csv exists."""
    from muvi.analysis import run_analysis

    out_dir = _path(out)
    summary = run_analysis(_path(data), out_dir, progress=not quiet, figures=figures)
    kinds = "static and dynamic" if "dynamic" in summary else "static"
    console.print(f"{kinds} analyses written to {out_dir} (report: {out_dir / 'report.html'})")


@app.command("demo")
def demo_command(
    out: str = typer.Option("demo", "--out", help="Folder for the simulated study and results."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulated study."),
    items: int = typer.Option(
        40, "--items", min=12, help="Simulated media items (real study: 81)."
    ),
    participants: int = typer.Option(
        30, "--participants", min=4, help="Simulated annotators (real study: 49)."
    ),
    epochs: int = typer.Option(15, "--epochs", min=1, help="Most epochs per network (paper: 100)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """The whole pipeline on a SIMULATED study: simulate, analyse, cross-validate every
    model, and write one HTML report (OUT/report.html)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from muvi.demo import DemoConfig, run_demo
    from muvi.models.protocol import EvaluationConfig, count_fits

    config = DemoConfig(seed=seed, n_items=items, n_participants=participants, epochs=epochs)
    fits = count_fits(EvaluationConfig(experiments=config.experiments, models=config.models))
    with Progress(
        TextColumn("[bold]demo[/]"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        task = progress.add_task("starting", total=3 + fits)

        def step(name: str) -> None:
            if not name.startswith("cross"):
                progress.update(task, advance=1 if name != "simulating a study" else 0)
            progress.update(task, description=name)

        def fitted(what: str) -> None:
            progress.update(task, advance=1, description=f"cross-validating: {what}")

        paths = run_demo(_path(out), config, step, fitted)
    console.print(
        f"SIMULATED demo written: report {paths.report}; data {paths.study}; "
        f"analysis {paths.analysis}; models {paths.evaluation}",
        highlight=False,
    )


# --- model commands (evaluate, train) ---------------------------------------


def _model_config(
    experiments: str,
    models: str,
    dimensions: str,
    epochs: int,
    device: str,
    block: str,
    threads: int = 2,
    workers: int = 1,
    precision: str = "float32",
    batched: bool = True,
    scheduler: str | None = None,
):  # -> EvaluationConfig (imported lazily: torch is heavy)
    from muvi.models.architectures import block_config
    from muvi.models.precision import resolve_precision
    from muvi.models.protocol import EvaluationConfig
    from muvi.models.training import TrainingConfig, resolve_device

    def split(text: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in text.split(",") if p.strip())

    try:
        numbers = tuple(int(p) for p in split(experiments))
    except ValueError as err:
        raise MuviError(
            f"--experiments takes numbers 1 to 7 separated by commas, not {experiments!r}"
        ) from err
    shape = block_config(block)
    where = resolve_device(device)  # unknown device, or cuda without a GPU: one clear line
    _, chosen = resolve_precision(precision, where)
    if precision != "float32" and not batched:
        raise MuviError("--precision bfloat16/auto needs batched training (drop --one-at-a-time)")
    if precision == "auto" and chosen.startswith("bfloat16"):
        chosen += "; the audio LSTM (experiments 1, 3) stays float32: bfloat16 moved its results"
    console.print(f"training on {where}, matrix products in {chosen}", highlight=False)
    return EvaluationConfig(
        experiments=numbers,
        models=split(models),
        dimensions=split(dimensions),
        block=shape,
        training=TrainingConfig(
            max_epochs=epochs,
            device=device,
            threads=threads,
            precision=precision,
            batched=batched,
        ),
        workers=workers,
        scheduler=scheduler or None,
    )


_DEVICE_HELP = "auto (a CUDA GPU when torch sees one, else the CPU), cpu or cuda."
_PRECISION_HELP = (
    "Matrix products in float32 (default), bfloat16 (float32 weights, optimiser, loss), "
    "or auto (bfloat16 only where the hardware multiplies it natively: AMX or "
    "AVX-512-BF16 CPUs, GPUs with bfloat16 tensor cores)."
)
_BATCHED_HELP = (
    "Train the networks of one shape together as one stacked model (default; same "
    "results network for network) or one at a time."
)


_EXPERIMENTS_HELP = (
    "Experiments, e.g. 1,2,7: 1 music<-audio, 2 visual<-visual, 3 audiovisual<-audio, "
    "4 audiovisual<-visual, 5 A1 early fusion, 6 A2 late fusion, 7 PAIR."
)


@app.command("evaluate")
def evaluate_command(
    data: str = typer.Option(..., "--data", help="Study folder with av_data.csv and features."),
    out: str = typer.Option(..., "--out", help="Folder for results.json, CSV tables and figures."),
    experiments: str = typer.Option("1,2,3,4,5,6,7", "--experiments", help=_EXPERIMENTS_HELP),
    models: str = typer.Option(
        "lasso,lstm",
        "--models",
        help="lasso (experiments 1-5) and/or lstm (each experiment's network).",
    ),
    dimensions: str = typer.Option(
        "valence,arousal", "--dimensions", help="valence and/or arousal."
    ),
    epochs: int = typer.Option(
        100, "--epochs", min=1, help="Most epochs per network (paper: 100)."
    ),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    precision: str = typer.Option("float32", "--precision", help=_PRECISION_HELP),
    batched: bool = typer.Option(True, "--batched/--one-at-a-time", help=_BATCHED_HELP),
    block: str = typer.Option(
        "paper", "--block", help="LSTM block: paper or reference (code variant)."
    ),
    items_for_figures: str = typer.Option(
        "", "--items-for-figures", help="Test items to plot, comma separated (default: two)."
    ),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads for torch."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Processes running (fold, dimension) jobs at once; the threads are shared out.",
    ),
    scheduler: str = typer.Option(
        "",
        "--scheduler",
        help="Address of a Dask scheduler (tcp://host:8786): the training jobs run there "
        "as tasks, with the results of a local run.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Cross-validate the study's models (5 outer folds) and write results.json,
    per_item.csv, ttests.csv, importance tables and figures."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from muvi.models.protocol import count_fits
    from muvi.report.models import evaluate_study

    config = _model_config(
        experiments,
        models,
        dimensions,
        epochs,
        device,
        block,
        threads,
        workers,
        precision,
        batched,
        scheduler,
    )
    figure_items = [p.strip() for p in items_for_figures.split(",") if p.strip()]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        task = progress.add_task("training", total=count_fits(config))

        def advance(what: str) -> None:
            progress.update(task, advance=1, description=what)

        results, paths = evaluate_study(_path(data), _path(out), config, figure_items, advance)
    summary = results.summary()
    for row in summary.itertuples():
        console.print(
            f"{row.name:<20} {row.dimension:<8} CCC {row.ccc_mean:6.3f} ± {row.ccc_std:5.3f}  "
            f"RMSE {row.rmse_mean:5.3f} ± {row.rmse_std:5.3f}  (n={row.n_items})",
            highlight=False,
        )
    if results.simulated:
        console.print("[bold yellow]these results come from a SIMULATED study[/]")
    console.print(f"wrote {paths['results']} and tables/figures in {_path(out)}")


@app.command("train")
def train_command(
    data: str = typer.Option(..., "--data", help="Study folder with av_data.csv and features."),
    out: str = typer.Option(..., "--out", help="Folder that receives one bundle per model."),
    experiments: str = typer.Option("1,2,3,4,5,6,7", "--experiments", help=_EXPERIMENTS_HELP),
    models: str = typer.Option("lstm", "--models", help="lstm and/or lasso (experiments 1-5)."),
    dimensions: str = typer.Option(
        "valence,arousal", "--dimensions", help="valence and/or arousal."
    ),
    epochs: int = typer.Option(
        100, "--epochs", min=1, help="Most epochs per network (paper: 100)."
    ),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    precision: str = typer.Option("float32", "--precision", help=_PRECISION_HELP),
    block: str = typer.Option(
        "paper", "--block", help="LSTM block: paper or reference (code variant)."
    ),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads for torch."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Fit the chosen models on all items and save bundles named like
    music_arousal_lstm/ or audiovisual_valence_late_fusion/ (for `muvi predict`)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from muvi.models.protocol import train_study

    config = _model_config(
        experiments, models, dimensions, epochs, device, block, threads, precision=precision
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        task = progress.add_task("training", total=len(config.runs()) * len(config.dimensions))

        def advance(what: str) -> None:
            progress.update(task, advance=1, description=f"saved {what}")

        folders = train_study(_path(data), _path(out), config, advance)
    for folder in folders:
        console.print(f"wrote {folder}")


# --- feature commands (extract, weights, predict) ---------------------------


@app.command("extract")
def extract_command(
    inputs: list[str] = typer.Argument(..., help="Video files and/or folders of videos."),
    out: str = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    features: str = typer.Option(
        "all",
        "--features",
        "-f",
        help="Comma-separated extractors: audio, colour, lighting, faces, scenes, objects, "
        "actions; 'all' (default) or 'cheap' (audio,colour,lighting: no weights needed).",
    ),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (tcp://host:8786): run on that cluster."
    ),
    start: float | None = typer.Option(
        None,
        "--start",
        min=0,
        help="Excerpt start (s) for every video; default: found in the audio.",
    ),
    starts: str | None = typer.Option(
        None, "--starts", help="CSV with columns media_id,start giving each video's excerpt start."
    ),
    weights_dir: str | None = typer.Option(
        None,
        "--weights-dir",
        help="Pretrained weights folder (default $MUVI_WEIGHTS or ~/.cache/muvi/weights).",
    ),
) -> None:
    """Extract the study's features from videos into a folder the loaders read
    (emobase_features/, combined_visual_features.csv), resuming from the cache."""
    _quiet_openmp()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from muvi.features.batch import extract_batch, find_videos, read_starts
    from muvi.features.registry import resolve

    resolve(features)  # an unknown name fails here, before the progress bar
    jobs = find_videos([_path(p) for p in inputs])
    per_video = read_starts(_path(starts)) if starts else {}
    if start is not None:
        per_video = {job.media_id: per_video.get(job.media_id, start) for job in jobs}
    with Progress(
        TextColumn("[bold]extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("", total=len(jobs))

        def advance(outcome: object) -> None:
            bar.update(task, advance=1, description=f"{outcome.media_id} {outcome.status}")  # type: ignore[attr-defined]

        report = extract_batch(
            [job.path for job in jobs],
            _path(out),
            features=features,
            workers=workers,
            scheduler=scheduler,
            starts=per_video,
            weights_dir=_path(weights_dir) if weights_dir else None,
            progress=advance,
        )
    console.print(report.summary())
    for failed in report.failed:
        console.print(f"[red]failed[/] {failed.media_id}: {failed.error}", highlight=False)
    if report.emobase_dir is not None:
        console.print(f"audio features: {report.emobase_dir}")
    if report.visual_file is not None:
        console.print(f"visual features: {report.visual_file}")
    console.print(f"error report: {report.errors_file}")
    if report.failed:
        sys.exit(1)  # some videos failed: scripts can tell (the others are written)


@app.command("predict")
def predict_command(
    video: str = typer.Argument(..., help="The music video (or audio) file."),
    model: str = typer.Option(
        ..., "--model", "-m", help="A bundle folder from `muvi train`, or a folder of bundles."
    ),
    out: str = typer.Option(..., "--out", "-o", help="Output folder for curves.csv/.json/.png."),
    start: float | None = typer.Option(
        None, "--start", min=0, help="Where the music starts (s); default: found in the audio."
    ),
    weights_dir: str | None = typer.Option(
        None, "--weights-dir", help="Pretrained weights folder for the visual extractors."
    ),
) -> None:
    """Valence/arousal curves at 2 Hz for a new video, per modality, from trained bundles."""
    _quiet_openmp()
    from muvi.predict import predict_video

    with console.status("extracting features and predicting"):
        curves = predict_video(
            _path(video),
            _path(model),
            start=start,
            out_dir=_path(out),
            weights_dir=_path(weights_dir) if weights_dir else None,
        )
    columns = [c for c in curves.columns if c not in ("sample", "time")]
    console.print(f"{len(curves)} samples at 2 Hz: {', '.join(columns)}")
    for name in ("curves.csv", "curves.json", "curves.png"):
        console.print(f"wrote {_path(out) / name}")


weights_app = typer.Typer(
    help="Pretrained weights of the visual extractors: list, fetch, path. "
    "Nothing is ever downloaded implicitly.",
    no_args_is_help=True,
)
app.add_typer(weights_app, name="weights")

_WEIGHTS_DIR_HELP = "Weights folder (default $MUVI_WEIGHTS or ~/.cache/muvi/weights)."


@weights_app.command("list")
def weights_list(
    weights_dir: str | None = typer.Option(None, "--weights-dir", help=_WEIGHTS_DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every known weights file: family, licence, state (present/unverified/missing/corrupt), path."""
    import json

    from rich.markup import escape
    from rich.table import Table

    from muvi.features.weights import list_weights, resolve_weights_dir, spec_as_dict

    folder = _path(weights_dir) if weights_dir else None
    rows = list_weights(folder)
    if as_json:
        payload = [
            {
                **spec_as_dict(s.spec),
                "state": s.state,
                "path": str(s.path),
                "sha256_found": s.sha256,
            }
            for s in rows
        ]
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"weights in {resolve_weights_dir(folder)}")
    for column in ("name", "family", "licence", "state", "path"):
        table.add_column(column, overflow="fold")
    colours = {"present": "green", "unverified": "yellow", "missing": "red", "corrupt": "bold red"}
    for s in rows:
        state = f"[{colours[s.state]}]{s.state}[/]" + (" (test model)" if s.spec.test_model else "")
        table.add_row(
            escape(s.spec.name), s.spec.family, escape(s.spec.licence), state, escape(str(s.path))
        )
    Console(width=max(160, Console().width)).print(table)


@weights_app.command("fetch")
def weights_fetch(
    names: list[str] = typer.Argument(..., help="Weights names (see `muvi weights list`)."),
    weights_dir: str | None = typer.Option(None, "--weights-dir", help=_WEIGHTS_DIR_HELP),
    source: str | None = typer.Option(
        None, "--from", help="Install a file downloaded by hand instead of downloading (one NAME)."
    ),
    force: bool = typer.Option(False, "--force", help="Download again even if present."),
) -> None:
    """Download weights (checking sha256 where known) into the weights folder."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TransferSpeedColumn,
    )

    from muvi.errors import WeightsError
    from muvi.features.weights import fetch_weights

    if source is not None and len(names) != 1:
        raise WeightsError("--from installs one file: name exactly one weights NAME with it")
    folder = _path(weights_dir) if weights_dir else None
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    ) as bar:
        for name in names:
            task = bar.add_task(name, total=None)

            def show(done: int, total: int | None, task_id: TaskID = task) -> None:
                bar.update(task_id, completed=done, total=total)

            path = fetch_weights(
                name, folder, source=_path(source) if source else None, force=force, progress=show
            )
            bar.console.print(f"{name}: {path}", highlight=False)


@weights_app.command("path")
def weights_path_command(
    name: str = typer.Argument(..., help="A weights name (see `muvi weights list`)."),
    weights_dir: str | None = typer.Option(None, "--weights-dir", help=_WEIGHTS_DIR_HELP),
) -> None:
    """Print where a weights file lives (a note on stderr when it is not there yet)."""
    from muvi.features.weights import weights_status

    status = weights_status(name, _path(weights_dir) if weights_dir else None)
    typer.echo(str(status.path))
    if status.state in ("missing", "corrupt"):
        console.print(f"note: {name} is {status.state}", highlight=False)


# --- study commands (study serve, study export) -----------------------------

study_app = typer.Typer(
    help="Run a MuVi-style annotation study in the browser.", no_args_is_help=True
)
app.add_typer(study_app, name="study")

_DB_HELP = "SQLite file (default) or postgresql://user:password@host:port/name URL."


@study_app.command("serve")
def study_serve(
    db: str = typer.Option("muvi_study.db", "--db", help=_DB_HELP),
    media: str = typer.Option(..., "--media", help="Folder of the media files of the studies."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Serve the study web application (runner pages at /runner)."""
    import uvicorn

    from muvi.study.app import create_app

    application = create_app(db, _path(media))
    console.print(f"MuVi study server on http://{host}:{port}/runner (database {db})")
    uvicorn.run(application, host=host, port=port, log_level="warning")


@study_app.command("create-runner")
def study_create_runner(
    username: str = typer.Argument(..., help="The runner's login name."),
    db: str = typer.Option("muvi_study.db", "--db", help=_DB_HELP),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 8 characters (asked for when not given).",
    ),
) -> None:
    """Create a study runner account (passwords are stored as argon2 hashes)."""
    from muvi.study.db import open_database
    from muvi.study.service import create_runner

    _engine, sessions = open_database(db)
    with sessions() as session:
        runner = create_runner(session, username, password)
    console.print(f"runner {runner.username!r} created; log in at /runner/login")


@study_app.command("export")
def study_export(
    db: str = typer.Option("muvi_study.db", "--db", help=_DB_HELP),
    out: str = typer.Option(..., "--out", help="Folder to write the published files to."),
    study: int | None = typer.Option(
        None, "--study", help="Study id (when the database holds several)."
    ),
) -> None:
    """Export a study in the published MuVi formats (av_data.csv resampled to 2 Hz)."""
    from muvi.study.db import open_database
    from muvi.study.export import export_study

    _engine, sessions = open_database(db)
    with sessions() as session:
        summary = export_study(session, _path(out), study)
    console.print(
        f"exported study {summary.study!r} to {summary.folder}: {summary.participants} participants, "
        f"{summary.static_annotations} static and {summary.dynamic_annotations} dynamic annotations "
        f"({summary.raw_samples} raw samples, mean interval {summary.mean_interval_s:.3f} s)"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``muvi`` console script."""
    try:
        # Without standalone mode, click returns (rather than raises) a command's exit code.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except MuviError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except FileNotFoundError as err:
        console.print(f"[bold red]error:[/] file not found: {err.filename or err}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        console.print("aborted")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except SystemExit:
        raise
    except Exception as err:
        # Usage errors (bad option values, missing arguments): Typer vendors its own copy of
        # click in recent releases, so match on the interface rather than the class.
        code = getattr(err, "exit_code", None)
        show = getattr(err, "show", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
