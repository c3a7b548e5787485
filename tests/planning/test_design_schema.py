"""design.json: validated on read, every field named when wrong, byte-reproducible on write."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from rollout.errors import InputError
from rollout.planning import load_design, save_design
from rollout.planning.design import Design, Look, Phase
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.sequential import SpendingPlan


@pytest.fixture(scope="module")
def document() -> dict:
    design = plan_design(DesignRequest(sd=180, mde=34, looks=2, strata=["segment"]))
    return json.loads(json.dumps(design.to_dict()))


def test_round_trip_is_byte_identical(document: dict, tmp_path: Path) -> None:
    design = plan_design(DesignRequest(sd=180, mde=34, looks=2, strata=["segment"]))
    first = save_design(tmp_path / "a.json", design).read_bytes()
    loaded = load_design(tmp_path / "a.json")
    second = save_design(tmp_path / "b.json", loaded).read_bytes()
    assert first == second
    assert loaded == design
    assert loaded.n_per_arm == document["n_per_arm"]
    assert not hasattr(loaded, "__getitem__") and not hasattr(loaded, "get")
    assert b"timestamp" not in first


def test_fixed_field_names(document: dict) -> None:
    expected = {"schema", "test", "outcome", "arms", "allocation", "n_per_arm", "n_total",
                "alpha", "power", "sided", "mde", "mde_source", "sd", "r2",
                "n_per_arm_unadjusted", "strata", "strata_sizes", "looks", "spending",
                "max_inflation", "phases", "cost", "margin", "seed", "created_by"}
    assert expected <= set(document)
    assert document["schema"] == "rollout.design/1"
    assert [p["name"] for p in document["phases"]] == ["pilot", "ab_test", "expansion"]
    look_fields = {"information_fraction", "n_per_arm", "efficacy_z", "futility_z", "harm_z",
                   "alpha_spent", "efficacy_effect", "futility_effect", "harm_effect"}
    assert all(look_fields <= set(look) for look in document["looks"])


def _mutations():
    def drop(key):
        return lambda d: d.pop(key)

    def setter(key, value):
        return lambda d: d.__setitem__(key, value)

    return [
        ("schema", setter("schema", "rollout.design/2")),
        ("n_total", drop("n_total")),
        ("test", setter("test", "abtest")),
        ("allocation", setter("allocation", {"treatment": 0.6, "control": 0.6})),
        ("allocation", setter("allocation", {"treatment": 1.0})),
        ("n_per_arm", setter("n_per_arm", {"treatment": 0, "control": 10})),
        ("n_total", setter("n_total", 7)),
        ("alpha", setter("alpha", 0.7)),
        ("power", setter("power", 1.0)),
        ("sided", setter("sided", 3)),
        ("mde", setter("mde", -1)),
        ("sd", setter("sd", 0)),
        ("r2", setter("r2", 1.5)),
        ("strata", setter("strata", "segment")),
        ("looks", lambda d: d["looks"].reverse()),
        ("looks", lambda d: d["looks"][0].pop("harm_z")),
        ("arms", setter("arms", ["a", "b"])),
        ("seed", setter("seed", "zero")),
        ("spending.drift", lambda d: d["spending"].__setitem__("drift", "2.8")),
        ("spending.drift", lambda d: d["spending"].pop("drift")),
        ("spending.efficacy", lambda d: d["spending"].__setitem__("efficacy", "haybittle")),
        ("spending.futility", lambda d: d["spending"].__setitem__("futility", "gamma")),
        ("spending.beta", lambda d: d["spending"].__setitem__("beta", None)),
        ("spending.futility_binding",
         lambda d: d["spending"].__setitem__("futility_binding", True)),
        ("spending", setter("spending", ["obf"])),
        ("spending", setter("spending", {"efficacy": "none", "futility": "none",
                                         "harm": "mirrored", "method": "single analysis"})),
        ("phases", lambda d: d["phases"][1].__setitem__("campaign_weeks", "four")),
        ("phases", lambda d: d["phases"][0].__setitem__("role", "ab_test")),
        ("phases", lambda d: d["phases"].append(dict(d["phases"][0]))),
        ("arms", setter("arms", ["treatment", "not_in_test"])),
        ("strata", setter("strata", ["customer_id"])),
    ]


@pytest.mark.parametrize("field,mutate", _mutations())
def test_load_design_names_the_bad_field(document: dict, tmp_path: Path, field: str,
                                         mutate) -> None:
    broken = copy.deepcopy(document)
    mutate(broken)
    path = tmp_path / "design.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InputError, match=f"field '{field}'") as info:
        load_design(path)
    assert "design.json" in str(info.value)


def test_load_design_file_problems(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_design(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a readable JSON"):
        load_design(bad)


@pytest.mark.parametrize("field,mutate", [
    ("looks[0].n_per_arm", lambda d: d["looks"][0].__setitem__("n_per_arm", 100)),
    ("looks[1].efficacy_z", lambda d: d["looks"][1].__setitem__("efficacy_z", "2.0")),
    ("strata_sizes[0]", lambda d: d.__setitem__("strata_sizes", [{"segment": "a"}])),
])
def test_nested_fields_are_named(document: dict, tmp_path: Path, field: str, mutate) -> None:
    broken = copy.deepcopy(document)
    mutate(broken)
    path = tmp_path / "design.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InputError, match=re.escape(f"field '{field}")):
        load_design(path)


def test_a_fixed_design_has_a_single_analysis_spending_plan(tmp_path: Path) -> None:
    design = plan_design(DesignRequest(sd=180, mde=34))
    assert not design.spending.sequential
    assert design.to_dict()["spending"] == {"efficacy": "none", "futility": "none",
                                           "harm": "efficacy boundary mirrored",
                                           "method": "single analysis"}
    save_design(tmp_path / "fixed.json", design)
    assert load_design(tmp_path / "fixed.json") == design
    bounds = design.spending.boundaries([1.0], design.alpha, design.sided)
    assert bounds.futility_z is None
    assert bounds.efficacy_z[0] == pytest.approx(1.959964, abs=1e-5)


def test_spending_plan_reproduces_the_planned_boundaries(document: dict) -> None:
    design = Design.from_dict(document)
    bounds = design.spending.boundaries(design.information_fractions, design.alpha,
                                        design.sided)
    assert bounds.efficacy_z == pytest.approx([look.efficacy_z for look in design.looks],
                                              abs=1e-9)
    assert bounds.futility_z == pytest.approx([look.futility_z for look in design.looks],
                                              abs=1e-6)
    assert bounds.harm_z == pytest.approx([look.harm_z for look in design.looks], abs=1e-9)


def test_the_design_has_typed_parts_and_no_mapping_access(document: dict) -> None:
    design = Design.from_dict(document)
    assert isinstance(design.spending, SpendingPlan)
    assert all(isinstance(look, Look) for look in design.looks)
    assert all(isinstance(phase, Phase) for phase in design.phases)
    assert design.phase(1).name == "pilot" and design.phase(4) is None
    assert design.estimand.test == "ate" and design.estimand.mde == design.mde
    assert design.estimand.scale == "outcome per customer"
    for name in ("__getitem__", "get", "keys"):
        assert not hasattr(design, name)
    with pytest.raises(FrozenInstanceError):
        design.mde = 1.0  # type: ignore[misc]
    assert json.loads(json.dumps(design.to_dict())) == document
