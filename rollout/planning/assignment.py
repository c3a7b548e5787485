"""Stratified, reproducible arms and phased target lists that never lose a customer.

Every customer in the list gets exactly one role: ``pilot_target`` (phase 1, flagged by the
design's pilot column and treated outright), one of the design's arms (phase 2, the randomized
A/B test), or ``not_in_test`` (everyone else; phase 3 when the expansion column flags them, else
phase 0). Every random draw is a keyed hash of the salt and the customer id
(:mod:`rollout.planning.keyed_hash`), so anyone can recompute an assignment from the salt alone.

Who enters the test. Customers outside the pilot (and flagged by the test phase's column, when it
names one) are eligible. With ``complete`` assignment the design's ``n_total`` is split across
strata in proportion to their eligible counts (largest remainder, ties by the stratum's hash), and
in each stratum the customers with the smallest entry draw (``y``, the second half of the keyed
digest) enter. With ``hash`` assignment a customer enters when their entry uniform is below
``n_total / eligible``, so a list
that grows only ever drops earlier entrants, never adds them back under another arm. When the
design asks for more customers than are eligible, all of them enter and a warning says so.

Which arm. ``complete``: in each stratum the entrants are ordered by their keyed integer
(``salt:id``) and cut at exact counts for the allocation, each within one of its target. Where a
target is not whole, dependent rounding driven by the keyed hash of the salt decides which arm
gets the remainder, so that each arm's total over strata is also within one of its target and
every customer's chance of each arm is exactly the allocation. ``hash``: the arm is the first
whose cumulative allocation exceeds the customer's uniform ``u``; it depends on nothing but the
salt and the id, so re-running or adding customers never moves anyone, and balance is
approximate (the report says how far).

Re-randomization draws the arms under ``rerandomize`` salts (the salt, then ``salt#1``,
``salt#2``, ...) and keeps the one with the smallest worst |SMD|. The entrants stay those of the
base salt. Inference must then condition on the acceptance rule; the report records it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.errors import InputError
from rollout.io import output_set, read_table, write_csv, write_json, write_parquet
from rollout.planning.balance_report import (
    allocation_test,
    arm_by_stratum_test,
    standardized_mean_differences,
    worst_abs_smd,
)
from rollout.planning.dependent_rounding import dependent_round
from rollout.planning.design import (
    ID_COLUMN,
    PHASE_EXPANSION,
    PHASE_PILOT,
    PHASE_TEST,
    RESERVED_ROLES,
    Design,
    check_allocation,
    check_arms,
    check_sizes,
    check_strata,
    field_error,
    parse_phases,
)
from rollout.planning.enrolment import RANDOMIZE_IN_TEST
from rollout.planning.estimands import (
    CATE_DECILE,
    POLICY_VS_POLICY,
    RULE_DIFFERENCE_COLUMN,
    TREAT_CONTROL,
    cate_deciles,
    columns_of,
)
from rollout.planning.keyed_hash import (
    canonical_ids,
    keyed_integer,
    keyed_integer_pairs,
    keyed_integers,
    keyed_uniform,
    uniform_from_integers,
)
from rollout.planning.score import ScoreChoice, apply_score

ASSIGNMENT_SCHEMA = "rollout.assignment/1"
PILOT, NOT_IN_TEST = RESERVED_ROLES
METHODS = ("complete", "hash")
PHASE_NONE = 0
CUSTOMERS_IN_RESULTS = "customers.parquet"

HASH_RULE = (
    "x(key, id) = first 16 hex digits of SHA-256(key + ':' + id as text) as an unsigned 64-bit "
    "integer, y(key, id) = hex digits 17 to 32; u = floor(x / 2^11) / 2^53. Arms use "
    "x(arm_salt, id) (order within a stratum for 'complete', u against the cumulative "
    "allocation for 'hash'); test entry uses y(salt, id) (order within a stratum for 'complete', "
    "its uniform below n_total / eligible for 'hash'); ties between strata for entrant quotas "
    "use x(salt + ':stratum', label); "
    "the k-th coin of the dependent rounding of per-stratum arm counts is "
    "u(arm_salt + ':rounding', k)."
)
RERANDOMIZATION_CAVEAT = (
    "The arms were chosen as the best of several salts by worst |SMD|. Randomization inference "
    "(permutation tests, randomization intervals) must condition on this acceptance rule: "
    "re-draw each permuted assignment with the same rule. Analyses that ignore it are "
    "conservative, not invalid."
)


@dataclass(frozen=True)
class AssignmentPlan(DisplayMixin):
    """The fields of a design that assignment reads, checked once.

    Built from a :class:`~rollout.planning.design.Design` (:meth:`from_design`) or a partial
    document with the same fields (:meth:`from_mapping`); ``allocation`` is in the order of
    ``arms``.

    >>> plan = AssignmentPlan.from_mapping({"arms": ["treatment", "control"],
    ...     "allocation": {"treatment": 0.5, "control": 0.5}, "n_total": 10, "strata": [],
    ...     "phases": [], "seed": 1})
    >>> plan.allocation, plan.pilot_column
    ((0.5, 0.5), None)
    """

    arms: tuple[str, ...]
    allocation: tuple[float, ...]
    n_total: int
    strata: tuple[str, ...] = ()
    n_per_arm: dict[str, int] | None = None
    pilot_column: str | None = None
    pilot_n: int | None = None
    test_column: str | None = None
    expansion_column: str | None = None
    expansion_rule: str | None = None
    seed: int | None = None
    #: The design's test and the columns of its arms' rules (see ``rule_columns``).
    test: str = "ate"
    policy_column: str | None = None
    current_column: str | None = None
    responder_column: str | None = None
    #: Entrants per value of ``randomize_in_test`` (the design's enrolment), or empty.
    enrolment: tuple[tuple[int, int], ...] = ()
    #: Strata the design merged: (label, merged label) pairs.
    stratum_merges: tuple[tuple[str, str], ...] = ()
    #: A policy test's randomization (``policy_vs_policy`` or ``treat_control``), and under
    #: treat/control the predicted-CATE decile edges its ``cate_decile`` stratum is cut at.
    policy_randomization: str | None = None
    cate_edges: tuple[float, ...] = ()
    #: The ranking the design validates when it is not the deployed CATE
    #: (:mod:`rollout.planning.score`): its predictions become ``cate`` and its responder list
    #: is derived before anything else reads the customers.
    score: ScoreChoice | None = None

    @property
    def treat_control(self) -> bool:
        """Whether a policy test randomizes the campaign against none across the ranking."""
        return self.test == "policy" and self.policy_randomization == TREAT_CONTROL

    @property
    def enrols_pilot(self) -> bool:
        """Whether the test draws its entrants from the pilot's customers too.

        A policy or heterogeneity test validates the targeting, so it must span the whole
        predicted-CATE range: its entrants are drawn from every customer at the same rate, and
        the pilot treats the pilot-flagged customers who did not enter (the test then holds a
        randomized sample of the pilot's own customers). An ate test keeps the pilot outside.
        """
        return self.test in ("policy", "heterogeneity")

    @property
    def rule_columns(self) -> tuple[str, ...]:
        """0/1 columns the arms' rules read: the two policies, or the predicted responder."""
        if self.test == "policy":
            return tuple(c for c in (self.policy_column, self.current_column) if c)
        if self.test == "heterogeneity" and self.responder_column:
            return (self.responder_column,)
        return ()

    def rule_of(self, arm: str) -> tuple[str | None, str]:
        """The column whose 1s the arm treats (``None``: the arm's own flag) and its name."""
        if arm in (PILOT, NOT_IN_TEST):
            return None, ("pilot: " + (self.pilot_column or "pilot list") if arm == PILOT
                          else "not in test")
        if self.treat_control:
            return None, ("no campaign" if arm == self.reference_arm else "campaign") + \
                " (treat/control across the ranking; both rules compared at evaluation)"
        if self.test == "policy":
            if arm == self.reference_arm:
                return self.current_column, f"current practice ({self.current_column})"
            return self.policy_column, f"CATE policy ({self.policy_column})"
        return None, "no campaign" if arm == self.reference_arm else "campaign"

    @property
    def roles(self) -> tuple[str, ...]:
        """Every value the ``arm`` column can take, in a fixed order."""
        return (PILOT, *self.arms, NOT_IN_TEST)

    @property
    def reference_arm(self) -> str:
        """The arm the others are compared with: ``control`` when present, else the last."""
        return "control" if "control" in self.arms else self.arms[-1]

    @property
    def select_columns(self) -> tuple[str, ...]:
        """Flag columns the customer table must carry."""
        named = (self.pilot_column, self.test_column, self.expansion_column)
        return tuple(dict.fromkeys(c for c in named if c is not None))

    @classmethod
    def from_design(cls, design: Design) -> AssignmentPlan:
        """The fields assignment reads from a design (validated when it was built or loaded)."""
        pilot = design.phase(PHASE_PILOT)
        test = design.phase(PHASE_TEST)
        expansion = design.phase(PHASE_EXPANSION)
        return cls(
            arms=tuple(design.arms),
            allocation=tuple(float(design.allocation[arm]) for arm in design.arms),
            n_total=design.n_total, **_enrolment_fields(design.details, _test_fields(
                design.test, design.details, tuple(design.strata),
                design.policy_randomization)),
            n_per_arm={arm: design.n_per_arm[arm] for arm in design.arms},
            pilot_column=None if pilot is None else pilot.select_column,
            pilot_n=None if pilot is None else pilot.n,
            test_column=None if test is None else test.select_column,
            expansion_column=None if expansion is None else expansion.select_column,
            expansion_rule=None if expansion is None else expansion.rule,
            seed=design.seed)

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any],
                     source: str | Path | None = None) -> AssignmentPlan:
        """A plan from a partial design document holding only the fields assignment uses.

        ``arms``, ``allocation`` and ``n_total`` are required; ``n_per_arm``, ``strata``,
        ``phases`` and ``seed`` are optional. Each is checked by the design's own field checks
        (:mod:`rollout.planning.design`), so a partial document passes exactly when the same
        fields would pass in ``design.json``.
        """
        if not isinstance(document, Mapping):
            raise InputError("a design must be a JSON object", file=source)
        for name in ("arms", "allocation", "n_total"):
            if name not in document:
                raise field_error(source, name, "missing")
        arms = check_arms(document["arms"], source)
        allocation = check_allocation(document["allocation"], arms, source)
        n_total = document["n_total"]
        if isinstance(n_total, bool) or not isinstance(n_total, int) or n_total <= 0:
            raise field_error(source, "n_total", f"must be a positive integer, got {n_total!r}")
        n_per_arm = document.get("n_per_arm")
        if n_per_arm is not None:
            n_per_arm = check_sizes(n_per_arm, arms, source, "n_per_arm")
        seed = document.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise field_error(source, "seed", f"must be an integer, got {seed!r}")
        phases = {p.phase: p for p in parse_phases(document.get("phases") or [], source)}
        pilot, test, expansion = (phases.get(k) for k in (PHASE_PILOT, PHASE_TEST,
                                                          PHASE_EXPANSION))
        test_name = document.get("test") or "ate"
        return cls(
            arms=arms, allocation=tuple(float(allocation[a]) for a in arms), n_total=n_total,
            **_enrolment_fields(document.get("details") or {}, _test_fields(
                test_name, document.get("details") or {},
                check_strata(document.get("strata") or [], source),
                document.get("policy_randomization"))),
            n_per_arm=n_per_arm,
            pilot_column=None if pilot is None else pilot.select_column,
            pilot_n=None if pilot is None else pilot.n,
            test_column=None if test is None else test.select_column,
            expansion_column=None if expansion is None else expansion.select_column,
            expansion_rule=None if expansion is None else expansion.rule, seed=seed)

    @classmethod
    def of(cls, design: Design | AssignmentPlan | Mapping[str, Any]) -> AssignmentPlan:
        """The plan of a design, a partial design document, or a plan as it is."""
        if isinstance(design, AssignmentPlan):
            return design
        if isinstance(design, Design):
            return cls.from_design(design)
        return cls.from_mapping(design)


