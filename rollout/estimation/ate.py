"""Average-effect estimators, one function each, every one with its SE, 95% interval and estimand.

The six methods of the original analysis answer *different questions* when effects vary between
customers, and under weak overlap they also lean differently on extrapolation; reporting each
with the estimand it targets is what makes their disagreement interpretable:

========  ==================================================================  ==================
method    estimator                                                           estimand
========  ==================================================================  ==================
naive     difference in means                                                 none causal unless
                                                                              randomized
ipw       Hajek (normalized) inverse-probability weighting, clipped score     ATE
aipw      augmented IPW with cross-fitted outcome and propensity models       ATE
ols       regression of Y on T and the covariates                             variance-weighted
dml       partialling-out double ML, cross-fitted                             overlap-weighted
ato       overlap weights e(1-e), normalized, augmented (doubly robust)       ATO
========  ==================================================================  ==================

All functions take plain arrays (outcome, treatment, and the cross-fitted nuisances from
:mod:`rollout.estimation.crossfit`) so they can be checked against hand computations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from rollout.common.stats import Estimate, aipw_scores

METHODS: tuple[str, ...] = ("naive", "ipw", "aipw", "ols", "dml", "ato")

ESTIMANDS: dict[str, tuple[str, str]] = {
    "naive": ("difference in means",
              "the raw difference of arm means; a causal effect only under random assignment, "
              "biased when targeting depends on customer characteristics"),
    "ipw": ("ATE", "average effect over all customers; relies on the clipped propensity weights, "
                   "so it is biased toward the overlap population when scores were clipped"),
    "aipw": ("ATE", "average effect over all customers (doubly robust)"),
    "ols": ("variance-weighted average effect",
            "equals the ATE when the effect is constant; when effects vary, a weighted average "
            "of effects with weights the residual variance of treatment given the covariates"),
    "dml": ("overlap-weighted average effect (ATO)",
            "partialling-out targets E[e(1-e) tau(x)] / E[e(1-e)] when effects vary (the ATO); "
            "equals the ATE only when the effect is constant"),
    "ato": ("ATO", "average effect in the overlap population, each customer weighted by e(1-e)"),
}


@dataclass(frozen=True)
class EffectEstimate(Estimate):
    """One average effect: point estimate, standard error, 95% interval and what it estimates."""

    outcome: str
    method: str
    estimand: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    se_type: str
    estimand_note: str = ""
    n_clipped: int | None = None
    clip: tuple[float, float] | None = None

    def describe(self) -> str:
        """A one-line description, e.g. for logs.

        >>> EffectEstimate("y", "naive", "difference in means", 1.0, 0.5, 0.0, 2.0, 10,
        ...                "Welch").describe()
        'y naive (difference in means): 1 [0, 2] SE 0.5 (Welch), n=10'
        """
        return (f"{self.outcome} {self.method} ({self.estimand}): {self.estimate:.4g} "
                f"[{self.ci_low:.4g}, {self.ci_high:.4g}] SE {self.se:.4g} ({self.se_type}), "
                f"n={self.n}")

    def to_dict(self) -> dict[str, object]:
        doc = asdict(self)
        doc["clip"] = list(self.clip) if self.clip is not None else None
        return doc

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def effects_frame(estimates: Sequence[EffectEstimate]) -> pd.DataFrame:
    """A table with one row per estimate (the ``ate`` table of the results)."""
    frame = pd.DataFrame([e.to_dict() for e in estimates])
    frame["clip"] = frame["clip"].map(lambda c: None if c is None else f"{c[0]:g}-{c[1]:g}")
    return frame


def _from_influence(outcome: str, method: str, estimate: float, psi: np.ndarray, se_type: str,
                    **extra: object) -> EffectEstimate:
    """Build an estimate whose SE is sd(influence function) / sqrt(n), with a normal interval."""
    n = len(psi)
    se = float(np.sqrt(np.mean(psi**2) / n))
    label, note = ESTIMANDS[method]
    ci_low, ci_high = Estimate.interval(estimate, se)
    return EffectEstimate(outcome=outcome, method=method, estimand=label, estimate=float(estimate),
                          se=se, ci_low=ci_low, ci_high=ci_high, n=n, se_type=se_type,
                          estimand_note=note, **extra)  # type: ignore[arg-type]


def clip_scores(e: np.ndarray, clip: float) -> tuple[np.ndarray, int]:
    """Clip propensity scores into [clip, 1-clip]; returns the clipped scores and how many moved.

    >>> clip_scores(np.array([0.001, 0.5, 0.999]), 0.01)[1]
    2
    """
    e = np.asarray(e, dtype=float)
    clipped = np.clip(e, clip, 1 - clip)
    return clipped, int(np.sum(clipped != e))


def naive_difference(y: np.ndarray, treatment: np.ndarray, outcome: str = "y") -> EffectEstimate:
    """Difference in means with Welch's standard error and a t interval (Welch–Satterthwaite df).

    >>> naive_difference(np.array([1., 2., 3., 5., 6., 7.]), np.array([0, 0, 0, 1, 1, 1])).estimate
    4.0
    """
    y = np.asarray(y, dtype=float)
    treatment = np.asarray(treatment)
    y1, y0 = y[treatment == 1], y[treatment == 0]
    v1, v0 = np.var(y1, ddof=1) / len(y1), np.var(y0, ddof=1) / len(y0)
    se = float(np.sqrt(v1 + v0))
    df = (v1 + v0) ** 2 / (v1**2 / (len(y1) - 1) + v0**2 / (len(y0) - 1)) if se > 0 else np.inf
    estimate = float(y1.mean() - y0.mean())
    q = float(stats.t.ppf(0.975, df))
    label, note = ESTIMANDS["naive"]
    ci_low, ci_high = Estimate.interval(estimate, se, critical=q)
    return EffectEstimate(outcome=outcome, method="naive", estimand=label, estimate=estimate,
                          se=se, ci_low=ci_low, ci_high=ci_high, n=len(y),
                          se_type="Welch (unequal variances, t interval)", estimand_note=note)


def ipw_hajek(y: np.ndarray, treatment: np.ndarray, e: np.ndarray, clip: float = 0.01,
              outcome: str = "y") -> EffectEstimate:
    """Normalized (Hajek) inverse-probability-weighted ATE with the score clipped to [c, 1-c].

    The SE comes from the influence function of the two weighted means, treating the
    (cross-fitted) score as known.

    >>> t = np.array([0, 1, 0, 1]); y = np.array([1., 3., 2., 4.])
    >>> ipw_hajek(y, t, np.full(4, 0.5)).estimate
    2.0
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(float)
    e_c, n_clipped = clip_scores(e, clip)
    w1, w0 = t / e_c, (1 - t) / (1 - e_c)
    mu1 = np.sum(w1 * y) / np.sum(w1)
    mu0 = np.sum(w0 * y) / np.sum(w0)
    psi = w1 * (y - mu1) / np.mean(w1) - w0 * (y - mu0) / np.mean(w0)
    return _from_influence(outcome, "ipw", mu1 - mu0, psi,
                           "influence function (Hajek; propensity treated as known)",
                           n_clipped=n_clipped, clip=(clip, 1 - clip))


