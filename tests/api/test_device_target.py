"""The request target a device signs is read exactly as Starlette's ``request.url`` shows it,
whether it is built directly (plain paths) or through ``URL``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import URL

from twostep.api.device_endpoint import request_target


def _scope(path: str, query: bytes) -> dict[str, object]:
    return {
        "type": "http",
        "scheme": "http",
        "path": path,
        "query_string": query,
        "headers": [(b"host", b"twostep.example:8080")],
        "server": ("127.0.0.1", 8080),
    }


def _by_starlette(scope: dict[str, object]) -> str:
    url = URL(scope=scope)
    return url.path + (f"?{url.query}" if url.query else "")


@given(
    path=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40),
    query=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#"),
        max_size=40,
    ),
)
def test_the_target_is_what_starlette_shows(path: str, query: str) -> None:
    scope = _scope("/device/v1/" + path, query.encode())
    assert request_target(scope) == _by_starlette(scope)


def test_a_usual_answer_path() -> None:
    scope = _scope("/device/v1/approval_requests/4f2c-9a", b"wait=5&x=%20y")
    assert request_target(scope) == "/device/v1/approval_requests/4f2c-9a?wait=5&x=%20y"
