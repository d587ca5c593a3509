"""A user's own connector definition with ``auth: {type: oauth2}``: ik.connect builds OAuth 2.0
from it (client credentials here, from env vars), and a paged listing reads every record."""

from __future__ import annotations

import textwrap

import integkit as ik

from .conftest import CLIENT_SECRET, TOTAL


def test_definition_with_oauth2_auth(sb, tmp_path, monkeypatch) -> None:
    definition = tmp_path / "items.yaml"
    definition.write_text(textwrap.dedent(f"""\
        service: items-{tmp_path.name[-8:]}
        base_url: {sb.url}
        auth:
          type: oauth2
          grant: client_credentials
          token_path: /oauth/token
          scopes: [items.read]
          env: {{client_id: ITEMS_CLIENT_ID, client_secret: ITEMS_CLIENT_SECRET}}
        paginator: {{type: cursor, cursor_path: next_cursor, cursor_param: cursor}}
        records_path: items
        resources:
          items: /v1/items
        """))
    monkeypatch.setenv("ITEMS_CLIENT_ID", "app")
    monkeypatch.setenv("ITEMS_CLIENT_SECRET", CLIENT_SECRET)
    conn = ik.connect(str(definition), state=f"sqlite:///{tmp_path}/s.db",
                      allow_env=["ITEMS_CLIENT_ID", "ITEMS_CLIENT_SECRET"])
    assert isinstance(conn.auth, ik.auth.OAuth2)
    frame = conn.list("items").to_frame()
    assert list(frame["id"]) == list(range(TOTAL))
    assert CLIENT_SECRET not in repr(conn) and conn.account != "default"
