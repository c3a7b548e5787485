"""Behavioural segments, named by what sets them apart, with a doubly robust effect and an action.

When the cohort carries no ``segment`` column, customers are segmented from their pre-period
behaviour: non-negative spend-share and RFM features (``share_*``, recency, frequency, monetary)
are min-max scaled and factorised by NMF (non-negative matrix factorisation: a few additive
shopping "profiles" per customer), then k-means groups customers by their profile weights. A
generic cohort without such features is clustered by k-means on standardized covariates. Every
step is seeded, so the same cohort and seed give the same segments. The number of segments is
given, or chosen by the silhouette score over a small range.

Each segment is named from the two covariates whose standardized mean difference from the rest
of the customers is largest (for example "High monetary_sales, low share_fresh").

Per segment: N, the current targeting rate, and the mean effect as the doubly robust mean of the
AIPW scores over the segment with a 95% interval (an honest estimate: the segments use covariates
only, the scores use cross-fitted nuisances). The action rule, stated in the output:

- ``expand``: the mean effect exceeds the breakeven and its interval excludes zero;
- ``reduce``: its interval lies below the breakeven (a negative point estimate whose interval
  reaches the breakeven is not enough);
- ``hold``: otherwise (the evidence does not settle it; test before changing).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.decomposition import NMF
from sklearn.metrics import adjusted_rand_score, silhouette_score

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975
from rollout.errors import InputError

K_RANGE = (3, 4, 5, 6)
RFM_NAMES = ("recency_weeks", "frequency", "frequency_per_week", "monetary_sales",
             "monetary_avg_basket_sales")
ACTION_RULE = ("expand: DR mean effect > breakeven and its 95% CI excludes 0; reduce: the 95% "
               "CI upper bound of the DR mean effect < breakeven; hold: otherwise (the interval "
               "spans the breakeven: test before changing)")
ACTION_RULE_NO_COST = ("expand: the 95% CI of the DR mean effect lies above 0; reduce: it lies "
                       "below 0; hold: otherwise (no cost, so no breakeven)")
SILHOUETTE_SAMPLE = 2000


@dataclass(frozen=True)
class Segmentation(DisplayMixin):
    """Segment labels per customer and how they were made."""

    labels: np.ndarray
    method: str
    k: int
    silhouette: dict[int, float]


def validate_segment_column(frame: pd.DataFrame, column: str, source: str | None = None) -> None:
    """A user's segment column must have a label for every customer.

    >>> validate_segment_column(pd.DataFrame({"segment": ["a", None]}), "segment")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rollout.errors.InputError: column 'segment', row 1: missing segment label; ...
    """
    missing = frame[column].isna().to_numpy()
    if missing.any():
        raise InputError("missing segment label; give every customer a segment or drop the "
                         "column", file=source, column=column, row=int(np.flatnonzero(missing)[0]))


def behavioural_columns(names: Sequence[str]) -> list[str]:
    """The spend-share and RFM covariates present, in cohort order."""
    return [n for n in names if str(n).startswith("share_") or n in RFM_NAMES]


def _minmax(X: np.ndarray) -> np.ndarray:
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (X - low) / span


def _standardize(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def segment_customers(frame: pd.DataFrame, covariates: Sequence[str], k: int | None = None,
                      seed: int = 0) -> Segmentation:
    """Cluster customers into behavioural segments (see the module docstring).

    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 50), rng.normal(8, 1, 50)],
    ...                       "z": rng.normal(size=100)})
    >>> seg = segment_customers(frame, ["x", "z"], k=2, seed=0)
    >>> seg.method.split(';')[0], int(np.bincount(seg.labels).min()) >= 45
    ('kmeans on standardized covariates', True)
    """
    if k is not None and k < 2:
        raise InputError(f"must be at least 2, got {k}", argument="k")
    behavioural = behavioural_columns(covariates)
    if len(behavioural) >= 3:
        raw = np.clip(frame[behavioural].to_numpy(dtype=float), 0, None)
        n_components = min(len(behavioural), 4)
        features = NMF(n_components=n_components, init="nndsvda", random_state=seed,
                       max_iter=500).fit_transform(_minmax(raw))
        features = _standardize(features)
        method = (f"NMF ({n_components} components) on min-max scaled spend-share and RFM "
                  f"features ({', '.join(behavioural)}), then k-means")
    else:
        features = _standardize(frame[list(covariates)].to_numpy(dtype=float))
        method = "kmeans on standardized covariates"
    n = len(features)
    candidates = [k] if k is not None else [c for c in K_RANGE if c < n]
    silhouettes: dict[int, float] = {}
    best_labels: np.ndarray | None = None
    best = -np.inf
    for c in candidates:
        if c >= n:
            raise InputError(f"{c} segments for {n} customers", argument="k")
        labels = KMeans(n_clusters=c, n_init=10, random_state=seed).fit_predict(features)
        if k is None:
            score = float(silhouette_score(features, labels,
                                           sample_size=min(n, SILHOUETTE_SAMPLE),
                                           random_state=seed))
            silhouettes[c] = score
        else:
            score = 0.0
        if score > best:
            best, best_labels = score, labels
    assert best_labels is not None
    chosen = len(np.unique(best_labels))
    how = "given (--segments)" if k is not None else "highest silhouette over " + \
        ", ".join(map(str, candidates))
    return Segmentation(labels=_relabel_by_size(best_labels), method=f"{method}; k {how}",
                        k=chosen, silhouette=silhouettes)


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters largest first (ties by first appearance) so labels do not depend on
    k-means' arbitrary numbering."""
    values, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(values)), key=lambda i: (-counts[i], first[i]))
    mapping = {values[i]: rank for rank, i in enumerate(order)}
    return np.array([mapping[v] for v in labels], dtype=np.int64)


