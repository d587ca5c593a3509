"""Authentication schemes, as ``httpx.Auth`` flows usable in ``ik.rest`` and every connector.

The pipeline runs them once per attempt (see ``integkit/http/_auth.py``), so signatures are
fresh on every retry and tokens are refreshed when due.
"""

from ._aws import aws_session
from ._custom import HeaderAuth, Signed
from ._github_app import GitHubApp, InstallationToken
from ._headless import headless_reason, is_interactive
from ._hmac import Hmac, HmacScheme, verify_hmac
from ._keys import TokenKey, resolve_key
from ._mtls import MutualTLS
from ._oauth import REQUIRED_SCOPES, DeviceLogin, OAuth2, TokenExpiry, TokenExpiryWarning
from ._rotation import AuthEvent, KeyRing, KeyRotationWarning
from ._simple import ApiKey, Basic, Bearer
from ._status import status
from ._tokens import Token, TokenId, TokenKeyError, TokenStore

__all__ = [
    "REQUIRED_SCOPES",
    "ApiKey",
    "AuthEvent",
    "Basic",
    "Bearer",
    "DeviceLogin",
    "GitHubApp",
    "HeaderAuth",
    "Hmac",
    "HmacScheme",
    "InstallationToken",
    "KeyRing",
    "KeyRotationWarning",
    "MutualTLS",
    "OAuth2",
    "Signed",
    "Token",
    "TokenExpiry",
    "TokenExpiryWarning",
    "TokenId",
    "TokenKey",
    "TokenKeyError",
    "TokenStore",
    "aws_session",
    "headless_reason",
    "is_interactive",
    "resolve_key",
    "status",
    "verify_hmac",
]
