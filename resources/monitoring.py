"""The monitoring policy (drift thresholds, retrain rules) and where alerts go, configurable in one place."""

from typing import Any

import dagster as dg

from ml_platform import alerts
from ml_platform.retraining import RetrainPolicy


class MonitoringResource(dg.ConfigurableResource):
    """Thresholds shared by the drift check and the retrain sensor; the alert webhook is off by default.

    ``feature_thresholds`` override the defaults per feature (weather features default to 0.6).
    """

    drift_threshold: float = RetrainPolicy.drift_threshold
    feature_thresholds: dict[str, float] = {}
    max_auc_drop: float = RetrainPolicy.max_auc_drop
    cooldown_days: int = RetrainPolicy.cooldown_days
    warmup_days: int = RetrainPolicy.warmup_days
    train_days: int = RetrainPolicy.train_days
    valid_days: int = RetrainPolicy.valid_days
    reference_days: int = 28  # the reference profile: the newest days the champion was evaluated on
    retrain_specs: list[str] = ["lightgbm"]
    alert_webhook: str = ""

    def policy(self) -> RetrainPolicy:
        return RetrainPolicy(
            drift_threshold=self.drift_threshold,
            feature_thresholds={**RetrainPolicy().feature_thresholds, **self.feature_thresholds},
            max_auc_drop=self.max_auc_drop,
            cooldown_days=self.cooldown_days,
            warmup_days=self.warmup_days,
            train_days=self.train_days,
            valid_days=self.valid_days,
        )

    def alert(self, event: dict[str, Any]) -> bool:
        return alerts.notify(self.alert_webhook or None, event)