def _test_fields(test: str, details: Any, strata: tuple[str, ...],
                 randomization: str | None = None) -> dict[str, Any]:
    """The plan's test, rule columns and strata: a heterogeneity test's arms are randomized
    within predicted responders and non-responders, so the responder column is a stratum; a
    treat/control policy test's within predicted-CATE deciles, cut at the design's edges."""
    score = ScoreChoice.of_details(details)
    if test not in ("policy", "heterogeneity"):
        return {"test": "ate", "strata": strata, "score": score}
    cols = columns_of(test, details)
    if test == "heterogeneity" and cols.responder and cols.responder not in strata:
        strata = (*strata, cols.responder)
    out = {"test": test, "strata": strata, "policy_column": cols.policy,
           "current_column": cols.current if test == "policy" else None,
           "responder_column": cols.responder if test == "heterogeneity" else None,
           "score": score}
    if test == "policy":
        out["policy_randomization"] = randomization or POLICY_VS_POLICY
        quantities = ((details.get("estimand") or {}).get("quantities") or {}
                      if isinstance(details, Mapping) else {})
        out["cate_edges"] = tuple(float(v) for v in quantities.get("cate_decile_edges") or ())
    return out


def _with_cate_decile(customers: pd.DataFrame, plan: AssignmentPlan,
                      source: str | None) -> pd.DataFrame:
    """The customers with the ``cate_decile`` stratum a treat/control policy test names, cut
    from their predicted CATE at the design's edges (kept as given when the file carries it)."""
    if CATE_DECILE not in plan.strata or CATE_DECILE in customers.columns or not plan.cate_edges:
        return customers
    if "cate" not in customers.columns:
        raise InputError(f"the design stratifies by predicted-CATE decile ({CATE_DECILE}): the "
                         "customer table needs the predicted CATE (the results' "
                         "customers.parquet carries it)", file=source, column="cate")
    cate = customers["cate"]
    if cate.isna().any():
        raise InputError("missing predicted CATE", file=source, column="cate",
                         row=_first_row(cate.isna().to_numpy()))
    return customers.assign(**{CATE_DECILE: cate_deciles(cate.to_numpy(dtype=float),
                                                         plan.cate_edges)})


