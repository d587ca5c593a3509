"""``ik.auth.status()``: what credentials are configured, without showing any of them.

One row per shipped connector's credential env var (set or not), per stored token set (scopes,
expiry, whether it can refresh), and per connection made in this process (its scheme, the
masked ``repr`` every scheme has). Nothing secret is read into the answer.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from .._events import logger
from ._tokens import TokenStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["status"]

COLUMNS = ("service", "source", "name", "configured", "scheme", "detail", "expires_in")


def _names(value: Any) -> list[str]:
    """Env var names from a definition: one name, a list, or a mapping of param -> name."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        value = list(value.values())
    return [v for v in value or () if isinstance(v, str) and v]


def _env_rows() -> list[dict[str, Any]]:
    from ..engine import available_services, load_definition

    rows: list[dict[str, Any]] = []
    for service in available_services():
        spec = load_definition(service).auth
        for var in _names(spec.get("env")) + _names(spec.get("password_env")):
            rows.append({"service": service, "source": "env", "name": var,
                         "configured": bool(os.environ.get(var)),
                         "scheme": spec.get("type"), "detail": "", "expires_in": None})
    return rows


def _token_rows(store: TokenStore) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        ids = store.ids()
    except Exception as exc:  # noqa: BLE001 - a status report never fails on one source
        logger.warning("integkit: cannot list stored tokens (%s)", exc)
        return rows
    now = time.time()
    for token_id in ids:
        try:
            token = store.get(token_id)
        except Exception as exc:  # noqa: BLE001 - e.g. stored under another key
            rows.append({"service": token_id.service, "source": "token store",
                         "name": str(token_id), "configured": False, "scheme": "oauth2",
                         "detail": f"unreadable: {type(exc).__name__}", "expires_in": None})
            continue
        if token is None:
            continue
        if token.get("grant") == "api_key":  # a key stored by ik.login
            rows.append({"service": token_id.service, "source": "token store",
                         "name": str(token_id), "configured": True, "scheme": "api_key",
                         "detail": "stored by ik.login", "expires_in": None})
            continue
        scopes = " ".join(sorted(token.scopes))
        refresh = "refreshable" if token.get("refresh_token") else "no refresh token"
        rows.append({"service": token_id.service, "source": "token store",
                     "name": str(token_id), "configured": True, "scheme": "oauth2",
                     "detail": f"{refresh}; scopes: {scopes or '-'}",
                     "expires_in": token.expires_in(now)})
    return rows


def _connection_rows() -> list[dict[str, Any]]:
    from .._connect import live_connections

    return [{"service": conn.service, "source": "connection", "name": conn.base_url,
             "configured": conn.auth is not None,
             "scheme": type(conn.auth).__name__ if conn.auth is not None else None,
             "detail": repr(conn.auth) if conn.auth is not None else "no auth",
             "expires_in": None} for conn in live_connections()]


def status(store: TokenStore | None = None) -> pd.DataFrame:
    """Every credential integkit can see, as a DataFrame: service, source (env, token store,
    connection), name, configured, scheme, detail (masked), expires_in (seconds)."""
    import pandas as pd

    rows = [*_env_rows(), *_token_rows(store or TokenStore()), *_connection_rows()]
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))
