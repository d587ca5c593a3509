"""One OS process of the concurrent-refresh test: wait for the common start time, then call
the protected API through OAuth2 (whose stored access token has expired); print what
happened as one JSON line.

    python -m tests.auth._worker <token_url> <api_url> <state_url> <service> <start_at>
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    token_url, api_url, state_url, service, start_at = sys.argv[1:6]
    import httpx

    from integkit.auth._oauth import OAuth2
    from integkit.auth._tokens import TokenStore

    from .conftest import CLIENT_SECRET

    store = TokenStore(state_url)
    auth = OAuth2(token_url=token_url, client_id="app", client_secret=CLIENT_SECRET,
                  grant="refresh_token", service=service, store=store)
    with httpx.Client(auth=auth, timeout=30) as client:
        store.key  # noqa: B018 - resolve the key before the start, not during the race
        time.sleep(max(0.0, float(start_at) - time.time()))
        statuses = [client.get(api_url).status_code for _ in range(3)]
    print(json.dumps({"statuses": statuses, "stats": dict(auth.stats)}))


if __name__ == "__main__":
    main()
