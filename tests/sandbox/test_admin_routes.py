"""The /__sandbox__/ admin routes (a Starlette router in front of the emulator), over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import integkit as ik


@pytest.fixture
def sb() -> Iterator[ik.sandbox.Sandbox]:
    with ik.sandbox("stripe", records=5) as running:
        yield running


def test_admin_routes_answer_while_every_request_is_failed(sb) -> None:
    admin = sb.url + "/__sandbox__/"
    armed = httpx.post(admin + "faults", json={"kind": "fail", "status": 503, "times": None})
    assert armed.status_code == 200 and armed.json()["rules"][0]["times"] is None
    key = {"Authorization": f"Bearer {sb.api_key}"}
    assert httpx.get(sb.url + "/v1/charges", headers=key).status_code == 503
    # the admin itself is never failed, nor counted as a request the emulator served
    stats = httpx.get(admin + "stats")
    assert stats.status_code == 200 and stats.headers["content-type"] == "application/json"
    assert stats.json()["service"] == "stripe" and stats.json()["requests"] == 0
    assert httpx.get(admin + "faults").json()["hits"] == 1
    assert httpx.get(admin + "webhooks").json() == {"deliveries": []}
    assert httpx.delete(admin + "faults").json()["rules"] == []
    assert httpx.get(sb.url + "/v1/charges", headers=key).status_code == 200


def test_admin_routes_refuse_what_they_cannot_read(sb) -> None:
    admin = sb.url + "/__sandbox__/"
    bad_json = httpx.post(admin + "faults", content=b"{not json")
    assert bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request"
    not_rules = httpx.post(admin + "faults", json=[1, 2])
    assert not_rules.status_code == 400 and "fault spec" in not_rules.json()["error"]["message"]
    assert httpx.post(admin + "webhooks", content=b"[").status_code == 400
    assert httpx.post(admin + "webhooks", json={"url": "http://127.0.0.1:9/x"}).status_code == 400
    assert httpx.post(admin + "stats").status_code == 405
    assert httpx.get(admin + "nothing-here").status_code == 404
    assert sb.faults.rules == []
