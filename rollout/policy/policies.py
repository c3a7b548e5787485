"""The targeting policies, each valued as the model predicts and honestly on held-out customers.

Inputs are arrays aligned with the cohort: the predicted CATE (and its lower 95% bound when the
CATE learner gives one), the observed treatment, the doubly robust profit scores
(:func:`rollout.policy.value.profit_scores`) and a :class:`HoldoutPlan` saying which customers
each honest evaluation may learn from and which it is evaluated on.

Fixed rules (no choice to make): ``breakeven`` (CATE > cost / margin), ``cate_positive``
(CATE > 0), ``conservative`` (lower bound > breakeven), ``top_<k>`` (the k% with the highest CATE),
``current_practice`` (the observed assignment) and ``everyone``. Tuned rules, whose choice (k,
lambda, tree depth) is made on the training part of each split by the doubly robust value and then
evaluated once on the held-out part: ``top_k`` (the budget-optimal k), ``risk_adjusted``
(CE-CATE(lambda) = (1 - lambda) point + lambda lower > breakeven), and the trees of
:mod:`rollout.policy.trees`. The targeting written for deployment re-tunes on every customer.

A learned policy that targets (nearly) everyone or nobody is flagged ``trivial``: it has learned
no targeting, whatever its value says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.common.parallel import run_tasks
from rollout.policy.trees import (
    apply_rules,
    fit_dr_policy_tree,
    fit_policy_tree,
    fit_rule_tree,
    predict_targets,
    rules_to_text,
    target_paths,
    tree_to_json,
)
from rollout.policy.value import PolicyValue, policy_value, predicted_profit

TOP_K_GRID = (10, 20, 30, 50)
TOP_K_TUNING_GRID = tuple(range(5, 101, 5))
LAMBDA_GRID = (0.0, 0.3, 0.5, 0.7, 1.0)
DEPTH_GRID = (1, 2, 3)
TRIVIAL_SHARE = 0.02
LEARNED = ("top_k", "risk_adjusted", "policy_tree", "dr_policy_tree", "rule_tree")


@dataclass(frozen=True)
class HoldoutPlan:
    """Pairs of (learn-from, evaluate-on) masks; the evaluation masks do not overlap.

    ``from_folds`` cross-fits over the analysis' folds (every customer evaluated once);
    ``from_split`` uses a single train/test split such as the CATE learner's.
    """

    splits: tuple[tuple[np.ndarray, np.ndarray], ...]
    description: str
    support: np.ndarray | None = None

    def within(self, support: np.ndarray, note: str) -> HoldoutPlan:
        """The same plan restricted to the ``support`` customers (learning and evaluation).

        >>> plan = HoldoutPlan.from_split(np.array([False, True, True, False]))
        >>> plan.within(np.array([True, True, False, False]), "kept").eval_mask.tolist()
        [False, True, False, False]
        """
        support = np.asarray(support, bool)
        splits = tuple((learn & support, evaluate & support) for learn, evaluate in self.splits)
        return HoldoutPlan(splits, f"{self.description}; {note}", support)

    @property
    def learn_all(self) -> np.ndarray:
        """The customers the deployed (final) tuning may learn from: the support, or everyone."""
        n = len(self.splits[0][1])
        return np.ones(n, bool) if self.support is None else self.support

    @classmethod
    def from_folds(cls, folds: np.ndarray) -> HoldoutPlan:
        folds = np.asarray(folds)
        splits = tuple((folds != k, folds == k) for k in np.unique(folds))
        return cls(splits, f"cross-fitted over {len(splits)} folds: each fold's policy is tuned "
                           "on the other folds and evaluated on it")

    @classmethod
    def from_split(cls, is_test: np.ndarray) -> HoldoutPlan:
        is_test = np.asarray(is_test, bool)
        return cls(((~is_test, is_test),),
                   f"held-out test split of the CATE learner ({int(is_test.sum())} customers)")

    @property
    def eval_mask(self) -> np.ndarray:
        mask = np.zeros_like(self.splits[0][1])
        for _, evaluate in self.splits:
            mask |= evaluate
        return mask


@dataclass(frozen=True)
class PolicyInputs:
    """Everything a policy may look at; arrays aligned with the cohort's rows."""

    X: np.ndarray
    covariate_names: tuple[str, ...]
    cate: np.ndarray
    cate_lower: np.ndarray | None
    treatment: np.ndarray
    y: np.ndarray
    profit: np.ndarray
    margin: float
    cost: float
    seed: int = 0
    honest_cate: np.ndarray | None = None
    honest_lower: np.ndarray | None = None

    def cate_for(self, honest: bool) -> np.ndarray:
        """The CATE a rule reads: out-of-sample predictions for the honest evaluation when the
        learner gives them (``honest_cate``), the deployed predictions otherwise."""
        return self.honest_cate if honest and self.honest_cate is not None else self.cate

    def lower_for(self, honest: bool) -> np.ndarray | None:
        if honest and self.honest_lower is not None:
            return self.honest_lower
        return self.cate_lower

    @property
    def breakeven(self) -> float:
        return self.cost / self.margin

    @property
    def n(self) -> int:
        return len(self.cate)


