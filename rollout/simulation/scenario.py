"""Scenario files: the TOML schema of a simulated world, read and validated up front.

A scenario file says how to draw a population of customers (generated covariates, or rows
resampled from a cohort), how the historical campaign chose whom to target (a propensity), what
the campaign truly does to each customer (the CATE as a formula), the baseline outcome and its
noise, the campaign economics, how an A/B test's returns drift from history, and the realized
truth the file promises (``[expect]``). Every field is documented in ``scenarios/README.md``.

Everything a user can get wrong (a missing field, a wrong type, an unknown name in a formula, a
share outside [0, 1]) raises :class:`~rollout.errors.InputError` naming the file and the field,
before anything is drawn or written.

Examples
--------
>>> scenario = load_scenario("homogeneous")
>>> scenario.kind, scenario.outcomes[0].name
('world', 'purchase_amount')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollout.common.toml_files import (
    WORLD_KIND,
    TomlTable,
    bundled_scenario_dir,  # noqa: F401  (re-exported: part of this module's API)
    check_identifier,
    list_scenarios,  # noqa: F401  (re-exported)
    resolve_scenario_path,
)
from rollout.common.toml_files import read_toml as _read_toml
from rollout.errors import InputError
from rollout.simulation.expressions import Expression, parse_expression

KNOWN_KINDS = ("world", "breakeven_grid")

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "lognormal": ("meanlog", "sdlog"),
    "poisson": ("rate",),
    "negative_binomial": ("mean", "dispersion"),
    "beta": ("mean", "concentration"),
    "uniform": ("low", "high"),
    "bernoulli": ("p",),
    "formula": ("value",),
    "dirichlet": ("weights", "concentration"),
}
"""Covariate distributions and the parameters (formulas) each one takes."""

NOISES = ("normal", "student_t", "lognormal")
COUNT_DISTRIBUTIONS = ("poisson", "negative_binomial")
EXPECTED_QUANTITIES = (
    "ate", "att", "ato", "ps_auc", "share_positive", "treated_share",
    "oracle_policy_value", "oracle_share_targeted",
)
"""Quantities an ``[expect]`` table may promise (see :meth:`World.truth_summary`)."""

MAX_CUSTOMERS = 20_000_000
"""Largest world drawn in one go (about 3 GB of columns); draw bigger ones in parts."""

RESERVED_NAMES = frozenset({"customer_id", "treatment", "mu0", "mu1", "true_cate", "propensity",
                            "arm", "segment"})


@dataclass(frozen=True)
class CovariateSpec:
    """One generated column (or, for ``dirichlet``, a group of share columns)."""

    names: tuple[str, ...]
    distribution: str
    params: dict[str, Expression | tuple[Expression, ...]]
    hidden: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CovariatesSpec:
    """Where covariates come from: latent factors plus generated columns, or a resampled cohort."""

    source: str
    latent: tuple[str, ...]
    columns: tuple[CovariateSpec, ...]
    cohort_path: Path | None = None
    cohort_columns: tuple[str, ...] | None = None
    sampling: str = "bootstrap"
    cohort_size: int | None = None


@dataclass(frozen=True)
class TargetingSpec:
    """The historical targeting rule: a propensity formula, or a score with an overlap knob."""

    score: Expression | None
    strength: float
    treated_share: float
    propensity: Expression | None
    clip: tuple[float, float]


@dataclass(frozen=True)
class OutcomeSpec:
    """An outcome: its baseline ``mu0``, its true effect ``cate`` and how it is drawn."""

    name: str
    type: str  # "amount", "count" or "binary"
    mu0: Expression
    cate: Expression
    noise: str
    scale: float
    df: float
    dispersion: float | None
    pre_name: str | None
    pre_mean: Expression | None
    pre_correlation: float


@dataclass(frozen=True)
class SegmentRule:
    label: str
    when: Expression


@dataclass(frozen=True)
class SegmentsSpec:
    """Labels by first matching rule, else ``default``."""

    default: str
    rules: tuple[SegmentRule, ...]


@dataclass(frozen=True)
class ABTestSpec:
    """Drift between history and the A/B test (1 and 0 mean none)."""

    effect_multiplier: float = 1.0
    baseline_multiplier: float = 1.0
    baseline_shift: float = 0.0


@dataclass(frozen=True)
class Expectation:
    value: float
    tolerance: float


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file. Load with :func:`load_scenario`."""

    name: str
    description: str
    n: int
    covariates: CovariatesSpec
    targeting: TargetingSpec
    outcomes: tuple[OutcomeSpec, ...]
    segments: SegmentsSpec | None
    cost: float | None
    margin: float | None
    ab_test: ABTestSpec
    expect: dict[str, Expectation]
    expect_seed: int
    path: Path | None = None
    kind: str = WORLD_KIND
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def primary(self) -> OutcomeSpec:
        """The first outcome: the one the true CATE, breakeven and policy value refer to."""
        return self.outcomes[0]

    @property
    def breakeven(self) -> float | None:
        """The CATE above which targeting pays: cost / margin (None without economics)."""
        if self.cost is None or self.margin is None:
            return None
        return self.cost / self.margin

    @property
    def visible_covariates(self) -> tuple[str, ...]:
        """Covariate columns that appear in the cohort (latent factors and hidden ones do not)."""
        spec = self.covariates
        base = spec.cohort_columns if spec.source == "cohort" and spec.cohort_columns else ()
        generated = tuple(n for c in spec.columns for n in c.names if n not in c.hidden)
        return tuple(base) + generated


