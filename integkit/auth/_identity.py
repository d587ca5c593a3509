"""Whose credentials an auth object applies, as a one-way name (never the secret itself).

The HTTP cache and the Result cache sit above the auth layer, so they key answers by this
name; per-user rate limits count by it. Two credentials never share a cached answer, and the
same credential shares them across processes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["auth_identity", "digest", "grant_subject", "stable_identity"]


def digest(*secrets: str) -> str:
    """A short one-way digest of ``secrets``."""
    return hashlib.blake2b("\0".join(secrets).encode(), digest_size=12).hexdigest()


def stable_identity(auth: Any) -> str | None:
    """``auth.identity`` when the scheme defines one (the same in every process), else None."""
    identity = getattr(auth, "identity", None) if auth is not None else None
    return identity if isinstance(identity, str) and identity else None


def auth_identity(auth: Any) -> str:
    """``auth.identity`` when the scheme defines one; else a name unique to this object, so
    an unknown scheme's answers are never shared with anyone else's."""
    if auth is None:
        return ""
    return stable_identity(auth) or f"{type(auth).__name__}@{id(auth):x}"


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: only read to tell whose grant a response is."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def grant_subject(response: Mapping[str, Any]) -> str | None:
    """The user a token response says the grant belongs to, or None: OpenID's ``sub`` (in
    the response or its ``id_token``), a ``user_id``, an identity URL (``id``, as Salesforce
    names ``https://login.../id/<org>/<user>``), or an ``authed_user`` with its team."""
    for name in ("sub", "user_id"):
        value = response.get(name)
        if isinstance(value, str | int) and str(value):
            return f"{name}={value}"
    ident = response.get("id")
    if isinstance(ident, str) and ident.startswith(("https://", "http://")):
        return f"id={ident}"
    id_token = response.get("id_token")
    if isinstance(id_token, str):
        claims = _jwt_claims(id_token)
        if claims.get("sub"):
            return f"iss={claims.get('iss', '')} sub={claims['sub']}"
    user = response.get("authed_user")
    if isinstance(user, Mapping) and user.get("id"):
        team = response.get("team")
        team_id = team.get("id", "") if isinstance(team, Mapping) else ""
        return f"team={team_id} user={user['id']}"
    return None
