"""OAuth2 built from its parts (a grant object, ``OAuthClient``, ``TokenPolicy``) behaves as the
same OAuth2 built from the flat keywords, against the sandbox provider over real HTTP; a
setting given twice, or a keyword OAuth2 does not know, is refused."""

from __future__ import annotations

import uuid

import httpx
import pytest

import integkit as ik
from integkit.auth import (
    AuthorizationCode,
    ClientCredentials,
    JwtBearer,
    OAuth2,
    OAuthClient,
    RefreshToken,
    TokenPolicy,
)

from .conftest import CLIENT_SECRET, Sandbox


def _service() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


def test_client_credentials_from_parts_match_the_keywords(sb: Sandbox) -> None:
    urls = sb.endpoints()
    service = _service()
    client = OAuthClient(urls["token_url"], client_id="app", client_secret=CLIENT_SECRET)
    parts = OAuth2(grant=ClientCredentials(), client=client, scopes=["items.read"],
                   service=service, store=False)
    flat = OAuth2(token_url=urls["token_url"], client_id="app", client_secret=CLIENT_SECRET,
                  scopes="items.read", service=service, store=False)
    assert parts.grant == flat.grant == "client_credentials"
    assert parts.token_id == flat.token_id and parts.identity == flat.identity
    assert parts.token_id.owner.startswith("client.")
    answer = httpx.get(sb.url + "/oauth/userinfo", auth=parts, timeout=10)
    assert answer.json() == {"sub": "app", "client_id": "app", "scope": "items.read"}
    assert sb.provider.token_calls == {"client_credentials": 1}
    assert CLIENT_SECRET not in repr(client) and CLIENT_SECRET not in repr(parts)


def test_browser_login_from_a_grant_object_with_a_device_login_beside(sb: Sandbox) -> None:
    urls = sb.endpoints()
    grant = AuthorizationCode(urls["authorize_url"], params={"prompt": "consent"})
    auth = OAuth2(grant=grant, client=OAuthClient(urls["token_url"], client_id="public-app"),
                  device_authorization_url=urls["device_authorization_url"],
                  scopes=["items.read"], service=_service(), store=False)
    assert (auth.grant, auth.authorize_url) == ("authorization_code", urls["authorize_url"])
    url, _ = auth.authorization_url()
    assert "prompt=consent" in url and "code_challenge_method=S256" in url
    token = auth.finish(httpx.get(url).headers["location"])
    assert token.scopes == {"items.read"} and token["refresh_token"]
    assert auth.token_id.owner == ""  # a person's login: the profile's own slot
    assert "enter the code" in str(auth.start_device())


def test_refresh_token_grant_object_rotates_in_its_own_slot(sb: Sandbox) -> None:
    seed = sb.provider.issue("app", ["items.read"])["refresh_token"]
    client = OAuthClient(sb.endpoints()["token_url"], client_id="app",
                         client_secret=CLIENT_SECRET)
    auth = OAuth2(grant=RefreshToken(seed), client=client, service=_service(), store=False)
    assert auth.grant == "refresh_token" and auth.token_id.owner.startswith("refresh.")
    assert seed not in repr(RefreshToken(seed))
    assert httpx.get(sb.url + "/v1/items", auth=auth, timeout=10).status_code == 200
    assert auth.token is not None and auth.token["refresh_token"] != seed  # rotated
    assert sb.provider.tokens[seed].revoked and auth.stats["refreshed"] == 1


def test_policy_object_sets_leeway_and_required_scopes(sb: Sandbox) -> None:
    client = OAuthClient(sb.endpoints()["token_url"], client_id="app",
                         client_secret=CLIENT_SECRET)
    policy = TokenPolicy(refresh_skew="5m", warn_before="1d", required_scopes="admin")
    auth = OAuth2(grant="client_credentials", client=client, scopes=["items.read"],
                  policy=policy, service=_service(), store=False)
    assert (auth.refresh_skew, auth.warn_before, auth.required_scopes) == (
        300, 86400, frozenset({"admin"}))
    with pytest.raises(ik.PermissionDeniedError, match="lacks the scope 'admin'"):
        httpx.get(sb.url + "/v1/items", auth=auth, timeout=10)
    assert sb.api.served == 0


def test_service_account_grant_object_takes_the_key_token_uri(sb: Sandbox) -> None:
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048)
    info = {"client_email": "etl@proj.iam.gserviceaccount.test",
            "private_key": key.as_pem(private=True).decode(),
            "token_uri": sb.endpoints()["token_url"]}
    sb.provider.register_jwt_issuer(info["client_email"], key.as_pem(private=False),
                                    scopes=["items.read"])
    auth = OAuth2(grant=JwtBearer(info), scopes=["items.read"], store=False)
    assert auth.token_url == info["token_uri"] and auth.token_id.owner.startswith("key.")
    assert auth.token_id.account == info["client_email"]
    assert httpx.get(sb.url + "/oauth/userinfo", auth=auth, timeout=10).json()["sub"] == \
        info["client_email"]
    assert info["private_key"] not in repr(JwtBearer(info))


def test_a_setting_given_twice_or_unknown_is_refused() -> None:
    client = OAuthClient("http://127.0.0.1:9/token", client_id="app", client_secret="s" * 12)
    with pytest.raises(ik.ConfigError, match=r"client_id both as keywords and in client="):
        OAuth2(client=client, client_id="other")
    with pytest.raises(ik.ConfigError, match=r"refresh_token both .* grant=RefreshToken"):
        OAuth2(grant=RefreshToken("1//a"), client=client, refresh_token="1//b")
    with pytest.raises(ik.ConfigError, match=r"refresh_skew both .* policy=TokenPolicy"):
        OAuth2(client=client, policy=TokenPolicy(), refresh_skew=30)
    with pytest.raises(ik.ConfigError, match=r"ik.auth.OAuth2\(\) takes no keyword "
                       r"'client_secrte'; did you mean client_secret=\?"):
        OAuth2(token_url="http://127.0.0.1:9/token", client_id="x", client_secrte="y")
    with pytest.raises(ik.ConfigError, match="needs client_secret="):
        OAuth2(grant=ClientCredentials(), client=OAuthClient("http://127.0.0.1:9/t",
                                                             client_id="app"))
    with pytest.raises(ik.ConfigError, match="refresh_skew must be"):
        TokenPolicy(refresh_skew="early")
