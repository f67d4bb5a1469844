"""How dbt's outcome becomes ours: an interrupt stays an interrupt, whatever dbt's cleanup raised after it."""

import pytest
from dbt.cli.main import dbtRunnerResult

from ml_platform import dbt_runner


def _raised_while_handling(interrupt: BaseException, error: Exception) -> Exception:
    try:
        try:
            raise interrupt
        except BaseException:
            raise error  # as when closing a connection fails while dbt cancels its run
    except Exception as raised:
        return raised


def test_an_interrupt_is_raised_not_reported():
    with pytest.raises(KeyboardInterrupt):
        dbt_runner._error(dbtRunnerResult(success=False, exception=KeyboardInterrupt()))


def test_an_interrupt_that_dbts_cleanup_replaced_with_an_error_is_still_raised():
    replaced = _raised_while_handling(KeyboardInterrupt(), RuntimeError("connection already closed"))
    with pytest.raises(KeyboardInterrupt):
        dbt_runner._error(dbtRunnerResult(success=False, exception=replaced))


def test_a_dbt_error_is_reported_with_its_type():
    caused = _raised_while_handling(ValueError("bad value"), RuntimeError("compilation failed"))
    assert dbt_runner._error(dbtRunnerResult(success=False, exception=caused)) == "RuntimeError: compilation failed"
    assert dbt_runner._error(dbtRunnerResult(success=True)) is None