def load_scenario(path_or_name: str | Path | Scenario,
                  cohort: str | Path | None = None) -> Scenario:
    """Read and validate a world scenario from a TOML file or a bundled name.

    ``cohort`` overrides the cohort file of a scenario whose covariates are resampled from one.
    Raises :class:`InputError` naming the file and field at the first problem.
    """
    if isinstance(path_or_name, Scenario):
        if cohort is None:
            return path_or_name
        return parse_scenario(path_or_name.raw, path=path_or_name.path, cohort=cohort)
    path = resolve_scenario_path(path_or_name)
    doc = _read_toml(path)
    return parse_scenario(doc, path=path, cohort=cohort)


class _Table(TomlTable):
    """A scenario table: TOML access plus formulas and column names."""

    def formula(self, key: str, required: bool = True) -> Expression | None:
        value = self.raw(key, required)
        if value is None:
            return None
        return parse_expression(value, field=self.path(key), file=self.file)

    def names(self, key: str, required: bool = True) -> tuple[str, ...] | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of names")
        for name in value:
            _check_identifier(name, self.path(key), self.file)
        return tuple(value)


def _check_identifier(name: str, where: str, file: str | None) -> None:
    check_identifier(name, where, file, reserved=RESERVED_NAMES)


def parse_scenario(doc: Mapping[str, Any], path: Path | None = None,
                   cohort: str | Path | None = None) -> Scenario:
    """Validate a parsed TOML document as a world scenario (see :func:`load_scenario`)."""
    file = str(path) if path is not None else None
    top = _Table(doc, "", file)
    kind = top.text("kind")
    if kind != WORLD_KIND:
        raise top.fail("kind", f"expected 'world' for a simulated world, got {kind!r}")
    name = top.text("name")
    description = top.text("description", required=False, default="")
    covariates = _parse_covariates(top.table("covariates"), path, cohort)
    every_row = covariates.sampling == "all"
    n = top.integer("n", required=not every_row, low=10)
    if every_row:
        if n is not None and n != covariates.cohort_size:
            raise top.fail("n", f"with sampling = 'all' the world has the cohort's "
                                f"{covariates.cohort_size} customers; omit n (got {n})")
        n = covariates.cohort_size
    if n > MAX_CUSTOMERS:
        raise top.fail("n", f"must be <= {MAX_CUSTOMERS:,}, got {n:,}")
    available = set(covariates.latent) | {n for c in covariates.columns for n in c.names}
    if covariates.source == "cohort":
        available |= set(covariates.cohort_columns or ())

    targeting = _parse_targeting(top.table("targeting"), available)
    outcome_tables = top.tables("outcomes")
    outcomes = tuple(_parse_outcome(t, available) for t in outcome_tables)
    columns = [o.name for o in outcomes] + [o.pre_name for o in outcomes if o.pre_name]
    clash = sorted({c for c in columns if columns.count(c) > 1 or c in available})
    if clash:
        raise top.fail("outcomes", f"column name {clash[0]!r} is used twice")
    segments_table = top.table("segments", required=False)
    segments = _parse_segments(segments_table, available) if segments_table else None

    economics = top.table("economics", required=False)
    cost = margin = None
    if economics is not None:
        cost = economics.number("cost", low=0.0)
        margin = economics.number("margin", low=0.0, high=1.0, low_open=True)
        economics.done()

    ab = top.table("ab_test", required=False)
    ab_test = ABTestSpec()
    if ab is not None:
        ab_test = ABTestSpec(
            effect_multiplier=ab.number("effect_multiplier", required=False, default=1.0),
            baseline_multiplier=ab.number("baseline_multiplier", required=False, default=1.0,
                                          low=0.0),
            baseline_shift=ab.number("baseline_shift", required=False, default=0.0),
        )
        ab.done()

    expect, expect_seed = _parse_expect(top.table("expect", required=False))
    top.done()
    return Scenario(
        name=name, description=description, n=n, covariates=covariates, targeting=targeting,
        outcomes=outcomes, segments=segments, cost=cost, margin=margin, ab_test=ab_test,
        expect=expect, expect_seed=expect_seed, path=path, raw=dict(doc),
    )


