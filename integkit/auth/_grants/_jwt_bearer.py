"""The JWT bearer grant (RFC 7523) for (Google) service accounts: each token is bought with an
assertion signed by the account's private key (authlib's ``JWTBearerGrant`` on a joserfc key),
acting as ``subject`` when the account has domain-wide delegation."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..._errors import ConfigError
from ..._events import register_secret
from .._oauth_client import OAuthClient
from .._oauth_endpoint import TokenEndpoint
from ._base import Grant, GrantName

__all__ = ["JWT_BEARER_GRANT", "JwtBearer", "load_service_account"]

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def load_service_account(info: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A service-account key as a dict, from a dict, a JSON string or a file path."""
    if isinstance(info, Mapping):
        data = dict(info)
    elif isinstance(info, str) and info.lstrip().startswith("{"):
        data = json.loads(info)
    else:
        path = Path(info).expanduser()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the service account key {path}: {exc}") from None
    missing = [k for k in ("private_key", "client_email") if not data.get(k)]
    if missing:
        raise ConfigError(f"the service account key lacks {', '.join(missing)}; download a JSON "
                          "key for the service account (IAM > Service accounts > Keys)")
    register_secret(data["private_key"])
    return data


@dataclass(frozen=True, init=False)
class JwtBearer(Grant):
    """Tokens for ``service_account`` (its JSON key: a dict, the JSON text or the file's
    path), acting as ``subject`` (a user, by delegation) if given; the assertion's ``aud``
    is ``audience`` (default: the token endpoint).

    >>> grant = ik.auth.JwtBearer("~/keys/etl.json", subject="boss@acme.com")  # doctest: +SKIP
    """

    name: ClassVar[GrantName] = "jwt_bearer"
    label: ClassVar[str] = "JWT bearer"

    service_account: dict[str, Any] = field(repr=False)
    subject: str | None
    audience: str | None

    def __init__(self, service_account: Mapping[str, Any] | str | Path, *,
                 subject: str | None = None, audience: str | None = None) -> None:
        object.__setattr__(self, "service_account", load_service_account(service_account))
        object.__setattr__(self, "subject", subject)
        object.__setattr__(self, "audience", audience)

    @property
    def token_uri(self) -> str | None:
        """The token endpoint the key names (Google's keys do)."""
        uri = self.service_account.get("token_uri")
        return str(uri) if uri else None

    def owner(self, client: OAuthClient) -> str:
        return client.slot_name("key", self.service_account["private_key"])

    def account(self) -> str:
        """The store account its tokens default to: the account's email (/ the subject)."""
        email = str(self.service_account["client_email"])
        return f"{email}/{self.subject}" if self.subject else email

    def assertion(self, token_url: str, scopes: Sequence[str]) -> str:
        """A signed assertion (RS256, valid an hour) for ``token_url`` and ``scopes``."""
        from authlib.oauth2.rfc7523 import JWTBearerGrant  # heavy: only when used
        from joserfc.jwk import RSAKey

        info = self.service_account
        key = RSAKey.import_key(info["private_key"])
        header = {"alg": "RS256", "typ": "JWT"}
        if info.get("private_key_id"):
            header["kid"] = info["private_key_id"]
        now = int(time.time())
        claims = {"scope": " ".join(scopes)} if scopes else {}
        signed = JWTBearerGrant.sign(
            key, issuer=info["client_email"], audience=self.audience or token_url,
            subject=self.subject, issued_at=now, expires_at=now + 3600, claims=claims,
            header=header,
        )
        text = signed.decode() if isinstance(signed, bytes) else str(signed)
        register_secret(text)
        return text

    def fetch(self, endpoint: TokenEndpoint, scopes: Sequence[str]) -> dict[str, Any] | None:
        params: dict[str, Any] = {"assertion": self.assertion(endpoint.url, scopes)}
        if scopes:
            params["scope"] = " ".join(scopes)
        # The assertion authenticates; send client credentials only when there are some.
        auth = None if endpoint.client.client_secret else httpx.Auth()
        return endpoint.fetch("the JWT assertion", grant_type=JWT_BEARER_GRANT, auth=auth,
                              **params)
