"""Authentication schemes, as ``httpx.Auth`` flows usable in ``ik.rest`` and every connector.

The pipeline runs them once per attempt (see ``integkit/http/_auth.py``), so signatures are
fresh on every retry and tokens are refreshed when due.
"""

from ._aws import aws_session
from ._custom import HeaderAuth, Signed
from ._github_app import GitHubApp, InstallationToken
from ._grants import (
    AuthorizationCode,
    ClientCredentials,
    DeviceCode,
    DeviceLogin,
    JwtBearer,
    RefreshToken,
)
from ._headless import headless_reason, is_interactive
from ._hmac import Hmac, HmacScheme, verify_hmac
from ._keys import TokenKey, resolve_key
from ._mtls import MutualTLS
from ._oauth import OAuth2
from ._oauth_client import OAuthClient
from ._oauth_expiry import TokenExpiry, TokenExpiryWarning
from ._oauth_setup import TokenPolicy
from ._oauth_token import REQUIRED_SCOPES
from ._rotation import AuthEvent, KeyRing, KeyRotationWarning
from ._simple import ApiKey, Basic, Bearer
from ._status import status
from ._tokens import Token, TokenId, TokenKeyError, TokenStore

__all__ = [
    "REQUIRED_SCOPES",
    "ApiKey",
    "AuthEvent",
    "AuthorizationCode",
    "Basic",
    "Bearer",
    "ClientCredentials",
    "DeviceCode",
    "DeviceLogin",
    "GitHubApp",
    "HeaderAuth",
    "Hmac",
    "HmacScheme",
    "InstallationToken",
    "JwtBearer",
    "KeyRing",
    "KeyRotationWarning",
    "MutualTLS",
    "OAuth2",
    "OAuthClient",
    "RefreshToken",
    "Signed",
    "Token",
    "TokenExpiry",
    "TokenExpiryWarning",
    "TokenId",
    "TokenKey",
    "TokenKeyError",
    "TokenPolicy",
    "TokenStore",
    "aws_session",
    "headless_reason",
    "is_interactive",
    "resolve_key",
    "status",
    "verify_hmac",
]
