"""The cost x margin grid file."""

from __future__ import annotations

import pytest

from rollout.errors import InputError
from rollout.simulation import load_breakeven_grid


def test_bundled_grid() -> None:
    grid = load_breakeven_grid()
    assert len(grid) == grid["cost"].nunique() * grid["margin"].nunique()
    assert (grid["breakeven"] * grid["margin"]).round(9).equals(grid["cost"].round(9))


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('kind = "breakeven_grid"', 'kind = "world"', "expected 'breakeven_grid'"),
        ("margins = [0.2, 0.5]", "margins = [0.2, 1.5]", "(0, 1]"),
        ("margins = [0.2, 0.5]", "margins = [0.0, 0.5]", "(0, 1]"),
        ("costs = [5.0, 10.0]", "costs = [-1.0]", ">= 0"),
        ("costs = [5.0, 10.0]", "costs = []", "non-empty list"),
        ("costs = [5.0, 10.0]", 'costs = ["five"]', "non-empty list"),
        ("costs = [5.0, 10.0]", "costs = [5.0]\nextra = 1", "unknown field"),
    ],
)
def test_bad_grid(tmp_path, old: str, new: str, words: str) -> None:
    text = 'kind = "breakeven_grid"\nname = "g"\ncosts = [5.0, 10.0]\nmargins = [0.2, 0.5]\n'
    path = tmp_path / "grid.toml"
    path.write_text(text.replace(old, new))
    with pytest.raises(InputError) as info:
        load_breakeven_grid(path)
    assert words in str(info.value) and str(path) in str(info.value)
