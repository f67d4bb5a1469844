{# The run's partition window as a SQL predicate on a date expression: dagster passes min_date/max_date. #}
{% macro in_partition_window(date_expr, days_before=0) -%}
    {{ date_expr }} between cast('{{ var("min_date") }}' as date) - interval {{ days_before }} days
                    and cast('{{ var("max_date") }}' as date)
{%- endmacro %}

{# Daily-partitioned models: a run replaces exactly the days of its window (delete + insert). #}
{% macro daily_partition_config(date_column) -%}
    {{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=date_column,
              tags=['daily']) }}
{%- endmacro %}
