"""The bundled retail worlds drawn again by hand, without any of ``rollout.simulation``.

Issue 18: the ``[expect]`` values of the scenario files were measured on the simulator's own
draws, so a simulator that misread its file would have promised its own mistake. This module is a
second, plain-numpy implementation of the data-generating process that ``scenarios/README.md``
documents. It reads a world's file with ``tomllib`` and takes the plain numbers (uniform bounds,
dispersions, log SDs, concentrations, the targeting strength, treated share and clip, the cost
and margin) from it, but every *formula* is written out here in Python. Each transcription is
keyed by the formula's text in the file: a file whose formula has no transcription, or whose text
was edited, stops the test with a message rather than drawing something else.

Parameterizations, from the README's table of distributions:

* ``negative_binomial(mean, dispersion)``: variance mean + mean^2 / dispersion, drawn with
  numpy's own negative binomial (``n = dispersion``, ``p = dispersion / (dispersion + mean)``),
  not as the simulator's gamma-Poisson mixture;
* ``lognormal(meanlog, sdlog)``: exp(meanlog + sdlog * N(0, 1));
* ``poisson(rate)``; ``uniform(low, high)``; ``normal(mean, sd)``; ``bernoulli(p)``;
* ``beta(mean, concentration)``: Beta(mean * c, (1 - mean) * c);
* ``dirichlet(weights, concentration)``: the README says "mean proportional to the weights" and
  leaves the role of the concentration open (Dirichlet(c * w / sum w), or Dirichlet(c * w)?). We
  follow the simulator's rule, Dirichlet(c * w / sum(w)), the reading that matches ``beta``
  (whose parameters also sum to c). It is drawn here by stick-breaking on Beta variables rather
  than by normalized gammas;
* targeting by ``score``: propensity = clip(sigmoid(strength * z + b), low, high) with z the score
  standardized by its mean and (population) SD over the drawn customers and b solved so the mean
  clipped propensity is ``treated_share``. With hundreds of thousands of customers the sample
  mean and SD are the population's to within Monte Carlo error.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

SCENARIOS = Path(__file__).resolve().parents[2] / "rollout" / "scenarios"

POPULATION = 500_000
"""Customers in each independent population: the MC SE of a mean CATE is then about 0.03."""

SEED = 20240518
"""The independent populations' numpy seed (unrelated to the simulator's streams)."""

Array = np.ndarray


class Customers(dict):
    """Columns by name, also as attributes (``c.share_fresh``), so formulas read as in the file."""

    def __getattr__(self, name: str) -> Array:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def read_world(name: str) -> dict:
    with open(SCENARIOS / f"{name}.toml", "rb") as handle:
        return tomllib.load(handle)


def printed_rounding(name: str, key: str) -> float:
    """Half a unit of the last digit of ``[expect].key``'s value as printed in the file.

    ``0.720`` was rounded to three decimals, so it stands for anything within 0.0005; ``18.6``
    within 0.05. (The float that ``tomllib`` returns has lost the trailing zeros.)
    """
    text = (SCENARIOS / f"{name}.toml").read_text()
    expect = text[text.index("[expect]"):]
    match = re.search(rf"^{key}\s*=\s*{{\s*value\s*=\s*(-?[0-9.eE+-]+)", expect, re.MULTILINE)
    assert match, f"{name}: no printed value for expect.{key}"
    printed = match.group(1).lower()
    if "e" in printed:
        mantissa, exponent = printed.split("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return 0.5 * 10.0 ** (int(exponent) - decimals)
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0 ** -decimals


def _same(text: str) -> str:
    return " ".join(str(text).split())


def transcribed(table: dict, field: str, text: str) -> None:
    """Require the file's formula ``table[field]`` to be ``text``, the one transcribed below it."""
    assert _same(table[field]) == _same(text), (
        f"the file's {field} is now {table[field]!r}; the independent implementation transcribes "
        f"{text!r}: write the new formula out by hand in tests/simulation/independent_worlds.py")


