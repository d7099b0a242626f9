"""Reproducing the paper: the grid under each profile and departure, side by side.

:func:`reproduce` trains the grid's networks under several *variants* and
compares each with the ``reference-code`` profile (the authors' published
code, :mod:`muvi.models.reference_code`, without its two defects):

- ``paper``: the paper's text (muvi's default profile);
- ``reference-code``: the code's settings; every change is measured from it;
- one variant per departure of :data:`muvi.models.profiles.DEPARTURES`, each
  the reference-code profile with that one setting switched to the paper's
  (:func:`muvi.models.profiles.switch_departure`);
- one variant per defect of :data:`muvi.models.reference_code.DEFECTS`, the
  reference-code profile with that defect replicated alone;
- ``published``: the reference-code profile with both defects, i.e. what the
  code as published ran to make the paper's tables.

Only the networks are trained: the LASSO baseline is the same under every
variant (no profile setting touches it), so it is not run here (``muvi
evaluate`` runs it).

For each experiment, network and dimension the table gives, per variant,
the CCC and the errors (MSE and RMSE, and the *printed* error: the MSE where
the profile prints the code's metric, the RMSE otherwise), the change of
each from the reference-code profile, and paired t-tests
(``scipy.stats.ttest_rel``) against it over test items. With several seeds
every network is trained once per seed (in the same stacks,
:func:`muvi.models.cv.fit_grid_networks`); the table gives the mean over
items of each item's mean over seeds, the standard deviation over seeds of
the per-seed means (``ddof=1``), and the t-tests run on the per-item means
over seeds.

Pairing: a test item of a fold is paired with the same item of the same fold
under the reference-code profile. Under ``chunked-scoring`` the scored units
are the code's chunks of 111 windows, not items: chunk ``j`` of a fold holds
the last ``3j`` windows of test item ``j - 1`` and the first ``111 - 3j`` of
item ``j``, and the code labels it with item ``j`` (one chunk per item). The
chunk is paired with the item whose label it carries, so each pair compares
mostly the same windows (all of them for ``j = 0``, 87 of 111 at ``j = 8``);
the pairs are approximate for the later chunks of a fold, and the t-test
then measures the effect of the code's scoring on the numbers it labels
with each item.

Variants whose networks are the same as another's are not trained again:
``metric`` changes only what is printed, and ``chunked-scoring`` only how the
test windows are scored, so they re-score the networks of ``reference-code``
(and ``published`` those of ``pair-leak``). Their pairs with the reference
then differ only by what the variant changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from muvi.errors import MuviError
from muvi.models.cv import StudyData, fit_grid_networks, run_evaluation
from muvi.models.folds import cv_folds
from muvi.models.grid import EvaluationConfig
from muvi.models.human import HUMAN_TEST, human_tests
from muvi.models.profiles import DEPARTURES, printed_error, profile_config, switch_departure
from muvi.models.reference_code import CHUNKED_SCORING, DEFECTS, defect_notice, parse_names
from muvi.models.scoring import paired_ttest

REFERENCE = "reference-code"
"""The variant every change is measured from."""
PUBLISHED = "published"
"""The reference-code profile with both defects (what the published code ran)."""

VARIANTS: tuple[str, ...] = ("paper", REFERENCE, *DEPARTURES, *DEFECTS, PUBLISHED)
"""Every variant, in the order of the tables."""

METRICS = ("ccc", "mse", "rmse")
"""Per-item metrics compared (the printed error is one of the last two)."""

ITEM_KEYS = ["fold", "media_id"]
"""What pairs a variant's scored unit with the reference's."""

GROUP_KEYS = ["name", "experiment", "model", "target_modality", "features", "dimension"]


class ReproduceError(MuviError, ValueError):
    """A reproduction option is not understood (unknown variant, no seeds)."""


_PAPER_SETTING = {
    "block": "block (no dense projection, two LSTM layers of equal width)",
    "initialisers": "initialisers and Adam (PyTorch's defaults, epsilon 1e-8)",
    "batch-sizes": "batch size for A2 and PAIR (the same as for the others)",
    "restore-best": "early stopping (the best epoch's weights are scored)",
    "metric": "metric (the RMSE is printed)",
    "scaling-rows": "scaling rows (every feature row of the training items)",
}


def _describe(name: str) -> str:
    if name == "paper":
        return "the paper's text (muvi's default profile)"
    if name == REFERENCE:
        return "the authors' published code without its defects (every change is from it)"
    if name in DEPARTURES:
        return f"reference-code with the paper's {_PAPER_SETTING[name]}, all else the code's"
    if name in DEFECTS:
        return f"reference-code with the {name} defect replicated"
    return "reference-code with both defects replicated: what the published code ran"


@dataclass(frozen=True)
class Variant:
    """One configuration of the comparison.

    Attributes:
        name: one of :data:`VARIANTS`.
        description: what it is, in words.
        config: the grid's configuration under it.
    """

    name: str
    description: str
    config: EvaluationConfig

    @property
    def defects(self) -> frozenset[str]:
        """The defects it replicates."""
        return frozenset(getattr(self.config, "defects", frozenset()))

    @property
    def printed(self) -> str:
        """The error it prints: ``mse`` or ``rmse``."""
        return printed_error(self.config)

    @property
    def notice(self) -> str:
        """The defect notice (empty without defects)."""
        return defect_notice(self.defects)


def parse_variants(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Variants named in a comma-separated list, in :data:`VARIANTS` order,
    with ``reference-code`` always included (every change is measured from it).

    Raises:
        ReproduceError: a name is not a variant.

    Examples:
        >>> parse_variants("block,paper")
        ('paper', 'reference-code', 'block')
        >>> parse_variants(None) == VARIANTS
        True
    """
    if text is None:
        return VARIANTS
    chosen = parse_names(text, VARIANTS, "variant", ReproduceError) | {REFERENCE}
    return tuple(v for v in VARIANTS if v in chosen)