def _enrolment_fields(details: Any, fields_: dict[str, Any]) -> dict[str, Any]:
    """The design's enrolment quotas and merged strata (``details.enrolment``,
    ``details.strata_merged``); under a weighted enrolment its column is a stratum, so each
    stratum lies in one enrolment group."""
    details = details if isinstance(details, Mapping) else {}
    record = details.get("enrolment")
    merged = (details.get("strata_merged") or {}).get("merged") or {}
    out = dict(fields_)
    if isinstance(record, Mapping) and record.get("groups"):
        out["enrolment"] = tuple((int(g["value"]), int(g["enrolled"])) for g in record["groups"])
        if record.get("weighted") and RANDOMIZE_IN_TEST not in out["strata"]:
            out["strata"] = (*out["strata"], RANDOMIZE_IN_TEST)
    out["stratum_merges"] = tuple(sorted((str(k), str(v)) for k, v in merged.items()))
    return out


def _merge_strata(codes: np.ndarray, labels: list[str],
                  merges: tuple[tuple[str, str], ...]) -> tuple[np.ndarray, list[str]]:
    """Codes and sorted labels with the design's merged strata as one stratum each."""
    if not merges:
        return codes, labels
    mapping = dict(merges)
    names = [mapping.get(label, label) for label in labels]
    merged = sorted(set(names))
    lookup = np.array([merged.index(name) for name in names], dtype=np.int64)
    return lookup[codes], merged


@dataclass(frozen=True)
class Assignment(DisplayMixin):
    """An assignment: one row per customer, and the report that says how it was made.

    ``table`` has ``customer_id`` (as given), ``stratum`` (a label such as
    ``segment=A|ps_region=overlap``), ``arm`` (an arm, ``pilot_target`` or ``not_in_test``),
    ``phase`` (1 pilot, 2 A/B test, 3 expansion candidate, 0 none) and ``u`` (the arm-draw
    uniform, for audit), in the order of the input. ``report`` is a plain JSON document.
    """

    table: pd.DataFrame
    report: dict[str, Any]
    roles: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    def role_list(self, role: str) -> pd.DataFrame:
        """The customers with one role, as a campaign system loads them (input order).

        Id, arm and phase only: the stratum and the audit uniform are in the parquet table, and
        leaving them out keeps a ten-million-row list small.
        """
        rows = self.table[self.table["arm"] == role]
        return rows[[ID_COLUMN, "arm", "phase"]].reset_index(drop=True)

    def contact_list(self, arm: str) -> pd.DataFrame:
        """The customers of an arm its rule treats (``treat`` = 1): whom the campaign system
        contacts for that arm; id, arm, phase and the rule's name."""
        rows = self.table[(self.table["arm"] == arm) & (self.table["treat"] == 1)]
        return rows[[ID_COLUMN, "arm", "phase", "rule"]].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """The report (a plain JSON document)."""
        return dict(self.report)

    def to_pandas(self) -> pd.DataFrame:
        """The assignment table, one row per customer."""
        return self.table

    def summary(self) -> pd.DataFrame:
        """Customers per role."""
        counts = self.report["roles"]
        return pd.DataFrame({"role": list(counts), "customers": list(counts.values())})


