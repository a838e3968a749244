"""The replay's cron schedule: dense minutes inside windows, sparse steps elsewhere."""

from datetime import datetime, timedelta

from toolkit.alert.replay import schedule


def test_dense_windows_are_whole_minutes_and_sparse_steps_do_not_jump_over_them():
    """A window given to the second (as a first discard's time is) runs from its minute; the
    sparse step stops at the window's start instead of jumping over it."""
    start = datetime(2024, 5, 6, 3, 12)
    window = (datetime(2024, 5, 6, 9, 29, 35, 60), datetime(2024, 5, 6, 9, 32, 10))
    got = schedule([window], start, datetime(2024, 5, 6, 12, 0), sparse=timedelta(hours=1))
    assert got == [
        datetime(2024, 5, 6, h, 12) for h in range(3, 10)
    ] + [datetime(2024, 5, 6, 9, m) for m in (29, 30, 31, 32, 33)] + [
        datetime(2024, 5, 6, 10, 33), datetime(2024, 5, 6, 11, 33)]
