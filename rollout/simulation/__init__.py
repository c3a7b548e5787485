"""Scenario worlds with known truth: the ground every statistical test stands on.

Real campaign data never reveals the true effect of a campaign, so every correctness claim of
``rollout`` (estimation coverage, CATE accuracy, policy value, A/B power, evaluation calibration)
is tested on simulated worlds described by scenario files (``scenarios/*.toml``).

Examples
--------
>>> from rollout.simulation import load_scenario, simulate_world
>>> world = simulate_world(load_scenario("no_effect"), seed=0, n=300)
>>> world.truth_summary().ate
0.0
"""

from __future__ import annotations

from rollout.simulation.breakeven_grid import load_breakeven_grid
from rollout.simulation.expressions import Expression, parse_expression
from rollout.simulation.replicate import mean_and_se, monte_carlo_se, replicate, replication_seeds
from rollout.simulation.returns import ABReturns, simulate_returns
from rollout.simulation.scenario import (
    Scenario,
    list_scenarios,
    load_scenario,
    resolve_scenario_path,
)
from rollout.simulation.truth import TruthSummary, auc, check_expectations, summarize_truth
from rollout.simulation.world import World, simulate_world

__all__ = [
    "ABReturns",
    "Expression",
    "Scenario",
    "TruthSummary",
    "World",
    "auc",
    "check_expectations",
    "list_scenarios",
    "load_breakeven_grid",
    "load_scenario",
    "mean_and_se",
    "monte_carlo_se",
    "parse_expression",
    "replicate",
    "replication_seeds",
    "resolve_scenario_path",
    "simulate_returns",
    "simulate_world",
    "summarize_truth",
]
