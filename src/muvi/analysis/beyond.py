"""Beyond the paper: the five extra analyses as steps of ``muvi analyze``.

0. item-level reliability of the static labels (:mod:`~muvi.analysis.reliability`);
1. static emotion from the media's features (:mod:`~muvi.analysis.static_prediction`);
2. personalised perception (:mod:`~muvi.analysis.personalised`);
3. rater lag and a lag-compensated gold standard (:mod:`muvi.annotations.lag`);
4. which modality carries the audiovisual rating (:mod:`~muvi.analysis.modality_contribution`).

0 runs on every study, 1 and 2 where item features exist, 3 and 4 where
dynamic ratings exist. Each is a step of :data:`BEYOND_STEPS`
(:class:`muvi.analysis.step.AnalysisStep`: its tables, its keys of the
``beyond`` block of ``summary.json``, its report section).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from muvi.analysis import modality_contribution as contribution
from muvi.analysis import personalised, reliability, static_prediction
from muvi.analysis.outputs import LAG_COMPENSATED_GOLD_FILE, figure_path, table_path
from muvi.analysis.step import AnalysisStep, StepContext
from muvi.annotations.lag import LagConfig
from muvi.data.dataset import MuviDataset
from muvi.plotting import style

LAG_COMPENSATION_CHOICES = ("none", "others", "features")
"""``--lag-compensation``: none, or shift each annotation by its lag against the others
(aligns the annotators) or against the features (aligns ratings with the media)."""

MIN_PERSONALISED = 10
"""Fewest annotators and items for the personalised models' cross-validation."""


@dataclass
class BeyondConfig:
    """Settings of the five analyses; each part's defaults are documented in its own class.

    Attributes:
        reliability: part 0.
        prediction: part 1 (``n_permutations`` >= 200 as the issue asks; 1000 by default).
        personalised: part 2.
        run_personalised: run part 2 (its drop-one-field importance is the slowest step).
        lag: part 3.
        lag_compensation: ``none``, ``others`` or ``features``: also write a
            lag-compensated gold standard and agreement.
        contribution: part 4.
    """

    reliability: reliability.ReliabilityConfig = field(
        default_factory=reliability.ReliabilityConfig
    )
    prediction: static_prediction.StaticPredictionConfig = field(
        default_factory=static_prediction.StaticPredictionConfig
    )
    personalised: personalised.PersonalisedConfig = field(
        default_factory=personalised.PersonalisedConfig
    )
    run_personalised: bool = True
    lag: LagConfig = field(default_factory=LagConfig)
    lag_compensation: str = "none"
    contribution: contribution.ContributionConfig = field(
        default_factory=contribution.ContributionConfig
    )

    def __post_init__(self) -> None:
        if self.lag_compensation not in LAG_COMPENSATION_CHOICES:
            raise ValueError(
                f"lag_compensation must be one of {', '.join(LAG_COMPENSATION_CHOICES)}, "
                f"not {self.lag_compensation!r}"
            )


def _write(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)


def _save(drawn: Axes | Figure | SubFigure, out: Path, name: str) -> None:
    """Write a figure as ``OUT/figures/<name>.png`` (300 dpi), ``.svg`` and ``.pdf``."""
    style.save_figure(drawn.figure if isinstance(drawn, Axes) else drawn, figure_path(out, name))


def _config(ctx: StepContext) -> BeyondConfig:
    return ctx.beyond if ctx.beyond is not None else BeyondConfig()


def _feature_sets(ctx: StepContext) -> dict[str, pd.DataFrame]:
    """The item feature summaries of parts 1 and 2 (computed once per run)."""
    if "feature_sets" in ctx.shared:
        return dict(ctx.shared["feature_sets"])
    data, n_samples = ctx.data, _config(ctx).prediction.n_samples
    sets: dict[str, pd.DataFrame] = {}
    if data.audio_features is not None:
        sets["audio"] = static_prediction.item_feature_summaries(data.audio_features, n_samples)
    if data.visual_features is not None:
        sets["visual"] = static_prediction.item_feature_summaries(data.visual_features, n_samples)
    if "audio" in sets and "visual" in sets:
        both = sets["audio"].join(sets["visual"].add_suffix("_visual"), how="inner")
        sets["audio+visual"] = both
    ctx.shared["feature_sets"] = sets
    return dict(sets)


