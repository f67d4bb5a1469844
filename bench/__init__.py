"""Benchmarks: each writes bench/results/<name>.json with the machine noted; never timed assertions."""
