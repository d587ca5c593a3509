"""AWS credentials: a boto3 Session from the standard chain, or from an assumed role that
renews itself.

AWS calls go through boto3/botocore (SigV4, the credential chain, retries), not httpx. This
module gives integkit's AWS connectors, and analysts, one way to get a session:

- ``aws_session()``: boto3's own chain (env vars, ``~/.aws`` profiles, SSO, instance roles).
- ``aws_session(role_arn=...)``: those credentials call STS ``AssumeRole``; the result is a
  botocore ``RefreshableCredentials`` that calls AssumeRole again shortly before the
  temporary credentials expire, so an hours-long notebook run never hits ``ExpiredToken``.
  "Shortly" is relative to the credentials' own lifetime: botocore's fixed windows (renew
  from 15 minutes before expiry, block from 10) would renew 15-minute credentials
  (``duration=900``) on every call; here they are the last quarter and sixth of the lifetime,
  at most botocore's (so an hour's credentials renew as botocore renews them).

boto3 is the optional ``aws`` extra and is imported only here, on first use.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._errors import AuthenticationError, ConfigError, PermissionDeniedError
from .._events import emit, logger, register_secret
from .._validate import positive_duration
from ._rotation import AuthEvent, mask

if TYPE_CHECKING:
    import boto3

__all__ = ["aws_session"]

_INSTALL = 'AWS support needs boto3: pip install "integkit[aws]"'
# botocore's windows before expiry: renew when one call can (advisory), every call waits for
# the renewal (mandatory); scaled down for credentials that live less than an hour.
_ADVISORY, _MANDATORY = 15 * 60, 10 * 60
_ADVISORY_SHARE, _MANDATORY_SHARE = 1 / 4, 1 / 6


def refresh_windows(lifetime: float) -> tuple[float, float]:
    """(advisory, mandatory) seconds before expiry for credentials valid ``lifetime`` seconds.

    >>> refresh_windows(3600), refresh_windows(900)
    ((900.0, 600.0), (225.0, 150.0))
    """
    lifetime = max(float(lifetime), 0.0)
    return (min(_ADVISORY, lifetime * _ADVISORY_SHARE),
            min(_MANDATORY, lifetime * _MANDATORY_SHARE))


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return boto3


def aws_session(
    profile: str | None = None,
    region: str | None = None,
    role_arn: str | None = None,
    session_name: str = "integkit",
    duration: float | str = 3600,
    external_id: str | None = None,
    endpoint_url: str | None = None,
) -> boto3.Session:
    """A boto3 Session: the usual credential chain, or a role assumed with it.

    Args:
        profile: a named profile from ``~/.aws/config`` (else ``AWS_PROFILE`` / the default).
        region: the region for clients (else the profile's or ``AWS_DEFAULT_REGION``).
        role_arn: assume this role; the credentials then renew themselves before expiry.
        session_name: ``RoleSessionName``, shown in CloudTrail.
        duration: ``DurationSeconds`` of each set of temporary credentials, in seconds or
            as a duration (``"1h"``, ``"PT15M"``): 15 minutes to the role's maximum session.
        external_id: ``ExternalId``, when the role's trust policy requires one.
        endpoint_url: the STS endpoint (a VPC endpoint, or a local emulator).

    >>> s3 = aws_session(role_arn="arn:aws:iam::123456789012:role/analytics").client("s3")
    ... # doctest: +SKIP
    """
    boto3_ = _boto3()
    source = boto3_.Session(profile_name=profile, region_name=region)
    if role_arn is None:
        return source
    seconds = int(positive_duration(duration, "aws_session: duration"))
    if not 900 <= seconds <= 43_200:
        raise ConfigError(f"aws_session: duration={duration!r} must be 15 minutes to 12 hours "
                          "(900..43200 seconds)")

    from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
    from botocore.exceptions import ClientError, NoCredentialsError
    from botocore.session import get_session

    sts_region = region or source.region_name or "us-east-1"
    sts = source.client("sts", region_name=sts_region, endpoint_url=endpoint_url)
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name,
                              "DurationSeconds": seconds}
    if external_id:
        register_secret(external_id)
        params["ExternalId"] = external_id

    def assume() -> dict[str, str]:
        """One AssumeRole call, in the shape RefreshableCredentials wants."""
        asked = time.time()
        try:
            answer = sts.assume_role(**params)
        except NoCredentialsError:
            raise ConfigError(
                f"no AWS credentials to assume {role_arn} with: set AWS_PROFILE (or pass "
                "profile=), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
            ) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            status = meta.get("HTTPStatusCode")
            cls = PermissionDeniedError if error.get("Code") == "AccessDenied" \
                else AuthenticationError
            raise cls(
                f"AssumeRole {role_arn}: {error.get('Message') or error.get('Code')}",
                service="sts", endpoint="AssumeRole", status=status,
                request_id=meta.get("RequestId"), code=error.get("Code"),
                hint="The source credentials must be allowed sts:AssumeRole on the role, and "
                     "the role's trust policy must trust them (and the ExternalId, if set).",
            ) from None
        creds = answer["Credentials"]
        for secret in (creds["SecretAccessKey"], creds["SessionToken"]):
            register_secret(secret)
        expiry = creds["Expiration"]
        if hasattr(expiry, "timestamp"):
            lifetimes.append(expiry.timestamp() - asked)
        expiry_text = expiry.isoformat() if hasattr(expiry, "isoformat") else str(expiry)
        message = f"assumed {role_arn} as {mask(creds['AccessKeyId'])} until {expiry_text}"
        logger.debug("integkit: %s", message)
        emit("auth", AuthEvent("token_refreshed", "aws", message,
                               {"role_arn": role_arn, "expires_at": expiry_text}))
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"], "expiry_time": expiry_text}

    lifetimes: list[float] = []
    first = assume()
    advisory, mandatory = refresh_windows(lifetimes[0] if lifetimes else seconds)
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=first, refresh_using=assume, method="assume-role",
        advisory_timeout=advisory, mandatory_timeout=mandatory,
    )

    class _Assumed(CredentialProvider):  # type: ignore[misc]  # botocore is untyped
        METHOD = "assume-role"
        CANONICAL_NAME = "integkit-assume-role"

        def load(self) -> Any:
            return credentials

    assumed = get_session()
    assumed.register_component("credential_provider", CredentialResolver([_Assumed()]))
    client_region = region or source.region_name
    if client_region:
        assumed.set_config_variable("region", client_region)
    return boto3_.Session(botocore_session=assumed)
