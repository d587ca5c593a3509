"""Durable progress of one extraction, so a killed process resumes where it stopped.

A checkpoint is a folder: ``pages.jsonl`` holds one line per committed page (appended and
fsynced first), ``state.json`` the next request and paginator state (replaced atomically
second). A page line past the count in ``state.json`` was never committed and is dropped on
load, so no record is lost or read twice whatever instant the process died at. The folder is
``0700`` and its files ``0600``; registered secrets are masked in what is written (the Result
hands over its next request already masked).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._events import redact_registered
from .._private import open_private, private_dir

__all__ = ["Checkpoint", "SavedProgress"]


@dataclass
class SavedProgress:
    pages: list[list[dict[str, Any]]] = field(default_factory=list)
    next_request: dict[str, Any] | None = None
    paginator: dict[str, Any] | None = None
    done: bool = False


def fingerprint(first_request: dict[str, Any]) -> str:
    """Identifies the listing a checkpoint belongs to (credentials excluded)."""
    public = {k: v for k, v in first_request.items() if k != "headers"}
    return hashlib.blake2b(json.dumps(public, sort_keys=True, default=str).encode(),
                           digest_size=12).hexdigest()


class Checkpoint:
    """Reads and appends the progress of one listing in ``path``."""

    def __init__(self, path: str | os.PathLike[str], listing: str) -> None:
        self.path = Path(path).expanduser()
        self.listing = listing
        self._pages_file = self.path / "pages.jsonl"
        self._state_file = self.path / "state.json"
        self._committed = 0

    def load(self) -> SavedProgress:
        """What was committed before; empty progress for a new checkpoint."""
        if not self._state_file.exists():
            self._pages_file.unlink(missing_ok=True)  # died before its first commit
            return SavedProgress()
        state = json.loads(self._state_file.read_text())
        if state.get("listing") != self.listing:
            raise ConfigError(
                f"checkpoint {self.path} belongs to another listing; delete the folder or "
                "pass another checkpoint path"
            )
        count = int(state["pages"])
        pages: list[list[dict[str, Any]]] = []
        with self._pages_file.open("rb") as fh:
            for _, line in zip(range(count), fh, strict=False):
                pages.append(json.loads(line))
            committed_bytes = fh.tell() if count else 0
        if len(pages) != count:
            raise ConfigError(f"checkpoint {self.path} is damaged: pages.jsonl lost pages")
        with self._pages_file.open("r+b") as fh:  # drop a page that was never committed
            fh.truncate(committed_bytes)
        self._committed = count
        return SavedProgress(pages, state.get("next_request"), state.get("paginator"),
                             bool(state.get("done")))

    def commit(
        self,
        records: list[dict[str, Any]],
        next_request: dict[str, Any] | None,
        paginator: dict[str, Any] | None,
    ) -> None:
        """Append one page, then advance the state to point past it."""
        private_dir(self.path)
        with open_private(self._pages_file, "ab") as fh:
            line = redact_registered(json.dumps(records, separators=(",", ":"), default=str))
            fh.write(line.encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._committed += 1
        state = {
            "listing": self.listing, "pages": self._committed, "next_request": next_request,
            "paginator": paginator, "done": next_request is None,
        }
        tmp = self._state_file.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        with open_private(tmp, "w") as fh:
            fh.write(redact_registered(json.dumps(state, default=str)))
        os.replace(tmp, self._state_file)
