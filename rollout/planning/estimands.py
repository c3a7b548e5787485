"""The three A/B tests a design can size, each reduced to a difference in means with its own SD.

Every test is sized by :func:`rollout.planning.power.solve_fixed` on the estimand's own scale
with an *effective* SD chosen so that ``sd_eff^2 (1/n_t + 1/n_c)`` is the variance of the
estimator. The derivations are in each function's docstring and are checked against simulation
in ``tests/planning/test_estimands.py``.

* ``ate``: the campaign's average effect in the chosen population.
* ``policy``: the difference in mean profit per customer between two targeting policies (the
  CATE policy and current practice), from customers randomized between the two policies
  (:func:`policy_estimand`) or from one stratified treat/control randomization across the
  ranking (:func:`treat_control_estimand`, Imai & Li 2021), whichever has the smaller variance
  (:func:`policy_randomization_comparison`).
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
from rollout.planning.design import POLICY_RANDOMIZATIONS


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


PROFIT_SCALE = "profit per customer (margin x outcome - cost x targeted)"
"""The policy test's scale, under either randomization."""


def _require_disagreement(disagree: np.ndarray) -> None:
    """Refuse two policies that agree on every customer: a test between them has no effect."""
    if not np.any(disagree):
        raise InputError("the two policies agree on every customer: a test between them has "
                         "no effect to find", argument="policy")


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
    _require_disagreement(disagree)
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
        scale=PROFIT_SCALE,
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
#: A treat/control policy test's per-customer ``a - b`` (CATE policy minus current practice).
RULE_DIFFERENCE_COLUMN = "rule_difference"
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


JOIN_HINT = ("--join the assignment file (it carries treat, rules_disagree, rule_difference "
             "and responder) or the results' customers.parquet")


def arm_treat(design: Any, frame: Any, t: np.ndarray) -> np.ndarray:
    """Whether each customer's arm's rule treats them: ``treat`` from the assignment, else the
    arm's rule column (policy against policy: the CATE policy in the treatment arm, current
    practice in control), else the arm itself (1 in a treatment arm)."""
    if TREAT_COLUMN in frame.columns:
        return _column(frame, TREAT_COLUMN, "arm's rule", JOIN_HINT)
    if policy_randomization(design) != POLICY_VS_POLICY:
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


def rule_difference(design: Any, frame: Any) -> np.ndarray:
    """The CATE policy minus current practice for each customer (``a - b``: 1, 0 or -1):
    ``rule_difference`` from the assignment, else the two rule columns."""
    if RULE_DIFFERENCE_COLUMN in frame.columns:
        return _column(frame, RULE_DIFFERENCE_COLUMN, "policy difference", JOIN_HINT)
    cols = test_columns(design)
    a = _column(frame, cols.policy, "CATE policy", JOIN_HINT)
    b = _column(frame, cols.current, "current practice", JOIN_HINT)
    return a - b


def responders(design: Any, frame: Any) -> np.ndarray:
    """Predicted responders (1) and non-responders (0) of a heterogeneity test."""
    if RESPONDER_COLUMN in frame.columns:
        return _column(frame, RESPONDER_COLUMN, "responder contrast", JOIN_HINT) == 1
    return _column(frame, test_columns(design).responder, "responder contrast", JOIN_HINT) == 1


#: How the policy test randomizes: between the two rules, or treatment and control across the
#: whole ranking (Imai & Li 2021); ``auto`` picks the one with the smaller variance.
POLICY_VS_POLICY, TREAT_CONTROL = POLICY_RANDOMIZATIONS
RANDOMIZATION_CHOICES = ("auto", *POLICY_RANDOMIZATIONS)
#: The stratum column of a treat/control policy test: the predicted-CATE decile (1-10), cut at
#: the design's edges (``quantities.cate_decile_edges``) so assignment and evaluation cut alike.
CATE_DECILE = "cate_decile"
TREAT_CONTROL_STRATA = ("ps_region", CATE_DECILE)


def cate_decile_edges(cate: np.ndarray) -> list[float]:
    """The nine inner cut points of the predicted CATE's deciles.

    >>> [round(v, 9) for v in cate_decile_edges(np.arange(11.0))]
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    """
    return [float(v) for v in np.quantile(np.asarray(cate, dtype=float),
                                          np.linspace(0.1, 0.9, 9))]


def cate_deciles(cate: np.ndarray, edges: Any) -> np.ndarray:
    """Each customer's predicted-CATE decile, 1 to 10, at the design's ``edges``.

    >>> cate_deciles(np.array([0.5, 1.0, 9.5]), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    array([ 1,  2, 10])
    """
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(cate, dtype=float),
                           side="right") + 1


