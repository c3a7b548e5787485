"""Planning an A/B test that can confirm observational estimates.

Sizing (fixed-sample and group-sequential), variance reduction, strata, the staged
rollout plan, and the ``design.json`` document that assignment, interim checks and
evaluation read (:func:`load_design`). :func:`plan_design` is the Python API behind
``rollout design``.
"""

from rollout.planning.design import DESIGN_SCHEMA, Design, load_design, save_design, validate_design
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.power import FixedSizing, solve_fixed
from rollout.planning.sequential import SequentialDesign, efficacy_boundaries, sequential_design

__all__ = [
    "DESIGN_SCHEMA",
    "Design",
    "DesignRequest",
    "FixedSizing",
    "SequentialDesign",
    "efficacy_boundaries",
    "load_design",
    "plan_design",
    "save_design",
    "sequential_design",
    "solve_fixed",
    "validate_design",
]
