"""Opening hours: parse the weekly text, and say "open now" / "opens at 09:00" in Hong Kong time.

The text is what an admin types: segments separated by ";", each days then one or more times, e.g.
"Mon-Fri 09:00-21:00; Sat-Sun 10:00-18:00, 19:00-02:00" or "Daily 00:00-24:00". A time that ends
at or before it starts runs past midnight into the next day. Days not named are closed. Hong Kong's
general holidays (and days the PUBLIC_HOLIDAYS setting adds) take Sunday's hours, or none for a place
closed on holidays.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import holidays as holiday_calendars
from flask import current_app
from flask_babel import lazy_gettext as _l

from rules.text.formatting import HONG_KONG

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": _l("Mon"),
    "tue": _l("Tue"),
    "wed": _l("Wed"),
    "thu": _l("Thu"),
    "fri": _l("Fri"),
    "sat": _l("Sat"),
    "sun": _l("Sun"),
}
_SEGMENT = re.compile(r"^(daily|[a-z]{3}(?:-[a-z]{3})?)\s+(.+)$")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
DAY_MINUTES = 24 * 60
MAX_TEXT = 200


class BadHours(ValueError):
    """str() is a message for people."""


@dataclass(frozen=True)
class Segment:
    days: tuple[int, ...]  # 0 = Monday
    spans: tuple[tuple[int, int], ...]  # minutes from the day's midnight; an end past 1440 is the next day


@dataclass(frozen=True)
class Status:
    open: bool
    label: str


def parse(text: str) -> tuple[Segment, ...]:
    """The segments of `text`, or BadHours saying what is wrong."""
    text = " ".join((text or "").split()).lower()
    if not text or len(text) > MAX_TEXT:
        raise BadHours(_l('Write the hours like "Mon-Fri 09:00-21:00; Sat-Sun 10:00-02:00".'))
    segments: list[Segment] = []
    seen: set[int] = set()
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        match = _SEGMENT.match(part)
        if match is None:
            raise BadHours(_l('Write the hours like "Mon-Fri 09:00-21:00; Sat-Sun 10:00-02:00".'))
        days = _days(match.group(1))
        if seen & set(days):
            raise BadHours(_l("Each day may appear once in the hours."))
        seen |= set(days)
        segments.append(Segment(days, tuple(_span(piece) for piece in match.group(2).replace(" ", "").split(","))))
    return tuple(segments)


def _days(text: str) -> tuple[int, ...]:
    if text == "daily":
        return tuple(range(7))
    first, _dash, last = text.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise BadHours(_l("Name days as Mon, Tue, Wed, Thu, Fri, Sat, Sun or Daily."))
    start, end = DAYS.index(first), DAYS.index(last or first)
    if end < start:
        raise BadHours(_l("A range of days runs from Monday towards Sunday (Mon-Fri, not Fri-Mon)."))
    return tuple(range(start, end + 1))


def _span(text: str) -> tuple[int, int]:
    match = _SPAN.match(text)
    if match is None:
        raise BadHours(_l("Write each time as 09:00-21:00 (24-hour clock)."))
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if end > DAY_MINUTES:
        raise BadHours(_l("Write each time as 09:00-21:00 (24-hour clock)."))
    if end == start:
        raise BadHours(_l("A time must end at another time than it starts (00:00-24:00 for all day)."))
    return start, end if end > start else end + DAY_MINUTES  # ends after midnight


# Hong Kong's general holidays, every year (the `holidays` package's "optional" category for HK: the
# days banks and most shops keep as Sundays, Sunday substitutes included); years are worked out as asked.
GENERAL_HOLIDAYS = holiday_calendars.country_holidays("HK", categories=(holiday_calendars.OPTIONAL,))


def is_holiday(day: date) -> bool:
    """A general holiday, or a day off the PUBLIC_HOLIDAYS setting adds."""
    return day in current_app.config["PUBLIC_HOLIDAYS"] or day in GENERAL_HOLIDAYS


def spans_on(location, day: date) -> tuple[tuple[int, int], ...]:
    """The opening spans of `day` for this place (holidays as Sunday, or none)."""
    weekday = day.weekday()
    if is_holiday(day):
        if not location.open_on_holidays:
            return ()
        weekday = 6
    segments = parse(location.hours)
    return tuple(span for seg in segments if weekday in seg.days for span in seg.spans)


def status(location, now: datetime | None = None) -> Status:
    """Open now (and until when) or when it opens next, at `now` (default: this moment) in Hong Kong."""
    moment = (now or datetime.now(HONG_KONG)).astimezone(HONG_KONG)
    if location.temporarily_closed or location.closed_at is not None:
        return Status(False, str(_l("Temporarily closed")))
    today, minute = moment.date(), moment.hour * 60 + moment.minute
    try:
        running = [end for start, end in spans_on(location, today) if start <= minute < end]
        running += [
            end - DAY_MINUTES
            for start, end in spans_on(location, today - timedelta(days=1))
            if minute < end - DAY_MINUTES
        ]
    except BadHours:
        return Status(False, str(_l("Hours not known")))
    if running:
        end = max(running)
        if end >= DAY_MINUTES and _opens_at(location, today + timedelta(days=1), 0):
            return Status(True, str(_l("Open now, 24 hours")))
        return Status(True, str(_l("Open now, until %(time)s", time=_clock(end))))
    return Status(False, _next_opening(location, today, minute))


def _opens_at(location, day: date, minute: int) -> bool:
    return any(start == minute for start, _end in spans_on(location, day))


def _next_opening(location, today: date, minute: int) -> str:
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        starts = sorted(start for start, _end in spans_on(location, day) if ahead or start > minute)
        if not starts:
            continue
        time = _clock(starts[0])
        if ahead == 0:
            return str(_l("Closed, opens at %(time)s", time=time))
        if ahead == 1:
            return str(_l("Closed, opens tomorrow at %(time)s", time=time))
        return str(_l("Closed, opens %(day)s at %(time)s", day=DAY_NAMES[DAYS[day.weekday()]], time=time))
    return str(_l("Closed"))


def _clock(minutes: int) -> str:
    minutes %= DAY_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def lines(location) -> list[tuple[str, str]]:
    """The hours as (days, times) rows in the reader's language, e.g. ("Mon–Fri", "09:00–21:00")."""
    try:
        segments = parse(location.hours)
    except BadHours:
        return []
    return [(_day_label(seg.days), ", ".join(_span_text(a, b) for a, b in seg.spans)) for seg in segments]


def _span_text(start: int, end: int) -> str:
    if (start, end) == (0, DAY_MINUTES):
        return str(_l("24 hours"))
    return f"{_clock(start)}–{'24:00' if end == DAY_MINUTES else _clock(end)}"


def _day_label(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return str(_l("Daily"))
    first, last = DAY_NAMES[DAYS[days[0]]], DAY_NAMES[DAYS[days[-1]]]
    return str(first) if len(days) == 1 else f"{first}–{last}"
