"""KeyRing over real HTTP: a refused key gives way to the next, which is then remembered."""

from __future__ import annotations

import threading
import warnings
from collections import Counter

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.auth._rotation import KeyRing, KeyRotationWarning
from integkit.auth._simple import ApiKey

GOOD = "sk_live_good_0123456789"
OLD = "sk_live_old_9876543210"
REVOKED = "sk_live_revoked_555555"


def key_app(valid: set[str], header: str = "authorization") -> tuple[Starlette, Counter[str]]:
    """Answers 401 (Stripe's shape) unless the key is in ``valid``; counts the keys seen."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    async def endpoint(request: Request) -> JSONResponse:
        raw = request.headers.get(header, "")
        key = raw.removeprefix("Bearer ").strip()
        body = await request.body()
        with lock:
            seen[key] += 1
        if key not in valid:
            return JSONResponse({"error": {"message": "Invalid API Key provided",
                                           "type": "invalid_request_error"}}, status_code=401,
                                headers={"request-id": "req_401"})
        return JSONResponse({"ok": True, "echo": body.decode()})

    app = Starlette(routes=[Route("/v1/things", endpoint, methods=["GET", "POST"])])
    return app, seen


def test_refused_key_gives_way_and_the_working_one_is_remembered(serve, auth_events) -> None:
    app, seen = key_app({GOOD})
    server = serve(app)
    ring = KeyRing([OLD, REVOKED, GOOD], service="billing")
    api = ik.rest(server.url, auth=ring, name="billing", cache=False)

    with pytest.warns(KeyRotationWarning) as caught:
        assert api.request("POST", "/v1/things", json={"n": 1})["echo"] == '{"n":1}'
    message = str(caught[0].message)
    assert "sk_l***" in message and OLD not in message and GOOD not in message
    assert "key 3 of 3" in message
    assert seen == Counter({OLD: 1, REVOKED: 1, GOOD: 1})  # the body went out three times

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning: the ring starts with GOOD now
        for _ in range(3):
            api.request("GET", "/v1/things")
    assert seen[GOOD] == 4 and seen[OLD] == 1 and seen[REVOKED] == 1
    assert repr(ring) == "KeyRing(3 keys, using sk_l***)"
    [event] = auth_events
    assert event.kind == "key_rotated" and event.service == "billing"
    assert event.detail["refused"] == ["sk_l***", "sk_l***"] and GOOD not in str(event)


def test_every_key_refused_names_the_masked_keys_tried(serve, auth_events) -> None:
    app, seen = key_app(set())
    server = serve(app)
    api = ik.rest(server.url, auth=KeyRing([OLD, REVOKED], service="billing"), cache=False)
    with pytest.raises(ik.AuthenticationError) as caught:
        api.request("GET", "/v1/things")
    text = str(caught.value)
    assert "every key was refused (2 tried: sk_l***, sk_l***)" in text
    assert "drop the refused ones" in text and caught.value.request_id == "req_401"
    assert OLD not in text and REVOKED not in text
    assert sum(seen.values()) == 2
    assert [e.kind for e in auth_events] == ["key_refused"]


def test_header_keys_through_a_scheme_factory(serve) -> None:
    keys = ["dd_key_old_aaaaaaaa", "dd_key_new_bbbbbbbb"]
    app, seen = key_app({keys[1]}, header="dd-api-key")
    server = serve(app)
    ring = KeyRing(keys, lambda k: ApiKey(k, header="DD-API-KEY"), service="datadog")
    api = ik.rest(server.url, auth=ring, cache=False)
    with pytest.warns(KeyRotationWarning):
        assert api.request("GET", "/v1/things")["ok"] is True
    assert seen == Counter({keys[0]: 1, keys[1]: 1})


def test_threads_switch_once_and_share_the_working_key(serve, auth_events) -> None:
    app, seen = key_app({GOOD})
    server = serve(app)
    ring = KeyRing([OLD, GOOD], service="billing")
    api = ik.rest(server.url, auth=ring, cache=False, coalesce=False)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                api.request("GET", "/v1/things")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeyRotationWarning)
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert seen[GOOD] == 40
    assert 1 <= seen[OLD] <= 8  # at most one refused try per thread, then the shared key
    assert [e.kind for e in auth_events] == ["key_rotated"]


def test_keyring_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        KeyRing([])
    with pytest.raises(ValueError, match="same key twice"):
        KeyRing([GOOD, GOOD])
