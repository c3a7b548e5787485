"""Draw a world from a scenario: customers, historical targeting, outcomes, and the truth.

A :class:`World` holds what an analyst would see (``cohort``, in the cohort contract, ready for
``rollout analyze``) beside what only a simulation knows (``truth``: each customer's true CATE,
propensity and potential-outcome means). Every correctness claim of the package is checked by
estimating on ``cohort`` and comparing with ``truth``.

Examples
--------
>>> world = simulate_world("homogeneous", seed=1, n=500)
>>> world.cohort.n, world.cohort.roles.outcomes[0]
(500, 'purchase_amount')
>>> round(world.truth_summary().ate, 6) == round(float(world.truth["true_cate"].mean()), 6)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.data.contract import Cohort, CohortRoles, load_cohort
from rollout.errors import InputError
from rollout.simulation.draws import (
    draw_amount_outcome,
    draw_binary_outcome,
    draw_count_outcome,
    draw_covariate,
    propensity_from_targeting,
    require_valid_mean,
    stream,
)
from rollout.simulation.scenario import MAX_CUSTOMERS, OutcomeSpec, Scenario, load_scenario
from rollout.simulation.truth import TruthSummary, summarize_truth

Array = np.ndarray


@dataclass(frozen=True)
class World(DisplayMixin):
    """One draw of a scenario.

    ``cohort`` is what an analyst sees; ``truth`` has one row per customer (same order) with
    ``customer_id``, ``true_cate``, ``propensity``, ``mu0``, ``mu1`` for the primary outcome and
    ``true_cate_<name>``, ``mu0_<name>``, ``mu1_<name>`` for any other outcome. ``covariates``
    holds every covariate column including latent and hidden ones (for drawing A/B returns).
    ``truth_summary()`` gives the realized estimands as a typed :class:`TruthSummary`;
    ``summary()`` shows them as a table, one row per quantity.
    """

    scenario: Scenario
    seed: int
    cohort: Cohort
    truth: pd.DataFrame
    covariates: pd.DataFrame

    @property
    def outcome(self) -> str:
        """Name of the primary outcome."""
        return self.scenario.primary.name

    def to_dict(self) -> dict[str, Any]:
        """The scenario, seed, primary outcome, size and the truth of the primary outcome."""
        return {"scenario": self.scenario.name, "seed": self.seed, "outcome": self.outcome,
                "n": self.cohort.n, "truth": self.truth_summary().to_dict()}

    def summary(self) -> pd.DataFrame:
        """The realized truth of the primary outcome, one row per quantity."""
        return self.truth_summary().summary()

    def truth_summary(self, outcome: str | None = None) -> TruthSummary:
        """True ATE/ATT/ATO, propensity AUC, share with a positive effect, oracle policy value.

        ``outcome`` picks another outcome than the primary one; the campaign economics (and so
        the policy values) refer to the primary outcome only.
        """
        names = [o.name for o in self.scenario.outcomes]
        outcome = outcome or names[0]
        if outcome not in names:
            raise InputError(f"unknown outcome {outcome!r}; this world has {names}")
        primary = outcome == names[0]
        cate_column = truth_columns(self.scenario.outcomes[names.index(outcome)], primary)[0]
        return summarize_truth(
            self.truth[cate_column].to_numpy(),
            self.truth["propensity"].to_numpy(),
            self.cohort.treatment,
            cost=self.scenario.cost if primary else None,
            margin=self.scenario.margin if primary else None,
        )


def truth_columns(spec: OutcomeSpec, primary: bool) -> tuple[str, str, str]:
    """Names of the (cate, mu0, mu1) truth columns of an outcome."""
    if primary:
        return "true_cate", "mu0", "mu1"
    return f"true_cate_{spec.name}", f"mu0_{spec.name}", f"mu1_{spec.name}"


@dataclass(frozen=True)
class Customers:
    """The drawn customers: every covariate column, their ids, and a segment from the source."""

    covariates: pd.DataFrame
    ids: np.ndarray
    source_segment: np.ndarray | None = None


def draw_customers(scenario: Scenario, seed: int, n: int) -> Customers:
    """Every covariate column (latent, resampled, generated, hidden or not) for ``n`` customers.

    Generated worlds number customers 1..n. A resampled cohort is bootstrapped (new ids 1..n),
    or with ``sampling = "all"`` taken whole, in order, keeping its customer ids; its segment
    column comes along when it has one.
    """
    spec = scenario.covariates
    rng = stream(seed, "covariates")
    env: dict[str, Array] = {}
    ids = np.arange(1, n + 1, dtype=np.int64)
    source_segment = None
    if spec.source == "cohort":
        assert spec.cohort_path is not None and spec.cohort_columns is not None
        cohort = load_cohort(spec.cohort_path)
        source = cohort.frame
        if spec.sampling == "all":
            if n != len(source):
                raise InputError(f"sampling = 'all' draws the cohort's {len(source)} customers; "
                                 f"n cannot be {n}", file=scenario.path)
            rows = np.arange(len(source))
            ids = source[cohort.roles.id].to_numpy()
        else:
            rows = rng.integers(0, len(source), size=n)
        for col in spec.cohort_columns:
            values = source[col].to_numpy()
            if not np.issubdtype(values.dtype, np.number):
                raise InputError("covariates to resample must be numeric", file=spec.cohort_path,
                                 column=col)
            env[col] = values[rows].astype(float)
        if cohort.roles.segment:
            source_segment = source[cohort.roles.segment].to_numpy()[rows]
    if spec.latent:
        draws = rng.standard_normal((n, len(spec.latent)))
        for i, name in enumerate(spec.latent):
            env[name] = draws[:, i]
    for column in spec.columns:
        env.update(draw_covariate(column, env, n, rng))
    return Customers(pd.DataFrame(env), ids, source_segment)


def assign_segments(scenario: Scenario, env: dict[str, Array], n: int) -> Array | None:
    """Segment labels: the first rule that holds, else the default (None without segments)."""
    if scenario.segments is None:
        return None
    labels = np.full(n, scenario.segments.default, dtype=object)
    unassigned = np.ones(n, dtype=bool)
    for rule in scenario.segments.rules:
        hit = unassigned & (rule.when.evaluate(env, n) != 0)
        labels[hit] = rule.label
        unassigned &= ~hit
    return labels


def potential_means(spec: OutcomeSpec, env: dict[str, Array], n: int) -> tuple[Array, Array]:
    """The outcome's mean without (``mu0``) and with (``mu1``) the campaign, per customer."""
    mu0 = spec.mu0.evaluate(env, n)
    cate = spec.cate.evaluate({**env, "mu0": mu0}, n)
    mu1 = mu0 + cate
    if spec.type != "amount":
        require_valid_mean(mu0, "mu0", spec)
        require_valid_mean(mu1, "mu0 + cate", spec)
    return mu0, mu1


