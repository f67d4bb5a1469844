{{ daily_partition_config('flight_date') }}
-- One row per scheduled flight, with the label; daily partitions, rebuilt per partition window.
-- Label: arrival delay > 15 min. Cancelled (no departure) and diverted (no arrival delay) flights
-- count as delayed: for the traveller they are worse than a late arrival.
select
    md5(concat_ws('|', year, month, day, carrier, flight, origin, sched_dep_time)) as flight_id,
    make_date(year, month, day) as flight_date,
    year, month, day,
    isodow(make_date(year, month, day)) as day_of_week,
    carrier,
    flight,
    tailnum,
    origin,
    dest,
    sched_dep_time,
    sched_arr_time,
    sched_dep_time // 100 as sched_dep_hour,
    sched_arr_time // 100 as sched_arr_hour,
    distance,
    dep_delay,
    arr_delay,
    dep_time is null as cancelled,
    (arr_delay is null or arr_delay > 15) as is_delayed
from {{ source('raw', 'flights') }}
where {{ in_partition_window('make_date(year, month, day)') }}
