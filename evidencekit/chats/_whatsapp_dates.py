"""WhatsApp header lines and their dates (chat-formats reference §1.2–§1.3): which lines of a
file are message headers, the date order of the file, and the date and time a header holds.

Invariants: a file uses one header variant (brackets, separators, seconds, AM/PM, year length),
its most common one, and only lines of that variant are headers; the date order is read from the
file's own dates or from the caller, never guessed (`InputError` asks for `--date-order`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, NamedTuple, cast

from ..errors import InputError
from ._model import BIDI_MARKS, strip_marks

_SPACE = "[ \u00a0\u202f]"
_PM_WORDS = {"pm", "ptg", "下午", "午後", "오후"}
_PERIOD_NOISE = re.compile(r"[\s.]")  # "p. m." reads as "pm"
_ERAS = {"R": 2018, "H": 1988, "S": 1925}  # Japanese calendar: Reiwa, Heisei, Showa (year 1 = base + 1)
ORDERS = {"dmy": "day/month/year", "mdy": "month/day/year", "ymd": "year/month/day"}

# Reference §1.2, applied to a line without direction marks; `rest` follows the match. A header
# holds a stamp (the date and the time, as `STAMP` reads them) between its punctuation.
_STAMP = (
    r"(?P<date>(?P<d1>\d{1,4})(?P<sep>[./-]) ?(?P<d2>\d{1,4})(?P=sep) ?(?P<d3>\d{1,4}|[A-Z]\d{1,2})(?P<be> ?BE)?\.?)"
    r"(?P<comma>[,\u060c])? (?P<klo>klo )?"
    r"(?P<clock>(?:(?P<pre>上午|下午|午前|午後|오전|오후) ?)?(?P<h>\d{1,2})(?P<tsep>[.:])(?P<mi>\d{2})"
    rf"(?:(?P=tsep)(?P<s>\d{{2}}))?(?:{_SPACE}?(?P<ampm>[AaPp]\.?{_SPACE}?[Mm]\.?|PTG|PG))?)"
)
HEADER = re.compile(rf"(?P<open>\[)?{_STAMP}(?:(?P<close>\])| (?P<dash>[-\u2013]))(?: |$)")
STAMP = re.compile(_STAMP)
_VARIANT_GROUPS = ("open", "sep", "be", "comma", "klo", "tsep", "dash", "d1", "d2", "d3", "s", "ampm", "pre")


class Header(NamedTuple):
    """A line with the header form: its 0-based index, its stamp and the date part of it (direction
    marks removed), the text after the header (marks kept), and the header variant."""

    row: int
    stamp: str
    date: str
    rest: str
    variant: tuple[Any, ...]

    @property
    def fields(self) -> re.Match[str]:
        """`stamp_fields` of the stamp, read again when asked: kept, thousands of matches would
        slow the garbage collector."""
        return stamp_fields(self.stamp)


def stamp_fields(stamp: str) -> re.Match[str]:
    """The date and time fields of a header's stamp (`d1`, `d2`, `d3`, `be`, `h`, `mi`, `s`, `ampm`, `pre`…)."""
    return cast(re.Match[str], STAMP.fullmatch(stamp))  # it matched inside the header


def header_match(lines: list[str], header: Header) -> re.Match[str]:
    """The whole match of a header line, its punctuation too (what `Header` keeps is its stamp)."""
    return cast(re.Match[str], HEADER.match(strip_marks(lines[header.row])))


def _variant(match: re.Match[str]) -> tuple[Any, ...]:
    """What every header of one file shares: its punctuation, where the year is, seconds, AM/PM."""
    *form, d1, d2, d3, seconds, ampm, pre = match.group(*_VARIANT_GROUPS)
    return (*form, len(d1) == 4, len(d2) == 4, len(d3) == 4 or not d3.isdigit(), seconds is None, bool(ampm or pre))


def _after(line: str, count: int) -> str:
    """What follows the first `count` characters of `line` that are not direction marks."""
    seen = 0
    for index, char in enumerate(line):
        if seen == count:
            return line[index:]
        seen += char not in BIDI_MARKS
    return ""


def find_headers(lines: list[str]) -> list[Header]:
    """The header lines of the file's most common header variant (reference §1.2: re-check
    every candidate against the variant in use)."""
    found = []
    for index, line in enumerate(lines):
        clean = strip_marks(line)
        match = HEADER.match(clean)
        if match is not None:
            rest = line[match.end() :] if len(clean) == len(line) else _after(line, match.end())
            stamp = clean[match.start("date") : match.end("clock")]
            found.append(Header(index, stamp, match["date"], rest, _variant(match)))
    if not found:
        return []
    counts = Counter(header.variant for header in found)
    variant = max(counts, key=counts.__getitem__)
    return [header for header in found if header.variant == variant]


# Date order (reference §1.3) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateOrder:
    """How the file's dates are read: `value` (dmy, mdy, ymd), from the `file` or an `option`, and why."""

    value: str
    source: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"value": self.value, "from": self.source, "reason": self.reason}


def _year(token: str, buddhist: bool) -> int:
    if token[0] in _ERAS:
        return _ERAS[token[0]] + int(token[1:])
    year = int(token)
    if buddhist:
        return year - 543
    return 2000 + year if len(token) <= 2 else year


