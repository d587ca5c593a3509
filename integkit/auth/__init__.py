"""Authentication schemes, as ``httpx.Auth`` flows usable in ``ik.rest`` and every connector."""

from ._simple import ApiKey, Basic, Bearer

__all__ = ["ApiKey", "Basic", "Bearer"]
