"""``aws_session(role_arn=..., duration=900)`` assumes the role once, not once per call: the
credentials are renewed only when near expiry relative to their own lifetime. Against moto's
server (STS and S3, AWS's emulator) on 127.0.0.1, each request counted as it arrives; the clock
is moved with time-machine, never waited for."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")
time_machine = pytest.importorskip("time_machine")

from botocore.config import Config  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from integkit.auth._aws import aws_session, refresh_windows  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/analytics-readonly"
_KEY = re.compile(r"Credential=([A-Z0-9]+)/[^/]+/[^/]+/(\w+)/")


class Counting:
    """WSGI middleware in front of moto: which STS actions were asked for, and which access
    key signed each S3 request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.actions: Counter[str] = Counter()
        self.s3_keys: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        signed = _KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
        with self.lock:
            if signed and signed.group(2) == "sts":
                form = parse_qs(body.decode("utf-8", "replace"))
                self.actions.update(form.get("Action", ["?"]))
            elif signed and signed.group(2) == "s3":
                self.s3_keys.append(signed.group(1))
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[str, Counting]]:
    app = Counting(moto_server.DomainDispatcherApplication(moto_server.create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def source_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Static source keys in the environment, and nothing else boto3 could find."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASOURCEKEY0000002")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret-key-0000000000000000000002")


def test_refresh_windows_scale_with_the_lifetime() -> None:
    assert refresh_windows(3600) == (900, 600)      # botocore's own, for an hour
    assert refresh_windows(43_200) == (900, 600)    # never later than botocore's
    assert refresh_windows(900) == (225, 150)       # the last quarter and sixth
    assert refresh_windows(-5) == (0, 0)


def test_six_s3_calls_on_15_minute_credentials_assume_the_role_once(moto, source_credentials):
    url, seen = moto
    seen.actions.clear()
    seen.s3_keys.clear()
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=True) as traveller:
        session = aws_session(region="us-east-1", role_arn=ROLE, session_name="report",
                              duration=900, endpoint_url=url)
        s3 = session.client("s3", endpoint_url=url,
                            config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="reports")
        for day in range(4):
            s3.put_object(Bucket="reports", Key=f"2025-07-0{day + 1}.csv", Body=b"a,b\n1,2\n")
        listed = s3.list_objects_v2(Bucket="reports")
        assert listed["KeyCount"] == 4
        assert seen.actions["AssumeRole"] == 1, seen.actions
        assert len(seen.s3_keys) == 6 and len(set(seen.s3_keys)) == 1
        assumed = seen.s3_keys[0]
        assert assumed.startswith("ASIA") and assumed != "AKIASOURCEKEY0000002"

        # 10 minutes on: 5 left of 15, outside the last quarter (3 min 45 s): no renewal
        traveller.move_to(start + dt.timedelta(seconds=600))
        s3.head_bucket(Bucket="reports")
        assert seen.actions["AssumeRole"] == 1 and seen.s3_keys[-1] == assumed

        # 14 minutes on: 1 left, inside the last sixth: renewed before the call, once
        traveller.move_to(start + dt.timedelta(seconds=840))
        s3.head_bucket(Bucket="reports")
        s3.head_bucket(Bucket="reports")
        assert seen.actions["AssumeRole"] == 2, seen.actions
        assert seen.s3_keys[-1] != assumed and seen.s3_keys[-1] == seen.s3_keys[-2]
        assert seen.s3_keys[-1].startswith("ASIA")


def test_hour_long_credentials_renew_where_botocore_would(moto, source_credentials) -> None:
    url, seen = moto
    seen.actions.clear()
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=True) as traveller:
        session = aws_session(region="us-east-1", role_arn=ROLE, duration="1h",
                              endpoint_url=url)
        sts = session.client("sts", endpoint_url=url)
        for _ in range(3):
            sts.get_caller_identity()
        traveller.move_to(start + dt.timedelta(minutes=40))   # 20 left: not yet
        sts.get_caller_identity()
        assert seen.actions["AssumeRole"] == 1, seen.actions
        traveller.move_to(start + dt.timedelta(minutes=52))   # 8 left: renewed
        sts.get_caller_identity()
        assert seen.actions["AssumeRole"] == 2, seen.actions
