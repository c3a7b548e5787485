"""Who enters the test: the customers the analysis could not score, then the customers for power.

The analysis labels ``randomize_in_test`` the customers whose propensity lies outside the
identified window [0.1, 0.9]: the observational data cannot say what treating them earns, so
only randomization can. The design therefore enrols them first, *for identification* (all of
them, or a randomized subsample of at most ``cap`` when one is given), and then as many of the
other customers as the power target needs, *for power*. Each group is its own stratum, so every
customer of group ``g`` enters with the same known probability ``pi_g = n_g / N_g``.

With unequal probabilities an unweighted estimate would estimate the effect of the tested mix,
not of the population the design is sized for: the labelled customers would count for more than
their share. The test's estimate is therefore computed within each group and the groups are
combined with their population shares ``N_g / N`` (:func:`rollout.evaluation.statistic.
test_effect`), which is the Horvitz-Thompson weighting ``1 / pi_g`` of each customer. Within a
group every customer has the allocation's assignment probability, so no other weight is needed.

Sizing. A per-customer variance ``v`` the same in both groups gives the weighted estimate the
variance of ``n_eff = N^2 / sum_g (N_g / pi_g)`` equally weighted customers (Kish's design
effect ``deff = n / n_eff``). The power target needs ``n_power`` equally weighted customers, so
with the labelled group's ``pi_L`` fixed the other group needs
``pi_U = N_U / (N^2 / n_power - N_L / pi_L)``, the smallest enrolment that keeps the power. When
the labelled customers' proportional share ``N_L n_power / N`` already reaches the cap (or
there are none), every customer enters at the same rate and the estimate needs no weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rollout.errors import InputError

#: The customer-table column (0/1) the analysis writes for customers it could not score.
RANDOMIZE_IN_TEST = "randomize_in_test"


def _group(value: int, role: str, population: int, enrolled: int,
           responders: int | None) -> dict[str, Any]:
    probability = enrolled / population if population else 0.0
    return {"value": value, "role": role, "population": int(population),
            "enrolled": int(enrolled), "inclusion_probability": probability,
            "weight": (1 / probability) if probability > 0 else None,
            "population_responders": responders}


def effective_n(groups: list[dict[str, Any]]) -> float:
    """Equally weighted customers with the weighted estimate's variance, ``N^2 / sum N_g/pi_g``.

    >>> round(effective_n([{"population": 10, "enrolled": 10},
    ...                    {"population": 90, "enrolled": 9}]), 3)  # 100^2 / (10 + 900)
    10.989
    """
    total = sum(g["population"] for g in groups)
    spread = sum(g["population"] ** 2 / g["enrolled"] for g in groups if g["population"])
    return float(total**2 / spread)


def plan_enrolment(labelled: np.ndarray, n_power: int, cap: int | None = None,
                   responder: np.ndarray | None = None, minimum: int = 2
                   ) -> dict[str, Any] | None:
    """The enrolment of a design: per group its population, entrants and inclusion probability.

    ``labelled``: the eligible customers' ``randomize_in_test`` flags; ``n_power``: the customers
    the power target needs with equal inclusion; ``cap``: at most this many labelled customers
    (``None``: all); ``responder``: the predicted responders (heterogeneity), whose population
    counts per group the estimate's weights need; ``minimum``: the fewest customers the power
    group may hold (every cell of the test's estimate needs both arms from the first look on).
    ``None`` when no customer is labelled.

    >>> record = plan_enrolment(np.r_[np.ones(60), np.zeros(40)].astype(bool), 20)
    >>> [(g["role"], g["enrolled"]) for g in record["groups"]], record["weighted"]
    ([('identification', 60), ('power', 4)], True)
    """
    labelled = np.asarray(labelled, dtype=bool)
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
        raise InputError(f"the cap on labelled customers must be a whole number >= 0, got "
                         f"{cap!r}", argument="randomize_cap")
    n_labelled, n = int(labelled.sum()), len(labelled)
    if n_labelled == 0:
        return None
    n_other = n - n_labelled
    flags = None if responder is None else np.asarray(responder, dtype=bool)

    def count(mask: np.ndarray) -> int | None:
        return None if flags is None else int(flags[mask].sum())

    wanted = n_labelled if cap is None else min(cap, n_labelled)
    proportional = n_labelled * min(n_power, n) / n
    if wanted <= proportional or n_other == 0:  # everyone at the same rate: no weights
        rate = min(1.0, n_power / n)
        n_l = min(n_labelled, round(n_labelled * rate))
        n_u = min(n_other, max(0, min(n_power, n) - n_l))
        weighted = False
    else:
        n_l = wanted
        room = n**2 / n_power - n_labelled**2 / n_l
        n_u = n_other if room <= n_other else min(n_other, math.ceil(n_other**2 / room))
        n_u = max(n_u, min(n_other, minimum))
        weighted = True
    groups = [_group(1, "identification", n_labelled, n_l, count(labelled)),
              _group(0, "power", n_other, n_u, count(~labelled))]
    return {"column": RANDOMIZE_IN_TEST, "weighted": weighted, "groups": groups,
            "n_for_power_equal_inclusion": int(n_power), "cap": cap,
            "power_group_minimum": int(minimum) if weighted else None}


def finish_enrolment(record: dict[str, Any], n_total: int) -> dict[str, Any]:
    """The record with the power group topped up to ``n_total`` (the arms' rounding) and its
    design effect, effective n and the sentences that state them."""
    groups = [dict(g) for g in record["groups"]]
    identification, power = groups
    extra = n_total - identification["enrolled"] - power["enrolled"]
    power.update(_group(0, "power", power["population"],
                        min(power["population"], power["enrolled"] + max(0, extra)),
                        power["population_responders"]))
    n = identification["enrolled"] + power["enrolled"]
    n_eff = effective_n(groups) if record["weighted"] else float(n)
    statement = (
        f"{identification['enrolled']} of the {identification['population']} customers "
        f"labelled {RANDOMIZE_IN_TEST} are enrolled for identification (inclusion probability "
        f"{identification['inclusion_probability']:.3g}) and {power['enrolled']} of the other "
        f"{power['population']} for power ({power['inclusion_probability']:.3g}): n = {n}. ")
    if record["weighted"]:
        statement += (
            "Each group is a stratum; the test's estimate is computed within each and the "
            "groups are weighted by their population shares (1 / inclusion probability per "
            f"customer), so it estimates the population's effect. The weighting's design "
            f"effect is {n / n_eff:.2f}: the {n} customers have the precision of "
            f"{n_eff:.0f} equally weighted ones, against the "
            f"{record['n_for_power_equal_inclusion']} the power target needs: the power group "
            "is the smallest that keeps the target once the labelled customers are in (more "
            "customers would only raise the power).")
    else:
        statement += ("Every customer enters at the same rate (the labelled customers' "
                      "proportional share reaches the cap), so the estimate needs no weights.")
    return record | {"groups": groups, "n": n, "n_effective": n_eff,
                     "design_effect": n / n_eff if n_eff > 0 else float("inf"),
                     "statement": statement}


def inclusion_probabilities(record: dict[str, Any] | None, labelled: np.ndarray) -> np.ndarray:
    """Each customer's chance to enter the test under the enrolment ``record``."""
    labelled = np.asarray(labelled, dtype=bool)
    if record is None:
        return np.ones(len(labelled))
    by_value = {int(g["value"]): float(g["inclusion_probability"]) for g in record["groups"]}
    return np.where(labelled, by_value[1], by_value[0])


def weighted_mean(values: np.ndarray, group: np.ndarray, record: dict[str, Any] | None,
                  counts: dict[int, int] | None = None) -> float:
    """A mean over tested customers with each enrolment group weighted by its population, as
    the test's estimate weights it: ``sum_g (N_g / N) mean_g(values)``; ``counts`` replaces the
    groups' population counts (a heterogeneity test's responders per group). Without a
    weighted enrolment, the plain mean.

    >>> record = {"weighted": True, "groups": [{"value": 1, "population": 30},
    ...                                        {"value": 0, "population": 70}]}
    >>> weighted_mean(np.array([1.0, 1.0, 0.0]), np.array([1, 1, 0]), record)
    0.3
    """
    values = np.asarray(values, dtype=float)
    if record is None or not record.get("weighted"):
        return float(values.mean())
    group = np.asarray(group).astype(int)
    sizes = counts or {int(g["value"]): int(g["population"]) for g in record["groups"]}
    present = {v: n for v, n in sizes.items() if n > 0 and (group == v).any()}
    total = sum(present.values())
    return float(sum(n / total * values[group == v].mean() for v, n in present.items()))
