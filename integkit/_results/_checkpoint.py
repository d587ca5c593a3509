"""Durable progress of one extraction, so a killed process resumes where it stopped.

A checkpoint is a folder: ``pages.jsonl`` holds one line per committed page (appended and
fsynced first), ``state.json`` the next request and paginator state (written to a temporary
file in the same folder, fsynced, renamed over the old one, and the folder fsynced: second).
A page line past the count in ``state.json`` was never committed and is dropped on load, so
no record is lost or read twice whatever instant the process died at. A write that fails
(disk full, file too large) leaves the previous checkpoint as it was and says so; a damaged
checkpoint raises CheckpointError naming the folder to delete to start over. Both files are
created readable by their owner only (0600, the folder 0700): they hold the listing's
data, with registered secrets masked (the Result hands over its next request already masked).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import CheckpointError
from .._events import redact_registered

__all__ = ["Checkpoint", "SavedProgress", "fingerprint"]

_MODE = 0o600


@dataclass
class SavedProgress:
    pages: list[list[dict[str, Any]]] = field(default_factory=list)
    next_request: dict[str, Any] | None = None
    paginator: dict[str, Any] | None = None
    done: bool = False
    requests: list[str | None] = field(default_factory=list)  # identity of each page's request
    duplicates: int = 0
    empty_run: int = 0


def fingerprint(first_request: dict[str, Any]) -> str:
    """Identifies the listing a checkpoint belongs to (credentials excluded)."""
    public = {k: v for k, v in first_request.items() if k != "headers"}
    return hashlib.blake2b(json.dumps(public, sort_keys=True, default=str).encode(),
                           digest_size=12).hexdigest()


def _write_synced(path: Path, data: bytes, mode: int) -> None:
    """Write all of ``data`` to ``path`` (created 0600; ``mode`` O_APPEND or O_TRUNC) and
    fsync it before returning."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | mode, _MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Checkpoint:
    """Reads and appends the progress of one listing in ``path``."""

    def __init__(self, path: str | os.PathLike[str], listing: str) -> None:
        self.path = Path(path).expanduser()
        self.listing = listing
        self._pages_file = self.path / "pages.jsonl"
        self._state_file = self.path / "state.json"
        self._committed = 0
        self._committed_bytes = 0

    def _damaged(self, what: str) -> CheckpointError:
        return CheckpointError(
            f"checkpoint {self.path} is damaged ({what}), so it cannot say where the listing "
            f"stopped. To start the listing over, delete the folder {self.path} (or its "
            "state.json and pages.jsonl); to keep it, restore it from a backup"
        )

    def load(self) -> SavedProgress:
        """What was committed before; empty progress for a new checkpoint."""
        if not self._state_file.exists():
            self._pages_file.unlink(missing_ok=True)  # died before its first commit
            return SavedProgress()
        try:
            state = json.loads(self._state_file.read_bytes())
            count = int(state["pages"])
            listing = state.get("listing")
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise self._damaged(f"state.json cannot be read: {type(exc).__name__}") from None
        if listing != self.listing:
            raise CheckpointError(
                f"checkpoint {self.path} belongs to another listing (other parameters, or "
                "another caller's credentials or account); delete the folder or pass another "
                "checkpoint path"
            )
        if count < 0:
            raise self._damaged("state.json counts a negative number of pages")
        pages: list[list[dict[str, Any]]] = []
        requests: list[str | None] = []
        committed_bytes = 0
        try:
            with self._pages_file.open("rb") as fh:
                for number, line in zip(range(1, count + 1), fh, strict=False):
                    if not line.endswith(b"\n"):
                        raise self._damaged(f"page {number} of pages.jsonl is cut short")
                    entry = json.loads(line)
                    if isinstance(entry, list):  # written before pages named their request
                        entry = {"records": entry}
                    if not isinstance(entry, dict) or not isinstance(entry.get("records"),
                                                                     list):
                        raise self._damaged(f"page {number} of pages.jsonl is not a page")
                    pages.append(entry["records"])
                    requests.append(entry.get("request"))
                committed_bytes = fh.tell() if count else 0
        except FileNotFoundError:
            if count:
                raise self._damaged("pages.jsonl is missing") from None
        except ValueError as exc:
            raise self._damaged(f"a line of pages.jsonl is not JSON: {exc}") from None
        if len(pages) != count:
            raise self._damaged(f"state.json counts {count} pages, pages.jsonl holds "
                                f"{len(pages)}")
        if self._pages_file.exists():
            with self._pages_file.open("r+b") as fh:  # drop a page that was never committed
                fh.truncate(committed_bytes)
        self._committed, self._committed_bytes = count, committed_bytes
        return SavedProgress(pages, state.get("next_request"), state.get("paginator"),
                             bool(state.get("done")), requests,
                             int(state.get("duplicates") or 0), int(state.get("empty_run") or 0))

    def commit(
        self,
        records: list[dict[str, Any]],
        next_request: dict[str, Any] | None,
        paginator: dict[str, Any] | None,
        *,
        request: str | None = None,
        duplicates: int = 0,
        empty_run: int = 0,
    ) -> None:
        """Append one page, then advance the state to point past it; on a failure the
        checkpoint stays at the page before, and CheckpointError says why."""
        line = redact_registered(json.dumps({"request": request, "records": records},
                                            separators=(",", ":"), default=str)).encode() + b"\n"
        state = {
            "listing": self.listing, "pages": self._committed + 1,
            "next_request": next_request, "paginator": paginator,
            "done": next_request is None, "duplicates": duplicates, "empty_run": empty_run,
        }
        data = redact_registered(json.dumps(state, default=str)).encode()
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._append(line)
            self._replace_state(data)
        except OSError as exc:
            self._roll_back()
            raise CheckpointError(
                f"could not write checkpoint {self.path} ({exc.strerror or exc}); it still "
                f"holds the {self._committed} pages before. Free space (or fix the folder's "
                "permissions) and read again: the listing resumes from there"
            ) from exc
        self._committed += 1
        self._committed_bytes += len(line)

    def _append(self, line: bytes) -> None:
        _write_synced(self._pages_file, line, os.O_APPEND)

    def _replace_state(self, data: bytes) -> None:
        tmp = self._state_file.with_name(f".state.json.{os.getpid()}.tmp")
        try:
            _write_synced(tmp, data, os.O_TRUNC)
            os.replace(tmp, self._state_file)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.path)

    def _roll_back(self) -> None:
        """Cut pages.jsonl back to the committed pages (best effort: load() does it too)."""
        with contextlib.suppress(OSError):
            if self._pages_file.exists():
                with self._pages_file.open("r+b") as fh:
                    fh.truncate(self._committed_bytes)
