"""Checkpoints are atomic (issue 9, item 8).

A checkpoint write that fails (a file-size limit cutting ``pages.jsonl`` mid-line, a
``state.json`` that cannot be replaced) leaves the previous checkpoint as it was and says so;
a process that died mid-write leaves a state the next one resumes from exactly; a damaged
checkpoint raises CheckpointError naming what to delete to start over. Its files are 0600.
Listings run over real loopback HTTP (tests/apps.py), failures are real OS errors.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

import integkit as ik

from .. import apps

IDS = [r["id"] for r in apps.RECORDS]
PAGES = 12  # 237 records, 20 a page


def listing(api: str, checkpoint, **options) -> ik.Result:
    conn = ik.rest(api, paginator={"type": "starting_after", "limit": 20}, primary_key="id",
                   rate_limit=False)
    return conn.list("/stripe/items", checkpoint=str(checkpoint), **options)


def committed(checkpoint) -> int:
    return int(json.loads((checkpoint / "state.json").read_text())["pages"])


def lines(checkpoint) -> list[bytes]:
    return (checkpoint / "pages.jsonl").read_bytes().splitlines(keepends=True)


def test_a_state_write_that_fails_keeps_the_previous_checkpoint(api, tmp_path) -> None:
    checkpoint = tmp_path / "ckpt"
    result = listing(api, checkpoint, prefetch=False)
    pages = result.pages()
    for _ in range(3):
        next(pages)
    before = (checkpoint / "state.json").read_bytes()
    blocker = checkpoint / f".state.json.{os.getpid()}.tmp"
    blocker.mkdir()  # the temporary state file cannot be created: a real OS error
    with pytest.raises(ik.CheckpointError, match="still holds the 3 pages before") as caught:
        next(pages)
    assert str(checkpoint) in str(caught.value) and "resumes" in str(caught.value)
    assert (checkpoint / "state.json").read_bytes() == before
    assert len(lines(checkpoint)) == 3  # the page appended first was cut off again
    assert len(result) == 60 and result.cursor["params"]["starting_after"] == IDS[59]
    blocker.rmdir()
    assert [r["id"] for r in result] == IDS  # the same Result goes on from page 4
    assert result.stats.calls == PAGES + 1  # page 4 was fetched twice, committed once
    again = listing(api, checkpoint)
    assert list(again.to_frame()["id"]) == IDS and again.stats.calls == 0


def test_a_page_cut_short_by_a_file_size_limit_keeps_the_previous_checkpoint(
        api, tmp_path) -> None:
    """A process whose ``pages.jsonl`` hits RLIMIT_FSIZE mid-line (as on a full disk) gets
    a CheckpointError; the checkpoint holds the pages before, and a new process resumes."""
    checkpoint = tmp_path / "ckpt"
    script = textwrap.dedent(f"""
        import resource, signal, sys, integkit as ik
        ik.configure(ledger=False)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        conn = ik.rest({api!r}, paginator={{"type": "starting_after", "limit": 20}},
                       rate_limit=False, cache=False)
        result = conn.list("/stripe/items", checkpoint={str(checkpoint)!r}, prefetch=False)
        pages = result.pages()
        for _ in range(4):
            next(pages)
        size = ({str(checkpoint)!r} + "/pages.jsonl")
        import os
        limit = os.path.getsize(size) + 700  # page 5 does not fit
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        try:
            next(pages)
        except ik.CheckpointError as exc:
            print("refused:", exc)
            sys.exit(3)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 3, run.stderr
    assert "could not write checkpoint" in run.stdout and "File too large" in run.stdout
    assert committed(checkpoint) == 4 and len(lines(checkpoint)) == 4
    resumed = listing(api, checkpoint)
    assert list(resumed.to_frame()["id"]) == IDS and resumed.stats.calls == PAGES - 4


