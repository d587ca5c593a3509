"""What the shared contract (test_contract.py) needs to know of each shipped connector, in one
place: which listing to read to its end and how the emulator counts it, a call that finds
nothing and one the service refuses, where the credential goes, the writes and whether
integkit may send each one again, and the published description its requests must satisfy.

A new connector with an emulator adds one ``Adapter`` to ``ADAPTERS``; every test of the
contract then runs against it (CONTRIBUTING.md, "Contract tests").
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import integkit as ik
from integkit.sandbox import Emulator, Sandbox, create_emulator
from integkit.sandbox.services.slack import SlackEmulator

from .._openapi import SPECS, RequestSpec, load_document, swagger2_to_openapi3

#: A connection and its sandbox -> what the call returned.
Run = Callable[[Any, Sandbox], Any]


@dataclass(frozen=True)
class Call:
    """One call a test makes, and where it goes on the wire: ``path`` is a glob of the
    request path (faults are scoped to it, attempts are counted on it)."""

    run: Run
    path: str
    method: str = "GET"


@dataclass(frozen=True)
class Write:
    """A write of the service. ``send(conn, sb, tag)`` makes it with a value unique to the
    test (``tag``); ``applied(sb, tag)`` counts the objects on the emulator that carry it.
    ``replayable``: integkit may send it again after a failure that might have come after
    the service applied it (an idempotency key, or a write that sets rather than adds);
    otherwise it must never be resent blindly. ``why`` says which, in the service's terms."""

    name: str
    send: Callable[[Any, Sandbox, str], Any]
    path: str
    method: str
    applied: Callable[[Sandbox, str], int]
    replayable: bool
    why: str


@dataclass(frozen=True)
class Adapter:
    """One connector's plug into the contract."""

    service: str
    records: int  # seeded per resource: small, so every listing is a few pages
    listing: Call  # a Result read to its last record
    page_size: int
    count: Callable[[Sandbox], int]  # the records the emulator holds for that listing
    key: Callable[[dict[str, Any]], Any]  # a record's identity
    missing: Call  # -> ik.NotFoundError
    refused: Call  # -> ik.InvalidRequestError: a well-formed request the service refuses
    credential: str  # the ik.connect keyword holding the secret
    auth_path: str  # where a wrong credential is first sent
    auth_hint: str  # (a regex of) what the error tells the user to do
    writes: tuple[Write, ...]
    # Its published API description (None: there is none, or it is not beside the repo)
    spec: Callable[[], RequestSpec | None] = lambda: None
    page_param: str = "limit"  # the query parameter carrying page_size (a wire check
    # makes it wrong: the description must catch it)
    emulator: Callable[[int], Emulator] | None = None  # default: create_emulator(service)
    # ik.connect options for a connection that must not reuse what earlier ones stored
    isolate: Callable[[], dict[str, Any]] = dict

    def start(self) -> Emulator:
        if self.emulator is not None:
            return self.emulator(self.records)
        return create_emulator(self.service, records=self.records)


def _tagged_quantity(tag: str) -> int:
    """An inventory quantity unique enough to a test's tag."""
    return 100_000 + zlib.crc32(tag.encode()) % 100_000


# -- descriptions (parsed once, on first use; None where ../shared/specs is absent) --------
STRIPE_SPEC = SPECS / "stripe" / "spec3.yaml"
GITHUB_SPEC = SPECS / "github" / "api.github.com.json"
SLACK_SPEC = SPECS / "slack" / "slack_web_openapi_v2.json"


@functools.cache
def stripe_spec() -> RequestSpec | None:
    return RequestSpec(load_document(STRIPE_SPEC)) if STRIPE_SPEC.is_file() else None


