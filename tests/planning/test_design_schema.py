"""design.json: validated on read, every field named when wrong, byte-reproducible on write."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rollout.errors import InputError
from rollout.planning import load_design, save_design
from rollout.planning.plan import DesignRequest, plan_design


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
