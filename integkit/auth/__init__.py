"""Authentication schemes, as ``httpx.Auth`` flows usable in ``ik.rest`` and every connector.

The pipeline runs them once per attempt (see ``integkit/_http/_auth.py``), so signatures are
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
    Loopback,
    RefreshToken,
)
from ._headless import INTERACTIVE_ENV, headless_reason, ipython_shell, is_interactive
from ._hmac import Hmac, HmacScheme, verify_hmac
from ._identity import auth_identity, stable_identity
from ._keys import TokenKey, resolve_key
from ._mtls import MutualTLS
from ._oauth import GRANTS, OAuth2, default_store
from ._oauth_client import OAuthClient
from ._oauth_expiry import TokenExpiry, TokenExpiryWarning
from ._oauth_setup import TokenPolicy
from ._oauth_token import REQUIRED_SCOPES
from ._rotation import AuthEvent, KeyRing, KeyRotationWarning, mask
from ._simple import ApiKey, Basic, Bearer
from ._status import add_status_rows, status
from ._tokens import Token, TokenId, TokenKeyError, TokenStore

__all__ = [
    "ApiKey",
    "AuthEvent",
    "AuthorizationCode",
    "Basic",
    "Bearer",
    "ClientCredentials",
    "DeviceCode",
    "DeviceLogin",
    "GRANTS",
    "GitHubApp",
    "HeaderAuth",
    "Hmac",
    "HmacScheme",
    "INTERACTIVE_ENV",
    "InstallationToken",
    "JwtBearer",
    "KeyRing",
    "KeyRotationWarning",
    "Loopback",
    "MutualTLS",
    "OAuth2",
    "OAuthClient",
    "REQUIRED_SCOPES",
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
    "auth_identity",
    "aws_session",
    "default_store",
    "headless_reason",
    "ipython_shell",
    "is_interactive",
    "mask",
    "resolve_key",
    "stable_identity",
    "add_status_rows",
    "status",
    "verify_hmac",
]