@functools.cache
def github_spec() -> RequestSpec | None:
    # GitHub's Link headers name a repository by id (/repositories/{id}/issues?page=2), a
    # form its description leaves out; such a page is checked as the /repos/{owner}/{repo}
    # operation it continues.
    if not GITHUB_SPEC.is_file():
        return None
    return RequestSpec(load_document(GITHUB_SPEC),
                       rewrite=lambda path: re.sub(r"^/repositories/\d+/", "/repos/o/r/", path))


@functools.cache
def slack_spec() -> RequestSpec | None:
    # The 2020 description asks for the token as a `token` parameter besides the bearer
    # header Slack documents now; the header carries it, so the parameter is left out.
    if not SLACK_SPEC.is_file():
        return None
    return RequestSpec(swagger2_to_openapi3(load_document(SLACK_SPEC),
        ["/users.list", "/conversations.history", "/chat.postMessage", "/chat.update"],
        drop_params=("token",)))


# -- the five ---------------------------------------------------------------------------------

REPO = "octo-org/atlas"


def em(sb: Sandbox) -> Any:
    """The sandbox's emulator as its own service's class (whose data the counts read)."""
    return sb.emulator


def _github_pulls(sb: Sandbox, head: str) -> int:
    repo = em(sb).world.repo(*REPO.split("/"))
    return sum(p.head_ref == head for p in repo.pulls())


def _slack_channel(sb: Sandbox) -> Any:
    return em(sb).world.channels[0]


def _shopify_level(sb: Sandbox) -> Any:
    return next(iter(em(sb).world.levels.values()))


STRIPE = Adapter(
    service="stripe", records=25,
    listing=Call(lambda conn, sb: conn.list("charges", limit=10), "/v1/charges"),
    page_size=10,
    count=lambda sb: len(em(sb).table("charges")),
    key=lambda r: r["id"],
    missing=Call(lambda conn, sb: conn.retrieve("charges", "ch_doesnotexist"),
                 "/v1/charges/ch_doesnotexist"),
    refused=Call(lambda conn, sb: conn.list("charges", limit=500).head(1), "/v1/charges"),
    credential="api_key", auth_path="/v1/charges",
    auth_hint=r"Check the API key or token",
    writes=(Write(
        "create_customer",
        lambda conn, sb, tag: conn.create_customer(email=f"{tag}@example.com"),
        "/v1/customers", "POST",
        lambda sb, tag: sum(c["email"] == f"{tag}@example.com"
                            for c in em(sb).table("customers").added),
        replayable=True, why="integkit sends an Idempotency-Key; Stripe replays its answer"),),
    spec=stripe_spec,
)

GITHUB = Adapter(
    service="github", records=25,
    listing=Call(lambda conn, sb: conn.issues(REPO, state="all", per_page=10), "*/issues"),
    page_size=10, page_param="per_page",
    count=lambda sb: len(em(sb).world.repo(*REPO.split("/")).issues),
    key=lambda r: r["number"],
    missing=Call(lambda conn, sb: conn.retrieve("issues", 99_999, repo=REPO),
                 "*/issues/99999"),
    refused=Call(lambda conn, sb: conn.create_pull_request("octo-org", "cirrus", "Nothing",
                                                           "main", "main"),
                 "/repos/octo-org/cirrus/pulls", "POST"),
    credential="token", auth_path="*/issues",
    auth_hint=r"Check the API key or token",
    writes=(Write(
        "create_pull_request",
        lambda conn, sb, tag: conn.create_pull_request("octo-org", "atlas", tag,
                                                       f"contract/{tag}", "main"),
        "/repos/octo-org/atlas/pulls", "POST",
        lambda sb, tag: _github_pulls(sb, f"contract/{tag}"),
        replayable=False, why="GitHub takes no idempotency key"),),
    spec=github_spec,
)

