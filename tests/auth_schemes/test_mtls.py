"""Mutual TLS over real HTTPS on 127.0.0.1: a uvicorn server that requires a client
certificate from its CA; MutualTLS's context gets through, no certificate does not."""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.auth._mtls import MutualTLS
from integkit.auth._simple import Bearer
from integkit.sandbox._server import _loopback_socket

from ._certs import Issued, issue, make_ca


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "authorization": request.headers.get("authorization")})


APP = Starlette(routes=[Route("/whoami", whoami)])


class TLSServer:
    """uvicorn on a loopback port with ``ssl_cert_reqs=CERT_REQUIRED``, in a thread."""

    def __init__(self, server_cert: Issued, ca: Issued) -> None:
        import uvicorn

        self._sock = _loopback_socket()
        self.url = f"https://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(
            APP, log_level="critical", access_log=False, lifespan="off",
            ssl_certfile=str(server_cert.cert), ssl_keyfile=str(server_cert.key),
            ssl_ca_certs=str(ca.cert), ssl_cert_reqs=ssl.CERT_REQUIRED, timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> TLSServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the TLS server did not start"
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Issued]:
    folder = tmp_path_factory.mktemp("pki")
    ca = make_ca(folder)
    stranger = make_ca(folder, "stranger CA")
    return {
        "ca": ca,
        "server": issue(ca, folder, "127.0.0.1", server=True),
        "client": issue(ca, folder, "reporting-client"),
        "locked": issue(ca, folder, "locked-client", password=b"open sesame"),
        "other": issue(ca, folder, "other-client"),
        "foreign": issue(stranger, folder, "foreign-client"),
    }


@pytest.fixture(scope="module")
def server(pki) -> Iterator[TLSServer]:
    with TLSServer(pki["server"], pki["ca"]) as running:
        yield running


def test_the_client_certificate_opens_the_server(server, pki) -> None:
    client = pki["client"]
    mtls = MutualTLS(client.cert, client.key, ca=pki["ca"].cert)
    with ik.rest(server.url, auth=mtls, cache=False) as api:  # the auth brings its cert
        assert api.request("GET", "/whoami")["ok"] is True
    assert mtls.subject == "CN=reporting-client,O=integkit tests"
    assert mtls.ssl_context() is mtls.ssl_context()  # built once


def test_without_a_client_certificate_the_handshake_fails(server, pki) -> None:
    trust_only = ssl.create_default_context(cafile=str(pki["ca"].cert))
    with httpx.Client(verify=trust_only) as plain, pytest.raises(httpx.TransportError):
        plain.get(server.url + "/whoami")
    foreign = MutualTLS(pki["foreign"].cert, pki["foreign"].key, ca=pki["ca"].cert)
    with httpx.Client(verify=foreign.ssl_context()) as stranger, \
            pytest.raises(httpx.TransportError):
        stranger.get(server.url + "/whoami")
    with ik.rest(server.url, verify=trust_only, retry={"maxAttempts": 1}, cache=False) as api, \
            pytest.raises(ik.NetworkError):
        api.request("GET", "/whoami")


def test_the_server_is_checked_against_the_given_ca(server, pki) -> None:
    client = pki["client"]
    public_trust = MutualTLS(client.cert, client.key)  # default CAs: the test CA is unknown
    with httpx.Client(verify=public_trust.ssl_context()) as http, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(server.url + "/whoami")


def test_pem_text_encrypted_keys_and_an_inner_scheme(server, pki) -> None:
    locked, ca = pki["locked"], pki["ca"]
    token = "tok_inner_bearer_123456"
    mtls = MutualTLS(locked.cert.read_text(), locked.key.read_text(),
                     password="open sesame", ca=ca.cert.read_text(), auth=Bearer(token))
    with ik.rest(server.url, auth=mtls, verify=mtls.ssl_context(), cache=False) as api:
        assert api.request("GET", "/whoami")["authorization"] == f"Bearer {token}"
    assert token not in repr(mtls) and "open sesame" not in repr(mtls)


def test_one_file_with_certificate_and_key(server, pki, tmp_path) -> None:
    client = pki["client"]
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(client.cert.read_bytes() + client.key.read_bytes())
    mtls = MutualTLS(bundle, ca=pki["ca"].cert)
    with httpx.Client(verify=mtls.ssl_context(), auth=mtls) as http:
        assert http.get(server.url + "/whoami").status_code == 200


def test_clear_errors_for_bad_files(pki, tmp_path: Path) -> None:
    client, other, locked = pki["client"], pki["other"], pki["locked"]
    with pytest.raises(ik.ConfigError, match="certificate file .*missing.pem.* does not exist"):
        MutualTLS(tmp_path / "missing.pem", client.key)
    with pytest.raises(ik.ConfigError, match="key file .* does not exist"):
        MutualTLS(client.cert, tmp_path / "missing.key")
    with pytest.raises(ik.ConfigError, match="does not match the certificate"):
        MutualTLS(client.cert, other.key)
    with pytest.raises(ik.ConfigError, match="encrypted: pass password="):
        MutualTLS(locked.cert, locked.key)
    with pytest.raises(ik.ConfigError, match="wrong password"):
        MutualTLS(locked.cert, locked.key, password="guess")
    with pytest.raises(ik.ConfigError, match="not encrypted: drop password="):
        MutualTLS(client.cert, client.key, password="x")
    with pytest.raises(ik.ConfigError, match="not a PEM certificate"):
        MutualTLS(client.key, client.key)
    with pytest.raises(ik.ConfigError, match="no private key in the certificate file"):
        MutualTLS(client.cert)
    with pytest.raises(ik.ConfigError, match="CA file .* does not exist"):
        MutualTLS(client.cert, client.key, ca=tmp_path / "nope.pem").ssl_context()
    with pytest.raises(ik.ConfigError, match="is a directory"):
        MutualTLS(tmp_path, client.key)
    if os.geteuid() != 0:  # root reads anything
        unreadable = tmp_path / "unreadable.key"
        unreadable.write_bytes(client.key.read_bytes())
        unreadable.chmod(0)
        with pytest.raises(ik.ConfigError, match="cannot read the key file"):
            MutualTLS(client.cert, unreadable)


def test_an_expired_certificate_warns(pki, tmp_path) -> None:
    expired = issue(pki["ca"], tmp_path, "expired-client", days=-1)
    with pytest.warns(UserWarning, match="expired on"):
        MutualTLS(expired.cert, expired.key)