def aipw(y: np.ndarray, treatment: np.ndarray, e: np.ndarray, mu0: np.ndarray, mu1: np.ndarray,
         clip: float = 0.01, outcome: str = "y") -> EffectEstimate:
    """Augmented IPW (doubly robust) ATE with cross-fitted nuisances and influence-function SE.

    >>> t = np.array([0, 1, 0, 1]); y = np.array([1., 3., 2., 4.])
    >>> aipw(y, t, np.full(4, 0.5), np.full(4, 1.5), np.full(4, 3.5)).estimate
    2.0
    """
    e_c, n_clipped = clip_scores(e, clip)
    scores = aipw_scores(y, treatment, e_c, np.asarray(mu0, float), np.asarray(mu1, float))
    estimate = float(scores.mean())
    return _from_influence(outcome, "aipw", estimate, scores - estimate,
                           "influence function (cross-fitted)", n_clipped=n_clipped,
                           clip=(clip, 1 - clip))


def ols_adjusted(y: np.ndarray, treatment: np.ndarray, X: np.ndarray,
                 outcome: str = "y") -> EffectEstimate:
    """The coefficient of T in a least-squares fit of Y on [1, T, X], with an HC3 robust SE.

    When effects vary this is not the ATE but a weighted average of effects whose weights are the
    residual variance of T given X (Angrist 1998); the estimand label says so.

    >>> X = np.array([[0.], [1.], [2.], [3.], [4.], [5.]]); t = np.array([0, 1, 0, 1, 0, 1])
    >>> round(ols_adjusted(2 * X[:, 0] + 3 * t, t, X).estimate, 9)
    3.0
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(float)
    design = np.column_stack([np.ones(len(y)), t, np.asarray(X, dtype=float)])
    xtx_inv = np.linalg.pinv(design.T @ design)
    beta = xtx_inv @ design.T @ y
    resid = y - design @ beta
    leverage = np.einsum("ij,jk,ik->i", design, xtx_inv, design)
    scale = resid**2 / np.clip(1 - leverage, 1e-12, None) ** 2
    cov = xtx_inv @ (design.T * scale) @ design @ xtx_inv
    estimate, se = float(beta[1]), float(np.sqrt(cov[1, 1]))
    label, note = ESTIMANDS["ols"]
    ci_low, ci_high = Estimate.interval(estimate, se)
    return EffectEstimate(outcome=outcome, method="ols", estimand=label, estimate=estimate, se=se,
                          ci_low=ci_low, ci_high=ci_high, n=len(y),
                          se_type="HC3 robust", estimand_note=note)


def dml_partialling_out(y: np.ndarray, treatment: np.ndarray, e: np.ndarray, m: np.ndarray,
                        outcome: str = "y") -> EffectEstimate:
    """Partialling-out double ML: regress Y - m(x) on T - e(x), both nuisances cross-fitted.

    theta = sum (T-e)(Y-m) / sum (T-e)^2, SE from the Neyman-orthogonal score
    psi = (T-e)(Y-m-theta(T-e)) / mean((T-e)^2). With heterogeneous effects and a correct score,
    E[(T-e)(Y-m)] = E[e(1-e) tau(x)] and E[(T-e)^2] = E[e(1-e)], so theta is the overlap-weighted
    effect (ATO), not the ATE. The score is not clipped (no division by e).

    >>> t = np.array([0, 1, 0, 1]); y = np.array([1., 3., 2., 4.])
    >>> dml_partialling_out(y, t, np.full(4, 0.5), np.full(4, 2.5)).estimate
    2.0
    """
    y = np.asarray(y, dtype=float)
    rt = np.asarray(treatment).astype(float) - np.asarray(e, dtype=float)
    ry = y - np.asarray(m, dtype=float)
    j = np.mean(rt**2)
    theta = float(np.sum(rt * ry) / np.sum(rt**2))
    psi = rt * (ry - theta * rt) / j
    return _from_influence(outcome, "dml", theta, psi,
                           "influence function (Neyman-orthogonal score, cross-fitted)")


def ato_weighting(y: np.ndarray, treatment: np.ndarray, e: np.ndarray,
                  outcome: str = "y") -> EffectEstimate:
    """Plain overlap weighting (Li, Morgan & Zaslavsky 2018): weights 1-e for the treated and e
    for controls, normalized within each arm; the population weight is e(1-e).

    A reference only: with a flexible (boosted) score its error enters the estimate to first
    order, and its sandwich SE, which treats the score as known, was conservative in the coverage
    simulations. :func:`ato_overlap` is the version reported.

    >>> t = np.array([0, 1, 0, 1]); y = np.array([1., 3., 2., 4.])
    >>> ato_weighting(y, t, np.full(4, 0.5)).estimate
    2.0
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(float)
    e = np.asarray(e, dtype=float)
    w1, w0 = t * (1 - e), (1 - t) * e
    mu1 = np.sum(w1 * y) / np.sum(w1)
    mu0 = np.sum(w0 * y) / np.sum(w0)
    psi = w1 * (y - mu1) / np.mean(w1) - w0 * (y - mu0) / np.mean(w0)
    return _from_influence(outcome, "ato", mu1 - mu0, psi,
                           "influence function (sandwich; propensity treated as known)")


