"""Config files, ${ENV} interpolation, profiles, and what connect() does with them."""

from __future__ import annotations

import json

import pytest

import integkit as ik
from integkit._config import interpolate, profile


def test_interpolation(monkeypatch) -> None:
    monkeypatch.setenv("IK_TEST_KEY", "abc")
    assert interpolate({"a": "${IK_TEST_KEY}", "b": ["x-${IK_TEST_KEY}"], "c": 3}) == {
        "a": "abc", "b": ["x-abc"], "c": 3}
    assert interpolate("${IK_MISSING:-fallback}") == "fallback"
    with pytest.raises(ik.ConfigError, match="needs the environment variable IK_MISSING"):
        interpolate("${IK_MISSING}")


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_profiles_from_config_file(tmp_path, monkeypatch, api, suffix) -> None:
    monkeypatch.setenv("IK_STAGING_KEY", "sk_test_staging_0001")
    texts = {
        ".yaml": 'profiles:\n  staging:\n    stripe: {api_key: "${IK_STAGING_KEY}", '
                 f'base_url: "{api}"}}\n',
        ".json": json.dumps({"profiles": {"staging": {"stripe": {
            "api_key": "${IK_STAGING_KEY}", "base_url": api}}}}),
        ".toml": "[profiles.staging.stripe]\n"
                 f'api_key = "${{IK_STAGING_KEY}}"\nbase_url = "{api}"\n',
    }
    path = tmp_path / f"config{suffix}"
    path.write_text(texts[suffix])
    ik.configure(config_file=path)
    try:
        assert profile("stripe", "staging")["api_key"] == "sk_test_staging_0001"
        conn = ik.connect("stripe", profile="staging")
        assert conn.base_url == api
        assert conn.request("GET", "/echo")["headers"]["authorization"].endswith("staging_0001")
        with pytest.raises(ik.ConfigError, match="profile 'prod' is not in the config file"):
            ik.connect("stripe", profile="prod")
    finally:
        ik.configure(config_file=None)


def test_bad_config_file_is_named(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("profiles: [unclosed")
    ik.configure(config_file=path)
    try:
        with pytest.raises(ik.ConfigError, match="bad.yaml is not valid"):
            profile("stripe")
    finally:
        ik.configure(config_file=None)


def test_configure_rejects_unknown_settings() -> None:
    with pytest.raises(ik.ConfigError, match="configure\\(\\): unknown key 'colour'"):
        ik.configure(colour="blue")


def test_definition_validation_names_every_problem(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("service: mine\nbody: xml\nfoo: 1\nresources: {things: {pathh: /x}}\n")
    with pytest.raises(ik.ConfigError) as info:
        ik.connect(str(path))
    text = str(info.value)
    assert "unknown key 'foo'" in text and "'base_url' is required" in text
    assert "'body' must be" in text and "resource 'things'" in text


def test_user_definition_file_works_like_a_shipped_one(tmp_path, api) -> None:
    path = tmp_path / "things.yaml"
    path.write_text(
        "service: things\n"
        f"base_url: {api}\n"
        "auth: {type: api_key, header: X-Token, param: token, env: THINGS_TOKEN}\n"
        "paginator: {type: offset, limit: 50, total_path: total}\n"
        "records_path: items\n"
        "resources: {items: /offset/items}\n"
    )
    conn = ik.connect(str(path), token="t0ken-123456")
    assert len(conn.list("items").to_frame()) == 237
    with pytest.raises(ik.ConfigError, match="set THINGS_TOKEN or pass"):
        ik.connect(str(path))


def test_a_definition_file_edited_in_the_session_is_read_again(tmp_path, api) -> None:
    path = tmp_path / "edited.yaml"
    body = ("service: edited\n"
            f"base_url: {api}\n"
            "paginator: {type: offset, limit: 50, total_path: total}\n"
            "records_path: items\n"
            "resources: {items: /offset/items}\n")
    path.write_text(body)
    assert list(ik.connect(str(path)).definition.resources) == ["items"]
    path.write_text(body.replace("resources: {items:", "resources: {things:"))
    conn = ik.connect(str(path))
    assert list(conn.definition.resources) == ["things"]
    assert len(conn.list("things").to_frame()) == 237
