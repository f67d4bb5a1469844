{# The run's partition window as a SQL predicate on a date expression. Dagster passes it in environment
   variables (dbt re-parses only the files that read a changed one; --vars would force a full parse);
   without them, the whole year. #}
{% macro in_partition_window(date_expr, days_before=0) -%}
    {{ date_expr }} between cast('{{ env_var("ML_PLATFORM_WINDOW_START", "2013-01-01") }}' as date) - interval {{ days_before }} days
                    and cast('{{ env_var("ML_PLATFORM_WINDOW_END", "2013-12-31") }}' as date)
{%- endmacro %}

{# Daily-partitioned models: a run replaces exactly the days of its window (delete + insert). On the
   `parquet` target (external Parquet on an object store) the same replacement is one object per day:
   hive-partitioned by the date column, the window's days overwritten, the other days left alone. #}
{% macro daily_partition_config(date_column) -%}
    {%- if target.name == 'parquet' -%}
        {{ config(materialized='external', unique_key=date_column, tags=['daily'],
                  options={'partition_by': date_column, 'overwrite_or_ignore': true}) }}
    {%- else -%}
        {{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=date_column,
                  tags=['daily']) }}
    {%- endif -%}
{%- endmacro %}
