"""HMAC signing over real HTTP: the server checks with verify_hmac and the same scheme."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.auth._hmac import Hmac, HmacScheme, canonical_target, verify_hmac

SECRET = "hmac-secret-0123456789abcdef"
SECRETS = {"analyst-1": SECRET, "robot-7": b"\x00binary-secret\xff"}


def verifying_app(scheme: HmacScheme, **options) -> tuple[Starlette, set[str]]:
    """Echoes the key id of a good signature; 401 with the reason otherwise."""
    nonces: set[str] = set()

    async def endpoint(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            key_id = verify_hmac(request.method, str(request.url), request.headers, body,
                                 SECRETS, scheme=scheme, seen_nonces=nonces, **options)
        except ik.SignatureError as exc:
            return JSONResponse({"message": str(exc)}, status_code=401)
        return JSONResponse({"key_id": key_id, "bytes": len(body)})

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT"])])
    return app, nonces


def test_signed_requests_are_verified_by_the_server(serve) -> None:
    auth = Hmac("analyst-1", SECRET)
    app, nonces = verifying_app(auth.scheme)
    api = ik.rest(serve(app).url, auth=auth, cache=False)
    assert api.request("POST", "/v1/orders", json={"sku": "A-1", "qty": 3}) == {
        "key_id": "analyst-1", "bytes": 21}
    # a path and query that encode differently in client and server frameworks
    assert api.request("GET", "/v1/reports/q3 2024", params={"name": "a b", "z": "é", "a": "1"}
                       )["key_id"] == "analyst-1"
    assert len(nonces) == 2


def _send_signed(url: str, auth: Hmac, tamper=None, **request) -> httpx.Response:
    signed = auth.sign(httpx.Request(url=url, **request))
    if tamper is not None:
        signed = tamper(signed)
    with httpx.Client() as client:
        return client.send(signed)


def test_tampering_is_refused(serve) -> None:
    auth = Hmac("analyst-1", SECRET)
    app, _ = verifying_app(auth.scheme)
    url = serve(app).url + "/v1/orders?account=42"

    def new_body(req: httpx.Request) -> httpx.Request:
        return httpx.Request(req.method, req.url, headers={**req.headers, "content-length": "26"},
                             content=b'{"sku": "A-1", "qty": 300}')

    def new_query(req: httpx.Request) -> httpx.Request:
        return httpx.Request(req.method, req.url.copy_set_param("account", "43"),
                             headers=req.headers, content=req.content)

    def new_header(req: httpx.Request) -> httpx.Request:
        req.headers["content-type"] = "text/plain"
        return req

    ok = _send_signed(url, auth, method="POST", content=b'{"sku": "A-1", "qty": 3}',
                      headers={"content-type": "application/json"})
    assert ok.status_code == 200
    for tamper in (new_body, new_query, new_header):
        answer = _send_signed(url, auth, tamper, method="POST",
                              content=b'{"sku": "A-1", "qty": 3}',
                              headers={"content-type": "application/json"})
        assert answer.status_code == 401, tamper.__name__
        assert "signature does not match" in answer.json()["message"]


def test_wrong_secret_unknown_key_stale_and_replayed_requests(serve) -> None:
    scheme = HmacScheme()
    app, _ = verifying_app(scheme)
    url = serve(app).url + "/v1/ping"
    wrong = _send_signed(url, Hmac("analyst-1", "not-the-secret-at-all"), method="GET")
    assert "signature does not match" in wrong.json()["message"]
    unknown = _send_signed(url, Hmac("intruder", SECRET), method="GET")
    assert unknown.json()["message"] == "unknown key id 'intruder'"
    stale = _send_signed(url, Hmac("analyst-1", SECRET, clock=lambda: 1_000_000_000), method="GET")
    assert "outside the 300s window" in stale.json()["message"]
    unsigned = httpx.get(url)
    assert "has no Authorization header" in unsigned.json()["message"]

    signed = Hmac("analyst-1", SECRET).sign(httpx.Request("GET", url))
    with httpx.Client() as client:
        assert client.send(signed).status_code == 200
        again = client.send(signed)
    assert again.status_code == 401 and "replayed" in again.json()["message"]


def test_every_setting_is_shared_by_both_sides(serve) -> None:
    auth = Hmac("robot-7", SECRETS["robot-7"], algorithm="sha512", header="X-Signature",
                template="v1 keyId={key_id} alg=hmac-{algorithm} sig={signature}",
                signed_headers=("host", "x-tenant"), timestamp_header="Date",
                nonce_header=None, encoding="hex", include_body_digest=False)
    app, _ = verifying_app(auth.scheme)
    api = ik.rest(serve(app).url, auth=auth, headers={"X-Tenant": "acme"}, cache=False)
    assert api.request("PUT", "/v2/items/9", json={"a": 1})["key_id"] == "robot-7"

    request = auth.sign(httpx.Request("GET", "https://api.example.com/x",
                                      headers={"X-Tenant": "acme"}))
    value = request.headers["X-Signature"]
    assert value.startswith("v1 keyId=robot-7 alg=hmac-sha512 sig=") and len(value) > 128
    assert "GMT" in request.headers["Date"] and "x-nonce" not in request.headers
    assert auth.verify("GET", "https://api.example.com/x", request.headers, b"") == "robot-7"
    request.headers["X-Tenant"] = "other"
    with pytest.raises(ik.SignatureError, match="does not match"):
        auth.verify("GET", "https://api.example.com/x", request.headers, b"")
    with pytest.raises(ik.SignatureError, match="not of the form"):
        verify_hmac("GET", "/x", {"X-Signature": "HMAC robot-7:abc", "Date": "x"}, b"",
                    SECRETS, scheme=auth.scheme)


def test_canonical_string_is_a_pure_function() -> None:
    scheme = HmacScheme(signed_headers=("Content-Type", "Host"))
    headers = {"X-Timestamp": "1718000000", "X-Nonce": "n1", "Host": "api.example.com",
               "content-type": "application/json"}
    canonical = scheme.canonical("post", "https://api.example.com/v1/o%20rders?b=2&a=1",
                                 headers, b"{}")
    assert canonical.decode().split("\n") == [
        "POST", "/v1/o%20rders?a=1&b=2", "1718000000", "n1", "content-type:application/json",
        "host:api.example.com",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    ]
    assert canonical_target("/a?b=2&a=1") == canonical_target("/a?a=1&b=2") == "/a?a=1&b=2"
    assert canonical_target("/r/q3 2024?n=a+b") == canonical_target("/r/q3%202024?n=a%20b")


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ik.ConfigError, match="unknown algorithm"):
        Hmac("k", SECRET, algorithm="sha999")
    with pytest.raises(ik.ConfigError, match="needs {key_id} and {signature}"):
        Hmac("k", SECRET, template="HMAC {key_id}")
    with pytest.raises(ik.ConfigError, match="base64' or 'hex'"):
        HmacScheme(encoding="base32")
