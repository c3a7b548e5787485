"""The pipeline's stated rules: which estimate is recommended, and windows left too thin."""

from __future__ import annotations

import numpy as np

from rollout.estimation.ate import EffectEstimate
from rollout.estimation.core import recommend as _recommend
from rollout.estimation.propensity import positivity_diagnostics
from rollout.estimation.trimming import trimming_sensitivity


def _estimates() -> list[EffectEstimate]:
    return [EffectEstimate("y", m, "label", float(i), 1.0, i - 2.0, i + 2.0, 40, "IF")
            for i, m in enumerate(["naive", "ipw", "aipw", "ols", "dml", "ato"])]


def test_recommendation_follows_positivity_and_falls_back_to_ato() -> None:
    rng = np.random.default_rng(0)
    t = np.array([0, 1] * 20)
    y = rng.normal(size=40)
    # scores that separate the arms exactly are a violation even when all lie in [0.1, 0.9]
    assert positivity_diagnostics(t, np.where(t == 1, 0.55, 0.45), t).status == "violated"
    separated = np.where(t == 1, 0.97, 0.03)
    separated[:4] = 0.5  # two per arm inside [0.1, 0.9]: too few for 5 folds
    violated = positivity_diagnostics(t, separated, separated)
    assert violated.status == "violated"
    thin = trimming_sensitivity(y, t, separated, np.zeros(40), np.zeros(40), min_per_arm=10)
    row = thin.table.set_index("trim").loc["0.1-0.9"]
    assert row["n"] == 4 and np.isnan(row["estimate"])
    assert _recommend(violated, _estimates(), thin, "y", min_per_arm=10)["method"] == "ato"

    wide = np.where(t == 1, 0.6, 0.4)
    trimmed = trimming_sensitivity(y, t, wide, np.zeros(40), np.zeros(40), min_per_arm=10)
    chosen = _recommend(violated, _estimates(), trimmed, "y", min_per_arm=10)
    assert (chosen["method"], chosen["trim"]) == ("aipw", "0.1-0.9")
    assert "[0.1, 0.9]" in chosen["estimand"]

    overlap = positivity_diagnostics(t, np.full(40, 0.5), np.full(40, 0.5))
    assert overlap.status == "plausible"
    chosen = _recommend(overlap, _estimates(), trimmed, "y", min_per_arm=10)
    assert (chosen["method"], chosen["trim"], chosen["estimate"]) == ("aipw", "none", 2.0)