@dataclass
class PolicyResult(DisplayMixin):
    """One policy: deployed targeting, honest targeting on held-out rows, and both values."""

    name: str
    criterion: str
    targets: np.ndarray
    honest_targets: np.ndarray
    value: PolicyValue
    learned: bool
    choice: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Any] | None = None
    value_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    population_n: int | None = None

    def record(self, inputs: PolicyInputs) -> dict[str, Any]:
        profit, total, roi = predicted_profit(self.targets, inputs.cate, inputs.margin,
                                              inputs.cost)
        n_targeted = int(self.targets.sum())
        share = n_targeted / len(self.targets)
        spent_share = float(self.honest_targets[self.value_mask].mean()) if self.value_mask.any() \
            else 0.0
        value_roi = (self.value.value / (inputs.cost * spent_share)
                     if inputs.cost > 0 and spent_share > 0 else float("nan"))
        return {
            "policy": self.name, "criterion": self.criterion, "n_targeted": n_targeted,
            "share_targeted": share, "cost_total": n_targeted * inputs.cost,
            "predicted_profit": profit, "predicted_profit_total": total, "predicted_roi": roi,
            "value": self.value.value, "value_se": self.value.se,
            "value_ci_low": self.value.ci_low, "value_ci_high": self.value.ci_high,
            "value_total": self.value.value * (len(self.targets) if self.population_n is None
                                               else self.population_n),
            "value_roi": value_roi,
            "value_n": self.value.n, "trivial": is_trivial(share),
            "learned": self.learned, "choice": dict(self.choice),
        }


def is_trivial(share: float) -> bool:
    """A targeting of (nearly) everyone or nobody: share <= 2% or >= 98%.

    >>> is_trivial(0.99), is_trivial(0.5)
    (True, False)
    """
    return bool(share <= TRIVIAL_SHARE or share >= 1 - TRIVIAL_SHARE)


def top_share(cate: np.ndarray, share: float) -> np.ndarray:
    """Target the ``share`` of customers with the highest CATE (ties broken by row order).

    >>> top_share(np.array([1.0, 5.0, 3.0, 2.0]), 0.5).tolist()
    [0, 1, 1, 0]
    """
    cate = np.asarray(cate, float)
    k = int(np.ceil(share * cate.size - 1e-9))
    order = np.argsort(-cate, kind="stable")
    targets = np.zeros(cate.size, np.int64)
    targets[order[:k]] = 1
    return targets


def risk_adjusted_cate(cate: np.ndarray, lower: np.ndarray, lam: float) -> np.ndarray:
    """Certainty-equivalent CATE: ``(1 - lambda) x point + lambda x lower bound``.

    >>> risk_adjusted_cate(np.array([10.0]), np.array([2.0]), 0.25).tolist()
    [8.0]
    """
    return (1 - lam) * np.asarray(cate, float) + lam * np.asarray(lower, float)


