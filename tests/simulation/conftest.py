"""A small valid scenario, as text, that tests break one field at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_WORLD = '''
kind = "world"
name = "small"
description = "A small world for tests."
n = 200

[covariates]
latent = ["engagement"]

[[covariates.columns]]
name = "spend"
distribution = "lognormal"
meanlog = "4 + 0.5 * engagement"
sdlog = 0.3

[[covariates.columns]]
name = "visits"
distribution = "poisson"
rate = "3 * exp(0.4 * engagement)"

[[covariates.columns]]
name = "share_fresh"
distribution = "beta"
mean = 0.3
concentration = 10

[targeting]
score = "log(spend)"
strength = 1.0
treated_share = 0.5

[[outcomes]]
name = "purchase_amount"
mu0 = "0.5 * spend"
cate = "10 - 20 * share_fresh"
noise = "normal"
scale = 5.0
pre_period = "pre_purchase_amount"
pre_correlation = 0.5

[economics]
cost = 1.0
margin = 0.5

[expect]
seed = 0
ate = { value = 4.0, tolerance = 1.0 }
'''


@pytest.fixture
def small_world_text() -> str:
    return SMALL_WORLD


@pytest.fixture
def write_world(tmp_path: Path):
    """Write scenario text (optionally with one replacement) to a file; returns its path."""

    def write(text: str = SMALL_WORLD, old: str | None = None, new: str = "",
              name: str = "world.toml") -> Path:
        if old is not None:
            assert old in text, f"test setup: {old!r} not in the scenario text"
            text = text.replace(old, new, 1)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
