"""Held-out validation of a CATE model on observational data, with doubly robust scores.

On observational data a naive uplift curve (treated minus control mean among the top-ranked) is
confounded: the top-ranked customers are also the ones most likely to have been targeted. Every
figure here is therefore computed on *doubly robust scores*

    gamma = mu1(x) - mu0(x) + t (y - mu1(x)) / e(x) - (1 - t) (y - mu0(x)) / (1 - e(x))

built from the cross-fitted nuisances (:mod:`rollout.estimation.crossfit`); gamma has
expectation tau(x) when either the outcome models or the propensity score are right. With the
CATE model fitted on the training split and evaluated on the held-out split, each figure is a
fixed function of independent scores, so its standard error follows directly:

- **BLP** (best linear predictor, Chernozhukov et al. 2018): OLS of gamma on
  [1, cate - mean(cate)] with HC1 robust standard errors. The intercept is the ATE; the slope is 1
  for a calibrated CATE and 0 for one that carries no information about the effects.
  ``p_value`` is one-sided (H1: slope > 0, the CATE predicts who gains more).
- **AUUC** and **Qini**: the uplift curve U(q) = (1/n) sum of the top qn scores (gain per
  customer of targeting the top q by predicted CATE); AUUC is its area, Qini the area between it
  and random targeting (q times the mean score), i.e. the Qini-weighted RATE. Both are linear in
  the sorted scores, so SE^2 = sum_j a_j^2 (gamma_(j) - mean gamma)^2 (influence function).
- **R-loss** (Nie and Wager 2021): mean(((y - m(x)) - (t - e(x)) tau(x))^2), the loss whose
  minimizer is the true CATE; the selection rule uses it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975, aipw_scores


def dr_scores(y: np.ndarray, t: np.ndarray, e: np.ndarray, mu0: np.ndarray, mu1: np.ndarray,
              clip: float = 0.01) -> np.ndarray:
    """Doubly robust (AIPW) score per customer, the propensity clipped into [clip, 1 - clip]
    (the same clipping as the analysis's AIPW, so the scores average to its estimate): the one
    score of :func:`rollout.common.stats.aipw_scores`.

    >>> dr_scores(np.array([3.0, 1.0]), np.array([1, 0]), np.array([0.5, 0.5]),
    ...           np.array([1.0, 1.0]), np.array([2.0, 2.0])).tolist()
    [3.0, 1.0]
    """
    return aipw_scores(y, t, e, mu0, mu1, clip=clip)


def rate_weights(n: int, kind: str) -> np.ndarray:
    """Weights a_j on the j-th best-ranked score such that RATE = sum_j a_j * score_(j).

    AUTOC = (1/n) sum_k TOC(k/n), TOC(k/n) = mean of the top k scores - mean of all scores, so
    a_j = (H_n - H_{j-1}) / n - 1/n with H the harmonic numbers. Qini weights each TOC(k/n) by
    k/n instead, giving a_j = (n - j + 1) / n^2 - (n + 1) / (2 n^2). Both sum to zero.
    """
    j = np.arange(1, n + 1)
    if kind == "autoc":
        harmonic = np.concatenate([[0.0], np.cumsum(1.0 / j)])
        return (harmonic[n] - harmonic[j - 1]) / n - 1.0 / n
    if kind == "qini":
        return (n - j + 1) / n**2 - (n + 1) / (2 * n**2)
    raise ValueError(f"unknown RATE kind {kind!r}")


def r_loss_terms(y: np.ndarray, t: np.ndarray, m: np.ndarray, e: np.ndarray, tau: np.ndarray,
                 clip: float = 0.01) -> np.ndarray:
    """Each customer's R-loss term ((y - m) - (t - e) tau)^2 (mean them for the R-loss).

    >>> r_loss_terms(np.array([2.0]), np.array([1]), np.array([1.0]), np.array([0.5]),
    ...              np.array([2.0])).tolist()
    [0.0]
    """
    y, t = np.asarray(y, float), np.asarray(t, float)
    e = np.clip(np.asarray(e, float), clip, 1 - clip)
    return ((y - m) - (t - e) * np.asarray(tau, float)) ** 2


@dataclass(frozen=True)
class BLPFit(DisplayMixin):
    """BLP of the DR scores on the centred CATE: ATE (intercept) and heterogeneity slope."""

    ate: float
    ate_se: float
    slope: float
    slope_se: float
    p_value: float
    n: int
    se_type: str = "HC1"

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def blp_test(cate: np.ndarray, scores: np.ndarray) -> BLPFit:
    """OLS of the DR scores on [1, cate - mean cate], HC1 standard errors, one-sided slope test.

    A constant CATE carries no ranking information: slope and its SE are NaN, p-value 1.

    >>> fit = blp_test(np.array([0.0, 1, 2, 3]), np.array([0.0, 2, 1, 3]))
    >>> round(fit.ate, 6), round(fit.slope, 6)
    (1.5, 0.8)
    """
    cate, scores = np.asarray(cate, float), np.asarray(scores, float)
    n = len(scores)
    centred = cate - cate.mean()
    ate = float(scores.mean())
    sxx = float(centred @ centred)
    if n < 3 or sxx <= 1e-12 * max(1.0, float(np.abs(cate).max()) ** 2) * n:
        ate_se = float(scores.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        return BLPFit(ate=ate, ate_se=ate_se, slope=float("nan"), slope_se=float("nan"),
                      p_value=1.0, n=n)
    slope = float(centred @ (scores - ate) / sxx)
    resid = scores - ate - slope * centred
    # HC1 sandwich; the regressors 1 and centred are orthogonal, so the bread is diagonal
    scale = n / (n - 2)
    ate_var = scale * float(resid @ resid) / n**2
    slope_var = scale * float((centred**2) @ (resid**2)) / sxx**2
    slope_se = float(np.sqrt(slope_var))
    p_value = float(stats.norm.sf(slope / slope_se)) if slope_se > 0 else float("nan")
    return BLPFit(ate=ate, ate_se=float(np.sqrt(ate_var)), slope=slope, slope_se=slope_se,
                  p_value=p_value, n=n)


def auuc_weights(n: int) -> np.ndarray:
    """Weights a_j on the j-th best-ranked score with AUUC = sum_j a_j gamma_(j).

    AUUC = (1/n) sum_k U(k/n) with U(k/n) = (1/n) sum_{j<=k} gamma_(j), so a_j = (n - j + 1)/n^2.

    >>> auuc_weights(2).tolist()
    [0.5, 0.25]
    """
    j = np.arange(1, n + 1)
    return (n - j + 1) / n**2


@dataclass(frozen=True)
class UpliftResult(DisplayMixin):
    """AUUC and Qini of a ranking on DR scores, with influence-function SEs and 95% intervals."""

    auuc: float
    auuc_se: float
    qini: float
    qini_se: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        out = asdict(self)
        for key in ("auuc", "qini"):
            out[f"{key}_ci_low"] = out[key] - Z_975 * out[f"{key}_se"]
            out[f"{key}_ci_high"] = out[key] + Z_975 * out[f"{key}_se"]
        return out


def _sorted_scores(cate: np.ndarray, scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-np.asarray(cate, float), kind="stable")
    return np.asarray(scores, float)[order]


def uplift_test(cate: np.ndarray, scores: np.ndarray) -> UpliftResult:
    """AUUC and Qini (Qini-weighted RATE) of the ranking by ``cate`` evaluated on ``scores``.

    >>> res = uplift_test(np.array([2.0, 1.0]), np.array([4.0, 0.0]))
    >>> res.auuc, res.qini
    (2.0, 0.5)
    """
    g = _sorted_scores(cate, scores)
    n = len(g)
    centred = g - g.mean()
    out = {}
    for key, a in (("auuc", auuc_weights(n)), ("qini", rate_weights(n, "qini"))):
        out[key] = float(a @ g)
        out[f"{key}_se"] = float(np.sqrt((a**2) @ (centred**2)))
    return UpliftResult(auuc=out["auuc"], auuc_se=out["auuc_se"], qini=out["qini"],
                        qini_se=out["qini_se"], n=n)


def uplift_curve(cate: np.ndarray, scores: np.ndarray,
                 points: int = 50) -> dict[str, np.ndarray]:
    """The uplift curve U(q) with a pointwise 95% band, and the random-targeting line.

    U(q) = (1/n) sum of the top qn DR scores; its SE at k is sqrt(sum_{j<=k}(gamma_j - mean)^2)/n.
    """
    g = _sorted_scores(cate, scores)
    n = len(g)
    ks = np.unique(np.linspace(0, n, min(points, n) + 1).round().astype(int))
    cum = np.concatenate([[0.0], np.cumsum(g)])
    cum_sq = np.concatenate([[0.0], np.cumsum((g - g.mean()) ** 2)])
    u = cum[ks] / n
    se = np.sqrt(cum_sq[ks]) / n
    q = ks / n
    return {"q": q, "uplift": u, "low": u - Z_975 * se, "high": u + Z_975 * se,
            "random": q * g.mean()}