def read_date(match: re.Match[str], order: str) -> date | None:
    """The date of a header read in `order` (dmy, mdy, ymd), or None if it is not a date so."""
    first, second, third = match["d1"], match["d2"], match["d3"]
    year, month, day = {"dmy": (third, second, first), "mdy": (third, first, second)}.get(order, (first, second, third))
    try:
        return date(_year(year, bool(match["be"])), int(month), int(day))
    except ValueError:
        return None


def read_clock(match: re.Match[str]) -> time | None:
    """The time of day of a header (12-hour clocks and localised AM/PM words read), or None."""
    hours, minutes, seconds, ampm, pre = match.group("h", "mi", "s", "ampm", "pre")
    hour, period = int(hours), ampm or pre
    if period and hour <= 12:
        hour = hour % 12 + (12 if _PERIOD_NOISE.sub("", period).lower() in _PM_WORDS else 0)
    try:
        return time(hour, int(minutes), int(seconds or 0))
    except ValueError:
        return None


def _first_invalid(headers: list[Header], order: str) -> Header | None:
    return next((header for header in headers if read_date(header.fields, order) is None), None)


def _distinct_dates(headers: list[Header]) -> list[Header]:
    """The first header of each distinct date text (deciding the order reads each date once)."""
    first: dict[str, Header] = {}
    for header in headers:
        first.setdefault(header.date, header)
    return list(first.values())


def date_order(headers: list[Header], given: str | None, main: str) -> DateOrder:
    """The date order of a file: `given` (checked against the file's dates), or read from its
    dates. Raises `InputError` for an unknown order, or when the file's dates do not tell."""
    return _given_order(headers, given) if given else _decide_order(headers, main)


def _given_order(headers: list[Header], order: str) -> DateOrder:
    if order not in ORDERS:
        raise InputError(f"unknown date order {order!r}: expected dmy, mdy or ymd")
    valid = {header.date: read_date(header.fields, order) is not None for header in _distinct_dates(headers)}
    bad = [header for header in headers if not valid[header.date]]
    reason = "given with --date-order"
    if bad:
        reason += f"; {len(bad)} dates of the file are not dates in this order (the first on line {bad[0].row + 1})"
    return DateOrder(order, "option", reason)


def _decide_order(headers: list[Header], main: str) -> DateOrder:
    if len(headers[0].fields["d1"]) == 4:
        return DateOrder("ymd", "file", "the year is written first, with four digits")
    dates = _distinct_dates(headers)
    invalid = {order: _first_invalid(dates, order) for order in ("dmy", "mdy")}
    valid = [order for order, bad in invalid.items() if bad is None]
    if len(valid) == 1 and (proof := invalid["mdy" if valid[0] == "dmy" else "dmy"]):
        text = proof.date
        return DateOrder(
            valid[0], "file", f"line {proof.row + 1} has {text}, a date only when read as {ORDERS[valid[0]]}"
        )
    if not valid:
        lines = " and ".join(f"line {bad.row + 1} is not a date as {ORDERS[o]}" for o, bad in invalid.items() if bad)
        raise _ambiguous(main, f"no date order fits every date: {lines}")
    return _order_by_sequence(headers, main)


def _order_by_sequence(headers: list[Header], main: str) -> DateOrder:
    """All days and months are 12 or less: prefer the reading whose times go back less often."""
    if all(int(header.fields["d1"]) == int(header.fields["d2"]) for header in _distinct_dates(headers)):
        return DateOrder("dmy", "file", "day and month are equal in every date, so both orders read the same")
    jumps = {order: _backward_jumps(headers, order) for order in ("dmy", "mdy")}
    if jumps["dmy"] == jumps["mdy"]:
        raise _ambiguous(main, "every day and month is 12 or less and both readings are equally plausible")
    best = min(jumps, key=jumps.__getitem__)
    return DateOrder(
        best,
        "file",
        f"every day and month is 12 or less; read as day/month/year the times go back {jumps['dmy']} times, "
        f"as month/day/year {jumps['mdy']} times",
    )


def _backward_jumps(headers: list[Header], order: str) -> int:
    moments = [
        datetime.combine(read_date(h.fields, order) or date.min, read_clock(h.fields) or time()) for h in headers
    ]
    return sum(1 for before, after in zip(moments, moments[1:], strict=False) if after < before)


def _ambiguous(main: str, why: str) -> InputError:
    return InputError(
        f"{main}: cannot tell the date order: {why}; pass --date-order dmy|mdy|ymd",
        hint="open the chat on the phone and compare the date of one message you can see there",
        path=main,
    )


# Describing the variant ------------------------------------------------------------------


def describe_variant(match: re.Match[str], order: str) -> str:
    """A short description of a header form, such as `[m/d/yy, H:MM:SS AM/PM]` or `d.m.yyyy, H:MM -`."""
    year = match[{"ymd": "d1"}.get(order, "d3")]
    year_text = "yyyy BE" if match["be"] else "Eyy" if not year.isdigit() else "y" * (4 if len(year) == 4 else 2)
    day = match["sep"].join(year_text if letter == "y" else letter for letter in order)
    sep = match["tsep"]
    clock = f"H{sep}MM" + (f"{sep}SS" if match["s"] else "")
    clock = f"AM/PM {clock}" if match["pre"] else f"{clock} AM/PM" if match["ampm"] else clock
    text = f"{day}{match['comma'] or ''} {'klo ' if match['klo'] else ''}{clock}"
    return f"[{text}]" if match["open"] else f"{text} {match['dash']}"
