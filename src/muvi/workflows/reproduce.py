"""``muvi reproduce``: the grid's networks under each profile and departure.

:func:`reproduce` opens the study (:func:`muvi.data.formats.open_study`),
prepares it within its own analysis window, runs every variant
(:func:`muvi.models.reproduce.reproduce`), writes the tables and JSON
(:func:`muvi.models.reproduce.write_reproduction`), and renders the figure
and ``report.html`` (:mod:`muvi.report.reproduce_sections`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.data.schema import DIMENSIONS
from muvi.workflows.options import ALL_EXPERIMENTS, ModelOptions, default_cache

if TYPE_CHECKING:
    from muvi.data.dataset import MuviDataset
    from muvi.models.reproduce import ReproduceConfig, ReproductionResults

__all__ = ["ReproduceOptions", "Reproduction", "reproduce", "reproduce_dataset"]


@dataclass(frozen=True)
class ReproduceOptions:
    """What ``muvi reproduce`` runs.

    Attributes:
        data: the study folder, in any layout :func:`muvi.data.formats.open_study` knows.
        out: the folder for the tables, figure, JSON and report.
        variants: the variants (:func:`muvi.models.reproduce.parse_variants`;
            empty: all).
        experiments: the experiments (1-7) whose networks are trained.
        dimensions: ``valence`` and/or ``arousal``.
        seeds: train every network with this many seeds (42, 43, ...).
        epochs: most epochs per network (None: the paper's 100; 15 with ``reduced``).
        reduced: the demo's reduced sizes (LSTM 32 units, learning rate 1e-3,
            patience 3, 15 epochs) scaled into each profile. NOT the paper's settings.
        device: ``auto``, ``cpu`` or ``cuda``.
        precision: ``float32``, ``bfloat16`` or ``auto``.
        threads: CPU threads for torch.
        layout: the study's layout (default: recognised from the folder).
        cache_dir: where features extracted from media are cached (default: ``out/cache``).
    """

    data: Path
    out: Path
    variants: tuple[str, ...] = ()
    experiments: tuple[int, ...] = ALL_EXPERIMENTS
    dimensions: tuple[str, ...] = DIMENSIONS
    seeds: int = 1
    epochs: int | None = None
    reduced: bool = False
    device: str = "auto"
    precision: str = "float32"
    threads: int = 2
    layout: str | None = None
    cache_dir: Path | None = None

    def config(self) -> tuple[ReproduceConfig, str]:
        """The reproduction's configuration, and a line naming the device and precision.

        Raises:
            MuviError / ReproduceError: an unknown variant, device or precision.
        """
        from muvi.models.grid import demo_config
        from muvi.models.reproduce import ReproduceConfig, parse_variants, seeds_from

        chosen = parse_variants(self.variants or None)
        most = self.epochs if self.epochs is not None else (15 if self.reduced else 100)
        base, note = ModelOptions(
            experiments=self.experiments,
            models=("lstm",),
            dimensions=self.dimensions,
            epochs=most,
            device=self.device,
            precision=self.precision,
            threads=self.threads,
        ).config()
        if self.reduced:
            demo = demo_config()
            base = replace(
                base,
                block=demo.block,
                training=replace(
                    base.training,
                    learning_rate=demo.training.learning_rate,
                    patience=demo.training.patience,
                ),
            )
        return ReproduceConfig(base=base, variants=chosen, seeds=seeds_from(self.seeds)), note


@dataclass
class Reproduction:
    """What :func:`reproduce` returns.

    Attributes:
        results: every variant's per-item scores.
        paths: the files written (``results`` reproduce.json, ``table``,
            ``per_item``, ``human_tests``, ``tables`` folder, ``figure``, ``report``).
        note: the device and precision the networks trained with.
    """

    results: ReproductionResults
    paths: dict[str, Path]
    note: str = ""


def reproduce_dataset(
    dataset: MuviDataset,
    out_dir: str | Path,
    config: ReproduceConfig | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> tuple[ReproductionResults, dict[str, Path]]:
    """Run every variant on an opened study; write the tables, JSON, figure and report.

    Args:
        dataset: the study (:func:`muvi.data.formats.open_study`).
        out_dir: the output folder.
        config: variants, seeds and grid (default: every variant, one seed,
            the paper's sizes).
        on_progress: called with a line of progress.

    Returns:
        The results and the paths written.
    """
    import pandas as pd

    from muvi.models.cv import prepare_study
    from muvi.models.reproduce import reproduce as run_variants
    from muvi.models.reproduce import write_reproduction
    from muvi.plotting import style
    from muvi.report.html import write_report
    from muvi.report.models import paper_column
    from muvi.report.reproduce_sections import (
        FIGURE,
        changes_figure,
        paper_document,
        reproduce_sections,
        with_corrected_p,
    )

    study = prepare_study(dataset)
    results = run_variants(study, config, on_progress)
    out = Path(out_dir)
    table = results.table()
    document = paper_document(results, table)

    def column(rows: pd.DataFrame) -> list[str]:
        return paper_column(rows, document, "ccc_mean")

    paths = write_reproduction(results, out, column, lambda _: {"paper": document["paper"]})
    written = with_corrected_p(pd.read_csv(paths["table"]))
    written.to_csv(paths["table"], index=False)  # the corrected p beside the raw one
    paths["figure"] = style.save_figure(
        changes_figure(written, simulated=results.simulated), out / FIGURE
    )
    notes = [v.notice for v in results.variants if v.notice]
    paths["report"] = write_report(
        out / "report.html",
        "Reproducing the paper" + (" (SIMULATED study)" if results.simulated else ""),
        reproduce_sections(out, results, written),
        simulated=results.simulated,
        notes=list(dict.fromkeys(notes)),
    )
    return results, paths


def reproduce(
    options: ReproduceOptions, on_progress: Callable[[str], None] | None = None
) -> Reproduction:
    """``muvi reproduce``: train the grid's networks under the paper's profile,
    the authors' code's (``reference-code``), and the code's with each
    departure switched to the paper's or each defect replicated alone; write
    one table per experiment and dimension, a figure and ``report.html``.

    Args:
        options: what to run (:class:`ReproduceOptions`).
        on_progress: called with a line of progress.

    Returns:
        The :class:`Reproduction`.
    """
    from muvi.data.formats import open_study

    config, note = options.config()
    dataset = open_study(
        options.data,
        layout=options.layout,
        cache_dir=default_cache(options.cache_dir, options.out),
    )
    results, paths = reproduce_dataset(dataset, options.out, config, on_progress)
    return Reproduction(results, paths, note)
