"""The design's test statistic on returned data: its estimate and SE on the test's own scale.

The estimand, its per-customer contribution (:func:`rollout.planning.estimands.contribution`),
the columns it reads and the information it is sized for are defined once in
:mod:`rollout.planning.estimands`; this module estimates that same estimand from the returned
data, for ``interim`` and ``evaluate`` alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from rollout.errors import InputError
from rollout.evaluation.effects import Effect, adjusted, difference_in_means
from rollout.planning.estimands import (
    ESTIMAND_NAMES,
    JOIN_HINT,
    arm_treat,
    contribution,
    responders,
    rules_disagree,
)

#: Lin's interacted regression within a subgroup needs this many customers per parameter
#: (2 k + 2 for k covariates); a smaller group falls back to the difference in means.
CUSTOMERS_PER_PARAMETER = 10


def _arm_effect(y: np.ndarray, t: np.ndarray, X: np.ndarray | None,
                warnings: list[str] | None = None, what: str | None = None) -> Effect:
    """Lin-adjusted difference in means (difference in means without covariates). Within a
    subgroup (``what`` names it) too small for ``2 k + 2`` parameters at
    :data:`CUSTOMERS_PER_PARAMETER` customers each, the difference in means, with a warning."""
    if X is None or not X.shape[1]:
        return difference_in_means(y, t)
    if what is not None and len(y) < CUSTOMERS_PER_PARAMETER * (2 * X.shape[1] + 2):
        if warnings is not None:
            warnings.append(f"{what}: {len(y)} customers are too few to adjust for "
                            f"{X.shape[1]} covariates (Lin's regression has {2 * X.shape[1] + 2} "
                            "parameters); the difference in means is used there")
        return difference_in_means(y, t)
    return adjusted(y, t, X)


def _normal_effect(method: str, estimand: str, estimate: float, se: float, t: np.ndarray,
                   se_type: str) -> Effect:
    z = estimate / se if se > 0 else 0.0
    half = float(stats.norm.isf(0.025)) * se
    return Effect(method=method, estimand=estimand, estimate=float(estimate), se=float(se),
                  ci_low=float(estimate - half), ci_high=float(estimate + half), n=len(t),
                  n_treatment=int((t == 1).sum()), n_control=int((t == 0).sum()),
                  se_type=se_type, p_value=float(2 * stats.norm.sf(abs(z))))


def test_effect(design: Any, frame: Any, y: np.ndarray, t: np.ndarray,
                X: np.ndarray | None = None, warnings: list[str] | None = None) -> Effect:
    """The test's own estimate and SE on returned data (an ``Effect``), by the design's test.

    * ``ate``: Lin's adjusted difference in means (difference in means without covariates).
    * ``policy``: profit ``P = margin x outcome - cost x treat``; with the disagreement known,
      ``s_d x (adjusted difference in mean P among disagreeing customers)``, ``s_d`` their share
      of the tested customers; without it, the difference in mean profit over everyone
      (unbiased, noisier) and a warning.
    * ``heterogeneity``: the adjusted effect among predicted responders minus that among
      predicted non-responders; the SE adds the two groups' variances.
    """
    warnings = warnings if warnings is not None else []
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=int)
    if design.test == "ate":
        return _arm_effect(y, t, X)
    if design.test == "policy":
        treat = arm_treat(design, frame, t)
        profit = contribution("policy", y, treat, design.margin, design.cost)
        disagree = rules_disagree(design, frame)
        if disagree is None:
            warnings.append("whom the two policies disagree on is not in the data: the profit "
                            "difference uses every customer (unbiased, noisier); " + JOIN_HINT)
            inner = _arm_effect(profit, t, X)
            return _normal_effect("policy_profit_difference", ESTIMAND_NAMES["policy"],
                                  inner.estimate, inner.se, t,
                                  f"difference in mean profit over all customers, {inner.se_type}")
        share = float(disagree.mean())
        for arm in (0, 1):
            if ((t == arm) & disagree).sum() < 2:
                raise InputError("fewer than 2 customers on whom the policies disagree in an "
                                 "arm: the policy difference cannot be estimated", column="arm")
        inner = _arm_effect(profit[disagree], t[disagree],
                            None if X is None else X[disagree], warnings,
                            "customers on whom the policies disagree")
        return _normal_effect(
            "policy_profit_difference", ESTIMAND_NAMES["policy"], share * inner.estimate,
            share * inner.se, t, f"share disagreeing ({share:.3f}) x the profit difference "
                                 f"among them ({inner.se_type})")
    responder = responders(design, frame)
    parts = []
    for group in (True, False):
        m = responder == group
        if (t[m] == 1).sum() < 2 or (t[m] == 0).sum() < 2:
            raise InputError(f"fewer than 2 customers per arm among predicted "
                             f"{'responders' if group else 'non-responders'}: the responder "
                             "contrast cannot be estimated", column="arm")
        parts.append(_arm_effect(y[m], t[m], None if X is None else X[m], warnings,
                                 "predicted responders" if group else
                                 "predicted non-responders"))
    estimate = parts[0].estimate - parts[1].estimate
    se = math.sqrt(parts[0].se ** 2 + parts[1].se ** 2)
    return _normal_effect("responder_contrast", ESTIMAND_NAMES["heterogeneity"], estimate, se, t,
                          f"within predicted responders ({parts[0].se_type}) and non-responders "
                          f"({parts[1].se_type}), variances added")


test_effect.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
