"""integkit: one line per question, for the APIs analysts need.

>>> import integkit as ik
>>> df = ik.stripe.list("charges", created={"gte": "2024-01-01"}).to_frame()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any as _Any

from . import auth, cache, engine, ledger, webhooks
from ._config import Settings, configure, get_settings
from ._connect import connect, quota, rest
from ._connect import default_connection as _default_connection
from ._errors import (
    ApiError,
    AuthenticationError,
    CheckpointError,
    CircuitOpenError,
    ConfigError,
    IntegkitError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    OriginError,
    PaginationError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    SignatureError,
    StateError,
    TimeoutError,
)
from ._events import CallEvent
from ._hooks import off, on
from ._http import ApiDeprecationWarning, ServerHintWarning
from ._notebook import dashboard, login
from ._pagination import PaginationWarning
from ._results import DuplicateRecordWarning, FieldTypeWarning, Page, Result, Stats, gather
from ._state import StateFallbackWarning
from ._version import __version__
from .engine import Connection, available_services
from .ledger import costs, usage

__all__ = [
    "ApiDeprecationWarning",
    "ApiError",
    "AuthenticationError",
    "CallEvent",
    "CheckpointError",
    "CircuitOpenError",
    "ConfigError",
    "Connection",
    "DuplicateRecordWarning",
    "FieldTypeWarning",
    "IntegkitError",
    "InvalidRequestError",
    "NetworkError",
    "NotFoundError",
    "OriginError",
    "Page",
    "PaginationError",
    "PaginationWarning",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "Result",
    "ServerError",
    "ServerHintWarning",
    "Settings",
    "SignatureError",
    "StateError",
    "StateFallbackWarning",
    "Stats",
    "TimeoutError",
    "__version__",
    "auth",
    "available_services",
    "cache",
    "configure",
    "connect",
    "costs",
    "dashboard",
    "engine",
    "gather",
    "get_settings",
    "ledger",
    "login",
    "off",
    "on",
    "quota",
    "rest",
    "sandbox",
    "usage",
    "webhooks",
]


def sandbox(service: str | None = None, **options: _Any) -> _Any:
    """A running local emulator of ``service``, or of any API with ``spec="openapi.yaml"``
    (see :mod:`integkit.sandbox`); needs the ``sandbox`` extra:
    ``pip install "integkit[sandbox]"``."""
    try:
        from .sandbox import sandbox as start

        return start(service, **options)  # an emulator imports what it needs when it starts
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in _SANDBOX_EXTRA:
            raise
        raise ImportError(
            f"ik.sandbox needs the sandbox extra ({exc.name} is missing): "
            'pip install "integkit[sandbox]"'
        ) from exc


# The modules of the ``sandbox`` extra (pyproject.toml), as imported.
_SANDBOX_EXTRA = frozenset({"starlette", "uvicorn", "graphql", "openapi_core"})


def __getattr__(name: str) -> _Any:
    """``ik.stripe``, ``ik.github``...: the default connection of each shipped connector."""
    if not name.startswith("_") and name in available_services():
        return _default_connection(name)
    raise AttributeError(f"module 'integkit' has no attribute {name!r}")
