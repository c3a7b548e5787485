"""The ``design.json`` document, read once into typed parts and validated on every read.

``rollout design`` writes it; ``assign``, ``interim`` and ``evaluate`` read it through
:func:`load_design`, so a hand-edited or truncated file fails with an :class:`InputError` naming
the field at fault instead of a ``KeyError`` (or a ``TypeError``) deep inside another stage. The
schema is documented field by field in ``docs/design-schema.md``. The document carries no
timestamp: the same inputs and seed give the same bytes.

A :class:`Design` is built from typed, frozen parts: the looks (:class:`Look`), the spending plan
(:class:`~rollout.planning.sequential.SpendingPlan`, which also recomputes boundaries at the
information actually reached), the staged rollout (:class:`Phase`), the expected stratum sizes
(:class:`StratumSize`) and the test's estimand (:attr:`Design.estimand`). Parsing a document
into these parts *is* the validation: there is no second validator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from rollout.common.display import DisplayMixin, plain
from rollout.errors import InputError
from rollout.io import read_text, to_json_text, write_json
from rollout.planning.fields import Source, field_error, is_int, is_number, number
from rollout.planning.sequential import SpendingPlan

DESIGN_SCHEMA = "rollout.design/1"
TESTS = ("ate", "policy", "heterogeneity")
#: A policy test's randomizations, the default (a design without the field) first.
POLICY_RANDOMIZATIONS = ("policy_vs_policy", "treat_control")
#: How far the allocation fractions may sum away from 1.
ALLOCATION_TOLERANCE = 1e-9
#: Arm names reserved for customers outside the randomized test (see assignment).
RESERVED_ROLES = ("pilot_target", "not_in_test")
ID_COLUMN = "customer_id"
PHASE_PILOT, PHASE_TEST, PHASE_EXPANSION = 1, 2, 3


def check_arms(arms: Any, source: Source) -> tuple[str, ...]:
    """At least two distinct, non-empty arm names, none of them a reserved role."""
    if (not isinstance(arms, list | tuple) or len(arms) < 2
            or not all(isinstance(a, str) and a for a in arms) or len(set(arms)) != len(arms)):
        raise field_error(source, "arms", "must be a list of at least two distinct arm names")
    clash = set(RESERVED_ROLES) & set(arms)
    if clash:
        raise field_error(source, "arms", f"{sorted(clash)[0]!r} is reserved for customers "
                                          "outside the randomized test")
    return tuple(arms)


def check_allocation(allocation: Any, arms: tuple[str, ...], source: Source) -> dict[str, float]:
    """A fraction in (0, 1) for each arm, summing to 1; returned in the order of ``arms``."""
    if not isinstance(allocation, Mapping) or set(allocation) != set(arms):
        given = sorted(allocation) if isinstance(allocation, Mapping) else allocation
        raise field_error(source, "allocation",
                          f"must give a fraction for each arm {list(arms)}, got {given!r}")
    for arm in arms:
        share = allocation[arm]
        if not is_number(share) or not 0 < share < 1:
            raise field_error(source, "allocation",
                              f"arm {arm!r}: fraction must be in (0, 1), got {share!r}")
    total = math.fsum(float(allocation[a]) for a in arms)
    if abs(total - 1.0) > ALLOCATION_TOLERANCE:
        raise field_error(source, "allocation", f"fractions sum to {total!r}, not 1")
    return {arm: allocation[arm] for arm in arms}


def check_sizes(sizes: Any, arms: tuple[str, ...], source: Source, name: str) -> dict[str, int]:
    """A positive integer for each arm."""
    if not isinstance(sizes, Mapping) or set(sizes) != set(arms):
        raise field_error(source, name, f"must give a size for each arm {list(arms)}")
    for arm in arms:
        if not is_int(sizes[arm]) or sizes[arm] <= 0:
            raise field_error(source, name, f"arm {arm!r}: must be a positive integer, got "
                                            f"{sizes[arm]!r}")
    return dict(sizes)


def check_strata(strata: Any, source: Source) -> tuple[str, ...]:
    """Distinct stratum column names (possibly none), never the customer id."""
    if (not isinstance(strata, list | tuple) or not all(isinstance(c, str) and c for c in strata)
            or len(set(strata)) != len(strata)):
        raise field_error(source, "strata", "must be a list of distinct column names "
                                            "(possibly empty)")
    if ID_COLUMN in strata:
        raise field_error(source, "strata", f"cannot stratify on {ID_COLUMN!r}")
    return tuple(strata)


@dataclass(frozen=True)
class Look(DisplayMixin):
    """One analysis of the test: where it falls and its boundaries (z and effect scale)."""

    look: int
    information_fraction: float
    n_per_arm: dict[str, int]
    efficacy_z: float
    futility_z: float | None
    harm_z: float
    alpha_spent: float
    efficacy_effect: float | None
    futility_effect: float | None
    harm_effect: float | None

    @classmethod
    def from_record(cls, record: Any, index: int, arms: tuple[str, ...],
                    source: Source) -> Look:
        """Validate one ``looks[]`` record (``index`` counts from 0)."""
        where = f"look {index + 1}"
        if not isinstance(record, Mapping):
            raise field_error(source, "looks", f"{where} must be a record")
        for f in fields(cls):
            if f.name not in record:
                raise field_error(source, "looks", f"{where} is missing {f.name!r}")
        if record["look"] != index + 1 or not is_int(record["look"]):
            raise field_error(source, "looks", f"{where}: 'look' must be {index + 1}")
        values: dict[str, Any] = {"look": index + 1, "n_per_arm": check_sizes(
            record["n_per_arm"], arms, source, f"looks[{index}].n_per_arm")}
        for name in ("information_fraction", "efficacy_z", "harm_z", "alpha_spent"):
            values[name] = number(record[name], source, f"looks[{index}].{name}")
        for name in ("futility_z", "efficacy_effect", "futility_effect", "harm_effect"):
            values[name] = number(record[name], source, f"looks[{index}].{name}", nullable=True)
        return cls(**values)


def parse_looks(records: Any, arms: tuple[str, ...], source: Source) -> tuple[Look, ...]:
    """The looks, information fractions strictly increasing in (0, 1], the last at 1."""
    if not isinstance(records, list | tuple) or not records:
        raise field_error(source, "looks", "must be a non-empty list of records")
    looks = tuple(Look.from_record(r, i, arms, source) for i, r in enumerate(records))
    previous = 0.0
    for look in looks:
        if not previous < look.information_fraction <= 1:
            raise field_error(source, "looks", f"look {look.look}: information fractions must "
                                               "increase within (0, 1]")
        previous = look.information_fraction
    if abs(previous - 1.0) > 1e-12:
        raise field_error(source, "looks", "the last look must be at information fraction 1")
    return looks


@dataclass(frozen=True)
class Phase(DisplayMixin):
    """One phase of the staged rollout.

    The fields other stages act on are typed (``select_column``: the 0/1 column that selects
    the phase's customers; ``n``; the expansion ``rule``); the rest of the record (money, weeks,
    descriptions: ``docs/design-schema.md``) is for people and kept in ``record`` as written.
    """

    phase: int
    name: str
    select_column: str | None
    n: int | None
    rule: str | None
    record: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_record(cls, record: Any, index: int, source: Source) -> Phase:
        if not isinstance(record, Mapping):
            raise field_error(source, "phases", f"phase record {index + 1} must be a record")
        for key in ("phase", "name"):
            if key not in record:
                raise field_error(source, "phases", f"phase record {index + 1} is missing "
                                                    f"{key!r}")
        number_ = record["phase"]
        if not is_int(number_):
            raise field_error(source, "phases", f"record {index + 1}: 'phase' must be an "
                                                "integer")
        if not isinstance(record["name"], str):
            raise field_error(source, "phases", f"phase {number_}: 'name' must be text")
        for key, value in record.items():
            _check_phase_field(number_, key, value, source)
        role = record.get("role")
        if role is not None and number_ in PHASE_ROLES and role != PHASE_ROLES[number_]:
            raise field_error(source, "phases", f"phase {number_}: 'role' must be "
                                                f"{PHASE_ROLES[number_]!r}, got {role!r}")
        column, n, rule = record.get("select_column"), record.get("n"), record.get("rule")
        return cls(phase=number_, name=str(record["name"]), select_column=column, n=n,
                   rule=rule, record=dict(record))

    def to_dict(self) -> dict[str, Any]:
        return plain(dict(self.record))


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _optional(check: Any) -> Any:
    return lambda value: value is None or check(value)


#: The documented fields of a phase record and what each must hold (docs/design-schema.md).
PHASE_FIELDS: dict[str, tuple[Any, str]] = {
    "role": (_text, "text"),
    "select_column": (_optional(lambda v: _text(v) and bool(v)), "a column name or null"),
    "n": (_optional(is_int), "an integer or null"),
    "rule": (_text, "text"),
    "description": (_text, "text"),
    "profit_basis": (_text, "text"),
    "predicted_profit": (_optional(is_number), "a number or null"),
    "expected_effect": (_optional(is_number), "a number or null"),
    "expected_effect_source": (_text, "text"),
    "expected_profit": (_optional(is_number), "a number or null"),
    "control_opportunity_cost": (_optional(is_number), "a number or null"),
    "campaign_weeks": (lambda v: is_int(v) and v >= 1, "a whole number of weeks"),
    "outcome_weeks": (lambda v: is_int(v) and v >= 1, "a whole number of weeks"),
    "duration_weeks": (lambda v: is_int(v) and v >= 1, "a whole number of weeks"),
    "n_per_arm": (lambda v: isinstance(v, Mapping) and all(is_int(n) for n in v.values()),
                  "a record of integers per arm"),
    "strata": (lambda v: isinstance(v, list) and all(_text(c) for c in v),
               "a list of column names"),
    "arm_policies": (lambda v: isinstance(v, Mapping) and all(_text(t) for t in v.values()),
                     "a record of text per arm"),
}
PHASE_ROLES = {PHASE_PILOT: "pilot_target", PHASE_TEST: "ab_test",
               PHASE_EXPANSION: "expansion_target"}


def _check_phase_field(number_: int, key: str, value: Any, source: Source) -> None:
    """A documented phase field must hold what the schema says; other keys are for people."""
    if key not in PHASE_FIELDS:
        return
    check, expected = PHASE_FIELDS[key]
    if not check(value):
        raise field_error(source, "phases", f"phase {number_}: {key!r} must be {expected}, "
                                            f"got {value!r}")


def parse_phases(records: Any, source: Source) -> tuple[Phase, ...]:
    if not isinstance(records, list | tuple):
        raise field_error(source, "phases", "must be a list of records")
    phases = tuple(Phase.from_record(r, i, source) for i, r in enumerate(records))
    numbers = [p.phase for p in phases]
    duplicated = next((n for n in numbers if numbers.count(n) > 1), None)
    if duplicated is not None:
        raise field_error(source, "phases", f"phase {duplicated} appears twice")
    return phases


@dataclass(frozen=True)
class StratumSize(DisplayMixin):
    """Expected customers in one stratum (``values``: the stratum columns' values) and arm."""

    values: dict[str, Any]
    customers: int
    share: float
    expected_n: float
    expected_per_arm: dict[str, float]
    too_small: bool

    @classmethod
    def from_record(cls, record: Any, strata: tuple[str, ...], index: int,
                    source: Source) -> StratumSize:
        name = f"strata_sizes[{index}]"
        if not isinstance(record, Mapping):
            raise field_error(source, "strata_sizes", "must be a list of records or null")
        missing = [k for k in (*strata, "customers", "share", "expected_n", "expected_per_arm",
                               "too_small") if k not in record]
        if missing:
            raise field_error(source, name, f"missing {missing[0]!r}")
        if not is_int(record["customers"]) or not isinstance(record["too_small"], bool):
            raise field_error(source, name, "'customers' must be an integer and 'too_small' "
                                            "true or false")
        per_arm = record["expected_per_arm"]
        if not isinstance(per_arm, Mapping) or not all(is_number(v) for v in per_arm.values()):
            raise field_error(source, name, "'expected_per_arm' must give a number per arm")
        return cls(values={c: record[c] for c in strata}, customers=record["customers"],
                   share=number(record["share"], source, f"{name}.share"),
                   expected_n=number(record["expected_n"], source, f"{name}.expected_n"),
                   expected_per_arm=dict(per_arm), too_small=record["too_small"])

    def to_dict(self) -> dict[str, Any]:
        return plain({**self.values, "customers": self.customers, "share": self.share,
                      "expected_n": self.expected_n, "expected_per_arm": self.expected_per_arm,
                      "too_small": self.too_small})


@dataclass(frozen=True)
class TestEstimand(DisplayMixin):
    """What the test estimates: which test, its MDE (and where it came from), on which scale."""

    __test__ = False  # not a pytest test class

    test: str
    mde: float
    mde_source: str
    scale: str | None


@dataclass(frozen=True)
class Design(DisplayMixin):
    """A validated A/B design: the fields of ``design.json``, the structured ones typed.

    Build one with :func:`rollout.planning.plan.plan_design`, read one with :func:`load_design`.
    ``details`` is free-form (for people); everything else is checked against the schema.
    """

    test: str
    outcome: str | None
    arms: tuple[str, ...]
    allocation: dict[str, float]
    n_per_arm: dict[str, int]
    n_total: int
    alpha: float
    power: float
    sided: int
    mde: float
    mde_source: str
    sd: float
    r2: float | None
    n_per_arm_unadjusted: dict[str, int]
    strata: tuple[str, ...]
    strata_sizes: tuple[StratumSize, ...] | None
    looks: tuple[Look, ...]
    spending: SpendingPlan
    max_inflation: float
    phases: tuple[Phase, ...]
    cost: float | None
    margin: float | None
    seed: int
    created_by: str
    schema: str = DESIGN_SCHEMA
    details: dict[str, Any] = field(default_factory=dict)
    #: How a policy test randomized: ``policy_vs_policy`` or ``treat_control`` (``None`` for
    #: the other tests; a policy design written without the field is ``policy_vs_policy``).
    policy_randomization: str | None = None

    @property
    def control_arm(self) -> str:
        """The arm every treatment arm is compared with (always named ``control``)."""
        return "control"

    @property
    def information_fractions(self) -> list[float]:
        """The planned information fraction of each look."""
        return [look.information_fraction for look in self.looks]

    @property
    def estimand(self) -> TestEstimand:
        """The test's estimand: the test, its MDE and source, the scale of the effect."""
        estimand = self.details.get("estimand")
        scale = estimand.get("scale") if isinstance(estimand, Mapping) else None
        return TestEstimand(test=self.test, mde=self.mde, mde_source=self.mde_source,
                            scale=scale)

    def phase(self, number: int) -> Phase | None:
        """The phase record with this number (1 pilot, 2 A/B test, 3 expansion), if any."""
        return next((p for p in self.phases if p.phase == number), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``design.json`` (plain types; keys are sorted on write)."""
        document = {f.name: getattr(self, f.name) for f in fields(self)}
        document["arms"] = list(self.arms)
        document["strata"] = list(self.strata)
        document["strata_sizes"] = (None if self.strata_sizes is None
                                    else [s.to_dict() for s in self.strata_sizes])
        document["looks"] = [look.to_dict() for look in self.looks]
        document["spending"] = self.spending.to_dict()
        document["phases"] = [p.to_dict() for p in self.phases]
        if self.policy_randomization is None:  # the other tests' documents stay as they were
            del document["policy_randomization"]
        return plain(document)

    def to_pandas(self) -> pd.DataFrame:
        """The looks as a table: fraction, n per arm and boundaries of each analysis."""
        return pd.DataFrame([look.to_dict() for look in self.looks])

    def summary(self) -> pd.DataFrame:
        """One row: the test, its size, MDE, power, alpha and number of looks."""
        return pd.DataFrame([{"test": self.test, "outcome": self.outcome,
                              "n_total": self.n_total, "mde": self.mde,
                              "mde_source": self.mde_source, "power": self.power,
                              "alpha": self.alpha, "sided": self.sided, "sd": self.sd,
                              "r2": self.r2, "looks": len(self.looks),
                              "max_inflation": self.max_inflation}])

    @classmethod
    def from_dict(cls, document: Any, source: Source = None) -> Design:
        """Validate a JSON document and build a :class:`Design`; raises :class:`InputError`."""
        return _DocumentReader(document, source).design()


class _DocumentReader:
    """Reads a design document field by field, raising on the first field that is wrong."""

    def __init__(self, document: Any, source: Source) -> None:
        if not isinstance(document, Mapping):
            raise InputError("a design must be a JSON object", file=source)
        self.doc, self.source = document, source

    def _fail(self, name: str, message: str) -> InputError:
        return field_error(self.source, name, message)

    def _number(self, name: str, nullable: bool = False) -> float | None:
        return number(self.doc[name], self.source, name, nullable)

    def _in(self, name: str, low: float, high: float, message: str) -> float:
        value = self._number(name)
        if not low < value < high:
            raise self._fail(name, f"{message}, got {value}")
        return value

    def design(self) -> Design:
        self._header()
        arms = check_arms(self.doc["arms"], self.source)
        if "control" not in arms:
            raise self._fail("arms", "must include 'control'")
        sizes = self._sizes(arms)
        strata = check_strata(self.doc["strata"], self.source)
        looks = parse_looks(self.doc["looks"], arms, self.source)
        spending = SpendingPlan.from_record(self.doc["spending"], self.source)
        if len(looks) > 1 and not spending.sequential:
            raise self._fail("spending", f"{len(looks)} looks need a spending function "
                                         "(efficacy obf or pocock), not a single analysis")
        return Design(
            schema=DESIGN_SCHEMA, test=self.doc["test"], outcome=self.doc["outcome"], arms=arms,
            allocation=check_allocation(self.doc["allocation"], arms, self.source),
            **sizes, **self._sizing(), strata=strata,
            strata_sizes=self._strata_sizes(strata),
            looks=looks, spending=spending,
            max_inflation=self._max_inflation(), phases=parse_phases(self.doc["phases"],
                                                                     self.source),
            **self._money_and_provenance(), details=self._details(),
            policy_randomization=self._policy_randomization())

    def _policy_randomization(self) -> str | None:
        """A policy test's randomization; absent (a design written before it was a choice)
        means policy against policy. Other tests have none."""
        value = self.doc.get("policy_randomization")
        if self.doc["test"] != "policy":
            if value is not None:
                raise self._fail("policy_randomization", f"applies to the policy test only, "
                                                         f"got {value!r}")
            return None
        if value is None:
            return POLICY_RANDOMIZATIONS[0]
        if value not in POLICY_RANDOMIZATIONS:
            raise self._fail("policy_randomization", f"must be one of "
                                                     f"{', '.join(POLICY_RANDOMIZATIONS)}, got "
                                                     f"{value!r}")
        return str(value)

    def _header(self) -> None:
        schema = self.doc.get("schema")
        if schema != DESIGN_SCHEMA:
            raise self._fail("schema", f"expected {DESIGN_SCHEMA!r}, got {schema!r}")
        for f in fields(Design):
            if f.name not in {"schema", "details", "policy_randomization"} \
                    and f.name not in self.doc:
                raise self._fail(f.name, "missing")
        if self.doc["test"] not in TESTS:
            raise self._fail("test", f"must be one of {', '.join(TESTS)}, got "
                                     f"{self.doc['test']!r}")
        if self.doc["outcome"] is not None and not isinstance(self.doc["outcome"], str):
            raise self._fail("outcome", "must be a column name or null")

    def _sizes(self, arms: tuple[str, ...]) -> dict[str, Any]:
        n_per_arm = check_sizes(self.doc["n_per_arm"], arms, self.source, "n_per_arm")
        unadjusted = check_sizes(self.doc["n_per_arm_unadjusted"], arms, self.source,
                                 "n_per_arm_unadjusted")
        n_total = self.doc["n_total"]
        if not is_int(n_total) or n_total <= 0:
            raise self._fail("n_total", "must be a positive integer")
        if n_total != sum(n_per_arm.values()):
            raise self._fail("n_total", "must equal the sum of n_per_arm")
        return {"n_per_arm": n_per_arm, "n_per_arm_unadjusted": unadjusted, "n_total": n_total}

    def _sizing(self) -> dict[str, Any]:
        sided = self.doc["sided"]
        if sided not in (1, 2) or isinstance(sided, bool):
            raise self._fail("sided", f"must be 1 or 2, got {sided!r}")
        if self._number("mde") <= 0:
            raise self._fail("mde", "must be positive")
        if not isinstance(self.doc["mde_source"], str) or not self.doc["mde_source"]:
            raise self._fail("mde_source", "must say where the MDE came from")
        if self._number("sd") <= 0:
            raise self._fail("sd", "must be positive")
        r2 = self._number("r2", nullable=True)
        if r2 is not None and not 0 <= r2 < 1:
            raise self._fail("r2", f"must be in [0, 1) or null, got {r2}")
        self._in("alpha", 0, 0.5, "must be in (0, 0.5)")
        self._in("power", 0, 1, "must be in (0, 1)")
        return {"alpha": float(self.doc["alpha"]), "power": float(self.doc["power"]),
                "sided": sided, "mde": float(self.doc["mde"]),
                "mde_source": self.doc["mde_source"], "sd": float(self.doc["sd"]), "r2": r2}

    def _strata_sizes(self, strata: tuple[str, ...]) -> tuple[StratumSize, ...] | None:
        records = self.doc["strata_sizes"]
        if records is None:
            return None
        if not isinstance(records, list | tuple):
            raise self._fail("strata_sizes", "must be a list of records or null")
        return tuple(StratumSize.from_record(r, strata, i, self.source)
                     for i, r in enumerate(records))

    def _max_inflation(self) -> float:
        if self._number("max_inflation") < 1 - 1e-9:
            raise self._fail("max_inflation", "must be at least 1")
        return float(self.doc["max_inflation"])

    def _money_and_provenance(self) -> dict[str, Any]:
        cost, margin = self._number("cost", nullable=True), self._number("margin", nullable=True)
        if not is_int(self.doc["seed"]):
            raise self._fail("seed", "must be an integer")
        if not isinstance(self.doc["created_by"], str):
            raise self._fail("created_by", "must be a string")
        return {"cost": cost, "margin": margin,
                "seed": self.doc["seed"], "created_by": self.doc["created_by"]}

    def _details(self) -> dict[str, Any]:
        details = self.doc.get("details", {})
        if not isinstance(details, Mapping):
            raise self._fail("details", "must be a record")
        return dict(details)


def validate_design(document: Any, source: Source = None) -> None:
    """Raise :class:`InputError` naming the first field of ``document`` that breaks the schema.

    The same check as :meth:`Design.from_dict` (which this calls), for callers that only hold
    the plain document.

    >>> validate_design({"schema": "rollout.design/0"})
    Traceback (most recent call last):
    ...
    rollout.errors.InputError: field 'schema': expected 'rollout.design/1', got 'rollout.design/0'
    """
    Design.from_dict(document, source=source)


def load_design(path: str | Path) -> Design:
    """Read and validate ``design.json``; raises :class:`InputError` naming the field at fault.

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "design.json"
    >>> _ = bad.write_text('{"schema": "rollout.design/1", "test": "ate"}')
    >>> load_design(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rollout.errors.InputError: ...design.json: field 'outcome': missing
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file does not exist", file=path)
    if path.is_dir():
        raise InputError("expected a design.json file, got a folder", file=path)
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"not a readable JSON document: {exc}", file=path) from exc
    return Design.from_dict(document, source=path)


def save_design(path: str | Path, design: Design) -> Path:
    """Write ``design.json`` atomically and byte-reproducibly (the document read back must load).

    A :class:`Design` is valid by construction; the written document is read back through the
    one validator so that a design assembled by hand cannot write a file ``load_design`` refuses.
    """
    document = json.loads(to_json_text(design.to_dict()))
    Design.from_dict(document, source=path)
    return write_json(path, document)
