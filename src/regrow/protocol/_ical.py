"""iCalendar export of a plan's schedule (RFC 5545 via ``icalendar``), importable by calendar apps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event

from ._schedule import ScheduleItem

__all__ = ["schedule_to_ical"]


def schedule_to_ical(
    items: Iterable[ScheduleItem], *, plan_id: int | str = "plan", stamp: dt.datetime | None = None
) -> bytes:
    """Render schedule items as an iCalendar document.

    All-day items become ``DTSTART;VALUE=DATE`` events; daily doses become one event each with
    ``RRULE:FREQ=DAILY;UNTIL=...``. UIDs are stable per plan, kind and start so re-importing updates events.

    Parameters
    ----------
    items : iterable of ScheduleItem
    plan_id : int or str
        Goes into the UIDs.
    stamp : datetime, optional
        ``DTSTAMP`` (UTC); now when omitted.

    Returns
    -------
    bytes
        The ``.ics`` content.
    """
    stamp = stamp or dt.datetime.now(dt.UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", "-//regrow//treatment journal//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "regrow plan")
    for item in items:
        event = Event()
        key = item.start.strftime("%Y%m%dT%H%M") if not item.all_day else item.start.strftime("%Y%m%d")
        event.add("uid", f"regrow-{plan_id}-{item.kind}-{key}@regrow.local")
        event.add("dtstamp", stamp)
        event.add("summary", item.title)
        if item.all_day:
            event.add("dtstart", item.start.date())
            event.add("dtend", item.start.date() + dt.timedelta(days=1))
        else:
            event.add("dtstart", item.start)
            event.add("dtend", item.start + dt.timedelta(minutes=5))
        if item.until is not None:
            until = dt.datetime.combine(item.until, dt.time(23, 59, 59))
            event.add("rrule", {"freq": "daily", "until": until})
        if item.description:
            event.add("description", item.description)
        event.add("categories", [item.kind])
        calendar.add_component(event)
    return calendar.to_ical()
