"""Connector definitions have one published JSON Schema (``integkit/connector.schema.json``),
generated from the declarations the loader enforces: the committed file is what the tool
writes, every shipped definition passes it, and a broken definition fails both the schema
and the loader, whose error names the key and ``file.yaml:LINE``."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

import integkit as ik
from integkit._spec_schema import schema_of, shared
from integkit.engine import available_services, definition_dirs, load_definition
from integkit.engine._definition import definition_schema

ROOT = Path(__file__).resolve().parents[2]
HEAD = "service: s{tag}\nbase_url: https://api.example.com\n"  # two lines; the body is line 3


def schema() -> dict:
    return json.loads((resources.files("integkit") / "connector.schema.json").read_text())


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def test_the_committed_schema_is_what_the_loaders_declarations_generate() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "definition_schema.py"),
                           "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert schema() == json.loads(json.dumps(definition_schema()))
    jsonschema.Draft202012Validator.check_schema(schema())


def test_the_schema_knows_every_section_and_refuses_others() -> None:
    top = schema()
    for section in ("service", "base_url", "auth", "paginator", "records_path", "resources",
                    "rate_limits", "quotas", "retry", "pricing", "schema", "timestamps",
                    "errors", "operations", "cache", "breaker", "timeout", "api_version",
                    "rateLimits", "rate-limits", "circuit_breaker", "pagination"):
        assert section in top["properties"], section
    assert top["additionalProperties"] is False
    assert list(top["patternProperties"]) == ["^x-"]


@pytest.mark.parametrize("service", available_services())
def test_every_shipped_definition_passes_the_schema(service: str) -> None:
    path = next(d / f"{service}.yaml" for d in definition_dirs()
                if (d / f"{service}.yaml").is_file())
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in validator().iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []
    load_definition(service)


def test_other_spellings_and_x_keys_pass_both() -> None:
    body = ("x-shared: &fields {id: string}\n"
            "rateLimits: [{requestsPerSecond: 5, burstSize: 10}]\n"
            "retry: {maxAttempts: 3, initial-delay: 500ms, max-delay: PT30S}\n"
            "circuitBreaker: {failureThreshold: 3}\n"
            "cache: {ttl: 5m, strategy: stale-if-error}\n"
            "api_version: {version: '2024-10', header: X-Version}\n"
            "resources:\n  things: /things\n"
            "  others: {path: /others, recordsPath: data, schema: *fields,\n"
            "           paginator: {type: cursor, cursorPath: next}}\n"
            "operations:\n  make_thing: {path: /things, method: post, required: [name]}\n")
    data = yaml.safe_load(HEAD.format(tag="x") + body)
    assert list(validator().iter_errors(data)) == []
    ik.engine.ConnectorDef.from_mapping(data)


# (body from line 3, the key the loader's error names, the line it names)
BROKEN = [
    ("rate_limts: [{limit: 5}]\n", "'rate_limts'", 3),
    ("retry:\n  max_attempts: 3\n  maxAtempts: 4\n", "'maxAtempts'", 5),
    ("retry:\n  max_attempts: three\n", "max_attempts", 4),
    ("body: xml\n", "'body'", 3),
    ("auth:\n  type: bearer\n  check: {pth: /me}\n", "'pth'", 5),
    ("auth:\n  type: digest\n", "auth type", 4),
    ("rate_limits:\n  - limit: 5\n    burts: 10\n", "'burts'", 5),
    ("timestamps: {unit: days}\n", "unit", 3),
    ("schema:\n  id: string\n  amount: money\n", "'amount'", 5),
    ("resources:\n  things:\n    path: /things\n    primaryKey: 7\n", "primaryKey", 6),
    ("resources:\n  things:\n    path: /t\n    paginator: {type: cursor, cursor_pth: x}\n",
     "'cursor_pth'", 6),
    ("operations:\n  make:\n    path: /things\n    method: FETCH\n", "method", 6),
    ("pricing: {plans: {std: {model: per_minute}}}\n", "pricing", 3),
    ("quotas: {daily: -1}\n", "daily", 3),
]


@pytest.mark.parametrize(("body", "key", "line"), BROKEN)
def test_a_broken_definition_fails_the_schema_and_the_loader_naming_key_and_line(
        tmp_path: Path, body: str, key: str, line: int) -> None:
    text = HEAD.format(tag=uuid.uuid4().hex[:8]) + body
    assert list(validator().iter_errors(yaml.safe_load(text))), "the schema let it pass"
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ik.ConfigError) as info:
        load_definition(str(path))
    message = str(info.value)
    assert key in message, message
    assert f"{path}:{line}: " in message, message


def test_a_definition_from_code_keeps_its_message_without_lines() -> None:
    with pytest.raises(ik.ConfigError) as info:
        ik.engine.ConnectorDef.from_mapping(
            {"service": "s", "base_url": "https://x", "body": "xml"}, source="mine")
    assert str(info.value) == "mine: 'body' must be one of 'json', 'form', not 'xml' (str)"


def test_a_check_without_a_schema_is_refused_not_left_loose() -> None:
    with pytest.raises(TypeError, match="has no JSON Schema"):
        schema_of(lambda value, where: value)


def test_repeated_subschemas_are_written_once() -> None:
    big = {"title": "thing", "type": "object", "properties": {"a": {"type": "string"}},
           "additionalProperties": False}
    out = shared({"properties": {"one": big, "two": big}}, min_size=10)
    assert out["properties"] == {"one": {"$ref": "#/$defs/thing"},
                                 "two": {"$ref": "#/$defs/thing"}}
    assert out["$defs"] == {"thing": big}
