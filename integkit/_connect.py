"""``ik.connect()``, ``ik.rest()`` and the default connections behind ``ik.stripe`` & co."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import threading
import weakref
from typing import Any

import httpx

from ._config import get_settings
from ._config import profile as config_profile
from ._errors import ConfigError
from ._http import Quota, RateLimiter
from ._results import flatten_schema, time_spec
from ._spec import Key, Spec
from ._suggest import unknown_keyword
from .auth import (
    ApiKey,
    Basic,
    Bearer,
    OAuth2,
    TokenId,
    TokenStore,
    add_status_rows,
    default_store,
)
from .engine import Connection, ConnectorDef, available_services, limits_status, load_definition

__all__ = ["connect", "connect_keywords", "default_connection", "live_connections", "quota",
           "rest"]

_defaults: dict[str, Connection] = {}
_defaults_lock = threading.Lock()
# The connections made per service (dead ones pruned): ik.quota(service) and the dashboard
# report on the one still in use that was made or used last.
_latest: dict[str, list[weakref.ref[Connection]]] = {}
# ... and its limiter and quota, which outlive it: ``ik.quota("rest")`` after a one-line
# ``ik.rest(url).list(...).to_frame()`` still reports them.
_limits: dict[str, tuple[RateLimiter | None, Quota | None]] = {}
_AUTH_PARAMS = ("api_key", "token", "username", "password")


def _account(secret: str) -> dict[str, str]:
    """Who the limits and budgets belong to: a one-way id of the credential, and its public
    prefix (``sk_test_``) so tiers can differ between kinds of keys."""
    digest = hashlib.blake2b(secret.encode(), digest_size=6).hexdigest()
    prefix = secret.split("_", 2)
    return {"account": digest, "key_prefix": "_".join(prefix[:2]) + "_" if len(prefix) > 2
            else ""}


def _stored_credential(service: str, profile: str | None) -> dict[str, Any] | None:
    """The key ``ik.login(service)`` stored for ``profile`` (encrypted in the token store of
    the configured state backend), or None. Such a token set has ``grant: api_key``; the
    secret is its ``access_token`` (the basic scheme's password, with ``username`` beside)."""
    token_id = TokenId(service, profile or get_settings().profile)
    try:
        stored = default_store().get(token_id)
    except ConfigError:  # e.g. the store's key changed: say nothing here, ask for a credential
        return None
    if stored is None or stored.get("grant") != "api_key" or not stored.get("access_token"):
        return None
    return dict(stored)


def _auth_from(
    definition: ConnectorDef, settings: dict[str, Any], profile: str | None = None
) -> tuple[httpx.Auth | None, dict[str, str]]:
    """Build the definition's auth scheme from ``api_key=``/``token=``..., else its env var,
    else the key ``ik.login`` stored for ``profile``."""
    if settings.get("auth") is not None:
        return settings["auth"], {}
    spec = definition.auth
    kind = spec.get("type")
    if not kind or kind == "none":
        return None, {}
    if kind == "oauth2":
        oauth = _oauth_from(definition, settings, profile)
        return oauth, ({"account": _account(oauth.client_id)["account"]} if oauth.client_id
                       else {})
    param = spec.get("param", "api_key")
    secret = settings.get(param)
    env = spec.get("env")
    if secret is None and env:
        secret = definition.environ(env)
    stored = None if secret else _stored_credential(definition.service, profile)
    if stored is not None:
        if kind == "basic":
            secret = stored.get("username")
            settings.setdefault("password", stored["access_token"])
        else:
            secret = stored["access_token"]
    if not secret:
        how = f"set {env} or pass " if env else "pass "
        name = definition.source if definition.origin == "file" else definition.service
        consent = (f" (integkit reads {env} for a definition from a file only with "
                   f"allow_env=[{env!r}])" if env and not definition.may_read_env(env) else "")
        # Shipped connectors have an emulator; a user's definition has none to offer.
        offline = (f" To try it offline, use ik.sandbox({definition.service!r})."
                   if definition.origin == "shipped" else "")
        raise ConfigError(
            f"{definition.service} needs a credential: {how}ik.connect({name!r}, "
            f"{param}=...){consent}, or store one with ik.login({name!r}).{offline}"
        )
    who = _account(secret)
    if kind == "bearer":
        return Bearer(secret), who
    if kind == "api_key":
        return ApiKey(secret, header=spec.get("header", "X-API-Key"), query=spec.get("query"),
                      prefix=spec.get("prefix", "")), who
    if kind == "basic":
        password = settings.get("password") or definition.environ(spec.get("password_env")) or ""
        return Basic(secret, password), who
    raise ConfigError(f"{definition.service}: unknown auth type {kind!r} in its definition")


_OAUTH_SETTINGS = ("client_id", "client_secret", "refresh_token")
_CONSENTS = ("allow_env", "allow_modules")


def _oauth_from(definition: ConnectorDef, settings: dict[str, Any],
                profile: str | None) -> OAuth2:
    """OAuth 2.0 from a definition's ``auth: {type: oauth2, token_url | token_path, scopes,
    authorize_url, device_authorization_url, grant, refresh_skew (or leeway),
    env: {client_id: VAR, ...}}``; client id,
    secret and refresh token come from ``ik.connect`` arguments, else those env vars. Tokens
    persist in the token store, so ``ik.login`` once serves every later run."""
    spec = definition.auth
    env: dict[str, str] = spec["env"] if isinstance(spec.get("env"), dict) else {}
    found: dict[str, str | None] = {
        name: settings.pop(name, None) or definition.environ(env.get(name)) or None
        for name in _OAUTH_SETTINGS}
    refresh_env = env.get("refresh_token")
    base = (settings.get("base_url") or definition.base_url).rstrip("/")
    token_url = spec.get("token_url") or base + spec.get("token_path", "/oauth/token")
    return OAuth2(
        token_url=token_url, authorize_url=spec.get("authorize_url"),
        device_authorization_url=spec.get("device_authorization_url"),
        revoke_url=spec.get("revoke_url"), scopes=spec.get("scopes"), grant=spec.get("grant"),
        service=definition.service, profile=profile,
        refresh_token_env=refresh_env if definition.may_read_env(refresh_env) else None,
        refresh_skew=spec.get("refresh_skew", 60.0),
        client_id=found["client_id"],
        client_secret=found["client_secret"], refresh_token=found["refresh_token"],
        store=TokenStore.of_connection(settings.get("state")),
    )


# Where a definition's ``module:`` may point without the caller's say-so: integkit's own
# connector code. A definition is data; importing a module runs code.
_OWN_MODULES = "integkit.engine._services"


def _module_allowed(module: str, allow_modules: Any) -> bool:
    allowed = [_OWN_MODULES]
    if allow_modules is not None:
        if isinstance(allow_modules, str) or not isinstance(allow_modules, list | tuple | set):
            raise ConfigError(f"allow_modules must be a list of module or package names, not "
                              f"{allow_modules!r}")
        allowed += [str(m) for m in allow_modules]
    return any(module == a or module.startswith(a + ".") for a in allowed)


def _connection_class(definition: ConnectorDef, allow_modules: Any = None) -> type[Connection]:
    """The Connection class the definition's ``module:`` provides (its ``CONNECTION``):
    integkit's own connector modules, or those the caller allowed with ``allow_modules=``."""
    if not definition.module:
        return Connection
    if not _module_allowed(definition.module, allow_modules):
        raise ConfigError(
            f"{definition.source}: module {definition.module!r} is not one of integkit's "
            f"connector modules ({_OWN_MODULES}.*); importing it would run its code. If you "
            f"trust it: ik.connect(..., allow_modules=[{definition.module!r}])"
        )
    try:
        module = importlib.import_module(definition.module)
    except ImportError as exc:
        raise ConfigError(f"{definition.source}: cannot import module "
                          f"{definition.module!r}: {exc}") from None
    cls = getattr(module, "CONNECTION", Connection)
    if not (isinstance(cls, type) and issubclass(cls, Connection)):
        raise ConfigError(f"{definition.source}: {definition.module}.CONNECTION must be a "
                          "subclass of integkit's Connection")
    return cls


# Where a keyword given to ik.connect / ik.rest belongs instead.
_ELSEWHERE = {"conn.list(...)": Connection.list_options()}


def connect_keywords(cls: type[Connection], definition: ConnectorDef) -> list[str]:
    """Every keyword ``ik.connect`` takes for ``definition``: its own, the connection
    class's (and the pipeline's), and the credentials its auth scheme reads."""
    names = {"profile", "endpoint_url", *_CONSENTS, *_AUTH_PARAMS, *cls.keywords()}
    names.add(str(definition.auth.get("param", "api_key")))
    if definition.auth.get("type") == "oauth2":
        names.update(_OAUTH_SETTINGS)
    return sorted(names)


def _profile_settings(section: dict[str, Any], cls: type[Connection],
                      definition: ConnectorDef, profile: str | None) -> dict[str, Any]:
    """A config file's settings for a service, keyed as ``ik.connect`` takes them (any key
    spelling: ``base_url`` or ``baseUrl``); a key it does not take is a ConfigError naming
    the closest, rather than an option dropped or failing far from the file."""
    if not section:
        return {}
    where = f"config file profiles.{profile or get_settings().profile}.{definition.service}"
    keys = Spec(where, [Key(name) for name in connect_keywords(cls, definition)])
    return keys.read(section)


def _without_qualname(exc: TypeError) -> str:
    """A TypeError's text without the inner function it names (``PipelineOptions.__init__()``),
    which means nothing to the caller."""
    return re.sub(r"^[\w.]+\(\) ", "", str(exc))


def connect(service: str, *, profile: str | None = None, **options: Any) -> Connection:
    """A connection to ``service`` (a shipped connector's name, or a definition file's path).

    Settings come from the definition, then the config file's ``profile``, then the service's
    env vars, then ``options`` (``api_key=``, ``base_url=``, ``retry=``, ``timeout=``...).

    A definition file is data: it reads environment variables only when allowed
    (``allow_env=["MINE_TOKEN"]``, or ``True`` for every variable its auth section names),
    and its ``module:`` may only name integkit's connector modules unless allowed
    (``allow_modules=["mycorp.connectors"]``).

    >>> stripe = ik.connect("stripe", api_key="sk_test_...", base_url="http://127.0.0.1:12111")
    ... # doctest: +SKIP
    """
    definition = load_definition(service)
    configured = config_profile(definition.service, profile)
    for name in _CONSENTS:
        if name in configured:  # keyed by a name the definition file itself chooses
            raise ConfigError(f"{name} is consent given to one definition: pass it to "
                              f"ik.connect(...), not in the config file's profile")
    cls = _connection_class(definition, options.pop("allow_modules", None))
    accepted = set(connect_keywords(cls, definition))
    for name in options:
        if name not in accepted:
            raise unknown_keyword(f"ik.connect({service!r})", name, accepted,
                                  elsewhere=_ELSEWHERE)
    settings = {**_profile_settings(configured, cls, definition, profile), **options}
    definition = definition.with_consent(settings.pop("allow_env", None))
    auth, who = (settings.get("auth"), {}) if cls.own_auth else _auth_from(
        definition, settings, profile)
    for key, value in who.items():
        settings.setdefault(key, value)
    for key in (*_AUTH_PARAMS, "auth", definition.auth.get("param", "api_key")):
        settings.pop(key, None)
    settings.setdefault("base_url", settings.pop("endpoint_url", None))
    try:
        conn = cls(definition, auth=auth, **settings)
    except TypeError as exc:
        raise ConfigError(f"ik.connect({service!r}): {_without_qualname(exc)}") from None
    _remember(conn)
    return conn


def _remember(conn: Connection) -> None:
    """``conn`` is the one ``ik.quota(conn.service)`` reports on from now on, until another
    connection to the service is made or used (or ``conn`` is gone)."""
    alive = [ref for ref in _latest.get(conn.service, ()) if ref() is not None]
    _latest[conn.service] = [*alive, weakref.ref(conn)]
    _limits[conn.service] = (conn.limiter, conn.quota)


def _newest(service: str) -> Connection | None:
    """The connection to ``service`` still in use in this process that was made or used
    last (a short-lived one made later, a sandbox's, does not hide one used since)."""
    alive = [conn for conn in (ref() for ref in _latest.get(service, ())) if conn is not None]
    return max(alive, key=lambda conn: conn.last_used, default=None)


def default_connection(service: str) -> Connection:
    """The shared connection behind ``ik.<service>``, created on first use."""
    with _defaults_lock:
        conn = _defaults.get(service)
        if conn is None:
            conn = _defaults[service] = connect(service)
        return conn


def live_connections() -> list[Connection]:
    """The connections made in this process that are still in use (per service, the one
    made or used last)."""
    found = [_newest(service) for service in list(_latest)]
    return [conn for conn in found if conn is not None]


def _connection_rows() -> list[dict[str, Any]]:
    """``ik.auth.status()``'s rows of the live connections: each one's scheme, masked."""
    return [{"service": conn.service, "source": "connection", "name": conn.base_url,
             "configured": conn.auth is not None,
             "scheme": type(conn.auth).__name__ if conn.auth is not None else None,
             "detail": repr(conn.auth) if conn.auth is not None else "no auth",
             "expires_in": None} for conn in live_connections()]


add_status_rows("connection", _connection_rows)


def quota(service: str | Connection | None = None, *,
          clear_pause: bool = False) -> dict[str, Any]:
    """Remaining budget, reset times and throttle state of ``service``'s shared limits.

    Limits and budgets live in the state backend, so this is what every process sharing the
    key has left, seen through the connection to ``service`` (a shipped connector's name, an
    ``ik.rest(..., name=)``, ``"rest"`` by default) made or used last in this process of those
    still in use; when none is, the one made last, even once gone; else ``ik.<service>``.
    ``pauses`` lists what the server asked every client to wait for (with the time it asked
    for, when that was longer than integkit holds calls); ``clear_pause=True`` lifts them
    first, for every process of the key (when a server's hint was wrong).

    >>> ik.quota("salesforce")["budgets"]["daily"]["remaining"]   # doctest: +SKIP
    98211
    >>> ik.quota("github", clear_pause=True)["pauses_cleared"]    # doctest: +SKIP
    1
    """
    if not isinstance(clear_pause, bool):
        raise ConfigError(f"clear_pause must be True or False, not {clear_pause!r}")
    if isinstance(service, Connection):
        return service.quota_status(clear_pause=clear_pause)
    made = sorted(_limits)
    if not isinstance(service, str):
        raise ConfigError(
            "ik.quota() needs the service's name or the connection: ik.quota('stripe'), "
            f"ik.quota(conn); connections made in this process: {', '.join(made) or 'none'}")
    conn = _newest(service)
    if conn is not None:
        return conn.quota_status(clear_pause=clear_pause)
    if service in _limits:
        return limits_status(service, *_limits[service], clear_pause=clear_pause)
    if service in available_services():
        return default_connection(service).quota_status(clear_pause=clear_pause)
    raise ConfigError(
        f"ik.quota({service!r}): no connection named {service!r} was made in this process, "
        f"and it is not a shipped connector ({', '.join(available_services())}). Pass the "
        f"connection itself (ik.quota(api) for api = ik.rest(..., name={service!r})); "
        f"connections made here: {', '.join(made) or 'none'}")


def rest(
    base_url: str,
    *,
    auth: httpx.Auth | None = None,
    paginator: Any = None,
    records_path: str | None = None,
    primary_key: str | None = None,
    name: str = "rest",
    headers: dict[str, str] | None = None,
    timestamps: Any = None,
    schema: dict[str, Any] | None = None,
    idempotency_header: str | None = None,
    **options: Any,
) -> Connection:
    """A connection to any REST API through the same pipeline as the shipped connectors.

    ``paginator`` is an alias (``"link_header"``, ``"cursor"``...), ``{"type": alias, ...}``, a
    Paginator, or None to detect it from the first page (a first page that looks partial in
    no shape integkit knows brings a PaginationWarning naming the ``paginator=`` to pass).
    ``primary_key`` names the field (or fields, comma-separated) that identifies a record: a
    record read again on a later page is kept once and counted in ``stats.duplicates``.
    Requests go only to ``base_url``'s origin (and ``backup_base_urls=``): a next-page URL or
    redirect elsewhere raises OriginError, unless ``allowed_origins=[...]`` names it.
    ``schema`` declares the fields of its records (``{"id": "integer", "total": "number",
    "paid_at": "timestamp"}``; nested mappings for objects): frames have those columns with
    those types, even when a listing is empty. ``timestamps`` names the time fields: a list of
    fields (globs), or a mapping of field -> unit of epoch numbers (``"s"``, ``"ms"``...),
    ``"iso"`` or a strptime format (``"%d/%m/%Y %H:%M"``); other text columns whose every
    value is an ISO 8601 date-time become timestamps too, unless ``timestamps=False``.

    >>> api = ik.rest("https://api.example.com/v2", auth=ik.auth.Bearer(token),
    ...               paginator={"type": "cursor", "cursor_path": "meta.next"})  # doctest: +SKIP
    >>> api.list("/orders", status="open").to_frame()
    """
    accepted = {*inspect.signature(rest).parameters, *Connection.keywords()} - {"options"}
    for keyword in options:
        if keyword not in accepted:
            raise unknown_keyword("ik.rest()", keyword, accepted, elsewhere=_ELSEWHERE)
    definition = ConnectorDef(
        service=name, base_url=base_url, paginator=paginator, records_path=records_path,
        primary_key=primary_key,
        headers=dict(headers or {}),
        timestamps=time_spec(timestamps, where="ik.rest(timestamps=)", detect=True),
        schema=flatten_schema(schema, where="ik.rest(schema=)"),
        idempotency={"header": idempotency_header} if idempotency_header else {},
    )
    conn = Connection(definition, auth=auth, **options)
    _remember(conn)
    return conn
