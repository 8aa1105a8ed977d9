"""When a schedule's trigger fires: cron and recurrence, on a time zone's wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from orchard.entities.schedules import CronTrigger, JobSchedule, RecurrenceTrigger


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def fires(trigger: CronTrigger | RecurrenceTrigger, after: datetime, days: float) -> list[str]:
    until = after + timedelta(days=days)
    return [t.strftime("%Y-%m-%d %H:%M %a") for t in trigger.due_times(after, until)]


def test_cron_reads_its_expression_on_the_zone_wall_clock_across_daylight_saving() -> None:
    # 04:00 in Los Angeles is 12:00 UTC in winter and 11:00 UTC in summer.
    trigger = CronTrigger(expression="0 4 * * *", time_zone="Pacific Standard Time")
    assert fires(trigger, utc(2026, 3, 7, 0, 0), 3) == [
        "2026-03-07 12:00 Sat",
        "2026-03-08 11:00 Sun",  # the clocks went forward that night
        "2026-03-09 11:00 Mon",
    ]


def test_an_iana_zone_and_a_windows_name_for_it_agree() -> None:
    windows = CronTrigger(expression="30 9 * * 1-5", time_zone="W. Europe Standard Time")
    iana = CronTrigger(expression="30 9 * * 1-5", time_zone="Europe/Berlin")
    after = utc(2026, 12, 4, 0, 0)
    assert (
        fires(windows, after, 4)
        == fires(iana, after, 4)
        == [
            "2026-12-04 08:30 Fri",
            "2026-12-07 08:30 Mon",
        ]
    )


def test_start_and_end_time_bound_the_firings_and_a_naive_start_is_in_the_zone() -> None:
    trigger = CronTrigger(
        expression="0 * * * *",
        time_zone="Asia/Tokyo",
        start_time=datetime(2026, 12, 7, 10, 0),  # 01:00 UTC
        end_time=datetime(2026, 12, 7, 12, 0),
    )
    assert fires(trigger, utc(2026, 12, 6), 2) == [
        "2026-12-07 01:00 Mon",
        "2026-12-07 02:00 Mon",
        "2026-12-07 03:00 Mon",
    ]


def test_a_weekly_recurrence_fires_at_each_hour_and_minute_of_its_days() -> None:
    trigger = RecurrenceTrigger(
        frequency="week",
        interval=2,
        schedule={"hours": [6, 18], "minutes": [15], "week_days": ["Tuesday", "friday"]},
        start_time=datetime(2026, 11, 30, 0, 0),  # a Monday: weeks count from its week
    )
    assert fires(trigger, utc(2026, 11, 30), 21) == [
        "2026-12-01 06:15 Tue",
        "2026-12-01 18:15 Tue",
        "2026-12-04 06:15 Fri",
        "2026-12-04 18:15 Fri",
        "2026-12-15 06:15 Tue",
        "2026-12-15 18:15 Tue",
        "2026-12-18 06:15 Fri",
        "2026-12-18 18:15 Fri",
    ]


def test_minute_and_month_recurrences_step_from_their_start() -> None:
    every_20 = RecurrenceTrigger(frequency="minute", interval=20, start_time=utc(2026, 1, 1, 0, 5))
    assert fires(every_20, utc(2026, 12, 7, 9, 0), 1 / 24) == [
        "2026-12-07 09:05 Mon",
        "2026-12-07 09:25 Mon",
        "2026-12-07 09:45 Mon",
    ]
    monthly = RecurrenceTrigger(
        frequency="month",
        interval=1,
        schedule={"month_days": [31], "hours": [2], "minutes": [0]},
        start_time=utc(2026, 1, 1),
    )
    # A month without a 31st is skipped.
    assert fires(monthly, utc(2027, 3, 1), 120) == ["2027-03-31 02:00 Wed", "2027-05-31 02:00 Mon"]


def test_a_daily_recurrence_without_a_pattern_keeps_its_start_time_of_day() -> None:
    trigger = RecurrenceTrigger(frequency="day", interval=3, start_time=utc(2026, 12, 1, 7, 45))
    assert fires(trigger, utc(2026, 12, 2), 6) == ["2026-12-04 07:45 Fri", "2026-12-07 07:45 Mon"]


def every(frequency: str, interval: int = 1, **fields: Any) -> dict[str, Any]:
    return {"type": "recurrence", "frequency": frequency, "interval": interval, **fields}


@pytest.mark.parametrize(
    ("trigger", "problem"),
    [
        ({"type": "cron", "expression": "0 4 * *"}, "is not a cron expression (it has 4 fields)"),
        ({"type": "cron", "expression": "0 25 * * *"}, "is not a cron expression (it does not"),
        ({"type": "cron", "expression": "0 4 * * *", "time_zone": "Mars/Olympus"}, "time zone"),
        (every("hour", schedule={"hours": [1]}), "a hour recurrence takes no schedule"),
        (
            every("day", schedule={"week_days": "monday"}),
            "only a week recurrence takes week days",
        ),
        (every("week", schedule={"week_days": ["mon"]}), "'mon' is not a week day"),
        (every("fortnight"), "frequency"),
        (every("day", interval=0), "interval"),
        ({"type": "hourly"}, "hourly"),
    ],
)
def test_a_bad_trigger_is_named(trigger: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        JobSchedule.model_validate({"name": "s", "trigger": trigger, "create_job": {}})
    assert problem in str(refused.value)
