"""Definitions are data: a connector definition from a user's file (one a teammate or a
website handed over) cannot read the environment without consent, cannot make integkit import
code outside its own connector modules, cannot pass itself off as a shipped connector, and
service names are names, never paths.

The file points at ``elsewhere`` (a real server on 127.0.0.1 standing for the file author's
host): what it received is what would have leaked.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

import integkit as ik
from integkit.engine import definition_dirs

SECRET = "sk_live_TeamKeyNeverForElsewhere42"


@pytest.fixture
def stripe_key(monkeypatch) -> str:
    monkeypatch.setenv("STRIPE_SECRET_KEY", SECRET)
    return SECRET


def definition(tmp_path: Path, text: str, name: str = "handed.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_a_definition_file_cannot_send_an_environment_secret_to_its_own_host(
        tmp_path, elsewhere, stripe_key):
    path = definition(tmp_path, f"""\
        service: handy-reports
        base_url: {elsewhere.url}
        auth: {{type: bearer, param: token, env: STRIPE_SECRET_KEY}}
        resources: {{reports: /reports}}
        """)
    with pytest.raises(ik.ConfigError, match=r"allow_env=\['STRIPE_SECRET_KEY'\]") as caught:
        ik.connect(path).list("reports").to_frame()
    assert SECRET not in str(caught.value) and elsewhere.url in str(caught.value)
    assert elsewhere.seen == []
    # With the caller's explicit consent it is the caller's decision.
    elsewhere.route("/reports", lambda request: ik_json([]))
    ik.connect(path, allow_env=["STRIPE_SECRET_KEY"], rate_limit=False).list("reports").head()
    assert elsewhere.seen and elsewhere.seen[0].carries(SECRET)


def ik_json(data):
    from starlette.responses import JSONResponse

    return JSONResponse(data)


def test_an_unset_variable_needs_no_consent_and_an_explicit_credential_wins(
        tmp_path, elsewhere, monkeypatch):
    monkeypatch.delenv("HANDY_TOKEN", raising=False)
    path = definition(tmp_path, f"""\
        service: handy
        base_url: {elsewhere.url}
        auth: {{type: bearer, param: token, env: HANDY_TOKEN}}
        resources: {{things: /things}}
        """)
    with pytest.raises(ik.ConfigError, match="set HANDY_TOKEN or pass .*allow_env"):
        ik.connect(path)
    monkeypatch.setenv("HANDY_TOKEN", "env-value-not-consented-1234")
    elsewhere.route("/things", lambda request: ik_json([{"id": 1}]))
    conn = ik.connect(path, token="given-by-the-caller-5678", rate_limit=False)
    assert conn.list("things").to_frame()["id"].tolist() == [1]
    assert elsewhere.seen[0].carries("given-by-the-caller-5678")
    assert not elsewhere.seen[0].carries("env-value-not-consented-1234")


def test_oauth_client_secrets_and_refresh_tokens_from_the_environment_need_consent(
        tmp_path, elsewhere, monkeypatch):
    monkeypatch.setenv("CORP_CLIENT_ID", "corp-app")
    monkeypatch.setenv("CORP_CLIENT_SECRET", "corp-client-secret-9f8e7d")
    path = definition(tmp_path, f"""\
        service: corp-notes
        base_url: {elsewhere.url}
        auth:
          type: oauth2
          grant: client_credentials
          token_path: /oauth/token
          env: {{client_id: CORP_CLIENT_ID, client_secret: CORP_CLIENT_SECRET}}
        resources: {{notes: /notes}}
        """)
    with pytest.raises(ik.ConfigError, match="CORP_CLIENT_ID"):
        ik.connect(path)
    with pytest.raises(ik.ConfigError, match="CORP_CLIENT_SECRET"):
        ik.connect(path, allow_env=["CORP_CLIENT_ID"])
    assert elsewhere.seen == []
    conn = ik.connect(path, allow_env=True, state=f"sqlite:///{tmp_path}/s.db")
    assert conn.auth.client_id == "corp-app"


def test_nothing_in_a_definition_is_interpolated(tmp_path, elsewhere, stripe_key):
    path = definition(tmp_path, f"""\
        service: plain
        base_url: {elsewhere.url}
        headers: {{X-Report: "${{STRIPE_SECRET_KEY}}"}}
        resources: {{items: "/items?k=${{STRIPE_SECRET_KEY}}"}}
        """)
    elsewhere.route("/items", lambda request: ik_json([]))
    ik.connect(path, rate_limit=False).list("items").to_frame()
    seen = elsewhere.seen[0]
    assert not seen.carries(SECRET)
    assert seen.headers["x-report"] == "${STRIPE_SECRET_KEY}"


def test_a_definition_file_cannot_pass_itself_off_as_a_shipped_connector(
        tmp_path, elsewhere, stripe_key):
    config = tmp_path / "config.yaml"
    config.write_text('profiles:\n  default:\n    stripe: {api_key: "${STRIPE_SECRET_KEY}"}\n')
    path = definition(tmp_path, f"""\
        service: stripe
        base_url: {elsewhere.url}
        auth: {{type: bearer, param: api_key}}
        resources: {{charges: /v1/charges}}
        """)
    previous = ik.get_settings().config_file
    ik.configure(config_file=config)
    try:
        with pytest.raises(ik.ConfigError, match="shipped connector's"):
            ik.connect(path).list("charges").to_frame()
    finally:
        ik.configure(config_file=previous)
    assert elsewhere.seen == []


def test_module_may_only_name_integkit_connector_modules(tmp_path, api):
    assert "tests.security._trusted_module" not in sys.modules
    path = definition(tmp_path, f"""\
        service: third-party
        base_url: {api}
        module: tests.security._trusted_module
        """)
    with pytest.raises(ik.ConfigError, match=r"allow_modules=\['tests.security._trusted"):
        ik.connect(path)
    assert "tests.security._trusted_module" not in sys.modules  # never imported
    conn = ik.connect(path, allow_modules=["tests.security"])
    assert type(conn).__name__ == "ThirdPartyConnection"

    for module in ("os", "integkit_evil", "integkit.engine.servicesx"):
        bad = definition(tmp_path, f"service: x\nbase_url: {api}\nmodule: {module}\n",
                         name=f"{module}.yaml")
        with pytest.raises(ik.ConfigError, match="not one of integkit's connector modules"):
            ik.connect(bad)
    own = definition(tmp_path, f"service: gh-copy\nbase_url: {api}\n"
                               "module: integkit.engine._services.github\n", name="own.yaml")
    assert type(ik.connect(own, token="t0ken-123456789")).__name__ == "GitHubConnection"
    wrong = definition(tmp_path, f"service: wrong\nbase_url: {api}\n"
                                 "module: tests.security._not_a_connection\n", name="w.yaml")
    with pytest.raises(ik.ConfigError, match="subclass of integkit's Connection"):
        ik.connect(wrong, allow_modules=["tests.security._not_a_connection"])
    with pytest.raises(ik.ConfigError, match="dotted module name"):
        ik.connect(definition(tmp_path, f"service: y\nbase_url: {api}\nmodule: '../x'\n",
                              name="y.yaml"))


@pytest.mark.parametrize("name", [
    "../../x", "..", ".", "stripe/../stripe", "a\\b", "x.y", "", " stripe", "stripe\n",
    "/etc/passwd", "~/x", "x" * 65,
])
def test_service_names_cannot_traverse_paths(name):
    with pytest.raises(ik.ConfigError):
        ik.connect(name)


def test_a_relative_path_out_of_the_shipped_definitions_is_not_followed(tmp_path, api):
    target = tmp_path / "outside.yaml"
    target.write_text(f"service: outside\nbase_url: {api}\n")
    shipped = definition_dirs()[0]
    relative = os.path.relpath(target.with_suffix(""), shipped)
    assert (shipped / f"{relative}.yaml").resolve() == target.resolve()  # it would reach it
    with pytest.raises(ik.ConfigError, match="not a service name|neither"):
        ik.connect(relative)


@pytest.mark.parametrize("service", ["../../x", "a/b", "x.y", "..", ""])
def test_a_definition_or_rest_connection_cannot_name_itself_a_path(tmp_path, api, service):
    path = definition(tmp_path, f"service: {service!r}\nbase_url: {api}\n")
    with pytest.raises(ik.ConfigError):
        ik.connect(path)
    with pytest.raises(ik.ConfigError):
        ik.rest(api, name=service)


def test_consent_is_an_argument_never_a_profile_setting(tmp_path, elsewhere, stripe_key):
    config = tmp_path / "config.yaml"
    config.write_text("profiles:\n  default:\n    handy-reports: "
                      "{allow_env: [STRIPE_SECRET_KEY], allow_modules: [os]}\n")
    path = definition(tmp_path, f"""\
        service: handy-reports
        base_url: {elsewhere.url}
        auth: {{type: bearer, param: token, env: STRIPE_SECRET_KEY}}
        """)
    previous = ik.get_settings().config_file
    ik.configure(config_file=config)
    try:
        with pytest.raises(ik.ConfigError, match="pass it to ik.connect"):
            ik.connect(path)
    finally:
        ik.configure(config_file=previous)
    assert elsewhere.seen == []
