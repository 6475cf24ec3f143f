"""The authenticator's state file: the server, this device's identity and private key, and the
accounts with their TOTP seeds. JSON, written atomically with mode 0600 in a 0700 directory; a file
that other users can read or write is refused, since it holds secrets."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twostep.authenticator.client import AuthenticatorError
from twostep.authenticator.protocol import DeviceKey

ENV_VAR = "TWOSTEP_AUTHENTICATOR_STATE"
FORMAT = 1


class StateError(AuthenticatorError):
    """The state file is missing, unsafe or unreadable."""


def default_path() -> Path:
    """``$TWOSTEP_AUTHENTICATOR_STATE``, else ``$XDG_CONFIG_HOME/twostep/authenticator.json``
    (``~/.config/twostep/authenticator.json``)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "twostep" / "authenticator.json"


@dataclass
class Account:
    app_id: int
    app_name: str
    authy_id: int
    seed: str = field(repr=False)  # base32
    digits: int = 7
    period: int = 10
    algorithm: str = "SHA1"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        return cls(
            app_id=int(data["app_id"]),
            app_name=str(data["app_name"]),
            authy_id=int(data["authy_id"]),
            seed=str(data["seed"]),
            digits=int(data.get("digits", 7)),
            period=int(data.get("period", 10)),
            algorithm=str(data.get("algorithm", "SHA1")),
        )

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the seed."""
        return {
            "app_id": self.app_id,
            "app_name": self.app_name,
            "authy_id": self.authy_id,
            "digits": self.digits,
            "period": self.period,
            "algorithm": self.algorithm,
        }


@dataclass
class State:
    server: str
    device_uuid: str
    device_id: int
    name: str
    private_key: str = field(repr=False)  # base64url, 32 bytes
    method: str = "phone"  # phone | link
    status: str = "active"  # active | pending
    enrollment_id: str | None = None
    activates_at: int | None = None
    accounts: list[Account] = field(default_factory=list)

    def key(self) -> DeviceKey:
        try:
            return DeviceKey.from_b64url(self.private_key)
        except ValueError:
            raise StateError("the state file's private key is damaged") from None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "server": self.server,
            "device_uuid": self.device_uuid,
            "device_id": self.device_id,
            "name": self.name,
            "private_key": self.private_key,
            "method": self.method,
            "status": self.status,
            "enrollment_id": self.enrollment_id,
            "activates_at": self.activates_at,
            "accounts": [{**a.public(), "seed": a.seed} for a in self.accounts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            server=str(data["server"]),
            device_uuid=str(data["device_uuid"]),
            device_id=int(data["device_id"]),
            name=str(data["name"]),
            private_key=str(data["private_key"]),
            method=str(data.get("method", "phone")),
            status=str(data.get("status", "active")),
            enrollment_id=data.get("enrollment_id"),
            activates_at=data.get("activates_at"),
            accounts=[Account.from_json(a) for a in data.get("accounts", [])],
        )


def unsafe_mode(path: Path) -> int | None:
    """The file's permission bits if group or others have any access to it, else None."""
    if os.name != "posix":
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o077 else None


def load(path: Path) -> State:
    if not path.exists():
        raise StateError(
            f"no authenticator state at {path}: enroll first with "
            "`twostep authenticator enroll` (or give --state / TWOSTEP_AUTHENTICATOR_STATE)"
        )
    mode = unsafe_mode(path)
    if mode is not None:
        raise StateError(
            f"refusing to read {path}: other users can access it (mode {mode:04o}) and it holds "
            f"this device's private key; run `chmod 600 {path}` if it was not exposed"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("unknown format")
        return State.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StateError(f"cannot read the state file {path}: {exc}") from None


def save(state: State, path: Path) -> None:
    """Write atomically: a 0600 temporary file in the same directory, then a rename."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(state.to_json(), indent=2) + "\n"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StateError(f"cannot write the state file {path}: {exc}") from None


def writable(path: Path) -> None:
    """Make sure ``save`` can write ``path`` before anything irreversible happens."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create {path.parent}: {exc}") from None
    if not os.access(path.parent, os.W_OK):
        raise StateError(f"cannot write in {path.parent}")


def delete(path: Path) -> None:
    path.unlink(missing_ok=True)