def _parse_covariates(table: _Table, path: Path | None, cohort: str | Path | None
                      ) -> CovariatesSpec:
    source = table.text("source", required=False, default="generated",
                        choices=("generated", "cohort"))
    latent = table.names("latent", required=False) or ()
    cohort_path = None
    cohort_columns = None
    cohort_size = None
    sampling = "bootstrap"
    if source == "cohort":
        given = table.text("cohort", required=cohort is None)
        if cohort is not None:
            cohort_path = Path(cohort)
        else:
            cohort_path = Path(given)
            if not cohort_path.is_absolute() and path is not None:
                cohort_path = path.parent / cohort_path
        sampling = table.text("sampling", required=False, default="bootstrap",
                              choices=("bootstrap", "all"))
        cohort_columns, cohort_size = _cohort_covariates(
            cohort_path, table.names("resample", required=False))
    else:
        for key in ("cohort", "resample", "sampling"):
            if table.has(key):
                raise table.fail(key, "only allowed with source = 'cohort'")
    available = set(latent) | set(cohort_columns or ())
    specs = []
    for column in table.tables("columns", required=source == "generated" and not latent):
        spec = _parse_covariate(column, available)
        available |= set(spec.names)
        specs.append(spec)
    table.done()
    return CovariatesSpec(source=source, latent=latent, columns=tuple(specs),
                          cohort_path=cohort_path, cohort_columns=cohort_columns,
                          sampling=sampling, cohort_size=cohort_size)


def _cohort_covariates(path: Path, columns: tuple[str, ...] | None
                       ) -> tuple[tuple[str, ...], int]:
    """The covariate columns to resample (those named, or the cohort's own) and its size."""
    from rollout.data.contract import load_cohort

    cohort = load_cohort(path)
    if columns is None:
        return tuple(cohort.roles.covariates), cohort.n
    for col in columns:
        if col not in cohort.frame.columns:
            raise InputError("covariate column not found in the cohort to resample",
                             file=path, column=col)
    return columns, cohort.n


def _parse_covariate(table: _Table, available: set[str]) -> CovariateSpec:
    distribution = table.text("distribution", choices=tuple(DISTRIBUTIONS))
    if distribution == "dirichlet":
        names = table.names("names")
        weights_raw = table.raw("weights")
        if not isinstance(weights_raw, list) or len(weights_raw) != len(names):
            raise table.fail("weights", f"expected a list of {len(names)} formulas, one per name")
        weights = tuple(parse_expression(w, field=f"{table.path('weights')}[{i}]",
                                         file=table.file) for i, w in enumerate(weights_raw))
        concentration = table.formula("concentration")
        for expr in (*weights, concentration):
            expr.check_names(available)
        params: dict[str, Expression | tuple[Expression, ...]] = {
            "weights": weights, "concentration": concentration}
    else:
        names = (table.text("name"),)
        _check_identifier(names[0], table.path("name"), table.file)
        params = {}
        for key in DISTRIBUTIONS[distribution]:
            expr = table.formula(key)
            expr.check_names(available)
            params[key] = expr
    for name in names:
        if name in available:
            raise table.fail("name", f"column {name!r} is defined twice")
    hidden_raw = table.raw("hidden", required=False, default=False)
    if isinstance(hidden_raw, bool):
        hidden = frozenset(names) if hidden_raw else frozenset()
    elif isinstance(hidden_raw, list) and all(h in names for h in hidden_raw):
        hidden = frozenset(hidden_raw)
    else:
        raise table.fail("hidden", f"expected true, false or a list of names among {list(names)}")
    table.done()
    return CovariateSpec(names=names, distribution=distribution, params=params, hidden=hidden)


