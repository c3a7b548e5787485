"""Shared test configuration: puts this folder on the path for ``calibration``."""