def _reliability(ctx: StepContext) -> dict[str, Any]:
    config, out = _config(ctx), ctx.out
    rel = reliability.split_half_reliability(ctx.data.static, config.reliability)
    effects = reliability.item_effect_test(ctx.data.static, config.reliability)
    agreement = reliability.between_condition_agreement(ctx.data.static, config.reliability)
    _write(rel, table_path(out, "item_reliability"))
    _write(effects, table_path(out, "item_effect_tests"))
    _write(agreement, table_path(out, "item_share_agreement"))
    if ctx.figures:
        _save(reliability.reliability_figure(rel), out, "item_reliability")
    return {"reliability": reliability.reliability_summary(rel, effects, agreement)}


def _static_prediction(ctx: StepContext) -> dict[str, Any]:
    config, out = _config(ctx), ctx.out
    sets = _feature_sets(ctx)
    table = (
        static_prediction.static_prediction(ctx.data.static, sets, config.prediction)
        if sets
        else pd.DataFrame()
    )
    if not len(table):
        return {"static_prediction": None}
    _write(table, table_path(out, "static_prediction"))
    if ctx.figures:
        for name in sets:
            drawn = static_prediction.static_prediction_figure(table, name)
            _save(drawn, out, f"static_prediction_{name.replace('+', '_')}")
    return {"static_prediction": static_prediction.static_prediction_summary(table)}


def _personalised(ctx: StepContext) -> dict[str, Any]:
    config, data, out = _config(ctx), ctx.data, ctx.out
    sets = _feature_sets(ctx)
    enough = (
        data.static["participant_id"].nunique() >= MIN_PERSONALISED
        and data.static["media_id"].nunique() >= MIN_PERSONALISED
    )
    if not ("audio" in sets and config.run_personalised and enough):
        return {"personalised": None}
    items = sets["audio+visual"] if "audio+visual" in sets else sets["audio"]
    gains, fields = personalised.personalised_perception(
        data.static, data.participants, items, config.personalised
    )
    _write(gains, table_path(out, "personalised_gains"))
    _write(fields, table_path(out, "personalised_fields"))
    if ctx.figures:
        _save(personalised.personalised_figure(gains), out, "personalised_gains")
    return {"personalised": personalised.personalised_summary(gains, fields)}


def _rater_lag(ctx: StepContext) -> dict[str, Any]:
    from muvi.annotations import agreement, agreement_summary, gold_standard
    from muvi.annotations import lag as lag_mod

    config, data, out = _config(ctx), ctx.data, ctx.out
    assert data.dynamic is not None, "rater lag needs dynamic ratings"
    lags = lag_mod.estimate_lags(
        data.dynamic, data.audio_features, data.visual_features, config.lag
    )
    distribution = lag_mod.lag_distribution(lags)
    _write(lags, table_path(out, "rater_lags"))
    _write(distribution, table_path(out, "rater_lag_distribution"))
    if ctx.figures:
        _save(lag_mod.lag_figure(lags), out, "rater_lags")
    summary = lag_mod.lag_summary(distribution)
    if config.lag_compensation != "none":
        shifted = lag_mod.lag_compensate(data.dynamic, lags, config.lag_compensation)
        _write(gold_standard(shifted), out / LAG_COMPENSATED_GOLD_FILE)
        before = agreement_summary(agreement(data.dynamic))
        after = agreement_summary(agreement(shifted))
        change = before.merge(
            after, on=["dimension", "modality", "n"], suffixes=("", "_compensated")
        )
        change["change"] = change["mean_compensated"] - change["mean"]
        _write(change, table_path(out, "lag_compensated_agreement"))
        summary["compensation"] = {
            "source": config.lag_compensation,
            "agreement_change": {
                f"{r['dimension']}/{r['modality']}": float(r["change"])
                for r in change.to_dict("records")
            },
        }
    return {"lag": summary}


