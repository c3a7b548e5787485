"""A seeded sample of the cohort, stratified by treatment and drawn on the engine.

``rollout cohort --sample N`` keeps ``N`` of the households that pass the design, so that the
features are computed, and ``analyze`` fits, on a sample of a large customer base. The draw:

1. the arms get ``N`` in proportion to their sizes: ``n_treated = round(N * N_treated / N_total)``
   (halves rounded up), ``n_control = N - n_treated``; each must be at least 2, and ``N`` at most
   the cohort (both refused with a message that says so);
2. within each arm, the households with the smallest keys are kept, the key being SHA-256 of
   ``salt + ":sample:" + seed + ":" + customer_id`` as 64 hex digits (ties, which SHA-256 makes
   practically impossible, broken by the lower id).

The key depends on nothing but the id, the salt and the seed, and the ordering is on the hex
text, so DuckDB and Spark keep the same households, and anyone can recompute the sample with
any SHA-256 tool. It is one SQL text (:data:`SAMPLE_SQL`) that both engines run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.data.engines import SqlEngine
from rollout.errors import InputError

STEP_SAMPLE = "sample: households kept, stratified by treatment (keyed hash)"
METHOD = ("stratified by treatment, proportional allocation (halves rounded up); within each "
          "arm the households with the smallest SHA-256(key + ':' + customer_id) hex digest")

#: The sampled index: the first n_treated / n_control households of each arm in key order.
SAMPLE_SQL = """
SELECT r.customer_id, r.treatment, r.index_week, r.index_campaign_id, r.index_day
FROM (
    SELECT i.customer_id, i.treatment, i.index_week, i.index_campaign_id, i.index_day,
           ROW_NUMBER() OVER (PARTITION BY i.treatment ORDER BY
               sha2(CONCAT(p.sample_key, ':', CAST(i.customer_id AS STRING)), 256),
               i.customer_id) AS k
    FROM population_index i CROSS JOIN sample_params p
) r
CROSS JOIN sample_params p
WHERE (r.treatment = 1 AND r.k <= p.n_treated) OR (r.treatment = 0 AND r.k <= p.n_control)
"""


def sample_key(salt: str, seed: int) -> str:
    """The hash key of the sample drawn with ``seed`` from a cohort built with ``salt``.

    >>> sample_key("rollout.cohort.v1", 0)
    'rollout.cohort.v1:sample:0'
    """
    return f"{salt}:sample:{int(seed)}"


def allocate(n: int, n_treated: int, n_control: int) -> tuple[int, int]:
    """The sample size of each arm: proportional to the arms, at least 2 each.

    >>> allocate(100, 300, 700)
    (30, 70)
    >>> try:
    ...     allocate(10, 100, 5)
    ... except InputError as exc:
    ...     print(exc.message.split("; ")[-1])
    each arm needs at least 2: use a sample of 32 or more
    """
    total = n_treated + n_control
    if n < 4:
        raise InputError(f"a sample needs at least 2 households per arm, so at least 4; got {n}",
                         argument="sample")
    if n > total:
        raise InputError(f"a sample of {n:,} households is more than the cohort's {total:,} "
                         f"({n_treated:,} treated, {n_control:,} control): use a sample "
                         f"of {total:,} or less, or none", argument="sample")
    for arm, size in (("treated", n_treated), ("control", n_control)):
        if size < 2:
            raise InputError(f"the cohort has {size} {arm} household(s); a sample needs at "
                             "least 2 per arm", argument="sample")
    take_treated, take_control = _split(n, n_treated, n_control)
    for arm, taken, size in (("treated", take_treated, n_treated),
                             ("control", take_control, n_control)):
        if taken < 2:
            smallest = max(4, -(-3 * total // (2 * size)))  # where this arm's share reaches 1.5
            while min(_split(smallest, n_treated, n_control)) < 2:
                smallest += 1
            raise InputError(
                f"a sample of {n:,} households keeps {taken} {arm} (the arm is {size:,} of "
                f"{total:,}); each arm needs at least 2: use a sample of {smallest:,} or more",
                argument="sample")
    return take_treated, take_control


def _split(n: int, n_treated: int, n_control: int) -> tuple[int, int]:
    total = n_treated + n_control
    take_treated = (2 * n * n_treated + total) // (2 * total)
    return take_treated, n - take_treated


@dataclass(frozen=True)
class CohortSample(DisplayMixin):
    """How a sample was drawn and how large it is per arm, beside the population it came from."""

    n: int
    seed: int
    key: str
    population_treated: int
    population_control: int
    sample_treated: int
    sample_control: int

    def to_dict(self) -> dict[str, Any]:
        """What the cohort records of its sample (metadata and ``--json``)."""
        return {"n": self.n, "seed": self.seed, "key": self.key, "method": METHOD,
                "population": {"treated": self.population_treated,
                               "control": self.population_control},
                "sample": {"treated": self.sample_treated, "control": self.sample_control}}

    def attrition_row(self) -> dict[str, Any]:
        """The attrition table's row for the sample step."""
        total = self.sample_treated + self.sample_control
        return {"step": STEP_SAMPLE, "n_treated": self.sample_treated,
                "n_control": self.sample_control, "n_total": total,
                "dropped": self.population_treated + self.population_control - total}


def sample_on_engine(engine: SqlEngine, n: int, *, seed: int, salt: str, n_treated: int,
                     n_control: int) -> CohortSample:
    """Replace ``cohort_index`` in ``engine`` by its sample of ``n`` (see the module docstring).

    ``n_treated`` and ``n_control`` are the sizes of the arms of ``cohort_index``.
    """
    take_treated, take_control = allocate(int(n), n_treated, n_control)
    key = sample_key(salt, seed)
    engine.register("sample_params", pd.DataFrame({
        "sample_key": [key], "n_treated": [take_treated], "n_control": [take_control]}).astype(
            {"sample_key": object}))
    engine.create_table("population_index", "SELECT * FROM cohort_index")
    engine.create_table("cohort_index", SAMPLE_SQL, keep=True)
    return CohortSample(n=int(n), seed=int(seed), key=key, population_treated=n_treated,
                        population_control=n_control, sample_treated=take_treated,
                        sample_control=take_control)
