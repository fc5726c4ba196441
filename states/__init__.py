"""Workflow definitions as data: one TOML file per workflow and version."""
