"""The ``muvi`` command line: a thin layer over the Python API.

Each command parses its arguments and calls one API function. Errors in the
user's input (:class:`muvi.errors.MuviError`) are printed as one sentence and
the command exits with status 2, never with a traceback.

The library reports progress through a callback (:mod:`muvi.progress`) and
logs through :mod:`logging`; this module draws the progress bars
(:class:`muvi.display.ProgressBars`) and configures the handler that prints
the ``muvi`` loggers' records on stderr. Every command takes ``--quiet``
(warnings and errors only, no progress bars) and ``--verbose`` (debug
messages too); both may also be given before the command (``muvi --quiet
analyze ...``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer

from muvi import display
from muvi.errors import MuviError

app = typer.Typer(
    name="muvi",
    help="MuVi: study and predict the emotion that music videos convey.\n\n"
    "Every command takes --quiet (warnings and errors only, no progress bars) and "
    "--verbose (debug messages too), before or after its name. Notes, warnings, errors "
    "and progress bars go to stderr.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = display.console()
"""Every message goes to stderr with Rich markup off: study names, media ids and paths are
printed as written (a name like ``[/] x`` is text, not a tag). Style with
:func:`muvi.display.styled`, never with markup in a string."""


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _quiet_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spinning (set before torch loads): on a
    machine shared with other jobs, spinning threads made 2-thread inference up to ten
    times slower in benchmarks/extract.py."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass
class _Output:
    """How much the current command prints (set by ``--quiet`` / ``--verbose``)."""

    quiet: bool = False
    verbose: bool = False
    training_note: str = ""
    """The device and precision chosen for training, said once training starts."""


_output = _Output()
log = logging.getLogger(__name__)

_LEVEL_WORDS = {logging.DEBUG: "debug", logging.INFO: "note", logging.WARNING: "warning"}


class _ConsoleHandler(logging.Handler):
    """Prints log records on the CLI's console (stderr, above any progress bar):
    ``note: ...`` for information, ``warning: ...``, ``error: ...``; debug
    records name their logger."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not stop the command
            self.handleError(record)
            return
        word = _LEVEL_WORDS.get(record.levelno, "error")
        if record.levelno <= logging.DEBUG:
            message = f"[{record.name}] {message}"
        style = {"warning": "yellow", "error": "bold red"}.get(word, "")
        console.print(display.styled((f"{word}:", style), " ", message), soft_wrap=True)


def _configure_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Send the ``muvi`` loggers to stderr: notes and warnings by default,
    warnings only with ``--quiet``, everything with ``--verbose``."""
    _output.quiet = _output.quiet or quiet
    _output.verbose = (_output.verbose or verbose) and not _output.quiet
    logger = logging.getLogger("muvi")
    for handler in [h for h in logger.handlers if isinstance(h, _ConsoleHandler)]:
        logger.removeHandler(handler)
    logger.addHandler(_ConsoleHandler())
    if _output.quiet:
        logger.setLevel(logging.WARNING)
    elif _output.verbose:
        logger.setLevel(logging.DEBUG)
    else:
        logger.setLevel(logging.INFO)
    logging.captureWarnings(True)  # Python warnings through logging, on stderr too


def _bars(label: str | None = None) -> display.ProgressBars:
    """Progress bars for the library's ``progress`` callback (none with ``--quiet``)."""
    return display.ProgressBars(console, enabled=not _output.quiet, label=label)


_QUIET_HELP = "Print warnings and errors only: no notes, no progress bars."
_VERBOSE_HELP = "Also print debug messages (e.g. each file downloaded, each video's notes)."


