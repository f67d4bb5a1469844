import pytest

from ml_platform import settings


def test_rejects_unknown_environment(monkeypatch):
    monkeypatch.setenv("ML_PLATFORM_ENV", "prod")
    settings.get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="ML_PLATFORM_ENV='prod'"):
            settings.get_settings()
    finally:
        monkeypatch.delenv("ML_PLATFORM_ENV")
        settings.get_settings.cache_clear()


def test_all_state_lives_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ML_PLATFORM_HOME", str(tmp_path))
    settings.get_settings.cache_clear()
    try:
        s = settings.get_settings()
        assert s.env == "local"
        for path in (s.lake, s.duckdb_path, s.bentoml_home, s.dagster_home, s.serving_dir):
            assert path.is_relative_to(tmp_path)
        assert s.mlflow_tracking_uri == f"sqlite:///{tmp_path}/mlflow/mlflow.db"
        assert s.mlflow_artifact_root.startswith(tmp_path.as_uri())
    finally:
        settings.get_settings.cache_clear()
