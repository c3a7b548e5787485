"""The generator draws what the scenario says: noise scales, correlations, distributions.

Single large draws (n = 200,000) with tolerances of about 5 standard errors: fast, and a wrong
scale, a wrong correlation or a biased multiplicative noise would fail them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rollout.simulation import simulate_world

N = 200_000

BASE = '''
kind = "world"
name = "noise_check"
n = 1000

[covariates]
latent = ["z"]

[[covariates.columns]]
name = "x"
distribution = "uniform"
low = 1.0
high = 3.0

[[covariates.columns]]
name = "visits"
distribution = "negative_binomial"
mean = "4 * x"
dispersion = 2.0

[[covariates.columns]]
name = "share"
distribution = "beta"
mean = "0.2 + 0.1 * x"
concentration = 20

[targeting]
score = "x"
strength = 0.5
treated_share = 0.5

[[outcomes]]
name = "amount"
mu0 = "20 * x"
cate = "5 * x"
NOISE
pre_period = "pre_amount"
pre_correlation = 0.6
'''


def draw(noise: str):
    text = BASE.replace("NOISE", noise)
    from pathlib import Path
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as folder:
        path = Path(folder) / "w.toml"
        path.write_text(text)
        return simulate_world(path, seed=1, n=N)


def residuals(world):
    frame, truth = world.cohort.frame, world.truth
    mean = np.where(frame["treatment"] == 1, truth["mu1"], truth["mu0"])
    return frame["amount"].to_numpy() - mean, frame["pre_amount"].to_numpy() - truth["mu0"]


@pytest.mark.parametrize("noise", ['noise = "normal"\nscale = 7.0',
                                   'noise = "student_t"\ndf = 8.0\nscale = 7.0'])
def test_additive_noise_has_mean_zero_sd_scale_and_pre_correlation(noise: str) -> None:
    eps, eps_pre = residuals(draw(noise))
    se_mean = 7.0 / math.sqrt(N)
    assert abs(eps.mean()) < 5 * se_mean
    assert eps.std() == pytest.approx(7.0, rel=0.02)
    assert np.corrcoef(eps, eps_pre)[0, 1] == pytest.approx(0.6, abs=0.01)


def test_student_t_has_heavier_tails_than_normal() -> None:
    normal, _ = residuals(draw('noise = "normal"\nscale = 7.0'))
    heavy, _ = residuals(draw('noise = "student_t"\ndf = 4.0\nscale = 7.0'))
    assert (np.abs(heavy) > 4 * 7.0).mean() > 5 * (np.abs(normal) > 4 * 7.0).mean()


def test_lognormal_noise_is_multiplicative_with_the_right_mean() -> None:
    world = draw('noise = "lognormal"\nscale = 0.5')
    frame, truth = world.cohort.frame, world.truth
    mean = np.where(frame["treatment"] == 1, truth["mu1"], truth["mu0"])
    ratio = frame["amount"].to_numpy() / mean
    sd = math.sqrt(math.exp(0.25) - 1)
    assert abs(ratio.mean() - 1) < 5 * sd / math.sqrt(N)
    assert np.log(ratio).std() == pytest.approx(0.5, rel=0.02)
    log_pre = np.log(frame["pre_amount"].to_numpy() / truth["mu0"].to_numpy())
    assert np.corrcoef(np.log(ratio), log_pre)[0, 1] == pytest.approx(0.6, abs=0.01)


def test_covariate_distributions() -> None:
    cov = draw('noise = "normal"\nscale = 1.0').covariates
    x = cov["x"].to_numpy()
    assert x.min() >= 1 and x.max() <= 3
    assert cov["z"].std() == pytest.approx(1.0, rel=0.02)
    # negative binomial: mean 4x, variance mean + mean^2 / 2
    visits = cov["visits"].to_numpy()
    mean = 4 * x
    assert (visits - mean).mean() == pytest.approx(0, abs=0.05)
    assert ((visits - mean) ** 2 - (mean + mean**2 / 2)).mean() == pytest.approx(0, abs=1.0)
    share = cov["share"].to_numpy()
    assert (share - (0.2 + 0.1 * x)).mean() == pytest.approx(0, abs=0.002)


def test_mean_propensity_equals_treated_share_and_treatment_follows_it() -> None:
    world = draw('noise = "normal"\nscale = 1.0')
    p = world.truth["propensity"].to_numpy()
    t = world.cohort.treatment
    assert p.mean() == pytest.approx(0.5, abs=1e-9)
    assert abs(t.mean() - 0.5) < 5 * math.sqrt(0.25 / N)
    # calibration: within propensity deciles, the treated share matches the mean propensity
    edges = np.quantile(p, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    for b in range(10):
        inside = bins == b
        assert t[inside].mean() == pytest.approx(p[inside].mean(), abs=0.02)
