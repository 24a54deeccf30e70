"""Time stamps: injected, timezone-aware, written as UTC text with the local offset.

Every function that stamps time takes `now` (an aware `datetime`) and uses the clock only
when it is `None`. Stamps are `{"utc": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "offset": "+08:00"}`
(spec: docs/spec/manifest.md §3.1); file-system times keep their nanoseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def resolve_now(now: datetime | None) -> datetime:
    """Return `now`, or the current local time, as an aware datetime.

    Raises `ValueError` for a naive datetime (a programmer error).
    """
    if now is None:
        return datetime.now().astimezone()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def format_offset(offset: timedelta | None) -> str:
    """Render a UTC offset as `+HH:MM` (seconds are dropped; zero is `+00:00`)."""
    minutes = int((offset or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def utc_text(moment: datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC with microseconds and a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp(now: datetime | None = None) -> dict[str, str]:
    """Return the stamp for `now` (or the clock): UTC text plus the local offset."""
    moment = resolve_now(now)
    return {"utc": utc_text(moment), "offset": format_offset(moment.utcoffset())}


def local_text(stamp_: dict[str, str]) -> str:
    """A stamp for people: local time with its offset, then UTC (`2026-03-14 21:05:09 +08:00 (13:05:09 UTC)`)."""
    moment = datetime.strptime(stamp_["utc"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    sign = -1 if stamp_["offset"].startswith("-") else 1
    hours, minutes = stamp_["offset"][1:].split(":")
    local = moment + sign * timedelta(hours=int(hours), minutes=int(minutes))
    return f"{local:%Y-%m-%d %H:%M:%S} {stamp_['offset']} ({moment:%H:%M:%S} UTC)"


def ns_to_utc_text(ns: int) -> str:
    """Render a file-system time in nanoseconds since the epoch as UTC text, keeping nanoseconds."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"
