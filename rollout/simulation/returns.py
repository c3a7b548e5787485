"""A/B test returns for a world: the outcomes an assignment would have produced, and the truth.

Given a world and an assignment (``customer_id`` and ``arm``), every customer in a tested arm gets
a fresh test-period outcome drawn from the same true CATE as the history, adjusted by the
scenario's drift (``[ab_test]``: an effect multiplier, and a baseline multiplier and shift), plus
a pre-period value of the outcome for variance reduction. Customers with any other arm value (for
example ``holdout`` or ``not_in_test``) are not part of the test and get no row.

Examples
--------
>>> import pandas as pd
>>> world = simulate_world("homogeneous", seed=0, n=200)
>>> arms = ["treatment", "control", "holdout", "control"] * 50
>>> assignment = pd.DataFrame({"customer_id": world.cohort.frame["customer_id"], "arm": arms})
>>> returns = simulate_returns(world.scenario, assignment, seed=0, world=world)
>>> len(returns.data), sorted(returns.data["arm"].unique())
(150, ['control', 'treatment'])
>>> float(returns.truth["true_cate"].mean())
15.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.common.labels import check_arm_labels
from rollout.errors import InputError, shown
from rollout.simulation.draws import stream
from rollout.simulation.scenario import Scenario, load_scenario
from rollout.simulation.world import World, draw_outcomes, potential_means, simulate_world

RETURNS_SCHEMA = "rollout.returns/1"


@dataclass(frozen=True)
class ABReturns(DisplayMixin):
    """Returned A/B data and its truth.

    ``data``: one row per tested customer in assignment order, with the assignment's own columns
    (``customer_id``, ``arm``, any strata or phase), ``treatment`` (1 when the customer is treated:
the assignment's ``treat`` when it has one, else 1 for a treatment arm),
    the test-period outcomes, their pre-period values, the covariates and the segment.
    ``truth``: ``customer_id``, ``arm`` and the test-period ``true_cate``, ``mu0``, ``mu1`` (and
    ``true_cate_<name>`` etc. for other outcomes).
    """

    data: pd.DataFrame
    truth: pd.DataFrame
    outcomes: tuple[str, ...]
    pre_outcomes: dict[str, str]
    covariates: tuple[str, ...]

    def metadata(self) -> dict[str, object]:
        """Column roles stored with ``returns.parquet`` so readers never adjust for outcomes."""
        return {"schema": RETURNS_SCHEMA, "outcomes": list(self.outcomes),
                "pre_outcomes": dict(self.pre_outcomes), "covariates": list(self.covariates)}

    def to_dict(self) -> dict[str, float | int]:
        """Size of each arm and the true effects in the tested sample (``summary()``: one row)."""
        treated = self.data["treatment"].to_numpy() == 1
        cate = self.truth["true_cate"].to_numpy()
        return {
            "n": len(self.data),
            "n_treatment": int(treated.sum()),
            "n_control": int((~treated).sum()),
            "true_ate": float(cate.mean()),
            "true_att": float(cate[treated].mean()) if treated.any() else float("nan"),
            "share_positive": float((cate > 0).mean()),
        }


def validate_assignment(
    assignment: pd.DataFrame,
    known_ids: pd.Index,
    tested_arms: Sequence[str],
    source: str | Path | None = None,
) -> pd.DataFrame:
    """Check an assignment and return its tested rows; :class:`InputError` at the first fault.

    ``customer_id`` must be present, not missing, unique and known to the world; ``arm`` must be
    text. An arm that differs from a tested arm only by case or spaces is a mistake, not another
    group, and is refused. Every tested arm must have at least one customer.
    """
    src = str(source) if source is not None else None
    for col in ("customer_id", "arm"):
        if col not in assignment.columns:
            raise InputError("missing column", file=src, column=col)
    ids = assignment["customer_id"]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InputError("missing customer id", file=src, column="customer_id", row=row)
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"duplicate customer id {shown(ids.iloc[row])}", file=src,
                         column="customer_id", row=row)
    unknown = ~ids.isin(known_ids)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(
            f"customer id {shown(ids.iloc[row])} is not in the simulated world of "
            f"{len(known_ids)} customers (use the same scenario, seed and n as for the cohort)",
            file=src, column="customer_id", row=row,
        )
    arms = assignment["arm"]
    check_arm_labels(arms, tested_arms, source=src)
    for arm in tested_arms:
        if not (arms == arm).any():
            raise InputError(f"no customer in arm {arm!r}", file=src, column="arm")
    return assignment[arms.isin(tested_arms).to_numpy()].reset_index(drop=True)


def simulate_returns(
    scenario: Scenario | str | Path,
    assignment: pd.DataFrame,
    seed: int = 0,
    world: World | None = None,
    *,
    n: int | None = None,
    treatment_arms: Sequence[str] = ("treatment",),
    control_arm: str = "control",
    source: str | Path | None = None,
) -> ABReturns:
    """Draw the returns of an A/B test run on a world's customers with ``assignment``.

    ``world`` is the world the assignment was made on; when omitted it is drawn from
    ``scenario`` with the same ``seed`` (and ``n``), as ``rollout simulate`` does. The returns use
    their own random stream, so they are independent of the history's noise. ``source`` names the
    assignment file in error messages.
    """
    scenario = load_scenario(scenario)
    if world is None:
        world = simulate_world(scenario, seed=seed, n=n)
    tested_arms = (*treatment_arms, control_arm)
    if len(set(tested_arms)) != len(tested_arms):
        raise InputError(f"arm names must differ, got {list(tested_arms)}")
    tested = validate_assignment(assignment, pd.Index(world.truth["customer_id"]), tested_arms,
                                 source)
    position = pd.Series(np.arange(world.cohort.n), index=world.truth["customer_id"])
    rows = position.loc[tested["customer_id"].to_numpy()].to_numpy()
    treatment = tested["arm"].isin(list(treatment_arms)).to_numpy().astype(np.int8)
    if "treat" in tested.columns:  # the arm's rule (a policy test treats by its policy)
        treatment = tested["treat"].to_numpy().astype(np.int8)

    covariates = world.covariates.iloc[rows].reset_index(drop=True)
    env = {c: covariates[c].to_numpy() for c in covariates.columns}
    n_test = len(rows)
    drift = scenario.ab_test
    mu: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, spec in enumerate(scenario.outcomes):
        mu0, mu1 = potential_means(spec, env, n_test)
        cate = (mu1 - mu0) * drift.effect_multiplier
        mu0 = mu0 * drift.baseline_multiplier + (drift.baseline_shift if i == 0 else 0.0)
        mu[spec.name] = (mu0, mu0 + cate)
    outcomes = draw_outcomes(scenario, env, mu, treatment, stream(world.seed, "returns", seed))

    data = tested.copy()
    data["treatment"] = treatment
    for name, values in outcomes.items():
        data[name] = values
    cohort_frame = world.cohort.frame.iloc[rows].reset_index(drop=True)
    roles = world.cohort.roles
    carried = [*([roles.segment] if roles.segment else []), *roles.covariates]
    for col in carried:
        if col not in data.columns:
            data[col] = cohort_frame[col].to_numpy()

    truth = tested[["customer_id", "arm"]].copy()
    for i, spec in enumerate(scenario.outcomes):
        mu0, mu1 = mu[spec.name]
        suffix = "" if i == 0 else f"_{spec.name}"
        truth[f"true_cate{suffix}"] = mu1 - mu0
        truth[f"mu0{suffix}"] = mu0
        truth[f"mu1{suffix}"] = mu1
    return ABReturns(
        data=data,
        truth=truth,
        outcomes=tuple(o.name for o in scenario.outcomes),
        pre_outcomes={o.name: o.pre_name for o in scenario.outcomes if o.pre_name},
        covariates=tuple(roles.covariates),
    )