def variants(base: EvaluationConfig, names: Sequence[str] = VARIANTS) -> list[Variant]:
    """The configurations of the chosen variants, composed with ``base``.

    Args:
        base: what to run and how (experiments, dimensions, epochs, device,
            precision, reduced sizes...); its profile settings are replaced.
        names: variants (:func:`parse_variants`).

    Returns:
        One :class:`Variant` per name, networks only (``models=("lstm",)``).
    """
    base = replace(base, models=("lstm",))
    paper = profile_config("paper", base)
    reference = profile_config(REFERENCE, base)
    out = []
    for name in names:
        if name == "paper":
            config = paper
        elif name == REFERENCE:
            config = reference
        elif name in DEPARTURES:
            config = switch_departure(reference, name)
        elif name in DEFECTS:
            config = replace(reference, defects=frozenset({name}))
        elif name == PUBLISHED:
            config = replace(reference, defects=frozenset(DEFECTS))
        else:
            raise ReproduceError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
        out.append(Variant(name, _describe(name), config))
    return out


def _training_twin(config: EvaluationConfig, others: dict[str, EvaluationConfig]) -> str | None:
    """The variant whose trained networks ``config`` can re-score: the same
    configuration apart from the printed metric and the chunked scoring."""

    def trained(c: EvaluationConfig) -> EvaluationConfig:
        c = replace(c, defects=frozenset(set(c.defects) - {CHUNKED_SCORING}))
        return replace(c, reported_error="rmse")

    mine = trained(config)
    for name, other in others.items():
        if trained(other) == mine:
            return name
    return None


