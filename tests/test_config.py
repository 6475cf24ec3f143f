from __future__ import annotations

from pathlib import Path

import pytest

from twostep.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWOSTEP_CONFIG", "TWOSTEP_MODE", "TWOSTEP_DATABASE_URL", "TWOSTEP_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_embedded_defaults_use_sqlite_in_the_data_dir() -> None:
    s = load_settings()
    assert s.embedded
    assert s.resolved_database_url.endswith(".twostep/twostep.db")
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.resolved_master_key_file == Path(".twostep/master.key")
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.runs_worker_in_process


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOSTEP_PORT", "9090")
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", "postgres://u@db/x")
    s = load_settings()
    assert s.port == 9090
    assert s.resolved_database_url == "postgresql+psycopg://u@db/x"


def test_toml_file_and_environment_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "twostep.toml"
    cfg.write_text('port = 7000\nhost = "0.0.0.0"\nuser_purge_delay_seconds = 60\n')
    monkeypatch.setenv("TWOSTEP_HOST", "127.0.0.2")
    s = load_settings(cfg)
    assert s.port == 7000
    assert s.host == "127.0.0.2"
    assert s.user_purge_delay_seconds == 60


def test_invalid_values_are_reported_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOSTEP_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="port"):
        load_settings()
    monkeypatch.delenv("TWOSTEP_PORT")
    cfg = tmp_path / "bad.toml"
    cfg.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="database_url"):
        load_settings()


def test_production_mode_refuses_insecure_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOSTEP_MODE", "production")
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert "TWOSTEP_DATABASE_URL" in text
    assert "TWOSTEP_MASTER_KEY" in text
    assert "https" in text
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", "postgresql://db/twostep")
    monkeypatch.setenv("TWOSTEP_MASTER_KEY", "x" * 43)
    monkeypatch.setenv("TWOSTEP_PUBLIC_URL", "https://2fa.example.com")
    monkeypatch.setenv("TWOSTEP_ADMIN_TOKEN", "short")
    with pytest.raises(ConfigError, match="ADMIN_TOKEN"):
        load_settings()
    monkeypatch.setenv("TWOSTEP_ADMIN_TOKEN", "t" * 40)
    s = load_settings()
    assert not s.embedded
    assert not s.runs_worker_in_process


def test_master_key_files_must_not_be_open_to_others(tmp_path: Path) -> None:
    from twostep.core.crypto import CryptoError, format_master_key, new_key
    from twostep.services.keys import read_master_key

    path = tmp_path / "master.key"
    key = new_key()
    path.write_text(format_master_key(key))
    for mode, ok in ((0o600, True), (0o640, True), (0o644, False), (0o660, False), (0o666, False)):
        path.chmod(mode)
        if ok:
            assert read_master_key(None, path, create=False) == key
        else:
            with pytest.raises(CryptoError, match="open to others"):
                read_master_key(None, path, create=False)


def test_a_wrong_master_key_is_a_clear_configuration_error(tmp_path: Path) -> None:
    from twostep.core.crypto import format_master_key, new_key
    from twostep.services.bootstrap import build_runtime

    first = load_settings(data_dir=tmp_path, master_key=format_master_key(new_key()))
    build_runtime(first).db.dispose()
    wrong = load_settings(data_dir=tmp_path, master_key=format_master_key(new_key()))
    with pytest.raises(ConfigError, match="master key does not open"):
        build_runtime(wrong)
