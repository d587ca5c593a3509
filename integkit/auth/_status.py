"""``ik.auth.status()``: what credentials are configured, without showing any of them.

One row per shipped connector's credential env var (set or not), per stored token set (scopes,
expiry, whether it can refresh), and per connection made in this process (its scheme, the
masked ``repr`` every scheme has). Nothing secret is read into the answer. The definitions and
the connections live in layers above auth, so those rows come from the sources they register
(:func:`add_status_rows`) rather than from auth importing them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from .._events import logger
from ._tokens import TokenStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_status_rows", "status"]

COLUMNS = ("service", "source", "name", "configured", "scheme", "detail", "expires_in")

Rows = Callable[[], list[dict[str, Any]]]
_sources: dict[str, Rows] = {}


def add_status_rows(source: Literal["env", "connection"], rows: Rows) -> None:
    """Report ``rows()`` (dicts of COLUMNS) in :func:`status`: the engine registers the
    definitions' env vars ("env"), integkit's connect the live connections ("connection")."""
    _sources[source] = rows


def _rows(source: str) -> list[dict[str, Any]]:
    rows = _sources.get(source)
    return rows() if rows is not None else []


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


def status(store: TokenStore | None = None) -> pd.DataFrame:
    """Every credential integkit can see, as a DataFrame: service, source (env, token store,
    connection), name, configured, scheme, detail (masked), expires_in (seconds)."""
    import pandas as pd

    rows = [*_rows("env"), *_token_rows(store or TokenStore()), *_rows("connection")]
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))
