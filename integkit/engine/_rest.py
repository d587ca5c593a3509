"""The connector engine: operations -> requests -> pages -> records, for any REST API.

A :class:`Connection` joins a definition, credentials and an httpx client whose transport is
the call pipeline. Connectors that need code subclass it (see ``services/``); ``ik.rest()``
builds one for an API that has no shipped definition.
"""

from __future__ import annotations

import contextvars
import inspect
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

import httpx

from .. import _display
from .._config import get_settings
from .._errors import ConfigError, StateError
from .._events import redact
from .._http import (
    PRIORITY_KEY,
    REPLAYABLE_KEY,
    TRACE_KEY,
    CallTrace,
    CircuitBreaker,
    Origins,
    PipelineOptions,
    Quota,
    QuotaConfig,
    RateLimiter,
    RateTier,
    RetryPolicy,
    build_transport,
    classify,
)
from .._jsonpath import find
from .._pagination import (
    DEFAULT_MAX_EMPTY_PAGES,
    PageRequest,
    check_max_empty_pages,
    paginator_from_config,
)
from .._params import ParamType, convert, convert_all
from .._results import Result, flatten_schema, merge_schemas
from .._state import StateBackend, fallback_for, open_state
from .._suggest import slip_of
from .._validate import check_params, duration, whole
from .._validate import parallel as check_parallel
from .._validate import timeout as check_timeout
from .._version import __version__
from ..auth import auth_identity, stable_identity
from ..cache import CacheSettings, cache_key, cache_storage
from ..ledger import hook_in, register_pricing
from ._definition import TIMEOUT, ConnectorDef, Resource
from ._encoding import bracket_pairs
from ._feedback import connection_feedback
from ._listing import (
    Listing,
    ListingPlan,
    cache_age,
    partitioning,
    read_listing,
    strategies_for,
)
from ._listing import listing_deadline as _listing_deadline
from ._operations import fill_path as fill_segments
from ._operations import operation_call, placeholders, with_operations
from ._quota_status import QuotaStatus
from ._responses import (
    decode_json,
    error_for_response,
    error_for_transport,
    in_doubt,
    warn_about,
)

__all__ = ["Connection", "Listing", "limits_status"]

USER_AGENT = f"integkit/{__version__} (+https://pypi.org/project/integkit)"
DEFAULT_DEADLINE = 300.0  # seconds one call may take in all, retries and waits included
_PRIORITIES = ("interactive", "bulk")
# Options of a connection (ik.rest / ik.connect) that no API takes as a query parameter: given
# to list() or retrieve() they are a mistake to name, never a parameter to send. Names an
# API may well use (state, user, name, auth, timeout, api_version...) are not in this list.
_CONNECTION_OPTIONS = frozenset({
    "base_url", "backup_base_urls", "endpoint_url", "allowed_origins", "headers", "rate_limit",
    "quotas", "breaker", "coalesce", "key_prefix", "timestamps", "idempotency_header",
    "allow_env", "allow_modules", "path_params",
})
# Options of a listing: retrieve() reads one object, so they do not apply to it.
_LISTING_OPTIONS = frozenset({
    "records_path", "primary_key", "checkpoint", "max_records", "paginator", "prefetch",
    "parallel", "max_empty_pages", "deadline",
})


def _split(values: dict[str, Any], declared: dict[str, ParamType]) -> dict[str, Any]:
    """``values`` with each one whose declaration has ``parts`` and that holds its separator
    split into those parts (a part given besides it in ``values`` is kept)."""
    out = {n: v for n, v in values.items() if v is not None}
    for name, value in values.items():
        kind = declared.get(name)
        if kind is None or not kind.parts or not isinstance(value, str) \
                or kind.separator not in value:
            continue
        pieces = value.split(kind.separator, len(kind.parts) - 1)
        if len(pieces) == len(kind.parts):
            out.update({part: piece for part, piece in zip(kind.parts, pieces, strict=True)
                        if part == name or part not in out})
    return out