def _stratum_moments(margin: float, cost: float, sd: float, mean: float, g: np.ndarray,
                     cate: np.ndarray, strata: np.ndarray) -> pd.DataFrame:
    """Per stratum: its population share ``w``, and ``V1 = Var_s(g P(1))``, ``V0 = Var_s(g
    P(0))`` of a customer's contribution under treatment and control (see
    :func:`treat_control_estimand`)."""
    noise = margin**2 * sd**2
    frame = pd.DataFrame({"s": np.asarray(strata).astype(str), "e": g**2,
                          "g1": g * (margin * (mean + cate) - cost), "g0": g * margin * mean})
    parts = frame.groupby("s", sort=True).agg(
        n=("e", "size"), e=("e", "mean"), var1=("g1", lambda v: float(np.var(v))),
        var0=("g0", lambda v: float(np.var(v))))
    return pd.DataFrame({"w": parts["n"] / len(frame), "V1": parts["e"] * noise + parts["var1"],
                         "V0": parts["e"] * noise + parts["var0"]})


def treat_control_estimand(sd: float, mean: float, margin: float, cost: float,
                           policy: np.ndarray, current: np.ndarray, cate: np.ndarray,
                           strata: np.ndarray, share_treated: float = 0.5) -> Estimand:
    """The policy difference from one stratified treat/control randomization (Imai & Li 2021).

    Every customer is randomized to the campaign (share ``p``) or none, within strata ``s``
    (propensity region x predicted-CATE decile, population shares ``w_s``). With ``g = a - b``
    (the CATE policy minus current practice, each 0/1) and each customer's profit ``P = m Y -
    c x treated``, the estimate is ``sum_s w_s [mean_T(g P) - mean_C(g P)]`` =
    ``sum_s w_s [mean_T(g m Y) - mean_C(g m Y)] - c sum_s w_s mean_T(g)``: unbiased for
    ``E[(a - b)(m tau - c)]``, because ``E[g P | T] - E[g P | C] = E[g (m tau - c)]`` in every
    stratum. (The cost term is the treated customers' own cost, ``c mean_T(a - b)``, in place of
    ``c mean(a - b)``: the same expectation, and each customer's contribution is then simply
    ``(a - b)`` x their profit.) Where the rules agree ``g = 0`` and the customer adds nothing.

    With ``Y(0) = mu + e`` (``mu`` the control mean, ``Var e = sigma^2``; the estimate is not
    covariate-adjusted, so no ``R^2``) and ``Y(1) = Y(0) + tau``, in stratum ``s`` (``e_s`` the
    share disagreeing there):

    * ``V1_s = Var_s(g P(1)) = e_s m^2 sigma^2 + Var_s(g (m (mu + CATE) - c))``,
    * ``V0_s = Var_s(g P(0)) = e_s m^2 sigma^2 + m^2 mu^2 Var_s(g)``,

    and with ``n_s = w_s N`` customers, ``p n_s`` treated,
    ``Var = sum_s w_s^2 (V1_s / (p n_s) + V0_s / ((1 - p) n_s))
    = (1/N) sum_s w_s (V1_s / p + V0_s / (1 - p))``. A difference in means with ``p N`` and
    ``(1 - p) N`` customers has ``sd_eff^2 / (p (1 - p) N)``, so the test is sized with
    ``sd_eff^2 = sum_s w_s ((1 - p) V1_s + p V0_s)``. The ``mu^2 Var_s(g)`` term is the price of
    this design: the rules' difference multiplies each customer's whole spend, not only the
    campaign's effect on it, wherever the two rules disagree on part of a stratum.

    >>> one = np.ones(4); half = np.array([1, 1, 0, 0])
    >>> est = treat_control_estimand(180.0, 0.0, 0.3, 12.0, half, one - half, np.zeros(4),
    ...                              np.zeros(4))
    >>> round(est.sd_effective, 2)  # sqrt(0.3^2 180^2 + 12^2 / 2)
    54.66
    """
    a = np.asarray(policy, dtype=float)
    b = np.asarray(current, dtype=float)
    g = a - b
    _require_disagreement(g != 0)
    p = float(share_treated)
    moments = _stratum_moments(margin, cost, sd, mean, g, np.asarray(cate, dtype=float),
                               strata)
    variance = float((moments["w"] * ((1 - p) * moments["V1"] + p * moments["V0"])).sum())
    return Estimand(
        test="policy",
        sd_effective=math.sqrt(variance),
        scale=PROFIT_SCALE,
        randomization="customers across the whole ranking randomized between the campaign "
                      "(treatment) and no campaign (control), stratified by propensity region "
                      "x predicted-CATE decile; effect = sum over strata of the stratum's "
                      "population share x the difference between the arms in mean (CATE "
                      "policy - current practice) x profit (Imai & Li 2021)",
        variance="Var = (1/N) sum_s w_s (V1_s / p + V0_s / (1 - p)), V1_s = e_s m^2 sigma^2 + "
                 "Var_s((a - b)(m (mu + CATE) - c)), V0_s = e_s m^2 sigma^2 + m^2 mu^2 "
                 "Var_s(a - b), e_s the share disagreeing in stratum s, mu the control mean",
        quantities={
            "sd_outcome": sd, "outcome_mean": mean, "share_treated": p,
            "share_disagree": float(np.mean(g != 0)),
            "share_targeted_policy": float(a.mean()),
            "share_targeted_current": float(b.mean()),
            "mean_rule_difference": float(g.mean()),
            "strata_in_variance": len(moments),
        },
    )


