"""The single canonical JSON encoder and strict decoder (spec: docs/spec/manifest.md §2).

Canonical bytes are UTF-8 JSON with keys sorted, no insignificant whitespace, no
floating-point numbers and integers within +/-(2**53 - 1). For this float-free domain
the output equals RFC 8785 (JCS). Every signed or chained byte string in evidencekit
comes from `dumps`; readers use `loads`, which rejects what `dumps` could not have made.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import FormatError

MAX_SAFE_INT = 2**53 - 1


def _check(value: Any, where: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        if isinstance(value, str):
            _check_text(value, where)
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise ValueError(f"{where}: integer {value} is outside the safe range")
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            _check_text(key, where)
            _check(inner, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, inner in enumerate(value):
            _check(inner, f"{where}[{index}]")
        return
    raise ValueError(f"{where}: {type(value).__name__} is not allowed in canonical JSON")


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where}: text holds a lone surrogate") from exc


def _allowed(value: Any) -> bool:
    """A fast check of the value's types and integer ranges (no paths; texts are checked by
    encoding the result). `_check` then finds where a value fails, for the message."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                return False
        elif kind is dict:
            if not all(type(key) is str for key in item):
                return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def dumps(value: Any) -> bytes:
    """Return the canonical bytes of `value` (no trailing newline).

    Raises `ValueError` for floats, big integers, non-string keys or lone surrogates:
    those are programmer errors, never user input.
    """
    if not _allowed(value):
        _check(value, "$")  # raises, naming where
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        _check(value, "$")  # raises, naming the text with a lone surrogate
        raise


def _reject_float(text: str) -> Any:
    raise ValueError(f"floating-point number {text} is not allowed")


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads(data: bytes, *, what: str = "document", path: str | None = None, require_canonical: bool = True) -> Any:
    """Parse canonical bytes strictly.

    Rejects invalid UTF-8, floats, NaN/Infinity, duplicate keys and, when
    `require_canonical` is true, any bytes that `dumps` would not produce.
    Raises `FormatError` naming `what` and `path`.
    """
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
        )
        if require_canonical and dumps(value) != data:
            raise ValueError("bytes are not in canonical form (sorted keys, no spaces, UTF-8)")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(
            f"{what} is not valid canonical JSON: {exc}",
            path=path,
            hint="the file was changed outside evidencekit or is damaged; run `evidencekit verify`",
        ) from exc
    return value