@dataclass
class ReproductionResults:
    """What :func:`reproduce` produced.

    Attributes:
        per_item: one row per variant, seed and scored unit: ``variant``,
            ``seed``, ``fold``, ``name``, ``experiment``, ``model``,
            ``target_modality``, ``features``, ``dimension``, ``media_id``,
            ``ccc``, ``mse``, ``rmse`` (and ``chunk`` under chunked scoring).
        variants: the variants run.
        seeds: the training seeds.
        simulated: the study was simulated.
        agreement: each annotation's leave-one-out CCC, for the human tests.
        seconds: wall time of each variant (training and scoring).
        retrained_from: variant -> the variant whose networks it re-scored.
    """

    per_item: pd.DataFrame
    variants: list[Variant]
    seeds: list[int]
    simulated: bool
    agreement: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    retrained_from: dict[str, str] = field(default_factory=dict)

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def item_means(self) -> pd.DataFrame:
        """Each scored unit's metrics averaged over seeds (``n_seeds`` beside)."""
        return item_means(self.per_item)

    def table(self) -> pd.DataFrame:
        """The comparison table (see :func:`reproduction_table`)."""
        printed = {v.name: v.printed for v in self.variants}
        table = reproduction_table(self.per_item, printed)
        labels = {v.name: v for v in self.variants}
        table.insert(1, "description", [labels[n].description for n in table["variant"]])
        table.insert(2, "defects", [",".join(sorted(labels[n].defects)) for n in table["variant"]])
        table["defect_notice"] = [labels[n].notice for n in table["variant"]]
        table["data"] = "SIMULATED" if self.simulated else "real"
        return table

    def human_tests(self) -> pd.DataFrame:
        """Model against human agreement per variant, on per-item means over seeds."""
        means = self.item_means()
        parts = []
        for v in self.variants:
            part = human_tests(means[means["variant"] == v.name], self.agreement)
            part.insert(0, "variant", v.name)
            parts.append(part)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_json(self) -> dict[str, Any]:
        """The ``reproduce.json`` document (before any paper block)."""
        from muvi.models.results import _records

        return {
            "simulated": self.simulated,
            "data": "SIMULATED" if self.simulated else "real",
            "reference": REFERENCE,
            "seeds": self.seeds,
            "lasso": "not run: no variant changes the LASSO baseline (muvi evaluate runs it)",
            "pairing": PAIRING,
            "variants": [
                {
                    "name": v.name,
                    "description": v.description,
                    "defects": sorted(v.defects),
                    "defect_notice": v.notice,
                    "printed_error": v.printed,
                    "seconds": self.seconds.get(v.name),
                    "rescored_networks_of": self.retrained_from.get(v.name),
                }
                for v in self.variants
            ],
            "table": _records(self.table()),
            "human_tests": {"test": HUMAN_TEST, "rows": _records(self.human_tests())},
        }


PAIRING = (
    "paired t-tests (scipy.stats.ttest_rel) over test units against the reference-code "
    "profile, paired by fold and item, on each unit's mean over seeds; under chunked-scoring "
    "the units are the code's chunks of 111 windows, each paired with the item whose label "
    "the code gives it (chunk j of a fold holds the last 3j windows of item j-1 and the first "
    "111-3j of item j)"
)
"""How the t-tests pair, in words, for every output that shows them."""


def item_means(per_item: pd.DataFrame) -> pd.DataFrame:
    """Per-unit means over seeds of the CCC, MSE and RMSE.

    Args:
        per_item: :attr:`ReproductionResults.per_item`.

    Returns:
        One row per (variant, network, dimension, fold, item) with the means
        and ``n_seeds``.
    """
    keys = ["variant", *GROUP_KEYS, *ITEM_KEYS]
    keys = [k for k in keys if k in per_item.columns]
    grouped = per_item.groupby(keys, sort=False)
    out = grouped[list(METRICS)].mean()
    out["n_seeds"] = grouped["seed"].nunique()
    return out.reset_index()