def _parse_targeting(table: _Table, available: set[str]) -> TargetingSpec:
    clip_raw = table.raw("clip", required=False, default=[0.0, 1.0])
    if (not isinstance(clip_raw, list) or len(clip_raw) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in clip_raw)):
        raise table.fail("clip", "expected [low, high] probabilities")
    low, high = float(clip_raw[0]), float(clip_raw[1])
    if not 0.0 <= low < high <= 1.0:
        raise table.fail("clip", f"needs 0 <= low < high <= 1, got [{low}, {high}]")
    if table.has("propensity"):
        propensity = table.formula("propensity")
        propensity.check_names(available)
        for key in ("score", "strength", "treated_share"):
            if table.has(key):
                raise table.fail(key, "give either 'propensity' or 'score', not both")
        table.done()
        return TargetingSpec(None, 0.0, float("nan"), propensity, (low, high))
    score = table.formula("score")
    score.check_names(available)
    strength = table.number("strength", low=0.0)
    treated_share = table.number("treated_share", low=0.0, high=1.0)
    if not 0.0 < treated_share < 1.0:
        raise table.fail("treated_share", f"must be strictly between 0 and 1, got {treated_share}")
    table.done()
    return TargetingSpec(score, strength, treated_share, None, (low, high))


def _parse_outcome(table: _Table, available: set[str]) -> OutcomeSpec:
    name = table.text("name")
    _check_identifier(name, table.path("name"), table.file)
    kind = table.text("type", required=False, default="amount",
                      choices=("amount", "count", "binary"))
    mu0 = table.formula("mu0")
    mu0.check_names(available)
    cate = table.formula("cate")
    cate.check_names(available | {"mu0"})
    dispersion = None
    if kind == "amount":
        noise = table.text("noise", required=False, default="normal", choices=NOISES)
        scale = table.number("scale", low=0.0)
        df = table.number("df", required=noise == "student_t", default=float("inf"), low=2.0,
                          low_open=True)
        if noise != "student_t" and table.has("df"):
            raise table.fail("df", "only used with noise = 'student_t'")
    elif kind == "binary":
        noise, scale, df = "bernoulli", 0.0, float("inf")
    else:
        noise = table.text("distribution", required=False, default="poisson",
                           choices=COUNT_DISTRIBUTIONS)
        scale, df = 0.0, float("inf")
        dispersion = table.number("dispersion", required=noise == "negative_binomial",
                                  low=0.0, low_open=True)
    pre_name = table.text("pre_period", required=False)
    pre_mean = None
    pre_correlation = 0.0
    if pre_name is not None:
        _check_identifier(pre_name, table.path("pre_period"), table.file)
        pre_mean = table.formula("pre_mean", required=False) or parse_expression(
            "mu0", field=table.path("pre_mean"), file=table.file)
        pre_mean.check_names(available | {"mu0"})
        if kind == "amount":
            pre_correlation = table.number("pre_correlation", required=False, default=0.0,
                                           low=-1.0, high=1.0)
    for key in ("pre_mean", "pre_correlation"):
        if table.has(key) and (pre_name is None or (key == "pre_correlation" and kind != "amount")):
            raise table.fail(key, "needs 'pre_period' (and pre_correlation an amount outcome)")
    table.done()
    return OutcomeSpec(name=name, type=kind, mu0=mu0, cate=cate, noise=noise, scale=scale,
                       df=df, dispersion=dispersion, pre_name=pre_name, pre_mean=pre_mean,
                       pre_correlation=pre_correlation)


def _parse_segments(table: _Table, available: set[str]) -> SegmentsSpec:
    default = table.text("default")
    rules = []
    for rule in table.tables("rules", required=False):
        label = rule.text("label")
        when = rule.formula("when")
        when.check_names(available)
        rule.done()
        rules.append(SegmentRule(label, when))
    table.done()
    return SegmentsSpec(default=default, rules=tuple(rules))


def _parse_expect(table: _Table | None) -> tuple[dict[str, Expectation], int]:
    if table is None:
        return {}, 0
    seed = table.integer("seed", required=False, default=0, low=0)
    expect = {}
    for key in EXPECTED_QUANTITIES:
        entry = table.table(key, required=False)
        if entry is None:
            continue
        expect[key] = Expectation(value=entry.number("value"),
                                  tolerance=entry.number("tolerance", low=0.0))
        entry.done()
    table.done()
    return expect, seed