def segment_stability(frame: pd.DataFrame, covariates: Sequence[str], k: int,
                      seeds: Sequence[int]) -> float:
    """Mean adjusted Rand index between the segmentations of consecutive seeds."""
    runs = [segment_customers(frame, covariates, k=k, seed=s).labels for s in seeds]
    return float(np.mean([adjusted_rand_score(a, b) for a, b in itertools.pairwise(runs)]))


def name_segments(frame: pd.DataFrame, covariates: Sequence[str], labels: np.ndarray,
                  n_terms: int = 2) -> dict[int, str]:
    """Name each segment by the covariates that most set it apart (largest |SMD| vs the rest).

    >>> frame = pd.DataFrame({"spend": [1.0, 1.2, 9.0, 9.5], "fresh": [0.1, 0.2, 0.1, 0.3]})
    >>> name_segments(frame, ["spend"], np.array([0, 0, 1, 1]), n_terms=1)
    {0: 'Low spend', 1: 'High spend'}
    """
    X = frame[list(covariates)].to_numpy(dtype=float)
    names: dict[int, str] = {}
    for label in np.unique(labels):
        inside = labels == label
        if inside.all():
            names[int(label)] = "Everyone"
            continue
        a, b = X[inside], X[~inside]
        pooled = np.sqrt((a.var(axis=0, ddof=0) + b.var(axis=0, ddof=0)) / 2)
        smd = (a.mean(axis=0) - b.mean(axis=0)) / np.where(pooled > 0, pooled, np.inf)
        order = np.argsort(-np.abs(smd), kind="stable")[:n_terms]
        terms = [f"{'high' if smd[j] > 0 else 'low'} {covariates[j]}" for j in order]
        text = ", ".join(terms)
        names[int(label)] = text[:1].upper() + text[1:]
    seen: dict[str, int] = {}
    for label in sorted(names):
        base = names[label]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            names[label] = f"{base} ({seen[base]})"
    return names


def segment_action(mean: float, ci_low: float, ci_high: float, breakeven: float | None) -> str:
    """expand / hold / reduce by the rule in :data:`ACTION_RULE`.

    >>> segment_action(30.0, 5.0, 55.0, 20.0), segment_action(-3.0, -9.0, 3.0, 20.0)
    ('expand', 'reduce')
    >>> segment_action(-26.0, -120.0, 68.0, 40.0)
    'hold'
    """
    if breakeven is None:
        return "expand" if ci_low > 0 else "reduce" if ci_high < 0 else "hold"
    if mean > breakeven and ci_low > 0:
        return "expand"
    if ci_high < breakeven:
        return "reduce"
    return "hold"


def segment_table(segments: np.ndarray, effect_scores: np.ndarray, treatment: np.ndarray,
                  cate: np.ndarray | None, breakeven: float | None) -> pd.DataFrame:
    """Per segment: N, current targeting rate, DR mean CATE with 95% CI, predicted CATE, action."""
    segments = np.asarray(segments).astype(str)
    rows = []
    for name in sorted(np.unique(segments)):
        inside = segments == name
        g = np.asarray(effect_scores, float)[inside]
        mean = float(g.mean())
        se = float(g.std(ddof=1) / np.sqrt(g.size)) if g.size > 1 else float("nan")
        low, high = mean - Z_975 * se, mean + Z_975 * se
        rows.append({
            "segment": name, "n": int(inside.sum()),
            "current_targeting_rate": float(np.asarray(treatment)[inside].mean()),
            "mean_cate": mean, "se": se, "ci_low": low, "ci_high": high,
            "predicted_mean_cate": float(np.asarray(cate)[inside].mean())
            if cate is not None else float("nan"),
            "action": segment_action(mean, low, high, breakeven),
        })
    return pd.DataFrame(rows)


def fisher_correlation(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Pearson correlation with a 95% Fisher-z interval.

    >>> r = fisher_correlation(np.arange(10.0), np.arange(10.0) ** 2)
    >>> round(r["r"], 3), r["ci_low"] < r["r"] < r["ci_high"]
    (0.963, True)
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    r = float(np.corrcoef(x, y)[0, 1])
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    half = Z_975 / np.sqrt(n - 3)
    p = float(2 * stats.norm.sf(abs(z) * np.sqrt(n - 3)))
    return {"r": r, "ci_low": float(np.tanh(z - half)), "ci_high": float(np.tanh(z + half)),
            "n": int(n), "p_value": p}