def reproduction_table(
    per_item: pd.DataFrame, printed: dict[str, str], reference: str = REFERENCE
) -> pd.DataFrame:
    """The comparison of every variant with the reference, per network and dimension.

    Args:
        per_item: one row per variant, seed and scored unit (``variant``,
            ``seed``, the keys of :data:`GROUP_KEYS` and :data:`ITEM_KEYS`,
            ``ccc``, ``mse``, ``rmse``).
        printed: variant -> the error it prints (``mse`` or ``rmse``).
        reference: the variant changes are measured from.

    Returns:
        One row per (variant, network, dimension): ``n_items``, ``n_seeds``;
        for each metric ``m`` of ``ccc``, ``mse``, ``rmse`` and the printed
        ``error``: ``m_mean`` (mean over units of the per-unit means over
        seeds), ``m_item_sd`` (over units, ``ddof=0`` as the code),
        ``m_seed_sd`` (over seeds of the per-seed means, ``ddof=1``; nan with
        one seed), ``d_m`` (change from the reference: difference of the
        means), ``d_m_seed_sd`` (sd over seeds of the per-seed change, seeds
        paired by their order); and for ``ccc``, ``mse``, ``rmse`` the paired
        t-test against the reference on per-unit means over seeds: ``m_t``,
        ``m_p``, ``m_n`` (pairs). ``printed_error`` names the printed
        error; ``d_error`` compares the printed numbers as printed (the
        reference prints the MSE).
    """
    data = per_item.copy()
    data["error"] = [
        row[printed[v]]
        for v, row in zip(data["variant"], data[["mse", "rmse"]].to_dict("records"), strict=True)
    ]
    metrics = [*METRICS, "error"]
    means = item_means_with_error(data)
    seeds_table = (
        data.groupby(["variant", "name", "dimension", "seed"], sort=True)[metrics]
        .mean()
        .reset_index()
    )

    def seed_rows(variant: str, name: str, dimension: str) -> pd.DataFrame:
        return seeds_table[
            (seeds_table["variant"] == variant)
            & (seeds_table["name"] == name)
            & (seeds_table["dimension"] == dimension)
        ]

    rows = []
    group_keys = [k for k in GROUP_KEYS if k in data.columns]
    for key, part in means.groupby(["variant", *group_keys], sort=False):
        variant, name = str(key[0]), str(key[1])
        dimension = str(part["dimension"].iloc[0])
        row: dict[str, Any] = dict(zip(["variant", *group_keys], key, strict=True))
        row["printed_error"] = printed[variant]
        row["n_items"] = len(part)
        row["n_seeds"] = int(part["n_seeds"].max())
        ref = means[
            (means["variant"] == reference)
            & (means["name"] == name)
            & (means["dimension"] == dimension)
        ]
        paired = part.merge(ref, on=ITEM_KEYS, suffixes=("", "_ref"))
        per_seed = seed_rows(variant, name, dimension)
        ref_seed = seed_rows(reference, name, dimension)
        for m in metrics:
            values = part[m].to_numpy(dtype=float)
            row[f"{m}_mean"] = float(np.nanmean(values)) if values.size else float("nan")
            row[f"{m}_item_sd"] = float(np.nanstd(values)) if values.size else float("nan")
            seed_means = per_seed[m].to_numpy(dtype=float)
            row[f"{m}_seed_sd"] = (
                float(np.std(seed_means, ddof=1)) if seed_means.size > 1 else float("nan")
            )
            ref_values = ref[m].to_numpy(dtype=float)
            row[f"d_{m}"] = (
                row[f"{m}_mean"] - float(np.nanmean(ref_values))
                if ref_values.size
                else float("nan")
            )
            same_seeds = list(ref_seed["seed"]) == list(per_seed["seed"])
            if same_seeds and len(per_seed) > 1:
                change = seed_means - ref_seed[m].to_numpy(dtype=float)
                row[f"d_{m}_seed_sd"] = float(np.std(change, ddof=1))
            else:
                row[f"d_{m}_seed_sd"] = float("nan")
            if m != "error":
                t, p, n = paired_ttest(
                    paired[m].to_numpy(dtype=float), paired[f"{m}_ref"].to_numpy(dtype=float)
                )
                row[f"{m}_t"], row[f"{m}_p"], row[f"{m}_n"] = t, p, n
        rows.append(row)
    return pd.DataFrame(rows)


def item_means_with_error(per_item: pd.DataFrame) -> pd.DataFrame:
    """:func:`item_means` with the printed ``error`` column averaged too."""
    keys = [k for k in ["variant", *GROUP_KEYS, *ITEM_KEYS] if k in per_item.columns]
    grouped = per_item.groupby(keys, sort=False)
    out = grouped[[*METRICS, "error"]].mean()
    out["n_seeds"] = grouped["seed"].nunique()
    return out.reset_index()


@dataclass
class ReproduceConfig:
    """What :func:`reproduce` runs.

    Attributes:
        base: the grid (experiments, dimensions, epochs, device, precision;
            :func:`muvi.models.grid.demo_config` for the demo's reduced
            sizes); each variant's profile settings replace its own.
        variants: the variants (:func:`parse_variants`; default all).
        seeds: training seeds; every network is trained once per seed.
    """

    base: EvaluationConfig = field(default_factory=EvaluationConfig)
    variants: tuple[str, ...] = VARIANTS
    seeds: tuple[int, ...] = (42,)

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ReproduceError("at least one seed is needed")
        self.variants = parse_variants(self.variants)


def seeds_from(n: int, first: int = 42) -> tuple[int, ...]:
    """``n`` consecutive seeds from ``first`` (the training default, 42).

    Examples:
        >>> seeds_from(3)
        (42, 43, 44)
    """
    if n < 1:
        raise ReproduceError(f"--seeds must be at least 1, not {n}")
    return tuple(range(first, first + n))


