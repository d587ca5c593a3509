"""The HTTP cache as part of a connection: hits cost no quota, no token and no money; a 304
costs what the service says; offline mode; invalidation; every call in ik.usage()."""

from __future__ import annotations

import uuid

import pytest

import integkit as ik

from .. import cache_app

PRICING = {"currency": "USD", "plans": {"metered": {"model": "per_call", "price": 0.01}}}


@pytest.fixture
def name() -> str:
    service = f"cached{uuid.uuid4().hex[:8]}"
    ik.ledger.register_pricing(service, PRICING)
    yield service
    ik.ledger.register_pricing(service, None)


def connection(url, state, name, **options):
    return ik.rest(url, name=name, state=state, account=name,
                   quotas={"daily": 100, "not_modified_free": True},
                   rate_limit={"limit": 100, "per": "1s"}, **options)


def test_a_hit_costs_no_call_no_quota_and_no_money(url, state_url, name) -> None:
    ik.configure(state=state_url)
    try:
        c = connection(url, state_url, name, cache={"defaultTtl": "1m"})
        first = c.request("GET", "/data", params={"id": name})
        again = c.request("GET", "/data", params={"id": name})
        assert first == again and cache_app.hits[name] == 1
        assert ik.quota(c)["budgets"]["daily"]["used"] == 1
        calls = ik.usage(service=name)
    finally:
        ik.configure(state=None)
    assert list(calls["cached"]) == [False, True]
    assert list(calls["cost"]) == [0.01, 0.0]


def test_an_unchanged_answer_costs_a_304_that_the_quota_does_not_count(url, state_url,
                                                                       name) -> None:
    c = connection(url, state_url, name)  # no TTL: every read revalidates with its ETag
    assert c.request("GET", "/etag", params={"id": name})["version"] == 0
    assert c.request("GET", "/etag", params={"id": name})["version"] == 0
    assert (cache_app.hits[name], cache_app.conditional[name]) == (1, 1)
    assert ik.quota(c)["budgets"]["daily"]["used"] == 1
    cache_app.versions[name] += 1  # the resource changes: a full answer again
    assert c.request("GET", "/etag", params={"id": name})["version"] == 1


def test_offline_mode_answers_from_the_cache_and_says_what_to_do_on_a_miss(url, tmp_path,
                                                                          name) -> None:
    state = f"sqlite:///{tmp_path}/s.db"
    c = connection(url, state, name, cache={"defaultTtl": "1s"})
    c.request("GET", "/data", params={"id": name})
    ik.configure(offline=True)
    try:
        assert c.request("GET", "/data", params={"id": name})["hits"] == 1
        with pytest.raises(ik.NetworkError, match="offline mode: no cached answer") as err:
            c.request("GET", "/data", params={"id": "never-fetched"})
        assert "ik.configure(offline=False)" in str(err.value)
        with pytest.raises(ik.NetworkError, match="offline mode"):
            c.request("POST", "/write")  # nothing leaves the machine, writes included
    finally:
        ik.configure(offline=False)
    assert cache_app.hits[name] == 1 and cache_app.hits["write"] == 0


def test_cache_false_turns_it_off_and_invalidate_forgets(url, tmp_path, name) -> None:
    state = f"sqlite:///{tmp_path}/s.db"
    off = connection(url, state, name, cache=False)
    off.request("GET", "/data", params={"id": name, "max_age": 60})
    off.request("GET", "/data", params={"id": name, "max_age": 60})
    assert cache_app.hits[name] == 2
    on = connection(url, state, name)  # the server's max-age is honoured by default
    on.request("GET", "/data", params={"id": name, "max_age": 60})
    on.request("GET", "/data", params={"id": name, "max_age": 60})
    assert cache_app.hits[name] == 3
    assert ik.cache.invalidate(service=name, state=state) == 1
    on.request("GET", "/data", params={"id": name, "max_age": 60})
    assert cache_app.hits[name] == 4
