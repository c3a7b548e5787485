"""Sample-ratio mismatch: did the arms receive the shares the design promised?

A test whose arms are not the sizes the design allocated has a broken assignment or a broken
logging pipeline, and every effect it reports is suspect. The check is Pearson's chi-square
goodness-of-fit of the observed counts against the design's allocation, with a strict threshold
(0.001 by default, the common industry choice) because it runs on every test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from rollout.common.display import DisplayMixin
from rollout.errors import InputError

DEFAULT_SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SRMResult(DisplayMixin):
    """Observed and expected counts per arm, the chi-square statistic and its p-value."""

    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    df: int
    p_value: float
    threshold: float
    flag: bool

    def to_dict(self) -> dict:
        return asdict(self)

    def message(self) -> str:
        shares = ", ".join(
            f"{arm} {count:,} ({count / max(sum(self.observed.values()), 1):.1%})"
            for arm, count in self.observed.items()
        )
        if self.flag:
            return (f"sample-ratio mismatch: {shares}; p = {self.p_value:.2g} < {self.threshold}. "
                    "Check the assignment and the data pipeline before trusting any effect.")
        return f"arm sizes match the design: {shares}; p = {self.p_value:.2g}"


def srm_check(
    counts: Mapping[str, int],
    allocation: Mapping[str, float],
    threshold: float = DEFAULT_SRM_THRESHOLD,
) -> SRMResult:
    """Chi-square test of observed arm counts against the design's allocation.

    Examples
    --------
    >>> srm_check({"treatment": 52_000, "control": 48_000}, {"treatment": .5, "control": .5}).flag
    True
    >>> srm_check({"treatment": 9_480, "control": 520}, {"treatment": .95, "control": .05}).flag
    False
    """
    arms = list(allocation)
    unknown = set(counts) - set(arms)
    if unknown:
        raise InputError(f"arms {sorted(unknown)} are not in the design's allocation {arms}",
                         column="arm")
    shares = np.array([float(allocation[a]) for a in arms])
    if np.any(shares <= 0) or not np.isclose(shares.sum(), 1.0):
        raise InputError("allocation shares must be positive and sum to 1", column="allocation")
    observed = np.array([int(counts.get(a, 0)) for a in arms], dtype=float)
    total = observed.sum()
    if total == 0:
        raise InputError("no customers in any arm", column="arm")
    expected = total * shares
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    df = len(arms) - 1
    p_value = float(stats.chi2.sf(chi2, df))
    return SRMResult(
        observed={a: int(o) for a, o in zip(arms, observed, strict=True)},
        expected={a: float(e) for a, e in zip(arms, expected, strict=True)},
        chi2=chi2, df=df, p_value=p_value, threshold=threshold, flag=p_value < threshold,
    )
