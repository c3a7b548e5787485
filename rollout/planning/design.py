"""The ``design.json`` document: one versioned schema, validated on every read.

``rollout design`` writes it; ``assign``, ``interim`` and ``evaluate`` read it through
:func:`load_design`, so a hand-edited or truncated file fails with an :class:`InputError` naming
the field at fault instead of a ``KeyError`` deep inside another stage. The schema is documented
field by field in ``docs/design-schema.md``. The document carries no timestamp: the same inputs
and seed give the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rollout.errors import InputError
from rollout.io import read_text, to_json_text, write_json

DESIGN_SCHEMA = "rollout.design/1"
TESTS = ("ate", "policy", "heterogeneity")
LOOK_FIELDS = (
    "information_fraction",
    "n_per_arm",
    "efficacy_z",
    "futility_z",
    "harm_z",
    "alpha_spent",
    "efficacy_effect",
    "futility_effect",
    "harm_effect",
)
ALLOCATION_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Design:
    """A validated A/B design, attribute for attribute the fields of ``design.json``.

    Fields are also readable like a mapping (``design["n_per_arm"]``) so that code written
    against the plain JSON document works unchanged. Build one with
    :func:`rollout.planning.plan.plan_design`, read one with :func:`load_design`.
    """

    test: str
    outcome: str | None
    arms: list[str]
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
    strata: list[str]
    strata_sizes: list[dict[str, Any]] | None
    looks: list[dict[str, Any]]
    spending: dict[str, Any]
    max_inflation: float
    phases: list[dict[str, Any]]
    cost: float | None
    margin: float | None
    seed: int
    created_by: str
    schema: str = DESIGN_SCHEMA
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """Mapping-style access with a default, like ``dict.get``."""
        try:
            return self[key]
        except KeyError:
            return default

    @property
    def control_arm(self) -> str:
        """The arm every treatment arm is compared with (always named ``control``)."""
        return "control"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (plain types, schema version first in meaning, sorted on write)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], source: str | Path | None = None) -> Design:
        """Validate a JSON document and build a :class:`Design`; raises :class:`InputError`."""
        validate_design(document, source=source)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in document.items() if k in known})


def _fail(source: str | Path | None, name: str, message: str) -> InputError:
    return InputError(f"field {name!r}: {message}", file=source)


def _number(doc: Mapping[str, Any], name: str, source: str | Path | None,
            nullable: bool = False) -> float | None:
    value = doc[name]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(source, name, f"must be a finite number, got {value!r}")
    return float(value)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def validate_design(document: Mapping[str, Any], source: str | Path | None = None) -> None:
    """Raise :class:`InputError` naming the first field of ``document`` that breaks the schema.

    >>> validate_design({"schema": "rollout.design/0"})
    Traceback (most recent call last):
    ...
    rollout.errors.InputError: field 'schema': expected 'rollout.design/1', got 'rollout.design/0'
    """
    if not isinstance(document, Mapping):
        raise InputError("a design must be a JSON object", file=source)
    schema = document.get("schema")
    if schema != DESIGN_SCHEMA:
        raise _fail(source, "schema", f"expected {DESIGN_SCHEMA!r}, got {schema!r}")
    required = [f.name for f in fields(Design) if f.name not in {"schema", "details"}]
    for name in required:
        if name not in document:
            raise _fail(source, name, "missing")

    if document["test"] not in TESTS:
        raise _fail(source, "test", f"must be one of {', '.join(TESTS)}, got {document['test']!r}")
    if document["outcome"] is not None and not isinstance(document["outcome"], str):
        raise _fail(source, "outcome", "must be a column name or null")

    arms = document["arms"]
    if (not isinstance(arms, list) or len(arms) < 2
            or not all(isinstance(a, str) and a for a in arms) or len(set(arms)) != len(arms)):
        raise _fail(source, "arms", "must be a list of at least two distinct arm names")
    if "control" not in arms:
        raise _fail(source, "arms", "must include 'control'")

    allocation = document["allocation"]
    if not isinstance(allocation, Mapping) or set(allocation) != set(arms):
        raise _fail(source, "allocation", f"must give a fraction for each arm {arms}")
    for arm, share in allocation.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
            raise _fail(source, "allocation", f"arm {arm!r}: fraction must be in (0, 1)")
    if abs(sum(allocation.values()) - 1.0) > ALLOCATION_TOLERANCE:
        raise _fail(source, "allocation", f"fractions sum to {sum(allocation.values())}, not 1")

    for name in ("n_per_arm", "n_per_arm_unadjusted"):
        sizes = document[name]
        if not isinstance(sizes, Mapping) or set(sizes) != set(arms):
            raise _fail(source, name, f"must give a size for each arm {arms}")
        for arm, n in sizes.items():
            if not _positive_int(n):
                raise _fail(source, name, f"arm {arm!r}: must be a positive integer, got {n!r}")
    if not _positive_int(document["n_total"]):
        raise _fail(source, "n_total", "must be a positive integer")
    if document["n_total"] != sum(document["n_per_arm"].values()):
        raise _fail(source, "n_total", "must equal the sum of n_per_arm")

    alpha = _number(document, "alpha", source)
    if not 0 < alpha < 0.5:
        raise _fail(source, "alpha", f"must be in (0, 0.5), got {alpha}")
    power = _number(document, "power", source)
    if not 0 < power < 1:
        raise _fail(source, "power", f"must be in (0, 1), got {power}")
    if document["sided"] not in (1, 2) or isinstance(document["sided"], bool):
        raise _fail(source, "sided", f"must be 1 or 2, got {document['sided']!r}")
    if _number(document, "mde", source) <= 0:
        raise _fail(source, "mde", "must be positive")
    if not isinstance(document["mde_source"], str) or not document["mde_source"]:
        raise _fail(source, "mde_source", "must say where the MDE came from")
    if _number(document, "sd", source) <= 0:
        raise _fail(source, "sd", "must be positive")
    r2 = _number(document, "r2", source, nullable=True)
    if r2 is not None and not 0 <= r2 < 1:
        raise _fail(source, "r2", f"must be in [0, 1) or null, got {r2}")

    strata = document["strata"]
    if not isinstance(strata, list) or not all(isinstance(c, str) and c for c in strata):
        raise _fail(source, "strata", "must be a list of column names (possibly empty)")
    sizes = document["strata_sizes"]
    if sizes is not None and (not isinstance(sizes, list)
                              or not all(isinstance(r, Mapping) for r in sizes)):
        raise _fail(source, "strata_sizes", "must be a list of records or null")

    looks = document["looks"]
    if not isinstance(looks, list) or not looks:
        raise _fail(source, "looks", "must be a non-empty list of records")
    previous = 0.0
    for i, look in enumerate(looks):
        if not isinstance(look, Mapping):
            raise _fail(source, "looks", f"look {i + 1} must be a record")
        for key in LOOK_FIELDS:
            if key not in look:
                raise _fail(source, "looks", f"look {i + 1} is missing {key!r}")
        fraction = look["information_fraction"]
        if not isinstance(fraction, (int, float)) or not previous < fraction <= 1:
            raise _fail(source, "looks", f"look {i + 1}: information fractions must increase "
                                         "within (0, 1]")
        previous = float(fraction)
    if abs(previous - 1.0) > 1e-12:
        raise _fail(source, "looks", "the last look must be at information fraction 1")

    if not isinstance(document["spending"], Mapping):
        raise _fail(source, "spending", "must be a record")
    if _number(document, "max_inflation", source) < 1 - 1e-9:
        raise _fail(source, "max_inflation", "must be at least 1")

    phases = document["phases"]
    if not isinstance(phases, list) or not all(isinstance(p, Mapping) for p in phases):
        raise _fail(source, "phases", "must be a list of records")
    for i, phase in enumerate(phases):
        for key in ("phase", "name"):
            if key not in phase:
                raise _fail(source, "phases", f"phase record {i + 1} is missing {key!r}")

    for name in ("cost", "margin"):
        _number(document, name, source, nullable=True)
    if isinstance(document["seed"], bool) or not isinstance(document["seed"], int):
        raise _fail(source, "seed", "must be an integer")
    if not isinstance(document["created_by"], str):
        raise _fail(source, "created_by", "must be a string")


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
    """Validate and write ``design.json`` atomically and byte-reproducibly."""
    document = json.loads(to_json_text(design.to_dict()))
    validate_design(document, source=path)
    return write_json(path, document)
