"""The credential env vars the shipped definitions read: ``ik.auth.status()``'s "env" rows.

Registered with integkit.auth (``add_status_rows``) by the engine's package, since auth sits
below the engine and cannot read definitions itself. A row says whether a variable is set,
never its value.
"""

from __future__ import annotations

import os
from typing import Any

from ._loader import available_services, load_definition

__all__ = ["env_rows"]


def _names(value: Any) -> list[str]:
    """Env var names from a definition: one name, a list, or a mapping of param -> name."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        value = list(value.values())
    return [v for v in value or () if isinstance(v, str) and v]


def env_rows() -> list[dict[str, Any]]:
    """One row per shipped connector's credential env var, set or not."""
    rows: list[dict[str, Any]] = []
    for service in available_services():
        spec = load_definition(service).auth
        for var in _names(spec.get("env")) + _names(spec.get("password_env")):
            rows.append({"service": service, "source": "env", "name": var,
                         "configured": bool(os.environ.get(var)),
                         "scheme": spec.get("type"), "detail": "", "expires_in": None})
    return rows
