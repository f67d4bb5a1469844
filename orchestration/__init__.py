"""The orchestration layer: the Dagster composition root, the ``ml-platform`` CLI and the replay.

It imports the engine (``ml_platform``) and the Dagster layers (``assets``, ``resources``, ``sensors``);
nothing imports it but its entry points (``ml-platform``, ``workspace.yaml``, the image's code server).
"""
