"""Known-truth simulations of the whole test pipeline: design, assign, returns, every interim
look, and the sequential inference evaluate reports at the look where the test stops.

For each test (``ate``, ``heterogeneity``, ``policy``) a world is built whose outcome SD, R^2 and
CATE spread are the design's own inputs, under its null (no effect; equal effects in predicted
responders and non-responders; equal profit of the two policies) or at its design effect. A
replication randomizes the world's customers with :func:`~rollout.planning.assignment.
assign_customers` under a fresh salt, draws the outcomes (each customer treated when their arm's
rule treats them, ``treat``), lets the customers' outcomes arrive in random order, runs
:func:`~rollout.evaluation.interim.interim_decision` at each look on the data so far (the
earlier looks' fractions passed on, as ``interim --record`` does) and, at the look where the
test stops, :func:`~rollout.evaluation.evaluate.sequential_at_look`, the stage-wise inference
``evaluate`` reports. Boundaries are cached on the information fractions rounded to 1e-4 (a
change of at most ~1e-3 in a boundary); the CATE re-estimation of ``evaluate`` is not run.

Operating characteristics (:func:`summarize`): efficacy in each direction with futility ignored
and followed, power with futility followed (against the design's stated power), and whether the
stage-wise 95% interval at the stopping look covers the population estimand.
"""

from __future__ import annotations

import functools
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.data.contract import Cohort, save_cohort
from rollout.estimation.results_folder import RESULTS_SCHEMA, ResultsContent, write_results_folder
from rollout.evaluation.evaluate import sequential_at_look
from rollout.evaluation.interim import interim_decision, test_statistic
from rollout.evaluation.returned import ReturnedData
from rollout.planning.assignment import assign_customers
from rollout.planning.design import Design
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.sequential import SpendingPlan

TESTS = ("ate", "heterogeneity", "policy")
WORLDS = ("null", "design")
LOOKS = 3
SD = 100.0
ATE_MDE, ATE_R2 = 10.0, 0.3
HET_MDE, HET_SHARE, HET_ATE = 30.0, 0.3, 20.0
POLICY_N, POLICY_COST, POLICY_MARGIN = 6000, 12.0, 0.3


@dataclass(frozen=True)
class World:
    """A test's design, the customers it randomizes, their true effects and the estimand."""

    test: str
    world: str
    design: Design
    customers: pd.DataFrame
    tau: np.ndarray
    baseline: np.ndarray
    noise_sd: float
    estimand: float
    covariates: tuple[str, ...]


def _cache_boundaries() -> None:
    """Memoize the spending plan's boundaries on fractions rounded to 1e-4 (idempotent)."""
    if getattr(SpendingPlan, "_pipeline_cached", False):
        return
    plain, final = SpendingPlan.boundaries, SpendingPlan.final_boundaries

    @functools.lru_cache(maxsize=200_000)
    def cached(plan: SpendingPlan, fractions: tuple[float, ...], alpha: float, sided: int,
               drift: float | None, is_final: bool) -> Any:
        if is_final:
            return final(plan, list(fractions), alpha, sided)
        return plain(plan, list(fractions), alpha, sided, drift=drift)

    def rounded(fractions: Any) -> tuple[float, ...]:
        values = [round(float(f), 4) for f in fractions]
        for i in range(1, len(values)):  # rounding must keep them increasing
            values[i] = max(values[i], values[i - 1] + 1e-4)
        return tuple(values)

    def boundaries(self: SpendingPlan, fractions: Any, alpha: float, sided: int,
                   drift: float | None = None) -> Any:
        drift = None if drift is None else round(float(drift), 6)
        return cached(self, rounded(fractions), alpha, sided, drift, False)

    def final_boundaries(self: SpendingPlan, fractions: Any, alpha: float, sided: int) -> Any:
        return cached(self, rounded(fractions), alpha, sided, None, True)

    SpendingPlan.boundaries = boundaries  # type: ignore[method-assign]
    SpendingPlan.final_boundaries = final_boundaries  # type: ignore[method-assign]
    SpendingPlan._pipeline_cached = True  # type: ignore[attr-defined]


