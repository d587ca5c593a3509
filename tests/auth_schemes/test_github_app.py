"""GitHub App auth against the GitHub App emulator over real HTTP: the JWT, the token cache,
refreshes before expiry during a long listing, one refresh on 401, clock skew, errors."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import integkit as ik
from integkit.auth._github_app import GitHubApp, app_jwt, load_rsa_private_key
from integkit.sandbox import SandboxServer
from integkit.sandbox._github_app import (
    MSG_EXP,
    MSG_EXP_FAR,
    MSG_IAT,
    MSG_NO_APP,
    MSG_UNDECODABLE,
    GitHubAppEmulator,
)

from .._openapi import nullable_to_json_schema as _nullable

SPEC = Path(__file__).parents[2].parent / "shared" / "specs" / "github" / "api.github.com.json"


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _sign(key: rsa.RSAPrivateKey, claims: dict[str, Any], alg: str = "RS256") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64(sig)}"


@pytest.fixture()
def github(serve, clock):
    """A GitHub App emulator on the shared fake clock: 250 repositories, 1-hour tokens."""
    emulator = GitHubAppEmulator(repositories=250, clock=clock)
    server = serve(emulator)
    return emulator, server


def _app(emulator: GitHubAppEmulator, server: SandboxServer, clock, **options: Any) -> GitHubApp:
    creds = emulator.credentials()
    options.setdefault("installation_id", creds["installation_id"])
    return GitHubApp(creds["app_id"], creds["private_key"], base_url=server.url, clock=clock,
                     **options)


def _token_posts(emulator: GitHubAppEmulator) -> list[int]:
    return [status for method, path, status, _ in emulator.request_log
            if method == "POST" and path.endswith("/access_tokens")]


def test_app_jwt_has_githubs_claims_and_verifies(github, clock) -> None:
    emulator, _ = github
    key = load_rsa_private_key(emulator.app.private_key_pem)
    token = app_jwt(emulator.app.id, key, now=clock())
    claims = _claims(token)
    assert claims == {"iat": int(clock()) - 60, "exp": int(clock()) + 540,
                      "iss": emulator.app.id}
    assert claims["exp"] - int(clock()) <= 600
    head, body, sig = token.split(".")
    key.public_key().verify(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)),
                            f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert emulator.auth.verify_jwt(f"Bearer {token}") is emulator.app


def test_long_listing_refreshes_the_token_before_it_expires(github, clock) -> None:
    emulator, server = github
    app = _app(emulator, server, clock)
    api = ik.rest(server.url, auth=app, name="gh-rest", records_path="repositories",
                  paginator={"type": "link_header", "limit": 10}, cache=False)

    def tick(event: Any) -> None:  # each page costs four minutes of (fake) time
        if event.service == "gh-rest":
            clock.advance(240)

    ik.on("call", tick)
    try:
        frame = api.list("/installation/repositories").to_frame()
    finally:
        ik.off("call", tick)
    assert len(frame) == 250 and frame["id"].is_unique
    # 25 pages over 6000 s; tokens live 3600 s and are replaced 300 s early: two tokens,
    # and GitHub never had to refuse one.
    assert emulator.auth.token_requests[emulator.installation.id] == 2
    assert [s for _, p, s, _ in emulator.request_log if p == "/installation/repositories"] \
        == [200] * 25
    assert _token_posts(emulator) == [201, 201]


def test_token_is_cached_and_installation_found_once(github, clock) -> None:
    emulator, server = github
    creds = emulator.credentials()
    app = GitHubApp(creds["app_id"], creds["private_key"], owner="octo-org", repo="repo-007",
                    base_url=server.url, clock=clock)
    api = ik.rest(server.url, auth=app, cache=False)
    for page in range(1, 6):
        body = api.request("GET", "/installation/repositories",
                           params={"per_page": 5, "page": page})
        assert body["total_count"] == 250
        clock.advance(60)
    assert app.installation_id == emulator.installation.id
    paths = [(m, p) for m, p, _, _ in emulator.request_log]
    assert paths.count(("GET", "/repos/octo-org/repo-007/installation")) == 1
    assert len(_token_posts(emulator)) == 1
    assert "ghs_***" in repr(app)


def test_a_refused_token_is_refreshed_once_and_the_call_retried(github, clock) -> None:
    emulator, server = github
    app = _app(emulator, server, clock)
    api = ik.rest(server.url, auth=app, cache=False)
    api.request("GET", "/installation/repositories")
    assert emulator.auth.revoke_tokens() == 1
    assert api.request("GET", "/installation/repositories")["total_count"] == 250
    tail = [(p.rsplit("/", 1)[-1], s) for _, p, s, _ in emulator.request_log[-3:]]
    assert tail == [("repositories", 401), ("access_tokens", 201), ("repositories", 200)]


def test_concurrent_first_calls_share_one_token(github, clock) -> None:
    emulator, server = github
    app = _app(emulator, server, clock)
    api = ik.rest(server.url, auth=app, cache=False, coalesce=False)
    barrier = threading.Barrier(8)
    results: list[int] = []

    def work() -> None:
        barrier.wait()
        results.append(api.request("GET", "/installation/repositories")["total_count"])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [250] * 8
    assert len(_token_posts(emulator)) == 1


def test_a_skewed_clock_is_corrected_from_githubs_date(serve) -> None:
    emulator = GitHubAppEmulator(clock=lambda: time.time() + 900)  # GitHub 15 min ahead
    server = serve(emulator)
    creds = emulator.credentials()
    app = GitHubApp(creds["app_id"], creds["private_key"], installation_id=creds[
        "installation_id"], base_url=server.url)
    assert app.token().startswith("ghs_")
    assert emulator.auth.jwt_rejections == {MSG_EXP: 1}
    assert 880 < app.now() - time.time() < 920
    assert len(_token_posts(emulator)) == 2  # refused, then accepted


def test_wrong_key_and_unknown_installation_say_what_to_do(github, clock) -> None:
    emulator, server = github
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = stranger.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    app = GitHubApp(emulator.app.id, pem, installation_id=emulator.installation.id,
                    base_url=server.url, clock=clock)
    api = ik.rest(server.url, auth=app, cache=False)
    with pytest.raises(ik.AuthenticationError) as caught:
        api.request("GET", "/installation/repositories")
    assert MSG_UNDECODABLE in str(caught.value) and "private key" in str(caught.value)
    assert caught.value.status == 401 and caught.value.request_id

    lost = _app(emulator, server, clock, installation_id=999)
    with pytest.raises(ik.NotFoundError, match="no such installation"):
        lost.token()
    nowhere = _app(emulator, server, clock, installation_id=None, owner="nobody")
    with pytest.raises(ik.ConfigError, match="not installed on nobody"):
        nowhere.token()
    with pytest.raises(ik.ConfigError, match="GitHubApp: repo= needs owner="):
        GitHubApp(1, pem, repo="x")


def test_emulator_refuses_bad_jwts_in_githubs_words(github, clock) -> None:
    emulator, server = github
    key = load_rsa_private_key(emulator.app.private_key_pem)
    now = int(clock())
    cases = {
        MSG_EXP_FAR: {"iat": now - 60, "exp": now + 1200, "iss": emulator.app.id},
        MSG_EXP: {"iat": now - 900, "exp": now - 300, "iss": emulator.app.id},
        MSG_IAT: {"iat": now + 120, "exp": now + 300, "iss": emulator.app.id},
        MSG_NO_APP: {"iat": now - 60, "exp": now + 300, "iss": 4242},
    }
    url = f"{server.url}/app/installations/{emulator.installation.id}/access_tokens"
    for message, claims in cases.items():
        answer = httpx.post(url, headers={"Authorization": f"Bearer {_sign(key, claims)}"})
        assert answer.status_code == 401
        assert answer.json() == {"message": message,
                                 "documentation_url": "https://docs.github.com/rest",
                                 "status": "401"}
    assert httpx.post(url).json()["message"] == MSG_UNDECODABLE
    good = _sign(key, {"iat": now - 60, "exp": now + 540, "iss": emulator.app.id})
    assert httpx.post(url, headers={"Authorization": f"Bearer {good}"}).status_code == 201
    bad = httpx.get(f"{server.url}/installation/repositories",
                    headers={"Authorization": "token ghs_notarealtoken"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"


def test_link_header_follows_githubs_format(github, clock) -> None:
    emulator, server = github
    token = _app(emulator, server, clock).token()
    answer = httpx.get(f"{server.url}/installation/repositories?per_page=100&page=2",
                       headers={"Authorization": f"token {token}"})
    assert answer.status_code == 200 and len(answer.json()["repositories"]) == 100
    base = f"{server.url}/installation/repositories"
    assert answer.headers["link"] == (
        f'<{base}?per_page=100&page=1>; rel="prev", <{base}?per_page=100&page=3>; rel="next", '
        f'<{base}?per_page=100&page=3>; rel="last", <{base}?per_page=100&page=1>; rel="first"'
    )
    last = httpx.get(f"{base}?per_page=100&page=3", headers={"Authorization": f"token {token}"})
    assert len(last.json()["repositories"]) == 50 and 'rel="next"' not in last.headers["link"]


def test_narrowed_token_sees_only_its_repositories(github, clock) -> None:
    emulator, server = github
    app = _app(emulator, server, clock, repositories=["repo-001", "repo-002"])
    api = ik.rest(server.url, auth=app, cache=False)
    body = api.request("GET", "/installation/repositories")
    assert [r["name"] for r in body["repositories"]] == ["repo-001", "repo-002"]
    assert body["repository_selection"] == "selected"
    wrong = _app(emulator, server, clock, repositories=["no-such-repo"])
    with pytest.raises(ik.InvalidRequestError, match="not accessible"):
        wrong.token()


def test_async_client_uses_the_same_cache(github, clock) -> None:
    emulator, server = github
    app = _app(emulator, server, clock)

    async def main() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, auth=app) as client:
            answers = await asyncio.gather(*(
                client.get("/installation/repositories", params={"page": n})
                for n in range(1, 6)))
            emulator.auth.revoke_tokens()
            again = await client.get("/installation/repositories")
            return [a.status_code for a in (*answers, again)]

    assert asyncio.run(main()) == [200] * 6
    assert len(_token_posts(emulator)) == 2


def test_private_key_forms(tmp_path, github) -> None:
    emulator, _ = github
    pem = emulator.app.private_key_pem
    path = tmp_path / "app.private-key.pem"
    path.write_text(pem)
    assert load_rsa_private_key(path).key_size == 2048
    assert load_rsa_private_key(pem.replace("\n", "\\n")).key_size == 2048  # as in env vars
    with pytest.raises(ik.ConfigError, match="no such file"):
        load_rsa_private_key(tmp_path / "missing.pem")
    with pytest.raises(ik.ConfigError, match="not a readable"):
        load_rsa_private_key("-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----")


def test_from_env(monkeypatch, github) -> None:
    emulator, _ = github
    monkeypatch.delenv("GITHUB_APP_ID", raising=False)
    with pytest.raises(ik.ConfigError, match="GITHUB_APP_ID"):
        GitHubApp.from_env()
    monkeypatch.setenv("GITHUB_APP_ID", str(emulator.app.id))
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", emulator.app.private_key_pem.replace("\n", "\\n"))
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "77")
    assert GitHubApp.from_env().installation_id == 77


# -- the emulator's wire format against GitHub's OpenAPI description ---------------------------

@pytest.fixture(scope="module")
def spec_validator():
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    if not SPEC.exists():
        pytest.skip(f"GitHub's OpenAPI description is not at {SPEC}")
    spec = json.loads(SPEC.read_text())
    document = {"components": _nullable(spec["components"])}
    registry = Registry().with_resource(
        "urn:github", Resource.from_contents(document, default_specification=DRAFT202012))

    def validate(instance: Any, schema: dict[str, Any]) -> None:
        jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)

    return spec, validate


def test_answers_match_the_openapi_description(github, clock, spec_validator) -> None:
    spec, validate = spec_validator
    emulator, server = github
    key = load_rsa_private_key(emulator.app.private_key_pem)
    headers = {"Authorization": f"Bearer {app_jwt(emulator.app.id, key, clock())}"}
    ref = "urn:github#/components/schemas/"

    def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
        answer = spec["paths"][path][method]["responses"][status]
        if "$ref" in answer:
            name = answer["$ref"].rsplit("/", 1)[-1]
            answer = spec["components"]["responses"][name]
        schema = answer["content"]["application/json"]["schema"]
        if "$ref" in schema:
            return {"$ref": ref + schema["$ref"].rsplit("/", 1)[-1]}
        inline = json.dumps(schema).replace('"#/components', '"urn:github#/components')
        return _nullable(json.loads(inline))

    installation = emulator.installation.id
    token = httpx.post(f"{server.url}/app/installations/{installation}/access_tokens",
                       headers=headers, json={"repositories": ["repo-001"]})
    validate(token.json(), response_schema(
        "/app/installations/{installation_id}/access_tokens", "post", "201"))
    for path, template in (("/repos/octo-org/repo-001/installation",
                            "/repos/{owner}/{repo}/installation"),
                           ("/orgs/octo-org/installation", "/orgs/{org}/installation")):
        answer = httpx.get(server.url + path, headers=headers)
        validate(answer.json(), response_schema(template, "get", "200"))
    listing = httpx.get(f"{server.url}/installation/repositories?per_page=3",
                        headers={"Authorization": f"token {token.json()['token']}"})
    validate(listing.json(), response_schema("/installation/repositories", "get", "200"))
    refused = httpx.get(f"{server.url}/installation/repositories")
    validate(refused.json(), response_schema("/installation/repositories", "get", "401"))
