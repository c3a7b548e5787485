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
import pandas as pd

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
    ``P = m Y0 + d (m tau - c)``. The estimand is ``E[(a - b)(m tau - c)]
    = s_d * E[(a - b)(m tau - c) | a != b]``: only the share ``s_d`` of customers on which the
    policies disagree carries any difference; where they agree both arms do the same thing.

    The estimator uses that: ``s_d x (Pbar_A - Pbar_B among disagreeing customers)``
    (:func:`rollout.evaluation.statistic.test_effect`). Among disagreeing customers of arm A,
    ``V_A = m^2 sigma^2 (1 - R^2) + Var_{a != b}(a (m tau - c))`` (``sigma`` the outcome SD,
    reduced by ANCOVA; ``tau_i`` replaced by the predicted CATE), likewise ``V_B`` with ``b``;
    with ``s_d n_A`` and ``s_d n_B`` of them,
    ``Var = s_d^2 (V_A / (s_d n_A) + V_B / (s_d n_B)) = s_d V (1/n_A + 1/n_B)``, ``V`` the
    average of the two (exact for equal arms). The plain difference of the arms' mean profits
    over everyone has ``V_all = m^2 sigma^2 (1 - R^2) + Var(d (m CATE - c))`` instead (recorded
    as ``sd_effective_all_customers``): it adds the agreeing customers' pure noise.

    >>> one = np.ones(4); half = np.array([1, 1, 0, 0])
    >>> round(policy_estimand(180.0, 0.3, 12.0, half, one - half, np.zeros(4)).sd_effective, 2)
    54.33
    """
    a = np.asarray(policy, dtype=float)
    b = np.asarray(current, dtype=float)
    gain = margin * np.asarray(cate, dtype=float) - cost
    disagree = a != b
    share_disagree = float(np.mean(disagree))
    if share_disagree == 0:
        raise InputError("the two policies agree on every customer: a test between them has "
                         "no effect to find", argument="policy")
    noise = margin**2 * sd**2 * (1 - r2)
    spread_a = float(np.var(a * gain))
    spread_b = float(np.var(b * gain))
    spread_a_d = float(np.var((a * gain)[disagree]))
    spread_b_d = float(np.var((b * gain)[disagree]))
    variance = share_disagree * (noise + (spread_a_d + spread_b_d) / 2)
    variance_all = noise + (spread_a + spread_b) / 2
    return Estimand(
        test="policy",
        sd_effective=math.sqrt(variance),
        scale="profit per customer (margin x outcome - cost x targeted)",
        randomization="customers randomized between two policies: the CATE policy and current "
                      "practice; each arm targets the customers its policy selects; effect = "
                      "share disagreeing x difference in mean profit among the customers on "
                      "whom the two policies disagree",
        variance="Var = s_d (m^2 sigma^2 (1 - R^2) + Var_{a != b}(d (m CATE - c))) "
                 "(1/n_A + 1/n_B), s_d the share of customers on whom the policies disagree",
        quantities={
            "sd_outcome": sd,
            "share_disagree": share_disagree,
            "share_targeted_policy": float(a.mean()),
            "share_targeted_current": float(b.mean()),
            "profit_spread_policy": spread_a,
            "profit_spread_current": spread_b,
            "profit_spread_policy_disagreeing": spread_a_d,
            "profit_spread_current_disagreeing": spread_b_d,
            "sd_effective_all_customers": math.sqrt(variance_all),
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


# --- The same estimands on returned data: interim and evaluate use these, never their own. ---

#: Columns ``rollout assign`` writes for every customer: whether the arm's rule treats them,
#: the rule's name, whether the two rules of a policy test disagree on them, and (heterogeneity)
#: whether they are a predicted responder.
TREAT_COLUMN, RULE_COLUMN = "treat", "rule"
DISAGREE_COLUMN, RESPONDER_COLUMN = "rules_disagree", "responder"
DEFAULT_CURRENT = "treatment"

ESTIMAND_NAMES = {
    "ate": "ATE of assignment (tested population)",
    "policy": "profit per customer, CATE policy minus current practice (tested population)",
    "heterogeneity": "effect in predicted responders minus effect in predicted non-responders",
}


@dataclass(frozen=True)
class TestColumns:
    """Where a test's per-customer inputs live in the returned data (names from the design)."""

    __test__ = False  # not a pytest test class

    test: str
    policy: str | None = None
    current: str | None = None
    responder: str | None = None


def test_columns(design: Any) -> TestColumns:
    """The rule columns a design named (``details.estimand.quantities``), with defaults."""
    return columns_of(design.test, design.details)


def columns_of(test: str, details: Any) -> TestColumns:
    """:func:`test_columns` from a test name and a design's ``details`` record."""
    estimand = details.get("estimand") if isinstance(details, dict) else None
    quantities = (estimand if isinstance(estimand, dict) else {}).get("quantities") or {}
    policy = quantities.get("policy_column")
    if test == "policy" and policy is None:
        policy = "target_breakeven"
    current = quantities.get("current_column") or DEFAULT_CURRENT
    responder = quantities.get("responder_column")
    if test == "heterogeneity" and responder is None:
        responder = policy or "target_breakeven"
    return TestColumns(test=test, policy=policy, current=current, responder=responder)


