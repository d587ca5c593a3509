"""How an ``OAuth2`` is put together: a grant, the app at the token endpoint (``OAuthClient``),
the token policy (``TokenPolicy``) and the store slot, from those objects or from the flat
keywords ``OAuth2`` has always taken (``token_url=``, ``client_id=``, ``authorize_url=``...).

The grant is guessed from the keywords when not named: a service account key means JWT
bearer, an authorization URL a browser login, a device authorization URL a device login, a
refresh token the refresh grant, a client secret client credentials.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict
from urllib.parse import urlsplit

import httpx

from .._config import get_settings
from .._errors import ConfigError
from .._suggest import unknown_keyword
from .._validate import duration
from ._grants import (
    GRANTS,
    AuthorizationCode,
    ClientCredentials,
    DeviceCode,
    Grant,
    GrantName,
    JwtBearer,
    RefreshToken,
)
from ._oauth_client import DEFAULT_TIMEOUT, OAuthClient
from ._oauth_endpoint import TokenEndpoint
from ._oauth_errors import OAuthAdvice
from ._oauth_expiry import ExpiryWatch
from ._oauth_renew import Renewal
from ._oauth_token import TokenMaker, scope_list
from ._token_slot import TokenSlot
from ._tokens import TokenId, TokenStore

__all__ = ["OAuth2Options", "OAuthParts", "TokenPolicy", "env_name", "settle"]


DEFAULT_SKEW = 60.0
DEFAULT_WARN_BEFORE = "2d"


class OAuth2Options(TypedDict, total=False):
    """The flat keywords of ``OAuth2`` (see its docstring), each also a field of one part."""

    token_url: str | None
    client_id: str | None
    client_secret: str | None
    authorize_url: str | None
    device_authorization_url: str | None
    revoke_url: str | None
    service: str | None
    profile: str | None
    account: str | None
    redirect_uri: str | None
    refresh_token: str | None
    refresh_token_env: str | None
    service_account: Mapping[str, Any] | str | Path | None
    subject: str | None
    audience: str | None
    required_scopes: str | Sequence[str] | None
    refresh_skew: float | str
    refresh_token_lifetime: float | str | None
    warn_before: float | str
    authorize_params: Mapping[str, str] | None
    token_endpoint_auth_method: str | None
    timeout: float | str | httpx.Timeout | None
    verify: Any
    transport: httpx.BaseTransport | None


@dataclass(frozen=True, init=False)
class TokenPolicy:
    """When tokens are renewed and what every call needs.

    Args:
        refresh_skew: the leeway: refresh this long before the access token expires (at most
            a quarter of the token's lifetime, so very short-lived tokens still get used).
        refresh_token_lifetime: how long refresh tokens live when the server does not say
            (``"7d"`` for a Google app in testing mode).
        warn_before: warn when the refresh token has less than this left (default 2 days).
        required_scopes: scopes every call needs (checked before the call is sent).

    The durations take any duration (``60``, ``"1m"``, ``"PT1M"``).
    """

    refresh_skew: float
    refresh_token_lifetime: float | None
    warn_before: float
    required_scopes: frozenset[str]

    def __init__(self, *, refresh_skew: float | str = DEFAULT_SKEW,
                 refresh_token_lifetime: float | str | None = None,
                 warn_before: float | str = DEFAULT_WARN_BEFORE,
                 required_scopes: str | Sequence[str] | None = None) -> None:
        lifetime = None if refresh_token_lifetime is None else duration(
            refresh_token_lifetime, "refresh_token_lifetime", positive=True)
        values = {"refresh_skew": duration(refresh_skew, "refresh_skew"),
                  "refresh_token_lifetime": lifetime,
                  "warn_before": duration(warn_before, "warn_before"),
                  "required_scopes": frozenset(scope_list(required_scopes))}
        for name, value in values.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class OAuthParts:
    """What one ``OAuth2`` is made of."""

    client: OAuthClient
    grant: Grant
    browser: AuthorizationCode | None
    device: DeviceCode | None
    scopes: tuple[str, ...]
    policy: TokenPolicy
    refresh_env: str
    stats: Counter[str]
    endpoint: TokenEndpoint
    watch: ExpiryWatch
    slot: TokenSlot
    renewal: Renewal


_CLIENT_KEYWORDS = ("token_url", "client_id", "client_secret", "revoke_url",
                    "token_endpoint_auth_method", "timeout", "verify", "transport")
_POLICY_KEYWORDS = ("refresh_skew", "refresh_token_lifetime", "warn_before", "required_scopes")
_GRANT_KEYWORDS: dict[type[Grant], tuple[str, ...]] = {
    AuthorizationCode: ("authorize_url", "redirect_uri", "authorize_params"),
    DeviceCode: ("device_authorization_url",),
    RefreshToken: ("refresh_token", "refresh_token_env"),
    JwtBearer: ("service_account", "subject", "audience"),
}
_CLASSES: dict[str, type[Grant]] = {"authorization_code": AuthorizationCode,
                                    "device_code": DeviceCode,
                                    "client_credentials": ClientCredentials,
                                    "refresh_token": RefreshToken, "jwt_bearer": JwtBearer}


def env_name(service: str) -> str:
    """``<SERVICE>_REFRESH_TOKEN``: where a run may find a refresh token for ``service``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", service).strip("_").upper() + "_REFRESH_TOKEN"


def _check_keywords(options: Mapping[str, Any], grant: GrantName | Grant | None,
                    client: OAuthClient | None, policy: TokenPolicy | None) -> None:
    known = OAuth2Options.__optional_keys__
    for name in options:
        if name not in known:
            raise unknown_keyword("ik.auth.OAuth2()", name,
                                  [*known, "grant", "client", "scopes", "store", "policy"])
    given = {name for name, value in options.items() if value is not None}
    owners: list[tuple[str, Sequence[str]]] = []
    if client is not None:
        owners.append(("client=OAuthClient(...)", _CLIENT_KEYWORDS))
    if policy is not None:
        owners.append(("policy=TokenPolicy(...)", _POLICY_KEYWORDS))
    if isinstance(grant, Grant):
        owners.append((f"grant={type(grant).__name__}(...)", _GRANT_KEYWORDS.get(type(grant), ())))
    for where, names in owners:
        twice = sorted(given & set(names))
        if twice:
            raise ConfigError(f"OAuth2 got {', '.join(twice)} both as keywords and in {where}; "
                              "pass each setting once")


def _guess(options: OAuth2Options, client: OAuthClient, jwt: JwtBearer | None) -> GrantName:
    if jwt is not None:
        return "jwt_bearer"
    if options.get("authorize_url"):
        return "authorization_code"
    if options.get("device_authorization_url"):
        return "device_code"
    if options.get("refresh_token"):
        return "refresh_token"
    if client.client_secret:
        return "client_credentials"
    raise ConfigError(
        "OAuth2 cannot tell which grant to use: pass grant=, or authorize_url= (browser "
        "login), device_authorization_url= (device login), client_secret= (client "
        "credentials) or service_account= (JWT bearer)"
    )


def _client(options: OAuth2Options, jwt: JwtBearer | None) -> OAuthClient:
    token_url = options.get("token_url") or (jwt.token_uri if jwt is not None else None)
    return OAuthClient(
        token_url or "", client_id=options.get("client_id"),
        client_secret=options.get("client_secret"), revoke_url=options.get("revoke_url"),
        auth_method=options.get("token_endpoint_auth_method"),
        timeout=options.get("timeout", DEFAULT_TIMEOUT), verify=options.get("verify", True),
        transport=options.get("transport"))


@dataclass(frozen=True)
class _Grants:
    """The grant in use, the logins a person may start, and the refresh token grant that
    renews them all."""

    chosen: Grant
    browser: AuthorizationCode | None
    device: DeviceCode | None
    renew: RefreshToken


def _grants(grant: GrantName | Grant | None, name: str, client: OAuthClient,
            jwt: JwtBearer | None, options: OAuth2Options) -> _Grants:
    authorize_url = options.get("authorize_url")
    device_url = options.get("device_authorization_url")
    url = {"authorization_code": ("authorize_url", authorize_url),
           "device_code": ("device_authorization_url", device_url)}.get(name)
    missing = [url[0]] if url and not url[1] and not isinstance(grant, Grant) else []
    missing += _CLASSES[name].needs(client)
    if name == "jwt_bearer" and jwt is None:
        missing.append("service_account")
    if missing:
        raise ConfigError(f"OAuth2 grant {name!r} needs {', '.join(missing)}=")
    browser = grant if isinstance(grant, AuthorizationCode) else None
    if browser is None and authorize_url:
        browser = AuthorizationCode(authorize_url, redirect_uri=options.get("redirect_uri"),
                                    params=dict(options.get("authorize_params") or {}))
    device = grant if isinstance(grant, DeviceCode) else None
    if device is None and device_url:
        device = DeviceCode(device_url)
    renew = grant if isinstance(grant, RefreshToken) else RefreshToken(
        options.get("refresh_token"), env=options.get("refresh_token_env"))
    chosen = {"authorization_code": browser, "device_code": device, "refresh_token": renew,
              "client_credentials": ClientCredentials(), "jwt_bearer": jwt}[name]
    assert chosen is not None  # the checks above saw to it
    return _Grants(chosen, browser, device, renew)


def _token_id(options: OAuth2Options, client: OAuthClient, jwt: JwtBearer | None) -> TokenId:
    """Whose tokens, without the owner (see ``settle``)."""
    service = options.get("service")
    if service is None:
        service = urlsplit(client.token_url).hostname or "oauth"
    profile = options.get("profile")
    if profile is None:
        profile = get_settings().profile
    account = options.get("account")
    if account is None:
        account = (jwt.account() if jwt is not None else None) or client.client_id or "default"
    return TokenId(service, profile, account)


def settle(grant: GrantName | Grant | None, client: OAuthClient | None,
           scopes: str | Sequence[str] | None, store: TokenStore | Literal[False] | None,
           policy: TokenPolicy | None, options: OAuth2Options) -> OAuthParts:
    """The parts of an ``OAuth2`` from its arguments (``OAuth2.__init__``'s)."""
    _check_keywords(options, grant, client, policy)
    jwt = grant if isinstance(grant, JwtBearer) else None
    key = options.get("service_account")
    if jwt is None and key is not None:
        jwt = JwtBearer(key, subject=options.get("subject"), audience=options.get("audience"))
    client = client or _client(options, jwt)
    name = grant.name if isinstance(grant, Grant) else (grant or _guess(options, client, jwt))
    if name not in GRANTS:
        raise ConfigError(f"unknown grant {name!r}; use one of {', '.join(GRANTS)}")
    grants = _grants(grant, name, client, jwt, options)
    chosen = grants.chosen
    token_id = _token_id(options, client, jwt)
    refresh_env = grants.renew.env or env_name(token_id.service)
    seed, seed_source = grants.renew.seed(refresh_env)
    # An explicit credential's tokens get a slot of their own (see ``TokenId.owner``).
    owner = chosen.owner(client) or (client.slot_name("refresh", seed) if seed else "")
    if policy is None:
        policy = TokenPolicy(
            refresh_skew=options.get("refresh_skew", DEFAULT_SKEW),
            refresh_token_lifetime=options.get("refresh_token_lifetime"),
            warn_before=options.get("warn_before", DEFAULT_WARN_BEFORE),
            required_scopes=options.get("required_scopes"))
    names = tuple(scope_list(scopes))
    stats: Counter[str] = Counter()
    advice = OAuthAdvice(token_id.service, name, chosen.person, names, refresh_env)
    endpoint = TokenEndpoint(client, advice)
    maker = TokenMaker(client, name, names, policy.refresh_token_lifetime, token_id.service)
    watch = ExpiryWatch(policy.warn_before)
    slot = TokenSlot(TokenStore.memory() if store is False else store,
                     token_id._replace(owner=owner), issuer=client.token_url,
                     skew=policy.refresh_skew, stats=stats,
                     adopted=lambda token: watch.warn(slot.token_id, token))
    return OAuthParts(
        client=client, grant=chosen, browser=grants.browser, device=grants.device,
        scopes=names, policy=policy, refresh_env=refresh_env, stats=stats, endpoint=endpoint,
        watch=watch, slot=slot, renewal=Renewal(chosen, endpoint, maker, slot, seed=seed,
                                                seed_source=seed_source, stats=stats))