def draw_outcomes(
    scenario: Scenario,
    env: dict[str, Array],
    mu: dict[str, tuple[Array, Array]],
    treatment: Array,
    rng: np.random.Generator,
) -> dict[str, Array]:
    """Realized outcomes (and pre-period values) given treatment and potential-outcome means."""
    n = len(treatment)
    columns: dict[str, Array] = {}
    for spec in scenario.outcomes:
        mu0, mu1 = mu[spec.name]
        mean = np.where(treatment == 1, mu1, mu0)
        pre_mean = None
        if spec.pre_mean is not None:
            pre_mean = spec.pre_mean.evaluate({**env, "mu0": mu0}, n)
            if spec.type != "amount":
                require_valid_mean(pre_mean, "pre_mean", spec)
        if spec.type == "count":
            outcome, pre = draw_count_outcome(spec, mean, pre_mean, rng)
        elif spec.type == "binary":
            outcome, pre = draw_binary_outcome(mean, pre_mean, rng)
        else:
            outcome, pre = draw_amount_outcome(spec, mean, pre_mean, rng,
                                               field=f"outcomes.{spec.name}")
        columns[spec.name] = outcome
        if spec.pre_name is not None and pre is not None:
            columns[spec.pre_name] = pre
    return columns


def simulate_world(scenario: Scenario | str | Path, seed: int = 0, n: int | None = None,
                   cohort: str | Path | None = None) -> World:
    """Draw customers, historical targeting and outcomes from a scenario, with the truth.

    ``scenario`` is a :class:`Scenario`, a path, or a bundled name such as
    ``"overlap_violation"``; ``n`` overrides the scenario's population size; ``cohort`` overrides
    the file resampled by a scenario with ``source = "cohort"``. Same arguments, same world.
    """
    scenario = load_scenario(scenario, cohort=cohort)
    n = scenario.n if n is None else n
    if scenario.covariates.sampling == "all" and n != scenario.n:
        raise InputError(f"sampling = 'all' draws the cohort's {scenario.n} customers; "
                         f"n cannot be {n}", file=scenario.path)
    if (isinstance(n, bool) or not isinstance(n, (int, np.integer))
            or not 10 <= n <= MAX_CUSTOMERS):
        raise InputError(f"n must be an integer from 10 to {MAX_CUSTOMERS:,}, got {n!r}")
    n = int(n)
    customers = draw_customers(scenario, seed, n)
    covariates = customers.covariates
    env = {c: covariates[c].to_numpy() for c in covariates.columns}

    propensity = propensity_from_targeting(scenario.targeting, env, n)
    treatment = (stream(seed, "treatment").random(n) < propensity).astype(np.int8)
    if treatment.all() or not treatment.any():
        raise InputError(
            f"the drawn history has only {'treated' if treatment.all() else 'control'} customers; "
            "raise n or move targeting.treated_share away from 0 and 1",
            file=scenario.path,
        )

    mu = {spec.name: potential_means(spec, env, n) for spec in scenario.outcomes}
    outcomes = draw_outcomes(scenario, env, mu, treatment, stream(seed, "outcomes"))
    customer_id = customers.ids

    frame = pd.DataFrame({"customer_id": customer_id, "treatment": treatment})
    for name, values in outcomes.items():
        frame[name] = values
    segments = assign_segments(scenario, env, n)
    if segments is None:
        segments = customers.source_segment
    if segments is not None:
        frame["segment"] = segments
    visible = scenario.visible_covariates
    for col in visible:
        frame[col] = covariates[col].to_numpy()

    roles = CohortRoles(
        outcomes=tuple(o.name for o in scenario.outcomes),
        covariates=visible,
        segment="segment" if segments is not None else None,
        pre_outcomes={o.name: o.pre_name for o in scenario.outcomes if o.pre_name},
    )
    source = f"simulated:{scenario.name}:seed={seed}:n={n}"
    cohort = Cohort.from_frame(frame, roles=roles, source=source)

    truth = pd.DataFrame({"customer_id": customer_id})
    for i, spec in enumerate(scenario.outcomes):
        cate_col, mu0_col, mu1_col = truth_columns(spec, primary=i == 0)
        mu0, mu1 = mu[spec.name]
        truth[cate_col] = mu1 - mu0
        if i == 0:
            truth["propensity"] = propensity
        truth[mu0_col] = mu0
        truth[mu1_col] = mu1
    return World(scenario=scenario, seed=int(seed), cohort=cohort, truth=truth,
                 covariates=covariates)