#: Policies whose list is a rule on each customer's own CATE (and lower bound): a customer's
#: decision needs nothing but their own scores, so new customers can be scored one by one.
CUSTOMER_RULES = ("breakeven", "cate_positive", "conservative", "risk_adjusted", "everyone")
#: The choice each customer rule reads from the policy's record (``choice`` in summary.json).
RULE_CHOICE = {"risk_adjusted": "lambda"}
#: Rules that read the lower 95% bound (skipped when the CATE model gives no intervals).
NEEDS_LOWER = ("conservative", "risk_adjusted")


def rule_targets(name: str, cate: np.ndarray, lower: np.ndarray | None, breakeven: float,
                 choice: dict[str, Any] | None = None) -> np.ndarray:
    """The 0/1 list of customer rule ``name`` (one of :data:`CUSTOMER_RULES`).

    The one definition of these lists: the analysis builds its deployed and honest lists with
    it, and ``rollout score`` applies it to new customers, so a list means the same thing
    wherever it is drawn. ``choice`` is the tuned choice (``{"lambda": 0.5}`` for
    ``risk_adjusted``).

    >>> rule_targets("conservative", np.array([3.0, 3.0]), np.array([0.5, 2.5]), 2.0).tolist()
    [0, 1]
    """
    cate = np.asarray(cate, float)
    if name == "everyone":
        return np.ones(cate.shape, np.int64)
    if name in NEEDS_LOWER and lower is None:
        raise ValueError(f"policy {name!r} needs a lower bound of the CATE")
    if name == "breakeven":
        values, threshold = cate, breakeven
    elif name == "cate_positive":
        values, threshold = cate, 0.0
    elif name == "conservative":
        values, threshold = np.asarray(lower, float), breakeven
    elif name == "risk_adjusted":
        lam = float((choice or {})[RULE_CHOICE[name]])
        values, threshold = risk_adjusted_cate(cate, np.asarray(lower, float), lam), breakeven
    else:
        raise ValueError(f"{name!r} is not a per-customer rule; see CUSTOMER_RULES")
    return (values > threshold).astype(np.int64)


Builder = Callable[[Any, np.ndarray, bool], np.ndarray]
"""``build(choice, fit_mask, honest) -> 0/1 targets for every customer``; may fit on
``fit_mask`` rows; ``honest`` says whether to read the out-of-sample CATE."""


