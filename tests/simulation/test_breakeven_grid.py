"""The breakeven sensitivity grid file: named scenarios relative to the analysis' base."""

from __future__ import annotations

import pytest

from rollout.errors import InputError
from rollout.simulation import load_breakeven_grid

GOOD = """kind = "breakeven_grid"
name = "g"
[[scenarios]]
name = "base"
cost_multiplier = 1.0
margin_offset = 0.0
[[scenarios]]
name = "dear"
cost_multiplier = 2.0
margin = 0.5
"""


def test_bundled_grid_is_relative_to_the_base() -> None:
    grid = load_breakeven_grid(base_cost=7.0, base_margin=0.4)
    assert grid["scenario"].iloc[0] == "base" and len(grid) == 1 + 8 * 7
    base = grid.set_index("scenario").loc["base"]
    assert base["cost"] == 7.0 and base["margin"] == 0.4
    assert (grid["breakeven"] * grid["margin"]).round(9).equals(grid["cost"].round(9))
    worst = grid.set_index("scenario").loc["cost_x3_margin_0.15"]
    best = grid.set_index("scenario").loc["cost_x0.1_margin_0.45"]
    assert worst["breakeven"] > base["breakeven"] > best["breakeven"]
    # the grid scales with the base: double the cost, double every breakeven
    doubled = load_breakeven_grid(base_cost=14.0, base_margin=0.4)
    assert (doubled["breakeven"] / grid["breakeven"]).round(12).eq(2.0).all()


def test_absolute_margin_and_multiplier(tmp_path) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(GOOD)
    grid = load_breakeven_grid(path, base_cost=3.0, base_margin=0.3).set_index("scenario")
    assert grid.loc["dear", "cost"] == 6.0 and grid.loc["dear", "margin"] == 0.5
    assert grid.loc["dear", "breakeven"] == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('kind = "breakeven_grid"', 'kind = "world"', "expected 'breakeven_grid'"),
        ("margin = 0.5", "margin = 1.5", "must be <= 1.0"),
        ("margin = 0.5", "margin = 0.0", "must be > 0.0"),
        ("margin = 0.5", "margin_offset = 0.8", "(0, 1]"),
        ("margin = 0.5", "margin = 0.5\nmargin_offset = 0.1", "not both"),
        ("cost_multiplier = 2.0", "cost_multiplier = -1.0", ">= 0.0"),
        ("cost_multiplier = 2.0", 'cost_multiplier = "two"', "expected a number"),
        ('name = "dear"', 'name = "base"', "duplicate scenario"),
        ('name = "dear"', 'name = "not a name"', "not a valid column name"),
        ("cost_multiplier = 2.0", "cost_multiplier = 2.0\nextra = 1", "unknown field"),
    ],
)
def test_bad_grid(tmp_path, old: str, new: str, words: str) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(InputError) as info:
        load_breakeven_grid(path, base_cost=1.0, base_margin=0.3)
    assert words in str(info.value) and str(path) in str(info.value)


def test_no_scenarios(tmp_path) -> None:
    path = tmp_path / "grid.toml"
    path.write_text('kind = "breakeven_grid"\nname = "g"\n')
    with pytest.raises(InputError, match="scenarios"):
        load_breakeven_grid(path)


def test_bad_base() -> None:
    with pytest.raises(InputError, match="margin"):
        load_breakeven_grid(base_margin=0.0)
    with pytest.raises(InputError, match="cost"):
        load_breakeven_grid(base_cost=-1.0)
