"""The emulators, one module per service; a new one is a single line in ``EMULATORS``."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..._errors import ConfigError

__all__ = ["EMULATORS", "emulator_class", "known_services"]

# service name -> "module:class" (imported on first use, so the registry costs nothing)
EMULATORS: dict[str, str] = {
    "stripe": "integkit.sandbox.services.stripe:StripeEmulator",
    "github": "integkit.sandbox.services.github:GitHubEmulator",
    "salesforce": "integkit.sandbox.services.salesforce:SalesforceEmulator",
    "shopify": "integkit.sandbox.services.shopify:ShopifyEmulator",
    "slack": "integkit.sandbox.services.slack:SlackEmulator",
}


def known_services() -> list[str]:
    return sorted(EMULATORS)


def emulator_class(service: str) -> Any:
    """The emulator class registered for ``service``; ConfigError names the known ones."""
    target = EMULATORS.get(service.lower().strip()) if isinstance(service, str) else None
    if target is None:
        raise ConfigError(
            f"no sandbox emulator for {service!r}; known services: {', '.join(known_services())}"
        )
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)