def sigmoid(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


# --- one helper per distribution (parameterizations in the module docstring) ---------------

def normal(rng: np.random.Generator, mean: Array | float, sd: float, n: int) -> Array:
    return rng.normal(mean, sd, n)


def uniform(rng: np.random.Generator, low: float, high: float, n: int) -> Array:
    return rng.uniform(low, high, n)


def bernoulli(rng: np.random.Generator, p: Array) -> Array:
    return rng.binomial(1, p).astype(float)


def lognormal(rng: np.random.Generator, meanlog: Array, sdlog: float) -> Array:
    return rng.lognormal(meanlog, sdlog)


def poisson(rng: np.random.Generator, rate: Array) -> Array:
    return rng.poisson(rate).astype(float)


def negative_binomial(rng: np.random.Generator, mean: Array, dispersion: float) -> Array:
    return rng.negative_binomial(dispersion, dispersion / (dispersion + mean)).astype(float)


def beta(rng: np.random.Generator, mean: Array, concentration: float) -> Array:
    return rng.beta(mean * concentration, (1.0 - mean) * concentration)


def dirichlet(rng: np.random.Generator, weights: list[Array], concentration: float) -> list[Array]:
    """Shares with Dirichlet(c * w / sum(w)) per customer, by stick-breaking on Beta draws."""
    total = sum(weights)
    alpha = [concentration * w / total for w in weights]
    shares, left = [], 1.0
    for k in range(len(alpha) - 1):
        piece = left * rng.beta(alpha[k], sum(alpha[k + 1:]))
        shares.append(piece)
        left = left - piece
    return [*shares, left]


def score_propensity(score: Array, targeting: dict) -> Array:
    """clip(sigmoid(strength * standardized score + b)), b solved for mean ``treated_share``."""
    low, high = targeting.get("clip", [0.0, 1.0])
    z = targeting["strength"] * (score - score.mean()) / score.std()
    share = targeting["treated_share"]

    def excess(b: float) -> float:
        return float(np.clip(sigmoid(z + b), low, high).mean() - share)

    bound = 60.0 + float(np.abs(z).max())
    return np.clip(sigmoid(z + brentq(excess, -bound, bound, xtol=1e-12)), low, high)


# --- the retail covariate block, column by column, as the files write it --------------------

RETAIL_COLUMNS = [
    "tenure_weeks", "extra_baskets", "frequency", "frequency_per_week",
    "monetary_avg_basket_sales", "monetary_sales", "weeks_since_last_extra", "recency_weeks",
    "n_departments", "share_fresh", "discount_rate", "private_label_ratio",
    "mailer_exposure_rate",
]


def retail_customers(world: dict, n: int, rng: np.random.Generator) -> Customers:
    """The shared retail block: four (or five) standard normal latent factors, then 13 columns."""
    spec = world["covariates"]
    columns = {col.get("name", (col.get("names") or [""])[0]): col for col in spec["columns"]}
    assert list(columns) == RETAIL_COLUMNS, f"{world['name']} does not use the retail block"
    c = Customers({factor: rng.standard_normal(n) for factor in spec["latent"]})

    col = columns["tenure_weeks"]
    assert col["distribution"] == "uniform"
    c["tenure_weeks"] = uniform(rng, col["low"], col["high"], n)

    col = columns["extra_baskets"]
    assert col["distribution"] == "negative_binomial"
    transcribed(col, "mean", "tenure_weeks * exp(log(0.9) + 0.45 * engagement)")
    c["extra_baskets"] = negative_binomial(
        rng, c.tenure_weeks * np.exp(np.log(0.9) + 0.45 * c.engagement), col["dispersion"])

    transcribed(columns["frequency"], "value", "1 + extra_baskets")
    c["frequency"] = 1 + c.extra_baskets
    transcribed(columns["frequency_per_week"], "value", "frequency / tenure_weeks")
    c["frequency_per_week"] = c.frequency / c.tenure_weeks

    col = columns["monetary_avg_basket_sales"]
    assert col["distribution"] == "lognormal"
    transcribed(col, "meanlog", "log(28) + 0.35 * bulk + 0.1 * engagement")
    c["monetary_avg_basket_sales"] = lognormal(
        rng, np.log(28) + 0.35 * c.bulk + 0.1 * c.engagement, col["sdlog"])

    transcribed(columns["monetary_sales"], "value",
                "frequency_per_week * monetary_avg_basket_sales")
    c["monetary_sales"] = c.frequency_per_week * c.monetary_avg_basket_sales

    col = columns["weeks_since_last_extra"]
    assert col["distribution"] == "poisson"
    transcribed(col, "rate", "1.5 * exp(-0.8 * engagement)")
    c["weeks_since_last_extra"] = poisson(rng, 1.5 * np.exp(-0.8 * c.engagement))
    transcribed(columns["recency_weeks"], "value", "1 + weeks_since_last_extra")
    c["recency_weeks"] = 1 + c.weeks_since_last_extra

    col = columns["n_departments"]
    assert col["distribution"] == "poisson"
    transcribed(col, "rate", "exp(log(8) + 0.35 * engagement + 0.1 * bulk)")
    c["n_departments"] = poisson(rng, np.exp(np.log(8) + 0.35 * c.engagement + 0.1 * c.bulk))

    col = columns["share_fresh"]
    assert col["distribution"] == "dirichlet"
    assert col["names"] == ["share_fresh", "share_grocery", "share_health_beauty", "share_other"]
    for k, text in enumerate(["2 * exp(0.6 * freshness)",
                              "5 * exp(0.4 * bulk - 0.2 * freshness)", "1", "2"]):
        transcribed({"weight": col["weights"][k]}, "weight", text)
    one = np.ones(n)
    shares = dirichlet(rng, [2 * np.exp(0.6 * c.freshness),
                             5 * np.exp(0.4 * c.bulk - 0.2 * c.freshness), 1 * one, 2 * one],
                       col["concentration"])
    c.update(zip(col["names"], shares, strict=True))

    for name, text, mean in [
        ("discount_rate", "sigmoid(-1.6 + 0.5 * price_sensitivity + 0.2 * engagement)",
         lambda: sigmoid(-1.6 + 0.5 * c.price_sensitivity + 0.2 * c.engagement)),
        ("private_label_ratio", "sigmoid(-1.2 + 0.4 * price_sensitivity - 0.2 * bulk)",
         lambda: sigmoid(-1.2 + 0.4 * c.price_sensitivity - 0.2 * c.bulk)),
        ("mailer_exposure_rate", "sigmoid(-0.5 + 0.3 * engagement)",
         lambda: sigmoid(-0.5 + 0.3 * c.engagement)),
    ]:
        col = columns[name]
        assert col["distribution"] == "beta"
        transcribed(col, "mean", text)
        c[name] = beta(rng, mean(), col["concentration"])
    return c


# --- the worlds' targeting scores and effects, keyed by the text each file writes -----------

def _clip(x: Array, low: float, high: float) -> Array:
    return np.minimum(np.maximum(x, low), high)


SCORES: dict[str, Callable[[Customers], Array]] = {
    "log(monetary_sales) + 0.1 * n_departments - 0.05 * recency_weeks":
        lambda c: np.log(c.monetary_sales) + 0.1 * c.n_departments - 0.05 * c.recency_weeks,
    "log(monetary_sales) + 0.1 * n_departments":
        lambda c: np.log(c.monetary_sales) + 0.1 * c.n_departments,
    "log(monetary_sales) + loyalty":
        lambda c: np.log(c.monetary_sales) + c.loyalty,
}

EFFECTS: dict[str, Callable[[Customers], Array]] = {
    "0": lambda c: 0.0 * c.monetary_sales,
    "15": lambda c: 15.0 + 0.0 * c.monetary_sales,
    "15 + 120 * (share_fresh - 0.22) - 20 * clip(log(monetary_sales / 29), -1.5, 2)":
        lambda c: (15 + 120 * (c.share_fresh - 0.22)
                   - 20 * _clip(np.log(c.monetary_sales / 29), -1.5, 2)),
    "10 + 100 * (share_fresh - 0.22) - 30 * clip(log(monetary_sales / 28), -1.5, 2)"
    " - 50 * maximum(log(monetary_avg_basket_sales / 32), 0)":
        lambda c: (10 + 100 * (c.share_fresh - 0.22)
                   - 30 * _clip(np.log(c.monetary_sales / 28), -1.5, 2)
                   - 50 * np.maximum(np.log(c.monetary_avg_basket_sales / 32), 0)),
    "-12 - 80 * (discount_rate - 0.18) - 15 * maximum(log(monetary_avg_basket_sales / 32), 0)"
    " + 90 * maximum(share_fresh - 0.3, 0)":
        lambda c: (-12 - 80 * (c.discount_rate - 0.18)
                   - 15 * np.maximum(np.log(c.monetary_avg_basket_sales / 32), 0)
                   + 90 * np.maximum(c.share_fresh - 0.3, 0)),
    "10 + 80 * (share_fresh - 0.22)":
        lambda c: 10 + 80 * (c.share_fresh - 0.22),
}


def _lookup(table: dict[str, Callable[[Customers], Array]], text: object, what: str
            ) -> Callable[[Customers], Array]:
    by_text = {_same(k): f for k, f in table.items()}
    assert _same(text) in by_text, (
        f"no hand transcription of the {what} {text!r}: "
        "add it to tests/simulation/independent_worlds.py")
    return by_text[_same(text)]


# --- the population truth and its Monte Carlo standard errors -------------------------------

@dataclass(frozen=True)
class Estimate:
    value: float
    se: float


def _mean(x: Array) -> Estimate:
    return Estimate(float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))))


