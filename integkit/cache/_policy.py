"""What the cache does with a request: pure decisions over (request, settings, entry, now).

Nothing here does I/O or reads a clock; :class:`~integkit.cache.CacheTransport` only carries the
decisions out. How long an answer stays fresh, in order:

1. the first TTL pattern (a glob on the endpoint name or the URL path) that matches;
2. ``default_ttl``, when above 0;
3. the server's ``Cache-Control`` (``no-store``, ``max-age``, minus ``Age``) or ``Expires``,
   when ``respect_cache_control``.

An answer with a zero lifetime is still kept when it has a validator (ETag / Last-Modified) and
``revalidate`` is on, so the next call is a cheap conditional request. Responses with a status of
400 or more are never stored: a 404 may be a just-created object not visible yet, and an error
served from a cache is a confusing thing to debug.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

import httpx

from .._errors import ConfigError
from .._spec import Key, Spec
from .._spec_schema import described, schema_of
from .._validate import duration, flag, texts

if TYPE_CHECKING:
    from ._storage import CachedEntry

__all__ = [
    "CACHE",
    "NEVER",
    "Action",
    "CacheDecision",
    "CacheSettings",
    "RequestInfo",
    "cacheable",
    "decide",
    "expiry",
    "parse_ttl",
    "storable_status",
]

NEVER: Literal["never"] = "never"
TTL: TypeAlias = float | Literal["never"]
STORABLE_STATUSES = frozenset({200, 203, 300, 301, 308})
# A cache ``strategy:`` as gateway and service-worker configs name it -> the settings it means.
STALE_WINDOW = 86400.0  # how long stale-if-error serves an old answer when not told
STRATEGIES: dict[str, dict[str, Any]] = {
    "stale-if-error": {},  # cache as usual; on a failure, answer from an expired entry
    "network-only": {"enabled": False},
    "cache-only": {"offline": True},
}


def parse_ttl(value: Any, *, where: str = "ttl") -> TTL:
    """Seconds, in the one duration grammar (``300``, ``"5m"``, ``"1h"``, ``"PT1H"``,
    ``"1w"``...); or ``"never"`` (never stored)."""
    if isinstance(value, str) and value.strip().lower() == NEVER:
        return NEVER
    return duration(value, where)


def _ttl_schema() -> dict[str, Any]:
    return {"title": "ttl", "anyOf": [schema_of(duration), {"const": NEVER}]}


@described(_ttl_schema)
def _seconds(value: Any, where: str) -> float:
    """A TTL where "never" means 0 (nothing kept fresh)."""
    seconds = parse_ttl(value, where=where)
    return 0.0 if seconds == NEVER else seconds


@described(lambda: {"anyOf": [
    {"type": "object", "additionalProperties": _ttl_schema()},
    {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                "prefixItems": [{"type": "string"}, _ttl_schema()]}}]})
def _patterns(value: Any, where: str) -> tuple[tuple[str, TTL], ...]:
    """TTL patterns: ``{"*.retrieve": "1h", ...}`` or pairs, in order (the first match wins)."""
    if isinstance(value, Mapping):
        value = value.items()
    elif isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{where} must map endpoint or path patterns to TTLs "
                          f"({{'*.retrieve': '1h'}}), not {value!r}")
    pairs = []
    for pair in value:
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ConfigError(f"{where} must map patterns to TTLs, not {pair!r}")
        pairs.append((pair[0], parse_ttl(pair[1], where=f"{where}[{pair[0]!r}]")))
    return tuple(pairs)


@described(lambda: {"anyOf": [schema_of(_patterns), _ttl_schema()]},
           sets=("ttl", "default_ttl"))
def _ttl(value: Any, where: str) -> dict[str, Any]:
    """``ttl:`` holds patterns; one duration alone is the default TTL (``ttl: 5m``)."""
    if isinstance(value, Mapping | list | tuple):
        return {"ttl": value}
    return {"default_ttl": value}


@described({"type": "array", "items": {"type": "string"}})
def _methods(value: Any, where: str) -> frozenset[str]:
    return frozenset(m.upper() for m in texts(value, where))


@described(lambda: {"enum": list(STRATEGIES)})
def _strategy(value: Any, where: str) -> str:
    if value not in STRATEGIES:
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, STRATEGIES))}, not "
                          f"{value!r}; for a time to keep answers, set default_ttl")
    return str(value)


#: The keys of the HTTP cache (``cache:`` in a definition, ``cache=`` on ``ik.connect``).
CACHE = Spec("cache", [
    Key("enabled", flag),
    Key("default_ttl", _seconds, aliases=("cache_ttl", "max_age")),
    Key("ttl", _patterns, expand=_ttl),
    Key("stale_if_error", _seconds),
    Key("strategy", _strategy),
    Key("offline", flag),
    Key("revalidate", flag),
    Key("methods", _methods, aliases=("request_method", "request_methods")),
    Key("respect_cache_control", flag, aliases=("cache_control",)),
    Key("ignored_params", texts),
    Key("secret_params", texts),
    Key("vary_headers", texts),
])


@dataclass(frozen=True)
class CacheSettings:
    """How one connection caches; ``from_config`` reads a definition's ``cache:`` section.

    Times take any duration (``300``, ``"5m"``, ``"1w"``, ``"PT1H"``); a TTL may also be
    ``"never"``. ``strategy: stale-if-error`` keeps answering from an expired entry when the
    service fails (for ``stale_if_error``, a day unless set); ``network-only`` turns the
    cache off, ``cache-only`` answers only from it.

    >>> s = CacheSettings.from_config({"default_ttl": "5m", "ttl": {"*.retrieve": "1h",
    ...                                "events.*": "never"}, "stale_if_error": "1d"})
    >>> s.ttl_for("charges.retrieve", "/v1/charges/ch_1"), s.ttl_for("events.list", "/v1/events")
    (3600.0, 'never')
    """

    enabled: bool = True
    default_ttl: float = 0.0
    ttl: tuple[tuple[str, TTL], ...] = ()
    stale_if_error: float = 0.0
    offline: bool = False
    revalidate: bool = True
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    respect_cache_control: bool = True
    ignored_params: tuple[str, ...] = ()
    secret_params: tuple[str, ...] = ()
    vary_headers: tuple[str, ...] = ()
    spec: ClassVar[Spec] = CACHE  # the keys from_config reads

    def __post_init__(self) -> None:
        CACHE.check_fields(self)

    @classmethod
    def from_config(cls, *layers: Mapping[str, Any] | None, **overrides: Any) -> CacheSettings:
        """Settings from ``cache:`` mappings, later ones winning (a definition's, then the
        caller's ``cache=``), then ``overrides`` (canonical keyword arguments)."""
        values = {**CACHE.read(*layers), **overrides}
        strategy = values.pop("strategy", None)
        if strategy is not None:
            values = {**STRATEGIES[strategy], **values}
            if strategy == "stale-if-error" and not values.get("stale_if_error"):
                values["stale_if_error"] = STALE_WINDOW
        return cls(**values)

    def with_(self, **changes: Any) -> CacheSettings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def ttl_for(self, endpoint: str, path: str) -> TTL | None:
        """The first TTL pattern matching the endpoint name or the URL path, or None."""
        for pattern, value in self.ttl:
            if fnmatchcase(endpoint, pattern) or fnmatchcase(path, pattern):
                return value
        return None


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What a decision needs to know about a request."""

    method: str
    endpoint: str
    path: str
    offline: bool = False  # the process-wide switch, read when the call is made
    no_cache: bool = False  # the caller asked for a validated answer
    no_store: bool = False  # the caller asked the cache to stay out of it
    conditional: bool = False  # the caller sends its own validators or a Range

    @classmethod
    def from_request(
        cls, request: httpx.Request, *, endpoint: str | None = None, offline: bool = False
    ) -> RequestInfo:
        directives = _directives(request.headers)
        pragma = request.headers.get("pragma", "").lower()
        return cls(
            method=request.method.upper(),
            endpoint=endpoint if endpoint is not None else request.url.path,
            path=request.url.path,
            offline=offline,
            no_cache="no-cache" in directives or directives.get("max-age") == "0"
            or "no-cache" in pragma,
            no_store="no-store" in directives,
            conditional=any(
                h in request.headers
                for h in ("if-none-match", "if-modified-since", "if-match", "range")
            ),
        )


class Action(enum.Enum):
    """What the transport does next."""

    BYPASS = "bypass"  # not the cache's business: send it, store nothing
    FRESH = "fresh"  # answer from the entry
    REVALIDATE = "revalidate"  # send with If-None-Match / If-Modified-Since
    FETCH = "fetch"  # send; store the answer if it may be stored
    OFFLINE_HIT = "offline-hit"  # offline: answer from the entry, however old
    OFFLINE_MISS = "offline-miss"  # offline and nothing stored: raise


@dataclass(frozen=True, slots=True)
class CacheDecision:
    """An action, the entry it concerns, the validators to send, and whether the entry may
    answer if the call fails (stale-if-error)."""

    action: Action
    entry: CachedEntry | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())
    stale_fallback: bool = False


def cacheable(info: RequestInfo, settings: CacheSettings) -> bool:
    """Whether the cache deals with this request at all (else it passes straight through)."""
    return (
        settings.enabled and info.method in settings.methods and not info.no_store
        and not info.conditional and settings.ttl_for(info.endpoint, info.path) != NEVER
    )


def decide(
    info: RequestInfo, settings: CacheSettings, entry: CachedEntry | None, now: float
) -> CacheDecision:
    """The cache's move for one request.

    >>> s = CacheSettings(default_ttl=60)
    >>> decide(RequestInfo("GET", "items.list", "/items"), s, None, now=0).action
    <Action.FETCH: 'fetch'>
    """
    offline = settings.offline or info.offline
    if not cacheable(info, settings):
        return CacheDecision(Action.OFFLINE_MISS if offline else Action.BYPASS)
    if offline:
        if entry is None:
            return CacheDecision(Action.OFFLINE_MISS)
        return CacheDecision(Action.OFFLINE_HIT, entry)
    if entry is None:
        return CacheDecision(Action.FETCH)
    if now < entry.expires_at and not info.no_cache:
        return CacheDecision(Action.FRESH, entry)
    stale_ok = now < entry.expires_at + settings.stale_if_error
    validators = []
    if entry.etag:
        validators.append(("If-None-Match", entry.etag))
    if entry.last_modified:
        validators.append(("If-Modified-Since", entry.last_modified))
    if settings.revalidate and validators:
        return CacheDecision(Action.REVALIDATE, entry, tuple(validators), stale_ok)
    return CacheDecision(Action.FETCH, entry, stale_fallback=stale_ok)


def storable_status(status: int) -> bool:
    """Whether an answer with this status may be stored (never 4xx/5xx, never partial)."""
    return status in STORABLE_STATUSES


def _directives(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in headers.get_list("cache-control"):
        for part in value.split(","):
            name, _, arg = part.strip().partition("=")
            if name:
                out[name.lower()] = arg.strip().strip('"')
    return out


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _server_ttl(headers: httpx.Headers, now: float) -> float | None:
    """The lifetime the server gave (seconds, may be 0), None for "do not store", or -1 when
    it said nothing."""
    directives = _directives(headers)
    if "no-store" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    max_age = _int(directives.get("max-age"))
    if max_age is not None:
        return float(max(0, max_age - (_int(headers.get("age")) or 0)))
    expires = headers.get("expires")
    if expires is not None:
        try:
            when = parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError, IndexError):
            return 0.0  # an invalid Expires means "already expired" (RFC 9111 5.3)
        date = headers.get("date")
        try:
            base = parsedate_to_datetime(date).timestamp() if date else now
        except (TypeError, ValueError, IndexError):
            base = now
        return max(0.0, when - base)
    return -1.0


def expiry(
    settings: CacheSettings,
    info: RequestInfo,
    status: int,
    headers: httpx.Headers,
    now: float,
) -> float | None:
    """When an answer stops being fresh (absolute time), or None if it must not be stored."""
    if not (settings.enabled and storable_status(status)) or info.no_store:
        return None
    if "*" in headers.get("vary", ""):
        return None
    rule = settings.ttl_for(info.endpoint, info.path)
    ttl: float | None
    if isinstance(rule, str):  # "never"
        return None
    if rule is not None:
        ttl = rule
    elif settings.default_ttl > 0:
        ttl = settings.default_ttl
    elif settings.respect_cache_control:
        ttl = _server_ttl(headers, now)
    else:
        ttl = None
    if ttl is None or ttl < 0:
        return None
    if ttl == 0:
        has_validator = "etag" in headers or "last-modified" in headers
        if not (settings.revalidate and has_validator):
            return None
    return now + ttl
