from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

ONLINE_DAY = date(2013, 4, 10)


@pytest.fixture(scope="session")
def online_warehouse(tmp_path_factory):
    """A DuckDB file with staging tables shaped like dbt's, over the 40 days up to ONLINE_DAY.

    Codes come from the synthetic frame's vocabulary ("AA", "B6", "UA", "DL" for every categorical), so a
    model trained on ``feature_frame`` knows them. Every flight of ONLINE_DAY itself is delayed: an
    aggregate that counted the day's own outcomes would show it.
    """
    import duckdb

    rng = np.random.default_rng(3)
    rows = []
    for offset in range(-40, 1):
        day = ONLINE_DAY + timedelta(days=offset)
        for i in range(int(rng.integers(4, 12))):
            origin = str(rng.choice(["AA", "UA"]))
            rows.append({"flight_id": f"{day}-{i}", "flight_date": day, "carrier": str(rng.choice(["UA", "B6"])),
                         "origin": origin, "dest": str(rng.choice(["DL", "B6"])),
                         "sched_dep_hour": int(rng.choice([8, 17])), "sched_arr_hour": 20, "distance": 500,
                         "tailnum": str(rng.choice(["N1", "N2", "N3"])), "flight": i, "sched_dep_time": 800,
                         "is_delayed": True if offset == 0 else bool(rng.uniform() < 0.3)})
    flights = pl.DataFrame(rows)
    weather = pl.DataFrame({"weather_date": [ONLINE_DAY] * 3, "origin": ["AA", "AA", "UA"], "hour": [8, 17, 8],
                            "temp": [50.0, 55.0, 48.0], "humid": [60.0, 65.0, 70.0], "wind_speed": [10.0, 12.0, 8.0],
                            "precip": [0.0, 0.1, 0.0], "visib": [10.0, 6.0, 10.0]})
    planes = pl.DataFrame({"tailnum": ["N1", "N2"], "plane_year": [2001, None], "seats": [150, 55]},
                          schema_overrides={"plane_year": pl.Int64})
    path = tmp_path_factory.mktemp("online") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema staging")
        for name, frame in (("stg_flights", flights), ("stg_weather", weather), ("stg_planes", planes)):
            con.register("frame", frame.to_arrow())
            con.execute(f"create table staging.{name} as select * from frame")
            con.unregister("frame")
    return path, flights
