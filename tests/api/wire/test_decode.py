from __future__ import annotations

import pytest

from twostep.api.wire import decode
from twostep.errors import InvalidEncoding, InvalidRequest, UnsupportedMediaType

LIMITS = decode.Limits(max_params=50, max_depth=4)


def form(text: str) -> dict[str, object]:
    return decode.nest(decode.parse_query(text.encode(), LIMITS), LIMITS)


def test_flat_and_hash_keys() -> None:
    assert form("a=1&user[email]=x%40y.z&user[cellphone]=555") == {
        "a": "1",
        "user": {"email": "x@y.z", "cellphone": "555"},
    }


def test_keys_with_spaces_inside_brackets() -> None:
    assert form("details[Account+Number]=981266321") == {"details": {"Account Number": "981266321"}}


def test_simple_arrays_keep_order() -> None:
    assert form("events[]=b&events[]=a") == {"events": ["b", "a"]}


def test_arrays_of_hashes_start_a_new_item_when_a_key_repeats() -> None:
    text = "logos[][res]=default&logos[][url]=u1&logos[][res]=low&logos[][url]=u2"
    assert form(text) == {"logos": [{"res": "default", "url": "u1"}, {"res": "low", "url": "u2"}]}


def test_indexed_arrays_become_lists_ordered_by_index() -> None:
    text = "logos[1][res]=low&logos[1][url]=u2&logos[0][res]=default&logos[0][url]=u1"
    assert form(text) == {"logos": [{"res": "default", "url": "u1"}, {"res": "low", "url": "u2"}]}


def test_last_value_wins_for_repeated_flat_keys_and_blank_values_are_kept() -> None:
    assert form("a=1&a=2&b=&c") == {"a": "2", "b": "", "c": ""}


def test_malformed_brackets_are_plain_keys() -> None:
    assert form("a[b=1&[c]=2&d]=3") == {"a[b": "1", "[c]": "2", "d]": "3"}


def test_conflicting_shapes_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        form("a[]=1&a[b]=2")
    with pytest.raises(InvalidRequest):
        form("a=1&a[b]=2")


def test_depth_and_count_limits() -> None:
    with pytest.raises(InvalidRequest):
        form("a[b][c][d][e]=1")
    with pytest.raises(InvalidRequest):
        form("&".join(f"k{i}=v" for i in range(51)))


def test_invalid_utf8_is_an_encoding_error() -> None:
    with pytest.raises(InvalidEncoding):
        form("a=%FF%FE")


def test_json_bodies_must_be_objects_within_limits() -> None:
    assert decode.parse_json(b'{"user":{"email":"x"}}', LIMITS) == {"user": {"email": "x"}}
    assert decode.parse_json(b"null", LIMITS) == {}
    for bad in (b"[1,2]", b'"text"', b"{", b"{'a':1}"):
        with pytest.raises(InvalidRequest):
            decode.parse_json(bad, LIMITS)
    with pytest.raises(InvalidRequest):
        decode.parse_json(b'{"a":' * 10 + b"1" + b"}" * 10, LIMITS)
    with pytest.raises(InvalidEncoding):
        decode.parse_json(b'{"a":"\xff"}', LIMITS)


def test_body_decoding_by_content_type() -> None:
    assert decode.decode_body("application/json; charset=utf-8", b'{"a":1}', LIMITS) == {"a": 1}
    assert decode.decode_body("application/x-www-form-urlencoded", b"a=1", LIMITS) == {"a": "1"}
    assert decode.decode_body("", b'{"a":1}', LIMITS) == {"a": 1}
    assert decode.decode_body("", b"a=1", LIMITS) == {"a": "1"}
    assert decode.decode_body("text/plain", b"", LIMITS) == {}
    with pytest.raises(UnsupportedMediaType):
        decode.decode_body("text/plain", b"hello", LIMITS)


def test_body_overrides_query() -> None:
    assert decode.merge({"a": "q", "b": "q"}, {"a": "body"}) == {"a": "body", "b": "q"}
