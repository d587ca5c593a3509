"""The device authorization grant (RFC 8628), for kernels whose browser is elsewhere: show a
code and a URL (:meth:`DeviceCode.start`), then poll the token endpoint at the server's
interval until the person approves (:meth:`DeviceCode.poll`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..._errors import AuthenticationError, ConfigError
from ..._events import register_secret
from ..._validate import duration
from .._oauth_client import OAuthClient
from .._oauth_endpoint import TokenEndpoint, oauth_error
from ._base import Grant, GrantName

__all__ = ["DEVICE_CODE_GRANT", "DeviceCode", "DeviceLogin"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class DeviceLogin:
    """What the user must do to approve a device login (RFC 8628)."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float
    interval: float

    def __str__(self) -> str:
        where = self.verification_uri_complete or self.verification_uri
        return f"Open {where} and enter the code {self.user_code}"

    def _repr_html_(self) -> str:
        where = self.verification_uri_complete or self.verification_uri
        return (f"Open <a href='{where}' target='_blank'>{self.verification_uri}</a> and enter "
                f"the code <b><code>{self.user_code}</code></b>")


@dataclass
class _Pending:
    device_code: str = field(repr=False)
    login: DeviceLogin


@dataclass(eq=False)
class DeviceCode(Grant):
    """Device logins started at ``device_authorization_url``.

    >>> grant = ik.auth.DeviceCode("https://oauth2.example.com/device/code")  # doctest: +SKIP
    """

    name: ClassVar[GrantName] = "device_code"
    label: ClassVar[str] = "device"

    device_authorization_url: str
    _pending: _Pending | None = field(default=None, init=False, repr=False)

    @classmethod
    def needs(cls, client: OAuthClient) -> list[str]:
        return [] if client.client_id else ["client_id"]

    def start(self, endpoint: TokenEndpoint, scopes: Sequence[str]) -> DeviceLogin:
        """Ask for a device code: the returned code and URL are for the person to use."""
        url = self.device_authorization_url
        data = {"scope": " ".join(scopes)} if scopes else {}
        refusal = oauth_error()

        def request(client: Any) -> Any:
            auth = client.client_auth(client.token_endpoint_auth_method)
            headers = {"Accept": "application/json",
                       "Content-Type": "application/x-www-form-urlencoded"}
            response = client.post(url, data=data, auth=auth, headers=headers)
            body = response.json()
            if "error" in body:
                raise refusal(body["error"], body.get("error_description"))
            response.raise_for_status()
            return body

        body = endpoint.call("the device authorization", request)
        register_secret(body.get("device_code"))
        login = DeviceLogin(
            user_code=body["user_code"],
            verification_uri=body.get("verification_uri") or body.get("verification_url"),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_at=time.time() + float(body.get("expires_in", 600)),
            interval=float(body.get("interval", 5)),
        )
        self._pending = _Pending(body["device_code"], login)
        return login

    def poll(self, endpoint: TokenEndpoint, *, timeout: float | str | None,
             sleep: Callable[[float], None]) -> dict[str, Any]:
        """The token response once the person approves, polling at the server's interval
        (``slow_down`` adds 5 s), at most ``timeout`` (any duration) besides the code's own
        expiry."""
        pending = self._pending
        if pending is None:
            raise ConfigError("call start_device() before poll_device()")
        service = endpoint.advice.service
        refusal = oauth_error()
        interval = pending.login.interval
        deadline = pending.login.expires_at + 2 * interval
        if timeout is not None:
            deadline = min(deadline, time.time() + duration(timeout, "timeout"))
        while True:
            sleep(interval)
            try:
                raw = endpoint.call("the device code", lambda c: c.fetch_token(
                    endpoint.url, grant_type=DEVICE_CODE_GRANT,
                    device_code=pending.device_code), raw_errors=True)
            except refusal as exc:
                error = getattr(exc, "error", None)
                if error == "slow_down":
                    interval += 5
                elif error == "expired_token":
                    self._pending = None
                    raise AuthenticationError(
                        "the device code expired before the login was approved",
                        service=service, code=error,
                        hint="Call auth.start_device() again and approve sooner.") from None
                elif error == "access_denied":
                    self._pending = None
                    raise AuthenticationError("the device login was denied", service=service,
                                              code=error) from None
                elif error != "authorization_pending":
                    raise endpoint.advice.refused("the device code", error,
                                                  getattr(exc, "description", None)) from None
            else:
                self._pending = None
                return dict(raw)
            if time.time() + interval > deadline:
                raise AuthenticationError(
                    "the device login was not approved in time", service=service,
                    hint=f"Open {pending.login.verification_uri}, enter "
                         f"{pending.login.user_code}, then poll again.")
