"""Authentication schemes, as ``httpx.Auth`` flows usable in ``ik.rest`` and every connector.

The pipeline runs them once per attempt (see ``integkit/http/_auth.py``), so signatures are
fresh on every retry and tokens are refreshed when due.
"""

from ._aws import aws_session
from ._custom import HeaderAuth, Signed
from ._github_app import GitHubApp, InstallationToken
from ._hmac import Hmac, HmacScheme, verify_hmac
from ._mtls import MutualTLS
from ._rotation import AuthEvent, KeyRing, KeyRotationWarning
from ._simple import ApiKey, Basic, Bearer

__all__ = [
    "ApiKey",
    "AuthEvent",
    "Basic",
    "Bearer",
    "GitHubApp",
    "HeaderAuth",
    "Hmac",
    "HmacScheme",
    "InstallationToken",
    "KeyRing",
    "KeyRotationWarning",
    "MutualTLS",
    "Signed",
    "aws_session",
    "verify_hmac",
]
