{# The run's partition window as a SQL predicate on a date expression. Dagster passes it in environment
   variables (dbt re-parses only the files that read a changed one; --vars would force a full parse);
   without them, the whole year. #}
{% macro in_partition_window(date_expr, days_before=0) -%}
    {{ date_expr }} between cast('{{ env_var("ML_PLATFORM_WINDOW_START", "2013-01-01") }}' as date) - interval {{ days_before }} days
                    and cast('{{ env_var("ML_PLATFORM_WINDOW_END", "2013-12-31") }}' as date)
{%- endmacro %}

{# Daily-partitioned models: a run replaces exactly the days of its window (delete + insert). #}
{% macro daily_partition_config(date_column) -%}
    {{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=date_column,
              tags=['daily']) }}
{%- endmacro %}
