"""Asset keys that more than one module names, defined once: the assets, checks, jobs and sensors import them.

dbt's own assets (``staging/*``, ``features/flight_features``) get their keys from the translator in
``assets/dbt.py``; the key of the features table is repeated here because Python assets and checks
hang under it by name.
"""

import dagster as dg

FEATURES = dg.AssetKey(["features", "flight_features"])
CANDIDATE = dg.AssetKey(["models", "candidate"])
CHAMPION = dg.AssetKey(["models", "champion"])
REFERENCE = dg.AssetKey(["monitoring", "reference_profile"])
FEATURE_PROFILE = dg.AssetKey(["monitoring", "feature_profile"])
LIVE_PERFORMANCE = dg.AssetKey(["monitoring", "live_performance"])
ONLINE_FEATURES = dg.AssetKey(["serving", "online_features"])
BENTO = dg.AssetKey(["serving", "bento"])
SERVICE = dg.AssetKey(["serving", "service"])
