"""``twostep authenticator enroll`` by phone and by link, SIM-swap recoveries seen from both
devices, the push address, removal, and the errors a person sees (server envelopes, a revoked
device, a missing or exposed state file, an unreachable server)."""

from __future__ import annotations

import shutil
import stat
import threading
import time
from pathlib import Path

from tests.authenticator.conftest import PHONE, Auth, Customer, new_pin
from tests.support import LiveServer, free_port, make_runtime, new_app
from twostep.api.app import create_app
from twostep.services.runtime import Runtime


def test_enroll_by_phone_saves_a_private_state(
    auth: Auth, customer: Customer, runtime: Runtime
) -> None:
    authy_id = customer.register()
    result = auth.run(
        "enroll",
        "--server",
        auth.server + "/",
        "--phone",
        PHONE,
        "--name",
        "Ann's laptop",
        typed=["000000", new_pin(runtime)],  # a wrong PIN first: asked again
    )
    assert "Invalid PIN" in result.output
    assert "Accounts: Acme Bank" in result.stdout
    assert stat.S_IMODE(auth.state.stat().st_mode) == 0o600
    assert stat.S_IMODE(auth.state.parent.stat().st_mode) == 0o700
    saved = auth.saved()
    assert saved["server"] == auth.server
    assert saved["name"] == "Ann's laptop"
    assert saved["status"] == "active"
    assert saved["private_key"] not in result.output
    assert saved["accounts"][0]["seed"] not in result.output
    [account] = auth.json("accounts")
    assert account == {
        "app_id": customer.app_id,
        "app_name": "Acme Bank",
        "authy_id": authy_id,
        "digits": 7,
        "period": 10,
        "algorithm": "SHA1",
    }
    again = auth.run("enroll", "--server", auth.server, "--phone", PHONE, ok=False)
    assert "already holds an enrolled device" in again.output


def test_new_applications_appear_after_a_sync(
    auth: Auth, customer: Customer, runtime: Runtime
) -> None:
    customer.register()
    auth.enroll(runtime)
    _app, key = new_app(runtime, "Second Shop")
    Customer(customer.http, key, _app.id).register(email="ann@shop.example")
    assert {a["app_name"] for a in auth.json("accounts", "--offline")} == {"Acme Bank"}
    assert {a["app_name"] for a in auth.json("accounts")} == {"Acme Bank", "Second Shop"}
    assert len(auth.saved()["accounts"]) == 2


def test_sim_swap_recovery_approved_and_canceled(
    auth: Auth, customer: Customer, runtime: Runtime, tmp_path: Path
) -> None:
    customer.register()
    auth.enroll(runtime)
    newcomer = Auth(tmp_path / "new.json", auth.server)
    started = newcomer.enroll(runtime)
    assert "To protect you from SIM swapping" in started.stdout
    assert newcomer.saved()["status"] == "pending"
    refused = newcomer.run("codes", ok=False)
    assert "waits for approval" in refused.output
    [waiting] = auth.json("recoveries")
    assert waiting["device"]["status"] == "pending"
    assert "New device" not in auth.run("recoveries").stdout
    assert waiting["device"]["name"] in auth.run("recoveries").stdout
    decided = auth.run("approve-recovery", waiting["enrollment_id"])
    assert "completed" in decided.stdout
    done = newcomer.run("enroll", "--wait", "--poll-interval", "0.1")
    assert "This device is active" in done.stdout or "Approved" in done.stdout
    assert [a["app_name"] for a in newcomer.json("accounts")] == ["Acme Bank"]

    intruder = Auth(tmp_path / "intruder.json", auth.server)
    intruder.enroll(runtime)
    [waiting] = auth.json("recoveries")
    withdrawn = Auth(tmp_path / "withdrawn.json", auth.server)
    shutil.copy2(intruder.state, withdrawn.state)
    left = withdrawn.run("remove", "--yes")  # a pending device cannot revoke itself
    assert f"cancel enrollment {waiting['enrollment_id']}" in left.output
    assert auth.json("recoveries") == [waiting]  # still waiting
    assert "canceled" in auth.run("cancel-recovery", waiting["enrollment_id"]).stdout
    gone = intruder.run("enroll", "--wait", "--poll-interval", "0.1", ok=False)
    assert "canceled" in gone.output
    assert not intruder.state.exists()
    unknown = auth.run("approve-recovery", waiting["enrollment_id"], ok=False)
    assert "Enrollment not found" in unknown.output
    assert "60035" in unknown.output


def test_watch_decides_recoveries_and_answers_requests(
    auth: Auth, customer: Customer, runtime: Runtime, tmp_path: Path
) -> None:
    authy_id = customer.register()
    auth.enroll(runtime)
    newcomer = Auth(tmp_path / "new.json", auth.server)
    newcomer.enroll(runtime)
    made: list[dict[str, object]] = []

    def ask() -> None:
        time.sleep(1.0)
        made.append(customer.ask(authy_id, "After the recovery"))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    watched = auth.run("watch", "--count", "1", typed=["a", "a"])
    thread.join()
    assert "New device asks to join your account" in watched.stdout
    assert "-> completed" in watched.stdout
    assert "-> approved" in watched.stdout
    assert customer.status(str(made[0]["uuid"])) == "approved"
    assert newcomer.run("accounts").exit_code == 0  # active now

    scripted = Auth(tmp_path / "third.json", auth.server)
    scripted.enroll(runtime)
    later = threading.Timer(1.0, lambda: made.append(customer.ask(authy_id, "Scripted")))
    later.start()
    auto = auth.run("watch", "--auto-approve", "--count", "1")
    later.join()
    assert "approve-recovery" in auto.stdout  # a script never decides a recovery
    assert auth.json("recoveries")[0]["device"]["status"] == "pending"


