"""Dagster resources: thin ConfigurableResource wrappers over the engine's state locations."""