def _with_output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with ``--quiet`` and ``--verbose`` options added (every command has them)."""
    signature = inspect.signature(command, eval_str=True)
    if "quiet" in signature.parameters:
        return command

    @functools.wraps(command)
    def run(*args: Any, quiet: bool = False, verbose: bool = False, **kwargs: Any) -> Any:
        _configure_logging(quiet=quiet, verbose=verbose)
        return command(*args, **kwargs)

    extra = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(False, *flags, help=text),
            annotation=bool,
        )
        for name, flags, text in (
            ("quiet", ("--quiet", "-q"), _QUIET_HELP),
            ("verbose", ("--verbose", "-v"), _VERBOSE_HELP),
        )
    ]
    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values()
        ]
        + extra
    )
    return run


def _one_line_paragraphs(text: str) -> str:
    r"""A docstring as help text: the lines of each paragraph joined, so that no
    docstring line break shows in ``--help`` (paragraphs stay apart).

    Examples:
        >>> _one_line_paragraphs("Fit the models\nand save them.\n\nSecond part.")
        'Fit the models and save them.\n\nSecond part.'
    """
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _add_output_options(typer_app: typer.Typer) -> None:
    """Give every command of ``typer_app`` (and of its sub-apps) ``--quiet`` and
    ``--verbose``, and help texts without the docstrings' line breaks."""
    for info in typer_app.registered_commands:
        if info.callback is not None:
            if info.help is None:
                info.help = _one_line_paragraphs(inspect.getdoc(info.callback) or "")
            info.callback = _with_output_options(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _add_output_options(group.typer_instance)


def _print_version(value: bool) -> None:
    if value:
        from muvi import __version__

        typer.echo(f"muvi {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print muvi's version and exit.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_QUIET_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=_VERBOSE_HELP),
) -> None:
    """The options of every command (``muvi --quiet COMMAND`` or ``muvi COMMAND --quiet``)."""
    _output.quiet, _output.verbose = False, False
    _configure_logging(quiet=quiet, verbose=verbose)


# --- data commands (simulate, download) -------------------------------------


@app.command()
def simulate(
    out: str = typer.Option(..., "--out", help="Folder to write the simulated study to."),
    seed: int = typer.Option(0, "--seed", help="Seed (>= 0); the same seed gives the same files."),
    items: int = typer.Option(81, "--items", help="Media items (81 in the study)."),
    participants: int = typer.Option(49, "--participants", help="Participants (49 in the study)."),
    excerpt_seconds: float = typer.Option(
        60.0,
        "--excerpt-seconds",
        help="Length of every excerpt in s (60 in the study); another length is written to "
        "muvi_metadata.json, from which every command takes its analysis window.",
    ),
) -> None:
    """Write a SIMULATED study in the published MuVi formats (demo and test data)."""
    from muvi.data.simulator import SimulationConfig
    from muvi.data.simulator import simulate as simulate_study

    for option, value, least in (
        ("--seed", seed, 0),
        ("--items", items, 1),
        ("--participants", participants, 2),
        ("--excerpt-seconds", excerpt_seconds, 1),
    ):
        if value < least:
            raise MuviError(f"{option} must be at least {least}, got {value:g}")
    config = SimulationConfig(annotation_samples=round(excerpt_seconds * 2))
    with _bars("simulate") as bars:
        summary = simulate_study(
            _path(out),
            seed=seed,
            n_items=items,
            n_participants=participants,
            config=config,
            progress=bars,
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
    dataset: str = typer.Option(
        "muvi",
        "--dataset",
        help="muvi (the release), emomusic (1000 Songs) or deam; pmemo, liris-accede, "
        "recola and sewa cannot be fetched by URL (the error says why). With --base-url, "
        "a music dataset's files are fetched from that mirror.",
    ),
) -> None:
    """Fetch the public MuVi release (or a music dataset), with progress, resume and checksums."""
    from muvi.data import download as release

    if dataset.strip().lower() != "muvi":
        with _bars("download") as progress:
            report = release.download_music_dataset(
                dataset, _path(out), base_url=base_url, progress=progress
            )
        console.print(
            f"{len(report.downloaded)} downloaded, {len(report.resumed)} resumed, "
            f"{len(report.skipped)} already complete; manifest: {report.manifest}",
        )
        if report.unverified:
            console.print(
                f"no published checksum for {', '.join(report.unverified)}: "
                "its sha256 is recorded in the manifest",
            )
        return

    with _bars("download") as progress:
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
    )
    if report.unverified:
        console.print(
            f"no published checksum for {', '.join(report.unverified)}: "
            "its sha256 is recorded in the manifest",
        )


_LAYOUT_HELP = (
    "The study's dataset layout (default: recognised from the folder; "
    "see muvi.data.formats, e.g. muvi)."
)
_CACHE_HELP = "Folder for the features extracted from media (default: OUT/cache)."


def _optional_path(value: str | None) -> Path | None:
    return _path(value) if value else None


