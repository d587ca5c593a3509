"""A small real HTTP app for the cache tests: validators, 304s, Cache-Control, failures on demand,
per-caller answers and hit counters the tests read back."""

from __future__ import annotations

import collections
import hashlib
from email.utils import formatdate, parsedate_to_datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Credentials the tests use; /whoami answers with the user's name, never the secret.
USERS = {
    "sk_test_alice_9f8e7d6c5b4a": "alice",
    "sk_test_bob_1a2b3c4d5e6f": "bob",
}
COOKIE_SECRET = "sess_c00k1e_s3cr3t_value"
RESPONSE_TOKEN = "tok_resp_hdr_5ecr3t_zz"
BASE_MODIFIED = 1_700_000_000

hits: collections.Counter[str] = collections.Counter()  # full 200 answers, by key
conditional: collections.Counter[str] = collections.Counter()  # 304 answers, by key
versions: collections.Counter[str] = collections.Counter()  # bump to change an ETag
fail: dict[str, int] = {}  # key -> status to answer with, until removed


def reset() -> None:
    hits.clear()
    conditional.clear()
    versions.clear()
    fail.clear()


def _cache_headers(request: Request) -> dict[str, str]:
    q = request.query_params
    headers = {}
    if "max_age" in q:
        headers["Cache-Control"] = f"max-age={q['max_age']}"
    if "cc" in q:
        headers["Cache-Control"] = q["cc"]
    if "age" in q:
        headers["Age"] = q["age"]
    if "vary" in q:
        headers["Vary"] = q["vary"]
    return headers


async def data(request: Request) -> Response:
    """A plain answer, counted; ``cookie=1`` adds a session cookie and a token header."""
    key = request.query_params.get("id", "data")
    if key in fail:
        return JSONResponse({"error": "down"}, status_code=fail[key])
    hits[key] += 1
    body = {"key": key, "hits": hits[key], "tenant": request.headers.get("x-tenant")}
    response = JSONResponse(body, headers=_cache_headers(request))
    if request.query_params.get("cookie"):
        response.set_cookie("session", COOKIE_SECRET)
        response.headers["X-Session-Token"] = RESPONSE_TOKEN
    return response


async def etag(request: Request) -> Response:
    key = request.query_params.get("id", "etag")
    if key in fail:
        return JSONResponse({"error": "down"}, status_code=fail[key])
    tag = f'"{key}-v{versions[key]}"'
    headers = {"ETag": tag, "Cache-Control": request.query_params.get("cc", "no-cache")}
    if request.headers.get("if-none-match") == tag:
        conditional[key] += 1
        return Response(status_code=304, headers=headers)
    hits[key] += 1
    return JSONResponse({"key": key, "version": versions[key], "hits": hits[key]},
                        headers=headers)


async def last_modified(request: Request) -> Response:
    key = request.query_params.get("id", "lastmod")
    modified = BASE_MODIFIED + versions[key] * 3600
    headers = {"Last-Modified": formatdate(modified, usegmt=True), "Cache-Control": "no-cache"}
    since = request.headers.get("if-modified-since")
    if since and parsedate_to_datetime(since).timestamp() >= modified:
        conditional[key] += 1
        return Response(status_code=304, headers=headers)
    hits[key] += 1
    return JSONResponse({"key": key, "version": versions[key], "hits": hits[key]},
                        headers=headers)


async def whoami(request: Request) -> Response:
    """Who the caller is, from a Bearer token or an api_key query param."""
    auth = request.headers.get("authorization", "")
    secret = auth.removeprefix("Bearer ") if auth else request.query_params.get("api_key", "")
    user = USERS.get(secret)
    if user is None:
        return JSONResponse({"error": "unauthorized"}, status_code=401)
    hits[user] += 1
    return JSONResponse({"user": user, "hits": hits[user]},
                        headers={"Cache-Control": "private, max-age=60"})


async def echo_secret(request: Request) -> Response:
    """Answers with whatever ``value`` it was given (a body holding a secret)."""
    hits["echo"] += 1
    return JSONResponse({"value": request.query_params.get("value")},
                        headers={"Cache-Control": "max-age=60"})


async def big(request: Request) -> Response:
    """Large enough to be gzipped on the wire."""
    hits["big"] += 1
    rows = [{"i": i, "digest": hashlib.sha1(str(i).encode()).hexdigest()} for i in range(200)]
    return JSONResponse({"rows": rows, "hits": hits["big"]},
                        headers={"Cache-Control": "max-age=60"})


async def write(request: Request) -> Response:
    hits["write"] += 1
    return JSONResponse({"hits": hits["write"]}, headers={"Cache-Control": "max-age=60"})


routes = [
    Route("/data", data, methods=["GET", "HEAD"]),
    Route("/items/{name}", data),
    Route("/etag", etag),
    Route("/lastmod", last_modified),
    Route("/whoami", whoami),
    Route("/echo", echo_secret),
    Route("/big", big),
    Route("/write", write, methods=["POST"]),
]
app = Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=500)])
