"""The public surface is deliberate: sorted, complete, importable."""

from __future__ import annotations

import integkit as ik


def test_all_is_sorted_and_importable() -> None:
    names = [n for n in ik.__all__ if n != "__version__"]
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    for name in ik.__all__:
        assert hasattr(ik, name), name


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
