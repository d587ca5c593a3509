"""Cache keys: normalization, negotiation headers, and credentials only as one-way digests."""

from __future__ import annotations

import httpx
import pytest

from integkit._events import register_secret
from integkit.cache import cache_key
from integkit.cache._keys import (
    credential_digest,
    is_credential_header,
    normalize_url,
    redacted_url,
)

BASE = "https://API.example.com:443/v1/items"


def req(url: str = BASE, method: str = "GET", **kw) -> httpx.Request:
    return httpx.Request(method, url, **kw)


def test_query_order_case_and_default_port_do_not_matter() -> None:
    a = req(BASE + "?b=2&a=1&a=0")
    b = req("https://api.example.com/v1/items?a=0&a=1&b=2#frag")
    assert cache_key(a) == cache_key(b)
    assert normalize_url(a.url) == "https://api.example.com/v1/items?a=0&a=1&b=2"


def test_different_paths_params_methods_and_bodies_differ() -> None:
    keys = {
        cache_key(req()),
        cache_key(req(BASE + "?a=1")),
        cache_key(req(BASE + "/x")),
        cache_key(req(method="HEAD")),
        cache_key(req(method="POST", content=b'{"q": 1}')),
        cache_key(req(method="POST", content=b'{"q": 2}')),
    }
    assert len(keys) == 6


@pytest.mark.parametrize("param", ["api_key", "key", "token", "access_token", "API_KEY"])
def test_credential_params_leave_the_url_but_separate_callers(param: str) -> None:
    one = req(f"{BASE}?limit=5&{param}=sk_one_123456")
    two = req(f"{BASE}?limit=5&{param}=sk_two_654321")
    assert normalize_url(one.url) == "https://api.example.com/v1/items?limit=5"
    assert cache_key(one) != cache_key(two)
    assert cache_key(one) == cache_key(req(f"{BASE}?{param}=sk_one_123456&limit=5"))
    assert "sk_one" not in cache_key(one)


def test_signatures_are_dropped_and_ignored_params_too() -> None:
    a = req(BASE + "?sig=abc&signature=def&_=1700000001&n=1")
    b = req(BASE + "?sig=zzz&signature=yyy&_=1700000002&n=1")
    assert cache_key(a, ignored_params=["_"]) == cache_key(b, ignored_params=["_"])
    assert cache_key(a) != cache_key(b)  # "_" counts unless configured


def test_configured_secret_params_are_digested_not_kept() -> None:
    a, b = req(BASE + "?hk=aaa111&n=1"), req(BASE + "?hk=bbb222&n=1")
    assert cache_key(a, secret_params=["hk"]) != cache_key(b, secret_params=["hk"])
    assert normalize_url(a.url, secret_params=["hk"]).endswith("/v1/items?n=1")


def test_credential_headers_separate_callers_without_entering_the_key() -> None:
    alice = req(headers={"Authorization": "Bearer sk_alice_0001"})
    bob = req(headers={"Authorization": "Bearer sk_bob_0002"})
    anon = req()
    assert len({cache_key(alice), cache_key(bob), cache_key(anon)}) == 3
    assert cache_key(alice) == cache_key(req(headers={"authorization": "Bearer sk_alice_0001"}))
    assert credential_digest(anon) == ""
    digest = credential_digest(alice)
    assert len(digest) == 32 and "sk_alice" not in digest
    for header in ("X-Api-Key", "Cookie", "X-Shopify-Access-Token", "Private-Token"):
        assert cache_key(req(headers={header: "v1"})) != cache_key(req(headers={header: "v2"}))


def test_negotiation_and_api_version_headers_are_part_of_the_key() -> None:
    base = cache_key(req())
    assert cache_key(req(headers={"Accept": "text/csv"})) != base
    assert cache_key(req(headers={"Stripe-Version": "2024-06-20"})) != cache_key(
        req(headers={"Stripe-Version": "2023-10-16"}))
    # issue 9: every header that may change the answer is keyed, a tenant header included
    assert cache_key(req(headers={"X-Tenant": "a"})) != cache_key(req(headers={"X-Tenant": "b"}))
    assert cache_key(req(headers={"X-Tenant": "a"}), vary_headers=["X-Tenant"]) != cache_key(
        req(headers={"X-Tenant": "b"}), vary_headers=["X-Tenant"])
    assert cache_key(req(headers={"User-Agent": "x"})) == base


def test_userinfo_is_a_credential() -> None:
    a, b = req("https://u:pw1@api.example.com/v1"), req("https://u:pw2@api.example.com/v1")
    assert cache_key(a) != cache_key(b)
    assert normalize_url(a.url) == "https://api.example.com/v1"


def test_streamed_body_is_not_keyed() -> None:
    def chunks():
        yield b"x"

    with pytest.raises(httpx.RequestNotRead):
        cache_key(req(method="POST", content=chunks()))


def test_credential_header_detection() -> None:
    for name in ("Authorization", "Proxy-Authorization", "X-API-Key", "Set-Cookie",
                 "X-Session-Token", "X-Auth-Token", "X-Client-Secret"):
        assert is_credential_header(name), name
    for name in ("Accept", "ETag", "Content-Type", "X-RateLimit-Remaining", "Stripe-Version"):
        assert not is_credential_header(name), name


def test_redacted_url_masks_registered_secrets_in_the_path() -> None:
    register_secret("pathsecret_998877")
    url = redacted_url("https://h.example/hooks/pathsecret_998877?api_key=zzz&x=1")
    assert "pathsecret_998877" not in url and "zzz" not in url and url.endswith("?x=1")
