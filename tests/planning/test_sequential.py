"""Group-sequential boundaries against published values and an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from rollout.errors import InputError
from rollout.planning.sequential import (
    crossing_probabilities,
    efficacy_boundaries,
    sequential_design,
    spending_function,
)

THIRDS = [1 / 3, 2 / 3, 1.0]


def test_lan_demets_obf_k3_published() -> None:
    # gsDesign (Anderson), sfLDOF, k=3, equal spacing, one-sided 0.025: 3.7103 2.5114 1.9930.
    bounds = efficacy_boundaries(THIRDS, 0.025, sided=1, spending="obf")
    np.testing.assert_allclose(bounds, [3.7103, 2.5114, 1.9930], atol=5e-4)


def _constant_boundary(k: int, alpha: float) -> float:
    """The constant two-sided boundary with total type I error alpha (Pocock's design)."""
    t = np.arange(1, k + 1) / k

    def size(c: float) -> float:
        lo, up = crossing_probabilities(t, [-c] * k, [c] * k, 0.0)
        return float(lo.sum() + up.sum())
    return float(optimize.brentq(lambda c: size(c) - alpha, 1.5, 4.0, xtol=1e-10))


def test_integration_reproduces_pocock_constants() -> None:
    # Pocock (1977), Biometrika 64, Table 1; Jennison & Turnbull (2000), Table 2.1:
    # C_P(K, 0.05) two-sided = 2.178 (K=2), 2.289 (K=3), 2.361 (K=4).
    for k, value in ((2, 2.178), (3, 2.289), (4, 2.361)):
        assert _constant_boundary(k, 0.05) == pytest.approx(value, abs=6e-4)


def test_integration_reproduces_obrien_fleming_constants() -> None:
    # Jennison & Turnbull (2000), Table 2.3: C_B(K, 0.05) two-sided, boundary C_B sqrt(K/k):
    # 1.977 (K=2), 2.004 (K=3).
    for k, value in ((2, 1.977), (3, 2.004)):
        t = np.arange(1, k + 1) / k

        def size(c: float, t: np.ndarray = t) -> float:
            b = c / np.sqrt(t)
            lo, up = crossing_probabilities(t, -b, b, 0.0)
            return float(lo.sum() + up.sum())
        constant = optimize.brentq(lambda c, size=size: size(c) - 0.05, 1.5, 3.0, xtol=1e-10)
        assert constant == pytest.approx(value, abs=6e-4)


def _mvn_crossing(t: np.ndarray, bounds: np.ndarray, lower: np.ndarray | None) -> np.ndarray:
    """P(first crossing of the upper bound at look k) by scipy's multivariate normal CDF."""
    k = t.size
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    lo = np.full(k, -np.inf) if lower is None else lower
    out = np.empty(k)
    out[0] = stats.norm.sf(bounds[0])
    for j in range(1, k):
        # continue between the bounds at looks 1..j-1, then above the bound at look j
        mvn = stats.multivariate_normal(mean=np.zeros(j + 1), cov=cov[: j + 1, : j + 1],
                                        abseps=1e-8, releps=1e-8, maxpts=500_000)
        out[j] = mvn.cdf(np.concatenate([bounds[:j], [np.inf]]),
                         lower_limit=np.concatenate([lo[:j], [bounds[j]]]))
    return out


@pytest.mark.parametrize("spending", ["obf", "pocock"])
@pytest.mark.parametrize("fractions", [THIRDS, [0.25, 0.6, 1.0], [0.3, 0.5, 0.8, 1.0]])
@pytest.mark.parametrize("sided", [1, 2])
def test_crossing_probabilities_equal_spent_alpha_by_mvn(spending: str, fractions: list[float],
                                                        sided: int) -> None:
    t = np.asarray(fractions)
    bounds = efficacy_boundaries(t, 0.05, sided=sided, spending=spending)
    spent = np.diff(np.concatenate([[0.0], spending_function(spending, 0.05 / sided, t)]))
    lower = -bounds if sided == 2 else None
    independent = _mvn_crossing(t, bounds, lower)
    np.testing.assert_allclose(independent, spent, atol=1e-5)


def test_pocock_type_boundaries_are_nearly_flat() -> None:
    bounds = efficacy_boundaries(THIRDS, 0.025, sided=1, spending="pocock")
    assert np.ptp(bounds) < 0.03
    assert bounds[0] < 2.3 < bounds[0] + 0.1


def test_futility_design_keeps_power_and_alpha() -> None:
    design = sequential_design(THIRDS, alpha=0.05, power=0.8, sided=2, futility="beta")
    assert design.power_if_futility_followed == pytest.approx(0.8, abs=1e-6)
    assert design.power_if_futility_ignored > 0.8
    assert design.type1_if_futility_followed < 0.05
    assert design.futility_z[-1] == pytest.approx(design.efficacy_z[-1])
    assert all(f <= e for f, e in zip(design.futility_z, design.efficacy_z, strict=True))
    assert design.max_inflation > 1
    assert design.harm_z == [-b for b in design.efficacy_z]


def test_without_futility_power_is_exact_and_single_look_is_fixed() -> None:
    design = sequential_design(THIRDS, alpha=0.05, power=0.9, sided=2, futility="none")
    assert design.power_if_futility_ignored == pytest.approx(0.9, abs=1e-6)
    single = sequential_design([1.0], alpha=0.05, power=0.8, sided=2)
    assert single.max_inflation == pytest.approx(1.0)
    assert single.efficacy_z[0] == pytest.approx(stats.norm.isf(0.025))


@pytest.mark.parametrize("fractions,match", [
    ([0.5, 0.4, 1.0], "increasing"),
    ([0.5, 0.9], "end at 1"),
    ([0.0, 1.0], "increasing"),
])
def test_bad_information_fractions(fractions: list[float], match: str) -> None:
    with pytest.raises(InputError, match=match):
        efficacy_boundaries(fractions, 0.05)
