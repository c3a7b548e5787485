"""The experimental effect, three ways, each with its standard error and estimand named.

- ``difference_in_means``: Welch's two-sample estimate, the design-based baseline.
- ``adjusted``: Lin's (2013) regression adjustment, OLS of the outcome on arm, centred
  pre-period covariates and their interactions with arm, HC2 robust SE. Consistent for the ATE
  whatever the outcome model, and never less precise asymptotically than the difference in means.
- ``stratified``: the post-stratified estimate over the design's strata, weights proportional to
  stratum size, variance the sum of the strata's Neyman variances.

All three estimate the average effect of assignment to treatment in the tested population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from rollout.common.stats import Z_975, Estimate
from rollout.errors import InputError


@dataclass(frozen=True)
class Effect(Estimate):
    """One effect estimate with its uncertainty and what it estimates."""

    method: str
    estimand: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    n_treatment: int
    n_control: int
    se_type: str
    p_value: float

    def to_dict(self) -> dict:
        return asdict(self)


def _check(y: np.ndarray, t: np.ndarray) -> None:
    if y.shape != t.shape:
        raise InputError("outcome and arm have different lengths")
    if not np.isfinite(y).all():
        raise InputError("outcome has missing or infinite values", column="outcome")
    for arm in (0, 1):
        if (t == arm).sum() < 2:
            raise InputError(f"fewer than 2 customers in the {'treatment' if arm else 'control'} "
                             "arm", column="arm")


def _finish(method: str, estimand: str, est: float, se: float, y: np.ndarray, t: np.ndarray,
            se_type: str, df: float | None = None) -> Effect:
    crit = float(stats.t.ppf(0.975, df)) if df is not None else Z_975
    stat = est / se if se > 0 else np.inf * np.sign(est) if est else 0.0
    p = float(2 * (stats.t.sf(abs(stat), df) if df is not None else stats.norm.sf(abs(stat))))
    ci_low, ci_high = Estimate.interval(est, se, critical=crit)
    return Effect(method=method, estimand=estimand, estimate=float(est), se=float(se),
                  ci_low=ci_low, ci_high=ci_high, n=len(y),
                  n_treatment=int((t == 1).sum()), n_control=int((t == 0).sum()),
                  se_type=se_type, p_value=p)


def difference_in_means(y: np.ndarray, t: np.ndarray) -> Effect:
    """Welch's difference in means with Welch-Satterthwaite degrees of freedom.

    >>> import numpy as np
    >>> e = difference_in_means(np.array([1., 2, 3, 4, 6, 8]), np.array([0, 0, 0, 1, 1, 1]))
    >>> round(e.estimate, 6)
    4.0
    """
    y, t = np.asarray(y, float), np.asarray(t, int)
    _check(y, t)
    y1, y0 = y[t == 1], y[t == 0]
    v1, v0 = y1.var(ddof=1) / len(y1), y0.var(ddof=1) / len(y0)
    se = float(np.sqrt(v1 + v0))
    denom = (v1**2 / (len(y1) - 1) + v0**2 / (len(y0) - 1))
    df = float((v1 + v0) ** 2 / denom) if denom > 0 else float(len(y) - 2)
    return _finish("difference_in_means", "ATE of assignment (tested population)",
                   y1.mean() - y0.mean(), se, y, t, "Welch (unequal variances), t reference", df)


def adjusted(y: np.ndarray, t: np.ndarray, X: np.ndarray | None) -> Effect:
    """Lin's interacted regression adjustment with HC2 standard errors.

    Covariates are centred at their full-sample means so the arm coefficient is the ATE. Columns
    that are constant are dropped (they carry no information).
    """
    y, t = np.asarray(y, float), np.asarray(t, int)
    _check(y, t)
    if X is None or np.asarray(X).size == 0:
        Xc = np.empty((len(y), 0))
    else:
        X = np.asarray(X, float).reshape(len(y), -1)
        if not np.isfinite(X).all():
            raise InputError("covariates have missing or infinite values", column="covariates")
        keep = X.std(axis=0) > 0
        Xc = X[:, keep] - X[:, keep].mean(axis=0)
    design = np.column_stack([np.ones(len(y)), t, Xc, Xc * t[:, None]])
    fit = sm.OLS(y, design).fit(cov_type="HC2")
    est, se = float(fit.params[1]), float(fit.bse[1])
    return _finish("adjusted", "ATE of assignment (tested population)", est, se, y, t,
                   f"HC2 robust, Lin interacted OLS on {Xc.shape[1]} centred covariates")


def stratified(y: np.ndarray, t: np.ndarray, strata: Sequence) -> Effect:
    """Post-stratified effect: stratum differences in means weighted by stratum share.

    Strata with fewer than two customers in either arm cannot estimate their own variance; they
    are pooled into one remainder stratum (and if that too is too small, folded into the largest).
    """
    y, t = np.asarray(y, float), np.asarray(t, int)
    _check(y, t)
    labels = pd.Series(np.asarray(strata)).astype(str).to_numpy()
    frame = pd.DataFrame({"y": y, "t": t, "s": labels})
    counts = frame.groupby(["s", "t"]).size().unstack(fill_value=0)
    small = counts.index[(counts.min(axis=1) < 2)] if counts.shape[1] == 2 else counts.index
    if len(small):
        frame.loc[frame["s"].isin(small), "s"] = "__pooled__"
        pooled = frame[frame["s"] == "__pooled__"]
        if ((pooled["t"] == 1).sum() < 2 or (pooled["t"] == 0).sum() < 2) and \
                frame["s"].nunique() > 1:
            largest = frame.loc[frame["s"] != "__pooled__", "s"].value_counts().index[0]
            frame.loc[frame["s"] == "__pooled__", "s"] = largest
    est, var = 0.0, 0.0
    n = len(frame)
    for _, part in frame.groupby("s"):
        y1 = part.loc[part["t"] == 1, "y"].to_numpy()
        y0 = part.loc[part["t"] == 0, "y"].to_numpy()
        w = len(part) / n
        est += w * (y1.mean() - y0.mean())
        var += w**2 * (y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    return _finish("stratified", "ATE of assignment (tested population), post-stratified",
                   est, float(np.sqrt(var)), y, t,
                   f"Neyman variance summed over {frame['s'].nunique()} strata")


def segment_effects(y: np.ndarray, t: np.ndarray, segments: Sequence,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Difference in means within each segment, with Holm-adjusted p-values.

    Intervals are Bonferroni-adjusted (level 1 - alpha / number of segments) so that they hold
    simultaneously; p-values are Holm-adjusted, which controls the family-wise error rate and is
    never less powerful than Bonferroni.
    """
    y, t = np.asarray(y, float), np.asarray(t, int)
    labels = pd.Series(np.asarray(segments)).astype(str).to_numpy()
    rows = []
    for seg in sorted(set(labels)):
        mask = labels == seg
        n1, n0 = int((t[mask] == 1).sum()), int((t[mask] == 0).sum())
        if n1 < 2 or n0 < 2:
            rows.append({"segment": seg, "n": int(mask.sum()), "n_treatment": n1,
                         "n_control": n0, "estimate": np.nan, "se": np.nan, "p_value": np.nan})
            continue
        e = difference_in_means(y[mask], t[mask])
        rows.append({"segment": seg, "n": e.n, "n_treatment": n1, "n_control": n0,
                     "estimate": e.estimate, "se": e.se, "p_value": e.p_value})
    out = pd.DataFrame(rows)
    valid = out["p_value"].notna()
    m = int(valid.sum())
    crit = float(stats.norm.ppf(1 - alpha / (2 * max(m, 1))))
    out["ci_low"] = out["estimate"] - crit * out["se"]
    out["ci_high"] = out["estimate"] + crit * out["se"]
    out["p_holm"] = np.nan
    if m:
        order = out.loc[valid, "p_value"].sort_values()
        adj = np.minimum(1.0, np.maximum.accumulate(order.to_numpy() * (m - np.arange(m))))
        out.loc[order.index, "p_holm"] = adj
    out["significant"] = out["p_holm"] < alpha
    out["ci_level"] = 1 - alpha / max(m, 1)
    return out


def profit_per_customer(effect: Effect, cost: float, margin: float) -> dict:
    """Incremental profit per treated customer: margin x effect - cost, with its interval.

    The cost and margin are taken as known, so the interval is the effect's interval mapped
    through the same line; ROI is profit over cost.
    """
    if margin <= 0 or cost < 0:
        raise InputError("margin must be positive and cost non-negative", column="margin")
    profit = margin * effect.estimate - cost
    low, high = margin * effect.ci_low - cost, margin * effect.ci_high - cost
    roi = profit / cost if cost > 0 else np.nan
    return {"profit": profit, "se": margin * effect.se, "ci_low": low, "ci_high": high,
            "roi": roi, "roi_ci_low": low / cost if cost > 0 else np.nan,
            "roi_ci_high": high / cost if cost > 0 else np.nan, "cost": cost, "margin": margin,
            "breakeven_effect": cost / margin}
