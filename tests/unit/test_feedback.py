"""Named feedback parsers: a definition's ``feedback:`` says which of them its connection reads,
an unknown name fails at load naming the known ones, a connector registers its own, and the
pipeline (integkit/http, integkit/cache) knows no service by name. Over real HTTP
(tests/apps.py), with the state in SQLite and in the real Redis."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

import integkit as ik
from integkit._http import Feedback, feedback_names, register_feedback
from integkit.engine import Connection, ConnectorDef

from .. import apps

ROOT = Path(__file__).resolve().parents[2]
TIER = {"limit": 100, "per": "1s", "burst": 100}
SERVICES = re.compile(r"stripe|github|salesforce|sforce|shopify|slack", re.I)


def definition(api: str, **sections) -> ConnectorDef:
    return ConnectorDef.from_mapping({"service": "fb", "base_url": api, **sections},
                                     source="fb.yaml")


def conn(api: str, state: str, **sections) -> Connection:
    return Connection(definition(api, **sections), state=state, rate_limit=TIER,
                      account=uuid.uuid4().hex[:8], cache=False,
                      retry={"maxAttempts": 2, "initialDelay": 0.01})


def timed(fn, *args, **kwargs) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def test_an_unknown_parser_name_fails_at_load_naming_the_known_ones(api) -> None:
    with pytest.raises(ik.ConfigError) as info:
        definition(api, feedback=["x_ratelimit", "x_rate_limit"])
    message = str(info.value)
    assert "fb.yaml" in message and "'x_rate_limit' is not a feedback parser" in message
    for name in ("retry_after", "x_ratelimit", "retry_hints", "shopify_call_limit",
                 "graphql_cost", "sforce_limit_info"):
        assert name in message
    with pytest.raises(ik.ConfigError, match="must be a list of strings"):
        definition(api, feedback="x_ratelimit")


def test_every_shipped_definition_names_only_known_parsers() -> None:
    for service in ik.engine.available_services():
        names = ik.engine.load_definition(service).feedback
        assert names and set(names) <= set(feedback_names()), service
    assert "graphql_cost" in ik.engine.load_definition("shopify").feedback


def test_a_definition_reads_only_the_parsers_it_names(api, state_url) -> None:
    header = {"h_X-Shopify-Shop-Api-Call-Limit": "39/40"}
    named = conn(api, state_url, feedback=["retry_after", "shopify_call_limit"])
    named.request("GET", "/feedback", params=header)
    assert ik.quota(named)["throttled"] and timed(named.request, "GET", "/feedback") >= 0.8

    other = conn(api, state_url, feedback=["retry_after", "x_ratelimit"])
    other.request("GET", "/feedback", params=header)
    assert not ik.quota(other)["throttled"] and timed(other.request, "GET", "/feedback") < 0.5
    # ... while x_ratelimit, which it names, still pauses it
    other.request("GET", "/feedback", params={"h_X-RateLimit-Remaining": "0", "reset_in": "1"})
    assert ik.quota(other)["throttled"]


def test_quota_counts_follow_the_service_only_when_its_parser_is_named(api, state_url) -> None:
    usage = {"h_Sforce-Limit-Info": "api-usage=98/100"}
    named = conn(api, state_url, feedback=["sforce_limit_info"], quotas={"daily": 100})
    named.request("GET", "/feedback", params=usage)
    assert ik.quota(named)["budgets"]["daily"]["used"] == 98
    unnamed = conn(api, state_url, feedback=[], quotas={"daily": 100})
    unnamed.request("GET", "/feedback", params=usage)
    assert ik.quota(unnamed)["budgets"]["daily"]["used"] == 1


def test_retry_verdicts_are_read_only_when_retry_hints_is_named(api, state_url) -> None:
    params = {"key": "fbh", "fail": 1, "status": 409, "should_retry": "true"}
    assert conn(api, state_url, feedback=["retry_hints"]).request(
        "GET", "/flaky", params=params)["ok"]
    assert apps.hits["fbh"] == 2  # the 409 went again: the service said so
    with pytest.raises(ik.ApiError):
        conn(api, state_url, feedback=[]).request("GET", "/flaky",
                                                  params={**params, "key": "fbn"})
    assert apps.hits["fbn"] == 1


def test_a_connector_registers_its_own_parser_and_its_definition_names_it(
        api, state_url) -> None:
    def budget_left(response: httpx.Response) -> Feedback | None:
        left = response.headers.get("x-budget-left")
        return Feedback(pause=0.8) if left == "0" else None

    register_feedback("budget_left", budget_left)
    c = conn(api, state_url, feedback=["budget_left"])
    c.request("GET", "/feedback", params={"h_X-Budget-Left": "0"})
    assert ik.quota(c)["throttled"] and timed(c.request, "GET", "/feedback") >= 0.6
    with pytest.raises(ik.ConfigError, match="snake_case"):
        register_feedback("Budget-Left", budget_left)
    with pytest.raises(ik.ConfigError, match="gives some of"):
        register_feedback("budget_left", budget_left, gives="remaining")


def test_the_pipeline_names_no_service_and_imports_no_connector() -> None:
    for folder in ("_http", "cache"):
        paths = sorted((ROOT / "integkit" / folder).rglob("*.py"))
        assert len(paths) >= 5, folder  # the layer is where this test looks
        for path in paths:
            text = path.read_text()
            found = SERVICES.search(text)
            assert found is None, f"{path.relative_to(ROOT)} names {found.group()!r}"
            assert not re.search(r"^\s*(from|import)\s+(\.\.engine|integkit\.engine)", text,
                                 re.M), path
