"""Scenario files: every bad field is refused up front with the file and field named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rollout.data.contract import save_cohort
from rollout.errors import InputError
from rollout.simulation import load_scenario, simulate_world
from rollout.simulation.scenario import bundled_scenario_dir, list_scenarios

# (old text, new text, words the error must contain)
BAD_FIELDS = [
    ('kind = "world"', 'kind = "planet"', ["kind", "planet"]),
    ('kind = "world"\n', "", ["kind", "missing required field"]),
    ('name = "small"\n', "", ["'name'", "missing required field"]),
    ("n = 200", 'n = "many"', ["'n'", "expected an integer"]),
    ("n = 200", "n = 2.5", ["'n'", "expected an integer"]),
    ("n = 200", "n = 3", ["'n'", ">= 10"]),
    ("n = 200", "n = 1_000_000_000", ["'n'", "<= 20,000,000"]),
    ('score = "log(spend)"', 'score = "log(spending)"', ["targeting.score", "'spending'"]),
    ('score = "log(spend)"', 'score = "logg(spend)"', ["targeting.score", "unknown function"]),
    ('score = "log(spend)"', 'score = "spend.mean()"', ["targeting.score", "named functions"]),
    ("treated_share = 0.5", "treated_share = 1.5", ["targeting.treated_share", "<= 1"]),
    ("treated_share = 0.5", "treated_share = -0.1", ["targeting.treated_share", ">= 0"]),
    ("treated_share = 0.5", "treated_share = 0.0", ["treated_share", "strictly between"]),
    ("treated_share = 0.5", 'treated_share = "half"', ["treated_share", "expected a number"]),
    ("strength = 1.0", "strength = -1.0", ["targeting.strength", ">= 0"]),
    ("strength = 1.0\n", "", ["targeting.strength", "missing required field"]),
    ("strength = 1.0", "strength = 1.0\nclip = [0.2, 1.3]", ["targeting.clip", "0 <= low"]),
    ("pre_correlation = 0.5", "pre_correlation = 1.5",
     ["outcomes[0].pre_correlation", "<= 1"]),
    ('cate = "10 - 20 * share_fresh"', 'cate = "10 - 20 * share_fish"',
     ["outcomes[0].cate", "'share_fish'"]),
    ('mu0 = "0.5 * spend"\n', "", ["outcomes[0].mu0", "missing required field"]),
    ('noise = "normal"', 'noise = "cauchy"', ["outcomes[0].noise", "must be one of"]),
    ('noise = "normal"', 'noise = "student_t"', ["outcomes[0].df", "missing required"]),
    ("scale = 5.0", "scale = 5.0\ndf = 3", ["outcomes[0].df", "only used with"]),
    ("margin = 0.5", "margin = 1.5", ["economics.margin", "<= 1"]),
    ("margin = 0.5", "margin = 0", ["economics.margin", "> 0"]),
    ("cost = 1.0", "cost = -1.0", ["economics.cost", ">= 0"]),
    ("cost = 1.0", "cost = 1.0\ncots = 1.0", ["economics.cots", "unknown field"]),
    ("mean = 0.3", "mean = 1.3", ["covariates.columns[2].mean", "outside (0, 1)"]),
    ("concentration = 10", "concentration = 0",
     ["covariates.columns[2].concentration", "outside (0"]),
    ('distribution = "poisson"', 'distribution = "zipf"', ["distribution", "must be one of"]),
    ('name = "visits"', 'name = "spend"', ["covariates.columns[1].name", "defined twice"]),
    ('name = "visits"', 'name = "treatment"', ["reserved"]),
    ('name = "visits"', 'name = "two words"', ["not a valid column name"]),
    ('rate = "3 * exp(0.4 * engagement)"', 'rate = "visits + 1"',
     ["covariates.columns[1].rate", "'visits'"]),
    ('latent = ["engagement"]', 'latent = "engagement"', ["covariates.latent", "list of names"]),
    ("[economics]", "[economic]", ["economic", "unknown field"]),
    ("ate = { value = 4.0, tolerance = 1.0 }", "ate = { value = 4.0 }",
     ["expect.ate.tolerance", "missing"]),
    ("ate = { value = 4.0, tolerance = 1.0 }", "ate = { value = 4.0, tolerance = -1.0 }",
     ["expect.ate.tolerance", ">= 0"]),
    ("ate = { value = 4.0, tolerance = 1.0 }", "atee = { value = 4.0, tolerance = 1.0 }",
     ["expect.atee", "unknown field"]),
    ('name = "purchase_amount"', 'name = "pre_purchase_amount"', ["used twice"]),
    ("n = 200", "n = 200\nn = 300", ["not valid TOML"]),
]


@pytest.mark.parametrize(("old", "new", "words"), BAD_FIELDS)
def test_bad_field_is_named(write_world, old: str, new: str, words: list[str]) -> None:
    path = write_world(old=old, new=new)
    with pytest.raises(InputError) as info:
        # some faults (a share formula out of range) only show when drawn
        simulate_world(load_scenario(path), seed=0)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_valid_small_world_draws(write_world) -> None:
    world = simulate_world(write_world(), seed=0)
    assert world.cohort.n == 200
    assert world.cohort.roles.covariates == ("spend", "visits", "share_fresh")
    assert world.cohort.roles.pre_outcomes == {"purchase_amount": "pre_purchase_amount"}
    assert world.scenario.breakeven == pytest.approx(2.0)


def test_missing_file_and_unknown_name() -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_scenario("no/such/world.toml")
    with pytest.raises(InputError, match=r"bundled: .*overlap_violation"):
        load_scenario("no_such_world")


def test_bare_name_resolves_to_bundled_file() -> None:
    scenario = load_scenario("overlap_violation")
    assert scenario.path == bundled_scenario_dir() / "overlap_violation.toml"
    assert load_scenario("overlap_violation.toml").name == "overlap_violation"


def test_non_world_files_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "breakeven" not in list_scenarios()
    for name in list_scenarios():
        assert load_scenario(name).kind == "world"


def test_hidden_columns_stay_out_of_the_cohort(write_world) -> None:
    path = write_world(old='sdlog = 0.3', new='sdlog = 0.3\nhidden = true')
    world = simulate_world(path, seed=0)
    assert "spend" not in world.cohort.frame.columns
    assert "spend" in world.covariates.columns


def test_explicit_propensity_and_clip(write_world) -> None:
    path = write_world(old="score = \"log(spend)\"\nstrength = 1.0\ntreated_share = 0.5",
                       new="propensity = \"sigmoid(engagement)\"\nclip = [0.2, 0.7]")
    world = simulate_world(path, seed=0)
    p = world.truth["propensity"]
    assert p.min() >= 0.2 and p.max() <= 0.7
    both = write_world(old="strength = 1.0", new="strength = 1.0\npropensity = \"0.5\"")
    with pytest.raises(InputError, match="either 'propensity' or 'score'"):
        load_scenario(both)


def test_treated_share_is_hit_by_the_solved_intercept(write_world) -> None:
    path = write_world(old="treated_share = 0.5", new="treated_share = 0.3")
    world = simulate_world(path, seed=0, n=5000)
    assert world.truth["propensity"].mean() == pytest.approx(0.3, abs=1e-9)


def test_unreachable_treated_share(write_world) -> None:
    path = write_world(old="treated_share = 0.5", new="treated_share = 0.1\nclip = [0.3, 0.9]")
    with pytest.raises(InputError, match="cannot be reached"):
        simulate_world(path, seed=0)


def test_lognormal_noise_needs_positive_means(write_world) -> None:
    path = write_world(old='noise = "normal"', new='noise = "lognormal"')
    simulate_world(path, seed=0)  # mu0 > 0 and mu0 + cate > 0 here
    bad = write_world(old='noise = "normal"\nscale = 5.0',
                      new='noise = "lognormal"\nscale = 0.5', name="bad.toml")
    bad.write_text(bad.read_text().replace('mu0 = "0.5 * spend"', 'mu0 = "spend - 60"'))
    with pytest.raises(InputError, match="positive mean"):
        simulate_world(bad, seed=0)


def test_count_outcome_must_have_nonnegative_means(write_world, small_world_text: str) -> None:
    text = small_world_text.replace("[economics]", '''[[outcomes]]
name = "purchase_count"
type = "count"
mu0 = "visits"
cate = "-visits - 1"

[economics]''')
    with pytest.raises(InputError, match=r"purchase_count.*count outcome needs .* >= 0"):
        simulate_world(write_world(text), seed=0)


def test_binary_outcome(write_world, small_world_text: str) -> None:
    text = small_world_text.replace("[economics]", '''[[outcomes]]
name = "bought_fresh"
type = "binary"
mu0 = "share_fresh"
cate = "0.1 * (1 - share_fresh)"
pre_period = "pre_bought_fresh"

[economics]''')
    world = simulate_world(write_world(text), seed=0, n=20_000)
    frame, truth = world.cohort.frame, world.truth
    assert set(frame["bought_fresh"].unique()) <= {0.0, 1.0}
    mean = np.where(frame["treatment"] == 1, truth["mu1_bought_fresh"], truth["mu0_bought_fresh"])
    # the realized rate matches the mean probability within 5 binomial standard errors
    se = np.sqrt((mean * (1 - mean)).sum()) / len(mean)
    assert abs(frame["bought_fresh"].mean() - mean.mean()) < 5 * se
    assert "pre_bought_fresh" in frame.columns
    bad = write_world(text.replace('cate = "0.1 * (1 - share_fresh)"', 'cate = "1"'),
                      name="bad.toml")
    with pytest.raises(InputError, match=r"bought_fresh.*in \[0, 1\]"):
        simulate_world(bad, seed=0)


def test_dirichlet_shares_sum_to_one(write_world) -> None:
    path = write_world(old='''name = "share_fresh"
distribution = "beta"
mean = 0.3
concentration = 10''', new='''names = ["share_fresh", "share_grocery", "share_rest"]
distribution = "dirichlet"
weights = ["exp(engagement)", "2", "1"]
concentration = 30
hidden = ["share_rest"]''')
    world = simulate_world(path, seed=0)
    cov = world.covariates
    np.testing.assert_allclose(cov[["share_fresh", "share_grocery", "share_rest"]].sum(axis=1), 1)
    assert "share_rest" not in world.cohort.roles.covariates


def test_resampled_cohort_covariates(write_world, tmp_path: Path) -> None:
    source = simulate_world("good_overlap", seed=1, n=300)
    cohort_path = tmp_path / "cohort.parquet"
    save_cohort(cohort_path, source.cohort)
    text = '''
kind = "world"
name = "resampled"
n = 500

[covariates]
source = "cohort"
cohort = "cohort.parquet"
resample = ["monetary_sales", "share_fresh"]

[[covariates.columns]]
name = "spend_per_visit"
distribution = "formula"
value = "monetary_sales / 52"

[targeting]
score = "log(monetary_sales)"
strength = 3.0
treated_share = 0.4

[[outcomes]]
name = "purchase_amount"
mu0 = "spend_per_visit"
cate = "20 * share_fresh"
scale = 10.0
'''
    world = simulate_world(write_world(text), seed=2)
    frame = world.cohort.frame
    assert world.cohort.n == 500
    assert world.cohort.roles.covariates == ("monetary_sales", "share_fresh", "spend_per_visit")
    assert set(frame["monetary_sales"]) <= set(source.cohort.frame["monetary_sales"])
    # the cohort file can be overridden, also for a loaded scenario, and a bad one is named
    with pytest.raises(InputError, match="does not exist"):
        simulate_world(load_scenario(write_world(text), cohort=tmp_path / "none.parquet"))
    with pytest.raises(InputError, match="does not exist"):
        simulate_world(load_scenario(write_world(text)), cohort=tmp_path / "none.parquet")
    missing = write_world(text.replace('"share_fresh"]', '"share_fish"]'), name="m.toml")
    with pytest.raises(InputError, match="share_fish"):
        load_scenario(missing)


@pytest.mark.parametrize("n", [5, 10**9, 2.5, True])
def test_bad_n_argument(n: object) -> None:
    with pytest.raises(InputError, match="n must be an integer"):
        simulate_world("homogeneous", seed=0, n=n)  # type: ignore[arg-type]


def test_every_row_of_a_cohort_keeps_its_ids_and_segment(write_world, tmp_path: Path) -> None:
    source = simulate_world("overlap_violation", seed=3, n=250)
    frame = source.cohort.frame.copy()
    frame["customer_id"] = frame["customer_id"] * 10 + 7  # ids that are not 1..n
    cohort_path = tmp_path / "real.parquet"
    save_cohort(cohort_path, type(source.cohort).from_frame(frame, roles=source.cohort.roles))
    text = '''
kind = "world"
name = "as_is"

[covariates]
source = "cohort"
cohort = "real.parquet"
sampling = "all"

[targeting]
score = "log(monetary_sales)"
strength = 1.0
treated_share = 0.5

[[outcomes]]
name = "purchase_amount"
mu0 = "5 * monetary_sales"
cate = "10"
scale = 10.0
'''
    scenario = load_scenario(write_world(text))
    assert scenario.n == 250
    world = simulate_world(scenario, seed=0)
    assert list(world.cohort.frame["customer_id"]) == list(frame["customer_id"])
    assert list(world.truth["customer_id"]) == list(frame["customer_id"])
    np.testing.assert_array_equal(world.cohort.frame["share_fresh"], frame["share_fresh"])
    assert list(world.cohort.frame["segment"]) == list(frame["segment"])
    with pytest.raises(InputError, match="n cannot be 100"):
        simulate_world(scenario, seed=0, n=100)
    with pytest.raises(InputError, match="omit n"):
        load_scenario(write_world(text.replace('name = "as_is"', 'name = "as_is"\nn = 99'),
                                  name="n.toml"))
    with pytest.raises(InputError, match="only allowed with source = 'cohort'"):
        load_scenario(write_world(text.replace('source = "cohort"', 'source = "generated"'),
                                  name="g.toml"))
