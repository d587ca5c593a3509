"""The public surface is deliberate: sorted, complete, importable."""

from __future__ import annotations
import __future__

import importlib
import types

import pytest

import integkit as ik


def test_all_is_sorted_and_importable() -> None:
    names = [n for n in ik.__all__ if n != "__version__"]
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    for name in ik.__all__:
        assert hasattr(ik, name), name


#: What ``import integkit as ik`` offers, name for name: a name added to or dropped from the
#: public surface is a decision made here, with the README and the notebooks.
PUBLIC = {
    "integkit": [
        "ApiDeprecationWarning", "ApiError", "AuthenticationError", "CallEvent",
        "CheckpointError", "CircuitOpenError", "ConfigError", "Connection",
        "DuplicateRecordWarning", "FieldTypeWarning", "IntegkitError", "InvalidRequestError",
        "NetworkError", "NotFoundError", "OriginError", "Page", "PaginationError",
        "PaginationWarning", "PermissionDeniedError", "QuotaExceededError", "RateLimitError",
        "Result", "ServerError", "ServerHintWarning", "Settings", "SignatureError", "StateError",
        "StateFallbackWarning", "Stats", "TimeoutError", "__version__", "auth",
        "available_services", "cache", "configure", "connect", "costs", "dashboard", "engine",
        "gather",
        "get_settings", "ledger", "login", "off", "on", "quota", "rest", "sandbox", "usage",
        "webhooks",
    ],
}


def _public_names(module: types.ModuleType) -> set[str]:
    """The names a user sees in ``dir(module)`` without a leading underscore (the
    ``annotations`` a ``from __future__ import`` binds is not one)."""
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, __future__._Feature)}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_exactly_the_public_surface(name: str) -> None:
    """``__all__`` lists every public name, and no public name hides outside it: the
    packages users should not import, and the helpers modules import, are private."""
    # every public package imported first, so that their attributes are all bound
    for package in ("auth", "cache", "engine", "ledger", "webhooks", "sandbox"):
        importlib.import_module(f"integkit.{package}")
    module = importlib.import_module(name)
    assert sorted(module.__all__) == sorted(PUBLIC[name])
    assert _public_names(module) | {"__version__"} == set(PUBLIC[name])


@pytest.mark.parametrize("name", ["integkit.auth", "integkit.cache", "integkit.engine",
                                  "integkit.ledger", "integkit.webhooks"])
def test_public_packages_show_only_what_they_export(name: str) -> None:
    module = importlib.import_module(name)
    assert _public_names(module) == set(module.__all__)


def test_private_modules_declare_all() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(ik.__path__, "integkit."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") and not leaf.startswith("__") and "sandbox" not in info.name:
            module = importlib.import_module(info.name)
            assert hasattr(module, "__all__"), info.name


def test_default_connection_by_attribute(monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_from_env_123456")
    import integkit._connect as connect_module

    connect_module._defaults.pop("stripe", None)  # noqa: SLF001
    assert ik.stripe.service == "stripe" and ik.stripe is ik.stripe
    assert "sk_test_from_env" not in repr(ik.stripe)
    connect_module._defaults.pop("stripe", None)  # noqa: SLF001


def test_unknown_attribute_and_service() -> None:
    import pytest

    with pytest.raises(AttributeError):
        ik.not_a_service  # noqa: B018
    with pytest.raises(ik.ConfigError, match="unknown service 'nope'.*ik.rest"):
        ik.connect("nope")
