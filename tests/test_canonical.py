"""The canonical encoder: round-trips, strictness, and bytes a reader must refuse."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidencekit import _canonical
from evidencekit.errors import FormatError

SAFE_INT = st.integers(min_value=-_canonical.MAX_SAFE_INT, max_value=_canonical.MAX_SAFE_INT)
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
VALUES = st.recursive(
    st.none() | st.booleans() | SAFE_INT | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)


@given(VALUES)
def test_round_trip_is_byte_identical(value: object) -> None:
    data = _canonical.dumps(value)
    assert _canonical.loads(data) == value
    assert _canonical.dumps(_canonical.loads(data)) == data


@given(st.dictionaries(TEXT, SAFE_INT, min_size=2, max_size=6))
def test_any_other_spacing_or_order_is_rejected(value: dict[str, int]) -> None:
    spaced = json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
    if spaced != _canonical.dumps(value):
        with pytest.raises(FormatError):
            _canonical.loads(spaced)


@pytest.mark.parametrize(
    "bad",
    [1.5, float("nan"), 2**53, {1: "a"}, b"bytes", "\ud800", {"k": 0.0}],
)
def test_encoder_refuses_what_it_cannot_write_exactly(bad: object) -> None:
    with pytest.raises(ValueError):
        _canonical.dumps(bad)


@pytest.mark.parametrize(
    "data",
    [b'{"a":1.0}', b'{"a":NaN}', b'{"a":1,"a":2}', b'{"b":1,"a":2}', b'{"a": 1}', b"\xff", b'"\\u00e9"', b"[1,2"],
)
def test_reader_refuses_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(FormatError):
        _canonical.loads(data)


def test_non_ascii_is_written_as_itself() -> None:
    assert _canonical.dumps({"nama": "Siti Nurhaliza 😀 é"}) == '{"nama":"Siti Nurhaliza 😀 é"}'.encode()
