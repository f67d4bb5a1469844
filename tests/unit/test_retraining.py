from datetime import date, timedelta

from ml_platform.retraining import CursorState, RetrainPolicy, Signal, decide, evaluate

POLICY = RetrainPolicy(drift_threshold=0.2, feature_thresholds={"temp": 0.5}, cooldown_days=7)
D0 = date(2013, 6, 1)


def day(n, drift=None, auc=None):
    return Signal(D0 + timedelta(days=n), drift or {"humid": 0.05, "temp": 0.1}, live_auc=auc)


def test_no_drift_no_request():
    decisions, _ = evaluate([day(i) for i in range(5)], POLICY, 0.72, CursorState())
    assert [d.retrain for d in decisions] == [False] * 5


def test_drift_above_a_per_feature_threshold_requests_a_retrain_naming_it():
    assert not decide(day(0, {"temp": 0.45}), POLICY, None, CursorState()).retrain  # under temp's 0.5
    decision = decide(day(0, {"temp": 0.6, "humid": 0.01}), POLICY, None, CursorState())
    assert decision.retrain and "temp 0.60" in decision.reason


def test_live_auc_drop_alone_requests_a_retrain():
    decision = decide(day(0, auc=0.60), POLICY, reference_auc=0.72, state=CursorState())
    assert decision.retrain and "live AUC 0.600" in decision.reason


def test_cooldown_holds_a_noisy_week_to_one_retrain():
    noisy = [day(i, {"humid": 0.9}) for i in range(10)]
    decisions, state = evaluate(noisy, POLICY, None, CursorState())
    assert [d.retrain for d in decisions] == [True] + [False] * 6 + [True] + [False] * 2
    assert "cool-down" in decisions[1].reason
    assert state.last_retrain_day == D0 + timedelta(days=7)


def test_cursor_never_decides_the_same_day_twice():
    signals = [day(0, {"humid": 0.9}), day(1)]
    first, state = evaluate(signals, POLICY, None, CursorState())
    again, same = evaluate(signals, POLICY, None, CursorState.from_dict(state.to_dict()))
    assert len(first) == 2 and again == [] and same == state


def test_a_small_day_must_drift_beyond_sampling_noise():
    scores = {"humid": 0.27}
    assert POLICY.drifted(scores, rows=900) == scores  # 0.27 is far above a full day's noise floor (0.065)
    assert POLICY.drifted(scores, rows=50) == {}  # but within chance for 50 flights (floor 0.28)


def test_calendar_features_are_not_monitored_and_the_first_model_waits_for_the_warm_up():
    assert POLICY.drifted({"month": 1.0, "day_of_week": 1.0}) == {}
    early = decide(day(0), POLICY, None, CursorState(), first_day=D0, has_champion=False)
    assert not early.retrain and "warm-up" in early.reason
    ready = decide(day(60), POLICY, None, CursorState(), first_day=D0, has_champion=False)
    assert ready.retrain and "first model" in ready.reason


def test_retrain_window_holds_out_the_newest_days_and_starts_at_the_data():
    window = RetrainPolicy(valid_days=28, train_days=273).retrain_window(date(2013, 3, 31), first_day=date(2013, 1, 1))
    assert (window.valid_start, window.valid_end) == (date(2013, 3, 4), date(2013, 3, 31))
    assert window.train_start == date(2013, 1, 1) and window.train_end == date(2013, 3, 3)
