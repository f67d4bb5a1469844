"""The code location loads, validates, and has the graph a reviewer expects."""

import dagster as dg

from assets import keys
from ml_platform.specs import SPECS
from orchestration.definitions import defs

EXPECTED_ASSETS = {
    "raw/flights", "raw/weather", "raw/planes", "raw/airlines", "raw/airports",
    "staging/flights", "staging/weather", "staging/planes", "staging/airlines", "staging/airports",
    "features/flight_features",
    "models/candidate", "models/champion",
    "serving/online_features", "serving/bento", "serving/service", "serving/k8s_manifests", "serving/batch_predictions",
    "serving/champion_vs_challenger",
    "monitoring/reference_profile", "monitoring/feature_profile", "monitoring/live_performance",
    "monitoring/retrain_decisions",
}
DAILY_ASSETS = {"raw/flights", "raw/weather", "staging/flights", "staging/weather", "features/flight_features",
                "monitoring/feature_profile", "monitoring/live_performance"}


def test_definitions_validate():
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == EXPECTED_ASSETS
    deps = {key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
            for key in graph.get_all_asset_keys()}
    assert deps["features/flight_features"] == {"staging/flights", "staging/weather", "staging/planes"}
    assert deps["models/candidate"] == {"features/flight_features"}
    assert deps["serving/online_features"] == {"staging/flights", "staging/weather", "staging/planes"}
    assert deps["serving/service"] == {"serving/bento", "serving/online_features"}
    assert deps["serving/k8s_manifests"] == {"serving/bento", "serving/online_features"}
    assert deps["serving/batch_predictions"] == {"features/flight_features", "models/champion"}
    # it reads the champion and challenger aliases, which the gate (models/champion) sets
    assert deps["serving/champion_vs_challenger"] == {"features/flight_features", "models/champion"}
    assert graph.get(dg.AssetKey(["staging", "flights"])).group_name == "staging"
    assert deps["raw/flights"] == {"raw/airlines", "raw/airports"}  # the contract's code lists
    assert deps["monitoring/reference_profile"] == {"models/champion"}
    assert deps["monitoring/feature_profile"] == {"features/flight_features", "monitoring/reference_profile"}
    assert deps["monitoring/live_performance"] == {"features/flight_features"}  # scores with whoever is champion


def test_shared_asset_keys_name_assets_of_the_graph():
    """assets/keys.py holds each shared key once; the features key is the one dbt's translator gives the model."""
    from dagster_dbt import get_asset_key_for_model

    from assets.dbt import daily_dbt_models

    assert keys.FEATURES == get_asset_key_for_model([daily_dbt_models], "flight_features")
    graph_keys = defs.resolve_asset_graph().get_all_asset_keys()
    shared = [value for value in vars(keys).values() if isinstance(value, dg.AssetKey)]
    assert shared and set(shared) <= graph_keys


def test_daily_layers_are_partitioned_and_backfill_in_one_run():
    graph = defs.resolve_asset_graph()
    daily = {key.to_user_string() for key in graph.get_all_asset_keys()
             if isinstance(graph.get(key).partitions_def, dg.TimeWindowPartitionsDefinition)}
    assert daily == DAILY_ASSETS
    for name in DAILY_ASSETS:
        node = graph.get(dg.AssetKey.from_user_string(name))
        keys = node.partitions_def.get_partition_keys()
        assert (keys[0], keys[-1], len(keys)) == ("2013-01-01", "2013-12-31", 365)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    dbt_daily = defs.resolve_assets_def(dg.AssetKey(["features", "flight_features"]))
    assert dbt_daily.op.pool == "duckdb"


def test_contracts_and_leakage_are_blocking_checks():
    checks = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    raw = {f"raw/{t}" for t in ("flights", "weather", "planes", "airlines", "airports")}
    assert {(key, "contract") for key in raw} | {("features/flight_features", "check_no_leakage")} <= checks
    for key in raw:
        [spec] = [s for s in defs.resolve_assets_def(dg.AssetKey.from_user_string(key)).check_specs
                  if s.name == "contract"]
        assert spec.blocking
    from assets.features import check_no_leakage

    assert [spec.blocking for spec in check_no_leakage.check_specs] == [True]


def test_sensors_are_registered_and_running_by_default():
    for name in ("landing_sensor", "retrain_sensor", "failure_alert_sensor"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def _job_assets(name: str) -> set[str]:
    from sensors.jobs import jobs

    [job] = [j for j in jobs if j.name == name]
    return {k.to_user_string() for k in job.selection.resolve(defs.resolve_asset_graph())}


def test_sensors_that_request_runs_name_their_job():
    # Dagster's daemon rejects every tick of a sensor that returns run requests without a target
    assert defs.resolve_sensor_def("landing_sensor").job_name == "daily_data_job"
    assert defs.resolve_sensor_def("retrain_sensor").job_name == "retrain_job"
    assert _job_assets("daily_data_job") == DAILY_ASSETS
    assert _job_assets("reference_tables_job") == {f"{layer}/{t}" for layer in ("raw", "staging")
                                                   for t in ("planes", "airlines", "airports")}


def test_drift_is_a_warning_check_and_the_retrain_sensor_targets_the_model_to_service_path():
    profile = defs.resolve_assets_def(dg.AssetKey(["monitoring", "feature_profile"]))
    assert [(s.name, s.blocking) for s in profile.check_specs] == [("feature_drift", False)]
    assert _job_assets("retrain_job") == {"models/candidate", "models/champion", "monitoring/reference_profile",
                                          "serving/online_features", "serving/bento", "serving/service"}


def test_promotion_gate_is_a_blocking_check_and_dbt_tests_are_checks():
    champion = defs.resolve_assets_def(dg.AssetKey(["models", "champion"]))
    gate = {spec.name: spec for spec in champion.check_specs}["promotion_gate"]
    assert gate.blocking
    checks = defs.resolve_asset_graph().asset_check_keys
    dbt_checks = {k.name for k in checks if k.asset_key == dg.AssetKey(["features", "flight_features"])}
    assert {"unique_flight_features_flight_id", "not_null_flight_features_is_delayed"} <= dbt_checks


def test_candidates_are_partitioned_by_model_spec():
    candidate = defs.resolve_assets_def(dg.AssetKey(["models", "candidate"]))
    assert set(candidate.partitions_def.get_partition_keys()) == set(SPECS) >= {"lightgbm", "torch_mlp"}