@app.command("validate")
def validate_command(
    folder: str = typer.Argument(..., help="Study folder in the published layout."),
    layout: str | None = typer.Option(None, "--layout", help=_LAYOUT_HELP),
    cache: str | None = typer.Option(
        None,
        "--cache",
        help="Unused by the checks (they extract no features); accepted like the other commands.",
    ),
) -> None:
    """Check every file of a study folder (the published CSVs, av_data.csv, the emobase
    and visual features, muvi_metadata.json) and print every problem found, one line
    each; exit status 2 if there is any, else print a one-line "ok" summary. A folder
    in another layout (1000 Songs, DEAM, PMEmo, long CSV) is recognised and its ratings
    and audio files checked."""
    import muvi.features  # noqa: F401  (the music layouts' audio check)
    from muvi.data.validate import validate_study

    result = validate_study(_path(folder), layout=layout)
    for note in result.notes:
        log.info("%s", note)
    for problem in result.problems:
        console.print(display.styled(("error:", "bold red"), " ", str(problem)))
    if result.problems:
        sys.exit(2)
    typer.echo(result.summary())


# --- analysis commands (analyze, demo) --------------------------------------


@app.command()
def analyze(
    data: str = typer.Option(
        ..., "--data", help="Study folder in the published layout (e.g. the public MuVi files)."
    ),
    out: str = typer.Option(..., "--out", help="Folder for tables, figures, summary and report."),
    figures: bool = typer.Option(
        True, "--figures/--no-figures", help="Draw the figures (PNG at 300 dpi, SVG and PDF)."
    ),
    window_samples: int | None = typer.Option(
        None,
        "--window-samples",
        min=1,
        help="Analysis window in 2 Hz samples (default: the study's muvi_metadata.json "
        "excerpt length less 1 s, else the paper's 118).",
    ),
    title: str | None = typer.Option(
        None,
        "--title",
        help="Title of report.html (default: the study's muvi_metadata.json title, "
        "'MuVi public release' for the published files, else the folder's name).",
    ),
    beyond: bool = typer.Option(
        True,
        "--beyond/--no-beyond",
        help="Also run the analyses beyond the paper (label reliability, static emotion "
        "from the features, personalised perception, rater lag, modality per item).",
    ),
    personalised: bool = typer.Option(
        True,
        "--personalised/--no-personalised",
        help="Run the personalised-perception step of --beyond (the slowest one).",
    ),
    permutations: int = typer.Option(
        1000, "--permutations", min=200, help="Permutations of the tests beyond the paper."
    ),
    lag_compensation: str = typer.Option(
        "none",
        "--lag-compensation",
        help="none, others or features: also write a lag-compensated gold standard and "
        "agreement (with --beyond, on studies with dynamic ratings).",
    ),
    layout: str | None = typer.Option(None, "--layout", help=_LAYOUT_HELP),
    cache: str | None = typer.Option(None, "--cache", help=_CACHE_HELP),
) -> None:
    """Run every analysis of the study (the descriptive statistics and tests of
    Chua et al. 2022, §3-4) and write tables, figures, summary.json and report.html;
    dynamic analyses run when av_data.csv exists."""
    from muvi.workflows.analyze import AnalyzeOptions, analyze

    options = AnalyzeOptions(
        data=_path(data),
        out=_path(out),
        figures=figures,
        window_samples=window_samples,
        title=title,
        beyond=beyond,
        personalised=personalised,
        permutations=permutations,
        lag_compensation=lag_compensation,
        layout=layout,
        cache_dir=_optional_path(cache),
    )
    options.beyond_config()  # a wrong choice fails before the progress bar
    with _bars("analyze") as bars:
        summary = analyze(options, progress=bars)
    kinds = "static and dynamic" if "dynamic" in summary else "static"
    window = summary["analysis_window"]
    console.print(
        f"{kinds} analyses written to {options.out} (report: {options.out / 'report.html'}); "
        f"analysis window {window['samples']} samples ({window['seconds']:g} s), "
        f"from {window['source']}",
    )


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
) -> None:
    """The whole pipeline on a SIMULATED study: simulate, analyse, cross-validate every
    model, and write one HTML report (OUT/report.html)."""
    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    from muvi.workflows.demo import DemoConfig, run_demo

    config = DemoConfig(seed=seed, n_items=items, n_participants=participants, epochs=epochs)
    with Progress(
        display.text_column("demo", style="bold"),
        BarColumn(),
        display.text_column("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=_output.quiet or not console.is_terminal,  # no bar left in a log file
    ) as progress:
        task = progress.add_task("starting", total=3 + config.fits())

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
    )