def contribution(test: str, y: np.ndarray, treat: np.ndarray | None, margin: float | None,
                 cost: float | None) -> np.ndarray:
    """Each customer's contribution to the test's estimand: the outcome, or (policy) the profit
    ``margin x outcome - cost x treat``.

    >>> contribution("policy", np.array([10.0, 0.0]), np.array([1, 0]), 0.5, 2.0).tolist()
    [3.0, 0.0]
    """
    y = np.asarray(y, dtype=float)
    if test != "policy":
        return y
    if treat is None or margin is None or cost is None:
        raise InputError("the policy test's profit needs the margin, the cost and whom each "
                         "arm's rule treats", argument="test")
    return margin * y - cost * np.asarray(treat, dtype=float)


def sd_effective(design: Any) -> float:
    """The SD the design was sized with on its own scale (``sd`` for a design without one)."""
    value = design.details.get("sd_effective") if isinstance(design.details, dict) else None
    if value is None:
        estimand = design.details.get("estimand") or {}
        value = estimand.get("sd_effective")
    if value is None:
        return float(design.sd * math.sqrt(1 - (design.r2 or 0.0)))
    return float(value)


def planned_se(design: Any, n_per_arm: dict[str, int]) -> float:
    """The standard error of the test's estimate with ``n_per_arm`` customers, as designed."""
    control = design.control_arm
    treatment = next(a for a in design.arms if a != control)
    enrolment = design.details.get("enrolment") if isinstance(design.details, dict) else None
    deff = float((enrolment or {}).get("design_effect") or 1.0)
    return sd_effective(design) * math.sqrt(deff * (1 / n_per_arm[treatment]
                                                    + 1 / n_per_arm[control]))


def max_information(design: Any) -> float:
    """The design's information at its last look on the test's own scale, ``(drift / mde)^2``.

    The design's drift is the expected z at full information under the MDE, and the MDE is on
    the test's scale, so this is ``1 / SE^2`` of the test's estimate at the final look. Falls
    back to the planned sizes (``1 / planned_se^2``) for a design without a drift.
    """
    drift = design.spending.drift
    if drift:
        return float((drift / design.mde) ** 2)
    return 1.0 / planned_se(design, design.n_per_arm) ** 2


def _column(frame: Any, name: str | None, what: str, hint: str) -> np.ndarray:
    if name is None or name not in frame.columns:
        raise InputError(f"the {what} needs column {name!r} in the returned data; {hint}",
                         column=name or what)
    values = frame[name]
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(f"missing values in {name!r} (after joins)", column=name, row=row)
    return values.to_numpy(dtype=float)


JOIN_HINT = ("--join the assignment file (it carries treat, rules_disagree and responder) or "
             "the results' customers.parquet")


def arm_treat(design: Any, frame: Any, t: np.ndarray) -> np.ndarray:
    """Whether each customer's arm's rule treats them: ``treat`` from the assignment, else the
    arm's rule column (policy: the CATE policy in the treatment arm, current practice in
    control), else the arm itself (1 in a treatment arm)."""
    if TREAT_COLUMN in frame.columns:
        return _column(frame, TREAT_COLUMN, "arm's rule", JOIN_HINT)
    if design.test != "policy":
        return np.asarray(t, dtype=float)
    cols = test_columns(design)
    a = _column(frame, cols.policy, "CATE policy", JOIN_HINT)
    b = _column(frame, cols.current, "current practice", JOIN_HINT)
    return np.where(np.asarray(t) == 1, a, b)


def rules_disagree(design: Any, frame: Any) -> np.ndarray | None:
    """Whether the policy test's two rules disagree on each customer (``None`` if unknown)."""
    if DISAGREE_COLUMN in frame.columns:
        return _column(frame, DISAGREE_COLUMN, "disagreement", JOIN_HINT) == 1
    cols = test_columns(design)
    if cols.policy in frame.columns and cols.current in frame.columns:
        a = _column(frame, cols.policy, "CATE policy", JOIN_HINT)
        b = _column(frame, cols.current, "current practice", JOIN_HINT)
        return a != b
    return None


def responders(design: Any, frame: Any) -> np.ndarray:
    """Predicted responders (1) and non-responders (0) of a heterogeneity test."""
    if RESPONDER_COLUMN in frame.columns:
        return _column(frame, RESPONDER_COLUMN, "responder contrast", JOIN_HINT) == 1
    return _column(frame, test_columns(design).responder, "responder contrast", JOIN_HINT) == 1


