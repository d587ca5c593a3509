"""The worked example of CONTRIBUTING.md keeps working: its definition
(docs/examples/helpdesk.yaml, quoted in the guide word for word) read with
``ik.connect(path)`` against a small Helpdesk API served on 127.0.0.1, and the guide's own
snippet run as written."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.sandbox import Faults, SandboxServer

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "docs" / "examples" / "helpdesk.yaml"
GUIDE = ROOT / "CONTRIBUTING.md"
KEY = "hd_test_4f9a1c2b7e"
TICKETS = 120


class Helpdesk:
    """The service the example connects to: cursor pages of tickets, one ticket by id,
    ticket creation that honours Idempotency-Key, errors in the shape the definition reads."""

    def __init__(self) -> None:
        self.tickets = [{"id": f"t_{n:04d}", "subject": f"Ticket {n}",
                         "status": "open" if n % 3 else "closed",
                         "priority": ("low", "normal", "high")[n % 3],
                         "created_at": 1_750_000_000 + 3600 * n,
                         "requester": {"name": f"User {n}", "email": f"user{n}@example.com"}}
                        for n in range(1, TICKETS + 1)]
        self.replies: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    @staticmethod
    def error(status: int, message: str, code: str) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "code": code}}, status_code=status,
                            headers={"X-Request-Id": f"req_{code}"})

    def app(self) -> Starlette:
        async def tickets(request: Request) -> JSONResponse:
            if request.headers.get("x-helpdesk-key") != KEY:
                return self.error(401, "Invalid API key", "unauthorized")
            if request.method == "POST":
                return await self.create(request)
            rows = [t for t in self.tickets
                    if request.query_params.get("status") in (None, t["status"])]
            start = int(request.query_params.get("cursor", 0))
            limit = int(request.query_params.get("limit", 10))
            end = start + limit
            return JSONResponse({"data": rows[start:end],
                                 "next_cursor": str(end) if end < len(rows) else None})

        async def ticket(request: Request) -> JSONResponse:
            if request.headers.get("x-helpdesk-key") != KEY:
                return self.error(401, "Invalid API key", "unauthorized")
            found = [t for t in self.tickets if t["id"] == request.path_params["id"]]
            if not found:
                return self.error(404, f"No ticket {request.path_params['id']}", "not_found")
            return JSONResponse(found[0])

        return Starlette(routes=[Route("/v1/tickets", tickets, methods=["GET", "POST"]),
                                 Route("/v1/tickets/{id}", ticket)])

    async def create(self, request: Request) -> JSONResponse:
        body = await request.json()
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key and key in self.replies:
                return JSONResponse(self.replies[key], status_code=201)
            if not body.get("subject"):
                return self.error(400, "subject is required", "invalid")
            created = {"id": f"t_{len(self.tickets) + 1:04d}", "subject": body["subject"],
                       "status": "open", "priority": body.get("priority", "normal"),
                       "created_at": 1_760_000_000, "requester": body.get("requester")}
            self.tickets.append(created)
            if key:
                self.replies[key] = created
        return JSONResponse(created, status_code=201)


@pytest.fixture
def helpdesk() -> Iterator[tuple[Helpdesk, Faults, str]]:
    service, faults = Helpdesk(), Faults()
    with SandboxServer(faults.wrap(service.app())) as server:
        yield service, faults, server.url


def connect(url: str, sleeps: list[float], **options: Any) -> Any:
    return ik.connect(str(DEFINITION), **{"base_url": url, "api_key": KEY, "sleep": sleeps,
                                          "rate_limit": False, **options})


def block(title: str, language: str) -> str:
    """The first ``language`` code block after the heading ``title`` in the guide."""
    text = GUIDE.read_text()
    start = text.index(title)
    found = re.search(rf"```{language}\n(.*?)```", text[start:], re.DOTALL)
    assert found, f"no {language} block after {title!r} in {GUIDE.name}"
    return found.group(1)


def test_the_guide_quotes_the_example_definition_as_it_is() -> None:
    assert block("A worked example", "yaml") == DEFINITION.read_text()


def test_the_guides_snippet_runs_as_written(helpdesk, monkeypatch) -> None:
    service, _, url = helpdesk
    monkeypatch.chdir(ROOT)  # the snippet names the definition by its path in the repo
    namespace: dict[str, Any] = {"BASE_URL": url, "API_KEY": KEY}
    exec(compile(block("A worked example", "python"), str(GUIDE), "exec"), namespace)  # noqa: S102
    open_tickets = namespace["tickets"]
    assert len(open_tickets) == sum(t["status"] == "open" for t in service.tickets[:TICKETS])
    assert namespace["ticket"]["subject"] == "Printer on fire"
    assert service.tickets[-1]["id"] == namespace["ticket"]["id"]


def test_every_page_of_tickets_comes_back_typed(helpdesk, sleeps) -> None:
    service, _, url = helpdesk
    desk = connect(url, sleeps)
    result = desk.list("tickets")
    frame = result.to_frame()
    assert list(frame["id"]) == [t["id"] for t in service.tickets]
    assert result.stats.pages == -(-TICKETS // 50)  # the definition's page size
    assert str(frame["created_at"].dtype) == "datetime64[ms, UTC]"
    assert "requester.email" in frame.columns
    empty = desk.list("tickets", status="spam").to_frame()  # the declared columns, typed
    assert len(empty) == 0 and str(empty["created_at"].dtype) == "datetime64[ms, UTC]"


def test_a_create_whose_answer_is_lost_is_applied_once(helpdesk, sleeps) -> None:
    service, faults, url = helpdesk
    faults.reset_after_processing(times=1, path="/v1/tickets", method="POST")
    desk = connect(url, sleeps)
    ticket = desk.create_ticket(subject="Printer on fire", priority="high")
    assert [t["subject"] for t in service.tickets].count("Printer on fire") == 1
    assert ticket == service.tickets[-1] and len(sleeps) == 1


def test_errors_say_what_went_wrong(helpdesk, sleeps, monkeypatch) -> None:
    _, _, url = helpdesk
    with pytest.raises(ik.AuthenticationError, match="Invalid API key") as info:
        connect(url, sleeps, api_key="hd_wrong").list("tickets").head(1)
    assert info.value.request_id == "req_unauthorized"
    desk = connect(url, sleeps)
    with pytest.raises(ik.NotFoundError, match="No ticket t_9999"):
        desk.retrieve("tickets", "t_9999")
    with pytest.raises(ik.ConfigError, match="create_ticket needs subject"):
        desk.create_ticket(priority="low")
    monkeypatch.delenv("HELPDESK_API_KEY", raising=False)
    with pytest.raises(ik.ConfigError, match=r"set HELPDESK_API_KEY or pass .*api_key=") as no_key:
        ik.connect(str(DEFINITION), base_url=url)
    assert "ik.sandbox" not in str(no_key.value)  # it has no emulator to offer
