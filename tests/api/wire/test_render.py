from __future__ import annotations

from xml.etree import ElementTree

import pytest

from twostep import errors
from twostep.api.wire.errors import error_body
from twostep.api.wire.render import render, singular, to_json, to_xml


def test_json_is_compact_and_keeps_key_order() -> None:
    body = {"message": "Token is valid.", "token": "is valid", "success": "true"}
    assert to_json(body) == b'{"message":"Token is valid.","token":"is valid","success":"true"}'


def test_xml_follows_rails_to_xml() -> None:
    out = to_xml(
        {
            "success": True,
            "message": "SMS token was sent",
            "user": {"id": 1000},
            "device": None,
            "devices": ["iphone", "android"],
            "detailed_devices": [],
            "ratio": 0.5,
        }
    ).decode()
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<hash>\n')
    assert '<success type="boolean">true</success>' in out
    assert '<user>\n    <id type="integer">1000</id>\n  </user>' in out
    assert '<device nil="true"/>' in out
    assert '<devices type="array">\n    <device>iphone</device>' in out
    assert '<detailed-devices type="array"/>' in out
    assert '<ratio type="float">0.5</ratio>' in out
    ElementTree.fromstring(out)  # well-formed


def test_xml_escapes_text_and_sanitises_names() -> None:
    out = to_xml({"details": {"Account Number": "<&>", "9lives": "x\x00y"}}).decode()
    root = ElementTree.fromstring(out)
    assert root.find("details/Account-Number").text == "<&>"  # type: ignore[union-attr]
    assert root.find("details/_9lives").text == "xy"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("plural", "one"),
    [("devices", "device"), ("stats", "stat"), ("entries", "entry"), ("status", "status")],
)
def test_singular(plural: str, one: str) -> None:
    assert singular(plural) == one


def test_error_envelope_matches_the_spec() -> None:
    status, body = error_body(errors.UserNotFound())
    assert status == 404
    assert to_json(body) == (
        b'{"message":"User not found.","success":false,'
        b'"errors":{"message":"User not found."},"error_code":"60026"}'
    )


def test_validation_errors_repeat_fields_at_the_top_level() -> None:
    status, body = error_body(errors.UserNotValid({"cellphone": "is invalid"}))
    assert status == 400
    assert body == {
        "message": "User was not valid",
        "success": False,
        "errors": {"message": "User was not valid", "cellphone": "is invalid"},
        "cellphone": "is invalid",
        "error_code": "60027",
    }


def test_approval_request_not_found_has_empty_errors() -> None:
    status, body = error_body(errors.ApprovalRequestNotFound("abc"))
    assert (status, body["errors"], body["message"]) == (404, {}, "Approval request not found: abc")


def test_unknown_exceptions_are_internal_errors_in_the_envelope() -> None:
    status, body = error_body(RuntimeError("boom"))
    assert status == 500
    assert body["error_code"] == "60000"
    assert "boom" not in body["message"]


def test_xml_errors_use_the_errors_root_and_dasherized_keys() -> None:
    _status, body = error_body(errors.UserNotFound())
    content, media = render(body, "xml", error=True)
    assert media.startswith("application/xml")
    assert b"<errors>" in content
    assert b"<error-code>60026</error-code>" in content