def test_a_pending_device_activates_after_the_recovery_period(
    auth: Auth, customer: Customer, runtime: Runtime, tmp_path: Path
) -> None:
    customer.register()
    auth.enroll(runtime)
    quick = runtime.settings.model_copy(update={"recovery_period_seconds": 1})
    other = make_runtime(quick)
    try:
        with LiveServer(create_app(other)) as server:
            newcomer = Auth(tmp_path / "new.json", server.url)
            newcomer.run(
                "enroll",
                "--server",
                server.url,
                "--phone",
                PHONE,
                "--wait",
                "--poll-interval",
                "0.2",
                typed=[new_pin(runtime)],
            )
            assert newcomer.saved()["status"] == "active"
            assert [a["app_name"] for a in newcomer.json("accounts")] == ["Acme Bank"]
    finally:
        other.db.dispose()


def test_enroll_by_link_serves_that_application_only(
    auth: Auth, customer: Customer, runtime: Runtime
) -> None:
    authy_id = customer.register()
    made = customer.http.post(
        f"/protected/json/users/{authy_id}/enrollment_link", headers=customer.headers
    )
    assert made.status_code == 200, made.text
    url = made.json()["enrollment_url"]
    done = auth.run("enroll", "--link", url)
    assert "Accounts: Acme Bank" in done.stdout
    assert auth.saved()["method"] == "link"
    assert auth.saved()["server"] == auth.server
    assert auth.json("recoveries") == []
    used = Auth(auth.state.with_name("second.json"), auth.server).run(
        "enroll", "--link", url, ok=False
    )
    assert "Enrollment not found" in used.output
    bad = Auth(auth.state.with_name("third.json"), auth.server).run(
        "enroll", "--link", auth.server + "/nowhere", ok=False
    )
    assert "not an enrolment link" in bad.output


def test_push_address(auth: Auth, customer: Customer, runtime: Runtime) -> None:
    customer.register()
    auth.enroll(runtime)
    assert "set to ntfy:" in auth.run("push-address", "ntfy:https://ntfy.example/ann").stdout
    assert "removed" in auth.run("push-address", "--clear").stdout
    refused = auth.run("push-address", "carrier-pigeon", ok=False)
    assert "push_address" in refused.output
    assert "60004" in refused.output
    assert "ADDRESS or --clear" in auth.run("push-address", ok=False).output


def test_remove_revokes_and_a_copy_then_reads_as_revoked(
    auth: Auth, customer: Customer, runtime: Runtime, tmp_path: Path
) -> None:
    authy_id = customer.register()
    auth.enroll(runtime)
    copy = tmp_path / "copy.json"
    shutil.copy2(auth.state, copy)
    assert "Aborted" in auth.run("remove", typed=["n"], ok=False).output
    assert auth.state.exists()
    assert "revoked" in auth.run("remove", typed=["y"]).stdout
    assert not auth.state.exists()
    stale = Auth(copy, auth.server)
    refused = stale.run("pending", ok=False)
    assert "60087" in refused.output
    assert "no longer accepts this device" in refused.output
    asked = customer.http.post(
        f"/onetouch/json/users/{authy_id}/approval_requests",
        json={"message": "Anyone?"},
        headers=customer.headers,
    )
    assert asked.status_code != 200  # no active device left
    assert "no longer accepted" in stale.run("remove", "--yes").output
    assert not copy.exists()


def test_state_file_errors(auth: Auth, customer: Customer, runtime: Runtime) -> None:
    missing = auth.run("codes", ok=False)
    assert "no authenticator state" in missing.output
    customer.register()
    auth.enroll(runtime)
    auth.state.chmod(0o640)
    exposed = auth.run("codes", ok=False)
    assert "other users can access it (mode 0640)" in exposed.output
    auth.state.chmod(0o600)
    assert auth.run("codes").exit_code == 0


def test_server_errors_are_shown_with_their_message(auth: Auth, runtime: Runtime) -> None:
    for _ in range(3):  # an unregistered number: the same answer, nothing sent
        auth.run(
            "enroll",
            "--server",
            auth.server,
            "--phone",
            "+12015550199",
            "--pin",
            "123456",
            ok=False,
        )
    limited = auth.run(
        "enroll", "--server", auth.server, "--phone", "+12015550199", "--pin", "1", ok=False
    )
    assert "60003" in limited.output
    assert "HTTP 429" in limited.output
    assert not auth.state.exists()
    wrong = auth.run("enroll", "--phone", "2015550123", "--server", auth.server, ok=False)
    assert "international form" in wrong.output
    closed = f"http://127.0.0.1:{free_port()}"
    gone = auth.run("enroll", "--server", closed, "--phone", PHONE, "--pin", "1", ok=False)
    assert f"cannot reach the server at {closed}" in gone.output
    assert "needs --server" in auth.run("enroll", "--phone", PHONE, ok=False).output
