"""Settings: environment variables (``TWOSTEP_*``) over an optional TOML file over defaults, validated
once at start-up. The embedded mode (the default) runs on a SQLite file in the data directory and may
create its own master key; production mode refuses every insecure default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ConfigError(Exception):
    """Configuration that cannot be used; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TWOSTEP_", extra="forbid", frozen=True, validate_default=True
    )

    mode: Literal["embedded", "production"] = "embedded"
    data_dir: Path = Path(".twostep")
    database_url: str = ""
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str = ""
    workers: int = Field(
        0, ge=0, le=256, description="serve processes; 0 = embedded 1, else per core"
    )
    run_worker: bool | None = None
    admin_token: SecretStr | None = None

    # request limits
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_params: int = Field(512, ge=16, le=10_000)
    max_param_depth: int = Field(8, ge=2, le=32)
    max_string_length: int = Field(4096, ge=256, le=1_000_000)

    # users
    user_purge_delay_seconds: int = Field(24 * 3600, ge=0)

    # one-time codes and verification
    code_ttl_seconds: int = Field(600, ge=30, le=86400)
    code_max_attempts: int = Field(5, ge=1, le=100)
    send_limit: int = Field(5, ge=1, le=1000, description="codes sent per user per send_window")
    send_window_seconds: int = Field(600, ge=1)
    verify_fail_limit: int = Field(10, ge=1, le=1000)
    verify_fail_window_seconds: int = Field(600, ge=1)
    totp_window_30s: int = Field(1, ge=0, le=10, description="± steps for 30-second tokens")
    totp_window_10s: int = Field(3, ge=0, le=30, description="± steps for 10-second tokens")
    qr_link_ttl_seconds: int = Field(600, ge=30, le=86400)

    # devices and OneTouch
    recovery_period_seconds: int = Field(24 * 3600, ge=0, description="SIM-swap delay")
    enrollment_ttl_seconds: int = Field(600, ge=60, le=86400)
    enrollment_link_ttl_seconds: int = Field(600, ge=60, le=30 * 86400)
    enrollment_start_limit: int = Field(3, ge=1, le=100, description="PIN sends per number/10 min")
    device_clock_skew_seconds: int = Field(300, ge=10, le=3600)
    long_poll_max_seconds: int = Field(60, ge=1, le=300)

    # Redis (optional): when set, rate limits and cross-node wake-ups use it instead of the database
    redis_url: str = ""
    redis_prefix: str = "twostep:"

    # customer callbacks (OneTouch) and webhooks
    callback_allow_http: bool = False
    callback_allowed_networks: list[str] = []  # CIDRs exempt from the private-address refusal
    callback_timeout_seconds: float = Field(10.0, gt=0, le=60)

    # delivery: provider names in failover order per channel ("outbox" records, sends nothing)
    sms_providers: list[str] = ["outbox"]
    voice_providers: list[str] = ["outbox"]
    email_providers: list[str] = ["outbox"]
    push_providers: list[str] = ["outbox"]
    outbox_max_attempts: int = Field(8, ge=1, le=100)
    outbox_lease_seconds: int = Field(60, ge=5, le=3600)
    outbox_poll_seconds: float = Field(0.5, gt=0, le=60)
    outbox_concurrency: int = Field(16, ge=1, le=512)
    outbox_backoff_base_seconds: float = Field(2.0, gt=0, le=3600)
    outbox_backoff_max_seconds: float = Field(3600.0, gt=0)

    # database
    db_pool_size: int = Field(16, ge=1, le=512)
    # How long a process trusts an API key it has checked (0: always ask the database). A key
    # rotated or an application changed on another node is seen there after at most this long.
    app_cache_seconds: float = Field(1.0, ge=0, le=60)
    # Threads running request transactions per process (0: 4, at most db_pool_size). A process
    # uses about one core, so more threads only fight over the GIL: on 2 cores 4 PostgreSQL threads
    # beat 16 (docs/performance.md). Raise it for a database many milliseconds away.
    request_threads: int = Field(0, ge=0, le=512)
    db_busy_timeout_ms: int = Field(10_000, ge=0)
    # SQLite: run the busiest endpoints' short transactions on the event loop when they cannot
    # wait for a lock, instead of hopping to a request thread (docs/performance.md).
    sqlite_inline: bool = True
    # SQLite, inline units: those a turn of the event loop runs share one COMMIT
    # (store/commit_group.py).
    sqlite_group_commit: bool = True
    # PostgreSQL: batch the request threads' statements (store/batching.py: BEGIN and unread
    # writes sent with other statements, statements prepared with SQL PREPARE). Turn off behind
    # a transaction-mode pooler (PgBouncer), which cannot carry SQL-level prepared statements.
    postgres_batching: bool = True

    # observability (docs/deployment.md, section 11)
    access_log: bool = False  # one JSON line per request: costs time on the hot path
    metrics_enabled: bool = False  # GET /metrics (Prometheus)
    metrics_token: SecretStr | None = None  # when set, /metrics requires "Bearer <token>"
    worker_metrics_port: int | None = Field(None, ge=1, le=65535)  # `twostep worker` exposition

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("only sqlite:/// and postgresql:// URLs are supported")
        return value

    @model_validator(mode="after")
    def _development_provider_stands_alone(self) -> Settings:
        for channel in ("sms", "voice", "email", "push"):
            names: list[str] = getattr(self, f"{channel}_providers")
            if not names:
                raise ValueError(f"{channel}_providers needs at least one provider")
            if "outbox" in names and names != ["outbox"]:
                raise ValueError(
                    f"{channel}_providers: 'outbox' records instead of sending and "
                    "cannot be combined with real providers"
                )
        return self

    @model_validator(mode="after")
    def _production_refuses_insecure_defaults(self) -> Settings:
        if self.mode != "production":
            return self
        problems = []
        if not self.database_url:
            problems.append("TWOSTEP_DATABASE_URL must be set (a postgresql:// URL)")
        if self.master_key is None and self.master_key_file is None:
            problems.append("TWOSTEP_MASTER_KEY or TWOSTEP_MASTER_KEY_FILE must be set")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 32:
            problems.append("TWOSTEP_ADMIN_TOKEN must be at least 32 characters")
        if not self.public_url.startswith("https://"):
            problems.append("TWOSTEP_PUBLIC_URL must be an https:// URL")
        if problems:
            raise ValueError("production mode refuses insecure defaults: " + "; ".join(problems))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("TWOSTEP_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    # derived values -------------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url.removeprefix("postgres://")
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'twostep.db').resolve()}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def runs_worker_in_process(self) -> bool:
        return self.embedded if self.run_worker is None else self.run_worker


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the one Settings object, turning validation failures into a readable ConfigError."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"configuration file not found: {config_file}")
        os.environ["TWOSTEP_CONFIG"] = str(config_file)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
