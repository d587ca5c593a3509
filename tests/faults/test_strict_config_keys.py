"""Configuration is read strictly and in one style: every settings mapping (retry, breaker,
rate-limit tiers, quotas, cache, OAuth settings, a definition's sections, ``ik.configure``,
config-file profiles, paginator options) takes canonical snake_case keys, their camelCase and
kebab-case spellings, and the aliases users bring from API-gateway configs; a misspelt key
is a ConfigError naming it and the closest known key, never a setting silently dropped.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
import yaml
from starlette.responses import JSONResponse

import integkit as ik
from integkit._config import SETTINGS
from integkit._http import (
    RESPONSE_RULE,
    CircuitBreaker,
    QuotaConfig,
    RateTier,
    ResponseRule,
    RetryPolicy,
)
from integkit.cache import CacheSettings
from integkit.engine import available_services, definition_dirs, load_definition
from integkit.engine._definition import (
    API_VERSION,
    AUTH,
    DEFINITION,
    ERRORS,
    OPERATION,
    RESOURCE,
    TIMEOUT,
    TIMESTAMPS,
    ConnectorDef,
)


def rest(home, **options) -> ik.Connection:
    options.setdefault("cache", False)
    return ik.rest(home.url, account=uuid.uuid4().hex[:10], **options)


def refused(fn, *args, said: tuple[str, ...], **kwargs) -> str:
    with pytest.raises(ik.ConfigError) as info:
        fn(*args, **kwargs)
    text = str(info.value)
    for part in said:
        assert part in text, text
    return text


def definition_file(tmp_path: Path, body: str, base_url: str = "https://api.example.com",
                    ) -> str:
    path = tmp_path / f"d{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(f"service: s{uuid.uuid4().hex[:8]}\nbase_url: {base_url}\n{body}")
    return str(path)


# -- a misspelt key names itself and the right one, in every config object -------------------
@pytest.mark.parametrize(("option", "value", "wrong", "right"), [
    ("retry", {"maxAtempts": 3}, "maxAtempts", "max_attempts"),
    ("retry", {"initial_dealy": "1s"}, "initial_dealy", "initial_delay"),
    ("breaker", {"failure_treshold": 3}, "failure_treshold", "failure_threshold"),
    ("breaker", {"resetTimout": "30s"}, "resetTimout", "reset_timeout"),
    ("rate_limit", {"limit": 5, "burts": 10}, "burts", "burst"),
    ("rate_limit", {"requestsPerSecnd": 5}, "requestsPerSecnd", "requests_per_second"),
    ("quotas", {"daly": 100}, "daly", "daily"),
    ("cache", {"default_tll": "5m"}, "default_tll", "default_ttl"),
    ("cache", {"staleIfEror": "1h"}, "staleIfEror", "stale_if_error"),
    ("paginator", {"type": "cursor", "cursor_pth": "meta.next"}, "cursor_pth", "cursor_path"),
])
def test_a_misspelt_option_key_names_itself_and_the_closest(home, option, value, wrong,
                                                            right) -> None:
    refused(rest, home, **{option: value},
            said=(f"unknown key {wrong!r}", f"did you mean {right!r}"))
    assert home.seen == []


@pytest.mark.parametrize(("body", "wrong", "right"), [
    ("rate_limts: [{limit: 5}]\n", "rate_limts", "rate_limits"),
    ("auth: {type: oauth2, token_ulr: https://x.example.com/token}\n", "token_ulr",
     "token_url"),
    ("auth: {type: bearer, parm: token}\n", "parm", "param"),
    ("retry: {maxAttempts: 3, backofMultiplier: 2}\n", "backofMultiplier",
     "backoff_multiplier"),
    ("breaker: {failureTreshold: 3}\n", "failureTreshold", "failure_threshold"),
    ("timeout: {conect: 5s}\n", "conect", "connect"),
    ("api_version: {hedaer: X-Version, value: '1'}\n", "hedaer", "header"),
    ("errors: {mesage: error.message}\n", "mesage", "message"),
    ("timestamps: {feilds: [created]}\n", "feilds", "fields"),
    ("idempotency: {heder: Idempotency-Key}\n", "heder", "header"),
    ("quotas: {montly: 100}\n", "montly", "monthly"),
    ("cache: {ttll: {'*': 60}}\n", "ttll", "ttl"),
    ("resources: {items: {path: /items, recods_path: data}}\n", "recods_path",
     "records_path"),
    ("operations: {make: {path: /make, metod: PUT}}\n", "metod", "method"),
    ("paginator: {type: offset, limt: 10}\n", "limt", "limit"),
    ("pricing: {currrency: USD, plans: {std: {model: per_call, price: 0}}}\n", "currrency",
     "currency"),
])
def test_a_misspelt_definition_key_names_itself_and_the_closest(tmp_path, body, wrong,
                                                                right) -> None:
    path = definition_file(tmp_path, body)
    refused(ik.connect, path, said=(path, repr(wrong), f"did you mean {right!r}"))


def test_a_listings_paginator_options_are_checked_before_any_page(home) -> None:
    refused(rest(home).list, "/items", paginator={"type": "page_number", "page_parm": "p"},
            said=("unknown key 'page_parm'", "did you mean 'page_param'"))
    assert home.seen == []


def test_a_definition_names_every_problem_at_once(tmp_path) -> None:
    path = definition_file(tmp_path, "retry: {maxAtempts: 3}\nbreaker: {resetTimeout: soon}\n"
                                     "cache: {strategy: cache-everything}\n")
    text = refused(ik.connect, path, said=("'maxAtempts'", "breaker resetTimeout must be",
                                           "cache strategy must be one of"))
    assert text.startswith(path)


def test_ik_configure_names_a_misspelt_setting() -> None:
    refused(ik.configure, state_timout=3,
            said=("configure(): unknown key 'state_timout'", "did you mean 'state_timeout'"))
    refused(ik.configure, offline="yes", said=("offline must be true or false",))


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"
    yield path
    ik.configure(config_file=None)


def test_a_config_file_profile_names_a_misspelt_key(config_file, home, monkeypatch) -> None:
    monkeypatch.setenv("IK_TYPO_KEY", "sk_test_typo_123456")  # no secret in the file itself
    config_file.write_text("profiles:\n  default:\n    stripe: {api_kye: '${IK_TYPO_KEY}',"
                           f" base_url: '{home.url}'}}\n")
    ik.configure(config_file=config_file)
    refused(ik.connect, "stripe", said=("profiles.default.stripe", "unknown key 'api_kye'",
                                        "did you mean 'api_key'"))
    config_file.write_text("profiles:\n  staging: {}\n")
    refused(ik.connect, "stripe", profile="stagign",
            said=("profile 'stagign' is not in the config file", "did you mean 'staging'"))
    config_file.write_text("profile:\n  default: {}\n")
    refused(ik.connect, "stripe", said=(str(config_file), "unknown key 'profile'",
                                        "did you mean 'profiles'"))
    assert home.seen == []


def test_a_config_file_profile_takes_any_key_spelling(config_file, home, monkeypatch) -> None:
    home.route("/v1/charges", lambda request: JSONResponse(
        {"data": [{"id": "ch_1"}], "has_more": False}))
    monkeypatch.setenv("IK_CAMEL_KEY", "sk_test_camel_123456")
    config_file.write_text("profiles:\n  default:\n    stripe: {apiKey: '${IK_CAMEL_KEY}',"
                           f" baseUrl: '{home.url}', rateLimit: false,"
                           " retry: {maxAttempts: 1}}\n")
    ik.configure(config_file=config_file)
    conn = ik.connect("stripe")
    assert conn.base_url == home.url and conn.limiter is None
    assert list(conn.list("charges").to_frame()["id"]) == ["ch_1"]
    assert home.seen[0].authorization == "Bearer sk_test_camel_123456"


# -- the breaker honours its threshold whatever the spelling ----------------------------------
@pytest.mark.parametrize("spelling", ["failure_threshold", "failureThreshold",
                                      "consecutive_failures"])
def test_the_breaker_opens_after_failure_threshold_failures(home, spelling) -> None:
    home.route("/down", lambda request: JSONResponse({"e": 1}, status_code=503))
    conn = rest(home, retry={"max_attempts": 1},
                breaker={spelling: 2, "reset_timeout": "1h"})
    for _ in range(2):
        with pytest.raises(ik.ServerError):
            conn.request("GET", "/down")
    with pytest.raises(ik.CircuitOpenError):
        conn.request("GET", "/down")
    assert len(home.seen) == 2


# -- gateway shapes map ----------------------------------------------------------------------
def test_gateway_shapes_map_to_the_canonical_settings() -> None:
    assert RateTier.from_config({"requestsPerSecond": 25, "burstSize": 50}) == RateTier(
        name="requests", limit=25, per=1.0, burst=50)
    assert RateTier.from_config({"requests_per_second": 2.5}) == RateTier(
        name="requests", limit=5, per=2.0)
    assert RateTier.from_config({"requestsPerMinute": 30, "burstLimit": 5}) == RateTier(
        name="requests", limit=30, per=60.0, burst=5)
    assert RetryPolicy.from_config({"maxAttempts": 4, "backoffMultiplier": 3,
                                    "initialDelay": "250ms", "maxDelay": "10s"}) == \
        RetryPolicy(max_attempts=4, backoff_multiplier=3, initial_delay=0.25, max_delay=10)
    assert RetryPolicy.from_config({"max_retries": 2}).max_attempts == 3
    breaker = CircuitBreaker.from_config({"failureThreshold": 3, "resetTimeout": "1m"})
    assert (breaker.failure_threshold, breaker.reset_timeout) == (3, 60)
    stale = CacheSettings.from_config({"strategy": "stale-if-error", "defaultTtl": "5m"})
    assert (stale.default_ttl, stale.stale_if_error) == (300, 86400)
    assert CacheSettings.from_config({"strategy": "stale-if-error",
                                      "staleIfError": "1h"}).stale_if_error == 3600
    assert not CacheSettings.from_config({"strategy": "network-only"}).enabled
    assert CacheSettings.from_config({"strategy": "cache-only"}).offline
    assert CacheSettings.from_config({"ttl": "10m"}).default_ttl == 600


@pytest.mark.parametrize(("config", "said"), [
    ({"maxAttempts": 3, "max_attempts": 4}, "are the same key (max_attempts)"),
    ({"max_retries": 2, "max_attempts": 4}, "both set max_attempts"),
])
def test_one_setting_given_twice_is_refused(config, said) -> None:
    refused(RetryPolicy.from_config, config, said=(said,))


def test_a_shorthand_and_the_key_it_sets_are_not_both_given() -> None:
    refused(RateTier.from_config, {"requestsPerSecond": 5, "limit": 10},
            said=("'requestsPerSecond' and 'limit' both set limit",))


# Sample values for every canonical key; every alias (and camelCase / kebab-case spelling)
# of a key must build the very object its canonical name builds.
BUILDERS = {
    "retry": (RetryPolicy.spec, RetryPolicy.from_config, {}, {
        "max_attempts": 3, "max_retries": 2, "initial_delay": "2s", "backoff_multiplier": 3,
        "max_delay": "1m", "max_retry_after": "5m", "retry_statuses": [503]}),
    "response rule": (RESPONSE_RULE, ResponseRule.from_config, {"outcome": "error"}, {
        "name": "n", "status": [403, "5xx"], "headers": {"x-a": "0"}, "body": {"ok": False},
        "text": {"contains": "limit"}, "outcome": "rate_limited", "wait": [{"header": "x-r"}, 9],
        "error": "RateLimitError", "code": "c", "message": "m", "hint": "h"}),
    "breaker": (CircuitBreaker.spec, lambda c: vars(CircuitBreaker.from_config(c)) | {
        "clock": None, "_lock": None}, {}, {"failure_threshold": 3, "reset_timeout": "1m"}),
    "tier": (RateTier.spec, RateTier.from_config, {"limit": 5}, {
        "name": "n", "limit": 7, "per": "1m", "requests_per_second": 4,
        "requests_per_minute": 4, "requests_per_hour": 4, "algorithm": "sliding_window",
        "burst": 9, "scope": "endpoint", "endpoints": ["a.*"], "for_keys": "sk_*",
        "margin": 0.1}),
    "quotas": (QuotaConfig.spec, QuotaConfig.from_config, {}, {
        "daily": 5, "monthly": 50, "concurrent": 2, "lease_seconds": "1m",
        "bulk_reserve": 0.2, "alerts": [0.5], "not_modified_free": True}),
    "cache": (CacheSettings.spec, CacheSettings.from_config, {}, {
        "enabled": False, "default_ttl": "5m", "ttl": {"a.*": "1h"}, "stale_if_error": "1d",
        "strategy": "stale-if-error", "offline": True, "revalidate": False,
        "methods": ["GET"], "respect_cache_control": False, "ignored_params": ["_"],
        "secret_params": ["sig"], "vary_headers": ["X-Tenant"]}),
    "configure": (SETTINGS, SETTINGS.read, {}, {
        "data_dir": "/tmp/x", "state": "sqlite:///x.db", "profile": "p", "config_file": "c",
        "offline": True, "ledger": False, "state_timeout": "2s", "state_fallback": "local"}),
}


def _definition(section: str, values: dict) -> ConnectorDef:
    base = {"service": "aliased", "base_url": "https://api.example.com"}
    if section:
        return ConnectorDef.from_mapping({**base, section: values})
    given = {DEFINITION.name_of(key) for key in values}
    return ConnectorDef.from_mapping({**{k: v for k, v in base.items() if k not in given},
                                      **values})


for _spec, _section, _samples in [
    (AUTH, "auth", {
        "type": "oauth2", "param": "token", "env": "X_TOKEN", "password_env": "X_PASS",
        "header": "X-Key", "query": "key", "prefix": "Token ", "check": "/me",
        "grant": "client_credentials", "scopes": ["read"], "token_url": "https://t/token",
        "token_path": "/token", "authorize_url": "https://t/a", "authorize_path": "/a",
        "device_authorization_url": "https://t/d", "device_authorization_path": "/d",
        "revoke_url": "https://t/r", "revoke_path": "/r", "authorize_params": {"a": "b"},
        "client_id": "app", "login_url": "https://t", "refresh_skew": "2m",
        "token_endpoint_auth_method": "none"}),
    (TIMEOUT, "timeout", {"connect": "1s", "read": "1m", "write": 5, "pool": 5,
                          "total": "5m"}),
    (API_VERSION, "api_version", {"value": "1", "header": "X-V", "path": "/v{version}",
                                  "query": "api-version", "pattern": r"\d+"}),
    (DEFINITION, "", {
        "title": "T", "docs": "https://docs", "backup_base_urls": ["https://b"],
        "module": "integkit.engine._services.stripe", "api_version": {"value": "1"},
        "auth": {"type": "none"}, "headers": {"A": "b"}, "body": "form",
        "idempotency": {"header": "I"}, "request_id_header": "R", "retry": {"max_attempts": 2},
        "breaker": {"failure_threshold": 2}, "timeout": {"read": 3},
        "paginator": "link_header", "records_path": "data", "primary_key": "id",
        "timestamps": {"unit": "ms"}, "schema": {"amount": "number"}, "errors": {"message": "m"},
        "rate_limits": [{"limit": 2}], "quotas": {"daily": 3}, "cache": {"default_ttl": 4},
        "feedback": ["x_ratelimit"], "pricing": {"plans": {"p": {"model": "per_call", "price": 0}}},
        "resources": {"x": "/x"}, "operations": {"o": {"path": "/o"}},
        "responses": [{"status": 503, "outcome": "retry"}], "warnings": {"paths": ["w"]},
        "parameters": {"since": "date"}, "service": "aliased", "base_url": "https://api.example.com"}),
]:
    BUILDERS[_spec.what] = (_spec, lambda c, s=_section: _definition(s, c), {}, _samples)


@pytest.mark.parametrize("which", sorted(BUILDERS))
def test_every_alias_builds_what_its_canonical_name_builds(which) -> None:
    spec, build, base, samples = BUILDERS[which]
    assert set(samples) == set(spec.keys), "a key without a sample value"
    aliases = spec.aliases
    assert aliases, "camelCase spellings at least"
    for spelling, name in aliases.items():
        rest_of = {} if spec.keys[name].expand else {k: v for k, v in base.items() if k != name}
        plain = {**rest_of, name: samples[name]}
        spelt = {**rest_of, spelling: samples[name]}
        assert build(spelt) == build(plain), (spelling, name)


def test_each_definition_section_has_its_one_line_in_the_definition_spec() -> None:
    fields = {f.name for f in dataclasses.fields(ConnectorDef)}
    internal = {"origin", "source", "allowed_env"}
    assert set(DEFINITION.keys) == fields - internal


# -- the shipped definitions ------------------------------------------------------------------
SECTION_SPECS = {"retry": RetryPolicy.spec, "breaker": CircuitBreaker.spec,
                 "cache": CacheSettings.spec, "quotas": QuotaConfig.spec, "auth": AUTH,
                 "timeout": TIMEOUT, "api_version": API_VERSION, "errors": ERRORS,
                 "timestamps": TIMESTAMPS}


@pytest.mark.parametrize("service", available_services())
def test_shipped_definitions_load_and_are_spelt_canonically(service) -> None:
    definition = load_definition(service)
    raw = yaml.safe_load(Path(definition.source).read_text())
    assert Path(definition.source).parent in definition_dirs()
    for key in raw:  # x-...: extension keys, room for YAML anchors (shared schemas)
        assert key.startswith("x-") or DEFINITION.name_of(key) == key, key
    for section, spec in SECTION_SPECS.items():
        for key in raw.get(section) or {}:
            assert spec.name_of(key) == key, (section, key)
    for tier in raw.get("rate_limits") or []:
        assert all(RateTier.spec.name_of(k) == k for k in tier), tier
    for resource in (raw.get("resources") or {}).values():
        assert isinstance(resource, str) or all(RESOURCE.name_of(k) == k for k in resource)
    for operation in (raw.get("operations") or {}).values():
        assert all(OPERATION.name_of(k) == k for k in operation)
    RetryPolicy.from_config(definition.retry)
    CircuitBreaker.from_config(definition.breaker)
    CacheSettings.from_config(definition.cache)
    QuotaConfig.from_config(definition.quotas)
    assert all(RateTier.from_config(t) for t in definition.rate_limits)


def test_a_users_camel_case_definition_still_works(tmp_path, home, sleeps) -> None:
    answers = iter([JSONResponse({"e": 1}, status_code=503),
                    JSONResponse({"items": [{"id": 1}, {"id": 2}]})])
    home.route("/things", lambda request: next(answers))
    path = definition_file(tmp_path, (
        "recordsPath: items\nprimaryKey: id\npaginator: single_page\n"
        "retry: {maxAttempts: 2, initialDelay: 0.01, backoffMultiplier: 2, maxDelay: 1}\n"
        "breaker: {failureThreshold: 5, resetTimeout: 30}\n"
        "rateLimits: [{requestsPerSecond: 100, burstSize: 10}]\n"
        "cache: {strategy: stale-if-error, staleIfError: 1h}\n"
        "resources: {things: {path: /things}}\n"), base_url=home.url)
    conn = ik.connect(path, sleep=sleeps, account=uuid.uuid4().hex[:10])
    assert conn.definition.retry == {"max_attempts": 2, "initial_delay": 0.01,
                                     "backoff_multiplier": 2, "max_delay": 1}
    assert conn.definition.rate_limits == [{"limit": 100, "per": 1.0, "burst": 10}]
    assert list(conn.list("things").to_frame()["id"]) == [1, 2] and len(sleeps) == 1
