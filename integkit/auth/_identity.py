"""Whose credentials an auth object applies, as a one-way name (never the secret itself).

The HTTP cache sits above the auth layer, so it keys answers by this name: two credentials
never share a cached answer, and the same credential shares them across processes.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["auth_identity", "digest"]


def digest(*secrets: str) -> str:
    """A short one-way digest of ``secrets``."""
    return hashlib.blake2b("\0".join(secrets).encode(), digest_size=12).hexdigest()


def auth_identity(auth: Any) -> str:
    """``auth.identity`` when the scheme defines one; else a name unique to this object, so
    an unknown scheme's answers are never shared with anyone else's."""
    if auth is None:
        return ""
    identity = getattr(auth, "identity", None)
    if isinstance(identity, str) and identity:
        return identity
    return f"{type(auth).__name__}@{id(auth):x}"