def read_customers(path: str | Path) -> tuple[pd.DataFrame, Path]:
    """Read a customer table (parquet or CSV), or ``customers.parquet`` in a results folder.

    Returns the frame and the file it came from (for error messages).

    >>> read_customers("no-such-list.csv")
    Traceback (most recent call last):
    ...
    rollout.errors.InputError: no-such-list.csv: file does not exist
    """
    path = Path(path)
    if path.is_dir():
        inner = path / CUSTOMERS_IN_RESULTS
        if not inner.exists():
            raise InputError(f"a folder was given but it has no {CUSTOMERS_IN_RESULTS}", file=path)
        path = inner
    return read_table(path), path


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _validate_customers(frame: pd.DataFrame, plan: AssignmentPlan, source: str | None) -> None:
    if len(frame) == 0:
        raise InputError("the customer table is empty", file=source)
    if ID_COLUMN not in frame.columns:
        raise InputError("missing the customer id column", file=source, column=ID_COLUMN)
    ids = frame[ID_COLUMN]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise InputError("missing customer id", file=source, column=ID_COLUMN,
                         row=_first_row(missing))
    duplicated = ids.duplicated(keep="first").to_numpy()
    if duplicated.any():
        row = _first_row(duplicated)
        raise InputError(f"duplicate customer id {_plain(ids.iloc[row])!r}", file=source,
                         column=ID_COLUMN, row=row)
    for column in plan.strata:
        if column not in frame.columns:
            raise InputError("stratum column named by the design is missing", file=source,
                             column=column)
        nulls = frame[column].isna().to_numpy()
        if nulls.any():
            raise InputError("stratum value is missing", file=source, column=column,
                             row=_first_row(nulls))
    for column in plan.select_columns:
        if column not in frame.columns:
            raise InputError("phase selection column named by the design is missing",
                             file=source, column=column)
        _flag(frame, column, source)
    for column in plan.rule_columns:
        if column not in frame.columns:
            raise InputError(f"the {plan.test} test's arms need this rule column (0/1) in the "
                             "customer table", file=source, column=column)
        _flag(frame, column, source)


