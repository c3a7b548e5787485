"""A small, safe, vectorized expression language for scenario files.

Scenario files describe a world in formulas (a targeting score, a true effect, a baseline
outcome) written as text such as ``"30 - 40 * share_grocery + where(recency_weeks > 4, 5, 0)"``.
The text is parsed with :mod:`ast` and only a whitelist of node types is accepted: numbers,
names, arithmetic, comparisons, ``and``/``or``/``not``, ``a if cond else b`` and calls to a fixed
table of numpy functions. Nothing is ever handed to Python's ``eval`` or ``exec``, so a scenario
file cannot run code; anything outside the whitelist raises :class:`~rollout.errors.InputError`
naming the file, the field and the offending symbol.

Examples
--------
>>> import numpy as np
>>> expr = parse_expression("clip(2 * x + 1, 0, 4)", field="demo")
>>> expr.evaluate({"x": np.array([-1.0, 0.5, 3.0])}, n=3).tolist()
[0.0, 2.0, 4.0]
>>> sorted(expr.names)
['x']
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rollout.errors import InputError

Array = np.ndarray
Evaluator = Callable[[Mapping[str, Array]], Any]


def _sigmoid(x: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _indicator(condition: Array) -> Array:
    return np.asarray(condition, dtype=bool).astype(float)


def _reduce(func: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        result = args[0]
        for arg in args[1:]:
            result = func(result, arg)
        return result

    return apply


# name -> (function, smallest arity, largest arity or None for "any")
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "log": (np.log, 1, 1),
    "log1p": (np.log1p, 1, 1),
    "exp": (np.exp, 1, 1),
    "sqrt": (np.sqrt, 1, 1),
    "abs": (np.abs, 1, 1),
    "floor": (np.floor, 1, 1),
    "ceil": (np.ceil, 1, 1),
    "tanh": (np.tanh, 1, 1),
    "sin": (np.sin, 1, 1),
    "cos": (np.cos, 1, 1),
    "sigmoid": (_sigmoid, 1, 1),
    "indicator": (_indicator, 1, 1),
    "minimum": (_reduce(np.minimum), 2, None),
    "maximum": (_reduce(np.maximum), 2, None),
    "min": (_reduce(np.minimum), 2, None),
    "max": (_reduce(np.maximum), 2, None),
    "clip": (np.clip, 3, 3),
    "where": (np.where, 3, 3),
}
"""The only functions a scenario expression may call."""

CONSTANTS: dict[str, float] = {"pi": float(np.pi), "e": float(np.e)}
"""Named constants available in every expression."""

MAX_LENGTH = 10_000
"""Longest formula accepted (a guard against pathological input, far above any real one)."""

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@dataclass(frozen=True)
class Expression:
    """A parsed scenario formula: its text, the names it reads and a vectorized evaluator."""

    text: str
    field: str
    names: frozenset[str]
    _evaluate: Evaluator
    file: str | None = None

    def check_names(self, available: set[str] | frozenset[str]) -> None:
        """Raise :class:`InputError` if the formula reads a name not in ``available``."""
        unknown = sorted(self.names - set(available))
        if unknown:
            known = ", ".join(sorted(available)) or "none"
            raise InputError(
                f"field {self.field!r}: unknown name {unknown[0]!r} in {self.text!r} "
                f"(known names: {known})",
                file=self.file,
            )

    def evaluate(self, env: Mapping[str, Array], n: int) -> Array:
        """Evaluate on columns of length ``n``; always returns a float array of length ``n``.

        A result that is not finite (log of a negative number, division by zero) raises
        :class:`InputError` naming the field and the first row at fault.
        """
        self.check_names(set(env))
        try:
            with np.errstate(all="ignore"):
                value = self._evaluate(env)
        except RecursionError as exc:
            raise InputError(f"field {self.field!r}: formula nested too deeply",
                             file=self.file) from exc
        out = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
        bad = ~np.isfinite(out)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"field {self.field!r}: {self.text!r} is not finite ({out[row]}) at row {row}; "
                "guard logs, roots and divisions (e.g. log(1 + x), maximum(x, 1))",
                file=self.file,
            )
        return out


def parse_expression(
    text: str | float | int,
    field: str,
    file: str | Path | None = None,
) -> Expression:
    """Parse a formula (or a plain number) into an :class:`Expression`.

    Raises :class:`InputError` naming ``file`` and ``field`` for a syntax error, an unknown
    function, or any construct outside the whitelist (attributes, subscripts, lambdas, strings,
    keyword arguments, ...).

    >>> parse_expression(3, field="cate").evaluate({}, n=2).tolist()
    [3.0, 3.0]
    """
    src = str(file) if file is not None else None
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise InputError(
            f"field {field!r}: expected a formula (text) or a number, got {type(text).__name__}",
            file=src,
        )
    if not isinstance(text, str):
        value = np.float64(text)
        return Expression(str(text), field, frozenset(), lambda env: value, src)
    if len(text) > MAX_LENGTH:
        raise InputError(f"field {field!r}: formula longer than {MAX_LENGTH} characters",
                         file=src)
    try:
        tree = ast.parse(text.strip(), mode="eval")
        compiler = _Compiler(text, field, src)
        evaluator = compiler.compile(tree.body)
    except SyntaxError as exc:
        raise InputError(f"field {field!r}: cannot parse {text!r}: {exc.msg}", file=src) from exc
    except RecursionError as exc:
        raise InputError(f"field {field!r}: formula nested too deeply", file=src) from exc
    return Expression(text, field, frozenset(compiler.names), evaluator, src)


class _Compiler:
    """Turns a whitelisted syntax tree into nested closures over numpy operations."""

    def __init__(self, text: str, field: str, file: str | None) -> None:
        self.text = text
        self.field = field
        self.file = file
        self.names: set[str] = set()

    def fail(self, what: str) -> InputError:
        return InputError(f"field {self.field!r}: {what} in {self.text!r}", file=self.file)

    def compile(self, node: ast.AST) -> Evaluator:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                flag = node.value
                return lambda env: flag
            if isinstance(node.value, (int, float)):
                number = np.float64(node.value)  # numpy semantics: overflow gives inf, not an error
                return lambda env: number
            raise self.fail(f"unsupported constant {node.value!r} (only numbers)")
        if isinstance(node, ast.Name):
            name = node.id
            if name in CONSTANTS:
                constant = np.float64(CONSTANTS[name])
                return lambda env: constant
            if name in FUNCTIONS:
                raise self.fail(f"function {name!r} used without calling it")
            self.names.add(name)
            return lambda env: env[name]
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise self.fail(f"unsupported operator {type(node.op).__name__}")
            left, right = self.compile(node.left), self.compile(node.right)
            return lambda env: op(_numeric(left(env)), _numeric(right(env)))
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda env: -_numeric(operand(env))
            if isinstance(node.op, ast.UAdd):
                return lambda env: _numeric(operand(env))
            if isinstance(node.op, ast.Not):
                return lambda env: np.logical_not(operand(env))
            raise self.fail(f"unsupported operator {type(node.op).__name__}")
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return lambda env: _reduce(combine)(*(p(env) for p in parts))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            test, body, orelse = (self.compile(n) for n in (node.test, node.body, node.orelse))
            return lambda env: np.where(test(env), body(env), orelse(env))
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.fail(f"unsupported syntax {type(node).__name__}")

    def _compare(self, node: ast.Compare) -> Evaluator:
        ops = []
        for op in node.ops:
            func = _COMPARE.get(type(op))
            if func is None:
                raise self.fail(f"unsupported comparison {type(op).__name__}")
            ops.append(func)
        operands = [self.compile(n) for n in (node.left, *node.comparators)]

        def evaluate(env: Mapping[str, Array]) -> Any:
            values = [o(env) for o in operands]
            result: Any = True
            for func, a, b in zip(ops, values[:-1], values[1:], strict=True):
                result = np.logical_and(result, func(a, b))
            return result

        return evaluate

    def _call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only calls of named functions are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise self.fail(f"unknown function {name!r} (allowed: {allowed})")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"function {name!r} takes plain positional arguments only")
        func, low, high = FUNCTIONS[name]
        n_args = len(node.args)
        if n_args < low or (high is not None and n_args > high):
            expected = str(low) if high == low else f"at least {low}"
            raise self.fail(f"function {name!r} takes {expected} arguments, got {n_args}")
        args = [self.compile(a) for a in node.args]
        return lambda env: func(*(_numeric(a(env)) for a in args))


def _numeric(value: Any) -> Any:
    """Booleans become 0/1 floats so that ``2 * (x > 1)`` works as in numpy."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return value.astype(float)
    return value
