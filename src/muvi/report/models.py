"""Figures and report sections of the model evaluation (moved out of
:mod:`muvi.models`, which never imports :mod:`muvi.report`), and
:func:`evaluate_study`, which runs the grid and writes results and figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from muvi.errors import DataError

if TYPE_CHECKING:
    from muvi.report.html import ReportSection

from muvi.models.cv import StudyData, prepare_study, run_evaluation
from muvi.models.grid import EvaluationConfig
from muvi.models.results import EvaluationResults, write_results


def figure_items(
    results: EvaluationResults, requested: Sequence[str] = (), n: int = 2
) -> list[str]:
    """The items to plot: those requested (they must be test items), else the
    first ``n`` test items of fold 0."""
    tested = set(results.per_item["media_id"]) if not results.per_item.empty else set()
    unknown = [m for m in requested if m not in tested]
    if unknown:
        raise DataError(
            f"item {unknown[0]} was not a test item of any fold, so it has no predictions"
        )
    if requested:
        return list(requested)
    return [m for m in results.folds[0].test if m in tested][:n]


def write_figures(
    results: EvaluationResults,
    study: StudyData,
    out_dir: str | Path,
    items: Sequence[str] = (),
) -> list[Path]:
    """For each chosen item, modality and dimension: every annotator's series,
    the EWE with its ± std band and the models' predictions (one PNG each).

    Returns:
        The PNG files written (in ``out_dir/figures``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    preds = results.predictions
    for media_id in figure_items(results, items):
        for dimension in results.config.dimensions:
            for modality in dict.fromkeys(preds["target_modality"]):
                chosen = preds[
                    (preds["media_id"] == media_id)
                    & (preds["dimension"] == dimension)
                    & (preds["target_modality"] == modality)
                ]
                if chosen.empty:
                    continue
                gold = study.gold[
                    (study.gold["media_id"] == media_id) & (study.gold["modality"] == modality)
                ]
                fig, ax = plt.subplots(figsize=(8, 3.6))
                if study.dynamic is not None:
                    raters = study.dynamic[
                        (study.dynamic["media_id"] == media_id)
                        & (study.dynamic["modality"] == modality)
                    ]
                    for k, (_, series) in enumerate(raters.groupby("participant_id")):
                        ax.plot(
                            series["sample"] * 0.5,
                            series[dimension],
                            color="0.75",
                            lw=0.7,
                            label="annotators" if k == 0 else None,
                        )
                t = gold["sample"].to_numpy() * 0.5
                mean, std = gold[dimension].to_numpy(), gold[f"{dimension}_std"].to_numpy()
                ax.fill_between(
                    t, mean - std, mean + std, color="tab:blue", alpha=0.2, label="EWE ± std"
                )
                ax.plot(t, mean, color="tab:blue", lw=2, label="EWE")
                for name, part in chosen.groupby("name", sort=False):
                    ax.plot(part["sample"] * 0.5, part["prediction"], lw=1.4, label=str(name))
                title = f"{media_id}: {modality} {dimension}"
                if results.simulated:
                    title += " (SIMULATED study)"
                ax.set(title=title, xlabel="time (s)", ylabel=dimension, ylim=(-1.05, 1.05))
                ax.legend(fontsize=7, loc="upper right", ncol=2)
                fig.tight_layout()
                path = folder / f"{media_id}_{modality}_{dimension}.png"
                fig.savefig(path, dpi=110)
                plt.close(fig)
                written.append(path)
    return written


def evaluation_sections(out_dir: str | Path, results: EvaluationResults) -> list[ReportSection]:
    """Report sections with the results tables and the figures found in
    ``out_dir/figures`` (written by :func:`write_figures`).

    Args:
        out_dir: the folder given to :func:`write_results` / :func:`write_figures`.
        results: the evaluation results.

    Returns:
        Sections for :func:`muvi.report.html.write_report`.
    """
    from muvi.report.html import ReportSection

    note = (
        " <strong>These results come from a SIMULATED study.</strong>" if results.simulated else ""
    )
    summary = results.summary()
    intro = (
        "<p>Models trained and tested within the 5 outer folds; RMSE and CCC per test "
        "item, mean and standard deviation over the test items of all folds." + note + "</p>"
    )
    tables = {"Models: RMSE and CCC per experiment": summary}
    if results.human_agreement is not None:
        tables["Human inter-rater agreement (CCC, leave-one-out against the EWE)"] = (
            results.human_agreement
        )
    ttests = results.ttests()
    if not ttests.empty:
        tables["Paired t-tests over test items (smallest p first)"] = ttests.sort_values("p").head(
            60
        )
    top, families = results.importance()
    importance_tables = {}
    if not top.empty:
        importance_tables = {
            "LASSO: top features by |mean coefficient| over folds": top,
            "LASSO: sum of |mean coefficient| by feature family": families,
        }
    figures = {
        p.stem.replace("_", " "): p for p in sorted((Path(out_dir) / "figures").glob("*.png"))
    }
    sections = [ReportSection("Model evaluation", intro, tables)]
    if importance_tables:
        sections.append(ReportSection("Feature importance", "", importance_tables))
    if figures:
        sections.append(
            ReportSection(
                "Predictions against the ratings",
                "<p>Grey: every annotator; blue: the EWE with its ± std band; "
                "coloured lines: models scored on this test item.</p>",
                {},
                figures,
            )
        )
    return sections


def evaluate_study(
    data_dir: str | Path,
    out_dir: str | Path,
    config: EvaluationConfig | None = None,
    items_for_figures: Sequence[str] = (),
    on_fit: Callable[[str], None] | None = None,
) -> tuple[EvaluationResults, dict[str, Path]]:
    """Load a study, run the grid, write ``results.json``, the tables and figures.

    Args:
        data_dir: a study folder in the published layout (with ``av_data.csv``).
        out_dir: the output folder.
        config: what to run (default: the full grid, paper settings).
        items_for_figures: test items to plot (default: two test items of fold 0).
        on_fit: progress callback, see :func:`run_evaluation`.

    Returns:
        The results and the paths written (``figures`` lists the PNG folder).
    """
    from muvi.data.loaders import load_dataset

    study = prepare_study(load_dataset(data_dir))
    results = run_evaluation(study, config, on_fit)
    paths = write_results(results, out_dir)
    write_figures(results, study, out_dir, items_for_figures)
    paths["figures"] = Path(out_dir) / "figures"
    return results, paths
