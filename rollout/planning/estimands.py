"""The three A/B tests a design can size, each reduced to a difference in means with its own SD.

Every test is sized by :func:`rollout.planning.power.solve_fixed` on the estimand's own scale
with an *effective* SD chosen so that ``sd_eff^2 (1/n_t + 1/n_c)`` is the variance of the
estimator. The derivations are in each function's docstring and are checked against simulation
in ``tests/planning/test_estimands.py``.

* ``ate``: the campaign's average effect in the chosen population.
* ``policy``: customers randomized between two targeting policies (the CATE policy and current
  practice); the effect is the difference in mean profit per customer.
* ``heterogeneity``: the effect among predicted responders minus the effect among predicted
  non-responders (an arm x responder interaction). A test meant to validate the CATE model must
  enrol customers across the whole range of predicted CATE, not only the targeted ones: this
  design enrols everyone and stratifies by predicted responder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.errors import InputError


@dataclass(frozen=True)
class Estimand(DisplayMixin):
    """What a test estimates, how customers are randomized, and the SD it is sized with."""

    test: str
    sd_effective: float
    scale: str
    randomization: str
    variance: str
    quantities: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def ate_estimand(sd: float, r2: float = 0.0) -> Estimand:
    """Difference in mean outcome between arms.

    With ``n_t`` and ``n_c`` customers drawn from the population and outcome SD ``sigma``
    (within arm, after ANCOVA adjustment ``sigma^2 (1 - R^2)``),
    ``Var(ybar_t - ybar_c) = sigma^2 (1 - R^2) (1/n_t + 1/n_c)``.

    >>> ate_estimand(180.0).sd_effective
    180.0
    """
    return Estimand(
        test="ate",
        sd_effective=sd * math.sqrt(1 - r2),
        scale="outcome per customer",
        randomization="customers of the chosen population randomized between the campaign "
                      "(treatment) and no campaign (control), stratified",
        variance="Var = sigma^2 (1 - R^2) (1/n_t + 1/n_c)",
        quantities={"sd_outcome": sd},
    )


def policy_estimand(sd: float, margin: float, cost: float, policy: np.ndarray,
                    current: np.ndarray, cate: np.ndarray, r2: float = 0.0) -> Estimand:
    """Difference in mean profit per customer between the CATE policy (A) and current practice.

    Each customer is randomized to be handled by policy A or policy B; under its arm's policy
    the customer is targeted (``d = a_i`` or ``d = b_i``, each a 0/1 function of the customer's
    covariates; targeting costs ``c``). With ``Y = Y0 + d tau`` and margin ``m``, profit is
    ``P = m Y0 + d (m tau - c)`` and the estimate is ``Pbar_A - Pbar_B``. Its mean is
    ``E[(a - b)(m tau - c)] = s_d * E[(a - b)(m tau - c) | a != b]``: only the share ``s_d`` of
    customers on which the policies disagree carries any difference, so a given effect among
    them is diluted by ``s_d`` (equivalently the disagreement-scale effect has variance
    inflated by ``1 / s_d^2``). Within arm A, when ``Y0`` is independent of who is targeted,
    ``V_A = Var(P) = m^2 sigma^2 (1 - R^2) + Var_i(a_i (m tau_i - c))`` (``sigma`` the outcome
    SD, reduced by ANCOVA), and likewise ``V_B`` with ``b``; ``tau_i`` is replaced by the
    predicted CATE. So ``Var(Pbar_A - Pbar_B) = V_A / n_A + V_B / n_B``, sized with ``V`` the
    average of the two (exact for equal arms). With a constant effect the second term is
    ``(m tau - c)^2 pi (1 - pi)``, ``pi`` the arm's targeted share.

    >>> one = np.ones(4); half = np.array([1, 1, 0, 0])
    >>> round(policy_estimand(180.0, 0.3, 12.0, half, one - half, np.zeros(4)).sd_effective, 2)
    54.33
    """
    a = np.asarray(policy, dtype=float)
    b = np.asarray(current, dtype=float)
    gain = margin * np.asarray(cate, dtype=float) - cost
    share_disagree = float(np.mean(a != b))
    if share_disagree == 0:
        raise InputError("the two policies agree on every customer: a test between them has "
                         "no effect to find", argument="policy")
    spread_a = float(np.var(a * gain))
    spread_b = float(np.var(b * gain))
    variance = margin**2 * sd**2 * (1 - r2) + (spread_a + spread_b) / 2
    return Estimand(
        test="policy",
        sd_effective=math.sqrt(variance),
        scale="profit per customer (margin x outcome - cost x targeted)",
        randomization="customers randomized between two policies: the CATE policy and current "
                      "practice; each arm targets the customers its policy selects; effect = "
                      "difference in mean profit per customer",
        variance="Var = (m^2 sigma^2 (1 - R^2) + Var(d (m CATE - c))) (1/n_A + 1/n_B); the "
                 "effect is s_d x the mean profit difference among disagreeing customers",
        quantities={
            "sd_outcome": sd,
            "share_disagree": share_disagree,
            "share_targeted_policy": float(a.mean()),
            "share_targeted_current": float(b.mean()),
            "profit_spread_policy": spread_a,
            "profit_spread_current": spread_b,
        },
    )


def heterogeneity_estimand(sd: float, share_responders: float, r2: float = 0.0) -> Estimand:
    """Effect among predicted responders minus effect among predicted non-responders.

    Randomize every enrolled customer, share ``w`` to treatment, stratified by predicted
    responder (share ``q``). With ``N`` customers the four cells have ``N q w``,
    ``N q (1-w)``, ``N (1-q) w``, ``N (1-q)(1-w)`` customers and the interaction estimate
    ``(Ybar_T1 - Ybar_C1) - (Ybar_T0 - Ybar_C0)`` has variance
    ``sigma^2 [1/(N q w) + 1/(N q (1-w)) + 1/(N (1-q) w) + 1/(N (1-q)(1-w))]
    = sigma^2 / (N w (1-w) q (1-q))``. A difference in means with ``N w`` and ``N (1-w)``
    customers has variance ``sigma^2 / (N w (1-w))``, so the interaction is sized as a
    difference in means with ``sd_eff = sigma sqrt(1 - R^2) / sqrt(q (1 - q))``: at least
    four times the ATE's sample size, more as ``q`` moves from 1/2.

    >>> heterogeneity_estimand(180.0, 0.5).sd_effective
    360.0
    """
    if not 0 < share_responders < 1:
        raise InputError(f"the share of predicted responders must be in (0, 1), got "
                         f"{share_responders:g}: an interaction needs both groups",
                         argument="responder_share")
    return Estimand(
        test="heterogeneity",
        sd_effective=sd * math.sqrt(1 - r2) / math.sqrt(share_responders * (1 - share_responders)),
        scale="difference in effect, predicted responders minus non-responders",
        randomization="customers across the whole range of predicted CATE (responders and "
                      "non-responders alike) randomized between treatment and control, "
                      "stratified by predicted responder; a test that enrols only targeted "
                      "customers cannot validate the CATE model",
        variance="Var = sigma^2 (1 - R^2) / (N w (1 - w) q (1 - q))",
        quantities={"sd_outcome": sd, "share_responders": share_responders},
    )


def policy_expected_difference(cate: np.ndarray, policy: np.ndarray, current: np.ndarray,
                               margin: float, cost: float) -> float:
    """Model-predicted profit difference per customer, ``mean((a - b)(m cate - c))``.

    >>> policy_expected_difference(np.array([100.0, 0.0]), np.array([1, 0]), np.array([0, 1]),
    ...                            0.3, 10.0)
    15.0
    """
    a = np.asarray(policy, dtype=float)
    b = np.asarray(current, dtype=float)
    return float(np.mean((a - b) * (margin * np.asarray(cate, dtype=float) - cost)))


def predicted_contrast(cate: np.ndarray, responder: np.ndarray) -> float:
    """Mean predicted CATE of predicted responders minus that of non-responders.

    >>> predicted_contrast(np.array([50.0, 30.0, -10.0]), np.array([1, 1, 0]))
    50.0
    """
    cate = np.asarray(cate, dtype=float)
    responder = np.asarray(responder).astype(bool)
    return float(cate[responder].mean() - cate[~responder].mean())
