"""The DR-learner on randomized data recovers a known CATE."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.errors import InputError
from rollout.evaluation.reestimate import dr_learner
from rollout.policy.value import policy_value, profit_scores


def _rct(seed: int, n: int = 3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    tau = 4.0 * (X[:, 0] > 0) - 1.0
    t = (rng.random(n) < 0.5).astype(int)
    y = 10 + 3 * X[:, 1] + X[:, 2] ** 2 + t * tau + rng.normal(0, 2, n)
    return X, y, t, tau


def test_dr_learner_recovers_cate_and_is_reproducible() -> None:
    X, y, t, tau = _rct(0)
    fit = dr_learner(X, y, t, 0.5, covariates=["a", "b", "c", "d"], seed=1)
    pehe = np.sqrt(np.mean((fit.cate - tau) ** 2))
    assert pehe < 0.5 * tau.std()  # far better than predicting the mean effect
    assert np.corrcoef(fit.cate, tau)[0, 1] > 0.85
    again = dr_learner(X, y, t, 0.5, covariates=["a", "b", "c", "d"], seed=1)
    np.testing.assert_array_equal(fit.cate, again.cate)
    # targeting the learned responders beats targeting everyone, and the CI says so
    margin, cost = 0.5, 0.4
    scores = profit_scores(fit.dr_scores, margin=margin, cost=cost)
    learned = policy_value(fit.cate * margin > cost, scores)
    everyone = policy_value(np.ones(len(y)), scores)
    assert learned.value > everyone.value
    truth = np.mean((fit.cate * margin > cost) * (margin * tau - cost))
    assert learned.ci_low <= truth <= learned.ci_high


def test_too_few_per_arm() -> None:
    X, y, t, _ = _rct(1, n=40)
    t[:] = 0
    t[:3] = 1
    with pytest.raises(InputError, match="per arm"):
        dr_learner(X, y, t, 0.5, covariates=list("abcd"))
