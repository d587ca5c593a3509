"""The encrypted token store: OAuth token sets kept in the state backend, so a scheduled
(papermill) run finds what a notebook login stored, and N workers share one refresh.

Each token set is keyed by ``TokenId(service, profile, account, owner)`` (so tenants,
apps and the owners of explicit grants coexist), serialised as JSON and encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) under the key from :func:`~integkit.auth._keys.resolve_key`.
SQLite keeps them in the ``ik_tokens`` table of the state file; Redis in
``integkit:token:<service>:<profile>:<account>[:<owner>]`` hashes.

``owner`` is empty for a profile's own login (what ``ik.login`` stores and a scheduled run
finds); a grant given explicitly (a refresh token, client credentials, a service account key)
has its own slot named by a one-way digest of that credential, so two users of one app on one
state backend never read each other's tokens.

``store.lock(token_id)`` is the cross-process refresh lock (``_token_lock``: a lease row with an
expiry in SQLite, ``SET NX PX`` in Redis, plus a thread lock) under which a refresher re-reads
the store before refreshing: whoever comes second finds the new token and does not refresh again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, NoReturn
from urllib.parse import quote, unquote

from cryptography.fernet import InvalidToken

from .._config import get_settings
from .._errors import AuthenticationError, ConfigError
from .._events import register_secret
from .._memo import OncePerKey
from .._state import StateBackend, open_state
from .._validate import duration
from ._keys import TokenKey, resolve_key
from ._token_lock import LOCKS_TABLE, Lease, hold

__all__ = ["Token", "TokenId", "TokenKeyError", "TokenStore", "default_store"]

SECRET_FIELDS = ("access_token", "refresh_token", "id_token")
_FORMAT = 1
_TOKENS_TABLE = (
    "CREATE TABLE IF NOT EXISTS ik_tokens (service TEXT NOT NULL, profile TEXT NOT NULL, "
    "account TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '', blob BLOB NOT NULL, "
    "key_id TEXT NOT NULL, updated REAL NOT NULL, "
    "PRIMARY KEY (service, profile, account, owner))"
)


class TokenId(NamedTuple):
    """Whose token: ``service`` (e.g. ``salesforce``), ``profile`` (tenant), ``account`` (the
    app: a client id), ``owner`` (empty: the profile's own login; else a one-way name of the
    explicit credential the grant came from)."""

    service: str
    profile: str = "default"
    account: str = "default"
    owner: str = ""

    def __str__(self) -> str:
        base = f"{self.service}/{self.profile}/{self.account}"
        return f"{base}/{self.owner}" if self.owner else base

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts that name the slot (a login's has no owner, as before owners existed)."""
        return tuple(self) if self.owner else tuple(self)[:3]


class Token(dict[str, Any]):
    """A token set (``access_token``, ``refresh_token``, ``expires_at``, ``scope``,
    ``token_type``, ``extra``...): a plain dict whose ``repr`` masks the secrets."""

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRET_FIELDS and v else v) for k, v in self.items()}
        return f"Token({shown!r})"

    __str__ = __repr__

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scopes (space-separated ``scope`` in the token response)."""
        scope = self.get("scope") or ""
        return frozenset(scope.split() if isinstance(scope, str) else scope)

    def expires_in(self, now: float | None = None) -> float | None:
        """Seconds the access token has left (negative once expired), None if unknown."""
        expires_at = self.get("expires_at")
        if expires_at is None:
            return None
        return float(expires_at) - (time.time() if now is None else now)


class TokenKeyError(ConfigError):
    """The token store's key cannot decrypt what is stored (the key changed)."""


def _register(token: dict[str, Any]) -> None:
    for name in SECRET_FIELDS:
        register_secret(token.get(name))


def _create_tokens_table(conn: sqlite3.Connection) -> None:
    """The ``ik_tokens`` table, moving the rows of a store written before tokens had owners
    (their slots become the profiles' own logins)."""
    conn.execute(_TOKENS_TABLE)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(ik_tokens)")}
    if "owner" in columns:
        return
    conn.execute("ALTER TABLE ik_tokens RENAME TO ik_tokens_before_owners")
    conn.execute(_TOKENS_TABLE)
    conn.execute("INSERT INTO ik_tokens (service, profile, account, owner, blob, key_id, "
                 "updated) SELECT service, profile, account, '', blob, key_id, updated "
                 "FROM ik_tokens_before_owners")
    conn.execute("DROP TABLE ik_tokens_before_owners")


