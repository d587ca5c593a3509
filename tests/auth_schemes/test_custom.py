"""HeaderAuth and Signed over real HTTP."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.auth._custom import HeaderAuth, Signed


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"headers": dict(request.headers), "query": dict(request.query_params),
                         "sha": hashlib.sha256(body).hexdigest()})


APP = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])


def test_header_auth_sends_every_header_and_masks_the_secret_ones(serve) -> None:
    token = "tok_custom_0123456789"
    auth = HeaderAuth({"X-Api-User": "analyst@example.com", "X-Api-Token": token},
                      public=("X-Api-User",))
    api = ik.rest(serve(APP).url, auth=auth, cache=False)
    headers = api.request("GET", "/echo")["headers"]
    assert headers["x-api-user"] == "analyst@example.com" and headers["x-api-token"] == token
    assert repr(auth) == "HeaderAuth({'X-Api-User': 'analyst@example.com', " \
                         "'X-Api-Token': 'tok_***'})"
    assert auth.names == ["X-Api-User", "X-Api-Token"]
    assert token not in repr(api)


def test_header_auth_refuses_missing_values() -> None:
    with pytest.raises(ik.ConfigError, match="no value for X-Api-Token"):
        HeaderAuth({"X-Api-User": "me", "X-Api-Token": ""})
    with pytest.raises(ik.ConfigError, match="at least one header"):
        HeaderAuth({})


def test_signed_runs_the_function_on_each_request_with_its_body(serve) -> None:
    seen: list[str] = []

    def sign(request: httpx.Request) -> None:
        digest = hashlib.sha256(request.content).hexdigest()
        seen.append(request.method)
        request.headers["X-Body-SHA256"] = digest
        request.url = request.url.copy_merge_params({"sig": digest[:8]})

    api = ik.rest(serve(APP).url, auth=Signed(sign), cache=False)
    answer = api.request("POST", "/echo", json={"rows": [1, 2, 3]})
    assert answer["headers"]["x-body-sha256"] == answer["sha"]
    assert answer["query"]["sig"] == answer["sha"][:8]
    api.request("GET", "/echo")
    assert seen == ["POST", "GET"]
    assert repr(Signed(sign)).startswith("Signed(test_signed_runs")


def test_signed_may_return_a_new_request(serve) -> None:
    def rebuild(request: httpx.Request) -> httpx.Request:
        return httpx.Request(request.method, request.url, headers={"X-Rebuilt": "yes"})

    with httpx.Client(auth=Signed(rebuild, name="rebuild")) as client:
        answer = client.get(serve(APP).url + "/echo").json()
    assert answer["headers"]["x-rebuilt"] == "yes"
    with pytest.raises(ik.ConfigError):
        Signed("not callable")  # type: ignore[arg-type]
