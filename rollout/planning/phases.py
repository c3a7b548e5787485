"""The staged rollout plan: a small pilot, the A/B test, and a rule for expanding.

Phase 1 (pilot) targets the customers of a cautious policy list from the analysis (the
conservative policy, CI lower bound above breakeven, by default; or a top-k list), so that the
campaign starts where the analysis is most sure. Phase 2 is the A/B test of the design, lasting
the campaign weeks plus the weeks over which the outcome is measured. Phase 3 expands to a
broader policy only if the A/B test confirms the effect. Money is shown when cost and margin are
known: the pilot's and the expansion's model-predicted profit (a prediction, not an estimate:
the A/B test is there to check it), the A/B test's expected profit at the expected effect, and
the expected opportunity cost of withholding the campaign from the control arm,
``n_control x max(0, expected effect x margin - cost)``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

DEFAULT_CAMPAIGN_WEEKS = 4
DEFAULT_OUTCOME_WEEKS = 4


def _selected(customers: pd.DataFrame | None, column: str | None) -> pd.DataFrame | None:
    if customers is None or column is None:
        return None
    return customers[customers[column].astype(float) == 1]


def _predicted_profit(chosen: pd.DataFrame | None, cost: float | None,
                      margin: float | None) -> float | None:
    if chosen is None or cost is None or margin is None or "cate" not in chosen.columns:
        return None
    return float((margin * chosen["cate"] - cost).sum())


def build_phases(
    *,
    customers: pd.DataFrame | None,
    pilot_column: str | None,
    expansion_column: str | None,
    n_per_arm: dict[str, int],
    strata: list[str],
    cost: float | None,
    margin: float | None,
    expected_effect: float | None,
    expected_effect_source: str,
    effect_is_profit: bool = False,
    campaign_weeks: int = DEFAULT_CAMPAIGN_WEEKS,
    outcome_weeks: int = DEFAULT_OUTCOME_WEEKS,
) -> list[dict[str, Any]]:
    """The three phase records of ``design.json``.

    >>> phases = build_phases(customers=None, pilot_column=None, expansion_column=None,
    ...                       n_per_arm={"treatment": 440, "control": 440}, strata=[],
    ...                       cost=10.0, margin=0.3, expected_effect=50.0,
    ...                       expected_effect_source="given")
    >>> phases[1]["duration_weeks"], phases[1]["control_opportunity_cost"]
    (8, 2200.0)
    """
    pilot = _selected(customers, pilot_column)
    expansion = _selected(customers, expansion_column)
    n_control = n_per_arm["control"]
    n_treated = sum(n for arm, n in n_per_arm.items() if arm != "control")

    per_customer_gain: float | None = None
    if expected_effect is not None:
        if effect_is_profit:
            per_customer_gain = expected_effect
        elif cost is not None and margin is not None:
            per_customer_gain = expected_effect * margin - cost

    expansion_name = expansion_column or "the targeting policy"
    return [
        {
            "phase": 1,
            "name": "pilot",
            "role": "pilot_target",
            "select_column": pilot_column,
            "n": None if pilot is None else len(pilot),
            "predicted_profit": _predicted_profit(pilot, cost, margin),
            "profit_basis": "model-predicted: sum of margin x CATE - cost over the list",
            "description": "target the customers the analysis is most sure of while the A/B "
                           "test runs",
        },
        {
            "phase": 2,
            "name": "ab_test",
            "role": "ab_test",
            "n": int(sum(n_per_arm.values())),
            "n_per_arm": dict(n_per_arm),
            "strata": list(strata),
            "campaign_weeks": campaign_weeks,
            "outcome_weeks": outcome_weeks,
            "duration_weeks": campaign_weeks + outcome_weeks,
            "expected_effect": expected_effect,
            "expected_effect_source": expected_effect_source,
            "expected_profit": (None if per_customer_gain is None
                                else float(n_treated * per_customer_gain)),
            "control_opportunity_cost": (None if per_customer_gain is None
                                         else float(n_control * max(0.0, per_customer_gain))),
            "description": "the randomized test; duration = campaign weeks + outcome weeks",
        },
        {
            "phase": 3,
            "name": "expansion",
            "role": "expansion_target",
            "rule": (f"target {expansion_name} if the A/B effect's lower 95% CI > 0 and the "
                     "CATE calibration is validated; otherwise re-estimate the CATE on the "
                     "A/B data before targeting"),
            "select_column": expansion_column,
            "n": None if expansion is None else len(expansion),
            "predicted_profit": _predicted_profit(expansion, cost, margin),
            "profit_basis": "model-predicted: sum of margin x CATE - cost over the list",
        },
    ]