def _modality_contribution(ctx: StepContext) -> dict[str, Any]:
    from muvi.annotations import gold_standard

    config, out = _config(ctx).contribution, ctx.out
    assert ctx.data.dynamic is not None, "the modality contribution needs dynamic ratings"
    gold = gold_standard(ctx.data.dynamic)
    table = contribution.modality_contribution(gold, config)
    dist = contribution.contribution_distribution(table, config)
    incongruent = contribution.incongruent_items(table, config.n_incongruent)
    _write(table, table_path(out, "modality_contribution"))
    _write(dist, table_path(out, "modality_contribution_distribution"))
    _write(incongruent, table_path(out, "incongruent_items"))
    if ctx.figures and len(table):
        _save(contribution.contribution_figure(table), out, "modality_contribution")
    return {"modality_contribution": contribution.contribution_summary(dist, incongruent)}


def _one_blas_thread(
    run: Callable[[StepContext], dict[str, Any]],
) -> Callable[[StepContext], dict[str, Any]]:
    """Run a step with BLAS on one thread (the permutation loops parallelise better)."""

    def wrapped(ctx: StepContext) -> dict[str, Any]:
        with static_prediction.one_blas_thread():
            return run(ctx)

    wrapped.__name__ = run.__name__
    wrapped.__doc__ = run.__doc__
    return wrapped


BEYOND_STEPS = (
    AnalysisStep(
        "item reliability of the labels",
        "beyond-static",
        _one_blas_thread(_reliability),
        tables=("item_reliability", "item_effect_tests", "item_share_agreement"),
        figures=("item_reliability",),
        summary_keys=("reliability",),
        section="reliability",
        needs=("gems",),
    ),
    AnalysisStep(
        "static emotion from the features",
        "beyond-static",
        _one_blas_thread(_static_prediction),
        tables=("static_prediction",),
        figures=("static_prediction_*",),
        summary_keys=("static_prediction",),
        section="static prediction",
        needs=("gems",),
    ),
    AnalysisStep(
        "personalised perception",
        "beyond-static",
        _one_blas_thread(_personalised),
        tables=("personalised_gains", "personalised_fields"),
        figures=("personalised_gains",),
        summary_keys=("personalised",),
        section="personalised",
        needs=("gems", "participants"),
    ),
    AnalysisStep(
        "rater lag",
        "beyond-dynamic",
        _one_blas_thread(_rater_lag),
        tables=("rater_lags", "rater_lag_distribution", "lag_compensated_agreement"),
        figures=("rater_lags",),
        summary_keys=("lag",),
        section="lag",
        needs=("raters",),
    ),
    AnalysisStep(
        "which modality carries the audiovisual rating",
        "beyond-dynamic",
        _one_blas_thread(_modality_contribution),
        tables=("modality_contribution", "modality_contribution_distribution", "incongruent_items"),
        figures=("modality_contribution",),
        summary_keys=("modality_contribution",),
        section="modality contribution",
        needs=("visual",),
    ),
)
"""The five analyses beyond the paper, in the order they run."""


def _run(
    stage: str,
    data: MuviDataset,
    out: Path,
    step: Callable[[str], None],
    figures: bool,
    config: BeyondConfig,
) -> dict[str, Any]:
    from muvi.analysis.steps import run_stage

    context = StepContext(data, pd.DataFrame(), Path(out), figures=figures, beyond=config)
    return run_stage(stage, context, step)


def beyond_static(
    data: MuviDataset, out: Path, step: Callable[[str], None], figures: bool, config: BeyondConfig
) -> dict[str, Any]:
    """The ``beyond-static`` steps (parts 0, 1, 2) on a quality-filtered study;
    returns their keys of the ``beyond`` block."""
    return _run("beyond-static", data, out, step, figures, config)


def beyond_dynamic(
    data: MuviDataset, out: Path, step: Callable[[str], None], figures: bool, config: BeyondConfig
) -> dict[str, Any]:
    """The ``beyond-dynamic`` steps (parts 3, 4) on a quality-filtered study with
    dynamic ratings; returns their keys of the ``beyond`` block."""
    return _run("beyond-dynamic", data, out, step, figures, config)