def policy_randomization_comparison(sd: float, margin: float, cost: float, policy: np.ndarray,
                                    current: np.ndarray, cate: np.ndarray, strata: np.ndarray,
                                    r2: float = 0.0) -> dict[str, Any]:
    """Variance of the policy-difference estimate under two randomizations, per customer
    enrolled (``N x Var``, equal arms), and the smaller one.

    * policy against policy, with the disagreement estimator (:func:`policy_estimand`):
      ``4 s_d (m^2 sigma^2 (1 - R^2) + Var_{a != b}(d (m CATE - c)))``;
    * one treat/control randomization across the ranking, stratified (``strata``: propensity
      region x predicted-CATE decile), with the Imai & Li (2021) estimator
      ``sum_s w_s [mean_T((a - b) m Y) - mean_C((a - b) m Y)] - c mean(a - b)``:
      ``sum_s w_s (2 (e_s m^2 sigma^2 (1 - R^2) + Var_s((a - b) m CATE)) + 2 e_s m^2 sigma^2
      (1 - R^2))``, ``e_s`` the share disagreeing in stratum ``s``. It also identifies both
      policies' values, the ATE, the responder contrast and the calibration at once.
    """
    a = np.asarray(policy, dtype=float)
    b = np.asarray(current, dtype=float)
    cate = np.asarray(cate, dtype=float)
    noise = margin**2 * sd**2 * (1 - r2)
    pp = 4 * policy_estimand(sd, margin, cost, a, b, cate, r2).sd_effective ** 2
    frame = pd.DataFrame({"s": np.asarray(strata).astype(str), "d": (a - b) ** 2,
                      "g": (a - b) * margin * cate})
    tc = 0.0
    n = len(frame)
    for _, part in frame.groupby("s"):
        w = len(part) / n
        e = float(part["d"].mean())
        tc += w * (2 * (e * noise + float(part["g"].var(ddof=0))) + 2 * e * noise)
    chosen = "policy_vs_policy" if pp <= tc else "treat_control"
    ratio = tc / pp if pp > 0 else float("inf")
    reason = (f"policy against policy has the smaller variance ({pp:.4g} against {tc:.4g} per "
              "customer): where the two rules agree both arms do the same thing, so no "
              "customer is left untreated whom both rules would treat; a treat/control "
              "randomization would also identify the ATE, the responder contrast and the "
              f"calibration, at {ratio:.2f} times the variance for the policy difference"
              if chosen == "policy_vs_policy" else
              f"one stratified treat/control randomization across the ranking has the smaller "
              f"variance ({tc:.4g} against {pp:.4g} per customer) and also identifies the "
              "ATE, the responder contrast and the calibration: run it as --test "
              "heterogeneity (evaluate's calibration then checks the ranking)")
    return {"variance_per_customer_policy_vs_policy": pp,
            "variance_per_customer_treat_control": tc, "smaller": chosen,
            "reason": reason, "treat_control_strata": "propensity region x predicted-CATE decile",
            "reference": "Imai & Li (2021), Experimental evaluation of individualized "
                         "treatment rules"}


def calibration_slope_se(cate: np.ndarray, residual: np.ndarray, n_total: float,
                         share_control: float, inclusion: np.ndarray | None = None
                         ) -> dict[str, float]:
    """The standard error the calibration (BLP) slope will have, from the design.

    Evaluate regresses the outcome on ``1``, the covariates, ``T - p`` and ``(T - p)(S - Sbar)``
    (``S`` the predicted CATE, ``p`` the assignment probability) with robust errors; the slope is
    1 for a calibrated score. Its regressors are orthogonal by randomization, so with ``N``
    customers and ``e`` the outcome's residual after everything else in the regression,
    ``Var(slope) = E[(S - Sbar)^2 e^2] / (N p (1 - p) Var(S)^2)``, the moments taken over the
    enrolled customers (each eligible customer weighted by its ``inclusion`` probability). With
    ``e`` independent of ``S`` this is the textbook ``sigma_e / (sd(S) sqrt(N p (1 - p)))``
    (``2 sigma_e / (sd(S) sqrt(N))`` for a 1:1 test); ``kappa = E[S_c^2 e^2] / (E[S_c^2] E[e^2])``
    is the factor a heavy-tailed CATE whose extremes have the noisiest outcomes adds, and the
    robust SE the evaluation reports carries it too.

    >>> out = calibration_slope_se(np.array([-1.0, 1.0, -1.0, 1.0]), np.array([2.0, 2.0, -2.0,
    ...                            -2.0]), 400, 0.5)
    >>> round(out["se"], 6), out["kappa"]
    (0.2, 1.0)
    """
    cate = np.asarray(cate, dtype=float)
    e = np.asarray(residual, dtype=float)
    pi = np.ones(len(cate)) if inclusion is None else np.asarray(inclusion, dtype=float)
    pi = pi / pi.sum()
    centred = cate - float(pi @ cate)
    var_s = float(pi @ centred**2)
    var_e = float(pi @ e**2)
    if var_s <= 0 or var_e <= 0:
        return {"se": float("inf"), "kappa": float("nan"), "sd_cate": math.sqrt(var_s),
                "sd_residual": math.sqrt(var_e)}
    cross = float(pi @ (centred**2 * e**2))
    scale = n_total * share_control * (1 - share_control)
    return {"se": math.sqrt(cross / (scale * var_s**2)), "kappa": cross / (var_s * var_e),
            "sd_cate": math.sqrt(var_s), "sd_residual": math.sqrt(var_e),
            "se_homoskedastic": math.sqrt(var_e / (scale * var_s))}
