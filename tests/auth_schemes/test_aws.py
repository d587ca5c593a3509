"""aws_session: boto3 is optional; with it, AssumeRole against a local STS emulator whose
answers have STS's XML shape, reached through endpoint_url on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from urllib.parse import parse_qs

import pytest
import time_machine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import integkit as ik
from integkit.auth._aws import aws_session

ROLE = "arn:aws:iam::123456789012:role/analytics-readonly"
_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def test_without_boto3_the_error_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what a missing package looks like
    with pytest.raises(ImportError, match=r'pip install "integkit\[aws\]"'):
        aws_session()


class FakeSTS:
    """``POST /`` with ``Action=AssumeRole``: STS's XML answer, credentials valid for
    ``lifetime`` seconds (under botocore's 10-minute mark, so each use refreshes them)."""

    def __init__(self, lifetime: int = 120, deny: bool = False) -> None:
        self.lifetime = lifetime
        self.deny = deny
        self.calls: list[dict[str, str]] = []
        self.signatures: list[str] = []
        self.app = Starlette(routes=[Route("/", self.endpoint, methods=["POST"])])

    async def endpoint(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.calls.append(form)
        self.signatures.append(request.headers.get("authorization", ""))
        n = len(self.calls)
        if self.deny:
            return Response(
                f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type>'
                "<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/analyst"
                f" is not authorized to perform: sts:AssumeRole on resource: {ROLE}</Message>"
                f"</Error><RequestId>req-denied-{n}</RequestId></ErrorResponse>",
                status_code=403, media_type="text/xml")
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.lifetime)
        return Response(
            f'<AssumeRoleResponse xmlns="{_NS}"><AssumeRoleResult>'
            "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/analytics-readonly/"
            f"{form.get('RoleSessionName')}</Arn><AssumedRoleId>AROA3XFRBF23:"
            f"{form.get('RoleSessionName')}</AssumedRoleId></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>ASIATESTKEY{n:09d}</AccessKeyId>"
            f"<SecretAccessKey>secret/{n}/wJalrXUtnFEMIK7MDENGbPxRfiCY</SecretAccessKey>"
            f"<SessionToken>session-token-{n}-FwoGZXIvYXdzEBYaD</SessionToken>"
            f"<Expiration>{expires:%Y-%m-%dT%H:%M:%SZ}</Expiration></Credentials>"
            "<PackedPolicySize>6</PackedPolicySize></AssumeRoleResult>"
            f"<ResponseMetadata><RequestId>req-{n}</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>", media_type="text/xml")


@pytest.fixture()
def source_credentials(monkeypatch, tmp_path) -> None:
    """Static source keys in the environment, and nothing else boto3 could find."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASOURCEKEY0000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret-key-0000000000000000000001")


requires_boto3 = pytest.mark.skipif(
    importlib.util.find_spec("boto3") is None,
    reason='boto3 is the optional "aws" extra and is not installed here')


@requires_boto3
def test_assume_role_credentials_refresh_themselves(serve, source_credentials) -> None:
    sts = FakeSTS(lifetime=120)
    server = serve(sts.app)
    session = aws_session(region="eu-west-1", role_arn=ROLE, session_name="nightly-report",
                          duration=900, external_id="ext-id-42", endpoint_url=server.url)
    assert session.region_name == "eu-west-1"
    first = session.get_credentials().get_frozen_credentials()
    assert first.access_key.startswith("ASIATESTKEY") and first.token.startswith("session-token")
    assert sts.calls[0] == {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE,
                            "RoleSessionName": "nightly-report", "DurationSeconds": "900",
                            "ExternalId": "ext-id-42"}
    assert "Credential=AKIASOURCEKEY0000001/" in sts.signatures[0]  # signed with the source
    # the credentials live 120 s: used again at once, they are kept (issue 10: renewal is
    # relative to their lifetime, no longer botocore's fixed 15 minutes, which renewed them on
    # every use); 15 s before expiry, inside the last sixth, the next use renews them
    again = session.get_credentials().get_frozen_credentials()
    assert again.access_key == first.access_key and len(sts.calls) == 1
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=105)):
        second = session.get_credentials().get_frozen_credentials()
    assert second.access_key != first.access_key and len(sts.calls) == 2


@requires_boto3
def test_long_lived_assumed_credentials_are_reused(serve, source_credentials) -> None:
    sts = FakeSTS(lifetime=3600)
    session = aws_session(role_arn=ROLE, endpoint_url=serve(sts.app).url)
    for _ in range(3):
        session.get_credentials().get_frozen_credentials()
    assert len(sts.calls) == 1


@requires_boto3
def test_refused_assume_role_is_a_permission_error(serve, source_credentials) -> None:
    sts = FakeSTS(deny=True)
    with pytest.raises(ik.PermissionDeniedError, match="not authorized to perform") as caught:
        aws_session(role_arn=ROLE, endpoint_url=serve(sts.app).url)
    assert caught.value.code == "AccessDenied" and "trust policy" in str(caught.value)
    with pytest.raises(ik.ConfigError, match="duration=60"):
        aws_session(role_arn=ROLE, duration=60)


@requires_boto3
def test_no_source_credentials_names_what_to_set(serve, source_credentials, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ik.ConfigError, match="AWS_PROFILE"):
        aws_session(role_arn=ROLE, endpoint_url=serve(FakeSTS().app).url)
