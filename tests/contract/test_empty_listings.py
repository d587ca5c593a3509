"""Every connector's empty listing keeps its shape, against the emulators over HTTP: the frame
has the columns the definition declares for the resource (documented fields: Stripe's and
GitHub's from their OpenAPI descriptions, Shopify's and Slack's from their references,
Salesforce's from the query and the object's describe), with the types a listing that does
return records gives them; read sequentially, in parallel, gathered or from the cache.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest

import integkit as ik
from integkit._results._schema import columns as declared_columns

FUTURE = "2030-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, ik.Connection]]:
    with ik.sandbox("stripe", records=150) as stripe, \
            ik.sandbox("github", records=80) as github, \
            ik.sandbox("shopify", records=120, rate_limit=(40, 80)) as shopify, \
            ik.sandbox("slack", records=80) as slack, \
            ik.sandbox("salesforce", records=60) as salesforce:
        conns = {"stripe": stripe.connect(), "github": github.connect(repo="octo-org/atlas"),
                 "shopify": shopify.connect(), "slack": slack.connect(),
                 "salesforce": salesforce.connect()}
        yield conns
        for conn in conns.values():
            conn.close()


def channel(slack: Any) -> str:
    return str(slack.conversations().to_frame()["id"].iloc[0])


# (service, resource, empty listing, a listing with records)
Make = Callable[[Any], ik.Result]
LISTINGS: list[tuple[str, str, Make, Make]] = [
    ("stripe", "charges", lambda c: c.list("charges", created={"gte": FUTURE}),
     lambda c: c.list("charges")),
    ("stripe", "customers", lambda c: c.list("customers", created={"gte": FUTURE}),
     lambda c: c.list("customers")),
    ("stripe", "invoices", lambda c: c.list("invoices", created={"gte": FUTURE}),
     lambda c: c.list("invoices")),
    ("github", "issues", lambda c: c.issues(labels="no-such-label", state="all"),
     lambda c: c.issues(state="all")),
    ("github", "pulls", lambda c: c.list("pulls", repo="octo-org/atlas", state="all",
                                         head="octo-org:no-such-branch"),
     lambda c: c.pulls(state="all")),
    ("github", "commits", lambda c: c.commits(since=FUTURE), lambda c: c.commits()),
    ("github", "search_issues", lambda c: c.search_issues("zzz-nothing-matches-zzz"),
     lambda c: c.search_issues("is:issue")),
    ("shopify", "orders", lambda c: c.list("orders", created_at_min=FUTURE),
     lambda c: c.list("orders")),
    ("shopify", "products", lambda c: c.list("products", created_at_min=FUTURE),
     lambda c: c.list("products")),
    ("shopify", "customers", lambda c: c.list("customers", created_at_min=FUTURE),
     lambda c: c.list("customers")),
    ("slack", "history", lambda c: c.history(channel(c), oldest=FUTURE),
     lambda c: c.history(channel(c))),
    ("slack", "files", lambda c: c.files(ts_from=FUTURE), lambda c: c.files()),
]


@pytest.mark.parametrize("service, resource, empty, full", LISTINGS,
                         ids=[f"{s}-{r}" for s, r, *_ in LISTINGS])
def test_an_empty_listing_has_the_columns_and_types_of_a_full_one(
        sandboxes, service, resource, empty, full) -> None:
    conn = sandboxes[service]
    declared = declared_columns(conn.definition.resources[resource].schema)
    assert declared, f"{service} {resource} declares no schema"
    nothing = empty(conn).to_arrow(progress=False)
    assert nothing.num_rows == 0 and nothing.column_names == list(declared)
    some = full(conn).to_arrow(progress=False)
    assert some.num_rows > 0
    shared = [n for n in declared if n in some.column_names]
    assert len(shared) >= min(10, len(declared))  # the records carry what is declared
    for name in shared:
        have, declared_type = some.schema.field(name).type, nothing.schema.field(name).type
        if declared_type == pa.list_(pa.null()):  # a list of values not declared one by one
            assert pa.types.is_list(have), name
        else:
            assert have == declared_type, name
    frame = empty(conn).to_frame(progress=False)
    assert frame.empty and list(frame.columns) == list(declared)


def test_an_empty_stripe_listing_read_in_parallel_or_from_the_cache(sandboxes) -> None:
    stripe = sandboxes["stripe"]
    declared = list(declared_columns(stripe.definition.resources["charges"].schema))
    parallel = stripe.list("charges", created={"gte": FUTURE, "lt": "2031-01-01"}, parallel=4)
    frame = parallel.to_frame(progress=False)
    assert frame.empty and list(frame.columns) == declared
    assert frame["amount"].dtype == "int64" and frame["amount"].sum() == 0
    assert str(frame["created"].dtype) == "datetime64[ms, UTC]"
    first = stripe.list("charges", created={"gte": FUTURE}, cache="1h")
    assert list(first.to_frame(progress=False).columns) == declared
    again = stripe.list("charges", created={"gte": FUTURE}, cache="1h")
    frame = again.to_frame(progress=False)
    assert again.stats.calls == 0 and again.stats.cache_hits == 1
    assert list(frame.columns) == declared and frame["amount"].dtype == "int64"


def test_gathered_empty_listings_keep_their_columns(sandboxes) -> None:
    github = sandboxes["github"]
    gathered = ik.gather(*(github.issues(repo, labels="no-such-label")
                           for repo in ("octo-org/atlas", "octo-org/borealis")))
    frame = gathered.to_frame(progress=False)
    declared = declared_columns(github.definition.resources["issues"].schema)
    assert frame.empty and list(frame.columns) == list(declared)
    assert str(frame["created_at"].dtype) == "datetime64[ms, UTC]"


def test_a_salesforce_query_that_returns_no_row_keeps_its_selected_columns(sandboxes) -> None:
    sf = sandboxes["salesforce"]
    soql = ("SELECT id, Name, amount, CloseDate, IsWon, Account.Name FROM Opportunity "
            "WHERE Amount > 1000000000000")
    frame = sf.query(soql).to_frame(progress=False)
    assert frame.empty
    assert list(frame.columns) == ["Id", "Name", "Amount", "CloseDate", "IsWon", "Account.Name"]
    assert [str(t) for t in frame.dtypes] == ["str", "str", "float64", "datetime64[ms]", "bool",
                                              "str"]
    assert list(sf.query(soql).head().columns) == list(frame.columns)
    some = sf.query(soql.replace("> 1000000000000", "> 0")).to_arrow(progress=False)
    assert some.num_rows and some.schema == sf.query(soql).to_arrow(progress=False).schema


def test_shopify_money_is_numeric_to_the_cent(sandboxes) -> None:
    shopify = sandboxes["shopify"]
    raw = shopify.request("GET", "/orders.json", params={"status": "any", "limit": 50})
    orders = shopify.list("orders").to_frame(progress=False)
    money = ["total_price", "subtotal_price", "total_tax", "total_discounts",
             "total_line_items_price", "current_total_price", "current_subtotal_price",
             "current_total_tax"]
    for name in money:
        assert orders[name].dtype == "float64", name
    by_id = orders.set_index("id")
    for order in raw["orders"]:
        for name in money:
            assert f"{by_id.loc[order['id'], name]:.2f}" == order[name], (order["id"], name)
        lines = by_id.loc[order["id"], "line_items"]
        assert [line["price"] for line in lines] == [float(x["price"])
                                                     for x in order["line_items"]]
    exact = sum(decimal.Decimal(o["total_price"]) for o in raw["orders"])
    first = orders[orders["id"].isin([o["id"] for o in raw["orders"]])]
    assert round(first["total_price"].sum(), 2) == float(exact)
    products = shopify.list("products").to_arrow(progress=False)
    variant = products.schema.field("variants").type.value_type
    assert variant.field("price").type == pa.float64()
    assert variant.field("compare_at_price").type == pa.float64()
    customers = shopify.list("customers").to_frame(progress=False)
    assert customers["total_spent"].dtype == "float64"
