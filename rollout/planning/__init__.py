"""Planning an A/B test that can confirm observational estimates.

Sizing (fixed-sample and group-sequential), variance reduction, strata, the staged
rollout plan, and the ``design.json`` document that assignment, interim checks and
evaluation read.
"""

from rollout.planning.design import DESIGN_SCHEMA, Design, load_design, save_design, validate_design

__all__ = ["DESIGN_SCHEMA", "Design", "load_design", "save_design", "validate_design"]