def policy_randomization_comparison(sd: float, margin: float, cost: float, policy: np.ndarray,
                                    current: np.ndarray, cate: np.ndarray, strata: np.ndarray,
                                    r2: float = 0.0, mean: float = 0.0,
                                    share_treated: float = 0.5) -> dict[str, Any]:
    """Variance of the policy-difference estimate under the two randomizations, per customer
    enrolled (``N x Var``, with ``p = share_treated`` of them in the first arm), and which is
    smaller, with the reason in words. Each is ``sd_eff^2 / (p (1 - p))``:

    * policy against policy, with the disagreement estimator (:func:`policy_estimand`):
      ``s_d (m^2 sigma^2 (1 - R^2) + Var_{a != b}(d (m CATE - c))) / (p (1 - p))`` (``4 x``
      at equal arms);
    * one treat/control randomization across the ranking, stratified (``strata``: propensity
      region x predicted-CATE decile), with the Imai & Li (2021) estimator
      (:func:`treat_control_estimand`): ``2 sum_s w_s (V1_s + V0_s)``. It also identifies both
      policies' values, the ATE, the responder contrast and the calibration at once.
    """
    a = np.asarray(policy, dtype=float)
    b = np.asarray(current, dtype=float)
    cate = np.asarray(cate, dtype=float)
    p = float(share_treated)
    scale = 1.0 / (p * (1.0 - p))
    pp = scale * policy_estimand(sd, margin, cost, a, b, cate, r2).sd_effective ** 2
    tc = scale * treat_control_estimand(sd, mean, margin, cost, a, b, cate, strata,
                                        share_treated=p).sd_effective ** 2
    smaller = POLICY_VS_POLICY if pp <= tc else TREAT_CONTROL
    return {"variance_per_customer_policy_vs_policy": pp,
            "variance_per_customer_treat_control": tc, "smaller": smaller,
            "reason": randomization_reason(smaller, smaller, pp, tc),
            "treat_control_strata": "propensity region x predicted-CATE decile",
            "reference": "Imai & Li (2021), Experimental evaluation of individualized "
                         "treatment rules"}


def randomization_reason(chosen: str, smaller: str, pp: float, tc: float) -> str:
    """Why the policy test randomizes as it does, in an analyst's words: which randomization
    answers 'does the CATE policy earn more than current practice?' more precisely, and what
    each one buys.

    >>> randomization_reason("treat_control", "policy_vs_policy", 1.0, 2.0)[:40]
    'Randomized as asked (--policy-randomizat'
    """
    what = {POLICY_VS_POLICY: "customers are randomized between the two targeting rules",
            TREAT_CONTROL: "customers across the whole ranking are randomized between the "
                           "campaign and no campaign"}
    variances = {POLICY_VS_POLICY: pp, TREAT_CONTROL: tc}
    other = TREAT_CONTROL if smaller == POLICY_VS_POLICY else POLICY_VS_POLICY
    ratio = variances[other] / variances[smaller] if variances[smaller] > 0 else float("inf")
    label = {POLICY_VS_POLICY: "randomizing between the two rules",
             TREAT_CONTROL: "one treat/control test across the ranking"}
    precise = (f"{label[smaller]} answers 'does the CATE policy earn more than current "
               f"practice?' more precisely (variance {variances[smaller]:.4g} per customer "
               f"against {variances[other]:.4g}, {ratio:.2f} times as much, for "
               f"{label[other]})")
    why = {POLICY_VS_POLICY: "where the two rules agree both arms do the same thing and add no "
                             "noise, whereas a treat/control test reads both rules' value off "
                             "every customer's whole spend wherever they disagree",
           TREAT_CONTROL: "the rules disagree on so many customers that comparing them within "
                          "one treat/control test costs less than splitting customers between "
                          "them"}[smaller]
    bonus = ("A treat/control test also measures the campaign's average effect, the effect in "
             "predicted responders against non-responders and how well the predicted CATE "
             "ranks customers (calibration).")
    if chosen == smaller:
        return f"{what[chosen].capitalize()}: {precise}; {why}. {bonus}"
    return (f"Randomized as asked (--policy-randomization {chosen}): {what[chosen]}. Note that "
            f"{precise}; {why}. {bonus}")


def policy_randomization(design: Any) -> str | None:
    """How a policy test randomized (``None`` for another test); a design written before the
    choice existed randomized policy against policy."""
    if getattr(design, "test", None) != "policy":
        return None
    return getattr(design, "policy_randomization", None) or POLICY_VS_POLICY


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
