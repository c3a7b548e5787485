"""rollout: from campaign history to a validated, staged rollout.

The package is organised by stage of the loop described in ``docs/architecture.md``:
``rollout.data`` builds the study cohort, ``rollout.estimation`` and ``rollout.policy`` estimate
for whom a campaign pays, ``rollout.planning`` turns that into an A/B design and assignment,
``rollout.evaluation`` reads the returned test, and ``rollout.simulate`` makes worlds with known
truth. The command line (``rollout.cli``) only parses, calls these functions and renders.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rollout")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
