-- Hourly weather at the three NYC airports, keyed like a flight's scheduled departure hour.
-- A few hours appear twice in the source (DST change); keep one reading per hour.
select origin, year, month, day, hour, temp, dewp, humid, wind_dir, wind_speed, wind_gust, precip, pressure, visib
from {{ source('raw', 'weather') }}
qualify row_number() over (partition by origin, year, month, day, hour order by time_hour) = 1
