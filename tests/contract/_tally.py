"""Tally, a small time-tracking API written here for one purpose: to be the public REST API a
user brings, connected with a YAML definition alone (tests/contract/test_yaml_only_connector.py).

It is strict where real services are: a version header it requires, dates it reads only as
``YYYY-MM-DD``, comma lists, one path segment per team, failures told in the body of an HTTP
200 (``{"ok": false, "error": ...}``), and a request window announced in ``X-RateLimit-*``
headers whose overrun is a 429.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["KINDS", "TEAMS", "TOKEN", "VERSION", "Tally"]

TOKEN = "tally_live_7c1e93ab55d04f"
VERSION = "2024-06"
TEAMS = ("data team", "ops")  # the first needs percent-encoding in a path
KINDS = ("meeting", "focus", "review")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class Tally:
    """The service: entries of each team, paged by token; entries created by POST."""

    def __init__(self, *, entries: int = 90, window: int = 1_000, per: float = 1.0) -> None:
        self.entries = {team: [self._entry(team, n) for n in range(entries)] for team in TEAMS}
        self.window, self.per = window, per  # requests allowed per window of ``per`` seconds
        self.log: list[tuple[str, str]] = []  # (path, query) of every request
        self.too_many = 0  # 429s answered: a client that reads the headers never gets one
        self.transient = 0  # "try_again" failures still to serve
        self._calls: list[float] = []
        self._lock = threading.Lock()

    @staticmethod
    def _entry(team: str, n: int) -> dict[str, Any]:
        started = _START + dt.timedelta(hours=7 * n)
        return {"id": f"{team[:2]}_{n:05d}", "team": team, "kind": KINDS[n % 3],
                "minutes": 15 + (n * 7) % 90, "billable": n % 4 != 0,
                "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created": int(started.timestamp())}

    # -- the window ---------------------------------------------------------------------------
    def _admit(self) -> tuple[bool, dict[str, str]]:
        """Whether one more request fits the window, and the headers that say how many do."""
        with self._lock:
            now = time.monotonic()
            self._calls = [t for t in self._calls if now - t < self.per]
            admitted = len(self._calls) < self.window
            if admitted:
                self._calls.append(now)
            # seconds until the oldest call leaves the window, rounded up as servers do
            reset = self.per - (now - self._calls[0]) if self._calls else 0.0
            headers = {"X-RateLimit-Limit": str(self.window),
                       "X-RateLimit-Remaining": str(self.window - len(self._calls)),
                       "X-RateLimit-Reset": f"{math.ceil(max(reset, 0.0) * 10) / 10 + 0.1:.1f}"}
            if not admitted:
                self.too_many += 1
            return admitted, headers

    def _fail(self, error: str, headers: dict[str, str], status: int = 200) -> JSONResponse:
        return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)

    def _checked(self, request: Request) -> tuple[dict[str, str], JSONResponse | None]:
        self.log.append((request.url.path, request.url.query))
        admitted, headers = self._admit()
        if not admitted:
            return headers, self._fail("rate_limited", headers, 429)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return headers, self._fail("invalid_auth", headers)
        if request.headers.get("tally-version") != VERSION:
            return headers, self._fail("unsupported_version", headers, 400)
        with self._lock:
            if self.transient:
                self.transient -= 1
                return headers, self._fail("try_again", headers)
        return headers, None

    # -- routes ---------------------------------------------------------------------------------
    async def entries_of(self, request: Request) -> JSONResponse:
        headers, failed = self._checked(request)
        if failed is not None:
            return failed
        team = request.path_params["team"]
        if team not in self.entries:
            return self._fail("team_not_found", headers)
        if request.method == "POST":
            return await self.create(request, team, headers)
        query = request.query_params
        for name in ("since", "until"):
            if name in query and not _DATE.fullmatch(query[name]):
                return self._fail("invalid_date", headers)
        rows = self.entries[team]
        if "since" in query:
            rows = [r for r in rows if r["started_at"][:10] >= query["since"]]
        if "until" in query:
            rows = [r for r in rows if r["started_at"][:10] < query["until"]]
        if "kinds" in query:
            wanted = query["kinds"].split(",")
            if set(wanted) - set(KINDS):
                return self._fail("invalid_kind", headers)
            rows = [r for r in rows if r["kind"] in wanted]
        start = int(query.get("page_token") or 0)
        size = min(int(query.get("page_size") or 20), 50)
        end = start + size
        return JSONResponse({"ok": True, "entries": rows[start:end],
                             "next_page_token": str(end) if end < len(rows) else ""},
                            headers=headers)

    async def create(self, request: Request, team: str, headers: dict[str, str]
                     ) -> JSONResponse:
        body = await request.json()
        if not isinstance(body.get("minutes"), int) or body.get("kind") not in KINDS:
            return self._fail("invalid_entry", headers)
        with self._lock:
            rows = self.entries[team]
            entry = {**self._entry(team, len(rows)), "kind": body["kind"],
                     "minutes": body["minutes"]}
            rows.append(entry)
        return JSONResponse({"ok": True, "entry": entry}, headers=headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/teams/{team}/entries", self.entries_of,
                                       methods=["GET", "POST"])])
