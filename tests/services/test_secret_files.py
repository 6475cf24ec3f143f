"""The master key file and the admin token file, created on the first start of embedded mode:
servers started together on one data directory all end up with the same one."""

from __future__ import annotations

import threading
from pathlib import Path

from twostep.services import keys


def test_the_first_writer_wins_and_the_others_read_its_secret(tmp_path: Path) -> None:
    path = tmp_path / "data" / "admin.token"
    assert keys.write_once(path, "first") == "first"
    assert keys.write_once(path, "second") == "first"  # lost the race: takes the file there
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["admin.token"]  # nothing left aside


def test_servers_starting_together_share_one_master_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    starting = 8
    barrier = threading.Barrier(starting)
    found: list[bytes] = []
    failed: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            found.append(keys.read_master_key(None, path, create=True))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starting)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert len(found) == starting
    assert len(set(found)) == 1
    assert keys.read_master_key(None, path, create=False) == found[0]
