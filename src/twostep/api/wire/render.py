"""Response rendering: compact JSON (clients look for the raw bytes ``"token":"is valid"``) and the
legacy Rails ``Hash#to_xml`` style for ``{format}`` = ``xml`` (spec §1.6)."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

import orjson

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"

_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def to_json(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)


def to_xml(body: dict[str, Any], root: str = "hash") -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    _element(lines, root, body, 0)
    return ("\n".join(lines) + "\n").encode("utf-8")


def render(body: dict[str, Any], fmt: str, *, error: bool = False) -> tuple[bytes, str]:
    if fmt == "xml":
        return to_xml(body, "errors" if error else "hash"), XML_TYPE
    return to_json(body), JSON_TYPE


def _name(key: str) -> str:
    name = _BAD_NAME_CHARS.sub("-", key.replace("_", "-")) or "value"
    return name if name[0].isalpha() else f"_{name}"


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "status")):
        return name[:-2] if name.endswith("sses") else name
    if name.endswith("s") and len(name) > 1:
        return name[:-1]
    return name


def _text(value: str) -> str:
    return escape(_BAD_XML_CHARS.sub("", value))


def _element(lines: list[str], key: str, value: Any, depth: int) -> None:
    pad = "  " * depth
    name = _name(key)
    if value is None:
        lines.append(f'{pad}<{name} nil="true"/>')
    elif isinstance(value, bool):
        lines.append(f'{pad}<{name} type="boolean">{"true" if value else "false"}</{name}>')
    elif isinstance(value, int):
        lines.append(f'{pad}<{name} type="integer">{value}</{name}>')
    elif isinstance(value, float):
        lines.append(f'{pad}<{name} type="float">{value!r}</{name}>')
    elif isinstance(value, dict):
        if not value:
            lines.append(f"{pad}<{name}/>")
            return
        lines.append(f"{pad}<{name}>")
        for child_key, child in value.items():
            _element(lines, str(child_key), child, depth + 1)
        lines.append(f"{pad}</{name}>")
    elif isinstance(value, list | tuple):
        if not value:
            lines.append(f'{pad}<{name} type="array"/>')
            return
        lines.append(f'{pad}<{name} type="array">')
        item = singular(key)
        for child in value:
            _element(lines, item, child, depth + 1)
        lines.append(f"{pad}</{name}>")
    else:
        lines.append(f"{pad}<{name}>{_text(str(value))}</{name}>")
