import pytest

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


def test_a_profile_holds_only_its_own_frames_columns(feature_frame):
    """whylogs schemas remember the columns they resolved: a day's profile must not inherit the last one's."""
    import polars as pl

    profiling.profile(pl.DataFrame({"prediction": [0.1, 0.7]}))
    assert set(profiling.profile(feature_frame.select("temp", "carrier")).get_columns()) == {"temp", "carrier"}


def test_drift_scores_see_a_shift_and_not_a_resample(feature_frame):
    import polars as pl

    columns = ["temp", "carrier"]
    reference = profiling.profile(feature_frame.select(columns).head(3000))
    resample = profiling.profile(feature_frame.select(columns).tail(3000))
    shifted = profiling.profile(feature_frame.select(columns).tail(3000).with_columns(
        pl.col("temp") + 120, pl.lit("ZZ").alias("carrier")))
    calm = profiling.drift_scores(resample, reference, columns)
    moved = profiling.drift_scores(shifted, reference, columns)
    assert calm["temp"]["algorithm"] == "ks" and calm["carrier"]["algorithm"] == "total_variation"
    assert calm["temp"]["score"] < 0.1 and calm["carrier"]["score"] < 0.1
    assert moved["temp"]["score"] > 0.5 and moved["carrier"]["score"] > 0.9


def test_ks_statistic_is_whylogs_ks_test_statistic(feature_frame):
    """The D we compute straight from the sketches is the one whylogs' own KS test reports."""
    from datetime import date

    import polars as pl
    from whylogs.viz.drift.column_drift_algorithms import KS

    frame = feature_frame.drop("flight_id")
    early = profiling.profile(frame.filter(pl.col("flight_date") < date(2013, 2, 1)).drop("flight_date"))
    spring = frame.filter(pl.col("flight_date") >= date(2013, 3, 1)).drop("flight_date")
    late = profiling.profile(spring.with_columns(pl.col("temp") + 15))
    numeric = [name for name in early.get_columns() if KS().calculate(late.get_column(name), early.get_column(name))]
    assert {"temp", "distance", "route_delay_rate_28d"} <= set(numeric)
    for name in numeric:
        expected = KS().calculate(late.get_column(name), early.get_column(name)).statistic
        assert profiling.ks_statistic(early.get_column(name), late.get_column(name)) == pytest.approx(expected, abs=1e-12)
    # temp is uniform on [-60, 100]: shifted by 15 its D is 15 / 160, up to the sketches' rank error (~0.01)
    shifted = profiling.ks_statistic(early.get_column("temp"), late.get_column("temp"))
    unshifted = profiling.ks_statistic(early.get_column("temp"), profiling.profile(spring).get_column("temp"))
    assert shifted == pytest.approx(15 / 160, abs=0.02) and unshifted < 0.05
    assert profiling.ks_statistic(early.get_column("carrier"), late.get_column("carrier")) is None  # a category


def test_trailing_merges_are_each_days_window_with_gaps_and_any_start():
    """Each window counts exactly the rows of the days it covers; days without a profile are skipped."""
    from datetime import date, timedelta

    import polars as pl

    start = date(2013, 3, 1)
    sizes = {start + timedelta(days=n): 10 + n for n in range(30) if n not in (4, 12, 13)}  # three missing days
    views = {day: profiling.profile(pl.DataFrame({"x": list(range(rows))})) for day, rows in sizes.items()}
    for width in (1, 3, 7):
        for first in (start + timedelta(days=6), start + timedelta(days=15)):
            days = [d for d in sorted(sizes) if d >= first]
            windows = profiling.trailing_merges(views, days, width)
            assert list(windows) == days
            for day, window in windows.items():
                expected = sum(rows for d, rows in sizes.items() if 0 <= (day - d).days < width)
                assert window.get_column("x").get_metric("counts").n.value == expected, (width, day)


def test_fast_profile_is_whylogs_generic_profile(feature_frame):
    """Strings as pandas strings and finite float columns declared homogeneous: the profile whylogs
    makes from plain object/float columns, value for value, with nulls, NaN and inf where they occur."""
    import polars as pl
    import whylogs as why
    from whylogs.core.schema import DeclarativeSchema

    frame = feature_frame.drop("flight_id", "flight_date").head(500).with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col("dest")).alias("dest"),
        pl.when(pl.int_range(pl.len()) == 3).then(float("nan")).when(pl.int_range(pl.len()) == 5)
        .then(float("inf")).otherwise(pl.col("humid")).alias("humid"),
        pl.when(pl.int_range(pl.len()) == 9).then(None).otherwise(pl.col("temp")).alias("temp"),
        pl.col("month").round().cast(pl.Int64),
        pl.when(pl.int_range(pl.len()) % 11 == 0).then(None).otherwise(pl.col("plane_age").round().cast(pl.Int64))
        .alias("plane_age"),
    )
    assert frame["carrier"].null_count() == 0 and frame["visib"].null_count() == 0  # the fast paths are taken too
    generic = why.log(pandas=frame.to_pandas(use_pyarrow_extension_array=False),
                      schema=DeclarativeSchema(profiling.RESOLVERS)).view().to_pandas()
    fast = profiling.profile(frame).to_pandas()
    assert list(fast.index) == list(generic.index) and list(fast.columns) == list(generic.columns)
    for column in generic.index:
        assert fast.loc[column].astype(str).to_dict() == generic.loc[column].astype(str).to_dict(), column
    assert fast.loc["humid", "counts/inf"] == 1 and fast.loc["humid", "counts/nan"] == 1
    assert fast.loc["dest", "counts/null"] == len(range(0, 500, 7))