SALESFORCE = Adapter(
    service="salesforce", records=450,  # Accounts come in pages of 200 at the least
    listing=Call(lambda conn, sb: conn.query("SELECT Id FROM Account", bulk=False,
                                             batch_size=200), "/services/data/*/query*"),
    page_size=200,  # sent in the Sforce-Query-Options header
    count=lambda sb: len(em(sb).records("Account")),
    key=lambda r: r["Id"],
    missing=Call(lambda conn, sb: conn.retrieve("Contact", "003000000000000AAA"),
                 "*/sobjects/Contact/003000000000000AAA"),
    refused=Call(lambda conn, sb: list(conn.query("SELECT Id FORM Account", bulk=False)),
                 "/services/data/*/query*"),
    credential="client_secret", auth_path="/services/oauth2/token",
    auth_hint=r"Check client_id and client_secret",
    writes=(Write(
        "upsert",
        lambda conn, sb, tag: conn.upsert("Account", external_id="External_Id__c",
                                          external_value=tag, data={"Name": tag}),
        "/services/data/*/sobjects/Account/External_Id__c/*", "PATCH",
        lambda sb, tag: sum(r.get("External_Id__c") == tag
                            for r in em(sb).records("Account")),
        replayable=False, why="a PATCH: integkit resends no PATCH without an idempotency key"),),
    isolate=lambda: {"token_store": ik.auth.TokenStore("memory")},
)

SHOPIFY = Adapter(
    service="shopify", records=25,
    listing=Call(lambda conn, sb: conn.list("products", limit=10), "*/products.json"),
    page_size=10,
    count=lambda sb: len(em(sb).world.products),
    key=lambda r: r["id"],
    missing=Call(lambda conn, sb: conn.retrieve("products", 1), "*/products/1.json"),
    refused=Call(lambda conn, sb: conn.create_product("  "), "*/products.json", "POST"),
    credential="access_token", auth_path="*/products.json",
    auth_hint=r"Check the API key or token",
    writes=(
        Write("set_inventory_level",
              lambda conn, sb, tag: conn.set_inventory_level(
                  _shopify_level(sb)["inventory_item_id"], _shopify_level(sb)["location_id"],
                  _tagged_quantity(tag)),
              "*/inventory_levels/set.json", "POST",
              lambda sb, tag: int(_shopify_level(sb)["available"] == _tagged_quantity(tag)),
              replayable=True, why="it sets an absolute quantity: sending it twice sets it once"),
        Write("create_product",
              lambda conn, sb, tag: conn.create_product(tag), "*/products.json", "POST",
              lambda sb, tag: sum(p["title"] == tag
                                  for p in em(sb).world.products),
              replayable=False, why="Shopify takes no idempotency key"),
    ),
)

SLACK = Adapter(
    service="slack", records=25,
    listing=Call(lambda conn, sb: conn.users(limit=10), "/users.list"),
    page_size=10,
    count=lambda sb: len(em(sb).world.users),
    key=lambda r: r["id"],
    missing=Call(lambda conn, sb: conn.history("C0NOSUCHCHAN").head(1),
                 "/conversations.history"),
    refused=Call(lambda conn, sb: conn.update_message(
        _slack_channel(sb).id,
        em(sb).world.messages(_slack_channel(sb))[5]["ts"],
        text="not the bot's"), "/chat.update", "POST"),
    credential="token", auth_path="/users.list",
    auth_hint=r"Copy the Bot User OAuth Token",
    writes=(Write(
        "send_message",
        lambda conn, sb, tag: conn.send_message(_slack_channel(sb).id, text=tag),
        "/chat.postMessage", "POST",
        lambda sb, tag: sum(m.get("text") == tag for m in em(sb).world.messages(
            _slack_channel(sb))),
        replayable=False, why="chat.postMessage takes no idempotency key"),),
    spec=slack_spec,
    # Slack's per-method tiers (20 users.list a minute) are test_slack.py's subject; here
    # they would only slow the pages down.
    emulator=lambda records: SlackEmulator(records=records, tiers=False),
)

ADAPTERS: dict[str, Adapter] = {a.service: a for a in (STRIPE, GITHUB, SALESFORCE, SHOPIFY,
                                                       SLACK)}