# --- model commands (evaluate, train, reproduce) ----------------------------


def _say_training_note() -> None:
    """Print, once, the device and precision that the workflow's options chose."""
    if _output.training_note:
        console.print(_output.training_note)
        _output.training_note = ""


def _model_options(
    experiments: str, models: str, dimensions: str, **settings: Any
):  # -> ModelOptions (imported lazily: the workflows import torch's callers)
    """The :class:`muvi.workflows.options.ModelOptions` of the model commands' arguments."""
    from muvi.workflows.options import ModelOptions, parse_experiments, split_names

    options = ModelOptions(
        experiments=parse_experiments(experiments),
        models=split_names(models),
        dimensions=split_names(dimensions),
        **settings,
    )
    # checked (and the note said when the first model is done) before any work: a study
    # that fails to load is one error line alone
    _output.training_note = options.config()[1]
    return options


_PROFILE_HELP = (
    "paper (default: the paper's text) or reference-code (the authors' published code: "
    "linear dense 256 before LSTM 256 and LSTM 128, Keras's initialisers, one bias per LSTM "
    "and Adam epsilon 1e-7, batch 512 for A2 and PAIR, the last epoch's weights scored, "
    "MSE printed, feature scaling fitted on the rows inside some window)."
)
_DEFECTS_HELP = (
    "Replicate defects of the authors' code, comma separated: pair-leak (PAIR starts in every "
    "fold from the last fold's unimodal models) and/or chunked-scoring (test windows scored "
    "in chunks of 111 across items). Never on by default; every output then says so."
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


def _fit_bar(total: int, label: str = "training"):  # -> (Progress, advance)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        display.text_column("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=_output.quiet or not console.is_terminal,  # no bar left in a log file
    )
    task = progress.add_task(label, total=total)

    def advance(what: str, prefix: str = "") -> None:
        _say_training_note()
        progress.update(task, advance=1, description=f"{prefix}{what}")

    return progress, advance


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
    profile: str = typer.Option("paper", "--profile", help=_PROFILE_HELP),
    replicate_defects: str = typer.Option("", "--replicate-defects", help=_DEFECTS_HELP),
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
    lag_compensation: str = typer.Option(
        "none",
        "--lag-compensation",
        help="none, others or features: shift every annotation earlier by its estimated "
        "reaction lag before the gold standards (the models' targets) are made.",
    ),
    scheduler: str = typer.Option(
        "",
        "--scheduler",
        help="Address of a Dask scheduler (tcp://host:8786): the training jobs run there "
        "as tasks, with the results of a local run.",
    ),
    layout: str | None = typer.Option(None, "--layout", help=_LAYOUT_HELP),
    cache: str | None = typer.Option(None, "--cache", help=_CACHE_HELP),
) -> None:
    """Cross-validate the study's models (5 outer folds) and write results.json,
    per_item.csv, ttests.csv, importance tables and figures."""
    from muvi.models.profiles import printed_error
    from muvi.models.reference_code import defect_notice
    from muvi.workflows.evaluate import EvaluateOptions, evaluate
    from muvi.workflows.options import split_names

    model = _model_options(
        experiments,
        models,
        dimensions,
        epochs=epochs,
        device=device,
        precision=precision,
        batched=batched,
        profile=profile,
        defects=split_names(replicate_defects),
        threads=threads,
        workers=workers,
        scheduler=scheduler or None,
    )
    options = EvaluateOptions(
        data=_path(data),
        out=_path(out),
        model=model,
        items_for_figures=split_names(items_for_figures),
        lag_compensation=lag_compensation,
        layout=layout,
        cache_dir=_optional_path(cache),
    )
    progress, advance = _fit_bar(model.fits())
    with progress:
        outcome = evaluate(options, advance)
    results, paths = outcome.results, outcome.paths
    error = printed_error(outcome.config)
    for row in results.summary().itertuples():
        mean, std = getattr(row, f"{error}_mean"), getattr(row, f"{error}_std")
        console.print(
            f"{row.name:<20} {row.dimension:<8} CCC {row.ccc_mean:6.3f} ± {row.ccc_std:5.3f}  "
            f"{error.upper()} {mean:5.3f} ± {std:5.3f}  (n={row.n_items})",
        )
    for note in results.notes:
        console.print(f"note: {note}")
    if results.defects:
        console.print(f"warning: {defect_notice(results.defects)}", style="bold yellow")
    if results.simulated:
        console.print("these results come from a SIMULATED study", style="bold yellow")
    console.print(f"wrote {paths['results']} and tables/figures in {options.out}")


