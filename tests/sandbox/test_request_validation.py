"""Requests the services' published descriptions refuse are refused by their emulators, in the
services' own words: GitHub's 422 ``Validation Failed`` (400 for a body that is not JSON),
Stripe's 400 ``invalid_request_error`` naming the ``param``. The descriptions shipped in
integkit/sandbox/specs are what tools/trim_spec.py makes from the vendors' files, and cover
every route the emulators serve. No module of the sandbox reads integkit's own connector
definitions or imports its engine: their limits are the services', written in the emulators.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from integkit.sandbox import SandboxServer
from integkit.sandbox._openapi import spec_document
from integkit.sandbox.services import github as github_module
from integkit.sandbox.services import stripe as stripe_module
from integkit.sandbox.services.github import GitHubEmulator
from integkit.sandbox.services.slack import SlackEmulator
from integkit.sandbox.services.slack_tiers import METHOD_TIERS, PER_MINUTE

from .conftest import http

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT.parent / "shared" / "specs"
REPO = "/repos/octo-org/atlas"


@pytest.fixture
def gh(request) -> httpx.Client:
    emulator = GitHubEmulator(records=20)
    server = SandboxServer(emulator).start()
    client = httpx.Client(base_url=server.url, timeout=10,
                          headers={"Authorization": f"Bearer {emulator.api_key}"})
    request.addfinalizer(server.stop)
    request.addfinalizer(client.close)
    return client


# -- the shipped descriptions ------------------------------------------------------------------


@pytest.mark.skipif(not SPECS.is_dir(), reason="the vendors' descriptions are not at hand")
def test_the_shipped_descriptions_are_what_the_tool_makes() -> None:
    done = subprocess.run([sys.executable, "tools/trim_spec.py", "--check", "github", "stripe"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("module", [github_module, stripe_module], ids=["github", "stripe"])
def test_the_shipped_descriptions_cover_every_route_and_say_where_they_come_from(module) -> None:
    service = module.__name__.rsplit(".", 1)[-1]
    doc = spec_document(service)
    source = doc["info"]["x-integkit-source"]
    assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"]) and source["upstream"]
    served = {(m, t) for t, item in doc["paths"].items() for m in item if m != "parameters"}
    assert served == set(module.SPEC_OPERATIONS)
    for ref in re.findall(r'"\$ref": "#/components/(\w+)/([^"]+)"', json.dumps(doc)):
        assert ref[1] in doc["components"][ref[0]], ref  # every $ref resolves in the copy
    if service == "github":  # each route (but GraphQL) is one of the description's operations
        samples = [(m, re.sub(r"\{[a-z_]+\}", "1", t)) for m, t in module.SPEC_OPERATIONS]
        for method, pattern, name in module._ROUTES:
            if name != "graphql":
                assert any(m == method.lower() and pattern.fullmatch(path)
                           for m, path in samples), name
    else:
        for name, resource in module.RESOURCES.items():
            assert ("get", f"/v1/{name}") in served
            assert any(m == "get" and t.startswith(f"/v1/{name}/{{") for m, t in served)
            assert (("post", f"/v1/{name}") in served) == bool(resource.create_params)


# -- GitHub ------------------------------------------------------------------------------------


def test_github_refuses_a_date_where_its_description_wants_a_date_time(gh) -> None:
    refused = gh.get(f"{REPO}/issues", params={"since": "2025-01-01"})
    assert refused.status_code == 422
    assert refused.json() == {
        "message": "Validation Failed",
        "errors": [{"resource": "Issue", "field": "since", "code": "invalid",
                    "value": "2025-01-01"}],
        "documentation_url": "https://docs.github.com/rest", "status": "422"}
    assert gh.get(f"{REPO}/issues", params={"since": "2025-01-01T00:00:00Z"}).status_code == 200
    wrong = gh.get(f"{REPO}/commits", params={"until": "1st of March"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "until"
    bad_enum = gh.get(f"{REPO}/pulls", params={"state": "merged"})
    assert bad_enum.status_code == 422
    assert bad_enum.json()["errors"] == [{"resource": "PullRequest", "field": "state",
                                          "code": "invalid", "value": "merged"}]


def test_github_refuses_missing_and_mistyped_body_fields(gh) -> None:
    missing = gh.post(f"{REPO}/pulls", json={"title": "t", "head": "feature"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"resource": "PullRequest", "field": "base",
                                         "code": "missing_field"}]
    mistyped = gh.post(f"{REPO}/pulls", json={"title": 7, "head": "feature", "base": "main"})
    assert mistyped.status_code == 422
    assert mistyped.json()["errors"] == [{"resource": "PullRequest", "field": "title",
                                          "code": "invalid", "value": 7}]
    merge = gh.put(f"{REPO}/pulls/1/merge", json={"merge_method": "fast-forward"})
    assert merge.status_code == 422 and merge.json()["errors"][0]["field"] == "merge_method"
    dispatch = gh.post(f"{REPO}/actions/workflows/ci.yml/dispatches", json={"inputs": {}})
    assert dispatch.status_code == 422
    assert dispatch.json()["errors"][0] == {"resource": "Workflow", "field": "ref",
                                            "code": "missing_field"}


def test_github_reads_every_body_as_json_whatever_its_content_type(gh) -> None:
    form = gh.post(f"{REPO}/pulls", data={"title": "t", "head": "feature", "base": "main"})
    assert form.status_code == 400
    assert form.json()["message"] == "Problems parsing JSON"
    broken = gh.post(f"{REPO}/pulls", content=b'{"title": "t",',
                     headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["message"] == "Problems parsing JSON"
    plain = gh.post(f"{REPO}/pulls", content=b'{"title": "t", "head": "fix/x", "base": "main"}',
                    headers={"content-type": "text/plain"})
    assert plain.status_code == 201, plain.text


# -- Stripe ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message", "param"), [
    ({"amount": "1000", "currency": "usd", "capture_method": "later"},
     "Invalid capture_method: must be one of automatic, automatic_async, or manual",
     "capture_method"),
    ({"amount": "1000", "currency": "usd", "confirm": "maybe"}, "Invalid boolean: maybe",
     "confirm"),
    ({"amount": "1000"}, "Missing required param: currency.", "currency"),
])
def test_stripe_refuses_what_its_description_refuses(fresh, data, message, param) -> None:
    sb = fresh(records=20)
    with http(sb) as c:
        r = c.post("/v1/payment_intents", data=data)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"] == message
    assert (r.json()["error"]["param"], r.json()["error"]["type"]) == (param,
                                                                        "invalid_request_error")
    assert sb.emulator.objects["payment_intent"] == 0


def test_stripe_refuses_a_body_that_is_not_a_form(fresh) -> None:
    sb = fresh(records=20)
    with http(sb) as c:
        r = c.post("/v1/customers", json={"email": "ada@example.com"})
        listed = c.get("/v1/charges", params={"created": "yesterday"})
    assert r.status_code == 400
    assert r.json() == {"error": {
        "message": "Invalid request: unsupported Content-Type application/json. If error "
                   "persists and you need assistance, please contact support@stripe.com.",
        "type": "invalid_request_error"}}
    assert sb.emulator.objects["customer"] == 0
    assert listed.status_code == 400 and listed.json()["error"]["param"] == "created"


# -- the emulators' own limits -----------------------------------------------------------------


def test_no_sandbox_module_imports_the_engine_or_reads_a_connector_definition() -> None:
    paths = sorted((ROOT / "integkit" / "sandbox").rglob("*.py"))
    assert len(paths) >= 20  # the sandbox is where this test looks
    for path in paths:
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(\.+engine|integkit\.engine)\b", text,
                             re.M), path
        found = re.search(r"load_definition|definition_dirs|_connectors|connectors/", text)
        assert found is None, f"{path.relative_to(ROOT)} reads {found.group()!r}"


def test_client_limits_come_from_the_emulators_own_tables() -> None:
    slack = SlackEmulator(records=5, rate_limit=(5, 10)).credentials()["rate_limit"]
    tiers = {t["name"]: t for t in slack}
    for method, tier in METHOD_TIERS.items():
        assert method in tiers[f"tier{tier}"]["endpoints"]
        assert tiers[f"tier{tier}"]["limit"] == PER_MINUTE[tier]
    assert tiers["post_message"]["endpoints"] == ["chat.postMessage:*"]
    github = GitHubEmulator(records=5, limits={"search": (10, 1.0)}).credentials()["rate_limit"]
    assert {t["name"]: (t["limit"], t["per"]) for t in github} == {
        "core": (5000, 3600.0), "search": (10, 1.0), "code_search": (10, 60.0),
        "actions": (1000, 3600.0), "graphql": (5000, 3600.0)}
