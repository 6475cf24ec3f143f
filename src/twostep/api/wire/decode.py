"""Request decoding (spec §1.3): parameters merged from the query string, a form body and a JSON body
on every method, with Rack-style bracket nesting (``user[email]``, ``logos[][res]``, ``logos[0][url]``).

Precedence follows Rails: the body overrides the query string; keys are merged shallowly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from twostep.errors import InvalidEncoding, InvalidRequest, UnsupportedMediaType


@dataclass(frozen=True, slots=True)
class Limits:
    max_params: int = 512
    max_depth: int = 8
    max_key_length: int = 256


def parse_query(raw: bytes, limits: Limits) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` pairs, strictly UTF-8 after percent-decoding."""
    pairs: list[tuple[str, str]] = []
    if not raw:
        return pairs
    for chunk in raw.split(b"&"):
        if not chunk:
            continue
        if len(pairs) >= limits.max_params:
            raise InvalidRequest(f"Too many parameters (at most {limits.max_params})")
        key, _, value = chunk.partition(b"=")
        pairs.append((_decode_component(key), _decode_component(value)))
    return pairs


def _decode_component(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEncoding from None


def parse_json(body: bytes, limits: Limits) -> dict[str, Any]:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEncoding from None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("Invalid JSON body") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("The JSON body must be an object")
    _check_shape(value, limits, depth=1, count=[0])
    return value


def _check_shape(value: Any, limits: Limits, depth: int, count: list[int]) -> None:
    if depth > limits.max_depth:
        raise InvalidRequest(f"Parameters nested too deeply (at most {limits.max_depth} levels)")
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        count[0] += 1
        if count[0] > limits.max_params:
            raise InvalidRequest(f"Too many parameters (at most {limits.max_params})")
        if isinstance(child, dict | list):
            _check_shape(child, limits, depth + 1, count)


def decode_body(content_type: str, body: bytes, limits: Limits) -> dict[str, Any]:
    """Parameters carried by the body, by content type. An empty body carries none."""
    if not body.strip():
        return {}
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return parse_json(body, limits)
    if media == "application/x-www-form-urlencoded":
        return nest(parse_query(body.strip(), limits), limits)
    if not media:
        # No declared type: a JSON object or a form, whichever it is.
        if body.lstrip()[:1] == b"{":
            return parse_json(body, limits)
        return nest(parse_query(body.strip(), limits), limits)
    raise UnsupportedMediaType(media)


# Rack-style nesting --------------------------------------------------------------------------------


def split_key(key: str) -> tuple[str, list[str]]:
    """``a[b][][c]`` → (``a``, [``b``, ``""``, ``c``]). A key without well-formed brackets is flat."""
    start = key.find("[")
    if start <= 0 or not key.endswith("]"):
        return key, []
    name, rest = key[:start], key[start:]
    parts: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i] != "[":
            return key, []
        end = rest.find("]", i)
        if end < 0:
            return key, []
        parts.append(rest[i + 1 : end])
        i = end + 1
    return name, parts


def nest(pairs: list[tuple[str, str]], limits: Limits) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        if len(key) > limits.max_key_length:
            raise InvalidRequest(f"Parameter name too long (at most {limits.max_key_length})")
        name, parts = split_key(key)
        if len(parts) + 1 > limits.max_depth:
            raise InvalidRequest(
                f"Parameters nested too deeply (at most {limits.max_depth} levels)"
            )
        _assign(root, name, parts, value, key)
    return {k: _lists_from_indexed(v) for k, v in root.items()}


def _conflict(key: str) -> InvalidRequest:
    return InvalidRequest(f"Conflicting parameter types for {key}")


def _assign(container: dict[str, Any], name: str, parts: list[str], value: str, key: str) -> None:
    if not parts:
        container[name] = value
        return
    head, rest = parts[0], parts[1:]
    if head == "":
        items = container.setdefault(name, [])
        if not isinstance(items, list):
            raise _conflict(key)
        if not rest:
            items.append(value)
            return
        child_name, child_rest = rest[0], rest[1:]
        last = items[-1] if items else None
        if isinstance(last, dict) and not _has_path(last, child_name, child_rest):
            _assign(last, child_name, child_rest, value, key)
        else:
            fresh: dict[str, Any] = {}
            items.append(fresh)
            _assign(fresh, child_name, child_rest, value, key)
        return
    child = container.setdefault(name, {})
    if not isinstance(child, dict):
        raise _conflict(key)
    _assign(child, head, rest, value, key)


def _has_path(container: dict[str, Any], name: str, rest: list[str]) -> bool:
    """Whether assigning ``name[rest…]`` would overwrite something (Rack's ``params_hash_has_key?``)."""
    if name not in container:
        return False
    if not rest or rest[0] == "":
        return True
    child = container[name]
    return isinstance(child, dict) and _has_path(child, rest[0], rest[1:])


def _lists_from_indexed(value: Any) -> Any:
    """Rack turns ``logos[0][res]`` into a hash keyed "0"; clients mean a list (spec §1.3)."""
    if isinstance(value, list):
        return [_lists_from_indexed(v) for v in value]
    if not isinstance(value, dict):
        return value
    converted = {k: _lists_from_indexed(v) for k, v in value.items()}
    if converted and all(k.isdigit() and len(k) < 6 for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def merge(*sources: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for source in sources:
        merged.update(source)
    return merged
