"""Day ranges: the platform's partitions, windows and lake files are all keyed by calendar day."""

from datetime import date, timedelta


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included (empty when ``last`` is before ``first``)."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