_VARIANTS_HELP = (
    "Variants, comma separated (default: all): paper, reference-code (always run: every "
    "change is measured from it), block, initialisers, batch-sizes, restore-best, metric, "
    "scaling-rows (reference-code with that one setting as the paper's), pair-leak, "
    "chunked-scoring "
    "(reference-code with that defect alone), published (reference-code with both defects)."
)


@app.command("reproduce")
def reproduce_command(
    data: str = typer.Option(..., "--data", help="Study folder with av_data.csv and features."),
    out: str = typer.Option(..., "--out", help="Folder for the tables, figure, JSON and report."),
    variants: str = typer.Option("", "--variants", help=_VARIANTS_HELP),
    experiments: str = typer.Option("1,2,3,4,5,6,7", "--experiments", help=_EXPERIMENTS_HELP),
    dimensions: str = typer.Option(
        "valence,arousal", "--dimensions", help="valence and/or arousal."
    ),
    seeds: int = typer.Option(
        1, "--seeds", min=1, help="Train every network with this many seeds (42, 43, ...)."
    ),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        min=1,
        help="Most epochs per network (default: the paper's 100; 15 with --reduced).",
    ),
    reduced: bool = typer.Option(
        False,
        "--reduced",
        help="The demo's reduced sizes (LSTM 32 units, learning rate 1e-3, patience 3, 15 "
        "epochs), scaled into each profile, so it runs on a laptop. NOT the paper's settings.",
    ),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    precision: str = typer.Option("float32", "--precision", help=_PRECISION_HELP),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads for torch."),
    layout: str | None = typer.Option(None, "--layout", help=_LAYOUT_HELP),
    cache: str | None = typer.Option(None, "--cache", help=_CACHE_HELP),
) -> None:
    """Train the grid's networks under the paper's profile, the authors' code's
    (reference-code), and the code's with each departure switched to the paper's or
    each defect replicated alone; write one table per experiment and dimension (the
    change from reference-code and paired t-tests), a figure and report.html."""
    from muvi.workflows.options import parse_experiments, split_names
    from muvi.workflows.reproduce import ReproduceOptions, reproduce

    options = ReproduceOptions(
        data=_path(data),
        out=_path(out),
        variants=split_names(variants),
        experiments=parse_experiments(experiments),
        dimensions=split_names(dimensions),
        seeds=seeds,
        epochs=epochs,
        reduced=reduced,
        device=device,
        precision=precision,
        threads=threads,
        layout=layout,
        cache_dir=_optional_path(cache),
    )
    _output.training_note = options.config()[1]  # a wrong option fails before any work

    def progress(line: str) -> None:
        _say_training_note()
        if not _output.quiet:
            console.print(line)

    outcome = reproduce(options, progress)
    results, paths = outcome.results, outcome.paths
    for row in results.table().itertuples():
        change = "" if row.variant == "reference-code" else f"  change {row.d_ccc:+.3f}"
        p = "" if row.variant == "reference-code" else f" (p {row.ccc_p:.3g})"
        console.print(
            f"{row.variant:<16} {row.name:<20} {row.dimension:<8} CCC {row.ccc_mean:6.3f}"
            f"{change}{p}  {str(row.printed_error).upper()} {row.error_mean:5.3f}",
        )
    for v in results.variants:
        if v.notice:
            console.print(f"{v.name}: {v.notice}", style="bold yellow")
    if results.simulated:
        console.print("these results come from a SIMULATED study", style="bold yellow")
    console.print(f"wrote {paths['results']}, {paths['table']} and {paths['report']}")


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
    profile: str = typer.Option("paper", "--profile", help=_PROFILE_HELP),
    replicate_defects: str = typer.Option(
        "",
        "--replicate-defects",
        help="Refused here: pair-leak and chunked-scoring concern cross-validation "
        "(muvi evaluate); final training fits each model once on all items.",
    ),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads for torch."),
    layout: str | None = typer.Option(None, "--layout", help=_LAYOUT_HELP),
    cache: str | None = typer.Option(None, "--cache", help=_CACHE_HELP),
) -> None:
    """Fit the chosen models on all items and save bundles named like
    music_arousal_lstm/ or audiovisual_valence_late_fusion/ (for `muvi predict`)."""
    from muvi.workflows.options import ModelOptions, parse_experiments, split_names
    from muvi.workflows.train import TrainOptions, train

    defects = split_names(replicate_defects)
    model = ModelOptions(
        experiments=parse_experiments(experiments),
        models=split_names(models),
        dimensions=split_names(dimensions),
        epochs=epochs,
        device=device,
        precision=precision,
        profile=profile,
        defects=defects,
        threads=threads,
    )
    options = TrainOptions(
        data=_path(data),
        out=_path(out),
        model=model,
        layout=layout,
        cache_dir=_optional_path(cache),
    )
    if not defects:  # defects are refused by the workflow with their own line
        _output.training_note = model.config()[1]
    progress, advance = _fit_bar(0 if defects else model.final_fits())
    with progress:
        outcome = train(options, lambda what: advance(what, "saved "))
    for folder in outcome.bundles:
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
    from muvi.features.batch import extract_batch, find_videos, read_starts
    from muvi.features.registry import resolve

    resolve(features)  # an unknown name fails here, before the progress bar
    jobs = find_videos([_path(p) for p in inputs])
    per_video = read_starts(_path(starts)) if starts else {}
    if start is not None:
        per_video = {job.media_id: per_video.get(job.media_id, start) for job in jobs}
    with _bars("extract") as advance:
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
    if report.failed and not report.succeeded:
        # nothing was extracted: no result paths, one line per failure

        def why(failed: Any) -> str:  # the error names the file in most cases
            named = Path(failed.path).name in str(failed.error)
            return str(failed.error) if named else f"{failed.path}: {failed.error}"

        if len(report.failed) == 1:
            _fail(f"nothing was extracted: {why(report.failed[0])}")
        for failed in report.failed:
            console.print(display.styled(("failed", "red"), f" {why(failed)}"))
        _fail(
            f"nothing was extracted: all {len(report.failed)} videos failed ({report.errors_file})"
        )
    console.print(report.summary())
    for failed in report.failed:
        console.print(display.styled(("failed", "red"), f" {failed.media_id}: {failed.error}"))
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
    out: str = typer.Option(
        ..., "--out", "-o", help="Output folder for curves.csv, .json, .png, .svg and .pdf."
    ),
    start: float | None = typer.Option(
        None, "--start", min=0, help="Where the music starts (s); default: found in the audio."
    ),
    weights_dir: str | None = typer.Option(
        None, "--weights-dir", help="Pretrained weights folder for the visual extractors."
    ),
    modalities: str = typer.Option(
        "all",
        "--modalities",
        help="Comma-separated: music, visual, audiovisual, or all (every one with a bundle).",
    ),
    ratings: str | None = typer.Option(
        None,
        "--ratings",
        help="Your own 2 Hz ratings (CSV: time in s on the video's clock, or sample; "
        "valence, arousal; optional modality), or a 1000 Songs *_cont_average.csv (or its "
        "folder: the row of the song <song_id>.mp3), to compare with: CCC and RMSE per curve. "
        "Times off the curves' grid are interpolated at the curves' times.",
    ),
) -> None:
    """Valence/arousal curves at 2 Hz for a new video, per modality, from trained
    bundles; a modality that cannot be predicted is skipped with the reason."""
    _quiet_openmp()
    from muvi.predict import parse_modalities
    from muvi.workflows.predict import PredictOptions, predict

    parse_modalities(modalities)  # a wrong name fails before any work
    if ratings is not None and not _path(ratings).exists():
        raise MuviError(f"--ratings {ratings}: no such file or folder")
    options = PredictOptions(
        video=_path(video),
        model=_path(model),
        out=_path(out),
        start=start,
        weights_dir=_optional_path(weights_dir),
        modalities=modalities,
        ratings=_optional_path(ratings),
    )
    with _bars("predict") as bars:
        result = predict(options, progress=bars)
    curves = result.curves
    console.print(
        f"{len(curves)} samples at 2 Hz from {result.start:g} s on the video's clock "
        f"(excerpt start): {', '.join(m.column for m in result.models)}"
    )
    for m in result.models:
        console.print(f"  {m.column}: {m.display_name} (bundle {m.name})")
    for line in result.agreement:
        console.print(
            f"  vs your ratings, {line.modality} {line.dimension}: CCC {line.ccc:.3f}, "
            f"RMSE {line.rmse:.3f} (n={line.n})"
        )
    for kind in ("csv", "json", "png", "svg", "pdf"):
        path = result.paths.get(kind)
        if path is not None and path.is_file():
            console.print(f"wrote {path}")


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

    from rich.console import Console
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
        TransferSpeedColumn,
    )

    from muvi.errors import WeightsError
    from muvi.features.weights import fetch_weights

    if source is not None and len(names) != 1:
        raise WeightsError("--from installs one file: name exactly one weights NAME with it")
    folder = _path(weights_dir) if weights_dir else None
    with Progress(
        display.text_column("{task.description}", style="bold"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=not console.is_terminal,  # no bar left in a log file
    ) as bar:
        for name in names:
            task = bar.add_task(name, total=None)

            def show(done: int, total: int | None, task_id: TaskID = task) -> None:
                bar.update(task_id, completed=done, total=total)

            path = fetch_weights(
                name, folder, source=_path(source) if source else None, force=force, progress=show
            )
            bar.console.print(f"{name}: {path}")


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
        log.info("%s is %s", name, status.state)


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
    no_signup_limit: bool = typer.Option(
        False,
        "--no-signup-limit",
        help="Do not throttle sign-ups (a lab, where every participant has the same address).",
    ),
    trusted_proxy: list[str] = typer.Option(
        [],
        "--trusted-proxy",
        help="Address or network of a reverse proxy whose X-Forwarded-For/-Proto are believed "
        "(repeat for several; default: the comma-separated FORWARDED_ALLOW_IPS, else loopback).",
    ),
) -> None:
    """Serve the study web application (runner pages at /runner)."""
    import dataclasses

    import uvicorn

    from muvi.study.app import create_app
    from muvi.study.security import DEFAULT_SECURITY

    proxies = tuple(trusted_proxy) or tuple(
        p.strip() for p in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",") if p.strip()
    )
    security = dataclasses.replace(
        DEFAULT_SECURITY,
        signup_limit=not no_signup_limit,
        trusted_proxies=proxies or DEFAULT_SECURITY.trusted_proxies,
    )
    application = create_app(db, _path(media), security)
    console.print(
        f"MuVi study server on http://{host}:{port}/runner (database {db})",
    )
    # the application reads the forwarded headers of trusted proxies itself
    uvicorn.run(application, host=host, port=port, log_level="warning", proxy_headers=False)


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
    admin: bool = typer.Option(
        False, "--admin", help="An admin sees and exports every study (others: their own)."
    ),
) -> None:
    """Create a study runner account (passwords are stored as argon2 hashes)."""
    from muvi.study.db import open_database
    from muvi.study.service import create_runner

    _engine, sessions = open_database(db)
    with sessions() as session:
        runner = create_runner(session, username, password, admin=admin)
    role = "admin" if runner.is_admin else "runner"
    console.print(
        f"{role} {runner.username!r} created; log in at /runner/login",
    )


