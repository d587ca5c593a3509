"""Two workers behind one webhook URL (two routers on one state backend) handle a delivery
once; a failed handling is forgotten everywhere so the service's retry runs."""

from __future__ import annotations

import pytest

import integkit as ik
from integkit.webhooks import Router, sign

SECRET = "whk-shared-dedupe-secret"


def delivery(delivery_id: str) -> tuple[bytes, dict[str, str]]:
    body = b'{"action": "opened", "number": 7}'
    return body, {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery_id,
                  **sign("github", body, secret=SECRET)}


def test_two_workers_on_one_state_handle_a_delivery_once(state_url) -> None:
    handled: list[str] = []
    workers = [Router(state=state_url), Router(state=state_url)]
    for i, router in enumerate(workers):
        router.on("github", "pull_request", lambda e, i=i: handled.append(f"w{i}"))
    body, headers = delivery("d-shared-1")
    assert workers[0].dispatch("github", body, headers, secret=SECRET) == [None]
    assert workers[1].dispatch("github", body, headers, secret=SECRET) == []
    assert handled == ["w0"]


def test_a_failed_delivery_is_forgotten_by_every_worker(state_url) -> None:
    failing, healthy = Router(state=state_url), Router(state=state_url)

    def boom(event):
        raise RuntimeError("database down")

    failing.on("github", "pull_request", boom)
    healthy.on("github", "pull_request", lambda e: e["number"])
    body, headers = delivery("d-shared-2")
    with pytest.raises(RuntimeError):
        failing.dispatch("github", body, headers, secret=SECRET)
    assert healthy.dispatch("github", body, headers, secret=SECRET) == [7]  # the retry runs


def test_in_process_routers_stay_apart() -> None:
    body, headers = delivery("d-local")
    a, b = Router(), Router()
    a.on("github", "*", lambda e: 1)
    b.on("github", "*", lambda e: 2)
    assert a.dispatch("github", body, headers, secret=SECRET) == [1]
    assert b.dispatch("github", body, headers, secret=SECRET) == [2]
    assert isinstance(ik.webhooks.router, Router)
