"""Did the observational model rank customers right? Calibration on randomized data.

The returned test assigned arms at known probabilities, so unbiased per-customer effect scores
exist without any outcome model: the inverse-probability transformed outcome
``Y* = Y (T - p) / (p (1 - p))`` has expectation tau(X). Everything here rests on that, which makes
the verdict on the old model independent of any new modelling choice:

- effects by groups of predicted CATE (quantiles), each a Hajek IPW estimate with an
  influence-function SE;
- the best linear predictor test of Chernozhukov, Demirer, Duflo and Fernández-Val (2018):
  weighted OLS of Y on (T - p) and (T - p)(S - mean S) with weights 1 / (p (1 - p)); the second
  coefficient is 1 for a calibrated score and 0 for one unrelated to the true effects;
- the rank-weighted average treatment effect (RATE; Yadlowsky et al. 2021) as AUTOC and Qini:
  with a ranking fixed before the test, both are linear in the scores, so their standard errors
  follow from the weights directly;
- the honest value of the old targeting policy against current practice, in profit per customer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975
from rollout.errors import InputError
from rollout.estimation.cate.validation import rate_weights
from rollout.policy.value import policy_difference, profit_scores


def _as_prob(p: np.ndarray | float, n: int) -> np.ndarray:
    p = np.broadcast_to(np.asarray(p, float), (n,)).copy()
    if np.any((p <= 0) | (p >= 1)):
        raise InputError("assignment probabilities must lie strictly between 0 and 1",
                         column="propensity")
    return p


def transformed_outcome(y: np.ndarray, t: np.ndarray, p: np.ndarray | float) -> np.ndarray:
    """IPW transformed outcome: unbiased for each customer's effect under known assignment."""
    y, t = np.asarray(y, float), np.asarray(t, float)
    p = _as_prob(p, len(y))
    return y * (t - p) / (p * (1 - p))