@study_app.command("set-password")
def study_set_password(
    username: str = typer.Argument(..., help="The runner's login name."),
    db: str = typer.Option("muvi_study.db", "--db", help=_DB_HELP),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="The new password, at least 8 characters (asked for when not given).",
    ),
) -> None:
    """Give a runner a new password; every session of theirs is logged out."""
    from muvi.study.db import open_database
    from muvi.study.service import set_runner_password

    _engine, sessions = open_database(db)
    with sessions() as session:
        ended = set_runner_password(session, username, password)
    console.print(
        f"password of {username!r} changed; {ended} open session(s) ended",
    )


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
        f"({summary.raw_samples} raw samples, mean interval {summary.mean_interval_s:.3f} s)",
    )


def _option_value(args: list[str], option: str, default: str) -> str:
    """The value given to ``option`` on the command line (``--db x`` or ``--db=x``).

    Examples:
        >>> _option_value(["study", "export", "--db=a.db"], "--db", "muvi_study.db")
        'a.db'
        >>> _option_value(["study", "export"], "--db", "muvi_study.db")
        'muvi_study.db'
    """
    for k, arg in enumerate(args):
        if arg == option and k + 1 < len(args):
            return args[k + 1]
        if arg.startswith(option + "="):
            return arg[len(option) + 1 :]
    return default


