"""Data: sources of transaction history, the study cohort and the contract every table follows.

>>> from rollout.data import build_cohort, CohortBuild  # the API behind `rollout cohort`
"""

from rollout.data.build import CohortBuild, attrition_path, build_cohort

__all__ = ["CohortBuild", "attrition_path", "build_cohort"]
