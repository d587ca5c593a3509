"""Credentials go only to their own origin, connector by connector: each one's next-page URL,
redirect or write, scripted on ``home`` to point at ``elsewhere``, is refused with a clear
error and ``elsewhere`` receives nothing (so no key, token, JWT, body or idempotency key);
the token flows (OAuth refresh, GitHub App installation tokens) do not follow redirects.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik

QUICK = {"rate_limit": False, "cache": False, "retry": {"maxAttempts": 1}}


def redirect(status: int, location: str):
    return lambda request: Response(status_code=status, headers={"Location": location})


def untouched(elsewhere) -> None:
    assert elsewhere.seen == [], [(s.method, s.path) for s in elsewhere.seen]


def refused(excinfo, elsewhere, *secrets: str) -> None:
    text = str(excinfo.value)
    assert isinstance(excinfo.value, ik.OriginError)
    assert elsewhere.origin in text and "allowed_origins" in text, text
    for secret in secrets:
        assert secret not in text and secret not in repr(excinfo.value)


# -- Stripe ----------------------------------------------------------------------------------

STRIPE_KEY = "sk_test_stripeOrigin9d81be22"


def stripe(home):
    return ik.connect("stripe", api_key=STRIPE_KEY, base_url=home.url, **QUICK)


def test_stripe_listing_redirected_elsewhere_is_refused(home, elsewhere) -> None:
    home.route("/v1/charges", redirect(302, f"{elsewhere.url}/v1/charges"))
    elsewhere.route("*", lambda request: JSONResponse({"data": [], "has_more": False}))
    with pytest.raises(ik.OriginError) as excinfo:
        stripe(home).list("charges").to_frame()
    refused(excinfo, elsewhere, STRIPE_KEY)
    untouched(elsewhere)


def test_stripe_create_payment_intent_307_elsewhere_posts_nothing_there(home, elsewhere) -> None:
    home.route("/v1/payment_intents", redirect(307, f"{elsewhere.url}/v1/payment_intents"))
    elsewhere.route("*", lambda request: JSONResponse({"id": "pi_from_elsewhere"}))
    with pytest.raises(ik.OriginError) as excinfo:
        stripe(home).create_payment_intent(amount=2000, currency="usd",
                                           metadata={"order": "42"})
    refused(excinfo, elsewhere, STRIPE_KEY)
    assert excinfo.value.status == 307 and excinfo.value.endpoint == "create_payment_intent"
    untouched(elsewhere)
    (sent,) = home.seen
    assert sent.carries(STRIPE_KEY) and b"amount=2000" in sent.body
    assert sent.headers["idempotency-key"]


def test_stripe_retrieve_moved_within_the_origin_still_works(home, elsewhere) -> None:
    home.route("/v1/customers/cus_1", redirect(301, "/v1/customers/cus_1b"))
    home.route("/v1/customers/cus_1b", lambda request: JSONResponse({"id": "cus_1b"}))
    assert stripe(home).retrieve("customers", "cus_1")["id"] == "cus_1b"
    assert all(s.carries(STRIPE_KEY) for s in home.seen) and len(home.seen) == 2
    untouched(elsewhere)


# -- GitHub ----------------------------------------------------------------------------------

GITHUB_TOKEN = "ghp_githubOrigin0c4e5a7b9d1f3"


def link_to(url: str) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="next", <{url}&page=9>; rel="last"'}


def test_github_link_header_to_another_origin_is_refused(home, elsewhere) -> None:
    home.route("/repos/octo/repo/issues", lambda request: JSONResponse(
        [{"id": 1, "number": 1}],
        headers=link_to(f"{elsewhere.url}/repos/octo/repo/issues?per_page=100&page=2")))
    gh = ik.connect("github", token=GITHUB_TOKEN, base_url=home.url, **QUICK)
    with pytest.raises(ik.OriginError) as excinfo:
        gh.list("issues", repo="octo/repo").to_frame()
    refused(excinfo, elsewhere, GITHUB_TOKEN)
    untouched(elsewhere)
    assert home.seen[0].carries(GITHUB_TOKEN)


@pytest.fixture(scope="module")
def app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


INSTALLATION_TOKEN = "ghs_installationOrigin5b7d9f1a"


def installation_token(request: Request) -> Response:
    expires = datetime.fromtimestamp(time.time() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return JSONResponse({"token": INSTALLATION_TOKEN, "expires_at": expires}, status_code=201)


def test_github_app_credentials_never_follow_a_link_elsewhere(home, elsewhere, app_key) -> None:
    home.route("/app/installations/7/access_tokens", installation_token)
    home.route("/repos/octo/repo/pulls", lambda request: JSONResponse(
        [{"id": 1, "number": 1}],
        headers=link_to(f"{elsewhere.url}/repos/octo/repo/pulls?per_page=100&page=2")))
    app = ik.auth.GitHubApp(1234, app_key, installation_id=7, base_url=home.url)
    gh = ik.connect("github", auth=app, base_url=home.url, **QUICK)
    with pytest.raises(ik.OriginError) as excinfo:
        gh.list("pulls", repo="octo/repo").to_frame()
    refused(excinfo, elsewhere, INSTALLATION_TOKEN)
    untouched(elsewhere)  # neither the installation token nor an app JWT
    assert [s.path for s in home.seen] == ["/app/installations/7/access_tokens",
                                          "/repos/octo/repo/pulls"]
    assert home.seen[1].carries(INSTALLATION_TOKEN)


def test_github_app_token_exchange_redirected_elsewhere_is_not_followed(
        home, elsewhere, app_key) -> None:
    home.route("/app/installations/7/access_tokens",
               redirect(307, f"{elsewhere.url}/app/installations/7/access_tokens"))
    elsewhere.route("*", installation_token)
    app = ik.auth.GitHubApp(1234, app_key, installation_id=7, base_url=home.url)
    gh = ik.connect("github", auth=app, base_url=home.url, **QUICK)
    with pytest.raises(ik.IntegkitError):
        gh.request("GET", "/repos/octo/repo")
    with pytest.raises(ik.IntegkitError):
        app.token()  # its own short-lived client, outside any connection
    untouched(elsewhere)
    assert [s.path for s in home.seen] == ["/app/installations/7/access_tokens"] * 2


# -- Salesforce ------------------------------------------------------------------------------

SF_SECRET = "sfClientSecretOrigin7e1d"
SF_REFRESH = "5Aep861sfRefreshOrigin2b9c"
SF_SESSION = "00Dsession!OriginAccess4a6f"
QUERY = "/services/data/v60.0/query"


def token_endpoint(instance_url: str):
    def answer(request: Request) -> Response:
        return JSONResponse({"access_token": SF_SESSION, "token_type": "Bearer",
                             "instance_url": instance_url, "issued_at": "1"})
    return answer


def salesforce(home):
    store = ik.auth.TokenStore("memory")
    return ik.connect("salesforce", base_url=home.url, client_id=f"cid-{uuid.uuid4().hex}",
                      client_secret=SF_SECRET, refresh_token=SF_REFRESH, token_store=store,
                      quotas={}, **QUICK)


def soql_page(next_url: str):
    def answer(request: Request) -> Response:
        if "COUNT()" in request.query_params.get("q", ""):
            return JSONResponse({"totalSize": 2, "done": True, "records": []})
        return JSONResponse({"totalSize": 2, "done": False, "nextRecordsUrl": next_url,
                             "records": [{"attributes": {"type": "Account"}, "Id": "001A"}]})
    return answer


def test_salesforce_next_records_url_to_another_origin_is_refused(
        home, elsewhere) -> None:
    home.route("/services/oauth2/token", token_endpoint(home.url))
    home.route(QUERY, soql_page(f"{elsewhere.url}{QUERY}/01gD0000002HU6KIAW-2000"))
    elsewhere.route("*", lambda request: JSONResponse({"done": True, "records": []}))
    with pytest.raises(ik.OriginError) as excinfo:
        salesforce(home).query("SELECT Id FROM Account", bulk=False).to_frame()
    refused(excinfo, elsewhere, SF_SESSION, SF_SECRET, SF_REFRESH)
    untouched(elsewhere)
    assert any(s.path == QUERY and s.carries(SF_SESSION) for s in home.seen)


def test_salesforce_calls_the_instance_its_token_response_names(
        home, elsewhere) -> None:
    """The instance_url is an origin the service hands out: it is adopted (and is where the
    session goes), while the login host keeps its own."""
    home.route("/services/oauth2/token", token_endpoint(elsewhere.url))
    elsewhere.route(QUERY, lambda request: JSONResponse(
        {"totalSize": 1, "done": True, "records": [{"Id": "001B"}]}))
    sf = salesforce(home)
    assert [r["Id"] for r in sf.query("SELECT Id FROM Account", bulk=False)] == ["001B"]
    assert elsewhere.seen and all(s.carries(SF_SESSION) for s in elsewhere.seen)
    assert not any(s.carries(SF_SECRET) or s.carries(SF_REFRESH) for s in elsewhere.seen)
    assert f"{elsewhere.url}/x" in sf.origins and f"{home.url}/x" in sf.origins


def test_salesforce_token_refresh_redirected_elsewhere_is_not_followed(
        home, elsewhere) -> None:
    home.route("/services/oauth2/token", redirect(307, f"{elsewhere.url}/services/oauth2/token"))
    elsewhere.route("*", token_endpoint(elsewhere.url))
    with pytest.raises(ik.IntegkitError):
        salesforce(home).query("SELECT Id FROM Account", bulk=False).to_frame()
    untouched(elsewhere)
    assert home.seen and home.seen[0].carries(SF_REFRESH)


# -- Shopify ---------------------------------------------------------------------------------

SHOPIFY_TOKEN = "shpat_shopifyOrigin3c5e7a9b1d"
PRODUCTS = "/admin/api/2024-10/products.json"


def test_shopify_link_header_to_another_origin_is_refused(home, elsewhere) -> None:
    home.route(PRODUCTS, lambda request: JSONResponse(
        {"products": [{"id": 1, "title": "Hat"}]},
        headers={"Link": f'<{elsewhere.url}{PRODUCTS}?limit=250&page_info=eyJsYXN0X2lkIjox>; '
                         'rel="next"'}))
    shop = ik.connect("shopify", base_url=home.url, access_token=SHOPIFY_TOKEN, **QUICK)
    with pytest.raises(ik.OriginError) as excinfo:
        shop.list("products").to_frame()
    refused(excinfo, elsewhere, SHOPIFY_TOKEN)
    untouched(elsewhere)
    assert home.seen[0].carries(SHOPIFY_TOKEN)


def test_shopify_graphql_redirected_elsewhere_is_refused(home, elsewhere) -> None:
    home.route("/admin/api/2024-10/graphql.json",
               redirect(308, f"{elsewhere.url}/admin/api/2024-10/graphql.json"))
    shop = ik.connect("shopify", base_url=home.url, access_token=SHOPIFY_TOKEN, **QUICK)
    with pytest.raises(ik.OriginError) as excinfo:
        shop.graphql("{ shop { name } }")
    refused(excinfo, elsewhere, SHOPIFY_TOKEN)
    untouched(elsewhere)


# -- Slack -----------------------------------------------------------------------------------

SLACK_TOKEN = "xoxb-slackOrigin-1234-5678abcdef"


def slack(home):
    return ik.connect("slack", token=SLACK_TOKEN, base_url=home.url, **QUICK)


def test_slack_cursor_naming_another_origin_stays_a_cursor(home, elsewhere) -> None:
    evil = f"{elsewhere.url}/api/users.list"

    def users(request: Request) -> Response:
        if request.query_params.get("cursor") == evil:
            return JSONResponse({"ok": True, "members": [{"id": "U2"}],
                                 "response_metadata": {"next_cursor": ""}})
        return JSONResponse({"ok": True, "members": [{"id": "U1"}],
                             "response_metadata": {"next_cursor": evil}})

    home.route("/users.list", users)
    assert [u["id"] for u in slack(home).list("users")] == ["U1", "U2"]
    assert len(home.seen) == 2 and all(s.carries(SLACK_TOKEN) for s in home.seen)
    untouched(elsewhere)


def test_slack_message_redirected_elsewhere_is_not_posted_there(home, elsewhere) -> None:
    home.route("/chat.postMessage", redirect(307, f"{elsewhere.url}/api/chat.postMessage"))
    elsewhere.route("*", lambda request: JSONResponse({"ok": True, "ts": "1.2"}))
    with pytest.raises(ik.OriginError) as excinfo:
        slack(home).send_message("C1", "the quarterly numbers")
    refused(excinfo, elsewhere, SLACK_TOKEN)
    untouched(elsewhere)