def _refuse_options(params: dict[str, Any], *, where: str, listing: bool,
                    service: str) -> None:
    """ConfigError when ``params`` holds one of integkit's own options, which must never
    travel as a query parameter."""
    own = sorted(set(params) & (_CONNECTION_OPTIONS if listing
                                else _CONNECTION_OPTIONS | _LISTING_OPTIONS))
    if not own:
        return
    name = own[0]
    if name in _CONNECTION_OPTIONS:
        fix = (f"it is an option of the connection: pass it to ik.rest(...) or "
               f"ik.connect({service!r}, ...)")
    else:
        fix = "it is an option of a listing: pass it to list(...)"
    raise ConfigError(f"{where}: {name}= is integkit's, not a query parameter of the API; "
                      f"{fix}. Nothing was sent.")
# Pipeline options a Connection derives itself: not keywords of its constructor.
_DERIVED_OPTIONS = frozenset({"base_urls", "request_id_header", "limiter", "quota", "origins",
                              "identity", "cache_storage", "feedback"})


# Request extensions of the call being sent (an operation's REPLAYABLE_KEY): a context
# variable, so that every send() (connectors' own too) builds its request with them.
_call_extensions: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "integkit_call_extensions", default=None)


def limits_status(service: str, limiter: RateLimiter | None, quota: Quota | None, *,
                  clear_pause: bool = False) -> QuotaStatus:
    """What :meth:`Connection.quota_status` reports, from a connection's limiter and quota
    alone (they read the shared state), so it outlives the connection."""
    cleared = limiter.clear_pauses() if limiter and clear_pause else 0
    limits = limiter.status() if limiter else []
    now = time.time()
    paused = [t for t in limits if t["paused_until"] and t["paused_until"] > now]
    return QuotaStatus({
        "service": service,
        "budgets": quota.status() if quota else {},
        "limits": limits,
        "throttled": bool(paused),
        "resumes_in": max(t["paused_until"] for t in paused) - now if paused else 0.0,
        "pauses": [{"tier": t["tier"], "key": t["key"],
                    "seconds_left": t["paused_until"] - now,
                    "server_asked_seconds": (t["server_asked_until"] - now
                                             if t["server_asked_until"] else None)}
                   for t in paused],
        "pauses_cleared": cleared,
        "seconds_waited": limiter.waited if limiter else 0.0,
    })


