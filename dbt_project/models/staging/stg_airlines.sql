select carrier, name as airline_name from {{ source('raw', 'airlines') }}
