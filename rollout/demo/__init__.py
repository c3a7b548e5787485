"""The whole loop on the embedded Complete Journey data, with a simulated A/B return.

``rollout demo`` is the answer to "what does this tool do?": it builds the study cohort from the
embedded history, runs the observational analysis, sizes a sequential A/B test, assigns the
customers, simulates the test's return on those same customers from a world whose true effect is
known (``ab_world.toml`` beside this file), takes the decision at the first interim look, and
evaluates the completed test against the truth. Every stage writes the same plain files its own
command would, into one folder, and ``report.html`` ties them together.
"""

from rollout.demo.run import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]