def _os_error_line(err: OSError) -> str:
    """One sentence for a file-system error, naming the path.

    Examples:
        >>> _os_error_line(IsADirectoryError(21, "Is a directory", "/tmp/x"))
        '/tmp/x: expected a file, found a folder'
        >>> _os_error_line(PermissionError(13, "Permission denied", "/x", None))
        '/x: permission denied'
    """
    reasons: dict[type[OSError], str] = {
        IsADirectoryError: "expected a file, found a folder",
        NotADirectoryError: "expected a folder, but this path (or a folder above it) is a file",
        FileExistsError: "expected a folder, found a file",
        FileNotFoundError: "no such file or folder",
        PermissionError: "permission denied",
    }
    reason = next((r for cls, r in reasons.items() if isinstance(err, cls)), None)
    if reason is None:
        reason = (err.strerror or str(err) or type(err).__name__).strip().rstrip(".")
        reason = reason[:1].lower() + reason[1:]
    if err.filename is None:
        return reason
    where = str(err.filename)
    if err.filename2 is not None:
        where += f" -> {err.filename2}"
    return f"{where}: {reason}"


def _database_error(err: Exception, args: list[str]) -> str | None:
    """One sentence for an SQLAlchemy error (a ``--db`` that is not a usable database),
    or None when ``err`` is not one. SQLAlchemy is imported only by the study commands."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is None or not isinstance(err, sqlalchemy_exc.SQLAlchemyError):
        return None
    db = _option_value(args, "--db", "muvi_study.db")
    original = getattr(err, "orig", None) or err
    reason = str(original).strip().splitlines()[0] if str(original).strip() else type(err).__name__
    return f"--db {db}: not a usable study database ({reason})"


SQLITE_HEADER = b"SQLite format 3\x00"


def _check_study_database(args: list[str]) -> None:
    """Refuse a ``--db`` of a study command that is an existing file but not an SQLite
    database, before SQLite sees it: SQLite would take a short text file for an empty
    database and overwrite it with the study tables (the file's content lost).

    Raises:
        MuviError: the path is a folder, or a file that is not an SQLite database.
    """
    if not args or args[0] != "study" or "--help" in args:
        return
    db = _option_value(args, "--db", "muvi_study.db")
    if "://" in db and not db.startswith("sqlite:///"):
        return  # a database URL (PostgreSQL)
    path = _path(db.removeprefix("sqlite:///"))
    if path.is_dir():
        raise MuviError(f"--db {db}: expected an SQLite database file, found a folder")
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
        if head != SQLITE_HEADER:
            raise MuviError(
                f"--db {db}: not a usable study database (the file is not an SQLite database; "
                "it was left as it is)"
            )


def _fail(message: str, code: int = 2) -> NoReturn:
    console.print(display.styled(("error:", "bold red"), " ", message), soft_wrap=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``muvi`` console script.

    Every error in the user's input, the files or the file system ends here as one
    line on stderr naming the file (exit status 2), never as a traceback:
    :class:`~muvi.errors.MuviError` (the library's own), :class:`OSError` (an
    unwritable ``--out``, a file where a folder is expected...) and database errors.
    A truncated file that a reader did not catch ends as "ended unexpectedly", not as
    "aborted" (click turns :class:`EOFError` into an abort; only Ctrl-C aborts).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        _check_study_database(args)
        # Without standalone mode, click returns (rather than raises) a command's exit code.
        code = app(args=args, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except MuviError as err:
        _fail(str(err))
    except OSError as err:
        _fail(_os_error_line(err))
    except typer.Abort as err:
        if isinstance(err.__cause__, EOFError):
            # typer turns an EOFError into an abort; here it came from a truncated file
            _fail(f"a file ended unexpectedly (truncated or empty): {err.__cause__ or 'no data'}")
        console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        console.print("aborted")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except SystemExit:
        raise
    except Exception as err:
        line = _database_error(err, args)
        if line is not None:
            _fail(line)
        # Usage errors (bad option values, missing arguments): Typer vendors its own copy of
        # click in recent releases, so match on the interface rather than the class.
        code = getattr(err, "exit_code", None)
        show = getattr(err, "show", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise


_add_output_options(app)  # after every command is registered


if __name__ == "__main__":  # pragma: no cover
    main()
