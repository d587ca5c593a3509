"""The GitHub emulator's wire format against GitHub's official OpenAPI description.

Every answer the connector reads (lists, single objects, writes, searches, errors) is
validated with jsonschema (Draft 2020-12, ``$ref`` s resolved in the spec's components) against
the schema the spec gives for that path, method and status; query parameters the emulator
reads are checked to be ones the spec declares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from integkit.sandbox import SandboxServer
from integkit.sandbox.services.github import GitHubEmulator

from .._openapi import nullable_to_json_schema as _nullable

SPEC = Path(__file__).parents[2].parent / "shared" / "specs" / "github" / "api.github.com.json"
REF = "urn:github#/components/schemas/"
REPO = "/repos/octo-org/atlas"


class Spec:
    """The parsed description and validators for its response schemas."""

    def __init__(self) -> None:
        jsonschema = pytest.importorskip("jsonschema")
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.doc = json.loads(SPEC.read_text())
        document = {"components": _nullable(self.doc["components"])}
        self.registry = Registry().with_resource(
            "urn:github", Resource.from_contents(document, default_specification=DRAFT202012))
        self.jsonschema = jsonschema

    def operation(self, template: str, method: str) -> dict[str, Any]:
        return self.doc["paths"][template][method]

    def query_params(self, template: str, method: str = "get") -> set[str]:
        out = set()
        for param in self.operation(template, method).get("parameters", []):
            if "$ref" in param:
                param = self.doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
            if param["in"] == "query":
                out.add(param["name"])
        return out

    def schema(self, template: str, method: str, status: str) -> dict[str, Any]:
        answer = self.operation(template, method)["responses"][status]
        if "$ref" in answer:
            answer = self.doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        schema = answer["content"]["application/json"]["schema"]
        if "$ref" in schema:
            return {"$ref": REF + schema["$ref"].rsplit("/", 1)[-1]}
        inline = json.dumps(schema).replace('"#/components', '"urn:github#/components')
        return _nullable(json.loads(inline))  # type: ignore[no-any-return]

    def check(self, response: httpx.Response, template: str, method: str = "get") -> Any:
        status = str(response.status_code)
        body = response.json()
        validator = self.jsonschema.Draft202012Validator(self.schema(template, method, status),
                                                         registry=self.registry)
        errors = list(validator.iter_errors(body))
        if errors:
            worst = self.jsonschema.exceptions.best_match(errors)
            where = "/".join(map(str, worst.absolute_path))
            pytest.fail(f"{method.upper()} {template} -> {status}: {len(errors)} schema "
                        f"error(s); at {where}: {worst.message[:300]}")
        return body


@pytest.fixture(scope="module")
def spec() -> Spec:
    if not SPEC.exists():
        pytest.skip(f"GitHub's OpenAPI description is not at {SPEC}")
    return Spec()


@pytest.fixture(scope="module")
def gh():
    emulator = GitHubEmulator(records=60, seed=3, run_seconds=(0.0, 0.0))
    with SandboxServer(emulator) as server:
        client = httpx.Client(base_url=server.url, timeout=10, headers={
            "Authorization": f"Bearer {emulator.api_key}",
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"})
        yield emulator, client
        client.close()


READS = [
    (REPO, "/repos/{owner}/{repo}"),
    ("/orgs/octo-org/repos", "/orgs/{org}/repos"),
    ("/user/repos", "/user/repos"),
    (f"{REPO}/issues?state=all&per_page=100", "/repos/{owner}/{repo}/issues"),
    (f"{REPO}/issues/3", "/repos/{owner}/{repo}/issues/{issue_number}"),
    (f"{REPO}/issues/4", "/repos/{owner}/{repo}/issues/{issue_number}"),
    (f"{REPO}/pulls?state=all&per_page=100", "/repos/{owner}/{repo}/pulls"),
    (f"{REPO}/pulls/8", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    (f"{REPO}/commits?per_page=100", "/repos/{owner}/{repo}/commits"),
    (f"{REPO}/commits/main", "/repos/{owner}/{repo}/commits/{ref}"),
    (f"{REPO}/actions/workflows", "/repos/{owner}/{repo}/actions/workflows"),
    (f"{REPO}/actions/workflows/ci.yml", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"),
    (f"{REPO}/actions/workflows/ci.yml/runs",
     "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"),
    (f"{REPO}/actions/runs?per_page=100", "/repos/{owner}/{repo}/actions/runs"),
    (f"{REPO}/releases?per_page=100", "/repos/{owner}/{repo}/releases"),
    (f"{REPO}/releases/latest", "/repos/{owner}/{repo}/releases/latest"),
    ("/search/issues?q=repo:octo-org/atlas+label:bug&per_page=50", "/search/issues"),
    ("/search/code?q=RateLimiter&per_page=50", "/search/code"),
    ("/rate_limit", "/rate_limit"),
    (f"{REPO}/branches/main/protection/required_status_checks",
     "/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"),
]


@pytest.mark.parametrize(("path", "template"), READS, ids=[t for _, t in READS])
def test_reads_match_the_spec(spec, gh, path, template) -> None:
    _, client = gh
    response = client.get(path)
    assert response.status_code == 200, response.text
    spec.check(response, template)


def test_one_run_job_and_release_match_the_spec(spec, gh) -> None:
    _, client = gh
    run = client.get(f"{REPO}/actions/runs?per_page=1").json()["workflow_runs"][0]
    spec.check(client.get(f"{REPO}/actions/runs/{run['id']}"),
               "/repos/{owner}/{repo}/actions/runs/{run_id}")
    jobs = spec.check(client.get(f"{REPO}/actions/runs/{run['id']}/jobs"),
                      "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs")
    spec.check(client.get(f"{REPO}/actions/jobs/{jobs['jobs'][0]['id']}"),
               "/repos/{owner}/{repo}/actions/jobs/{job_id}")
    release = client.get(f"{REPO}/releases?per_page=1").json()[0]
    spec.check(client.get(f"{REPO}/releases/{release['id']}"),
               "/repos/{owner}/{repo}/releases/{release_id}")


def test_writes_match_the_spec(spec, gh) -> None:
    _, client = gh
    created = client.post(f"{REPO}/pulls", json={"title": "Spec check", "head": "spec/check",
                                                 "base": "main", "body": "x"})
    assert created.status_code == 201, created.text
    pr = spec.check(created, "/repos/{owner}/{repo}/pulls", "post")
    contexts = client.post(f"{REPO}/branches/main/protection/required_status_checks/contexts",
                           json={"contexts": ["build"]})
    spec.check(contexts,
               "/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks/"
               "contexts", "post")
    merged = client.put(f"{REPO}/pulls/{pr['number']}/merge", json={"merge_method": "squash"})
    spec.check(merged, "/repos/{owner}/{repo}/pulls/{pull_number}/merge", "put")
    again = client.put(f"{REPO}/pulls/{pr['number']}/merge", json={})
    assert again.status_code == 405
    spec.check(again, "/repos/{owner}/{repo}/pulls/{pull_number}/merge", "put")
    pulled = spec.check(client.get(f"{REPO}/pulls/{pr['number']}"),
                        "/repos/{owner}/{repo}/pulls/{pull_number}")
    assert pulled["merged"] is True and pulled["merged_by"]["login"] == "octocat"


def test_errors_match_the_spec(spec, gh) -> None:
    _, client = gh
    missing = client.get(f"{REPO}/issues/99999")
    assert missing.status_code == 404
    spec.check(missing, "/repos/{owner}/{repo}/issues/{issue_number}")
    invalid = client.get(f"{REPO}/issues?since=yesterday")
    assert invalid.status_code == 422
    spec.check(invalid, "/repos/{owner}/{repo}/issues")
    no_q = client.get("/search/issues")
    assert no_q.status_code == 422
    spec.check(no_q, "/search/issues")
    duplicate = client.post(f"{REPO}/pulls", json={"title": "t", "head": "main", "base": "main"})
    assert duplicate.status_code == 422
    spec.check(duplicate, "/repos/{owner}/{repo}/pulls", "post")
    refused = httpx.get(f"{client.base_url}/user/repos", headers={"Authorization": "token x"})
    assert refused.status_code == 401
    spec.check(refused, "/user/repos")


def test_read_parameters_are_declared_by_the_spec(spec) -> None:
    """Every query parameter the emulator reads exists in the spec for that operation."""
    import inspect
    import re

    from integkit.sandbox.services import github as module

    source = inspect.getsource(module.GitHubEmulator)
    read = {
        "_issues": "/repos/{owner}/{repo}/issues", "_pulls": "/repos/{owner}/{repo}/pulls",
        "_commits": "/repos/{owner}/{repo}/commits", "_runs": "/repos/{owner}/{repo}/actions/runs",
        "_jobs": "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
        "_repo_list": "/orgs/{org}/repos",
    }
    for method, template in read.items():
        body = source.split(f"    def {method}(", 1)[1].split("\n    def ", 1)[0]
        names = set(re.findall(r'query(?:\.get\(|\[)"(\w+)"', body))
        names |= set(re.findall(r'\("(\w+)", run\.', body))  # the runs' field filters
        declared = spec.query_params(template)
        assert names and names <= declared, (method, names - declared)
    assert {"page", "per_page"} <= spec.query_params("/repos/{owner}/{repo}/issues")
