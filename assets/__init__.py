"""Dagster assets and checks, one module per layer."""