def _hajek(y: np.ndarray, t: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Hajek IPW effect and its influence-function SE."""
    w1, w0 = t / p, (1 - t) / (1 - p)
    m1, m0 = (w1 * y).sum() / w1.sum(), (w0 * y).sum() / w0.sum()
    n = len(y)
    psi = w1 * (y - m1) / w1.mean() - w0 * (y - m0) / w0.mean()
    return float(m1 - m0), float(psi.std(ddof=1) / np.sqrt(n))


def calibration_by_group(score: np.ndarray, y: np.ndarray, t: np.ndarray,
                         p: np.ndarray | float, n_groups: int = 5) -> pd.DataFrame:
    """Experimental effect within quantile groups of the predicted CATE (group 1 = lowest)."""
    score, y, t = np.asarray(score, float), np.asarray(y, float), np.asarray(t, float)
    p = _as_prob(p, len(y))
    ranks = pd.Series(score).rank(method="first").to_numpy()
    groups = np.minimum((ranks - 1) * n_groups // len(score), n_groups - 1).astype(int) + 1
    rows = []
    for g in range(1, n_groups + 1):
        m = groups == g
        if (t[m] == 1).sum() < 2 or (t[m] == 0).sum() < 2:
            est, se = np.nan, np.nan
        else:
            est, se = _hajek(y[m], t[m], p[m])
        rows.append({"group": g, "n": int(m.sum()), "mean_predicted": float(score[m].mean()),
                     "estimate": est, "se": se, "ci_low": est - Z_975 * se,
                     "ci_high": est + Z_975 * se})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class BLPResult(DisplayMixin):
    """Best linear predictor of the effect given the score: ATE and heterogeneity loading.

    A score with no spread (a constant CATE, the average effect deployed) ranks nobody: its
    slope is not defined, ``estimable`` is false and the slope fields are ``None``.
    """

    ate: float
    ate_se: float
    slope: float | None
    slope_se: float | None
    p_value_slope_zero: float | None
    p_value_slope_one: float | None
    n: int
    estimable: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def blp_test(score: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray | float,
             baseline: np.ndarray | None = None) -> BLPResult:
    """The CDDF best-linear-predictor test with HC1 standard errors.

    ``baseline`` (optional: the pre-period covariates, one column or several) enters as
    centred controls to reduce variance; it does not change what is estimated (the design's
    slope SE assumes them: :func:`rollout.planning.estimands.calibration_slope_se`).
    ``p_value_slope_zero`` is one-sided (slope > 0: the score carries information about the
    effect).
    """
    score, y, t = np.asarray(score, float), np.asarray(y, float), np.asarray(t, float)
    p = _as_prob(p, len(y))
    resid_t = t - p
    centred = score - score.mean()
    estimable = bool(np.abs(centred).max(initial=0.0) > 1e-12 * max(1.0, np.abs(score).max()))
    cols = [np.ones(len(y)), resid_t] + ([resid_t * centred] if estimable else [])
    if baseline is not None:
        B = np.asarray(baseline, float).reshape(len(y), -1)
        B = B[:, B.std(axis=0) > 0]
        cols[1:1] = list((B - B.mean(axis=0)).T)
    X = np.column_stack(cols)
    fit = sm.WLS(y, X, weights=1 / (p * (1 - p))).fit(cov_type="HC1")
    if not estimable:
        i_ate = len(cols) - 1
        return BLPResult(ate=float(fit.params[i_ate]), ate_se=float(fit.bse[i_ate]), slope=None,
                         slope_se=None, p_value_slope_zero=None, p_value_slope_one=None,
                         n=len(y), estimable=False)
    i_ate, i_slope = len(cols) - 2, len(cols) - 1
    slope, slope_se = float(fit.params[i_slope]), float(fit.bse[i_slope])
    return BLPResult(
        ate=float(fit.params[i_ate]), ate_se=float(fit.bse[i_ate]), slope=slope,
        slope_se=slope_se,
        p_value_slope_zero=float(stats.norm.sf(slope / slope_se)),
        p_value_slope_one=float(2 * stats.norm.sf(abs(slope - 1) / slope_se)),
        n=len(y),
    )


@dataclass(frozen=True)
class RATEResult(DisplayMixin):
    """AUTOC and Qini of a fixed ranking, with influence-function SEs and 95% intervals."""

    autoc: float
    autoc_se: float
    qini: float
    qini_se: float
    n: int

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("autoc", "qini"):
            out[f"{key}_ci_low"] = out[key] - Z_975 * out[f"{key}_se"]
            out[f"{key}_ci_high"] = out[key] + Z_975 * out[f"{key}_se"]
        return out


def rate(score: np.ndarray, effect_scores: np.ndarray) -> RATEResult:
    """RATE of a ranking (by ``score``, highest first) evaluated on unbiased effect scores.

    The ranking must not have been fitted on these data; then the estimate is a fixed linear
    combination of independent scores, and its variance is sum a_j^2 var(score_j), estimated
    conservatively with the scores' overall variance around their mean.
    """
    score, gamma = np.asarray(score, float), np.asarray(effect_scores, float)
    order = np.argsort(-score, kind="stable")
    g = gamma[order]
    n = len(g)
    out = {}
    for kind in ("autoc", "qini"):
        a = rate_weights(n, kind)
        est = float(a @ g)
        se = float(np.sqrt((a**2 * (g - g.mean()) ** 2).sum()))
        out[kind], out[f"{kind}_se"] = est, se
    return RATEResult(autoc=out["autoc"], autoc_se=out["autoc_se"], qini=out["qini"],
                      qini_se=out["qini_se"], n=n)


def policy_value_difference(policy: np.ndarray, reference: np.ndarray, y: np.ndarray,
                            t: np.ndarray, p: np.ndarray | float, cost: float,
                            margin: float) -> dict:
    """Profit per customer of targeting by ``policy`` instead of ``reference``, with a 95% CI.

    Both policies are 0/1 lists fixed before the test. A customer's incremental profit if
    targeted is margin x effect - cost; its unbiased score uses the transformed outcome.
    """
    policy, reference = np.asarray(policy, float), np.asarray(reference, float)
    scores = profit_scores(transformed_outcome(y, t, p), margin=margin, cost=cost)
    diff = policy_difference(policy, reference, scores)
    return {"estimate": diff.value, "se": diff.se, "ci_low": diff.ci_low,
            "ci_high": diff.ci_high, "share_policy": float(policy.mean()),
            "share_reference": float(reference.mean()),
            "share_disagree": float((policy != reference).mean()), "n": diff.n}


def calibration_verdict(blp: BLPResult, policy_value: dict | None, ate_ci_high: float) -> dict:
    """Validated, not validated, or harmful, with the rule that decided.

    - harmful: the campaign's effect is significantly negative (ATE CI entirely below 0), or
      targeting by the old policy loses money against current practice (CI below 0);
    - not estimable: the score is constant (the average effect deployed), so there is no ranking
      to validate; the test checks the average effect only;
    - validated: the score carries real information about the effect (BLP slope > 0 at the 5%
      level, one-sided) and, when a policy comparison is available, the old policy does not lose
      money against current practice (CI upper limit above 0) ;
    - not validated: anything else.
    """
    if ate_ci_high < 0 or (policy_value is not None and policy_value["ci_high"] < 0):
        return {"verdict": "harmful",
                "reason": "the effect or the old policy's value is significantly negative"}
    if not blp.estimable:
        return {"verdict": "not_estimable",
                "reason": "the observational CATE is the same for every customer (the average "
                          "effect was deployed): it ranks nobody, so there is no calibration "
                          "slope to test; the test checks the average effect only"}
    informative = blp.p_value_slope_zero < 0.05
    not_losing = policy_value is None or policy_value["ci_high"] > 0
    if informative and not_losing:
        return {"verdict": "validated",
                "reason": f"BLP slope {blp.slope:.2f} > 0 (one-sided p = "
                          f"{blp.p_value_slope_zero:.3g}); the old ranking predicts who responds"}
    return {"verdict": "not_validated",
            "reason": f"BLP slope {blp.slope:.2f} not significantly above 0 (p = "
                      f"{blp.p_value_slope_zero:.3g}): the old ranking does not predict who "
                      "responds"}
