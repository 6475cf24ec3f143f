"""Token verification (T4, spec §9). Lookup order: an outstanding SMS/voice/email code (its bound
``action`` must match), the person's device tokens (7 digits, 10 s), the generic authenticator
secret (6 digits, 30 s). Every accepted code is recorded so it cannot be accepted again, on any
node: codes are consumed and TOTP time-steps advanced with a compare-and-set update."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from twostep import metrics
from twostep.core import otp
from twostep.errors import (
    FailAfterCommit,
    RateLimited,
    TokenInvalid,
    TokenReused,
    UserDoesNotExist,
    UserNotFound,
)
from twostep.services import audit, events, ratelimit, stats
from twostep.services.apps import App
from twostep.services.codes import code_digest
from twostep.services.device_model import authy_device
from twostep.services.runtime import Tx
from twostep.services.seeds import (
    DEVICE_TOKEN,
    GENERIC_TOKEN,
    generic_secret_context,
    seed_context,
)
from twostep.services.users import User, for_verification, get_for_update
from twostep.store import codes as q
from twostep.store import users as user_q
from twostep.store.codes import SeedRow

SANDBOX_TOKEN = "0000000"  # noqa: S105 - the old sandbox's published magic token


class Match(Enum):
    NONE = "none"
    ACCEPTED = "accepted"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class Verified:
    device: dict[str, Any]


def fail_limit(tx: Tx) -> ratelimit.Limit:
    s = tx.settings
    return ratelimit.Limit("verify-fail", s.verify_fail_limit, s.verify_fail_window_seconds)


def verify(
    tx: Tx,
    app: App,
    token: str,
    authy_id: object,
    *,
    force: bool = False,
    action: str | None = None,
) -> Verified:
    user, has_live_codes, failures, seeds = _load_user(tx, app, authy_id)
    subject = f"{app.id}:{user.authy_id}"
    try:
        if failures is None:  # counted in Redis
            ratelimit.check(tx, fail_limit(tx), subject)
        else:
            ratelimit.refuse_if_exhausted(tx, fail_limit(tx), *failures)
    except RateLimited as exc:
        audit.record(tx, "verify_locked_out", app_id=app.id, person_id=user.authy_id)
        metrics.verification(tx, "locked_out")
        events.for_user(tx, user, "too_many_code_verifications")
        raise FailAfterCommit(exc) from None
    token = token.strip()
    well_formed = token.isdigit() and 6 <= len(token) <= 12
    if app.settings.sandbox:
        found = Match.ACCEPTED if hmac.compare_digest(token, SANDBOX_TOKEN) else Match.NONE
        device: dict[str, Any] = sms_device(user)
    elif (
        well_formed and app.settings.legacy_unconfirmed_tokens and not user.confirmed and not force
    ):
        # Authy's documented behaviour, opt-in only: before the first valid token, any
        # well-formed token passes unless force=true. Nothing was checked, so nothing confirms.
        audit.record(tx, "token_unchecked", app_id=app.id, person_id=user.authy_id)
        metrics.verification(tx, "unchecked")
        return Verified(sms_device(user))
    elif well_formed:
        found, device = _find(
            tx, app, user, token, action, has_live_codes=has_live_codes, seeds=seeds
        )
    else:
        found, device = Match.NONE, {}
    if found is Match.ACCEPTED:
        stats.count(tx, app.id, auths=1)
        metrics.verification(tx, "accepted")
        if not user.confirmed:
            user_q.set_confirmed(tx.conn, user.app_user_id, tx.now)
        audit.record(
            tx,
            "token_verified",
            app_id=app.id,
            person_id=user.authy_id,
            detail=str(device.get("os_type")),
        )
        events.for_user(tx, user, "token_verified")
        return Verified(device)
    ratelimit.hit(tx, fail_limit(tx), subject)
    if has_live_codes:  # a wrong token counts against every code the user has outstanding
        q.count_failed_attempt(tx.conn, app.id, user.authy_id, tx.now)
    metrics.verification(tx, "reused" if found is Match.REUSED else "invalid")
    audit.record(
        tx,
        "token_reused" if found is Match.REUSED else "token_invalid",
        app_id=app.id,
        person_id=user.authy_id,
    )
    events.for_user(tx, user, "token_invalid")
    raise FailAfterCommit(TokenReused() if found is Match.REUSED else TokenInvalid())


def _load_user(
    tx: Tx, app: App, authy_id: object
) -> tuple[User, bool, tuple[int, datetime | None] | None, list[SeedRow] | None]:
    """The user (row-locked), whether a sent code may be outstanding, the lockout counter
    (failures in the window, the oldest of them) and the device seeds, which without Redis all
    come in one query; with Redis the counter is there and the seeds are read when needed."""
    if tx.rt.redis is None:
        limit = fail_limit(tx)
        found = for_verification(tx, app, authy_id, limit.bucket, limit.window_seconds)
        if found is None:
            raise UserDoesNotExist
        user, failures, oldest, has_live_codes, seeds = found
        return user, has_live_codes, (failures, oldest), seeds
    try:
        return get_for_update(tx, app, authy_id), True, None, None
    except UserNotFound:
        raise UserDoesNotExist from None


def _find(
    tx: Tx,
    app: App,
    user: User,
    token: str,
    action: str | None,
    *,
    has_live_codes: bool,
    seeds: list[SeedRow] | None,
) -> tuple[Match, dict[str, Any]]:
    found = _match_code(tx, app, user, token, action) if has_live_codes else Match.NONE
    if found is not Match.NONE:
        return found, sms_device(user)
    if len(token) == DEVICE_TOKEN.digits:
        if seeds is None:
            seeds = q.device_seeds_for(tx.conn, app.id, user.authy_id)
        found, device = _match_devices(tx, app, seeds, token)
        if found is not Match.NONE:
            return found, device
    if len(token) == GENERIC_TOKEN.digits:
        found = _match_generic(tx, app, user, token)
        if found is not Match.NONE:
            return found, generic_device(user)
    return Match.NONE, {}


def _match_code(tx: Tx, app: App, user: User, token: str, action: str | None) -> Match:
    candidates = q.live_codes(tx.conn, app.id, user.authy_id, tx.now)
    if not candidates:
        return Match.NONE
    digest = code_digest(tx, app.id, user.authy_id, action, token)
    max_attempts = tx.settings.code_max_attempts
    result = Match.NONE
    for code in candidates:
        if not hmac.compare_digest(code.digest, digest) or code.action != action:
            continue
        if code.consumed_at is not None:
            result = Match.REUSED
        elif code.attempts < max_attempts and q.consume_code(tx.conn, code.id, tx.now):
            q.consume_all(tx.conn, app.id, user.authy_id, tx.now)
            return Match.ACCEPTED
        elif code.attempts < max_attempts:
            result = Match.REUSED  # consumed by a concurrent verification a moment ago
    return result


def _params(tx: Tx, params: otp.TotpParams) -> otp.TotpParams:
    s = tx.settings
    window = s.totp_window_10s if params.step == 10 else s.totp_window_30s
    return otp.TotpParams(params.step, params.digits, window, params.algorithm)


def _match_devices(
    tx: Tx, app: App, seeds: list[SeedRow], token: str
) -> tuple[Match, dict[str, Any]]:
    params = _params(tx, DEVICE_TOKEN)
    result: tuple[Match, dict[str, Any]] = (Match.NONE, {})
    unix = tx.now.timestamp()
    for seed in seeds:
        key = tx.keyring.open(seed.seed, seed_context(seed.device_id, app.id))
        step = otp.match_totp(key, token, unix, params)
        if step is None:
            continue
        if q.advance_device_step(tx.conn, seed, step):
            return Match.ACCEPTED, device_body(seed)
        result = (Match.REUSED, {})
    return result


def _match_generic(tx: Tx, app: App, user: User, token: str) -> Match:
    secret = q.generic_secret(tx.conn, app.id, user.authy_id)
    if secret is None:
        return Match.NONE
    key = tx.keyring.open(secret.seed, generic_secret_context(app.id, user.authy_id))
    step = otp.match_totp(key, token, tx.now.timestamp(), _params(tx, GENERIC_TOKEN))
    if step is None:
        return Match.NONE
    return Match.ACCEPTED if q.advance_generic_step(tx.conn, secret.id, step) else Match.REUSED


def sms_device(user: User) -> dict[str, Any]:
    return authy_device("sms", None, user.created_at)


def generic_device(user: User) -> dict[str, Any]:
    return authy_device("authenticator", None, user.created_at)


def device_body(seed: Any) -> dict[str, Any]:
    return authy_device(
        seed.os_type,
        seed.device_id,
        seed.created_at,
        registration_ip=seed.registration_ip,
        registration_method=seed.registration_method,
        last_sync_at=seed.last_sync_at,
    )
