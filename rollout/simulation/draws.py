"""Random draws for scenario worlds: covariates, propensities, outcomes and their noise.

Each part of a world draws from its own random stream, seeded by ``(seed, stream)``, so the same
seed gives the same world and changing one part of a scenario (say the outcome noise) does not
reshuffle another (the covariates). Every parameter is a formula evaluated per customer and checked
against its distribution's domain; a value outside it raises :class:`~rollout.errors.InputError`
naming the field and the first row at fault.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.optimize import brentq

from rollout.errors import InputError
from rollout.simulation.expressions import Expression
from rollout.simulation.scenario import CovariateSpec, OutcomeSpec, TargetingSpec

Array = np.ndarray

STREAMS = {"covariates": 1, "treatment": 2, "outcomes": 3, "returns": 4}
"""Stream numbers: the second word of every seed, one per part of a world."""


def stream(seed: int, name: str, *more: int) -> np.random.Generator:
    """The random generator for one part of a world, independent of every other part."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng([int(seed), STREAMS[name], *more])


def _checked(expr: Expression, env: Mapping[str, Array], n: int, low: float | None = None,
             high: float | None = None, low_open: bool = False, high_open: bool = False
             ) -> Array:
    """Evaluate a parameter and require it inside its domain, naming the first row outside."""
    values = expr.evaluate(env, n)
    bad = np.zeros(n, dtype=bool)
    if low is not None:
        bad |= values <= low if low_open else values < low
    if high is not None:
        bad |= values >= high if high_open else values > high
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        domain = f"{lo or '(-inf'}, {hi or 'inf)'}"
        raise InputError(
            f"field {expr.field!r}: {expr.text!r} gives {values[row]:g} at row {row}, "
            f"outside {domain}",
            file=expr.file,
        )
    return values


def draw_covariate(spec: CovariateSpec, env: Mapping[str, Array], n: int,
                   rng: np.random.Generator) -> dict[str, Array]:
    """Draw one generated column (or a Dirichlet group of share columns)."""
    p = spec.params
    dist = spec.distribution
    if dist == "dirichlet":
        weights = np.column_stack([_checked(w, env, n, low=0.0, low_open=True)
                                   for w in p["weights"]])  # type: ignore[union-attr]
        concentration = _checked(p["concentration"], env, n, low=0.0, low_open=True)  # type: ignore[arg-type]
        alpha = concentration[:, None] * weights / weights.sum(axis=1, keepdims=True)
        gammas = rng.gamma(alpha)
        shares = gammas / gammas.sum(axis=1, keepdims=True)
        return {name: shares[:, i] for i, name in enumerate(spec.names)}
    name = spec.names[0]
    if dist == "normal":
        mean, sd = p["mean"].evaluate(env, n), _checked(p["sd"], env, n, low=0.0)  # type: ignore[union-attr]
        value = mean + sd * rng.standard_normal(n)
    elif dist == "lognormal":
        meanlog = p["meanlog"].evaluate(env, n)  # type: ignore[union-attr]
        sdlog = _checked(p["sdlog"], env, n, low=0.0)  # type: ignore[arg-type]
        value = np.exp(meanlog + sdlog * rng.standard_normal(n))
    elif dist == "poisson":
        value = rng.poisson(_checked(p["rate"], env, n, low=0.0)).astype(float)  # type: ignore[arg-type]
    elif dist == "negative_binomial":
        mean = _checked(p["mean"], env, n, low=0.0)  # type: ignore[arg-type]
        size = _checked(p["dispersion"], env, n, low=0.0, low_open=True)  # type: ignore[arg-type]
        value = gamma_poisson(mean, size, rng)
    elif dist == "beta":
        mean = _checked(p["mean"], env, n, low=0.0, high=1.0, low_open=True, high_open=True)  # type: ignore[arg-type]
        conc = _checked(p["concentration"], env, n, low=0.0, low_open=True)  # type: ignore[arg-type]
        value = rng.beta(mean * conc, (1.0 - mean) * conc)
    elif dist == "uniform":
        low, high = p["low"].evaluate(env, n), p["high"].evaluate(env, n)  # type: ignore[union-attr]
        if (high < low).any():
            row = int(np.flatnonzero(high < low)[0])
            raise InputError(f"field {p['high'].field!r}: high < low at row {row}",  # type: ignore[union-attr]
                             file=p["high"].file)  # type: ignore[union-attr]
        value = low + (high - low) * rng.random(n)
    elif dist == "bernoulli":
        value = (rng.random(n) < _checked(p["p"], env, n, low=0.0, high=1.0)).astype(float)  # type: ignore[arg-type]
    else:  # formula
        value = p["value"].evaluate(env, n)  # type: ignore[union-attr]
    return {name: value}


def gamma_poisson(mean: Array, size: Array | float, rng: np.random.Generator) -> Array:
    """Negative binomial counts with the given mean and size (variance mean + mean²/size)."""
    rate = rng.gamma(size, np.asarray(mean, dtype=float) / size)
    return rng.poisson(rate).astype(float)


