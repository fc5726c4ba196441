"""Jinja templates shipped with the package."""
