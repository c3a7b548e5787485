"""Which CATE model to trust: an instability guard, the out-of-sample R-loss, then the decision.

The original analysis picked its model by eye for "stability and plausibility". Here the choice
is a rule, applied the same way every time and explained in the output:

1. **Guard.** A model is flagged, and never selected, when its predictions are not finite, when
   their spread dwarfs the outcome's (SD of the CATE above the SD of the outcome), or when its mean
   diverges (|mean CATE| above 3 outcome SDs). A campaign cannot move every customer's spending by
   more than the whole spread of spending; a model that says so has diverged. With three or more
   models left, one whose CATE SD exceeds 3 times the models' median SD is flagged too (it
   extrapolates where the R-loss cannot see: :func:`peer_outliers`).
2. **Loss.** Among the models that pass, the out-of-sample R-loss (Nie and Wager 2021),
   computed with the cross-fitted m(x) = E[Y|x] and e(x): on every customer, each scored by a fit
   that did not see them (five selection folds, up to 10,000 customers), or on the held-out
   split for larger cohorts (:mod:`rollout.estimation.cate.fitting`). The R-loss is a causal
   loss: its expectation is the true CATE's overlap-weighted mean squared error up to a term
   that does not depend on the model, so a lower R-loss means a more accurate CATE, estimated
   without the truth. The candidates include a constant (``average_effect``) and the R-stack of
   the others (:mod:`rollout.estimation.cate.stacking`), so a heterogeneous model is chosen
   only when it beats no heterogeneity and the blend.
3. **Decision.** The R-loss differences between good models are often smaller than their noise.
   Every model within one paired standard error of the lowest R-loss is treated as tied with it;
   among the tied ones the rule keeps those whose honest policy value (the doubly robust value,
   on the held-out customers, of treating those the model predicts to gain) is not clearly below
   the highest (a paired 95% interval), and among those picks the most often selected over
   bootstrap resamples of the held-out customers (stability); never by the order models are
   listed in (that only breaks exact ties of all three). Taking the highest value outright
   would pick, among several equally good models, the one whose held-out customers happened to
   be lucky.
4. **Heterogeneity must be shown.** A heterogeneous model (or the stack) chosen by steps 2-3
   replaces the constant only on two kinds of evidence together: its R-loss is lower than the
   constant's by at least one paired SE (it predicts the effects more accurately, level and
   scale included), and the BLP slope of the doubly robust scores on its out-of-fold
   predictions is positive at one-sided 5% (its ranking carries information: the test the
   heterogeneity gate applies). Otherwise the constant is deployed. Neither alone is enough.
   The R-loss of spend is dominated by its heavy-tailed noise: on a 2,400-customer world a
   causal forest with half the constant's error was only 1.4 SE ahead of it. The BLP is
   optimistic for a model built like the nuisances, whose errors the DR scores share: on a
   world without heterogeneity an X-learner with four times the constant's error had a slope
   p-value of 0.004. Without out-of-fold slopes (``calibration_p`` not given) the rule asks the
   R-loss alone for a one-sided paired 95% bound above zero.
5. **Uncertainty.** How often each model has the lowest R-loss over :data:`BOOTSTRAP_DRAWS`
   seeded bootstrap resamples of the held-out customers, and the paired margin to the runner-up
   with its 95% interval: a selection made in half of the resamples is a coin toss between
   models, and the output says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

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
#: One-sided 95% critical value: without out-of-fold slopes a heterogeneous model must beat the
#: constant's R-loss at the level the heterogeneity gate uses for the BLP slope.
Z_95 = 1.6448536269514722
#: With them, its R-loss must beat the constant's by this many paired SEs, and its out-of-fold
#: BLP slope be positive at one-sided :data:`SLOPE_LEVEL`.
Z_LOSS_WITH_SLOPE = 1.0
SLOPE_LEVEL = 0.05
#: Bootstrap resamples of the held-out customers behind the selection frequencies.
BOOTSTRAP_DRAWS = 200
SELECTION_RULE = (
    "lowest R-loss (Nie-Wager: mean(((y - m(x)) - (t - e(x)) cate(x))^2) with cross-fitted m and "
    "e), out of fold over every customer (5 selection folds, the held-out split one of them) up "
    "to 10,000 customers and on the held-out split above, among models that pass the "
    "instability guard (finite CATE, CATE SD "
    f"<= {MAX_SD_RATIO:g} x outcome SD, |mean CATE| <= {MAX_MEAN_RATIO:g} x outcome SD, CATE SD "
    f"<= {MAX_PEER_SD_RATIO:g} x the median CATE SD of the models when {MIN_PEERS} or more pass); "
    "models within one paired SE of the lowest are tied and split by the honest out-of-sample "
    f"policy value, then by the selection frequency over {BOOTSTRAP_DRAWS} bootstrap resamples; "
    "a heterogeneous model replaces the constant average_effect only when its R-loss is lower by "
    "at least one paired SE and the BLP slope of the DR scores on its out-of-fold predictions is "
    "positive at one-sided 5%"
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
    """The chosen model, the runner-up, the paired R-loss margin, ties and selection frequency.

    ``tied`` are the models within one paired SE of the lowest R-loss (``best_by_loss``);
    ``policy_values`` their honest held-out values; ``selection_frequency`` how often each model
    had the lowest R-loss over bootstrap resamples of the held-out customers.
    """

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
    best_by_loss: str | None = None
    tied: tuple[str, ...] = ()
    policy_values: Mapping[str, float] = field(default_factory=dict)
    selection_frequency: Mapping[str, float] = field(default_factory=dict)
    #: The model with the lowest R-loss in each selection fold (one entry per fold; empty on a
    #: single split): the selection's variability over splits of the customers.
    fold_winners: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["tied"] = list(self.tied)
        out["fold_winners"] = list(self.fold_winners)
        out["policy_values"] = dict(self.policy_values)
        out["selection_frequency"] = dict(self.selection_frequency)
        return out


def _paired(loss_a: np.ndarray, loss_b: np.ndarray) -> tuple[float, float]:
    """Mean and SE of the paired per-customer difference loss_a - loss_b."""
    diff = np.asarray(loss_a, float) - np.asarray(loss_b, float)
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return float(diff.mean()), se


def selection_frequency(losses: Mapping[str, np.ndarray], candidates: Sequence[str],
                        seed: int, draws: int = BOOTSTRAP_DRAWS) -> dict[str, float]:
    """Share of bootstrap resamples of the held-out customers in which each model has the
    lowest mean R-loss.

    >>> selection_frequency({"a": np.zeros(50), "b": np.ones(50)}, ["a", "b"], seed=0)
    {'a': 1.0, 'b': 0.0}
    """
    if not candidates:
        return {}
    matrix = np.column_stack([np.asarray(losses[name], float) for name in candidates])
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(matrix), size=(draws, len(matrix)))
    means = np.stack([matrix[r].mean(axis=0) for r in rows])
    wins = np.bincount(np.argmin(means, axis=1), minlength=len(candidates))
    return {name: float(w / draws) for name, w in zip(candidates, wins, strict=True)}


def _within(names: Sequence[str], terms: Mapping[str, np.ndarray], best: str,
            lower_is_better: bool, critical: float = 1.0) -> list[str]:
    """The models whose paired mean difference to ``best`` is within ``critical`` SEs of it."""
    out = []
    for name in names:
        gap, se = _paired(terms[name], terms[best])
        gap = gap if lower_is_better else -gap
        if name == best or gap <= critical * se:
            out.append(name)
    return out


def fold_winners(losses: Mapping[str, np.ndarray], candidates: Sequence[str],
                 folds: np.ndarray | None) -> tuple[str, ...]:
    """The candidate with the lowest mean R-loss within each fold (ties: the first listed).

    >>> fold_winners({"a": np.array([1.0, 3.0]), "b": np.array([2.0, 2.0])}, ["a", "b"],
    ...              np.array([0, 1]))
    ('a', 'b')
    """
    if folds is None or not candidates:
        return ()
    folds = np.asarray(folds)
    out = []
    for k in np.unique(folds):
        rows = folds == k
        out.append(min(candidates, key=lambda name: float(np.mean(losses[name][rows]))))
    return tuple(out)


def _decide(ranked: list[str], losses: Mapping[str, np.ndarray],
            values: Mapping[str, np.ndarray], frequency: Mapping[str, float],
            order: list[str]) -> tuple[str, tuple[str, ...]]:
    """The best-by-loss model's tie group, and the model the decision rule picks from it:
    within the tie group the models whose honest value is not clearly (paired 95%) below the
    highest, and among those the most often selected over the bootstrap resamples."""
    tied = _within(ranked, losses, ranked[0], lower_is_better=True)
    valued = [name for name in tied if name in values]
    if valued:
        top = max(valued, key=lambda name: float(np.mean(values[name])))
        tied_on_value = _within(valued, values, top, lower_is_better=False, critical=Z_975)
    else:
        tied_on_value = tied
    chosen = max(tied_on_value, key=lambda name: (frequency.get(name, 0.0), -order.index(name)))
    return chosen, tuple(tied)


def _constant_unless_beaten(chosen: str, losses: Mapping[str, np.ndarray],
                            constants: Sequence[str], ranked: list[str],
                            calibration_p: Mapping[str, float] | None = None
                            ) -> tuple[str, str]:
    """The constant instead of ``chosen`` unless heterogeneity is shown (step 4)."""
    constant = next((name for name in ranked if name in constants), None)
    if constant is None or chosen in constants:
        return chosen, ""
    gain, se = _paired(losses[constant], losses[chosen])
    if calibration_p is None:
        if gain - Z_95 * se > 0:
            return chosen, ""
        return constant, (f"{chosen} would be chosen, but its R-loss is not clearly below the "
                          f"constant's ({gain:.4g} lower, one-sided 95% bound "
                          f"{gain - Z_95 * se:.4g}): heterogeneity is not shown, so {constant} "
                          "is deployed; ")
    p_value = float(calibration_p.get(chosen, 1.0))
    p_value = 1.0 if not np.isfinite(p_value) else p_value
    loss_ok, slope_ok = gain - Z_LOSS_WITH_SLOPE * se > 0, p_value < SLOPE_LEVEL
    if loss_ok and slope_ok:
        return chosen, ""
    missing = " and ".join(
        text for ok, text in ((loss_ok, f"its R-loss is not one paired SE below the constant's "
                                        f"({gain:.4g} lower, SE {se:.4g})"),
                              (slope_ok, f"the BLP slope on its out-of-fold predictions is not "
                                         f"shown positive (one-sided p {p_value:.3g})"))
        if not ok)
    return constant, (f"{chosen} would be chosen, but {missing}: heterogeneity is not shown, "
                      f"so {constant} is deployed; ")


def _reason(selected: str, runner_up: str | None, margin: float | None, low: float | None,
            high: float | None, tied: tuple[str, ...], best: str,
            frequency: Mapping[str, float], fallback: bool = False) -> str:
    if runner_up is None:
        return f"{selected} is the only model that passed the instability guard"
    share = frequency.get(selected, float("nan"))
    side = "higher" if margin is not None and margin >= 0 else "lower"
    text = (f"{selected} selected; {runner_up} is next, its R-loss {abs(margin):.4g} {side} "
            f"(runner-up minus selected {margin:.4g}, 95% CI {low:.4g} to {high:.4g}); "
            f"{selected} has the lowest R-loss in {share:.0%} of bootstrap resamples")
    if len(tied) > 1 and selected in tied and not fallback:
        text += (f"; {', '.join(tied)} are within one paired SE of the lowest R-loss ({best}), "
                 f"and {selected} is chosen among them by the honest policy value (not clearly "
                 "below the highest), then by how often it wins the bootstrap resamples")
    if low is not None and low <= 0:
        text += "; the models are not distinguishable on these data"
    return text


def select_model(outcome: str, losses: Mapping[str, np.ndarray],
                 flags: Mapping[str, str | None], override: str | None = None,
                 order: Sequence[str] | None = None,
                 values: Mapping[str, np.ndarray] | None = None, seed: int = 0,
                 constants: Sequence[str] = ("average_effect",),
                 calibration_p: Mapping[str, float] | None = None,
                 folds: np.ndarray | None = None) -> Selection:
    """Pick a model by the rule of the module docstring.

    ``losses`` maps each model to its per-customer out-of-sample R-loss terms (the same
    customers for every model, so differences are paired); ``values`` each model's honest
    out-of-sample policy value per selection row (the tie-break); ``constants`` the models
    without heterogeneity (the fallback of step 4); ``calibration_p`` each model's one-sided
    p-value of the BLP slope on its out-of-fold predictions (step 4); ``folds`` the selection
    fold of each loss term (for :func:`fold_winners`). ``override`` forces a
    model (a flagged one is refused and the rule decides, saying so).

    >>> sel = select_model("y", {"a": np.array([1.0, 1.0]), "b": np.array([2.0, 4.0])},
    ...                    {"a": None, "b": None})
    >>> sel.selected, sel.runner_up, sel.margin
    ('a', 'b', 2.0)
    """
    order = list(order if order is not None else losses)
    values = dict(values or {})
    candidates = [name for name in order if name in losses and not flags.get(name)]
    mean_loss = {name: float(np.mean(losses[name])) for name in candidates}
    ranked = sorted(candidates, key=lambda name: (mean_loss[name], order.index(name)))
    if override is not None and override not in losses:
        raise InputError(f"{override!r} was not fitted; fitted models: "
                         f"{', '.join(order)}", argument="model")
    refused = ""
    if override is not None and flags.get(override):
        refused = f"--model {override} refused for {outcome}: {flags[override]}; "
        override = None
    if not ranked and override is None:
        return Selection(outcome, SELECTION_RULE, None, None, None, None, None, None, False,
                         refused + "every model was flagged by the instability guard; no CATE "
                         "is trusted")
    frequency = selection_frequency(losses, ranked, seed)
    winners = fold_winners(losses, ranked, folds)
    chosen, tied = _decide(ranked, losses, values, frequency, order) if ranked else (None, ())
    fallback = ""
    if chosen is not None:
        chosen, fallback = _constant_unless_beaten(chosen, losses, constants, ranked,
                                                   calibration_p)
    selected = override if override is not None else chosen
    others = [name for name in ranked if name != selected]
    runner_up = others[0] if others else None
    margin = se = low = high = None
    if runner_up is not None:
        margin, se = _paired(losses[runner_up], losses[selected])
        low, high = margin - Z_975 * se, margin + Z_975 * se
    if override is not None:
        reason = f"chosen by --model {selected} (the rule would pick {chosen or '-'})"
    else:
        reason = refused + fallback + _reason(selected, runner_up, margin, low, high, tied,
                                              ranked[0], frequency, bool(fallback))
    if winners and selected is not None:
        reason += (f"; lowest R-loss in {winners.count(selected)} of {len(winners)} selection "
                   f"folds ({', '.join(winners)})")
    return Selection(outcome, SELECTION_RULE, selected, runner_up, margin, se, low, high,
                     override is not None, reason, ranked[0] if ranked else None, tied,
                     {k: float(np.mean(v)) for k, v in values.items() if k in candidates},
                     frequency, winners)
