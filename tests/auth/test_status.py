"""ik.auth.status(): every credential integkit can see, and none of their values."""

from __future__ import annotations

import integkit as ik
from integkit.auth import TokenId, TokenStore


def test_status_lists_env_tokens_and_connections_without_secrets(tmp_path, monkeypatch) -> None:
    key = "sk_test_statuscheck_4f5e6d7c8b"
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    store = TokenStore(f"sqlite:///{tmp_path}/state.db")
    store.put(TokenId("salesforce", "acme"), {
        "access_token": "00Dxx!AQ4AQFakeAccessToken", "refresh_token": "5Aep861FakeRefresh",
        "expires_at": 4_102_444_800, "scope": "api refresh_token"})
    conn = ik.connect("stripe", base_url="http://127.0.0.1:9")

    report = ik.auth.status(store)

    env = report[(report.source == "env") & (report.service == "stripe")].iloc[0]
    assert env["name"] == "STRIPE_SECRET_KEY" and bool(env["configured"])
    token = report[report.source == "token store"].iloc[0]
    assert token["name"] == "salesforce/acme/default"
    assert token["detail"] == "refreshable; scopes: api refresh_token"
    assert token["expires_in"] > 0
    mine = report[(report.source == "connection") & (report.service == "stripe")].iloc[0]
    assert mine["scheme"] == "Bearer" and mine["name"] == conn.base_url
    text = report.to_string() + report.to_html()
    for secret in (key, "FakeAccessToken", "FakeRefresh"):
        assert secret not in text
