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
from rollout.planning.enrolment import RANDOMIZE_IN_TEST
from rollout.planning.estimands import (
    CATE_DECILE,
    ESTIMAND_NAMES,
    JOIN_HINT,
    TREAT_CONTROL,
    arm_treat,
    cate_deciles,
    contribution,
    policy_randomization,
    responders,
    rule_difference,
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

    When the design enrolled its groups at different rates (``details.enrolment``: every
    customer labelled ``randomize_in_test`` for identification, a sample of the others for
    power) the estimate is computed within each group and the groups are weighted by their
    population counts (:func:`_weighted_effect`); otherwise by :func:`_plain_effect`.
    """
    warnings = warnings if warnings is not None else []
    record = enrolment_record(design)
    if record is not None and record.get("weighted"):
        if RANDOMIZE_IN_TEST in frame.columns:
            return _weighted_effect(design, record, frame, np.asarray(y, dtype=float),
                                    np.asarray(t, dtype=int), X, warnings)
        warnings.append(f"the design weights its enrolment groups but the data lack "
                        f"{RANDOMIZE_IN_TEST!r}: the estimate is unweighted and estimates the "
                        "tested mix, not the population; " + JOIN_HINT)
    return _plain_effect(design, frame, y, t, X, warnings)


def enrolment_record(design: Any) -> dict[str, Any] | None:
    """The design's enrolment record (``details.enrolment``), or ``None``."""
    details = design.details if isinstance(design.details, dict) else {}
    record = details.get("enrolment")
    return record if isinstance(record, dict) and record.get("groups") else None


def _combine(parts: list[tuple[float, Effect]]) -> tuple[float, float]:
    """``sum w_k est_k`` and its SE ``sqrt(sum w_k^2 se_k^2)`` (independent parts)."""
    estimate = math.fsum(w * e.estimate for w, e in parts)
    return estimate, math.sqrt(math.fsum((w * e.se) ** 2 for w, e in parts))


def _weighted_effect(design: Any, record: dict[str, Any], frame: Any, y: np.ndarray,
                     t: np.ndarray, X: np.ndarray | None, warnings: list[str]) -> Effect:
    """The test's estimate within each enrolment group, groups weighted by their population.

    ``ate`` and ``policy``: ``sum_g (N_g / N) est_g``, each ``est_g`` the group's own estimate
    (the policy's ``s_d,g x`` profit difference among its disagreeing customers). Under
    ``heterogeneity`` each responder group's effect is ``sum_g (N_gr / N_r) est_gr``. Groups are
    randomized independently, so the variances add with the squared weights.
    """
    group = frame[RANDOMIZE_IN_TEST].to_numpy(dtype=float)
    groups = [g for g in record["groups"] if g["population"] > 0]
    total = sum(g["population"] for g in groups)
    if design.test == "heterogeneity":
        responder = responders(design, frame)
        cells: dict[bool, list[tuple[float, Effect]]] = {True: [], False: []}
        for g in groups:
            counts = {True: g["population_responders"],
                      False: g["population"] - g["population_responders"]}
            for r in (True, False):
                m = (group == g["value"]) & (responder == r)
                name = (f"{'predicted responders' if r else 'predicted non-responders'} with "
                        f"{RANDOMIZE_IN_TEST} = {g['value']}")
                if counts[r]:
                    _enough(t[m], name)
                    cells[r].append((counts[r], _arm_effect(y[m], t[m], None if X is None
                                                            else X[m], warnings, name)))
        totals = {r: sum(w for w, _ in cells[r]) for r in cells}
        high = _combine([(w / totals[True], e) for w, e in cells[True]])
        low = _combine([(w / totals[False], e) for w, e in cells[False]])
        estimate, se = high[0] - low[0], math.hypot(high[1], low[1])
        method, name = "responder_contrast", ESTIMAND_NAMES["heterogeneity"]
    else:
        parts = []
        for g in groups:
            m = group == g["value"]
            name = f"customers with {RANDOMIZE_IN_TEST} = {g['value']}"
            _enough(t[m], name)
            Xm = None if X is None else X[m]
            parts.append((g["population"] / total,
                          _arm_effect(y[m], t[m], Xm, warnings, name) if design.test == "ate"
                          else _plain_effect(design, frame[m], y[m], t[m], Xm, warnings)))
        estimate, se = _combine(parts)
        method = parts[0][1].method
        name = parts[0][1].estimand
    return _normal_effect(method, name, estimate, se, t,
                          "within each enrolment group (randomize_in_test), groups weighted "
                          "by their population counts; variances added")


def _enough(t: np.ndarray, what: str) -> None:
    if (t == 1).sum() < 2 or (t == 0).sum() < 2:
        raise InputError(f"fewer than 2 customers per arm among {what}: the weighted estimate "
                         "needs every enrolment group in both arms", column="arm")


def _plain_effect(design: Any, frame: Any, y: np.ndarray, t: np.ndarray,
                  X: np.ndarray | None, warnings: list[str]) -> Effect:
    """The test's estimate with every tested customer counted alike.

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
    if policy_randomization(design) == TREAT_CONTROL:
        return treat_control_effect(design, frame, y, t, warnings)
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


def policy_strata(design: Any, frame: Any) -> np.ndarray | None:
    """Each tested customer's stratum: the assignment's ``stratum`` label, else the design's
    stratum columns in the data (``cate_decile`` cut from ``cate`` at the design's edges), else
    ``None``."""
    if "stratum" in frame.columns:
        return frame["stratum"].astype(str).to_numpy()
    quantities = ((design.details.get("estimand") or {}).get("quantities") or {}
                  if isinstance(design.details, dict) else {})
    edges = quantities.get("cate_decile_edges")
    columns = {}
    for name in design.strata:
        if name in frame.columns:
            columns[name] = frame[name].astype(str).to_numpy()
        elif name == CATE_DECILE and edges and "cate" in frame.columns \
                and not frame["cate"].isna().any():
            columns[name] = cate_deciles(frame["cate"].to_numpy(dtype=float), edges).astype(str)
    if not columns:
        return None
    labels = np.array([""] * len(frame), dtype=object)
    for k, values in enumerate(columns.values()):
        labels = labels + ("|" if k else "") + values.astype(object)
    return labels.astype(str)


def _stratum_cells(labels: np.ndarray, t: np.ndarray, warnings: list[str]
                   ) -> list[np.ndarray]:
    """The strata as masks; strata without 2 customers in each arm are pooled into one cell
    (and that cell into the largest stratum if it is still short), with a warning."""
    cells, thin = [], np.zeros(len(t), dtype=bool)
    for label in sorted(set(labels.tolist())):
        m = labels == label
        if (t[m] == 1).sum() >= 2 and (t[m] == 0).sum() >= 2:
            cells.append(m)
        else:
            thin |= m
    if thin.any():
        warnings.append(f"{int(thin.sum())} tested customers are in strata without 2 customers "
                        "in each arm: those strata are pooled into one for the policy "
                        "difference")
        if (t[thin] == 1).sum() >= 2 and (t[thin] == 0).sum() >= 2:
            cells.append(thin)
        elif cells:
            largest = max(range(len(cells)), key=lambda k: int(cells[k].sum()))
            cells[largest] = cells[largest] | thin
        else:
            cells.append(thin)
    return cells


def treat_control_effect(design: Any, frame: Any, y: np.ndarray, t: np.ndarray,
                         warnings: list[str]) -> Effect:
    """The policy difference from a treat/control randomization (Imai & Li 2021).

    Each customer contributes ``Z = (a - b) P``, ``a - b`` the CATE policy minus current
    practice and ``P = margin x outcome - cost x treat`` their profit (``treat`` = 1 in the
    campaign arm); the estimate is ``sum_s w_s (mean_T Z - mean_C Z)`` over the strata ``s``
    (``w_s`` their shares of the tested customers: each enrolment group is one rate, and
    groups enrolled at different rates are weighted back to the population by
    :func:`_weighted_effect`), with ``SE^2 = sum_s w_s^2 (var_T Z / n_Ts + var_C Z / n_Cs)``.
    The design sized this variance (:func:`rollout.planning.estimands.treat_control_estimand`).
    """
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=int)
    g = rule_difference(design, frame)
    z = g * contribution("policy", y, arm_treat(design, frame, t), design.margin, design.cost)
    labels = policy_strata(design, frame)
    if labels is None:
        warnings.append("the strata are not in the data: the treat/control policy difference "
                        "is estimated unstratified (unbiased, its SE a little wider); "
                        + JOIN_HINT)
        labels = np.zeros(len(t), dtype=int).astype(str)
    if (t == 1).sum() < 2 or (t == 0).sum() < 2:
        raise InputError("fewer than 2 customers per arm: the policy difference cannot be "
                         "estimated", column="arm")
    estimate = variance = 0.0
    cells = _stratum_cells(labels, t, warnings)
    for m in cells:
        w = m.sum() / len(t)
        z1, z0 = z[m & (t == 1)], z[m & (t == 0)]
        estimate += w * (z1.mean() - z0.mean())
        variance += w**2 * (z1.var(ddof=1) / z1.size + z0.var(ddof=1) / z0.size)
    return _normal_effect(
        "policy_profit_difference", ESTIMAND_NAMES["policy"], estimate, math.sqrt(variance), t,
        f"treat/control across the ranking (Imai & Li): within {len(cells)} strata, difference "
        "in mean (CATE policy - current practice) x profit, strata weighted by their shares")


test_effect.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
