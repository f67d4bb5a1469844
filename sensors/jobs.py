"""Named jobs: what the sensors launch, and what a person launches and reads in the UI.

A sensor that requests runs must name its target, or Dagster's sensor daemon rejects every tick.
"""

import dagster as dg

from assets.dbt import daily_dbt_models, reference_dbt_models
from assets.keys import BENTO, CANDIDATE, CHAMPION, FEATURE_PROFILE, LIVE_PERFORMANCE, ONLINE_FEATURES, REFERENCE, SERVICE
from assets.raw import REFERENCE_TABLES
from ml_platform.landing import DAILY_TABLES

RETRAIN_ASSETS = [CANDIDATE, CHAMPION, REFERENCE, ONLINE_FEATURES, BENTO, SERVICE]

daily_data_job = dg.define_asset_job(
    "daily_data_job",
    selection=dg.AssetSelection.assets(*(["raw", t] for t in DAILY_TABLES), daily_dbt_models, FEATURE_PROFILE,
                                       LIVE_PERFORMANCE),
    description="A day (or a range of days, in one run): raw -> staging -> features -> monitoring, with their checks.",
)

reference_tables_job = dg.define_asset_job(
    "reference_tables_job",
    selection=dg.AssetSelection.assets(*(["raw", t] for t in REFERENCE_TABLES), reference_dbt_models),
    description="The unpartitioned reference tables (planes, airlines, airports) and their staging views.",
)

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.assets(*RETRAIN_ASSETS),
    description="A candidate of one model spec -> the promotion gate -> reference profile -> bento -> service.",
)

jobs = [daily_data_job, reference_tables_job, retrain_job]
