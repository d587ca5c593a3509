"""No scheme lets a secret reach a log line, a repr or an error message."""

from __future__ import annotations

import logging
import warnings

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.auth._custom import HeaderAuth
from integkit.auth._github_app import GitHubApp
from integkit.auth._hmac import Hmac
from integkit.auth._rotation import KeyRing
from integkit.auth._simple import ApiKey
from integkit.sandbox._github_app import GitHubAppEmulator

OLD_KEY = "qk_old_secret_1111111111"
NEW_KEY = "qk_new_secret_2222222222"
HMAC_SECRET = "hmac-leak-test-secret-3333"
HEADER_TOKEN = "hdr-leak-test-token-4444"


async def endpoint(request: Request) -> JSONResponse:
    if request.query_params.get("api_key") == OLD_KEY:
        return JSONResponse({"message": "bad key"}, status_code=401)
    return JSONResponse({"ok": True})


APP = Starlette(routes=[Route("/data", endpoint)])


def test_secrets_stay_out_of_logs_reprs_and_errors(serve, caplog, clock) -> None:
    url = serve(APP).url
    emulator = GitHubAppEmulator(repositories=30, token_lifetime=600, clock=clock)
    github = serve(emulator)
    creds = emulator.credentials()
    app = GitHubApp(creds["app_id"], creds["private_key"], installation_id=creds[
        "installation_id"], base_url=github.url, clock=clock)
    ring = KeyRing([OLD_KEY, NEW_KEY], lambda k: ApiKey(k, query="api_key"), service="quotes")
    schemes = [ring, Hmac("k1", HMAC_SECRET), HeaderAuth({"X-Token": HEADER_TOKEN}), app]

    with caplog.at_level(logging.DEBUG, logger="integkit"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for auth in schemes[:3]:
            with ik.rest(url, auth=auth, cache=False) as api:
                api.request("GET", "/data")
        with ik.rest(github.url, auth=app, paginator={"type": "link_header", "limit": 5},
                     records_path="repositories", cache=False) as gh:
            for _ in gh.list("/installation/repositories").pages():
                clock.advance(120)  # tokens live 600 s: several refreshes on the way
        with ik.rest(url, auth=KeyRing([OLD_KEY], lambda k: ApiKey(k, query="api_key")),
                     cache=False) as api, pytest.raises(ik.AuthenticationError) as refused:
            api.request("GET", "/data")

    issued = list(emulator.auth.tokens)
    assert len(issued) >= 2
    secrets = [OLD_KEY, NEW_KEY, HMAC_SECRET, HEADER_TOKEN, *issued,
               creds["private_key"].splitlines()[1]]
    text = caplog.text + "".join(repr(s) for s in schemes) + str(refused.value)
    assert "qk_o***" in caplog.text  # the rotation was logged, masked
    for secret in secrets:
        assert secret not in text
