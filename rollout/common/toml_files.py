"""TOML files of the package: the bundled ``scenarios/`` folder and typed access to a table.

Worlds (``rollout.simulation``) and the breakeven grid (``rollout.policy``) are both TOML files in
``rollout/scenarios/``; both read them through :class:`TomlTable`, whose errors name the file and
the dotted field, and which rejects any field nobody asked for.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from rollout.errors import InputError

#: The kind of a world scenario file (the default of :func:`list_scenarios`).
WORLD_KIND = "world"


def bundled_scenario_dir() -> Path:
    """The folder of scenario files shipped with the package."""
    return Path(str(resources.files("rollout") / "scenarios"))


def list_scenarios(kind: str = WORLD_KIND) -> list[str]:
    """Names of the bundled scenario files of one ``kind`` (worlds by default), sorted.

    >>> "overlap_violation" in list_scenarios()
    True
    """
    names = []
    for path in sorted(bundled_scenario_dir().glob("*.toml")):
        if read_toml(path).get("kind") == kind:
            names.append(path.stem)
    return names


def resolve_scenario_path(path_or_name: str | Path) -> Path:
    """A path to a file, or a bare name such as ``overlap_violation`` for a bundled file."""
    path = Path(path_or_name)
    if path.exists():
        return path
    text = str(path_or_name)
    if "/" not in text and "\\" not in text:
        bundled = bundled_scenario_dir() / (text if text.endswith(".toml") else f"{text}.toml")
        if bundled.exists():
            return bundled
        known = ", ".join(list_scenarios())
        raise InputError(f"no such scenario file or bundled scenario (bundled: {known})",
                         file=text)
    raise InputError("scenario file does not exist", file=text)


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; an unreadable or invalid file raises :class:`InputError`."""
    from rollout.io import read_text  # UTF-8 (with or without BOM) or a located refusal

    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=path) from exc


def check_identifier(name: str, where: str, file: str | None,
                     reserved: Collection[str] = ()) -> None:
    """Refuse a name that is not a plain column name, or one of ``reserved``."""
    if not name.isidentifier() or name.startswith("_"):
        raise InputError(f"field {where!r}: {name!r} is not a valid column name "
                         "(letters, digits and underscores, not starting with _)", file=file)
    if name in reserved:
        raise InputError(f"field {where!r}: {name!r} is a reserved name", file=file)


class TomlTable:
    """Typed access to one TOML table, with errors that name the file and the dotted field."""

    def __init__(self, doc: Mapping[str, Any], where: str, file: str | None) -> None:
        self.doc = doc
        self.where = where
        self.file = file
        self.seen: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, message: str) -> InputError:
        return InputError(f"field {self.path(key)!r}: {message}", file=self.file)

    def has(self, key: str) -> bool:
        return key in self.doc

    def raw(self, key: str, required: bool = True, default: Any = None) -> Any:
        self.seen.add(key)
        if key not in self.doc:
            if required:
                raise self.fail(key, "missing required field")
            return default
        return self.doc[key]

    def number(self, key: str, required: bool = True, default: float | None = None,
               low: float | None = None, high: float | None = None,
               low_open: bool = False) -> float | None:
        value = self.raw(key, required, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {type(value).__name__} {value!r}")
        value = float(value)
        if low is not None and (value < low or (low_open and value == low)):
            bound = f"> {low}" if low_open else f">= {low}"
            raise self.fail(key, f"must be {bound}, got {value}")
        if high is not None and value > high:
            raise self.fail(key, f"must be <= {high}, got {value}")
        return value

    def integer(self, key: str, required: bool = True, default: int | None = None,
                low: int | None = None) -> int | None:
        value = self.raw(key, required, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {type(value).__name__} {value!r}")
        if low is not None and value < low:
            raise self.fail(key, f"must be >= {low}, got {value}")
        return int(value)

    def text(self, key: str, required: bool = True, default: str | None = None,
             choices: tuple[str, ...] | None = None) -> str | None:
        value = self.raw(key, required, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {type(value).__name__} {value!r}")
        if choices is not None and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def table(self, key: str, required: bool = True) -> Any:
        """The sub-table at ``key``, of this table's own class (None when absent)."""
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, got {type(value).__name__}")
        return type(self)(value, self.path(key), self.file)

    def tables(self, key: str, required: bool = True) -> list[Any]:
        """The array of tables at ``key``, each of this table's own class."""
        value = self.raw(key, required, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(key, "expected an array of tables ([[...]])")
        if required and not value:
            raise self.fail(key, "must have at least one entry")
        return [type(self)(v, f"{self.path(key)}[{i}]", self.file) for i, v in enumerate(value)]

    def done(self) -> None:
        """Reject keys nobody asked for: a typo must not be silently ignored."""
        extra = sorted(set(self.doc) - self.seen)
        if extra:
            allowed = ", ".join(sorted(self.seen))
            raise self.fail(extra[0], f"unknown field (allowed here: {allowed})")
