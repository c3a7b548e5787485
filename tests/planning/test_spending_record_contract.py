"""The ``spending`` record of design.json: written by ``to_dict`` / ``spending_record``, read back
by ``SpendingPlan.from_record`` to an equal plan, and every refusal of a bad record with its exact
message and the file it names (the field is in the message: ``field 'spending.x': ...``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from rollout.errors import InputError
from rollout.planning.sequential import (
    HARM_MIRRORED,
    NUMERICAL_METHOD,
    SPENDING_DESCRIPTIONS,
    SpendingPlan,
    sequential_design,
)

SOURCE = "design.json"

#: a group-sequential record as design.json holds it (values unlike the defaults, so a field
#: that is dropped or replaced on the way in cannot pass unnoticed)
SEQUENTIAL: dict[str, Any] = {
    "efficacy": "pocock",
    "futility": "beta",
    "harm": "mirrored efficacy",
    "method": "numerical integration",
    "efficacy_function": "Pocock-type",
    "alpha_per_side": 0.025,
    "sides": "symmetric",
    "futility_function": "beta spending, Pocock-type",
    "futility_binding": False,
    "beta": 0.1,
    "drift": 3.3,
    "power_if_futility_ignored": 0.91,
    "power_if_futility_followed": 0.9,
    "type1_if_futility_followed": 0.024,
}
SINGLE: dict[str, Any] = {"efficacy": "none", "futility": "none", "harm": "mirrored, fixed",
                          "method": "one analysis"}
FIELDS = [f.name for f in dataclasses.fields(SpendingPlan)]


def _with(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**record, **changes}


def _without(record: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != name}


def _refused(record: Any, source: str | None = SOURCE) -> InputError:
    with pytest.raises(InputError) as info:
        SpendingPlan.from_record(record, source)
    err = info.value
    assert err.file == source
    assert (err.column, err.row, err.option, err.argument) == (None, None, None, None)
    return err


# ------------------------------------------------------------------------------ round trips

def test_a_sequential_record_reads_to_the_plan_it_describes() -> None:
    plan = SpendingPlan.from_record(SEQUENTIAL, SOURCE)
    assert plan == SpendingPlan(**SEQUENTIAL)
    assert dataclasses.asdict(plan) == SEQUENTIAL
    assert plan.futility_binding is False and plan.sequential
    assert plan.to_dict() == SEQUENTIAL
    assert list(plan.to_dict()) == FIELDS


def test_a_single_analysis_record_reads_to_the_fixed_plan() -> None:
    plan = SpendingPlan.from_record(SINGLE, SOURCE)
    assert plan == SpendingPlan(harm="mirrored, fixed", method="one analysis")
    assert (plan.efficacy, plan.futility) == ("none", "none") and not plan.sequential
    assert plan.to_dict() == SINGLE
    assert SpendingPlan().to_dict() == {"efficacy": "none", "futility": "none",
                                        "harm": "efficacy boundary mirrored",
                                        "method": "single analysis"}


def test_an_old_single_analysis_record_needs_only_its_four_fields() -> None:
    # the sequential fields are neither required nor read (even when malformed) for a fixed plan
    extra = _with(SINGLE, efficacy_function=5, sides=None, drift="x", futility_binding=True)
    assert SpendingPlan.from_record(extra, SOURCE) == SpendingPlan.from_record(SINGLE, SOURCE)


@pytest.mark.parametrize(("kwargs"), [
    {"alpha": 0.05, "power": 0.8, "sided": 2, "spending": "pocock"},
    {"alpha": 0.025, "power": 0.9, "sided": 1, "spending": "obf", "futility": "none"},
])
def test_the_record_a_design_writes_reads_back_to_its_plan(kwargs) -> None:
    design = sequential_design([0.5, 1.0], **kwargs)
    record = design.spending_record()
    plan = SpendingPlan.from_record(record, SOURCE)
    assert plan == design.spending_plan()
    assert plan.to_dict() == record
    assert plan.futility_function == record["futility_function"]
    assert plan.harm == HARM_MIRRORED and plan.method == NUMERICAL_METHOD
    assert plan.efficacy_function == SPENDING_DESCRIPTIONS[kwargs["spending"]]


def test_a_one_look_design_writes_a_full_obf_record() -> None:
    design = sequential_design([1.0], alpha=0.05, power=0.8)
    record = design.spending_record()
    assert set(record) == set(FIELDS) and record["efficacy"] == "obf"
    assert SpendingPlan.from_record(record) == design.spending_plan()


@pytest.mark.parametrize(("name", "value"), [
    ("alpha_per_side", 0), ("alpha_per_side", 0.5), ("beta", 0), ("beta", 1),
    ("drift", 1e-12), ("drift", 0.5), ("drift", 1e6),
    ("power_if_futility_ignored", 1), ("power_if_futility_followed", 0),
    ("type1_if_futility_followed", 1), ("futility_function", None), ("futility", "none"),
])
def test_numbers_at_the_ends_of_their_ranges_are_accepted(name, value) -> None:
    plan = SpendingPlan.from_record(_with(SEQUENTIAL, **{name: value}), SOURCE)
    assert getattr(plan, name) == value


# ------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("record", [None, [], "obf", 3])
def test_a_spending_that_is_not_a_record_is_refused(record) -> None:
    err = _refused(record)
    assert err.message == "field 'spending': must be a record"
    assert str(err) == "design.json: field 'spending': must be a record"


@pytest.mark.parametrize(("value", "shown"), [("hsd", "'hsd'"), ("OBF", "'OBF'"), (None, "None"),
                                              (1, "1")])
def test_an_unknown_efficacy_spending_is_refused(value, shown) -> None:
    err = _refused(_with(SEQUENTIAL, efficacy=value))
    assert err.message == ("field 'spending.efficacy': must be one of obf, pocock, none, "
                           f"got {shown}")


def test_a_record_without_efficacy_is_refused_as_unknown() -> None:
    err = _refused(_without(SEQUENTIAL, "efficacy"))
    assert err.message == "field 'spending.efficacy': must be one of obf, pocock, none, got None"


@pytest.mark.parametrize("name", [n for n in FIELDS if n != "efficacy"])
def test_each_missing_field_of_a_sequential_record_is_named(name) -> None:
    err = _refused(_without(SEQUENTIAL, name))
    assert err.message == f"field 'spending.{name}': missing"
    assert str(err) == f"design.json: field 'spending.{name}': missing"


@pytest.mark.parametrize("name", ["futility", "harm", "method"])
def test_each_missing_field_of_a_single_analysis_record_is_named(name) -> None:
    err = _refused(_without(SINGLE, name))
    assert err.message == f"field 'spending.{name}': missing"


def test_the_first_missing_field_is_named_in_record_order() -> None:
    err = _refused({"efficacy": "obf", "futility": "beta"})
    assert err.message == "field 'spending.harm': missing"


@pytest.mark.parametrize("record", [SEQUENTIAL, SINGLE])
@pytest.mark.parametrize(("value", "shown"), [("binding", "'binding'"), (None, "None"),
                                              ("BETA", "'BETA'")])
def test_an_unknown_futility_is_refused(record, value, shown) -> None:
    err = _refused(_with(record, futility=value))
    assert err.message == f"field 'spending.futility': must be beta or none, got {shown}"


@pytest.mark.parametrize("name", ["harm", "method", "efficacy_function", "sides"])
@pytest.mark.parametrize(("value", "shown"), [(1, "1"), (None, "None"), (["a"], "['a']")])
def test_text_fields_of_a_sequential_record_must_be_text(name, value, shown) -> None:
    err = _refused(_with(SEQUENTIAL, **{name: value}))
    assert err.message == f"field 'spending.{name}': must be text, got {shown}"


@pytest.mark.parametrize("name", ["harm", "method"])
def test_text_fields_of_a_single_analysis_record_must_be_text(name) -> None:
    err = _refused(_with(SINGLE, **{name: 2.5}))
    assert err.message == f"field 'spending.{name}': must be text, got 2.5"


def test_a_single_analysis_with_a_futility_boundary_is_refused() -> None:
    err = _refused(_with(SINGLE, futility="beta"))
    assert err.message == ("field 'spending.futility': a single analysis has no futility "
                           "boundary: must be none")


@pytest.mark.parametrize("value", [3, ["beta"], True])
def test_a_futility_function_must_be_text_or_null(value) -> None:
    err = _refused(_with(SEQUENTIAL, futility_function=value))
    assert err.message == "field 'spending.futility_function': must be text or null"


@pytest.mark.parametrize("value", [True, 0, None, "false"])
def test_a_binding_futility_is_refused(value) -> None:
    err = _refused(_with(SEQUENTIAL, futility_binding=value))
    assert err.message == ("field 'spending.futility_binding': must be false (the futility "
                           "boundary is non-binding)")


@pytest.mark.parametrize(("name", "value", "shown", "bounds"), [
    ("alpha_per_side", 0.6, "0.6", "[0, 0.5]"),
    ("alpha_per_side", 1.2, "1.2", "[0, 0.5]"),
    ("alpha_per_side", -0.01, "-0.01", "[0, 0.5]"),
    ("alpha_per_side", "0.025", "'0.025'", "[0, 0.5]"),
    ("beta", 1.5, "1.5", "[0, 1]"),
    ("beta", True, "True", "[0, 1]"),
    ("drift", 0, "0", "[1e-12, inf]"),
    ("drift", 1e-13, "1e-13", "[1e-12, inf]"),
    ("drift", float("inf"), "inf", "[1e-12, inf]"),
    ("drift", None, "None", "[1e-12, inf]"),
    ("power_if_futility_ignored", 1.5, "1.5", "[0, 1]"),
    ("power_if_futility_followed", -0.1, "-0.1", "[0, 1]"),
    ("type1_if_futility_followed", 1.01, "1.01", "[0, 1]"),
    ("type1_if_futility_followed", float("nan"), "nan", "[0, 1]"),
])
def test_numbers_out_of_range_are_refused(name, value, shown, bounds) -> None:
    err = _refused(_with(SEQUENTIAL, **{name: value}))
    assert err.message == f"field 'spending.{name}': must be a number in {bounds}, got {shown}"


def test_refusals_without_a_source_name_no_file() -> None:
    err = _refused(_with(SEQUENTIAL, drift=-1.0), source=None)
    assert str(err) == "field 'spending.drift': must be a number in [1e-12, inf], got -1.0"
    err = _refused(_with(SEQUENTIAL, futility_binding=True), source=None)
    assert str(err).startswith("field 'spending.futility_binding': must be false")
