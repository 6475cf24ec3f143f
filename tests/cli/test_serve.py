from __future__ import annotations

import os

from twostep.cli.serve import masked_url, usable_cpus


def test_the_banner_never_shows_a_database_password() -> None:
    shown = masked_url("postgresql+psycopg://twostep:s3cret-pw@db.internal:5432/twostep")
    assert "s3cret-pw" not in shown
    assert shown == "postgresql+psycopg://twostep:***@db.internal:5432/twostep"
    assert (
        masked_url("sqlite:////var/lib/twostep/twostep.db")
        == "sqlite:////var/lib/twostep/twostep.db"
    )


def test_one_process_per_usable_cpu() -> None:
    usable = usable_cpus()
    assert 1 <= usable <= (os.cpu_count() or 1)
    assert usable <= len(os.sched_getaffinity(0))


def test_every_command_is_listed_and_loads() -> None:
    from click.testing import CliRunner

    from twostep.cli.main import COMMANDS, SUMMARIES, cli

    assert set(COMMANDS) == set(SUMMARIES)
    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0
    for name in COMMANDS:
        assert name in listed.output
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0
