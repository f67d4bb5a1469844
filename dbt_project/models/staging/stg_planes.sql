select tailnum, year as plane_year, type, manufacturer, engines, seats, engine
from {{ source('raw', 'planes') }}