def reproduce(
    study: StudyData,
    config: ReproduceConfig | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> ReproductionResults:
    """Train and score the grid's networks under every chosen variant.

    Args:
        study: the prepared study (:func:`muvi.models.cv.prepare_study`).
        config: variants, seeds and the grid (default: every variant, one
            seed, the paper's sizes).
        on_progress: called with a line of progress (a variant started, a
            stack trained).

    Returns:
        The :class:`ReproductionResults`.
    """
    config = config or ReproduceConfig()
    chosen = variants(config.base, config.variants)
    seeds = list(config.seeds)
    folds = cv_folds(study.items)
    trained: dict[str, dict[Any, Any]] = {}
    configs: dict[str, EvaluationConfig] = {}
    parts = []
    seconds: dict[str, float] = {}
    twins: dict[str, str] = {}

    def say(text: str) -> None:
        if on_progress is not None:
            on_progress(text)

    for number, variant in enumerate(chosen, start=1):
        start = time.perf_counter()
        twin = _training_twin(variant.config, configs)
        head = f"variant {number}/{len(chosen)} {variant.name}"
        if twin is not None:
            say(f"{head}: re-scoring the networks of {twin} ({variant.description})")
            fitted = trained[twin]
            twins[variant.name] = twin
        else:
            say(f"{head}: training ({variant.description})")

            def stacked(what: str, n: int, took: float, head: str = head) -> None:
                say(f"{head}: {what} ({n} networks, {took:.1f} s)")

            fitted = fit_grid_networks(study, variant.config, folds, seeds=seeds, on_stack=stacked)
            trained[variant.name] = fitted
            configs[variant.name] = variant.config
        for seed in seeds:
            seeded = replace(variant.config, training=replace(variant.config.training, seed=seed))
            result = run_evaluation(study, seeded, prefitted=fitted)
            table = result.per_item.copy()
            if "mse" not in table.columns:  # per-item MSE is the square of the per-item RMSE
                table["mse"] = table["rmse"] ** 2
            table.insert(0, "seed", seed)
            table.insert(0, "variant", variant.name)
            parts.append(table)
        seconds[variant.name] = time.perf_counter() - start
        say(f"{head}: done in {seconds[variant.name]:.1f} s")
    return ReproductionResults(
        per_item=pd.concat(parts, ignore_index=True),
        variants=chosen,
        seeds=seeds,
        simulated=study.simulated,
        agreement=study.agreement,
        seconds=seconds,
        retrained_from=twins,
    )


# --- writing ---------------------------------------------------------------------------

REPRODUCE_FILES = {
    "results": "reproduce.json",
    "table": "reproduce_table.csv",
    "per_item": "reproduce_per_item.csv",
    "human_tests": "reproduce_human_tests.csv",
}


def table_file(name: str, dimension: str) -> str:
    """The CSV of one network and dimension, in ``tables/``.

    Examples:
        >>> table_file("exp7_pair", "arousal")
        'tables/exp7_pair_arousal.csv'
    """
    return f"tables/{name}_{dimension}.csv"


def write_reproduction(
    results: ReproductionResults,
    out_dir: str | Path,
    paper_column: Callable[[pd.DataFrame], list[str]] | None = None,
    blocks: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Path]:
    """Write ``reproduce.json``, the combined table, one table per network
    and dimension, the per-item values and the human tests.

    Args:
        results: the results.
        out_dir: the folder (created).
        paper_column: gives the paper's value for each row of the table (a
            ``paper`` column is added); None leaves it out.
        blocks: called with ``reproduce.json``'s document; the blocks it
            returns are added (the paper block).

    Returns:
        Key -> path (:data:`REPRODUCE_FILES`, plus ``tables``: the folder).
    """
    import json

    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in REPRODUCE_FILES.items()}
    table = results.table()
    if paper_column is not None:
        table["paper"] = paper_column(table)
    document = results.to_json()
    from muvi.models.results import _records

    document["table"] = _records(table)
    if blocks is not None:
        document.update(blocks(document))
    paths["results"].write_text(json.dumps(document, indent=2), encoding="utf-8")
    table.to_csv(paths["table"], index=False)
    per_item = results.per_item.copy()
    per_item["data"] = "SIMULATED" if results.simulated else "real"
    per_item["defects"] = [
        ",".join(sorted(results.variant(v).defects)) for v in per_item["variant"]
    ]
    per_item.to_csv(paths["per_item"], index=False)
    human = results.human_tests()
    human["data"] = "SIMULATED" if results.simulated else "real"
    human.to_csv(paths["human_tests"], index=False)
    for (name, dimension), part in table.groupby(["name", "dimension"], sort=False):
        part.to_csv(out / table_file(str(name), str(dimension)), index=False)
    paths["tables"] = out / "tables"
    return paths