def sigmoid(x: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def propensity_from_targeting(spec: TargetingSpec, env: Mapping[str, Array], n: int) -> Array:
    """The true propensity of each customer under the historical targeting rule.

    With a score: ``sigmoid(strength * standardized score + intercept)``, the intercept solved
    so the mean propensity is the stated treated share, then clipped. ``strength = 0`` is a
    randomized campaign; large strengths make targeting nearly deterministic (poor overlap).
    """
    low, high = spec.clip
    if spec.propensity is not None:
        return np.clip(_checked(spec.propensity, env, n, low=0.0, high=1.0), low, high)
    assert spec.score is not None
    score = spec.score.evaluate(env, n)
    sd = score.std()
    z = (score - score.mean()) / sd if sd > 1e-12 * max(1.0, abs(score.mean())) else 0.0 * score
    z = spec.strength * z

    def excess(intercept: float) -> float:
        return float(np.clip(sigmoid(z + intercept), low, high).mean() - spec.treated_share)

    bound = 60.0 + float(np.abs(z).max())
    if excess(-bound) > 0 or excess(bound) < 0:
        raise InputError(
            f"field 'targeting.treated_share': {spec.treated_share} cannot be reached with "
            f"clip [{low}, {high}]",
            file=spec.score.file,
        )
    intercept = brentq(excess, -bound, bound, xtol=1e-12)
    return np.clip(sigmoid(z + intercept), low, high)


def standard_noise(kind: str, df: float, n: int, rng: np.random.Generator) -> Array:
    """Noise with mean 0 and variance 1 (normal, or Student t rescaled to unit variance).

    For ``lognormal`` the standard normal is returned; :func:`apply_noise` exponentiates it.
    """
    if kind == "student_t":
        return rng.standard_t(df, n) * np.sqrt((df - 2.0) / df)
    return rng.standard_normal(n)


def apply_noise(mean: Array, spec: OutcomeSpec, eps: Array, field: str) -> Array:
    """An amount outcome from its conditional mean and standardized noise.

    Additive (``normal``, ``student_t``): ``mean + scale * eps``, so ``scale`` is the noise
    standard deviation. ``lognormal``: ``mean * exp(scale * eps - scale² / 2)``, multiplicative
    with expectation ``mean``; it needs a positive mean.
    """
    if spec.noise == "lognormal":
        if (mean <= 0).any():
            row = int(np.flatnonzero(mean <= 0)[0])
            raise InputError(
                f"field {field!r}: lognormal noise needs a positive mean, got {mean[row]:g} at "
                f"row {row}",
                file=spec.mu0.file,
            )
        return mean * np.exp(spec.scale * eps - 0.5 * spec.scale**2)
    return mean + spec.scale * eps


def draw_amount_outcome(spec: OutcomeSpec, mean: Array, pre_mean: Array | None,
                        rng: np.random.Generator, field: str) -> tuple[Array, Array | None]:
    """Draw an amount outcome and, when asked, its pre-period value with correlated noise."""
    n = len(mean)
    eps = standard_noise(spec.noise, spec.df, n, rng)
    outcome = apply_noise(mean, spec, eps, field)
    if pre_mean is None:
        return outcome, None
    rho = spec.pre_correlation
    eps_pre = rho * eps + np.sqrt(1.0 - rho**2) * standard_noise(spec.noise, spec.df, n, rng)
    return outcome, apply_noise(pre_mean, spec, eps_pre, f"{field} (pre_mean)")


def draw_count_outcome(spec: OutcomeSpec, mean: Array, pre_mean: Array | None,
                       rng: np.random.Generator) -> tuple[Array, Array | None]:
    """Draw a count outcome (Poisson or negative binomial) and its pre-period value."""

    def draw(mu: Array) -> Array:
        if spec.noise == "negative_binomial":
            return gamma_poisson(mu, float(spec.dispersion or 1.0), rng)
        return rng.poisson(mu).astype(float)

    return draw(mean), (None if pre_mean is None else draw(pre_mean))


def draw_binary_outcome(mean: Array, pre_mean: Array | None, rng: np.random.Generator
                        ) -> tuple[Array, Array | None]:
    """Draw a 0/1 outcome with the given probabilities, and its pre-period value."""

    def draw(p: Array) -> Array:
        return (rng.random(len(p)) < p).astype(float)

    return draw(mean), (None if pre_mean is None else draw(pre_mean))


def require_valid_mean(values: Array, what: str, spec: OutcomeSpec) -> None:
    """Count means must be >= 0 and binary ones probabilities: anything else is a scenario error."""
    bad = values < 0
    if spec.type == "binary":
        bad |= values > 1
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        need = "in [0, 1]" if spec.type == "binary" else ">= 0"
        raise InputError(
            f"outcome {spec.name!r}: {what} is {values[row]:g} at row {row}; a {spec.type} "
            f"outcome needs mu0 and mu0 + cate {need}",
            file=spec.mu0.file,
        )
