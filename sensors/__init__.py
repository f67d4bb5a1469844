"""Sensors, schedules and automation conditions (landing-zone and drift sensors live here)."""
