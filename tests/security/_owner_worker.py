"""One OS process of the token-owner tests: wait for the common start time, then ask the
sandbox provider who the token this process uses belongs to; print it as one JSON line.

    python -m tests.security._owner_worker <provider_url> <state_url> <service> <start_at>

The refresh token, if any, comes from the ``<SERVICE>_REFRESH_TOKEN`` environment variable
(as a scheduled run gets it); without one the process uses the profile's stored login.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    provider_url, state_url, service, start_at = sys.argv[1:5]
    import httpx

    from integkit.auth import OAuth2, TokenStore

    store = TokenStore(state_url)
    auth = OAuth2(token_url=f"{provider_url}/oauth/token", client_id="app",
                  client_secret=sys.stdin.readline().strip(), grant="refresh_token",
                  service=service, store=store)
    store.key  # noqa: B018 - resolve the key before the start, not during the race
    time.sleep(max(0.0, float(start_at) - time.time()))
    with httpx.Client(auth=auth, timeout=30) as client:
        answer = client.get(f"{provider_url}/oauth/userinfo")
    print(json.dumps({"status": answer.status_code, "sub": answer.json().get("sub"),
                      "slot": str(auth.token_id), "stats": dict(auth.stats)}))


if __name__ == "__main__":
    main()