def _policy_results(folder: Path, n: int, seed: int) -> Path:
    """A results folder whose predicted CATE, breakeven policy and current practice make the
    world of the policy test (the layout ``rollout analyze`` writes)."""
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2.0, 60.0, size=n)
    x1 = rng.normal(size=n)
    ps = 1 / (1 + np.exp(-(pre - 120) / 40))
    treatment = (rng.uniform(size=n) < ps).astype(int)
    cate = 20 + 25 * x1
    spend = 100 + treatment * cate + rng.normal(0, SD, size=n)
    cohort = Cohort.from_frame(
        pd.DataFrame({"customer_id": np.arange(n), "treatment": treatment, "spend": spend,
                      "pre_spend": pre, "x1": x1}),
        outcomes=["spend"], covariates=["pre_spend", "x1"])
    save_cohort(folder / "cohort.parquet", cohort)
    region = np.where((ps >= 0.1) & (ps <= 0.9), "overlap", "near_boundary")
    breakeven = POLICY_COST / POLICY_MARGIN
    customers = pd.DataFrame({
        "customer_id": np.arange(n), "treatment": treatment, "ps": ps, "ps_region": region,
        "cate": cate, "target_breakeven": (cate > breakeven).astype(int),
        "target_conservative": (cate - 30 > breakeven).astype(int)})
    results = folder / "results"
    write_results_folder(results, ResultsContent(
        document={"schema": RESULTS_SCHEMA,
                  "cohort": {"path": "../cohort.parquet", "outcomes": ["spend"]},
                  "ate": [{"outcome": "spend", "method": "aipw", "estimate": 21.0, "se": 5.0}],
                  "breakeven": {"cost": POLICY_COST, "margin": POLICY_MARGIN,
                                "breakeven_cate": breakeven}},
        tables={}, customers=customers))
    return results


@functools.lru_cache(maxsize=8)
def build_world(test: str, world: str, seed: int = 0) -> World:
    """The design and the world of one setting (cached: every replication shares it)."""
    if test not in TESTS or world not in WORLDS:
        raise ValueError(f"unknown setting {test}/{world}")
    rng = np.random.default_rng([seed, TESTS.index(test)])
    if test == "ate":
        design = plan_design(DesignRequest(sd=SD, mde=ATE_MDE, r2=ATE_R2, covariates=["x"],
                                           looks=LOOKS, distribution="z", strata=["band"]))
        n = math.ceil(design.n_total * 1.1)
        x = rng.normal(size=n)
        customers = pd.DataFrame({"customer_id": np.arange(n), "x": x,
                                  "band": np.digitize(x, [-0.5, 0.5])})
        effect = ATE_MDE if world == "design" else 0.0
        return World(test, world, design, customers, np.full(n, effect),
                     100 + SD * math.sqrt(ATE_R2) * x, SD * math.sqrt(1 - ATE_R2), effect,
                     ("x",))
    if test == "heterogeneity":
        design = plan_design(DesignRequest(test="heterogeneity", sd=SD, mde=HET_MDE,
                                           responder_share=HET_SHARE, looks=LOOKS,
                                           distribution="z"))
        n = math.ceil(design.n_total * 1.1)
        responder = (np.arange(n) < round(HET_SHARE * n)).astype(int)
        contrast = HET_MDE if world == "design" else 0.0
        share = responder.mean()
        tau = HET_ATE + contrast * (responder - share)
        customers = pd.DataFrame({"customer_id": np.arange(n), "target_breakeven": responder})
        return World(test, world, design, customers, tau, np.full(n, 100.0), SD, contrast, ())
    folder = Path(tempfile.mkdtemp(prefix="pipeline-world-"))
    results = _policy_results(folder, POLICY_N, seed)
    design = plan_design(DesignRequest(results=results, test="policy", looks=LOOKS,
                                       strata=["ps_region"], variance_reduction=False,
                                       distribution="z", seed=seed))
    customers = pd.read_parquet(results / "customers.parquet")
    a = customers["target_breakeven"].to_numpy(dtype=float)
    b = customers["treatment"].to_numpy(dtype=float)
    cate = customers["cate"].to_numpy(dtype=float)
    m, c = design.margin, design.cost
    tau = cate.copy()
    if world == "null":  # shift the disagreeing customers' effects until the profits are equal
        disagree = a != b
        gap = float(np.mean((a - b) * (m * cate - c)))
        tau = cate - (a - b) * gap / (m * disagree.mean())
    estimand = float(np.mean((a - b) * (m * tau - c)))
    return World(test, world, design, customers[["customer_id", "ps_region", "target_breakeven",
                                                  "treatment", "target_conservative"]],
                 tau, np.full(len(customers), 100.0), design.sd, estimand, ())


