"""What integkit keeps on disk is its owner's only: the SQLite state database (and its WAL and
shared-memory files) and checkpoint folders are created 0600 (folders 0700), like the token
key, whatever the umask; a file the owner already made keeps the mode they gave it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable (0644)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_state_database_and_its_journal_files_are_private(tmp_path, home, open_umask):
    home.route("/v1/ping", lambda request: JSONResponse({"ok": True}))
    path = tmp_path / "fresh" / "state.db"
    conn = ik.rest(home.url, state=f"sqlite:///{path}", rate_limit={"limit": 50, "per": "1s"},
                   quotas={"daily": 1000})
    conn.request("GET", "/v1/ping")  # writes the limiter and the budget
    files = sorted(path.parent.iterdir())
    assert {p.name for p in files} >= {"state.db", "state.db-wal", "state.db-shm"}
    for file in files:
        assert mode(file) == 0o600, file.name
    assert mode(path.parent) == 0o700
    conn.close()


def test_a_state_file_the_owner_made_keeps_its_mode(tmp_path, open_umask):
    path = tmp_path / "shared.db"
    path.touch()
    path.chmod(0o640)  # e.g. readable by the owner's group on purpose
    ik.rest("http://127.0.0.1:9", state=f"sqlite:///{path}", rate_limit={"limit": 5, "per": "1s"})
    assert mode(path) == 0o640


def test_checkpoint_folders_and_files_are_private(tmp_path, home, open_umask):
    def pages(request: Request) -> JSONResponse:
        start = int(request.query_params.get("offset", 0))
        return JSONResponse({"items": [{"id": i} for i in range(start, min(start + 5, 12))],
                             "total": 12})

    home.route("/v1/items", pages)
    folder = tmp_path / "runs" / "ckpt"
    conn = ik.rest(home.url, rate_limit=False, cache=False, records_path="items")
    result = conn.list("/v1/items", checkpoint=str(folder),
                       paginator={"type": "offset", "limit": 5, "total_path": "total"})
    assert len(result.to_frame()) == 12
    assert mode(folder) == 0o700
    written = [p for p in folder.iterdir() if p.is_file()]
    assert {p.name for p in written} >= {"pages.jsonl", "state.json"}
    for file in written:
        assert mode(file) == 0o600, file.name


def test_the_result_cache_folder_and_files_are_private(tmp_path, home, open_umask):
    home.route("/v1/items", lambda request: JSONResponse({"data": [{"id": 1}]}))
    previous = ik.get_settings().data_dir
    ik.configure(data_dir=tmp_path / "home")
    try:
        conn = ik.rest(home.url, rate_limit=False, cache=False, paginator="single_page")
        assert len(conn.list("/v1/items", cache="1h").to_frame()) == 1
    finally:
        ik.configure(data_dir=previous)
    folder = tmp_path / "home" / "results"
    assert mode(folder) == 0o700
    stored = list(folder.glob("*.parquet"))
    assert stored and all(mode(p) == 0o600 for p in stored)
