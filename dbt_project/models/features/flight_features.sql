{{ daily_partition_config('flight_date') }}
-- One row per flight: what is known when the flight is scheduled on day D.
-- Point-in-time rule: schedule, plane and the origin's weather at the scheduled hour of D, plus
-- aggregates over days strictly before D (windows end at `1 day preceding`). Never D's outcomes.
-- A run builds the days of its partition window; the aggregates read the 28 days before it from staging.
with history as (
    select * from {{ ref('stg_flights') }}
    where {{ in_partition_window('flight_date', days_before=28) }}
),
flights as (
    select * from history where {{ in_partition_window('flight_date') }}
),

daily_carrier as (
    select carrier, flight_date, count(*) as n, sum(is_delayed::int) as delayed
    from history group by all
),
daily_route as (
    select origin, dest, flight_date, count(*) as n, sum(is_delayed::int) as delayed
    from history group by all
),
daily_origin_hour as (
    select origin, sched_dep_hour, flight_date, count(*) as n, sum(is_delayed::int) as delayed
    from history group by all
),
daily_origin as (
    select origin, flight_date, count(*) as n from history group by all
),

carrier_7d as (
    select carrier, flight_date,
        sum(delayed) over w / nullif(sum(n) over w, 0) as carrier_delay_rate_7d
    from daily_carrier
    window w as (partition by carrier order by flight_date
                 range between interval 7 days preceding and interval 1 day preceding)
),
route_28d as (
    select origin, dest, flight_date,
        sum(delayed) over w / nullif(sum(n) over w, 0) as route_delay_rate_28d
    from daily_route
    window w as (partition by origin, dest order by flight_date
                 range between interval 28 days preceding and interval 1 day preceding)
),
origin_hour_28d as (
    select origin, sched_dep_hour, flight_date,
        sum(delayed) over w / nullif(sum(n) over w, 0) as origin_hour_delay_rate_28d
    from daily_origin_hour
    window w as (partition by origin, sched_dep_hour order by flight_date
                 range between interval 28 days preceding and interval 1 day preceding)
),
origin_prev_day as (
    select origin, cast(flight_date + interval 1 day as date) as flight_date, n as origin_volume_prev_day
    from daily_origin
)

select
    f.flight_id,
    f.flight_date,
    f.carrier,
    f.origin,
    f.dest,
    f.month,
    f.day_of_week,
    f.sched_dep_hour,
    f.sched_arr_hour,
    f.distance,
    case when p.plane_year is not null then f.year - p.plane_year end as plane_age,
    p.seats,
    w.temp,
    w.humid,
    w.wind_speed,
    w.precip,
    w.visib,
    c.carrier_delay_rate_7d,
    r.route_delay_rate_28d,
    oh.origin_hour_delay_rate_28d,
    coalesce(op.origin_volume_prev_day, 0) as origin_volume_prev_day,
    f.is_delayed
from flights f
left join {{ ref('stg_planes') }} p on p.tailnum = f.tailnum
left join {{ ref('stg_weather') }} w
    on w.origin = f.origin and w.weather_date = f.flight_date and w.hour = f.sched_dep_hour
left join carrier_7d c on c.carrier = f.carrier and c.flight_date = f.flight_date
left join route_28d r on r.origin = f.origin and r.dest = f.dest and r.flight_date = f.flight_date
left join origin_hour_28d oh
    on oh.origin = f.origin and oh.sched_dep_hour = f.sched_dep_hour and oh.flight_date = f.flight_date
left join origin_prev_day op on op.origin = f.origin and op.flight_date = f.flight_date
