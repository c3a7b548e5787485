"""Scoring a current customer base with the deployed CATE model: ``rollout score``.

:func:`score_table` applies the checksummed model of a results folder and the policies' lists
to a customer table, on DuckDB in this process or on Spark (:mod:`rollout.scoring.spark`);
:class:`~rollout.scoring.scorer.Scorer` is what one batch of customers goes through on either.
"""

from rollout.scoring.run import ScoreResult, score_table, summary_path_for
from rollout.scoring.scorer import Scorer, ScoringPlan

__all__ = ["ScoreResult", "Scorer", "ScoringPlan", "score_table", "summary_path_for"]
