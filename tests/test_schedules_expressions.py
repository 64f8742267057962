"""Schedule expressions: AWS's validation rules, and firing times checked against AWS's semantics.

The cron cases are checked twice: against dates worked out by hand from the calendar, and
against a brute-force reference in this file that applies AWS's documented field rules to each
day (so a mistake in mapping AWS's dialect onto croniter shows up as a disagreement).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest

from streams.schedules import (
    InvalidScheduleExpression,
    InvalidTimeZone,
    Timing,
    parse_expression,
    rule_timing,
    schedule_timing,
    zone,
)

JAN_1_2026 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def firings(expression: str, after: datetime, count: int, tz: str = "UTC", **window: datetime) -> list[str]:
    timing = Timing(parse_expression(expression), zone(tz), anchor=after, **window)
    return [instant.astimezone(zone(tz)).isoformat() for instant in timing.upcoming(after, count)]


def days(expression: str, count: int = 4, after: datetime = JAN_1_2026) -> list[str]:
    return [stamp[:10] for stamp in firings(expression, after, count)]


# --- day-of-month and day-of-week specials -------------------------------------------------------
@pytest.mark.parametrize(("expression", "expected"), [
    ("cron(0 10 L * ? *)", ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]),
    ("cron(0 10 L FEB ? 2027-2028)", ["2027-02-28", "2028-02-29"]),  # leap year
    # 15W: Feb 15 2026 is a Sunday -> Monday 16; Aug 15 2026 is a Saturday -> Friday 14
    ("cron(0 10 15W * ? *)", ["2026-01-15", "2026-02-16", "2026-03-16", "2026-04-15"]),
    ("cron(0 10 15W AUG ? 2026)", ["2026-08-14"]),
    # 1W never leaves the month: Aug 1 2026 is a Saturday -> Monday 3
    ("cron(0 10 1W AUG ? 2026)", ["2026-08-03"]),
    # 31W: months without a 31st have no firing; May 31 2026 is a Sunday -> Friday 29
    ("cron(0 10 31W * ? 2026)", ["2026-01-30", "2026-03-31", "2026-05-29", "2026-07-31"]),
    # LW: last weekday; Jan 31 2026 is a Saturday, May 31 a Sunday
    ("cron(0 10 LW * ? 2026)", ["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30"]),
    ("cron(0 10 ? * 6L *)", ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"]),  # last Friday
    ("cron(0 10 ? * L *)", ["2026-01-03", "2026-01-10", "2026-01-17", "2026-01-24"]),  # L alone: Saturday
    ("cron(0 10 ? * 3#2 *)", ["2026-01-13", "2026-02-10", "2026-03-10", "2026-04-14"]),  # 2nd Tuesday
    ("cron(0 10 ? * FRI#5 *)", ["2026-01-30", "2026-05-29", "2026-07-31", "2026-10-30"]),  # only some months
    ("cron(0 10 ? * 1 *)", ["2026-01-04", "2026-01-11", "2026-01-18", "2026-01-25"]),  # 1 is Sunday
    ("cron(0 10 ? * 7 *)", ["2026-01-03", "2026-01-10", "2026-01-17", "2026-01-24"]),  # 7 is Saturday
    ("cron(0 10 ? * fri-mon *)", ["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]),  # wraps, any case
])
def test_day_specials(expression: str, expected: list[str]) -> None:
    assert days(expression, len(expected)) == expected


def test_times_of_day_ranges_steps_lists() -> None:
    assert firings("cron(0/20 22-2 ? * MON-FRI 2026)", JAN_1_2026, 4) == [
        "2026-01-01T00:20:00+00:00", "2026-01-01T00:40:00+00:00", "2026-01-01T01:00:00+00:00",
        "2026-01-01T01:20:00+00:00"]
    # the hours wrap past midnight, but each day is judged on its own: Saturday 00:00 is no weekday
    friday_night = datetime(2026, 1, 2, 23, 50, tzinfo=UTC)
    assert firings("cron(0/20 22-2 ? * MON-FRI 2026)", friday_night, 1) == ["2026-01-05T00:00:00+00:00"]
    assert firings("cron(5,10-20/5,59 8 * * ? *)", JAN_1_2026, 6) == [
        f"2026-01-01T08:{minute:02d}:00+00:00" for minute in (5, 10, 15, 20, 59)] + ["2026-01-02T08:05:00+00:00"]
    new_year_eve = datetime(2025, 12, 31, tzinfo=UTC)
    assert days("cron(0 0 1 JAN,JUL ? 2026/2)", after=new_year_eve) == [
        "2026-01-01", "2026-07-01", "2028-01-01", "2028-07-01"]


def test_year_field_reaches_2199_and_ends() -> None:
    assert days("cron(0 0 1 1 ? 2150,2199)", 3) == ["2150-01-01", "2199-01-01"]
    assert firings("cron(0 0 1 1 ? 2025)", JAN_1_2026, 1) == []


@pytest.mark.parametrize("expression", [
    "cron(0 10 30 FEB ? *)", "cron(0 9 31W FEB ? *)", "cron(0 10 ? FEB 2#5 2026)", "cron(0 10 ? * 6L 2025)",
])
def test_expressions_that_never_fire_again_end(expression: str) -> None:
    assert firings(expression, JAN_1_2026, 1) == []


def test_strictly_after() -> None:
    at_ten = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert firings("cron(0 10 * * ? *)", at_ten, 1) == ["2026-01-06T10:00:00+00:00"]
    assert firings("cron(0 10 * * ? *)", at_ten - timedelta(seconds=1), 1) == ["2026-01-05T10:00:00+00:00"]


# --- the reference: AWS's rules applied day by day -----------------------------------------------
NAMES = {**{n: i for i, n in enumerate(calendar.month_abbr) if n},
         **{n: i + 1 for i, n in enumerate(("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"))}}


def _values(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (NAMES.get(v.title()) or int(v) for v in base.split("-"))
        else:
            first = NAMES.get(base.title()) or int(base)
            last = high if step else first
        span = high - low + 1
        values.update(low + (first - low + k) % span for k in range(0, (last - first) % span + 1, int(step or 1)))
    return values


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # 1=SUN..7=SAT


def _day_matches(dom: str, dow: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if dom != "?":
        if dom == "L":
            return day.day == last
        if dom.endswith("W"):
            target = last if dom == "LW" else int(dom[:-1])
            if target > last:
                return False
            weekdays = [d for d in range(1, last + 1) if calendar.weekday(day.year, day.month, d) < 5]
            return day.day == min(weekdays, key=lambda d: (abs(d - target), d))
        return day.day in _values(dom, 1, 31)
    wd = _aws_weekday(day)
    if dow == "L":
        return wd == 7
    if dow.endswith("L"):
        return wd == int(dow[:-1]) and day.day + 7 > last
    if "#" in dow:
        kind, nth = dow.split("#")
        return wd == int(kind) and (day.day - 1) // 7 + 1 == int(nth)
    return wd in _values(dow, 1, 7)


def reference(expression: str, after: datetime, count: int) -> list[datetime]:
    minute, hour, dom, month, dow, year = expression[5:-1].split()
    found: list[datetime] = []
    day = after.date()
    while len(found) < count and day.year <= 2199:
        if (day.month in _values(month, 1, 12) and day.year in _values(year, 1970, 2199)
                and _day_matches(dom, dow, day)):
            for h in sorted(_values(hour, 0, 23)):
                for m in sorted(_values(minute, 0, 59)):
                    instant = datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)
                    if instant > after and len(found) < count:
                        found.append(instant)
        day += timedelta(days=1)
    return found


@pytest.mark.parametrize("expression", [
    "cron(0 10 * * ? *)", "cron(15 12 ? * MON-FRI *)", "cron(0/15 * ? * 2,4,6 *)", "cron(0 18 ? * SAT-TUE *)",
    "cron(0 8 1-7,15 * ? *)", "cron(30 23 L * ? *)", "cron(0 9 1W * ? *)", "cron(0 9 LW * ? *)",
    "cron(0 9 30W * ? *)", "cron(0 9 ? * 1L *)", "cron(0 9 ? * 2#1 *)", "cron(0 9 ? * 5#4 *)",
    "cron(0 0/7 ? JUN-SEP 3 2026-2027)", "cron(10-50/20 3 29 FEB ? *)", "cron(0 12 */3 NOV-FEB ? *)",
])
@pytest.mark.parametrize("start", [datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, 10, 7, tzinfo=UTC)])
def test_agrees_with_reference(expression: str, start: datetime) -> None:
    timing = Timing(parse_expression(expression), zone("UTC"), anchor=start)
    assert timing.upcoming(start, 25) == reference(expression, start, 25)


# --- time zones and daylight saving ---------------------------------------------------------------
def test_spring_forward_skips_times_that_do_not_exist() -> None:
    """America/New_York, 2026-03-08: clocks go from 02:00 EST straight to 03:00 EDT."""
    assert firings("cron(30 2 * * ? *)", datetime(2026, 3, 7, tzinfo=UTC), 3, "America/New_York") == [
        "2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"]
    assert firings("cron(0/30 1-3 8 MAR ? 2026)", datetime(2026, 3, 8, tzinfo=UTC), 4, "America/New_York") == [
        "2026-03-08T01:00:00-05:00", "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00",
        "2026-03-08T03:30:00-04:00"]


def test_fall_back_fires_repeated_times_once() -> None:
    """America/New_York, 2026-11-01: 01:00-01:59 happens twice (EDT, then EST)."""
    after = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    assert firings("cron(0/30 * * * ? *)", after, 5, "America/New_York") == [
        "2026-11-01T00:30:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
        "2026-11-01T02:00:00-05:00", "2026-11-01T02:30:00-05:00"]
    # asked during the repeated hour, after its first pass: the repeat does not fire
    second_pass = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert firings("cron(30 1 * * ? *)", second_pass, 1, "America/New_York") == ["2026-11-02T01:30:00-05:00"]


def test_rate_is_elapsed_time_across_daylight_saving() -> None:
    """AWS: a day is 24 hours, so the wall-clock time moves when the offset changes."""
    anchor = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # 07:00 EST
    assert firings("rate(1 day)", anchor, 2, "America/New_York") == [
        "2026-03-08T08:00:00-04:00", "2026-03-09T08:00:00-04:00"]


def test_cron_in_a_zone_fires_at_local_time() -> None:
    assert firings("cron(0 9 ? * MON *)", JAN_1_2026, 2, "Asia/Kolkata") == [
        "2026-01-05T09:00:00+05:30", "2026-01-12T09:00:00+05:30"]
    with pytest.raises(InvalidTimeZone, match="Mars/Olympus"):
        zone("Mars/Olympus")


# --- rate, at(), StartDate/EndDate ------------------------------------------------------------------
@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(12 hours)", 43200),
    ("rate(1 day)", 86400), ("rate(7 days)", 604800),
])
def test_rate_units(expression: str, seconds: int) -> None:
    rate = parse_expression(expression)
    assert rate.period == timedelta(seconds=seconds)  # type: ignore[attr-defined]
    anchor = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    times = Timing(rate, zone("UTC"), anchor=anchor).upcoming(anchor - timedelta(seconds=1), 3)
    assert times == [anchor + k * timedelta(seconds=seconds) for k in range(3)]  # the first at the anchor


def test_window_and_anchor() -> None:
    start, end = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    # StartDate may fire itself; EndDate is the time "before which" a schedule fires
    assert firings("cron(0 10 * * ? *)", JAN_1_2026, 5, start=start, end=end) == [
        "2026-02-01T10:00:00+00:00", "2026-02-02T10:00:00+00:00"]
    assert firings("cron(0 0 * * ? *)", JAN_1_2026, 1, start=start) == ["2026-02-01T00:00:00+00:00"]
    # a rate with StartDate counts from StartDate, which fires itself
    assert firings("rate(6 hours)", JAN_1_2026, 2, start=start) == [
        "2026-02-01T00:00:00+00:00", "2026-02-01T06:00:00+00:00"]


def test_at_fires_once_and_ignores_the_window() -> None:
    assert firings("at(2026-07-04T09:00:00)", JAN_1_2026, 3, "Europe/Paris", start=datetime(2027, 1, 1, tzinfo=UTC)) \
        == ["2026-07-04T09:00:00+02:00"]
    assert firings("at(2025-07-04T09:00:00)", JAN_1_2026, 1) == []
    # a time the clock skips still fires once, as far past the change as it was past 02:00
    assert firings("at(2026-03-08T02:30:00)", JAN_1_2026, 1, "America/New_York") == ["2026-03-08T03:30:00-04:00"]
    with pytest.raises(InvalidScheduleExpression, match="rate"):
        parse_expression("at(2026-07-04T09:00:00)", allow_at=False)


# --- refusals -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("expression", "reason"), [
    ("every day", "must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"),
    ("rate(1 minutes)", "a value of 1 takes the singular unit: rate(1 minute)"),
    ("rate(2 hour)", "a value above 1 takes the plural unit: rate(2 hours)"),
    ("rate(0 minutes)", "positive whole number"),
    ("rate(5 seconds)", "the unit 'seconds' is not one of"),
    ("rate(five minutes)", "rate(value unit)"),
    ("rate(5  minutes)", "rate(value unit)"),
    ("at(2026-02-30T00:00:00)", "yyyy-mm-ddThh:mm:ss"),
    ("at(2026-02-03 00:00:00)", "yyyy-mm-ddThh:mm:ss"),
    ("cron(0 10 * *)", "has 6 fields"),
    ("cron(0 10 * * * *)", "exactly one of Day-of-month and Day-of-week must be '?'"),
    ("cron(0 10 ? * ? *)", "exactly one of Day-of-month and Day-of-week must be '?'"),
    ("cron(0 10 1 * MON *)", "exactly one of Day-of-month and Day-of-week must be '?'"),
    ("cron(60 10 * * ? *)", "Minutes: 60 is out of range (0-59)"),
    ("cron(0 24 * * ? *)", "Hours: 24 is out of range (0-23)"),
    ("cron(0 10 0 * ? *)", "Day-of-month: 0 is out of range (1-31)"),
    ("cron(0 10 32W * ? *)", "Day-of-month: 32 is out of range"),
    ("cron(0 10 * 13 ? *)", "Month: 13 is out of range (1-12 or JAN-DEC)"),
    ("cron(0 10 * FOO ? *)", "Month: 'FOO' is not a value of this field"),
    ("cron(0 10 ? * 0 *)", "Day-of-week: 0 is out of range (1-7 or SUN-SAT)"),
    ("cron(0 10 ? * 8 *)", "Day-of-week: 8 is out of range"),
    ("cron(0 10 ? * SUNDAY *)", "Day-of-week: 'SUNDAY' is not a value"),
    ("cron(0 10 ? * 8L *)", "Day-of-week: 8 is out of range"),
    ("cron(0 10 ? * 2#6 *)", "Day-of-week: '2#6': the week after '#' must be 1-5"),
    ("cron(0 10 ? * 3#1,6#3 *)", "Day-of-week: '3#1,6#3': '#' must stand alone"),
    ("cron(0 10 1,L * ? *)", "Day-of-month: '1,L': 'L' must stand alone"),
    ("cron(0 10 1-15W * ? *)", "Day-of-month: '1-15W': 'W' must stand alone"),
    ("cron(0 10 * * ? 1969)", "Year: 1969 is out of range (1970-2199)"),
    ("cron(0 10 * * ? 2200)", "Year: 2200 is out of range"),
    ("cron(0 10 * * ? 2030-2027)", "Year: '2030-2027': the range runs backwards"),
    ("cron(*/0 10 * * ? *)", "Minutes: '*/0': the increment after '/' must be a positive number"),
    ("cron(0 10- * * ? *)", "Hours: a value is missing"),
    ("cron(0 ? * * ? *)", "Hours: '?' is only allowed in Day-of-month and Day-of-week"),
    ("cron(L 10 * * ? *)", "Minutes: 'L' is not a value"),
])
def test_refused_with_the_problem_named(expression: str, reason: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as exc:
        parse_expression(expression)
    assert reason in str(exc.value)
    assert expression in str(exc.value)


# --- timings of stored records ------------------------------------------------------------------------
def test_schedule_record_timing() -> None:
    created = datetime(2026, 1, 1, 8, 0, tzinfo=UTC).timestamp()
    record = {"Name": "s", "GroupName": "default", "ScheduleExpression": "rate(1 hour)", "CreationDate": created}
    assert schedule_timing(record).upcoming(JAN_1_2026, 2) == [
        datetime(2026, 1, 1, 8, 0, tzinfo=UTC), datetime(2026, 1, 1, 9, 0, tzinfo=UTC)]
    zoned = {**record, "ScheduleExpression": "cron(0 9 * * ? *)", "ScheduleExpressionTimezone": "Asia/Tokyo",
             "StartDate": datetime(2026, 3, 1, tzinfo=UTC).timestamp(),
             "EndDate": datetime(2026, 3, 3, tzinfo=UTC).timestamp()}
    assert schedule_timing(zoned).upcoming(JAN_1_2026, 5) == [  # 09:00 in Tokyo, EndDate itself excluded
        datetime(2026, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 2, 0, 0, tzinfo=UTC)]


def test_rule_timing_is_utc_and_clock_aligned() -> None:
    after = datetime(2026, 1, 1, 10, 3, 20, tzinfo=UTC)
    assert rule_timing({"ScheduleExpression": "rate(5 minutes)"}).upcoming(after, 2) == [
        datetime(2026, 1, 1, 10, 5, tzinfo=UTC), datetime(2026, 1, 1, 10, 10, tzinfo=UTC)]
    assert rule_timing({"ScheduleExpression": "cron(0 12 ? * MON *)"}).next_after(after) == datetime(
        2026, 1, 5, 12, 0, tzinfo=UTC)