def _halves(mask: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(mask)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(rows)
    first = np.zeros_like(mask)
    first[shuffled[: len(rows) // 2]] = True
    return first, mask & ~first


def tune(candidates: Sequence[Any], build: Builder, learn_mask: np.ndarray,
         profit: np.ndarray, seed: int, fits: bool,
         honest: bool = False) -> tuple[Any, dict[Any, float]]:
    """Pick the candidate with the highest doubly robust value on ``learn_mask`` rows only.

    A rule that is fitted (``fits``) is scored by two-fold cross-fitting inside the learning rows
    (fit on one half, value on the other, and back), so the choice never rewards overfitting.
    Ties go to the earlier candidate.
    """
    scores: dict[Any, float] = {}
    if fits:
        first, second = _halves(learn_mask, seed)
        for c in candidates:
            total = 0.0
            for fit_on, score_on in ((first, second), (second, first)):
                total += float((build(c, fit_on, honest)[score_on] * profit[score_on]).sum())
            scores[c] = total / learn_mask.sum()
    else:
        for c in candidates:
            targets = build(c, learn_mask, honest)
            scores[c] = float((targets[learn_mask] * profit[learn_mask]).mean())
    best = max(candidates, key=lambda c: (scores[c], -list(candidates).index(c)))
    return best, scores


def _honest(plan: HoldoutPlan, inputs: PolicyInputs, candidates: Sequence[Any] | None,
            build: Builder, fits: bool) -> tuple[np.ndarray, list[Any]]:
    honest = np.zeros(inputs.n, np.int64)
    choices = []
    for i, (learn, evaluate) in enumerate(plan.splits):
        if candidates is None:
            chosen = None
        else:
            chosen, _ = tune(candidates, build, learn, inputs.profit, inputs.seed + i, fits,
                             honest=True)
        choices.append(chosen)
        honest[evaluate] = build(chosen, learn, True)[evaluate]
    return honest, choices


def evaluate_policy(name: str, criterion: str, inputs: PolicyInputs, plan: HoldoutPlan,
                    build: Builder, candidates: Sequence[Any] | None = None,
                    fits: bool = False, learned: bool = False,
                    choice_name: str = "choice") -> PolicyResult:
    """Deployed targeting (tuned on everyone), honest targeting and value on held-out rows."""
    everyone = plan.learn_all
    honest, fold_choices = _honest(plan, inputs, candidates, build, fits)
    choice: dict[str, Any] = {}
    if candidates is None:
        chosen = None
    else:
        chosen, _ = tune(candidates, build, everyone, inputs.profit, inputs.seed, fits)
        choice = {choice_name: chosen, f"{choice_name}_per_split": fold_choices,
                  "tuned_on": "doubly robust value on the learning customers"
                  + (" (2-fold cross-fitted inside them)" if fits else "")}
    targets = build(chosen, everyone, False)
    mask = plan.eval_mask
    result = PolicyResult(name=name, criterion=criterion, targets=targets,
                          honest_targets=honest, value=policy_value(honest, inputs.profit, mask),
                          learned=learned, choice=choice)
    result.value_mask = mask
    result.population_n = int(plan.learn_all.sum())
    return result


def standard_policies(inputs: PolicyInputs, plan: HoldoutPlan,
                      trees: Sequence[str] = ("policy_tree", "dr_policy_tree", "rule_tree"),
                      progress: Callable[[str], None] | None = None,
                      processes: int = 1) -> list[PolicyResult]:
    """The whole family, in a fixed order (see the module docstring)."""
    tick = progress or (lambda message: None)
    be = inputs.breakeven
    cate, lower = inputs.cate_for, inputs.lower_for

    def rule(name: str, choice_name: str | None = None) -> Builder:
        return lambda c, m, h: rule_targets(name, cate(h), lower(h), be,
                                            None if choice_name is None else {choice_name: c})

    results = [
        evaluate_policy("breakeven", f"CATE > breakeven ({be:.4g})", inputs, plan,
                        rule("breakeven")),
        evaluate_policy("cate_positive", "CATE > 0", inputs, plan, rule("cate_positive")),
    ]
    has_lower = inputs.cate_lower is not None
    if has_lower:
        results.append(evaluate_policy(
            "conservative", f"lower 95% bound of CATE > breakeven ({be:.4g})", inputs, plan,
            rule("conservative")))
    for k in TOP_K_GRID:
        results.append(evaluate_policy(f"top_{k}", f"top {k}% by CATE", inputs, plan,
                                       lambda c, m, h, k=k: top_share(cate(h), k / 100)))
    results.append(evaluate_policy(
        "top_k", "top k% by CATE, k chosen by value (budget-optimal)", inputs, plan,
        lambda c, m, h: top_share(cate(h), c / 100), candidates=TOP_K_TUNING_GRID,
        learned=True, choice_name="k_percent"))
    if has_lower:
        results.append(evaluate_policy(
            "risk_adjusted", "(1 - lambda) CATE + lambda lower bound > breakeven, lambda chosen "
            "by value", inputs, plan, rule("risk_adjusted", "lambda"),
            candidates=LAMBDA_GRID, learned=True, choice_name="lambda"))
    observed = np.asarray(inputs.treatment, np.int64)
    results.append(evaluate_policy("current_practice", "the observed (historical) assignment",
                                   inputs, plan, lambda c, m, h: observed))
    results.append(evaluate_policy("everyone", "target every customer", inputs, plan,
                                   lambda c, m, h: rule_targets("everyone", cate(h), None, be)))
    for kind in trees:
        tick(f"policies: {kind}")
        results.append(tree_policy(kind, inputs, plan, processes))
    return results


def _tree_builder(kind: str, inputs: PolicyInputs) -> Callable[[int, np.ndarray, bool], Any]:
    X, seed = inputs.X, inputs.seed
    if kind == "policy_tree":
        return lambda depth, m, h: fit_policy_tree(X[m], inputs.profit[m], depth, seed)
    if kind == "dr_policy_tree":
        return lambda depth, m, h: fit_dr_policy_tree(X[m], inputs.y[m], inputs.treatment[m],
                                                   inputs.margin, inputs.cost, depth, seed)
    if kind == "rule_tree":
        return lambda depth, m, h: fit_rule_tree(
            X[m], (inputs.cate_for(h) > inputs.breakeven)[m], depth, seed)
    raise ValueError(f"unknown tree kind {kind!r}")


TREE_CRITERIA = {
    "policy_tree": "econml PolicyTree on doubly robust profit scores, depth chosen by value",
    "dr_policy_tree": "econml DRPolicyTree on the profit outcome margin x Y - cost x T, depth "
                      "chosen by value",
    "rule_tree": "scikit-learn tree predicting CATE > breakeven, depth chosen by value",
}


def _fit_tree(kind: str, inputs: PolicyInputs, depth: int, mask: np.ndarray,
              honest: bool) -> Any:
    return _tree_builder(kind, inputs)(depth, mask, honest)


def _tuning_fits(plan: HoldoutPlan, seed: int) -> list[tuple[int, np.ndarray, bool]]:
    """The (depth, rows, honest) fits :func:`tune` makes for every split and for the deployed
    tree: each depth on each half of the learning rows, halves drawn as :func:`tune` draws
    them."""
    wanted = [(plan.learn_all, seed, False)]
    wanted += [(learn, seed + i, True) for i, (learn, _) in enumerate(plan.splits)]
    out = []
    for learn, half_seed, honest in wanted:
        for half in _halves(learn, half_seed):
            out += [(depth, half, honest) for depth in DEPTH_GRID]
    return out


def tree_policy(kind: str, inputs: PolicyInputs, plan: HoldoutPlan,
                processes: int = 1) -> PolicyResult:
    """A tree policy with depth tuned on learning rows; rules of the deployed tree attached.

    The depth-tuning fits are independent, so they are made first, shared by ``processes``
    worker processes (the same trees as fitting them when :func:`tune` asks)."""
    fitted: dict[tuple[int, bytes, bool], Any] = {}

    def key(depth: int, mask: np.ndarray, honest: bool) -> tuple[int, bytes, bool]:
        return depth, np.packbits(mask).tobytes(), honest and kind == "rule_tree"

    if processes > 1:
        wanted = {key(*fit): fit for fit in _tuning_fits(plan, inputs.seed)}
        trees = run_tasks([partial(_fit_tree, kind, inputs, *fit) for fit in wanted.values()],
                          processes)
        fitted.update(zip(wanted, trees, strict=True))

    def model(depth: int, mask: np.ndarray, honest: bool) -> Any:
        if key(depth, mask, honest) not in fitted:
            fitted[key(depth, mask, honest)] = _fit_tree(kind, inputs, depth, mask, honest)
        return fitted[key(depth, mask, honest)]

    def build(depth: int, mask: np.ndarray, honest: bool) -> np.ndarray:
        return predict_targets(model(depth, mask, honest), inputs.X)

    result = evaluate_policy(kind, TREE_CRITERIA[kind], inputs, plan, build,
                             candidates=DEPTH_GRID, fits=True, learned=True, choice_name="depth")
    depth = result.choice["depth"]
    deployed = model(depth, plan.learn_all, False)
    rules = tree_to_json(deployed, inputs.covariate_names)
    frame = pd.DataFrame(inputs.X, columns=list(inputs.covariate_names))
    result.rules = {"policy": kind, "depth": depth, "text": rules_to_text(rules),
                    "target_paths": target_paths(rules), "tree": rules,
                    "reproduces_model": bool(np.array_equal(apply_rules(rules, frame),
                                                            result.targets))}
    return result


def policies_frame(results: Sequence[PolicyResult], inputs: PolicyInputs) -> pd.DataFrame:
    """The ``policies`` table: one record per policy (choices as JSON-able text)."""
    rows = []
    for r in results:
        record = r.record(inputs)
        record["choice"] = str(record["choice"]) if record["choice"] else ""
        rows.append(record)
    return pd.DataFrame(rows)
