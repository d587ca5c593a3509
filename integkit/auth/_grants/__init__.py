"""The OAuth 2.0 grants ``OAuth2`` can use, one module each (as authlib keeps its grants), all
speaking to the token endpoint through ``TokenEndpoint``."""

from ._authorization_code import AuthorizationCode, PendingLogin, not_started
from ._base import GRANTS, PERSON_GRANTS, Grant, GrantName
from ._client_credentials import ClientCredentials
from ._device_code import DEVICE_CODE_GRANT, DeviceCode, DeviceLogin
from ._jwt_bearer import JWT_BEARER_GRANT, JwtBearer, load_service_account
from ._loopback import Loopback
from ._refresh_token import RefreshToken, refresh

__all__ = [
    "DEVICE_CODE_GRANT",
    "GRANTS",
    "JWT_BEARER_GRANT",
    "PERSON_GRANTS",
    "AuthorizationCode",
    "ClientCredentials",
    "DeviceCode",
    "DeviceLogin",
    "Grant",
    "GrantName",
    "JwtBearer",
    "Loopback",
    "PendingLogin",
    "RefreshToken",
    "load_service_account",
    "not_started",
    "refresh",
]
