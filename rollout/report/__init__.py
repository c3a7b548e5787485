"""The HTML report: one self-contained file a person can open, built from result objects."""

from rollout.report.html import Report, Section

__all__ = ["Report", "Section"]
