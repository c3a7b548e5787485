"""Estimation core: propensity and overlap, balance, average effects, trimming, sensitivity.

Every function takes plain arrays and returns a small typed result with ``summary()`` and
``to_pandas()``; :mod:`rollout.analysis` strings them together for ``rollout analyze``.
"""

from rollout.estimation.assumptions import AssumptionsResult, assess_assumptions
from rollout.estimation.ate import (
    METHODS,
    EffectEstimate,
    aipw,
    aipw_scores,
    ato_overlap,
    ato_weighting,
    dml_partialling_out,
    effects_frame,
    ipw_hajek,
    methods_disagree,
    naive_difference,
    ols_adjusted,
)
from rollout.estimation.balance import BalanceResult, covariate_balance
from rollout.estimation.crossfit import (
    Nuisances,
    OutcomeNuisances,
    cross_fit,
    cross_fit_outcomes,
    make_folds,
)
from rollout.estimation.propensity import (
    PositivityResult,
    auc_delong,
    cross_fit_logistic_reference,
    cross_fit_propensity,
    positivity_diagnostics,
    ps_region,
)
from rollout.estimation.sensitivity import EValue, ManskiBounds, evalue_continuous, manski_bounds
from rollout.estimation.trimming import TrimmingResult, trimming_sensitivity

__all__ = [
    "METHODS",
    "AssumptionsResult",
    "BalanceResult",
    "EValue",
    "EffectEstimate",
    "ManskiBounds",
    "Nuisances",
    "OutcomeNuisances",
    "PositivityResult",
    "TrimmingResult",
    "aipw",
    "aipw_scores",
    "assess_assumptions",
    "ato_overlap",
    "ato_weighting",
    "auc_delong",
    "covariate_balance",
    "cross_fit",
    "cross_fit_logistic_reference",
    "cross_fit_outcomes",
    "cross_fit_propensity",
    "dml_partialling_out",
    "effects_frame",
    "evalue_continuous",
    "ipw_hajek",
    "make_folds",
    "manski_bounds",
    "methods_disagree",
    "naive_difference",
    "ols_adjusted",
    "positivity_diagnostics",
    "ps_region",
    "trimming_sensitivity",
]
