"""Typed access to decoded parameters with the spec's coercions (§1.3): booleans as ``true``/``1``
in any case, numbers as strings, ``null`` or empty meaning "not given"."""

from __future__ import annotations

from typing import Any

from twostep.errors import InvalidParameter

REQUIRED = "Parameter is required"


class Params:
    __slots__ = ("_data", "_max_string")

    def __init__(self, data: dict[str, Any], max_string: int = 4096) -> None:
        self._data = data
        self._max_string = max_string

    @property
    def raw(self) -> dict[str, Any]:
        return self._data

    def has(self, name: str) -> bool:
        return _given(self._data.get(name))

    def any(self, name: str) -> Any:
        value = self._data.get(name)
        return value if _given(value) else None

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        min_length: int = 0,
    ) -> str | None:
        value = self._data.get(name)
        if not _given(value):
            if required:
                raise InvalidParameter(name, REQUIRED)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidParameter(name, "Must be a string")
        text = str(value)
        limit = min(max_length or self._max_string, self._max_string)
        if len(text) > limit:
            raise InvalidParameter(name, f"Must be at most {limit} characters")
        if len(text) < min_length:
            raise InvalidParameter(name, f"Must be at least {min_length} characters")
        return text

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._data.get(name)
        if not _given(value):
            return default
        return parse_bool(value)

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._data.get(name)
        if not _given(value):
            if required:
                raise InvalidParameter(name, REQUIRED)
            return None
        number = parse_int(value)
        if number is None:
            raise InvalidParameter(name, "Must be an integer")
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise InvalidParameter(name, f"Must be between {minimum} and {maximum}")
        return number

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self._data.get(name)
        if not _given(value):
            return None
        if not isinstance(value, dict):
            raise InvalidParameter(name, "Must be a hash")
        return value

    def array(self, name: str) -> list[Any] | None:
        value = self._data.get(name)
        if not _given(value):
            return None
        if isinstance(value, dict):  # a hash keyed "0", "1"… is a list (spec §1.3)
            value = list(value.values())
        if not isinstance(value, list):
            raise InvalidParameter(name, "Must be an array")
        return value


def _given(value: Any) -> bool:
    return value is not None and value not in ("", {}, [])


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return False


def parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) <= 18:
            return int(text)
    return None
