"""One small loop run through the command line, shared by the report tests (built once).

A simulated world with a known effect is analysed (two fast CATE learners, a given cost), a
three-look design is made from the results, customers are assigned, the world's A/B return is
drawn for that assignment and evaluated against the results. A plain user table (id, treatment,
one outcome, three covariates; no cost, no segments) is analysed too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli


def run(*args: str) -> None:
    done = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert done.exit_code == 0, done.output


@pytest.fixture(scope="session")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loop")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        run("simulate", "good_overlap", "--n", "800", "-o", "world")
        run("analyze", "world/cohort.parquet", "-o", "results", "--models",
            "s_learner,t_learner", "--validate", "none", "--cost", "5", "--margin", "0.3")
        run("design", "results", "--looks", "3", "-o", "design.json")
        run("assign", "design.json", "results", "-o", "assignment.parquet")
        run("simulate", "good_overlap", "--n", "800", "--assignment", "assignment.parquet",
            "-o", "returns")
        run("evaluate", "design.json", "returns/returns.parquet", "--results", "results",
            "-o", "evaluation")
    finally:
        os.chdir(cwd)
    return root


@pytest.fixture(scope="session")
def plain_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plain")
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=(n, 3))
    t = rng.binomial(1, 1 / (1 + np.exp(-0.5 * x[:, 0])))
    y = 50 + 10 * x[:, 1] + t * (5 + 3 * x[:, 2]) + rng.normal(0, 10, n)
    pd.DataFrame({"customer_id": np.arange(n), "treatment": t, "sales": y.round(2),
                  "age": x[:, 0].round(3), "visits": x[:, 1].round(3),
                  "tenure": x[:, 2].round(3)}).to_csv(root / "mine.csv", index=False)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        run("analyze", "mine.csv", "--outcome", "sales", "-o", "results", "--models",
            "s_learner", "--validate", "none")
    finally:
        os.chdir(cwd)
    return root / "results"
