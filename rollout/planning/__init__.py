"""Planning an A/B test that can confirm observational estimates.

Sizing (fixed-sample and group-sequential), variance reduction, strata, the staged
rollout plan, and the ``design.json`` document that assignment, interim checks and
evaluation read (:func:`load_design`) into a typed :class:`Design`: its looks
(:class:`Look`), spending plan (:class:`SpendingPlan`, whose :meth:`SpendingPlan.boundaries`
recomputes boundaries at the information actually reached), phases (:class:`Phase`) and
expected stratum sizes (:class:`StratumSize`). :func:`plan_design` is the Python API behind
``rollout design``.
"""

from rollout.planning.design import (
    DESIGN_SCHEMA,
    Design,
    Look,
    Phase,
    StratumSize,
    TestEstimand,
    load_design,
    save_design,
    validate_design,
)
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.power import FixedSizing, solve_fixed
from rollout.planning.sequential import (
    Boundaries,
    SequentialDesign,
    SpendingPlan,
    efficacy_boundaries,
    sequential_design,
)

__all__ = [
    "DESIGN_SCHEMA",
    "Boundaries",
    "Design",
    "DesignRequest",
    "FixedSizing",
    "Look",
    "Phase",
    "SequentialDesign",
    "SpendingPlan",
    "StratumSize",
    "TestEstimand",
    "efficacy_boundaries",
    "load_design",
    "plan_design",
    "save_design",
    "sequential_design",
    "solve_fixed",
    "validate_design",
]