def test_a_process_killed_mid_write_leaves_a_checkpoint_the_next_one_resumes(
        api, tmp_path) -> None:
    """What a death between the two writes leaves: a page appended past the count (cut
    short, even) and a temporary state file never renamed. Both are ignored."""
    checkpoint = tmp_path / "ckpt"
    result = listing(api, checkpoint, prefetch=False)
    pages = result.pages()
    for _ in range(5):
        next(pages)
    with (checkpoint / "pages.jsonl").open("ab") as fh:
        fh.write(b'{"request":"x","records":[{"id":"r0100"},{"id":')  # died mid-append
    (checkpoint / ".state.json.99999.tmp").write_text('{"listing": "x", "pag')
    resumed = listing(api, checkpoint)
    assert len(resumed) == 100
    assert list(resumed.to_frame()["id"]) == IDS and resumed.stats.calls == PAGES - 5
    assert len(lines(checkpoint)) == PAGES and committed(checkpoint) == PAGES


@pytest.mark.parametrize("damage", [
    "state.json cut short", "state.json not an object", "a page line garbled",
    "a committed page cut short", "pages.jsonl missing", "pages.jsonl lost pages",
])
def test_a_damaged_checkpoint_says_what_to_delete_to_start_over(api, tmp_path,
                                                                damage) -> None:
    checkpoint = tmp_path / "ckpt"
    result = listing(api, checkpoint, prefetch=False)
    pages = result.pages()
    for _ in range(3):
        next(pages)
    state, data = checkpoint / "state.json", checkpoint / "pages.jsonl"
    if damage == "state.json cut short":
        state.write_bytes(state.read_bytes()[:25])
    elif damage == "state.json not an object":
        state.write_text("[1, 2, 3]")
    elif damage == "a page line garbled":
        rows = lines(checkpoint)
        data.write_bytes(rows[0] + b"{not json at all\n" + rows[2])
    elif damage == "a committed page cut short":
        data.write_bytes(data.read_bytes()[:-40])
    elif damage == "pages.jsonl missing":
        data.unlink()
    else:
        data.write_bytes(b"".join(lines(checkpoint)[:2]))
    with pytest.raises(ik.CheckpointError) as caught:
        listing(api, checkpoint)
    message = str(caught.value)
    assert "damaged" in message and f"delete the folder {checkpoint}" in message
    assert isinstance(caught.value, ik.ConfigError)  # a setting to change, not a retry
    for leftover in checkpoint.iterdir():  # doing what it says starts the listing over
        leftover.unlink()
    checkpoint.rmdir()
    fresh = listing(api, checkpoint)
    assert list(fresh.to_frame()["id"]) == IDS and fresh.stats.calls == PAGES


def test_checkpoint_files_are_created_for_their_owner_only(api, tmp_path) -> None:
    checkpoint = tmp_path / "ckpt"
    listing(api, checkpoint).to_frame()
    names = sorted(p.name for p in checkpoint.iterdir())
    assert names == ["pages.jsonl", "state.json"]  # no temporary file left behind
    for name in names:
        mode = stat.S_IMODE((checkpoint / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_a_checkpoint_written_before_pages_named_their_request_still_resumes(
        api, tmp_path) -> None:
    """The earlier format: one JSON list of records a line, no request identities."""
    checkpoint = tmp_path / "ckpt"
    result = listing(api, checkpoint, prefetch=False)
    pages = result.pages()
    for _ in range(2):
        next(pages)
    old = [json.dumps(json.loads(line)["records"]).encode() + b"\n"
           for line in lines(checkpoint)]
    (checkpoint / "pages.jsonl").write_bytes(b"".join(old))
    state = json.loads((checkpoint / "state.json").read_text())
    for key in ("duplicates", "empty_run"):
        state.pop(key)
    (checkpoint / "state.json").write_text(json.dumps(state))
    resumed = listing(api, checkpoint)
    assert list(resumed.to_frame()["id"]) == IDS and resumed.stats.calls == PAGES - 2
