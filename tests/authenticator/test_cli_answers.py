"""``twostep authenticator``: codes the customer's verify endpoint accepts, and answers to OneTouch
requests (``pending``, ``approve``, ``deny``, ``watch``) that the customer sees through the Authy
API; number matching; the device refuses to sign when the server's digest does not match."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.authenticator.conftest import Auth, Customer
from tests.support import LiveServer, new_app
from twostep.authenticator import state as files
from twostep.authenticator.protocol import DeviceKey, shown_digest
from twostep.services.runtime import Runtime


@pytest.fixture
def ann(auth: Auth, customer: Customer, runtime: Runtime) -> int:
    """Ann, registered with the customer, with the command-line authenticator enrolled."""
    authy_id = customer.register()
    auth.enroll(runtime)
    return authy_id


def test_codes_are_accepted_by_the_verify_endpoint(
    auth: Auth, customer: Customer, ann: int
) -> None:
    [entry] = auth.json("codes")
    assert (entry["app_id"], entry["authy_id"], entry["digits"], entry["period"]) == (
        customer.app_id,
        ann,
        7,
        10,
    )
    assert "seed" not in entry
    assert 1 <= entry["seconds_left"] <= 10
    if entry["seconds_left"] < 2:  # do not race the end of the step
        time.sleep(entry["seconds_left"])
        [entry] = auth.json("codes")
    verified = customer.verify(ann, entry["code"])
    assert verified.status_code == 200, verified.text
    table = auth.run("codes").stdout
    assert "Acme Bank" in table
    assert "SECONDS_LEFT" in table


def test_approve_and_deny_reach_the_customer(auth: Auth, customer: Customer, ann: int) -> None:
    first = customer.ask(ann, "Log in to Acme?", details={"Username": "ann", "IP": "192.0.2.7"})
    second = customer.ask(ann, "Transfer 100 EUR?")
    listing = auth.run("pending").stdout
    assert listing.index(second["uuid"]) < listing.index(first["uuid"])  # newest first
    assert "Log in to Acme?" in listing
    assert "Username: ann" in listing
    found = {r["uuid"]: r for r in auth.json("pending")}
    assert found[first["uuid"]]["digest_ok"] is True
    assert found[first["uuid"]]["shown"]["details"] == {"Username": "ann", "IP": "192.0.2.7"}

    assert auth.run("approve", first["uuid"]).stdout.strip().endswith("approved")
    assert auth.run("deny", second["uuid"]).stdout.strip().endswith("denied")
    assert customer.status(first["uuid"]) == "approved"
    assert customer.status(second["uuid"]) == "denied"
    assert auth.json("pending") == []
    again = auth.run("approve", first["uuid"], ok=False)
    assert "no pending approval request" in again.output


def test_number_matching(auth: Auth, runtime: Runtime, http: Any) -> None:
    app, key = new_app(runtime, "Matching Bank", number_matching="true")
    customer = Customer(http, key, app.id)
    authy_id = customer.register()
    auth.enroll(runtime)
    right = customer.ask(authy_id, "Log in?")
    [shown] = auth.json("pending")
    choices = shown["shown"]["number_choices"]
    assert right["number"] in choices
    assert "number matching" in auth.run("pending").stdout
    refused = auth.run("approve", right["uuid"], "--number", "07", ok=False)
    assert "number matching" in refused.output  # not one of the choices: refused locally
    approved = auth.run("approve", right["uuid"], typed=[right["number"]])
    assert "Which number" in approved.output
    assert approved.stdout.strip().endswith("approved")
    assert customer.status(right["uuid"]) == "approved"

    mismatch = customer.ask(authy_id, "Again?")
    [listed] = auth.json("pending")
    wrong = next(c for c in listed["shown"]["number_choices"] if c != mismatch["number"])
    answered = auth.run("approve", mismatch["uuid"], "--number", wrong)
    assert "recorded as denied" in answered.stdout
    assert customer.status(mismatch["uuid"]) == "denied"

    asked = customer.ask(authy_id, "Once more?")
    watched = auth.run("watch", "--count", "1", typed=[asked["number"]])
    assert "Which number does the page show" in watched.output
    assert customer.status(asked["uuid"]) == "approved"


def later(seconds: float, action: Any) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    thread.start()
    return thread


def test_watch_answers_pending_then_new_requests(auth: Auth, customer: Customer, ann: int) -> None:
    waiting = customer.ask(ann, "Waiting already")
    made: list[dict[str, Any]] = []
    thread = later(1.0, lambda: made.append(customer.ask(ann, "Arrives while watching")))
    result = auth.run("watch", "--auto-approve", "--count", "2")
    thread.join()
    assert customer.status(waiting["uuid"]) == "approved"
    assert customer.status(made[0]["uuid"]) == "approved"
    out = result.stdout
    assert out.index("Waiting already") < out.index("Arrives while watching")
    assert out.count("-> approved") == 2
    assert "connected" in result.stderr


def test_watch_asks_each_time(auth: Auth, customer: Customer, ann: int) -> None:
    denied = customer.ask(ann, "Deny me")
    skipped = customer.ask(ann, "Skip me")
    approved = customer.ask(ann, "Approve me")
    # oldest first: deny, skip, approve
    result = auth.run("watch", "--count", "2", typed=["d", "s", "a"])
    assert "Approve? a = approve, d = deny, s = skip" in result.output
    assert customer.status(denied["uuid"]) == "denied"
    assert customer.status(skipped["uuid"]) == "pending"
    assert customer.status(approved["uuid"]) == "approved"
    later(0.5, lambda: customer.ask(ann, "Denied by a script"))
    auth.run("watch", "--auto-deny", "--count", "2")  # the skipped one, then the new one
    assert customer.status(skipped["uuid"]) == "denied"


def test_an_expired_request_is_not_answered(auth: Auth, customer: Customer, ann: int) -> None:
    short = customer.ask(ann, "Quick", seconds_to_expire=1)
    [listed] = auth.json("pending")
    time.sleep(1.5)
    assert auth.json("pending") == []
    assert "no pending approval request" in auth.run("approve", listed["uuid"], ok=False).output
    assert customer.status(short["uuid"]) == "expired"


@pytest.fixture
def lying_server() -> Iterator[tuple[LiveServer, list[Any]]]:
    """A server whose ``shown_digest`` is not the digest of the ``shown`` it sends: it shows one
    thing and would have the device sign another."""
    answers: list[Any] = []
    shown = {"app_name": "Acme", "message": "Log in?", "details": {}, "logos": []}
    shown["number_choices"] = None
    signed = {**shown, "message": "Transfer 10,000 EUR to Eve?"}
    request = {"uuid": "u-1", "app_id": 1, "app_name": "Acme", "status": "pending"}
    request |= {"created_at": 1, "expires_at": None, "shown": shown}
    request["shown_digest"] = shown_digest(signed)

    async def listing(_request: Request) -> JSONResponse:
        return JSONResponse({"approval_requests": [request], "success": True})

    async def answer(incoming: Request) -> JSONResponse:
        answers.append(await incoming.json())
        return JSONResponse({"approval_request": request, "success": True})

    app = Starlette(
        routes=[
            Route("/device/v1/approval_requests", listing),
            Route("/device/v1/approval_requests/{uuid}", answer, methods=["POST"]),
        ]
    )
    with LiveServer(app) as server:
        yield server, answers


def test_a_lying_server_gets_no_signature(
    lying_server: tuple[LiveServer, list[Any]], tmp_path: Path
) -> None:
    server, answers = lying_server
    state = files.State(server.url, "d-1", 1, "phone", DeviceKey.generate().private_b64url())
    path = tmp_path / "state.json"
    files.save(state, path)
    auth = Auth(path, server.url)
    assert "WARNING: the server's shown_digest does not match" in auth.run("pending").stdout
    refused = auth.run("approve", "u-1", ok=False)
    assert "refusing to sign" in refused.output
    assert answers == []