class Connection:
    """A configured client for one service (or one REST API).

    >>> stripe = ik.connect("stripe", api_key="sk_test_...")     # doctest: +SKIP
    >>> stripe.list("charges", created={"gte": "2024-01-01"}).to_frame()
    """

    #: Whether the class builds its credentials itself from ``ik.connect``'s arguments
    #: (else ``ik.connect`` builds them from the definition's ``auth:`` section).
    own_auth: ClassVar[bool] = False

    def __init__(
        self,
        definition: ConnectorDef,
        *,
        auth: httpx.Auth | None = None,
        base_url: str | None = None,
        backup_base_urls: list[str] | None = None,
        api_version: str | None = None,
        headers: dict[str, str] | None = None,
        retry: dict[str, Any] | RetryPolicy | None = None,
        breaker: dict[str, Any] | CircuitBreaker | None = None,
        timeout: float | httpx.Timeout | None = None,
        coalesce: bool = True,
        verify: Any = True,
        cert: Any = None,
        network: Any = None,
        rate_limit: Any = None,
        quotas: dict[str, Any] | None = None,
        state: str | None = None,
        account: str = "default",
        path_params: dict[str, Any] | None = None,
        key_prefix: str | None = None,
        user: str | None = None,
        priority: str = "interactive",
        cache: bool | str | float | dict[str, Any] | CacheSettings | None = None,
        allowed_origins: Sequence[str] = (),
        max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES,
        deadline: float | str | None = None,
        **pipeline: Any,
    ) -> None:
        # Its class becomes the one whose methods are the definition's operations (made once
        # per definition: see integkit/engine/_operations.py).
        self.__class__ = with_operations(type(self), definition, reserved=_ENGINE_NAMES)
        timeout = check_timeout(timeout)
        #: When this connection was made or last sent a request (time.monotonic()): what
        #: ``ik.quota(service)`` and the dashboard go by to pick the connection in use.
        self.last_used = time.monotonic()
        if priority not in _PRIORITIES:
            raise ConfigError(f"priority must be one of {_PRIORITIES}, not {priority!r}")
        steps = TIMEOUT.read(definition.timeout)  # the definition's timeout: section
        self.deadline = steps.get("total", DEFAULT_DEADLINE) if deadline is None else \
            duration(deadline, "deadline", positive=True)
        self.definition = definition
        paginator_from_config(definition.paginator)  # a wrong option fails here, not mid-list
        for spec in definition.resources.values():  # so does a partitioning nobody registered
            if spec.partition:
                partitioning(spec.partition, where=f"{spec.partition_at or definition.source}: "
                                                   f"resource {spec.name!r} partition")
        self.max_empty_pages = check_max_empty_pages(max_empty_pages)
        self.service = definition.service
        self.api_version = self._api_version(api_version)
        template = definition.api_version.get("path")
        #: The path every relative path goes under (``/admin/api/2024-10``), or "".
        self.version_prefix = "/" + template.format(version=self.api_version).strip("/") \
            if template else ""
        self.base_url = self.versioned(base_url or definition.base_url)
        #: Values of path parameters a call gives none of (``repo=`` for GitHub).
        self.path_params = dict(path_params or {})
        self._auth = auth
        backups = [self.versioned(u)
                   for u in backup_base_urls or definition.backup_base_urls]
        if isinstance(allowed_origins, str):
            allowed_origins = [allowed_origins]
        # Where requests may go: the pipeline refuses every other origin (see Origins).
        self.origins = Origins([self.base_url, *backups, *allowed_origins])
        idem_header = definition.idempotency.get("header")
        feedback = connection_feedback(definition.feedback)
        if isinstance(retry, RetryPolicy):
            policy = retry if retry.feedback is not None else replace(retry, feedback=feedback)
        else:
            policy = RetryPolicy.from_config(definition.retry, retry,
                                             idempotency_header=idem_header, feedback=feedback)
        if not isinstance(breaker, CircuitBreaker):
            breaker = CircuitBreaker.from_config(definition.breaker, breaker)
        self.account = account
        self.priority = priority
        self._state_url = state
        hook_in()  # its calls become ledger rows: ik.usage(), ik.costs()
        if definition.pricing:  # priced as its definition says, a user's file too
            register_pricing(self.service, definition.pricing, replace=False)
        context = getattr(auth, "ssl_context", None)  # MutualTLS: the client certificate
        if callable(context) and verify is True:
            verify = context()
        self.limiter, self.quota = self._limits(rate_limit, quotas, state, account, user,
                                                key_prefix, policy.max_retry_after)
        self._cache_config = self._cache_settings(cache)
        options = PipelineOptions(
            base_urls=[self.base_url, *backups], retry=policy, breaker=breaker,
            coalesce=coalesce, request_id_header=definition.request_id_header,
            verify=verify, cert=cert, limiter=self.limiter, quota=self.quota,
            priority=priority, cache=self._cache_config, auth=auth,
            origins=self.origins, identity=self.caller_identity,
            cache_storage=lambda: cache_storage(state), deadline=self.deadline,
            feedback=feedback, responses=definition.responses, **pipeline,
        )
        self.request_id_header = definition.request_id_header
        default_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        default_headers.update(definition.headers)
        version = definition.api_version
        if version.get("header"):
            default_headers[version["header"]] = str(self.api_version)
        default_headers.update(headers or {})
        if timeout is None:
            read = steps.get("read", 60.0)
            timeout = httpx.Timeout(read, connect=steps.get("connect", 10.0),
                                    write=steps.get("write", read), pool=steps.get("pool", read))
        self.client = httpx.Client(
            base_url=self.base_url, headers=default_headers, timeout=timeout,
            params={version["query"]: str(self.api_version)} if version.get("query") else None,
            transport=build_transport(options, network=network), follow_redirects=True,
            event_hooks={"response": [self.origins.check_redirect]},
        )

    def _api_version(self, override: str | None) -> str | None:
        """The API version calls pin (``api_version=``, else the definition's), checked
        against the definition's ``pattern``; None when the definition has no version."""
        spec = self.definition.api_version
        if not spec:
            return None if override is None else str(override)
        version = str(spec["value"] if override is None else override)
        pattern = spec.get("pattern")
        if pattern and not re.fullmatch(pattern, version):
            raise ConfigError(f"{self.service}: api_version {version!r} does not match the "
                              f"definition's pattern {pattern!r} (e.g. {spec['value']!r})")
        return version

    def versioned(self, url: str) -> str:
        """``url`` with the API version's path prefix (``api_version: {path: ...}``)
        appended, unless its path already holds one (a base URL given with its version)."""
        url = url.rstrip("/")
        template = self.definition.api_version.get("path")
        if not template:
            return url
        head = template.split("{")[0].rstrip("/")
        if head and head in httpx.URL(url).path:
            return url
        return url + self.version_prefix

    def _host_rooted(self, url: str) -> bool:
        """Whether a relative ``url`` names a path from the host's root, not under the
        version prefix: it starts with the prefix's first segment (``/services/...`` for
        Salesforce, whose next-page URLs hold the version; ``/admin/...`` for Shopify)."""
        template = self.definition.api_version.get("path")
        if not template or not url.startswith("/"):
            return False
        first = "/" + template.strip("/").split("/")[0]
        return url == first or url.startswith(first + "/")

    @classmethod
    def keywords(cls) -> frozenset[str]:
        """The keywords this class's constructor takes: its own and its bases', and the call
        pipeline's options that ``**pipeline`` passes on (``max_connections``, ``sleep``)."""
        names = {f.name for f in fields(PipelineOptions)} - _DERIVED_OPTIONS
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or not issubclass(klass, Connection):
                continue
            names.update(p.name for p in inspect.signature(init).parameters.values()
                         if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                         and p.name not in ("self", "definition"))
        return frozenset(names)

    def _limits(
        self, rate_limit: Any, quotas: dict[str, Any] | None, state_url: str | None,
        account: str, user: str | None, key_prefix: str | None, max_pause: float,
    ) -> tuple[RateLimiter | None, Quota | None]:
        """The definition's tiers and budgets, unless ``rate_limit=False`` / overridden. A
        server's pause is held for at most ``max_pause`` seconds (the retry policy's
        ``maxRetryAfter``: no longer than one call would wait for a Retry-After)."""
        if rate_limit is False:
            specs: list[Any] = []
        elif rate_limit is None:
            specs = list(self.definition.rate_limits)
        elif isinstance(rate_limit, dict):
            specs = [rate_limit]
        elif isinstance(rate_limit, list | tuple):
            specs = list(rate_limit)
        else:
            raise ConfigError(f"rate_limit must be a tier like {{'limit': 25, 'per': '1s'}}, a "
                              f"list of them, or False, not {rate_limit!r}")
        tiers = [t for t in map(RateTier.from_config, specs) if t.applies_to_key(key_prefix)]
        quota_config = QuotaConfig.from_config(
            self.definition.quotas if quotas is None else quotas
        )
        if not tiers and quota_config.empty:
            return None, None
        if user is None and any(tier.scope == "user" for tier in tiers):
            user = stable_identity(self._auth)  # per-user tiers count by whose credentials

        def build(state: StateBackend) -> tuple[RateLimiter | None, Quota | None]:
            limiter = RateLimiter(self.service, tiers, state, account=account, user=user,
                                  max_pause=max_pause) if tiers else None
            quota = None if quota_config.empty else Quota(self.service, quota_config, state,
                                                           account=account)
            return limiter, quota

        url = state_url or get_settings().state_url
        try:
            return build(open_state(url))
        except StateError as exc:  # state_fallback="local" goes on locally, else raises
            return build(fallback_for(url, exc))

    def _cache_settings(self, cache: bool | str | float | dict[str, Any] | CacheSettings | None
                        ) -> CacheSettings:
        """The definition's ``cache:`` section, overridden by ``cache=``: settings, a duration
        (the default TTL: ``cache="1h"``), or False (off, though offline mode still answers
        only from storage)."""
        if isinstance(cache, CacheSettings):
            return cache
        if cache is None or cache is True:
            return CacheSettings.from_config(self.definition.cache)
        if cache is False:
            return CacheSettings.from_config(self.definition.cache).with_(enabled=False)
        if not isinstance(cache, dict):
            cache = {"default_ttl": duration(cache, "cache")}
        return CacheSettings.from_config(self.definition.cache, cache)

    def caller_identity(self) -> str:
        """Whose answers this connection gets, as a one-way name: the account and the
        identity of its credentials (for an OAuth login, of whoever is logged in)."""
        return f"{self.account}:{auth_identity(self._auth)}"

    def answer_key(self, request: PageRequest) -> str:
        """A one-way key of what ``request`` asks and of whom: the HTTP cache's key of it,
        against the configured base URL (an instance a login hands out follows from whose
        credentials they are)."""
        settings = self._cache_config
        return cache_key(self.build_request(request, base_url=self.base_url),
                         ignored_params=settings.ignored_params,
                         vary_headers=settings.vary_headers,
                         secret_params=settings.secret_params, identity=self.caller_identity())

    @property
    def auth(self) -> httpx.Auth | None:
        """The credential scheme every attempt is authorized with (its repr is masked)."""
        return self._auth

    @property
    def state(self) -> StateBackend:
        """The state backend this connection's limits, budgets and history live in."""
        return open_state(self._state_url)

    def count(self, listing: Listing) -> int | None:
        """How many records ``listing`` holds, where the service's counting strategy can say
        without reading it all (see :class:`Strategies`); None otherwise."""
        return listing.count()

    def quota_status(self, *, clear_pause: bool = False) -> QuotaStatus:
        """Budgets left, reset times, limiter tiers and whether calls are being held back (a
        server's pause: ``pauses``, with the time the server asked for); ``clear_pause``
        first lifts every pause on this connection's limits, for every process."""
        return limits_status(self.service, self.limiter, self.quota, clear_pause=clear_pause)

    # -- one call -------------------------------------------------------------------------
    def _encode(self, params: dict[str, Any] | None) -> Any:
        if not params:
            return None
        if self.definition.body == "form":
            return bracket_pairs(params)
        return params

    def build_request(self, request: PageRequest, *, base_url: str | None = None,
                      extensions: dict[str, Any] | None = None) -> httpx.Request:
        """The httpx request ``request`` becomes (the client's headers merged); a relative
        URL is resolved against ``base_url`` when given, else the client's base URL."""
        if request.data is not None:
            request.headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        url = request.url
        if not httpx.URL(url).is_absolute_url:
            base = base_url if base_url is not None else str(self.client.base_url)
            if self._host_rooted(url):
                url = str(httpx.URL(base).join(url))
            elif base_url is not None:
                url = base_url.rstrip("/") + "/" + url.lstrip("/")
        extensions = {**(_call_extensions.get() or {}), **(extensions or {})}
        return self.client.build_request(request.method, url, headers=request.headers,
                                         extensions=extensions,
                                         **self.http_kwargs(request))

    def new_trace(self, endpoint: str) -> CallTrace:
        """A call's trace: its service and endpoint, and the state backend its ledger rows
        go to (the connection's own ``state=``, else the configured one)."""
        return CallTrace(service=self.service, endpoint=endpoint, state=self._state_url)

    def send(
        self, request: PageRequest, *, endpoint: str, priority: str | None = None,
        text: bool = False,
    ) -> tuple[httpx.Response, Any, CallTrace]:
        """Send one request through the pipeline; the decoded body (``text``: the body as
        text, e.g. CSV), or the mapped error: of a non-2xx answer, or of one the definition's
        ``responses:`` rules call a failure (the pipeline already retried those it could).
        It must be done within the connection's ``deadline`` seconds, and within its
        listing's deadline if that comes sooner."""
        self.last_used = time.monotonic()
        trace = self.new_trace(endpoint)
        listing = _listing_deadline.get()
        if listing is not None:  # the retry layer keeps the call's own if that is sooner
            trace.deadline, trace.allowed, trace.deadline_of = *listing, "listing"
        http_request = self.build_request(
            request, extensions={TRACE_KEY: trace, PRIORITY_KEY: priority or self.priority})
        try:
            response = self.client.send(http_request)
        except httpx.TransportError as exc:
            raise in_doubt(error_for_transport(
                exc, service=self.service, endpoint=endpoint, url=redact(str(http_request.url))
            ), trace) from exc
        classified = classify(response, self.definition.responses)
        if classified is not None or response.status_code >= 400:
            raise in_doubt(error_for_response(
                response, service=self.service, endpoint=endpoint,
                paths=self.definition.errors, request_id_header=self.request_id_header,
                retries=trace.retries, classified=classified,
            ), trace)
        if text:
            return response, response.text, trace
        if response.status_code == 204 or not response.content:
            return response, None, trace
        data = decode_json(response, service=self.service, endpoint=endpoint,
                           retries=trace.retries)
        warn_about(data, self.definition.warnings, service=self.service, endpoint=endpoint)
        return response, data, trace

    def http_kwargs(self, request: PageRequest) -> dict[str, Any]:
        """The query and body of ``request`` as httpx takes them (encoded the service's way)."""
        params = self._encode(request.params)
        query = httpx.URL(request.url).params
        if params and query:  # httpx replaces a URL's own query with params=: keep both
            params = query.merge(params)
        kwargs: dict[str, Any] = {"params": params}
        if request.json is not None:
            kwargs["json"] = request.json
        if request.data is not None:
            kwargs["content"] = urlencode(bracket_pairs(request.data)).encode()
        return kwargs

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        endpoint: str | None = None,
        idempotency_key: str | None = None,
        priority: str | None = None,
    ) -> Any:
        """Call any path of the API and return its decoded JSON.

        Writes get an idempotency key (where the service supports one) generated once for
        this call and reused by every retry, so a retried write is applied once.
        """
        method = method.upper()
        if self.definition.body == "form" and json is None and data is None and method == "POST":
            data, params = params, None
        page_request = PageRequest(method, path, params=dict(params or {}), json=json,
                                   data=data, headers=dict(headers or {}))
        return self._call(page_request, endpoint=endpoint or f"{method} {path}",
                          idempotency_key=idempotency_key, priority=priority)

    def _call(self, request: PageRequest, *, endpoint: str, idempotency_key: str | None,
              priority: str | None) -> Any:
        """Send one call (not a page of a listing) and return its decoded body; a POST gets
        the service's idempotency key, generated once and reused by every retry."""
        idem_header = self.definition.idempotency.get("header")
        if idem_header and request.method == "POST":
            request.headers.setdefault(idem_header, idempotency_key or f"integkit-{uuid.uuid4()}")
        _, body, _ = self.send(request, endpoint=endpoint, priority=priority)
        return body

    # -- listings ----------------------------------------------------------------------------
    def _resource(self, name: str) -> Resource:
        if name.startswith("/") or name.startswith("http"):
            return Resource(name=name, path=name)
        return self.definition.resource(name)

    def declared(self, spec: Resource) -> dict[str, ParamType]:
        """The typed parameters a call of ``spec`` takes: the definition's ``parameters:``,
        then the resource's own."""
        return {**self.definition.parameters, **spec.parameters}

    def fill_path(self, template: str, params: dict[str, Any], *, where: str, endpoint: str,
                  declared: dict[str, ParamType], given: dict[str, Any] | None = None) -> str:
        """``template`` (``/repos/{owner}/{repo}/issues``) with each ``{name}`` filled: from
        ``given``, else the call's ``params`` (taken out of them: they are no query), else
        the connection's ``path_params``. A declared parameter with ``parts`` splits a value
        holding its separator (``repo="octo/atlas"`` gives owner and repo). Each value is
        converted by its type and sent as one percent-encoded path segment."""
        names = placeholders(template)
        if not names:
            return template
        wanted = set(names) | {n for n, kind in declared.items() if set(kind.parts) & set(names)}
        call = {n: params.pop(n) for n in sorted(wanted) if n in params}
        values = {**_split(self.path_params, declared), **_split(call, declared), **(given or {})}
        for name in names:
            kind = declared.get(name)
            if values.get(name) is None:
                problem = kind.hint if kind is not None and kind.hint else (
                    f"the path {template!r} needs {name}= (none was given"
                    + (", and the connection has no default)" if name != "id" else ")"))
                raise ConfigError(f"{where}: {problem}")
            if kind is not None:
                values[name] = convert(name, values[name], kind)
        return fill_segments(template, values, service=self.service, endpoint=endpoint)

    def list(
        self,
        resource: str,
        *,
        checkpoint: str | None = None,
        max_records: int | None = None,
        paginator: Any = None,
        prefetch: bool = True,
        method: str = "GET",
        json: Any = None,
        priority: str | None = None,
        parallel: int = 1,
        cache: bool | str | float | None = None,
        max_empty_pages: int | None = None,
        deadline: float | str | None = None,
        records_path: str | None = None,
        primary_key: str | None = None,
        schema: dict[str, Any] | None = None,
        **params: Any,
    ) -> Result:
        """A lazy Result over every record of ``resource`` (a name, or a path like ``/v1/x``).

        ``params`` are the service's own query parameters; integkit's options never join
        them (a connection's option given here, such as ``headers=``, is a ConfigError).
        ``records_path`` and ``primary_key`` override the connection's for this listing.
        ``checkpoint`` names a folder that makes the extraction resumable across processes;
        ``max_records`` stops early. Search endpoints that page by POST take
        ``method="POST"`` and a ``json`` body.
        ``parallel=N`` splits the listing where the service allows (time ranges on Stripe's
        ``created``) and fetches N partitions at once, within the connection's rate limits;
        records still come in the order a single cursor gives. ``cache="1h"`` (or seconds, or
        True for a day) keeps the whole answer as Parquet: a re-run of the same cell within
        that time reads it back with no call. ``max_empty_pages`` (default: the
        connection's, 20) is how many empty pages that say "more" are followed in a row.
        Records repeating the ``primary_key`` of one already read are kept once.
        ``deadline="10m"`` bounds the whole listing (from its first page): past it, the next
        page raises TimeoutError. ``schema`` (field -> type) adds to or overrides the fields the
        definition declares for the resource: the frame has those columns, typed, even when
        no record comes back.
        """
        spec = self._resource(resource)
        declared = merge_schemas(self.definition.schema, spec.schema,
                                 flatten_schema(schema, where="schema="))
        self._check_slips(spec, params)
        endpoint = spec.endpoint or (
            spec.path if spec.name.startswith(("/", "http")) else f"{spec.name}.list")
        typed = self.declared(spec)
        path = self.fill_path(spec.path, params, where=f"{self.service}.list({resource!r})",
                              endpoint=endpoint, declared=typed)
        _refuse_options(params, where=f"list({resource!r})", listing=True,
                        service=self.service)
        for name, value in (("records_path", records_path), ("primary_key", primary_key)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{name} must be a field name or path (text), not {value!r}")
        deadline_s, max_age = self._listing_options(
            endpoint, max_records=max_records, parallel=parallel, deadline=deadline,
            checkpoint=checkpoint, priority=priority, cache=cache, params=params)
        paginator_from_config(paginator)  # its options are checked before any page
        plan = ListingPlan(
            name=spec.name, endpoint=endpoint,
            path=path, params={**spec.params, **convert_all(params, typed)},
            records_path=records_path or spec.records_path or self.definition.records_path,
            paginator=paginator or spec.paginator or self.definition.paginator,
            method=method, body=json, priority=priority,
            primary_key=primary_key or spec.primary_key or self.definition.primary_key,
            max_empty_pages=self.max_empty_pages if max_empty_pages is None
            else check_max_empty_pages(max_empty_pages),
            schema=declared, timestamps=self.definition.timestamps or None,
            max_records=max_records, parallel=parallel, checkpoint=checkpoint,
            cache=max_age, deadline=deadline_s, prefetch=prefetch,
        )
        return read_listing(self, plan, strategies_for(self.service, spec.name, spec.partition))

    @classmethod
    def list_options(cls) -> frozenset[str]:
        """integkit's own keywords of :meth:`list` (every other keyword is a query
        parameter of the service)."""
        return frozenset(p.name for p in inspect.signature(Connection.list).parameters.values()
                         if p.kind == p.KEYWORD_ONLY)

    def _check_slips(self, spec: Resource, params: dict[str, Any]) -> None:
        """A query parameter that is a slip of one of integkit's own options (``max_record=``,
        ``paralel=``) and no parameter the resource declares is a ConfigError: sent as it
        is, it would leak into the query and the option would silently not apply."""
        guarded = self.list_options() - {"json", "method"}  # everyday words APIs use too
        declared = set(spec.params) | set(placeholders(spec.path)) | \
            set(self.declared(spec))
        for name in params:
            meant = None if name in declared else slip_of(name, guarded)
            if meant is not None:
                raise ConfigError(
                    f"{self.service}.list({spec.name!r}): {name}= looks like a slip of "
                    f"integkit's {meant}=, so it was not sent to the service as a query "
                    f"parameter; did you mean {meant}=? If the API really takes a "
                    f"parameter named {name!r}, put it in the path: "
                    f"list({spec.path.split('?')[0] + '?' + name + '=...'!r})")

    def _listing_options(
        self, endpoint: str, *, max_records: Any, parallel: Any, deadline: Any,
        checkpoint: Any, priority: Any, cache: Any, params: dict[str, Any],
    ) -> tuple[float | None, float | None]:
        """Check a listing's options and parameters before anything is fetched (a nonsense
        value fails here, naming it); its deadline and its result cache's maximum age, in
        seconds, if it has them."""
        if max_records is not None:
            whole(max_records, "max_records")
        check_parallel(parallel)
        if checkpoint is not None and not isinstance(checkpoint, str | Path):
            raise ConfigError(f"checkpoint must be a folder path, not {checkpoint!r}")
        if priority is not None and priority not in _PRIORITIES:
            raise ConfigError(f"priority must be one of {_PRIORITIES}, not {priority!r}")
        if cache is not None and not isinstance(cache, bool):
            duration(cache, "cache")
        check_params(params, service=self.service, endpoint=endpoint)
        seconds = None if deadline is None else duration(deadline, "deadline", positive=True)
        return seconds, cache_age(cache)

    def retrieve(self, resource: str, id: str, **params: Any) -> dict[str, Any]:
        """One object of ``resource`` by id (one path segment, percent-encoded: an id such as
        ``"?limit=3"`` is looked up as that id, never turned into a query)."""
        spec = self._resource(resource)
        _refuse_options(params, where=f"retrieve({resource!r}, ...)", listing=False,
                        service=self.service)
        typed, endpoint = self.declared(spec), f"{spec.name}.retrieve"
        path = self.fill_path(spec.retrieve_path or f"{spec.path}/{{id}}", params,
                              where=f"{self.service}.retrieve({resource!r}, ...)",
                              endpoint=endpoint, declared=typed, given={"id": id})
        return self.request("GET", path, params=convert_all(params, typed),  # type: ignore[no-any-return]
                            endpoint=endpoint)

    # -- operations from the definition ----------------------------------------------------------
    def call_operation(self, name: str, params: dict[str, Any], *,
                       idempotency_key: str | None = None, priority: str | None = None) -> Any:
        """Run the definition's operation ``name`` with ``params`` (what its method,
        ``conn.<name>(...)``, does): the path filled, the arguments sent as the operation
        says, marked safe to resend when it is ``idempotent``; its answer (``unwrap``ped)."""
        op = self.definition.operations[name]
        undeclared = {k: v for k, v in params.items()
                      if k not in {*op.path_params, *op.required, *(p.name for p in op.params)}}
        _refuse_options(undeclared, where=f"{self.service}.{name}(...)", listing=False,
                        service=self.service)
        if "idempotency_key" in undeclared:  # its method takes none: not a POST, or no key
            raise ConfigError(f"{self.service}.{name} takes no idempotency_key= (the service "
                              "has no idempotency keys, or it is no POST); nothing was sent")
        slip = next((k for k in undeclared if slip_of(k, ("idempotency_key",))), None)
        if slip is not None:  # sent as a parameter, the key meant would silently not apply
            raise ConfigError(f"{self.service}.{name}: {slip}= looks like a slip of "
                              "idempotency_key=; nothing was sent")
        call = operation_call(op, params, service=self.service, body=self.definition.body)
        token = _call_extensions.set({REPLAYABLE_KEY: True} if call.replayable else None)
        request = PageRequest(call.method, call.path, params=call.params or {}, json=call.json,
                              data=call.data, headers=call.headers)
        try:
            body = self._call(request, endpoint=call.endpoint, idempotency_key=idempotency_key,
                              priority=priority)
        finally:
            _call_extensions.reset(token)
        return body if op.unwrap is None else find(body, op.unwrap)

    if TYPE_CHECKING:
        # The operations' methods are made at run time (one subclass per definition): to a
        # type checker, any other attribute of a connection is one of them.
        def __getattr__(self, name: str) -> Any: ...

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return _display.text("connection", self)

    def _repr_html_(self) -> str:
        return _display.html("connection", self)


# The engine's own methods and attributes (those __init__ sets too): no operation of a
# definition may take their names.
_ENGINE_NAMES = frozenset(dir(Connection)) | {
    "account", "base_url", "client", "deadline", "definition", "last_used", "limiter",
    "max_empty_pages", "origins", "priority", "quota", "request_id_header", "service"}