def replication(seed: int, test: str, world: str) -> dict[str, Any]:
    """One trial of a setting: every look until efficacy or harm, and the stopping inference."""
    _cache_boundaries()
    w = build_world(test, world)
    design = w.design
    assignment = assign_customers(w.customers, design, salt=f"rep-{seed}").table
    tested = assignment[assignment["arm"].isin(design.arms)].reset_index(drop=True)
    rows = tested["customer_id"].to_numpy()  # ids are 0..n-1: positions in the world
    rng = np.random.default_rng(seed)
    y = (w.baseline[rows] + w.noise_sd * rng.normal(size=len(rows))
         + tested["treat"].to_numpy() * w.tau[rows])
    frame = tested.drop(columns=["u"]).assign(y=y)
    for col in w.covariates:
        frame[col] = w.customers[col].to_numpy()[rows]
    arrival = rng.permutation(len(frame))
    order = np.empty(len(frame), dtype=np.int64)
    order[arrival] = np.arange(len(frame))
    frame["order"] = order
    frame = frame.sort_values("order", kind="stable").reset_index(drop=True)
    rank = frame.groupby("arm", observed=True).cumcount().to_numpy()
    looks: list[dict[str, Any]] = []
    fractions: list[float] = []
    for look in design.looks:
        n_k = look.n_per_arm["treatment"]
        part = frame[rank < n_k].reset_index(drop=True)
        data = ReturnedData(frame=part, outcome="y", treatment_arm="treatment",
                            control_arm="control", covariates=list(w.covariates), source="sim")
        effect = test_statistic(design, data)
        decision = interim_decision(design, data, look.look, previous_fractions=fractions,
                                    effect=effect)
        looks.append({"look": look.look, "decision": decision.decision, "z": decision.z,
                      "fraction": decision.information_fraction, "data": data,
                      "effect": effect, "previous": list(fractions)})
        fractions.append(decision.information_fraction)
        if decision.decision in ("stop_efficacy", "stop_harm") or decision.final:
            break
    ignored = looks[-1]
    followed = next((r for r in looks if r["decision"] != "continue"), looks[-1])
    seq = sequential_at_look(design, followed["data"], followed["effect"], followed["look"],
                             followed["previous"] or None, 0.001, [])
    return {
        "ignored": ignored["decision"], "followed": followed["decision"],
        "stop_look_followed": followed["look"], "looks_run": len(looks),
        "ci_low": seq["ci_low"], "ci_high": seq["ci_high"], "estimate": seq["estimate"],
        "covers": bool(seq["ci_low"] <= w.estimand <= seq["ci_high"]),
        "fractions": [r["fraction"] for r in looks],
    }


def _rate(values: list[bool]) -> dict[str, float]:
    p = float(np.mean(values))
    return {"rate": p, "mc_se": math.sqrt(max(p * (1 - p), 1e-12) / len(values))}


def summarize(test: str, world: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Efficacy per direction (futility ignored and followed), power, coverage, with MC SEs."""
    w = build_world(test, world)
    return {
        "test": test, "world": world, "replications": len(runs),
        "estimand": w.estimand, "design_power": w.design.power,
        "alpha_per_side": w.design.alpha / w.design.sided,
        "n_per_arm_max": w.design.n_per_arm["treatment"],
        "upper_futility_ignored": _rate([r["ignored"] == "stop_efficacy" for r in runs]),
        "lower_futility_ignored": _rate([r["ignored"] == "stop_harm" for r in runs]),
        "upper_futility_followed": _rate([r["followed"] == "stop_efficacy" for r in runs]),
        "lower_futility_followed": _rate([r["followed"] == "stop_harm" for r in runs]),
        "coverage_at_stop": _rate([r["covers"] for r in runs]),
        "mean_stop_look_followed": float(np.mean([r["stop_look_followed"] for r in runs])),
        "mean_final_fraction": float(np.mean([r["fractions"][-1] for r in runs])),
    }


def check(summary: dict[str, Any], k: float = 3.0) -> list[str]:
    """The tolerances of the issue at ``k`` MC SEs; returns the ones that fail."""
    failures = []
    level = summary["alpha_per_side"]
    coverage = summary["coverage_at_stop"]
    n = summary["replications"]
    if summary["world"] == "null":
        for key in ("upper_futility_ignored", "lower_futility_ignored",
                    "upper_futility_followed", "lower_futility_followed"):
            bound = level + k * math.sqrt(level * (1 - level) / n)
            if summary[key]["rate"] > bound:
                failures.append(f"{key} {summary[key]['rate']:.4f} > {bound:.4f}")
    else:
        power = summary["design_power"]
        se = math.sqrt(power * (1 - power) / n)
        got = summary["upper_futility_followed"]["rate"]
        if abs(got - power) > k * se:
            failures.append(f"power {got:.4f} not within {k} MC SE of {power:.4f}")
    bound = 0.95 - k * math.sqrt(0.95 * 0.05 / n)
    if coverage["rate"] < bound:
        failures.append(f"coverage {coverage['rate']:.4f} < {bound:.4f}")
    return failures


def run_setting(test: str, world: str, replications: int, seed: int = 2026,
                n_jobs: int = 1) -> dict[str, Any]:
    """Run ``replications`` seeded trials of one setting and summarize them."""
    from rollout.simulation.replicate import replicate

    build_world(test, world)
    runs = replicate(functools.partial(replication, test=test, world=world), replications,
                     seed=seed + 17 * TESTS.index(test) + WORLDS.index(world), n_jobs=n_jobs)
    return summarize(test, world, runs)
