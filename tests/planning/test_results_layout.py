"""Reading the results folder as the analysis writes it: recommended estimates, trimming
records, columns that live only in the cohort."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rollout.errors import InputError
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.results import load_results

from .conftest import make_results


def _core_only(results: Path) -> None:
    """Make the folder look like the estimation core's: no cate, segment, targets, breakeven."""
    customers = pd.read_parquet(results / "customers.parquet")
    customers = customers.drop(columns=["cate", "segment", "target_breakeven",
                                        "target_conservative"])
    customers.to_parquet(results / "customers.parquet", index=False)
    summary = json.loads((results / "summary.json").read_text())
    for key in ("breakeven", "overlap_effect"):
        summary.pop(key, None)
    summary["ate"] = [
        {"outcome": "spend", "method": "naive", "estimate": 90.0, "se": 5.0},
        {"outcome": "spend", "method": "aipw", "estimate": 25.0, "se": 6.0},
        {"outcome": "spend", "method": "ato", "estimate": 22.0, "se": 6.0},
    ]
    summary["trimming"] = [
        {"outcome": "spend", "trim": "0.05-0.95", "estimate": 26.0, "se": 7.0},
        {"outcome": "spend", "trim": "0.1-0.9", "estimate": 24.0, "se": 8.0},
    ]
    summary["recommended"] = [{"outcome": "spend", "method": "aipw", "trim": "0.1-0.9",
                               "estimate": 24.0, "se": 8.0}]
    (results / "summary.json").write_text(json.dumps(summary))


def test_estimation_core_folder(tmp_path: Path) -> None:
    results = make_results(tmp_path)
    _core_only(results)
    loaded = load_results(results)
    assert loaded.observational_ate()[0] == 24.0
    assert "recommended" in loaded.observational_ate()[1]
    assert loaded.overlap_effect() == (24.0, "AIPW trimmed to propensity 0.1-0.9 "
                                             "(summary.json trimming)")
    assert "segment" in loaded.customers.columns  # joined from the cohort
    design = plan_design(DesignRequest(results=results))
    assert design.mde == 24.0
    assert design.strata == ("ps_region",)  # segment is not in customers.parquet itself
    assert any("segment not in customers.parquet" in w for w in design.details["warnings"])
    assert design.phase(2).record["expected_effect"] == 24.0


def test_ato_when_no_trimming_records(tmp_path: Path) -> None:
    results = make_results(tmp_path)
    _core_only(results)
    summary = json.loads((results / "summary.json").read_text())
    del summary["trimming"], summary["recommended"]
    (results / "summary.json").write_text(json.dumps(summary))
    loaded = load_results(results)
    assert loaded.overlap_effect()[0] == 22.0
    assert loaded.observational_ate() == (25.0, "observational AIPW estimate (summary.json ate)")


@pytest.mark.parametrize("test", ["policy", "heterogeneity"])
def test_tests_that_need_the_cate_say_so(tmp_path: Path, test: str) -> None:
    results = make_results(tmp_path)
    _core_only(results)
    with pytest.raises(InputError, match="column 'cate'"):
        plan_design(DesignRequest(results=results, test=test, cost=12.0, margin=0.3))


def test_no_variance_reduction_needs_no_cohort_when_the_outcome_is_present(
        tmp_path: Path) -> None:
    results = make_results(tmp_path)
    customers = pd.read_parquet(results / "customers.parquet")
    customers["spend"] = 100.0 + customers["customer_id"] % 7
    customers.to_parquet(results / "customers.parquet", index=False)
    (tmp_path / "cohort.parquet").unlink()
    design = plan_design(DesignRequest(results=results, variance_reduction=False))
    assert design.r2 is None
    with pytest.raises(InputError, match="does not exist"):
        plan_design(DesignRequest(results=results))
