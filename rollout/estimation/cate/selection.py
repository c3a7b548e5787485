"""Which CATE model to trust: an instability guard, then the lowest held-out R-loss.

The original analysis picked its model by eye for "stability and plausibility". Here the choice
is a rule, applied the same way every time and explained in the output:

1. **Guard.** A model is flagged, and never selected, when its predictions are not finite, when
   their spread dwarfs the outcome's (SD of the CATE above the SD of the outcome), or when its mean
   diverges (|mean CATE| above 3 outcome SDs). A campaign cannot move every customer's spending by
   more than the whole spread of spending; a model that says so has diverged. With three or more
   models left, one whose CATE SD exceeds 3 times the models' median SD is flagged too (it
   extrapolates where the R-loss cannot see: :func:`peer_outliers`).
2. **Rule.** Among the models that pass, the lowest R-loss on the held-out split (Nie and Wager
   2021), computed with the cross-fitted m(x) = E[Y|x] and e(x). The R-loss is a causal loss:
   its expectation is the true CATE's mean squared error up to a term that does not depend on the
   model, so a lower R-loss means a more accurate CATE, estimated without knowing the truth.
3. **Margin.** The runner-up's R-loss minus the selected one's, with a 95% interval from the
   paired per-customer loss differences; an interval that covers zero says the two models are
   not distinguishable on these data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975
from rollout.errors import InputError

#: A model whose CATE SD exceeds this many outcome SDs is flagged.
MAX_SD_RATIO = 1.0
#: A model whose |mean CATE| exceeds this many outcome SDs is flagged.
MAX_MEAN_RATIO = 3.0
#: A model whose CATE SD exceeds this many times the median SD of the models is flagged
#: (checked when at least :data:`MIN_PEERS` models pass the other checks).
MAX_PEER_SD_RATIO = 3.0
MIN_PEERS = 3
SELECTION_RULE = (
    "lowest R-loss (Nie-Wager: mean(((y - m(x)) - (t - e(x)) cate(x))^2) with cross-fitted m and "
    "e) on the held-out split, among models that pass the instability guard (finite CATE, CATE SD "
    f"<= {MAX_SD_RATIO:g} x outcome SD, |mean CATE| <= {MAX_MEAN_RATIO:g} x outcome SD, CATE SD "
    f"<= {MAX_PEER_SD_RATIO:g} x the median CATE SD of the models when {MIN_PEERS} or more pass)"
)


def instability_reason(cate: np.ndarray, outcome_sd: float) -> str | None:
    """Why a model's CATE predictions cannot be trusted, or None when they pass the guard.

    >>> instability_reason(np.array([1.0, 2.0, 3.0]), outcome_sd=10.0) is None
    True
    >>> instability_reason(np.array([1e6, 2e6]), outcome_sd=10.0)
    'mean CATE 1.5e+06 is more than 3 outcome SDs (SD 10) from zero: the model diverged'
    """
    cate = np.asarray(cate, float)
    if not np.all(np.isfinite(cate)):
        bad = int(np.sum(~np.isfinite(cate)))
        return f"{bad} CATE predictions are not finite"
    mean, sd = float(cate.mean()), float(cate.std(ddof=1)) if len(cate) > 1 else 0.0
    if abs(mean) > MAX_MEAN_RATIO * outcome_sd:
        return (f"mean CATE {mean:.3g} is more than {MAX_MEAN_RATIO:g} outcome SDs (SD "
                f"{outcome_sd:.3g}) from zero: the model diverged")
    if sd > MAX_SD_RATIO * outcome_sd:
        return (f"CATE SD {sd:.3g} exceeds the outcome's SD {outcome_sd:.3g}: the predicted "
                "effects vary more than the outcome itself")
    return None


def peer_outliers(spreads: Mapping[str, float]) -> dict[str, str]:
    """Models whose CATE SD is more than 3 times the median SD of the models given.

    The R-loss weighs each customer by (t - e(x))^2, so it barely sees customers whose
    propensity is near 0 or 1: a model that extrapolates wildly there can still have the lowest
    R-loss. A spread far beyond what the other models find is the sign of such extrapolation.

    >>> list(peer_outliers({"a": 1.0, "b": 1.2, "c": 0.9, "d": 5.0}))
    ['d']
    """
    if len(spreads) < MIN_PEERS:
        return {}
    median = float(np.median(list(spreads.values())))
    return {name: (f"CATE SD {sd:.3g} is more than {MAX_PEER_SD_RATIO:g} times the median SD of "
                   f"the models ({median:.3g}): it extrapolates far beyond the others")
            for name, sd in spreads.items() if sd > MAX_PEER_SD_RATIO * median}


@dataclass(frozen=True)
class Selection(DisplayMixin):
    """The chosen model, the runner-up, and the paired R-loss margin between them."""

    outcome: str
    rule: str
    selected: str | None
    runner_up: str | None
    margin: float | None
    margin_se: float | None
    margin_ci_low: float | None
    margin_ci_high: float | None
    overridden: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def select_model(outcome: str, losses: Mapping[str, np.ndarray],
                 flags: Mapping[str, str | None], override: str | None = None,
                 order: Sequence[str] | None = None) -> Selection:
    """Pick the model with the lowest mean held-out R-loss among the unflagged ones.

    ``losses`` maps each model to its per-customer R-loss terms on the held-out split (the same
    customers for every model, so differences are paired). ``override`` forces a model (a
    flagged one is refused and the rule decides, saying so). Ties go to the model listed first
    in ``order``.

    >>> sel = select_model("y", {"a": np.array([1.0, 1.0]), "b": np.array([2.0, 4.0])},
    ...                    {"a": None, "b": None})
    >>> sel.selected, sel.runner_up, sel.margin
    ('a', 'b', 2.0)
    """
    order = list(order if order is not None else losses)
    candidates = [name for name in order if name in losses and not flags.get(name)]
    mean_loss = {name: float(np.mean(losses[name])) for name in candidates}
    ranked = sorted(candidates, key=lambda name: (mean_loss[name], order.index(name)))
    overridden = override is not None
    if override is not None:
        if override not in losses:
            raise InputError(f"{override!r} was not fitted; fitted models: "
                             f"{', '.join(order)}", argument="model")
    refused = ""
    if override is not None and flags.get(override):
        refused = f"--model {override} refused for {outcome}: {flags[override]}; "
        override, overridden = None, False
    if override is not None:
        selected = override
    elif ranked:
        selected = ranked[0]
    else:
        return Selection(outcome, SELECTION_RULE, None, None, None, None, None, None, False,
                         refused + "every model was flagged by the instability guard; no CATE "
                         "is trusted")
    others = [name for name in ranked if name != selected]
    runner_up = others[0] if others else None
    margin = se = low = high = None
    if runner_up is not None:
        diff = np.asarray(losses[runner_up], float) - np.asarray(losses[selected], float)
        margin = float(diff.mean())
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
        low, high = margin - Z_975 * se, margin + Z_975 * se
    if overridden:
        rule_pick = ranked[0] if ranked else "-"
        reason = f"chosen by --model {selected} (the rule would pick {rule_pick})"
    elif runner_up is None:
        reason = refused + f"{selected} is the only model that passed the instability guard"
    else:
        distinct = low is not None and low > 0
        reason = refused + (f"{selected} has the lowest held-out R-loss; {runner_up} is "
                  f"{margin:.4g} higher (95% CI {low:.4g} to {high:.4g}), "
                  + ("a clear margin" if distinct else "not distinguishable on these data"))
    return Selection(outcome, SELECTION_RULE, selected, runner_up, margin, se, low, high,
                     overridden, reason)