class TokenStore:
    """Encrypted token sets in the state backend (SQLite file by default, or Redis).

    >>> store = TokenStore()                                   # doctest: +SKIP
    >>> store.get(TokenId("salesforce", "acme"))               # a Token, or None
    >>> with store.lock(TokenId("salesforce", "acme")):        # one refresher at a time
    ...     ...

    Args:
        state: a state URL (``sqlite:///...``, ``redis://...``), a StateBackend, None for
            the configured one, or ``"memory"`` for tokens kept in this process only.
        key: a TokenKey (default: resolved on first use: env, OS keyring, key file).
        lock_ttl: how long a lock outlives a holder that died without releasing it.
        lock_timeout: how long to wait for a lock before giving up (both any duration:
            ``60``, ``"1m"``).
    """

    def __init__(
        self,
        state: str | StateBackend | None = None,
        *,
        key: TokenKey | None = None,
        lock_ttl: float | str = 60.0,
        lock_timeout: float | str = 90.0,
    ) -> None:
        self._state_arg = state
        self._state: StateBackend | None = state if isinstance(state, StateBackend) else None
        self._key = key
        self._memory: dict[TokenId, Token] | None = {} if state == "memory" else None
        self.lock_ttl = duration(lock_ttl, "lock_ttl", positive=True)
        self.lock_timeout = duration(lock_timeout, "lock_timeout")
        self._ready = False
        self._guard = threading.Lock()

    @classmethod
    def of_connection(cls, state: str | None) -> TokenStore | None:
        """The store of a connection given its own ``state=`` (a sandbox's): its tokens stay
        there with its limits and ledger. None: the configured backend's store."""
        return cls(state) if state else None

    @classmethod
    def memory(cls) -> TokenStore:
        """A store that keeps tokens in this process only (nothing persisted)."""
        return cls("memory")

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def state(self) -> StateBackend:
        """The state backend, opened on first use."""
        if self._memory is not None:
            raise ConfigError("this TokenStore keeps tokens in memory; it has no state backend")
        if self._state is None:
            arg = self._state_arg
            self._state = open_state(arg if isinstance(arg, str) else None)
        if not self._ready:
            with self._guard:
                if not self._ready and self._state.kind == "sqlite":
                    with self._state.sqlite(immediate=True) as conn:
                        _create_tokens_table(conn)
                        conn.execute(LOCKS_TABLE)
                self._ready = True
        return self._state

    @property
    def key(self) -> TokenKey:
        """The encryption key, resolved on first use."""
        if self._key is None:
            self._key = resolve_key()
        return self._key

    @property
    def where(self) -> str:
        """Where tokens live, in words (no secrets)."""
        if self._memory is not None:
            return "memory"
        if self._state is None and self._state_arg is None:
            return "the configured state backend"
        return self.state.url

    def _redis_key(self, token_id: TokenId, kind: str = "token") -> str:
        return self.state.key(kind, *(quote(part, safe="") for part in token_id.parts))

    # -- reading and writing -----------------------------------------------------------------
    def _seal(self, token_id: TokenId, token: dict[str, Any]) -> bytes:
        payload = {"v": _FORMAT, "id": list(token_id.parts), "token": token}
        return self.key.encrypt(json.dumps(payload, separators=(",", ":")).encode())

    def _open(self, token_id: TokenId, blob: bytes, key_id: str) -> Token:
        key = self.key
        try:
            payload = json.loads(key.decrypt(blob))
        except InvalidToken:
            other = "" if key_id == key.key_id else f" (it was stored under key id {key_id})"
            raise TokenKeyError(
                f"cannot decrypt the stored token for {token_id} with the key from "
                f"{key.source} (key id {key.key_id}){other}. {key.fix_hint()}"
            ) from None
        if payload.get("id") != list(token_id.parts):
            raise TokenKeyError(f"the stored token for {token_id} belongs to "
                                f"{'/'.join(payload.get('id') or ['?'])}; it was tampered with. "
                                "Delete it and log in again.")
        token = Token(payload["token"])
        _register(token)
        return token

    def get(self, token_id: TokenId) -> Token | None:
        """The stored token set of ``token_id``, or None; TokenKeyError under a wrong key."""
        if self._memory is not None:
            found = self._memory.get(token_id)
            return Token(found) if found is not None else None
        state = self.state
        if state.kind == "sqlite":
            row = state.connection().execute(
                "SELECT blob, key_id FROM ik_tokens WHERE service = ? AND profile = ? "
                "AND account = ? AND owner = ?", tuple(token_id)).fetchone()
            return self._open(token_id, bytes(row[0]), row[1]) if row else None
        raw = state.redis().hmget(self._redis_key(token_id), "blob", "key_id")
        if raw[0] is None:
            return None
        return self._open(token_id, bytes(raw[0]), (raw[1] or b"").decode())

    def put(self, token_id: TokenId, token: dict[str, Any]) -> None:
        """Store (replace) the token set of ``token_id``, encrypted."""
        _register(token)
        if self._memory is not None:
            self._memory[token_id] = Token(token)
            return
        blob = self._seal(token_id, dict(token))
        state = self.state
        key_id = self.key.key_id
        if state.kind == "sqlite":
            with state.sqlite(immediate=True) as conn:
                conn.execute("INSERT OR REPLACE INTO ik_tokens (service, profile, account, "
                             "owner, blob, key_id, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (*token_id, blob, key_id, time.time()))
            return
        state.redis().hset(self._redis_key(token_id),
                           mapping={"blob": blob, "key_id": key_id, "updated": time.time()})

    def delete(self, token_id: TokenId) -> bool:
        """Forget the token set of ``token_id`` (logout); whether there was one."""
        if self._memory is not None:
            return self._memory.pop(token_id, None) is not None
        state = self.state
        if state.kind == "sqlite":
            with state.sqlite(immediate=True) as conn:
                cur = conn.execute("DELETE FROM ik_tokens WHERE service = ? AND profile = ? "
                                   "AND account = ? AND owner = ?", tuple(token_id))
                return cur.rowcount > 0
        return bool(state.redis().delete(self._redis_key(token_id)))

    def ids(self, service: str | None = None) -> list[TokenId]:
        """The ids with a stored token set (of one ``service``, or all); no decryption."""
        if self._memory is not None:
            return sorted(i for i in self._memory if service is None or i.service == service)
        state = self.state
        if state.kind == "sqlite":
            rows = state.connection().execute(
                "SELECT service, profile, account, owner FROM ik_tokens ORDER BY 1, 2, 3, 4"
            ).fetchall()
            return [TokenId(*r) for r in rows if service is None or r[0] == service]
        prefix = self.state.key("token", "")
        found = []
        for name in state.redis().scan_iter(match=prefix + "*", count=500):
            parts = name.decode()[len(prefix):].split(":")
            if len(parts) in (3, 4):
                found.append(TokenId(*(unquote(p) for p in parts)))
        return sorted(i for i in found if service is None or i.service == service)

    # -- the refresh lock ----------------------------------------------------------------------
    @contextmanager
    def lock(self, token_id: TokenId, *, timeout: float | str | None = None
             ) -> Iterator[None]:
        """Hold the refresh lock of ``token_id`` across threads and processes (re-entrant in
        one thread). Re-read the store once inside: another holder may have refreshed."""
        memory = self._memory is not None
        where = f"memory-{id(self)}" if memory else self.state.url
        wait = self.lock_timeout if timeout is None else duration(timeout, "timeout")
        with hold(f"{where}|{token_id}", None if memory else self._lease(token_id), wait,
                  lambda: self._lock_timeout(token_id, wait)):
            yield

    def _lease(self, token_id: TokenId) -> Lease:
        return Lease(self.state, str(token_id), self._redis_key(token_id, "token-lock"),
                     self.lock_ttl)

    def _try_lock(self, token_id: TokenId, owner: str) -> bool:
        return self._lease(token_id).acquire(owner)

    def _lock_timeout(self, token_id: TokenId, timeout: float) -> NoReturn:
        raise AuthenticationError(
            f"another process held the token lock of {token_id} for over {timeout:.0f}s",
            service=token_id.service, transient=True,
            hint="A refresh is stuck elsewhere; retry shortly. A lock left by a killed process "
                 f"expires after {self.lock_ttl:.0f}s.",
        )

    def __repr__(self) -> str:
        key = repr(self._key) if self._key is not None else "key not resolved yet"
        return f"<TokenStore {self.where} {key}>"


_default_stores: OncePerKey[str, TokenStore] = OncePerKey()


def default_store() -> TokenStore:
    """The process's token store on the configured state backend (one per state URL)."""
    url = get_settings().state_url
    return _default_stores.get(url, lambda: TokenStore(url))