def _flag(frame: pd.DataFrame, column: str, source: str | None) -> np.ndarray:
    values = frame[column]
    nulls = values.isna().to_numpy()
    if nulls.any():
        raise InputError("flag value is missing", file=source, column=column,
                         row=_first_row(nulls))
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        bad = (numbers != 0) & (numbers != 1)
        if bad.any():
            row = _first_row(bad)
            raise InputError(f"flag must be true/false or 0/1, got {_plain(values.iloc[row])!r}",
                             file=source, column=column, row=row)
        return numbers == 1
    raise InputError(f"flag must be true/false or 0/1, has type {values.dtype}", file=source,
                     column=column)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages read ``5``, not ``np.int64(5)``."""
    return value.item() if isinstance(value, np.generic) else value


def _value_text(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stratum_labels(frame: pd.DataFrame, strata: Sequence[str], source: str | None = None,
                   ) -> tuple[np.ndarray, list[str]]:
    """Each customer's stratum as a code into a sorted list of readable labels.

    >>> codes, labels = stratum_labels(pd.DataFrame({"segment": ["B", "A", "B"],
    ...                                              "region": [1, 1, 2]}), ["segment", "region"])
    >>> labels, codes.tolist()
    (['segment=A|region=1', 'segment=B|region=1', 'segment=B|region=2'], [1, 0, 2])
    """
    n = len(frame)
    if not strata:
        return np.zeros(n, dtype=np.int64), ["all"]
    combined = np.zeros(n, dtype=np.int64)
    uniques_per_column = []
    n_possible = 1
    for column in strata:
        codes, uniques = pd.factorize(frame[column], sort=False)
        n_possible *= max(len(uniques), 1)
        if n_possible > 2**62:
            raise InputError(f"the strata columns {list(strata)} have more value combinations "
                             "than customers could fill; stratify on coarser columns",
                             file=source, column=column)
        combined = combined * len(uniques) + codes
        uniques_per_column.append([_value_text(v) for v in uniques])
    n_combinations = n_possible
    if n_combinations <= max(4 * n, 2**20):  # a counting pass: linear in the customers
        present = np.flatnonzero(np.bincount(combined, minlength=n_combinations))
        lookup = np.zeros(n_combinations, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        inverse = lookup[combined]
    else:
        present, inverse = np.unique(combined, return_inverse=True)
    labels = []
    for key in present.tolist():
        parts = []
        for column, uniques in zip(reversed(strata), reversed(uniques_per_column), strict=True):
            key, code = divmod(key, len(uniques))
            parts.append(f"{column}={uniques[code]}")
        labels.append("|".join(reversed(parts)))
    order = np.argsort(np.array(labels, dtype=object), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()], [labels[i] for i in order]


def _ranks_within(codes: np.ndarray, keys: np.ndarray, n_groups: int) -> np.ndarray:
    """Rank of each key within its group (0 = smallest); ties keep input order.

    Rows are grouped by a stable counting sort on the small group codes, then each group's keys
    are sorted on their own: a loop over strata, never over customers.

    >>> _ranks_within(np.array([1, 0, 1, 0]), np.array([5, 9, 2, 3], dtype=np.uint64), 2).tolist()
    [1, 1, 0, 0]
    """
    code_type = np.int16 if n_groups < 2**15 else np.int64
    by_group = np.argsort(codes.astype(code_type), kind="stable")
    sizes = np.bincount(codes, minlength=n_groups)
    ends = np.cumsum(sizes)
    ranks = np.empty(len(codes), dtype=np.int64)
    for group in range(n_groups):
        rows = by_group[ends[group] - sizes[group]:ends[group]]
        group_keys = keys[rows]
        order = np.argsort(group_keys)  # introsort; ties (all but impossible) re-sorted stably
        ordered = group_keys[order]
        if len(ordered) > 1 and (ordered[1:] == ordered[:-1]).any():
            order = np.argsort(group_keys, kind="stable")
        ranks[rows[order]] = np.arange(len(rows))
    return ranks


def proportional_counts(sizes: Sequence[int], total: int, tiebreak: Sequence[int]) -> np.ndarray:
    """Split ``total`` across groups in proportion to ``sizes`` (largest remainder, exact).

    Each count is within one of ``total * size / sum(sizes)``; leftover units go to the largest
    remainders, ties to the smallest ``tiebreak``.

    >>> proportional_counts([10, 10, 10], 10, [3, 1, 2]).tolist()
    [3, 4, 3]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    grand = int(sizes.sum())
    products = [int(s) * int(total) for s in sizes]
    base = np.array([p // grand for p in products], dtype=np.int64)
    remainder = [p % grand for p in products]
    leftover = int(total) - int(base.sum())
    ranked = sorted(range(len(sizes)), key=lambda g: (-remainder[g], int(tiebreak[g])))
    for g in ranked[:leftover]:
        base[g] += 1
    return base


def exact_shares(shares: Sequence[float]) -> list[Fraction]:
    """The allocation as exact fractions summing to exactly one (the last arm takes the rest).

    >>> [str(f) for f in exact_shares([1 / 3, 1 / 3, 1 / 3])]
    ['1/3', '1/3', '1/3']
    """
    exact = [Fraction(share).limit_denominator(10**6) for share in shares[:-1]]
    return [*exact, 1 - sum(exact, Fraction(0))]


def split_by_allocation(totals: Sequence[int], shares: Sequence[float], arm_salt: str,
                        ) -> np.ndarray:
    """Counts per stratum and arm for the allocation: exact totals, each cell within one.

    The fractional parts are rounded by dependent rounding
    (:mod:`rollout.planning.dependent_rounding`) with coins ``u(arm_salt + ':rounding', k)``:
    every stratum keeps its total, every cell and every arm total is within one of its target,
    and each cell's expected count is exactly its target, so every customer's chance of each arm
    is the allocation, whatever the stratum sizes.

    >>> split_by_allocation([4, 6], [0.5, 0.5], "s").tolist()
    [[2, 2], [3, 3]]
    """
    exact = exact_shares(shares)
    targets = [[int(total) * share for share in exact] for total in totals]
    key = f"{arm_salt}:rounding"
    counts = dependent_round(targets, coin=lambda k: keyed_uniform(key, str(k)))
    return np.array(counts, dtype=np.int64).reshape(len(totals), len(shares))


class LocalHasher:
    """The keyed hash of every customer, computed in this process (DuckDB, or :mod:`hashlib`
    for short lists).

    Assignment asks a hasher for two things only: both draws ``(x, y)`` of every customer under
    a key (:meth:`pairs`), and ``x`` of some customers (:meth:`integers`, rows into the table).
    Another engine hashes the same customers in the same order with the same rule
    (:mod:`rollout.planning.assignment_spark`); every decision made from the draws is the one
    code below, so both engines give the same arms.
    """

    def __init__(self, ids: Any) -> None:
        self.ids = ids

    def pairs(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        return keyed_integer_pairs(self.ids, key)

    def integers(self, key: str, rows: np.ndarray | None = None) -> np.ndarray:
        return keyed_integers(self.ids if rows is None else self.ids.take(rows), key)


@dataclass
class _Draw:
    salt: str
    arm_of_entrant: np.ndarray
    smd: list[dict[str, Any]]
    worst: float | None


def _numeric_covariates(frame: pd.DataFrame, plan: AssignmentPlan) -> list[str]:
    excluded = {ID_COLUMN, *plan.strata, *plan.select_columns}
    return [c for c in frame.columns
            if c not in excluded and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


def assign_customers(
    customers: pd.DataFrame,
    design: Mapping[str, Any] | Any,
    *,
    salt: str | None = None,
    method: str = "complete",
    rerandomize: int = 1,
    source: str | Path | None = None,
    on_step: Callable[[str], None] | None = None,
    hasher: Callable[[Any], Any] | None = None,
) -> Assignment:
    """Assign every customer one role: pilot target, an A/B arm, or not in the test.

    ``design`` is a ``design.json`` document (a mapping or a loaded design) or an
    :class:`AssignmentPlan` already checked against its file; ``source`` names the customer file
    in error messages; ``salt`` defaults to the design's seed as text. See the module docstring
    for the rules. Raises :class:`InputError` for bad input, before anything is computed.
    ``hasher`` makes the hasher from the canonical ids (default :class:`LocalHasher`; the Spark
    engine passes one that hashes on the cluster).

    >>> customers = pd.DataFrame({"customer_id": range(1, 9), "segment": list("AAAABBBB")})
    >>> design = {"arms": ["treatment", "control"], "n_total": 8, "strata": ["segment"],
    ...           "allocation": {"treatment": 0.5, "control": 0.5}, "phases": [], "seed": 7}
    >>> result = assign_customers(customers, design)
    >>> result.table.groupby(["stratum", "arm"], observed=True).size().tolist()
    [2, 2, 2, 2]
    """
    src = str(source) if source is not None else None
    plan = AssignmentPlan.of(design)
    salt = _check_options(plan, method, rerandomize, salt)
    customers = _with_cate_decile(apply_score(customers, plan.score, src), plan, src)
    _validate_customers(customers, plan, src)
    step = on_step or (lambda _name: None)
    warnings: list[str] = []
    ids = canonical_ids(customers[ID_COLUMN], source=src)
    codes, labels = _merge_strata(*stratum_labels(customers, plan.strata, src),
                                  plan.stratum_merges)
    roles = _roles(customers, plan, method, codes, labels, src, warnings)

    keys = (hasher or LocalHasher)(ids)
    step("hashing customer ids")
    arm_integers, entry_integers = keys.pairs(salt)
    step("drawing test entrants")
    if plan.enrolment:
        entered = _enrolled_entrants(plan, method, salt, codes, labels, roles.eligible,
                                     entry_integers, customers, src, warnings)
    else:
        entered = _entrants(plan, method, salt, codes, labels, roles.eligible, entry_integers)
        entered = _forced_entrants(customers, roles.eligible, entered, src, warnings)
    del entry_integers
    if plan.enrols_pilot:  # the pilot treats its customers who did not enter the test
        roles = replace(roles, pilot=roles.pilot & ~entered)
    entrant_rows = np.flatnonzero(entered)
    chosen, candidate_salts, worst_by_candidate = _choose_draw(
        customers, plan, method, salt, rerandomize, keys, arm_integers, codes[entrant_rows],
        labels, entrant_rows, warnings, step)
    if chosen.salt != salt:
        arm_integers = keys.integers(chosen.salt)  # u, for audit, under the chosen salt

    step("building the table")
    table = _table(customers, plan, codes, labels, roles, entered, entrant_rows, chosen,
                   arm_integers)
    step("checking balance")
    report = _report(plan, method, salt, chosen, candidate_salts, worst_by_candidate, table,
                     codes, labels, roles.pilot, roles.eligible, codes[entrant_rows], warnings,
                     rerandomize)
    return Assignment(table=table, report=report, roles=plan.roles, warnings=tuple(warnings))


def _check_options(plan: AssignmentPlan, method: str, rerandomize: int,
                   salt: str | None) -> str:
    """Check the method, the re-randomization count and the salt; returns the salt to use."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}",
                         argument="method")
    if isinstance(rerandomize, bool) or not isinstance(rerandomize, int) or rerandomize < 1:
        raise InputError(f"rerandomize must be a positive integer, got {rerandomize!r}",
                         argument="rerandomize")
    if salt is None:
        if plan.seed is None:
            raise InputError("no salt given and the design has no 'seed' to derive one from",
                             argument="salt")
        salt = str(plan.seed)
    if not isinstance(salt, str) or not salt:
        raise InputError("the salt must be a non-empty string", argument="salt")
    return salt


@dataclass(frozen=True)
class _Roles:
    """Who is a pilot target, who may enter the test, who is an expansion candidate."""

    pilot: np.ndarray
    eligible: np.ndarray
    expansion: np.ndarray


def _roles(customers: pd.DataFrame, plan: AssignmentPlan, method: str, codes: np.ndarray,
           labels: list[str], src: str | None, warnings: list[str]) -> _Roles:
    n = len(customers)
    pilot = (_flag(customers, plan.pilot_column, src) if plan.pilot_column
             else np.zeros(n, dtype=bool))
    eligible = np.ones(n, dtype=bool) if plan.enrols_pilot else ~pilot
    if plan.test_column:
        eligible &= _flag(customers, plan.test_column, src)
    expansion = (_flag(customers, plan.expansion_column, src) if plan.expansion_column
                 else np.zeros(n, dtype=bool))
    n_arms = len(plan.arms)
    eligible_per_stratum = np.bincount(codes[eligible], minlength=len(labels))
    if method == "complete":
        small = np.flatnonzero((eligible_per_stratum > 0) & (eligible_per_stratum < n_arms))
        if len(small):
            s = int(small[0])
            raise InputError(
                f"stratum {labels[s]!r} has {int(eligible_per_stratum[s])} customer(s) eligible "
                f"for the test, fewer than the {n_arms} arms; merge it with another stratum or "
                "use the hash method",
                file=src, column=",".join(plan.strata) or None)
    if plan.pilot_n is not None and plan.pilot_n != int(pilot.sum()) and not plan.enrols_pilot:
        warnings.append(f"the design expected {plan.pilot_n} pilot customers; column "
                        f"{plan.pilot_column!r} flags {int(pilot.sum())} in this list")
    n_eligible = int(eligible.sum())
    if plan.n_total > n_eligible:
        warnings.append(f"the design asks for {plan.n_total} customers in the test but only "
                        f"{n_eligible} are eligible; all of them enter")
    if n_eligible == 0:
        warnings.append("no customer is eligible for the A/B test")
    return _Roles(pilot=pilot, eligible=eligible, expansion=expansion)




def _forced_entrants(customers: pd.DataFrame, eligible: np.ndarray, entered: np.ndarray,
                     src: str | None, warnings: list[str]) -> np.ndarray:
    """Customers labelled ``randomize_in_test`` enter the test whatever their entry draw, when
    the design did not size for them (a design without an enrolment record)."""
    if RANDOMIZE_IN_TEST not in customers.columns:
        return entered
    forced = _flag(customers, RANDOMIZE_IN_TEST, src) & eligible
    added = int((forced & ~entered).sum())
    if added:
        warnings.append(f"{added} customers labelled {RANDOMIZE_IN_TEST!r} entered the test "
                        "beyond their draw (they are randomized, not scored); the test holds "
                        "that many more customers than the design's n_total")
    return entered | forced


def _enrolled_entrants(plan: AssignmentPlan, method: str, salt: str, codes: np.ndarray,
                       labels: list[str], eligible: np.ndarray, entry_integers: np.ndarray,
                       customers: pd.DataFrame, src: str | None,
                       warnings: list[str]) -> np.ndarray:
    """Entrants drawn within each enrolment group at the design's count for it (the customers
    labelled ``randomize_in_test`` for identification, the others for power)."""
    group = _flag(customers, RANDOMIZE_IN_TEST, src).astype(np.int64)
    entered = np.zeros(len(codes), dtype=bool)
    for value, count in plan.enrolment:
        in_group = eligible & (group == value)
        if count > in_group.sum():
            warnings.append(f"the design enrols {count} customers with {RANDOMIZE_IN_TEST} = "
                            f"{value} but {int(in_group.sum())} are eligible; all of them enter")
        entered |= _entrants(replace(plan, n_total=count), method, salt, codes, labels,
                             in_group, entry_integers)
    return entered


def _entrants(plan: AssignmentPlan, method: str, salt: str, codes: np.ndarray,
              labels: list[str], eligible: np.ndarray, entry_integers: np.ndarray) -> np.ndarray:
    """Which eligible customers enter the test (see the module docstring)."""
    entered = np.zeros(len(codes), dtype=bool)
    eligible_rows = np.flatnonzero(eligible)
    n_eligible = len(eligible_rows)
    if not n_eligible:
        return entered
    n_strata = len(labels)
    eligible_entry = entry_integers[eligible_rows]
    if method == "complete":
        stratum_hash = [keyed_integer(f"{salt}:stratum", label) for label in labels]
        eligible_per_stratum = np.bincount(codes[eligible], minlength=n_strata)
        quota = proportional_counts(eligible_per_stratum, min(plan.n_total, n_eligible),
                                    stratum_hash)
        ranks = _ranks_within(codes[eligible_rows], eligible_entry, n_strata)
        entered[eligible_rows] = ranks < quota[codes[eligible_rows]]
    else:
        rate = min(1.0, plan.n_total / n_eligible)
        entered[eligible_rows] = uniform_from_integers(eligible_entry) < rate
    return entered


def _choose_draw(customers: pd.DataFrame, plan: AssignmentPlan, method: str, salt: str,
                 rerandomize: int, keys: Any, arm_integers: np.ndarray,
                 entrant_codes: np.ndarray, labels: list[str], entrant_rows: np.ndarray,
                 warnings: list[str], step: Callable[[str], None],
                 ) -> tuple[_Draw, list[str], list[float | None]]:
    """Draw the arms under each candidate salt and keep the best balanced draw."""
    entrants_per_stratum = np.bincount(entrant_codes, minlength=len(labels))
    covariate_names = _numeric_covariates(customers, plan)
    covariates = (customers[covariate_names].iloc[entrant_rows]
                  .to_numpy(dtype=np.float64, na_value=np.nan)
                  if covariate_names else np.empty((len(entrant_rows), 0)))
    if rerandomize > 1 and not covariate_names:
        warnings.append("re-randomization asked for, but the customer table has no numeric "
                        "covariate to balance; the base salt is used")
    if rerandomize > 1 and method == "hash":
        warnings.append("re-randomization with hash assignment: re-run on a grown list, it may "
                        "pick another salt and move customers; keep it for lists that will not "
                        "grow")
    candidate_salts = [salt] + [f"{salt}#{k}" for k in range(1, rerandomize)]
    if not covariate_names:
        candidate_salts = candidate_salts[:1]
    chosen: _Draw | None = None
    worst_by_candidate: list[float | None] = []
    for k, arm_salt in enumerate(candidate_salts):
        step(f"drawing arms ({k + 1}/{len(candidate_salts)})")
        # Candidates after the first hash only the entrants; the chosen one is completed later.
        entrant_integers = (arm_integers[entrant_rows] if k == 0
                            else keys.integers(arm_salt, entrant_rows))
        arm_of_entrant = _draw_arms(method, plan, entrant_integers, entrant_codes,
                                    entrants_per_stratum, labels, arm_salt)
        smd = standardized_mean_differences(covariates, covariate_names, arm_of_entrant,
                                            plan.arms, plan.reference_arm)
        draw = _Draw(arm_salt, arm_of_entrant, smd, worst_abs_smd(smd))
        worst_by_candidate.append(draw.worst)
        if chosen is None or _draw_score(draw) < _draw_score(chosen):
            chosen = draw
    if chosen is None:  # pragma: no cover - there is always at least the base salt
        raise RuntimeError("no candidate draw")
    return chosen, candidate_salts, worst_by_candidate


def _table(customers: pd.DataFrame, plan: AssignmentPlan, codes: np.ndarray,
           labels: list[str], roles: _Roles, entered: np.ndarray, entrant_rows: np.ndarray,
           chosen: _Draw, arm_integers: np.ndarray) -> pd.DataFrame:
    """One row per customer: id, stratum, role (arm), phase and the audit uniform."""
    n = len(customers)
    pilot = roles.pilot
    role_codes = np.full(n, len(plan.arms) + 1, dtype=np.int64)  # not_in_test
    role_codes[pilot] = 0
    role_codes[entrant_rows] = chosen.arm_of_entrant + 1
    phase = np.full(n, PHASE_NONE, dtype=np.int8)
    phase[roles.expansion & ~pilot & ~entered] = PHASE_EXPANSION
    phase[entered] = PHASE_TEST
    phase[pilot] = PHASE_PILOT
    table = pd.DataFrame({
        ID_COLUMN: customers[ID_COLUMN].to_numpy(),
        "stratum": pd.Categorical.from_codes(codes, categories=labels),
        "arm": pd.Categorical.from_codes(role_codes, categories=list(plan.roles)),
        "phase": phase,
        "u": uniform_from_integers(arm_integers),
    })
    return _with_rules(table, customers, plan, role_codes)


def _with_rules(table: pd.DataFrame, customers: pd.DataFrame, plan: AssignmentPlan,
                role_codes: np.ndarray) -> pd.DataFrame:
    """``treat`` (whether the customer's arm's rule treats them), ``rule`` (its name) and, by
    test, ``rules_disagree`` (policy) or ``responder`` (heterogeneity)."""
    treat = np.zeros(len(table), dtype=np.int8)
    names = []
    for code, role in enumerate(plan.roles):
        column, name = plan.rule_of(role)
        names.append(name)
        rows = role_codes == code
        if column is not None:
            treat[rows] = _flag(customers, column, None)[rows]
        elif role == PILOT or (role in plan.arms and role != plan.reference_arm):
            treat[rows] = 1
    table["treat"] = treat
    table["rule"] = pd.Categorical.from_codes(role_codes, categories=names) \
        if len(set(names)) == len(names) else np.asarray(names, dtype=object)[role_codes]
    if plan.test == "policy" and plan.policy_column and plan.current_column:
        table["rules_disagree"] = (_flag(customers, plan.policy_column, None)
                                   != _flag(customers, plan.current_column, None)
                                   ).astype(np.int8)
    if plan.treat_control and plan.policy_column and plan.current_column:
        table[RULE_DIFFERENCE_COLUMN] = (
            _flag(customers, plan.policy_column, None).astype(np.int8)
            - _flag(customers, plan.current_column, None).astype(np.int8))
    if plan.test == "heterogeneity" and plan.responder_column:
        table["responder"] = _flag(customers, plan.responder_column, None).astype(np.int8)
    if plan.enrolment:  # the group each entrant's weight comes from (see the design)
        table[RANDOMIZE_IN_TEST] = _flag(customers, RANDOMIZE_IN_TEST, None).astype(np.int8)
    return table


def _draw_score(draw: _Draw) -> float:
    return math.inf if draw.worst is None else draw.worst


def _draw_arms(method: str, plan: AssignmentPlan, u_integers: np.ndarray, codes: np.ndarray,
               entrants_per_stratum: np.ndarray, labels: Sequence[str], arm_salt: str,
               ) -> np.ndarray:
    """The arm index of each entrant under one salt."""
    n_arms = len(plan.arms)
    if method == "hash":
        cumulative = np.cumsum(plan.allocation)
        cumulative[-1] = 1.0
        arm = np.searchsorted(cumulative, uniform_from_integers(u_integers), side="right")
        return np.minimum(arm, n_arms - 1).astype(np.int64)
    counts = split_by_allocation(entrants_per_stratum, plan.allocation, arm_salt)
    bounds = np.cumsum(counts, axis=1)
    ranks = _ranks_within(codes, u_integers, len(labels))
    arm = np.zeros(len(codes), dtype=np.int64)
    for a in range(n_arms - 1):
        arm += ranks >= bounds[codes, a]
    return arm


def _report(plan: AssignmentPlan, method: str, salt: str, chosen: _Draw,
            candidate_salts: Sequence[str], worst_by_candidate: list[float | None],
            table: pd.DataFrame, codes: np.ndarray, labels: Sequence[str], pilot: np.ndarray,
            eligible: np.ndarray, entrant_codes: np.ndarray, warnings: list[str],
            rerandomize: int) -> dict[str, Any]:
    n_strata, n_arms = len(labels), len(plan.arms)
    counts = np.zeros((n_strata, n_arms), dtype=np.int64)
    np.add.at(counts, (entrant_codes, chosen.arm_of_entrant), 1)
    entered = counts.sum(axis=1)
    customers = np.bincount(codes, minlength=n_strata)
    pilots = np.bincount(codes[pilot], minlength=n_strata)
    eligibles = np.bincount(codes[eligible], minlength=n_strata)
    strata_rows = []
    for s, label in enumerate(labels):
        row: dict[str, Any] = {"stratum": label, "customers": int(customers[s]),
                               "pilot": int(pilots[s]), "eligible": int(eligibles[s]),
                               "entered": int(entered[s])}
        for a, arm in enumerate(plan.arms):
            target = float(entered[s]) * plan.allocation[a]
            row[f"n_{arm}"] = int(counts[s, a])
            row[f"target_{arm}"] = target
            row[f"diff_{arm}"] = float(counts[s, a]) - target
        strata_rows.append(row)
    totals = counts.sum(axis=0)
    n_entered = int(totals.sum())
    arm_rows = [{"arm": arm, "n": int(totals[a]), "target": n_entered * plan.allocation[a],
                 "design_n": None if plan.n_per_arm is None else plan.n_per_arm[arm],
                 "share": plan.allocation[a]}
                for a, arm in enumerate(plan.arms)]
    role_counts = table["arm"].value_counts(sort=False)
    phase_counts = table["phase"].value_counts(sort=False)
    rerandomization = None
    if rerandomize > 1:
        rerandomization = {
            "candidates": len(candidate_salts),
            "criterion": "smallest worst |SMD| over numeric covariates, arms against "
                         f"{plan.reference_arm!r}",
            "candidate_salts": "the salt, then salt#1, salt#2, ...",
            "chosen_salt": chosen.salt,
            "worst_abs_smd_by_candidate": worst_by_candidate,
            "caveat": RERANDOMIZATION_CAVEAT,
        }
    return {
        "schema": ASSIGNMENT_SCHEMA,
        "method": method,
        "salt": salt,
        "arm_salt": chosen.salt,
        "hash_rule": HASH_RULE,
        "arms": list(plan.arms),
        "allocation": dict(zip(plan.arms, plan.allocation, strict=True)),
        "strata_columns": list(plan.strata),
        "customers": len(table),
        "roles": {role: int(role_counts.get(role, 0)) for role in plan.roles},
        "phases": {str(p): int(phase_counts.get(p, 0))
                   for p in (PHASE_PILOT, PHASE_TEST, PHASE_EXPANSION, PHASE_NONE)},
        "test": {"n_total_design": plan.n_total, "eligible": int(eligible.sum()),
                 "entered": n_entered, "arms": arm_rows},
        "strata": strata_rows,
        "balance": {
            "smd": chosen.smd,
            "worst_abs_smd": chosen.worst,
            "arm_by_stratum": arm_by_stratum_test(counts),
            "allocation": allocation_test(totals.tolist(), plan.allocation),
        },
        "rerandomization": rerandomization,
        "expansion_rule": plan.expansion_rule,
        "warnings": list(warnings),
    }


def output_paths(output: str | Path, csv_dir: str | Path | None,
                 roles: Sequence[str], contact_arms: Sequence[str] = ()) -> dict[str, Path]:
    """Where :func:`write_assignment` puts each file: the table, the report, one CSV per role.

    >>> sorted(p.name for p in output_paths("out/a.parquet", None, ["control"]).values())
    ['a.control.csv', 'a.parquet', 'a.report.json']
    """
    output = Path(output)
    folder = Path(csv_dir) if csv_dir is not None else output.parent
    paths = {"table": output, "report": output.with_name(f"{output.stem}.report.json")}
    for role in roles:
        paths[role] = folder / f"{output.stem}.{role}.csv"
    for arm in contact_arms:
        paths[f"{arm}.contact"] = folder / f"{output.stem}.{arm}.contact.csv"
    return paths


def write_assignment(assignment: Assignment, output: str | Path,
                     csv_dir: str | Path | None = None) -> dict[str, Path]:
    """Write the table (parquet), the report (JSON beside it) and one CSV per role.

    Each file is written atomically and byte-reproducibly; returns the paths written.

    >>> import tempfile
    >>> design = {"arms": ["treatment", "control"], "n_total": 4, "seed": 1,
    ...           "allocation": {"treatment": 0.5, "control": 0.5}}
    >>> result = assign_customers(pd.DataFrame({"customer_id": [1, 2, 3, 4]}), design)
    >>> paths = write_assignment(result, Path(tempfile.mkdtemp()) / "assignment.parquet")
    >>> pd.read_csv(paths["treatment"])["arm"].tolist()
    ['treatment', 'treatment']
    """
    output = Path(output)
    if output.suffix.lower() not in {".parquet", ".pq"}:
        raise InputError("the output must be a .parquet file", file=output)
    if output.is_dir():
        raise InputError("the output is a folder; give a file name", file=output)
    arms = [r for r in assignment.roles if r not in RESERVED_ROLES]
    paths = output_paths(output, csv_dir, assignment.roles, arms)
    for folder in {paths["table"].parent, paths[assignment.roles[0]].parent}:
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise InputError("cannot write here: this path is a file, not a folder",
                             file=existing)
    try:
        # one set: the lists and the report land first, the table last (present = complete)
        with output_set(paths["table"]):
            write_parquet(paths["table"], assignment.table,
                          metadata={"schema": ASSIGNMENT_SCHEMA,
                                    "method": assignment.report["method"],
                                    "salt": assignment.report["salt"],
                                    "arm_salt": assignment.report["arm_salt"]})
            for role in assignment.roles:
                write_csv(paths[role], assignment.role_list(role))
            for arm in arms:
                write_csv(paths[f"{arm}.contact"], assignment.contact_list(arm))
            write_json(paths["report"], assignment.report)
    except OSError as exc:
        raise InputError(f"cannot write the assignment: {exc}", file=output) from exc
    return paths
