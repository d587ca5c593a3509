"""The sandbox OAuth provider on its own (served by SandboxServer): RFC 6749 error bodies,
client authentication, refresh rotation, revocation and the resource-server answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from integkit.sandbox import SandboxServer
from integkit.sandbox._oauth import OAuthProvider

SECRET = "provider-secret-42"


@pytest.fixture()
def served() -> Iterator[tuple[OAuthProvider, httpx.Client]]:
    provider = OAuthProvider(access_token_ttl=30, rotate_refresh_tokens=True,
                             token_extra={"instance_url": "https://acme.example"})
    provider.register_client("svc", SECRET, scopes=["read", "write"])
    provider.register_client("cc-only", SECRET, grants=["client_credentials"])
    with SandboxServer(provider) as server, httpx.Client(base_url=server.url) as client:
        yield provider, client


def test_token_responses_and_rfc6749_errors(served: tuple[OAuthProvider, httpx.Client]) -> None:
    provider, client = served
    ok = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "read"},
                     auth=("svc", SECRET))
    body = ok.json()
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 30
    assert body["scope"] == "read" and body["instance_url"] == "https://acme.example"
    assert "refresh_token" not in body

    bad_secret = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                             auth=("svc", "wrong"))
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert bad_secret.headers["www-authenticate"].startswith("Basic")
    unknown = client.post("/oauth/token", data={"grant_type": "password"}, auth=("svc", SECRET))
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"
    scope = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "scope": "delete"}, auth=("svc", SECRET))
    assert scope.json() == {"error": "invalid_scope", "error_description": "not allowed: delete"}
    grant = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                              "refresh_token": "x"}, auth=("cc-only", SECRET))
    assert grant.json()["error"] == "unauthorized_client"
    in_body = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                "client_id": "svc", "client_secret": SECRET})
    assert in_body.status_code == 200  # client_secret_post works too
    assert provider.token_calls["client_credentials"] == 2
    assert provider.stats()["token_errors"]["invalid_client"] == 1
    assert client.get("/__sandbox__/stats").json()["token_calls"] == {"client_credentials": 2}


def test_refresh_rotation_and_revocation(served: tuple[OAuthProvider, httpx.Client]) -> None:
    provider, client = served
    first = provider.issue("svc", ["read", "write"])
    rotated = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                "refresh_token": first["refresh_token"],
                                                "scope": "read"}, auth=("svc", SECRET)).json()
    assert rotated["refresh_token"] != first["refresh_token"] and rotated["scope"] == "read"
    reused = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                               "refresh_token": first["refresh_token"]},
                         auth=("svc", SECRET))
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    widen = client.post("/oauth/token", data={"grant_type": "refresh_token", "scope": "admin",
                                              "refresh_token": rotated["refresh_token"]},
                        auth=("svc", SECRET))
    assert widen.json()["error"] == "invalid_scope"
    bearer = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert client.get("/oauth/userinfo", headers=bearer).json()["scope"] == "read"
    revoked = client.post("/oauth/revoke", data={"token": rotated["refresh_token"]},
                          auth=("svc", SECRET))
    assert revoked.status_code == 200
    denied = client.get("/oauth/userinfo", headers=bearer)  # the family went with it
    assert denied.status_code == 401
    assert 'error="invalid_token"' in denied.headers["www-authenticate"]


def test_resource_server_answers(served: tuple[OAuthProvider, httpx.Client]) -> None:
    provider, client = served
    missing = client.get("/oauth/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == \
        'Bearer realm="sandbox"'
    assert client.get("/oauth/userinfo",
                      headers={"Authorization": "Bearer nope"}).status_code == 401
    token = provider.issue("svc", ["read"], refresh=False)["access_token"]
    provider.expire_access_tokens()
    expired = client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert expired.json()["error_description"] == "The access token expired"
    assert provider.rejections == {"missing": 1, "invalid": 1, "expired": 1}
    assert client.get("/nowhere").status_code == 404
    assert client.post("/oauth/authorize").status_code == 405
