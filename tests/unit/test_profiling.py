from ml_platform import profiling


def test_profile_round_trips_and_summarises(feature_frame, tmp_path):
    frame = feature_frame.drop("flight_id", "flight_date").head(1000)
    view = profiling.profile(frame)
    path = profiling.write(view, tmp_path / "p.bin")
    again = profiling.read(path)
    assert set(again.get_columns()) == set(frame.columns)
    summary = profiling.summary(again)
    row = summary.filter(summary["column"] == "temp").row(0, named=True)
    assert row["count"] == 1000
    assert abs(row["mean"] - frame["temp"].mean()) < 1e-6
    assert [p.name for p in tmp_path.iterdir()] == ["p.bin"]