def _ratio(num: Array, den: Array) -> Estimate:
    """mean(num) / mean(den), with its delta-method SE."""
    value = num.mean() / den.mean()
    influence = (num - value * den) / den.mean()
    return Estimate(float(value), float(influence.std(ddof=1) / np.sqrt(len(num))))


def weighted_auc(p: Array) -> Estimate:
    """The population propensity AUC: each customer is treated with weight p, untreated with 1 - p.

    AUC = sum_ij p_i (1 - p_j) [1(p_i > p_j) + 1(p_i = p_j) / 2] / (sum p * sum (1 - p)), the
    Mann-Whitney statistic of the propensity between the treated and the untreated in expectation
    over the Bernoulli treatment draw. Its SE is from the influence function of this V-statistic
    (the propensities' own estimation error, through the standardization and intercept, is
    ignored: it is second order).
    """
    p = np.asarray(p, dtype=float)
    n = len(p)
    values, inverse = np.unique(p, return_inverse=True)
    w1 = np.bincount(inverse, weights=p)          # treated weight at each distinct value
    w0 = np.bincount(inverse, weights=1.0 - p)    # untreated weight
    w0_below = (np.cumsum(w0) - w0 + 0.5 * w0) / n              # E[(1 - p') H(p - p')]
    w1_above = (w1.sum() - np.cumsum(w1) + 0.5 * w1) / n         # E[p' H(p' - p)]
    m1, m0 = p.mean(), 1.0 - p.mean()
    u = float((w1 * w0_below).sum() / n)
    value = u / (m1 * m0)
    h1 = p * w0_below[inverse] + (1.0 - p) * w1_above[inverse] - 2 * u
    influence = h1 / (m1 * m0) - value * (p - m1) * (1.0 / m1 - 1.0 / m0)
    assert len(values) > 1 or abs(value - 0.5) < 1e-12
    return Estimate(float(value), float(influence.std(ddof=1) / np.sqrt(n)))


