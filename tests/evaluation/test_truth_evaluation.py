"""Checks against independent truth."""
