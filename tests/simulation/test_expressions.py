"""The scenario formula language: vectorized numpy semantics, and nothing but the whitelist."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.errors import InputError
from rollout.simulation.expressions import FUNCTIONS, parse_expression

X = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
ENV = {"x": X, "y": np.array([1.0, 2.0, 3.0, 4.0, 5.0])}


def evaluate(text: str) -> np.ndarray:
    return parse_expression(text, field="test").evaluate(ENV, n=len(X))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x + y * 2 - 1", X + ENV["y"] * 2 - 1),
        ("x ** 2 / y", X**2 / ENV["y"]),
        ("-x", -X),
        ("+x % 2", X % 2),
        ("exp(x) + log(y) + log1p(y) + sqrt(y)",
         np.exp(X) + np.log(ENV["y"]) + np.log1p(ENV["y"]) + np.sqrt(ENV["y"])),
        ("abs(x) + tanh(x) + floor(x) + ceil(x)",
         np.abs(X) + np.tanh(X) + np.floor(X) + np.ceil(X)),
        ("sin(pi * x) + cos(e * x)", np.sin(np.pi * X) + np.cos(np.e * X)),
        ("sigmoid(x)", 1 / (1 + np.exp(-X))),
        ("minimum(x, 0) + maximum(x, y, 1) + min(x, y) + max(x, -1)",
         np.minimum(X, 0) + np.maximum(np.maximum(X, ENV["y"]), 1) + np.minimum(X, ENV["y"])
         + np.maximum(X, -1)),
        ("clip(x, -1, 1)", np.clip(X, -1, 1)),
        ("where(x > 0, y, -y)", np.where(X > 0, ENV["y"], -ENV["y"])),
        ("indicator(x >= 0.5)", (X >= 0.5).astype(float)),
        ("2 * (x > 0)", 2.0 * (X > 0)),
        ("y if x < 0 else 10", np.where(X < 0, ENV["y"], 10.0)),
        ("(x > -1) and (x < 1)", (X > -1) & (X < 1)),
        ("x < -1 or not (x < 1)", (X < -1) | ~(X < 1)),
        ("-1 < x <= 0.5", (X > -1) & (X <= 0.5)),
        ("x == 0", X == 0),
        ("x != 0", X != 0),
        ("True + 1", np.full(5, 2.0)),
    ],
)
def test_matches_numpy(text: str, expected: np.ndarray) -> None:
    np.testing.assert_allclose(evaluate(text), np.asarray(expected, dtype=float))


def test_numbers_and_constants_broadcast() -> None:
    assert parse_expression(2.5, field="f").evaluate({}, n=3).tolist() == [2.5, 2.5, 2.5]
    assert parse_expression("3", field="f").evaluate({}, n=2).tolist() == [3.0, 3.0]


def test_names_are_collected() -> None:
    expr = parse_expression("log(a) + b * clip(c, 0, 1) + pi", field="f")
    assert expr.names == frozenset({"a", "b", "c"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("x.real", "unsupported syntax Attribute"),
        ("x[0]", "unsupported syntax Subscript"),
        ("(lambda v: v)(x)", "only calls of named functions"),
        ("lambda: 1", "unsupported syntax Lambda"),
        ("open('f')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("'text'", "unsupported constant"),
        ("[x, y]", "unsupported syntax List"),
        ("x if y", "cannot parse"),
        ("clip(x, 0)", "takes 3 arguments"),
        ("log(x, y)", "takes 1 arguments"),
        ("max(x)", "at least 2"),
        ("clip(x, a_min=0, a_max=1)", "plain positional arguments"),
        ("log(*x)", "plain positional arguments"),
        ("x @ y", "unsupported operator MatMult"),
        ("x // y", "unsupported operator FloorDiv"),
        ("x in y", "unsupported comparison In"),
        ("x is y", "unsupported comparison Is"),
        ("log", "used without calling"),
        ("[v for v in x]", "unsupported syntax ListComp"),
        ("(v := 1)", "unsupported syntax NamedExpr"),
        ("~x", "unsupported operator Invert"),
    ],
)
def test_refuses_everything_outside_the_whitelist(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_expression(text, field="outcomes[0].cate", file="world.toml")
    text_of_error = str(info.value)
    assert message in text_of_error
    assert "world.toml" in text_of_error and "outcomes[0].cate" in text_of_error


def test_unknown_name_is_named() -> None:
    expr = parse_expression("2 * spend + x", field="targeting.score", file="w.toml")
    with pytest.raises(InputError, match=r"w\.toml.*targeting\.score.*unknown name 'spend'"):
        expr.evaluate(ENV, n=5)


@pytest.mark.parametrize(("text", "row"), [("log(x)", 0), ("1 / x", 2), ("sqrt(x)", 0),
                                           ("x ** 0.5", 0)])
def test_non_finite_results_name_the_row(text: str, row: int) -> None:
    with pytest.raises(InputError, match=rf"not finite .* at row {row}"):
        evaluate(text)


def test_wrong_type_of_field() -> None:
    with pytest.raises(InputError, match="expected a formula"):
        parse_expression([1, 2], field="f")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="expected a formula"):
        parse_expression(True, field="f")  # type: ignore[arg-type]


def test_every_function_in_the_table_is_reachable() -> None:
    for name, (_, low, _) in FUNCTIONS.items():
        args = ", ".join(["y"] * low)
        result = parse_expression(f"{name}({args})", field="f").evaluate(ENV, n=5)
        assert result.shape == (5,)


@pytest.mark.parametrize("text", ["(" * 5000 + "x" + ")" * 5000, "-" * 3000 + "x",
                                  "x" + " + x" * 3000])
def test_pathological_formulas_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match=r"too deeply|longer than"):
        parse_expression(text, field="f").evaluate(ENV, n=5)


def test_overflow_is_not_finite_rather_than_a_crash() -> None:
    with pytest.raises(InputError, match="not finite"):
        evaluate("10 ** 10 ** 10")
    with pytest.raises(InputError, match="not finite"):
        evaluate("exp(1000 * y)")