def truth_of(cate: Array, p: Array, world: dict) -> dict[str, Estimate]:
    """Every quantity an ``[expect]`` table may promise, with its Monte Carlo SE."""
    truth = {
        "ate": _mean(cate),
        "att": _ratio(p * cate, p),
        "atc": _ratio((1 - p) * cate, 1 - p),
        "ato": _ratio(p * (1 - p) * cate, p * (1 - p)),
        "ps_auc": weighted_auc(p),
        "share_positive": _mean((cate > 0).astype(float)),
        "overlap_share": _mean(((p >= 0.1) & (p <= 0.9)).astype(float)),
        "treated_share": _mean(p),
    }
    if "economics" in world:
        cost, margin = world["economics"]["cost"], world["economics"]["margin"]
        oracle = cate > cost / margin
        truth["oracle_share_targeted"] = _mean(oracle.astype(float))
        truth["oracle_policy_value"] = _mean(np.where(oracle, margin * cate - cost, 0.0))
    return truth


@dataclass(frozen=True)
class Population:
    world: dict
    cate: Array
    propensity: Array
    truth: dict[str, Estimate]


@cache
def retail_population(name: str, n: int = POPULATION, seed: int = SEED) -> Population:
    """A large independent draw of a retail world: customers, propensity, true CATE, truth."""
    world = read_world(name)
    rng = np.random.default_rng(seed)
    c = retail_customers(world, n, rng)
    targeting = world["targeting"]
    p = score_propensity(_lookup(SCORES, targeting["score"], "targeting score")(c), targeting)
    cate = _lookup(EFFECTS, world["outcomes"][0]["cate"], "effect")(c)
    return Population(world, cate, p, truth_of(cate, p, world))
