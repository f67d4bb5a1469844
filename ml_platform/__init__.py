"""ml-platform engine: plain Python, importable and testable without Dagster."""
