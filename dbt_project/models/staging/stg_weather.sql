{{ daily_partition_config('weather_date') }}
-- Hourly weather at the three NYC airports, keyed like a flight's scheduled departure hour.
-- A few hours appear twice in the source (DST change); keep one reading per hour.
select
    make_date(year, month, day) as weather_date,
    origin, year, month, day, hour, temp, dewp, humid, wind_dir, wind_speed, wind_gust, precip, pressure, visib
from {{ source('raw', 'weather') }}
where {{ in_partition_window('make_date(year, month, day)') }}
qualify row_number() over (partition by origin, year, month, day, hour order by time_hour) = 1
