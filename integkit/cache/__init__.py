"""The HTTP cache: a transport layer over requests-cache storages, plus its pure parts.

``CacheTransport`` answers from storage (SQLite or Redis, via the state backend), revalidates
with ETag / Last-Modified, serves stale answers when the service fails, and serves only from
storage in offline mode. Keys never hold a secret; entries never hold a credential.
"""

from .._http import register_cache_layer as _register_cache_layer
from ._keys import cache_key
from ._policy import CacheDecision, CacheSettings, decide
from ._storage import CachedEntry, cache_storage, clear, invalidate
from ._transport import CacheTransport

_register_cache_layer(CacheTransport)

__all__ = [
    "CacheDecision",
    "CacheSettings",
    "CacheTransport",
    "CachedEntry",
    "cache_key",
    "cache_storage",
    "clear",
    "decide",
    "invalidate",
]
