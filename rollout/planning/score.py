"""The ranking a test validates: the deployed CATE, or a candidate model the analysis declined.

When the analysis cannot show heterogeneity it deploys one effect for everyone, and its lists
become hypotheses (the targeting gate). A constant has no ranking, so a heterogeneity test of
the deployed CATE has nothing to compare; what settles the question is a test of the *ranking
the analysis would have deployed* had it shown heterogeneity: the model with the lowest
held-out R-loss, whose per-customer predictions ``customers.parquet`` keeps as
``cate_<model>``. ``rollout design --score MODEL`` names it (``--score hypothesis`` takes the
one the gate declined).

A :class:`ScoreChoice` is recorded in ``design.json`` (``details.score``) and applied the same
way by ``design``, ``assign`` and ``evaluate`` (:func:`apply_score`): the predicted CATE those
stages read (``cate``, with its bounds when the model has them) becomes the candidate's, and its
predicted responders are a 0/1 list ``target_score_<model>`` (predicted CATE above the
threshold: the breakeven CATE when the analysis priced the campaign, else 0). One definition
in one place, so the stratum an arm was randomized in and the list the test evaluates cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.errors import InputError

HYPOTHESIS = "hypothesis"
DEPLOYED = "deployed"
CONSTANT_MODELS = ("average_effect",)


@dataclass(frozen=True)
class ScoreChoice(DisplayMixin):
    """Which predicted CATE a test ranks customers by, and its responder list."""

    model: str
    column: str
    responder_column: str
    threshold: float
    threshold_source: str
    why: str

    @classmethod
    def of_details(cls, details: Any) -> ScoreChoice | None:
        """The choice a design's ``details`` record holds (``details.score``), or None."""
        return cls.from_record(details.get("score") if isinstance(details, Mapping) else None)

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> ScoreChoice | None:
        """The choice recorded in a design's ``details.score`` (None when absent)."""
        if not isinstance(record, Mapping) or not record.get("column"):
            return None
        try:
            return cls(model=str(record["model"]), column=str(record["column"]),
                       responder_column=str(record["responder_column"]),
                       threshold=float(record["threshold"]),
                       threshold_source=str(record.get("threshold_source", "")),
                       why=str(record.get("why", "")))
        except (KeyError, TypeError, ValueError):
            raise InputError("details.score must carry model, column, responder_column and a "
                             "numeric threshold", argument="design") from None


def declined_model(summary: Mapping[str, Any], outcome: str) -> str | None:
    """The model the analysis would have deployed had heterogeneity been shown: the lowest
    out-of-sample R-loss of the outcome's selection, when a constant was deployed instead."""
    deployed = (summary.get("cate_model") or {}).get("model") \
        if isinstance(summary.get("cate_model"), Mapping) else None
    for record in summary.get("cate_selection") or []:
        if not isinstance(record, Mapping) or record.get("outcome", outcome) != outcome:
            continue
        best = record.get("best_by_loss")
        if best and best not in CONSTANT_MODELS and (deployed is None
                                                     or deployed in CONSTANT_MODELS):
            return str(best)
    return None


def choose_score(name: str, customers: pd.DataFrame, summary: Mapping[str, Any], outcome: str,
                 breakeven: float | None, source: Any = None) -> ScoreChoice | None:
    """The :class:`ScoreChoice` for ``--score name`` (a model, ``cate_<model>``,
    ``hypothesis`` or ``deployed``); None for the deployed CATE. Refuses a model without
    predictions or whose predictions are one value for everyone."""
    if name == DEPLOYED:
        return None
    if name == HYPOTHESIS:
        model = declined_model(summary, outcome)
        if model is None:
            raise InputError("score 'hypothesis': the analysis declined no model for this "
                             "outcome (a heterogeneous model was deployed, or no selection is "
                             "recorded); name a model, or test the deployed CATE",
                             file=source, argument="score")
        why = (f"{model} has the lowest out-of-sample R-loss, but the analysis deployed a constant "
               "because heterogeneity was not shown: the test checks the ranking it would "
               "have deployed")
    else:
        model = name.removeprefix("cate_")
        why = f"named (score {name!r})"
    column = f"cate_{model}"
    if column not in customers.columns:
        models = sorted(c.removeprefix("cate_") for c in customers.columns
                        if str(c).startswith("cate_")
                        and not str(c).endswith(("_lower", "_upper", "_split")))
        raise InputError(f"no predictions of model {model!r} (models: {', '.join(models)})",
                         file=source, column=column, argument="score")
    values = customers[column].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InputError("missing or infinite prediction", file=source, column=column, row=row)
    if float(np.std(values)) <= 1e-9 * (1.0 + float(np.abs(values).mean())):
        raise InputError(f"model {model!r} predicts one effect for everyone: there is no "
                         "ranking to test", file=source, column=column, argument="score")
    threshold, threshold_source = ((float(breakeven), "the breakeven CATE (cost / margin)")
                                   if breakeven is not None else
                                   (0.0, "0 (no breakeven: a positive predicted effect)"))
    return ScoreChoice(model=model, column=column,
                       responder_column=f"target_score_{model}", threshold=threshold,
                       threshold_source=threshold_source, why=why)


def apply_score(customers: pd.DataFrame, choice: ScoreChoice | None,
                source: Any = None) -> pd.DataFrame:
    """``customers`` with the chosen model as the predicted CATE (``cate``, and its bounds when
    written) and its responder list; unchanged for the deployed CATE.

    >>> frame = pd.DataFrame({"cate": [5.0, 5.0], "cate_t_learner": [1.0, 9.0]})
    >>> choice = ScoreChoice("t_learner", "cate_t_learner", "target_score_t_learner", 3.0,
    ...                      "given", "example")
    >>> apply_score(frame, choice)[["cate", "target_score_t_learner"]].values.tolist()
    [[1.0, 0.0], [9.0, 1.0]]
    """
    if choice is None:
        return customers
    if choice.column not in customers.columns:
        raise InputError(f"the design ranks by model {choice.model!r}: the customer table "
                         "needs its predictions (the results' customers.parquet carries them)",
                         file=source, column=choice.column)
    values = customers[choice.column]
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError("missing prediction", file=source, column=choice.column, row=row)
    s = values.to_numpy(dtype=float)
    extra: dict[str, Any] = {"cate": s, choice.responder_column:
                             (s > choice.threshold).astype(np.int8)}
    for bound in ("lower", "upper"):
        named = f"{choice.column}_{bound}"
        if named in customers.columns:
            extra[f"cate_{bound}"] = customers[named].to_numpy(dtype=float)
        elif f"cate_{bound}" in customers.columns:
            extra[f"cate_{bound}"] = np.nan  # the deployed model's bounds do not apply
    return customers.assign(**extra)