def ato_overlap(y: np.ndarray, treatment: np.ndarray, e: np.ndarray, mu0: np.ndarray,
                mu1: np.ndarray, outcome: str = "y") -> EffectEstimate:
    """Augmented overlap-weighted effect (ATO): overlap weights e(1-e), normalized, plus the
    arm-specific outcome models, solved from the efficient influence function of
    E[e(1-e) tau(x)] / E[e(1-e)]:

        theta = sum[(T-e)^2 (mu1-mu0) + T(1-e)(Y-mu1) - (1-T) e (Y-mu0)] / sum (T-e)^2

    The residual weights (1-e) for the treated and e for controls are the overlap weights, and
    E[(T-e)^2 | x] = e(1-e) is the overlap weight of the customer. Because it is an orthogonal
    score, errors of the cross-fitted score and outcome models enter only as products, and the
    influence-function SE is valid (unlike plain weighting with a boosted score; see
    :func:`ato_weighting`). It shares its estimand with ``dml`` but uses the two arm models
    mu0, mu1 instead of E[Y|x]; their agreement is a check on the outcome models. Overlap weights
    are bounded, so no clipping is needed.

    >>> t = np.array([0, 1, 0, 1]); y = np.array([1., 3., 2., 4.])
    >>> ato_overlap(y, t, np.full(4, 0.5), np.full(4, 1.5), np.full(4, 3.5)).estimate
    2.0
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(float)
    e = np.asarray(e, dtype=float)
    mu0, mu1 = np.asarray(mu0, dtype=float), np.asarray(mu1, dtype=float)
    h = (t - e) ** 2
    residual = t * (1 - e) * (y - mu1) - (1 - t) * e * (y - mu0)
    theta = float(np.sum(h * (mu1 - mu0) + residual) / np.sum(h))
    psi = (h * (mu1 - mu0 - theta) + residual) / np.mean(h)
    return _from_influence(outcome, "ato", theta, psi,
                           "influence function (augmented overlap weighting, cross-fitted)")


def methods_disagree(estimates: Sequence[EffectEstimate],
                     exclude: Sequence[str] = ("naive",)) -> list[tuple[str, str]]:
    """Pairs of adjusted methods whose 95% intervals do not overlap.

    >>> a = EffectEstimate("y", "ipw", "ATE", 0.0, 1.0, -2.0, 2.0, 10, "IF")
    >>> b = EffectEstimate("y", "ato", "ATO", 5.0, 1.0, 3.0, 7.0, 10, "IF")
    >>> methods_disagree([a, b])
    [('ipw', 'ato')]
    """
    kept = [e for e in estimates if e.method not in exclude and np.isfinite(e.se)]
    return [
        (a.method, b.method)
        for i, a in enumerate(kept)
        for b in kept[i + 1:]
        if a.ci_high < b.ci_low or b.ci_high < a.ci_low
    ]
