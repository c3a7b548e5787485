"""Data: sources of transaction history, the study cohort and the contract every table follows.

>>> from rollout.data import build_cohort, CohortBuild  # the API behind `rollout cohort`
>>> from rollout.data import features_as_of  # the covariates of current customers, for scoring
"""

from rollout.data.build import CohortBuild, attrition_path, build_cohort
from rollout.data.current import CURRENT_COLUMNS, features_as_of

__all__ = ["CURRENT_COLUMNS", "CohortBuild", "attrition_path", "build_cohort", "features_as_of"]
