"""Schedules: Azure ML v2 `schedule` YAML, a job created again and again on a trigger.

A trigger is a cron expression or a recurrence (every `interval` minutes, hours, days,
weeks or months, optionally at given hours, minutes, week days or month days), read in a
time zone (IANA such as "Europe/Paris", or Windows such as "Pacific Standard Time") from
`start_time` (default: when the schedule was created; one in the past does not back-fill)
until `end_time`. `due_times` lists when a trigger fires; the scheduler does the firing.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from orchard.entities.assets import SCHEMA_ROOT
from orchard.entities.base import Entity, Resource
from orchard.entities.windows_zones import WINDOWS_TO_IANA

WEEK_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FREQUENCIES = ("minute", "hour", "day", "week", "month")
# The SDK's names for the trigger types (CronTrigger, RecurrenceTrigger) are read too.
_TRIGGER_TYPES = {"cron": "cron", "crontrigger": "cron", "recurrence": "recurrence"}
_TRIGGER_TYPES["recurrencetrigger"] = "recurrence"


def zone_of(name: str) -> ZoneInfo:
    """The zone an IANA or Windows time-zone name stands for."""
    try:
        return ZoneInfo(WINDOWS_TO_IANA.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time_zone: {name!r} is not a time zone; give an IANA name such as "
            "'Europe/London' or a Windows name such as 'Pacific Standard Time'"
        ) from None


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class TriggerBase(Entity):
    type: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_of(value)
        return value

    @field_validator("start_time", "end_time", mode="before")
    @classmethod
    def _no_blank(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.time_zone)

    def local(self, moment: datetime) -> datetime:
        """A moment on the trigger's wall clock; a time given without an offset is read
        in the trigger's time zone."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.zone)
        return moment.astimezone(self.zone)

    def due_times(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """When the trigger fires in (`after`, `until`] (both aware), oldest first, in UTC;
        nothing before start_time or after end_time."""
        start = self.local(self.start_time) if self.start_time else None
        end = min(until, self.local(self.end_time)) if self.end_time else until
        for moment in self._times_from(after if start is None else max(after, start)):
            if moment > end:
                return
            if moment > after and (start is None or moment >= start):
                yield moment.astimezone(UTC)

    def _times_from(self, begin: datetime) -> Iterator[datetime]:
        """Firing times, ascending, from about `begin` on (earlier ones may come first)."""
        raise NotImplementedError


class CronTrigger(TriggerBase):
    """`expression`: five fields, minute hour day-of-month month day-of-week."""

    type: Annotated[
        Literal["cron"], BeforeValidator(lambda v: _TRIGGER_TYPES.get(_lower(v), v))
    ] = "cron"
    expression: str = Field(min_length=1)

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        from croniter import croniter

        fields = value.split()
        problem = None
        if len(fields) != 5:
            problem = f"it has {len(fields)} fields"
        elif not croniter.is_valid(value):
            problem = "it does not parse"
        if problem:
            raise ValueError(
                f"expression: {value!r} is not a cron expression ({problem}); give five "
                "fields: minute hour day-of-month month day-of-week, such as '0 4 * * 1-5'"
            )
        return value

    def _times_from(self, begin: datetime) -> Iterator[datetime]:
        from croniter import croniter

        # Stepped on the wall clock of the trigger's zone, so "0 4 * * *" stays at 04:00
        # across a daylight-saving change. A second back, so a time on `begin` counts.
        walker = croniter(self.expression, self.local(begin) - timedelta(seconds=1))
        while True:
            yield walker.get_next(datetime)


class RecurrencePattern(Entity):
    hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(default_factory=list)
    minutes: list[Annotated[int, Field(ge=0, le=59)]] = Field(default_factory=list)
    week_days: list[Annotated[str, BeforeValidator(_lower)]] = Field(default_factory=list)
    month_days: list[Annotated[int, Field(ge=1, le=31)]] = Field(default_factory=list)

    @field_validator("hours", "minutes", "week_days", "month_days", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, int | str) else value

    @field_validator("week_days")
    @classmethod
    def _known_days(cls, value: list[str]) -> list[str]:
        unknown = [day for day in value if day not in WEEK_DAYS]
        if unknown:
            raise ValueError(
                f"week_days: {unknown[0]!r} is not a week day; give {', '.join(WEEK_DAYS)}"
            )
        return value


class RecurrenceTrigger(TriggerBase):
    type: Annotated[
        Literal["recurrence"], BeforeValidator(lambda v: _TRIGGER_TYPES.get(_lower(v), v))
    ] = "recurrence"
    frequency: Annotated[Literal["minute", "hour", "day", "week", "month"], BeforeValidator(_lower)]
    interval: int = Field(ge=1)
    schedule: RecurrencePattern | None = None

    @model_validator(mode="after")
    def _pattern_fits(self) -> RecurrenceTrigger:
        pattern = self.schedule
        if pattern is None:
            return self
        if self.frequency in ("minute", "hour") and pattern != RecurrencePattern():
            raise ValueError(
                f"schedule: a {self.frequency} recurrence takes no schedule; hours, minutes, "
                "week_days and month_days refine day, week and month recurrences"
            )
        if pattern.week_days and self.frequency != "week":
            raise ValueError("schedule.week_days: only a week recurrence takes week days")
        if pattern.month_days and self.frequency != "month":
            raise ValueError("schedule.month_days: only a month recurrence takes month days")
        return self

    def _times_from(self, begin: datetime) -> Iterator[datetime]:
        anchor = self.local(self.start_time) if self.start_time else self.local(begin)
        period = max(0, self._period_index(anchor, self.local(begin)) - 1)
        while True:
            yield from self._times_in(anchor, period)
            period += 1

    def _period_index(self, anchor: datetime, moment: datetime) -> int:
        """Which period (of `interval` units, counted from the anchor) holds `moment`."""
        if self.frequency == "month":
            months = (moment.year - anchor.year) * 12 + moment.month - anchor.month
            return max(0, months // self.interval)
        if self.frequency == "week":
            weeks = (_monday(moment.date()) - _monday(anchor.date())).days // 7
            return max(0, weeks // self.interval)
        unit = {"minute": 60, "hour": 3600, "day": 86400}[self.frequency]
        seconds = (moment.replace(tzinfo=None) - anchor.replace(tzinfo=None)).total_seconds()
        return max(0, int(seconds // (unit * self.interval)))

    def _times_in(self, anchor: datetime, period: int) -> list[datetime]:
        """The firing times of one period, on the trigger's wall clock."""
        naive, step = anchor.replace(tzinfo=None), period * self.interval
        if self.frequency in ("minute", "hour"):
            unit = timedelta(minutes=1) if self.frequency == "minute" else timedelta(hours=1)
            return [(naive + unit * step).replace(tzinfo=self.zone)]
        pattern = self.schedule or RecurrencePattern()
        hours = sorted(set(pattern.hours)) or [naive.hour]
        minutes = sorted(set(pattern.minutes)) or [naive.minute]
        return [
            datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
            for day in self._days_in(naive.date(), step, pattern)
            for hour in hours
            for minute in minutes
        ]

    def _days_in(self, anchor: date, step: int, pattern: RecurrencePattern) -> list[date]:
        if self.frequency == "day":
            return [anchor + timedelta(days=step)]
        if self.frequency == "week":
            monday = _monday(anchor) + timedelta(weeks=step)
            days = pattern.week_days or [WEEK_DAYS[anchor.weekday()]]
            return sorted(monday + timedelta(days=WEEK_DAYS.index(day)) for day in set(days))
        year, month = divmod(anchor.month - 1 + step, 12)
        year, month = anchor.year + year, month + 1
        last = calendar.monthrange(year, month)[1]
        wanted = pattern.month_days or [anchor.day]
        # A day the month does not have (the 31st in April) is skipped, as Azure does.
        return [date(year, month, day) for day in sorted(set(wanted)) if day <= last]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _trigger_type(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return _TRIGGER_TYPES.get(str(kind).lower(), str(kind))


Trigger = Annotated[
    Annotated[CronTrigger, Tag("cron")] | Annotated[RecurrenceTrigger, Tag("recurrence")],
    Discriminator(_trigger_type),
]


class JobSchedule(Resource):
    """`create_job` is the job each firing submits: its spec, as a job YAML gives it, or
    (until the schedule is created, which copies that job's spec in) `azureml:<job name>`
    or `{job: azureml:<job name>, <overrides>}`."""

    kind: ClassVar[str] = "schedule"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/schedule.schema.json"

    display_name: str | None = None
    trigger: Trigger
    create_job: dict[str, Any] | str
    is_enabled: bool = True
    # Set by Orchard: from when the schedule fires (creation, or the last enable).
    active_since: datetime | None = None
    provisioning_state: str | None = None

    @field_validator("create_job", mode="before")
    @classmethod
    def _job_spec(cls, value: Any) -> Any:
        from pydantic import BaseModel

        if isinstance(value, BaseModel):
            return value.model_dump(mode="json", exclude_none=True, by_alias=True)
        return value


def overridden_job(job: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A job spec with a schedule's overrides: a mapping field (settings, inputs, outputs,
    tags) is merged key by key; any other field is replaced."""
    merged = dict(job)
    for key, value in overrides.items():
        current = merged.get(key)
        merged[key] = (
            {**current, **value} if isinstance(current, dict) and isinstance(value, dict) else value
        )
    return merged
