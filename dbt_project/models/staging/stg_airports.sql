select faa, name as airport_name, lat, lon, alt, tz from {{ source('raw', 'airports') }}
