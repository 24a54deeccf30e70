"""Time-zone names: validated against the IANA database, with a portable local default."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._time import format_offset
from .errors import InputError

_OFFSET = re.compile(r"(?:UTC)?([+-])(\d{2}):?(\d{2})")


def parse_timezone(name: str) -> timezone | ZoneInfo:
    """Return a tzinfo for an IANA name (`Asia/Kuala_Lumpur`) or a fixed offset (`+08:00`, `UTC+08:00`)."""
    match = _OFFSET.fullmatch(name.strip())
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"unknown timezone {name!r}: expected an IANA name such as Asia/Kuala_Lumpur, or an offset such as +08:00",
            hint="on Windows, `pip install tzdata` adds the timezone names",
        ) from exc


def check_timezone(name: str) -> str:
    """Validate a timezone name and return it in the form the manifest keeps."""
    parse_timezone(name)
    match = _OFFSET.fullmatch(name.strip())
    if match:
        sign, hours, minutes = match.groups()
        return f"UTC{sign}{hours}:{minutes}"
    return name


def local_timezone_name(now: datetime) -> str:
    """The machine's IANA zone name when it can be found, else the current UTC offset (`UTC+08:00`)."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = os.readlink(localtime)
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        if name:
            try:
                ZoneInfo(name)
                return name
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC" + format_offset(now.utcoffset())
