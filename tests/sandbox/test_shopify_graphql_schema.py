"""The Shopify emulator's GraphQL over raw HTTP: graphql-core refuses what Shopify refuses
(syntax, unknown fields, arguments of the wrong type or missing) with the GraphQL error shape
Shopify answers (message, ``locations``, ``path``, ``extensions.code``), takes no points for
a refused query, and every field of its schema resolves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type, is_non_null_type

from integkit.sandbox import Sandbox, sandbox
from integkit.sandbox.services.shopify_graphql import SCHEMA

GRAPHQL = "/admin/api/2024-10/graphql.json"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with sandbox("shopify", records=30, seed=3) as running:
        yield running


def ask(sb: Sandbox, query: str, **variables: Any) -> dict[str, Any]:
    with httpx.Client(base_url=sb.url, timeout=10,
                      headers={"X-Shopify-Access-Token": sb.api_key}) as c:
        answer = c.post(GRAPHQL, json={"query": query, "variables": variables})
    assert answer.status_code == 200  # GraphQL answers its errors with 200
    return dict(answer.json())


def available(sb: Sandbox) -> float:
    return sb.emulator.cost_bucket.available(sb.api_key)


def test_a_malformed_query_is_a_parse_error_with_its_location(sb) -> None:
    before = available(sb)
    answer = ask(sb, "{ shop { name } } }")
    assert answer == {"errors": [{"message": 'Parse error on "}" at [1, 19]',
                                  "locations": [{"line": 1, "column": 19}]}]}
    unfinished = ask(sb, "query {\n  shop {\n    name\n  }\n")
    assert unfinished == {"errors": [{"message": "Unexpected end of document",
                                      "locations": [{"line": 5, "column": 1}]}]}
    assert available(sb) >= before  # a refused query costs nothing


def test_an_unknown_field_is_refused_with_locations_and_path(sb) -> None:
    query = "query Catalog {\n  products(first: 1) {\n    edges { node { id colour } }\n  }\n}"
    assert ask(sb, query) == {"errors": [{
        "message": "Field 'colour' doesn't exist on type 'Product'",
        "locations": [{"line": 3, "column": 23}],
        "path": ["query Catalog", "products", "edges", "node", "colour"],
        "extensions": {"code": "undefinedField", "typeName": "Product",
                       "fieldName": "colour"}}]}
    both = ask(sb, "{ shop { colour } nope }")["errors"]
    assert [e["path"] for e in both] == [["query", "shop", "colour"], ["query", "nope"]]
    assert both[1]["message"] == "Field 'nope' doesn't exist on type 'QueryRoot'"


def test_arguments_of_the_wrong_type_or_missing_are_refused(sb) -> None:
    wrong = ask(sb, '{ products(first: "ten") { nodes { id } } }')
    assert "data" not in wrong and len(wrong["errors"]) == 1
    error = wrong["errors"][0]
    assert error["extensions"] == {"code": "argumentLiteralsIncompatible"}
    assert error["locations"] == [{"line": 1, "column": 19}]
    assert error["path"] == ["query", "products"] and "ten" in error["message"]

    unknown = ask(sb, "{ products(first: 1, colour: RED) { nodes { id } } }")["errors"]
    assert unknown[0]["extensions"] == {"code": "argumentNotAccepted"}
    assert "colour" in unknown[0]["message"]

    missing = ask(sb, "{ product { id } }")["errors"]
    assert missing[0]["extensions"] == {"code": "missingRequiredArguments"}
    assert missing[0]["path"] == ["query", "product"]

    no_leaf = ask(sb, "{ shop }")["errors"]
    assert no_leaf[0]["extensions"] == {"code": "selectionMismatch"}

    mutation = ask(sb, 'mutation { inventorySetQuantities(input: {name: "available", '
                       'reason: "correction", quantities: "all"}) { userErrors { code } } }')
    assert mutation["errors"][0]["extensions"] == {"code": "argumentLiteralsIncompatible"}


def test_a_variable_of_the_wrong_type_is_refused(sb) -> None:
    query = "query($n: Int!) { products(first: $n) { nodes { id } } }"
    answer = ask(sb, query, n="ten")
    assert "data" not in answer
    assert answer["errors"][0]["locations"] == [{"line": 1, "column": 7}]
    assert "$n" in answer["errors"][0]["message"]
    assert "data" not in ask(sb, query)  # a required variable left out
    unused = ask(sb, "query($n: Int) { shop { name } }")["errors"]
    assert unused[0]["extensions"] == {"code": "variableNotUsed"}
    undefined = ask(sb, "query { products(first: $n) { nodes { id } } }")["errors"]
    assert undefined[0]["extensions"] == {"code": "variableNotDefined"}


def test_fragments_aliases_and_typename_and_their_cost(sb) -> None:
    query = """
    fragment Ids on Node { id }
    query { catalog: products(first: 3) {
      nodes { __typename ...Ids ... on Product { name: title } }
    } }"""
    answer = ask(sb, query)
    nodes = answer["data"]["catalog"]["nodes"]
    assert len(nodes) == 3 and set(nodes[0]) == {"__typename", "id", "name"}
    assert nodes[0]["__typename"] == "Product"
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 2 + 3 * 1
    assert answer["extensions"]["cost"]["actualQueryCost"] == 2 + 3


def test_one_item_s_level_at_a_location(sb) -> None:
    world = sb.emulator.world
    (item, location), level = next(iter(world.levels.items()))
    query = """query($item: ID!, $at: ID!) { inventoryItem(id: $item) {
      inventoryLevel(locationId: $at) { location { id } quantities(names: ["available"]) {
        name quantity } } } }"""
    answer = ask(sb, query, item=f"gid://shopify/InventoryItem/{item}",
                 at=f"gid://shopify/Location/{location}")
    found = answer["data"]["inventoryItem"]["inventoryLevel"]
    assert found["location"]["id"] == f"gid://shopify/Location/{location}"
    assert found["quantities"] == [{"name": "available", "quantity": level["available"]}]
    no_names = ask(sb, query.replace('(names: ["available"])', ""), item="x", at="y")
    assert no_names["errors"][0]["extensions"] == {"code": "missingRequiredArguments"}


def _selection(kind: GraphQLObjectType, depth: int) -> str:
    """Every field of ``kind`` (objects ``depth`` levels down, connections two nodes a page,
    quantities by two names), but those with another required argument."""
    parts = []
    for name, field in kind.fields.items():
        inner = get_named_type(field.type)
        args = ""
        if "first" in field.args:
            args = "(first: 2)"
        elif name == "quantities":
            args = '(names: ["available", "on_hand"])'
        elif any(is_non_null_type(a.type) for a in field.args.values()):
            continue  # inventoryLevel(locationId:): asked for in the test above
        if is_leaf_type(inner):
            parts.append(f"{name}{args}")
        elif depth > 0 and isinstance(inner, GraphQLObjectType):
            below = _selection(inner, depth - 1)
            if below:
                parts.append(f"{name}{args} {{ {below} }}")
    return " ".join(parts)


@pytest.mark.parametrize("root", ["products", "productVariants", "orders", "customers",
                                  "locations", "inventoryItems"])
def test_every_field_of_the_schema_resolves(sb, root) -> None:
    connection = get_named_type(SCHEMA.query_type.fields[root].type)
    node = get_named_type(connection.fields["nodes"].type)
    query = f"{{ {root}(first: 2) {{ nodes {{ {_selection(node, 2)} }} }} }}"
    answer = ask(sb, query)
    assert "errors" not in answer, answer["errors"]
    assert len(answer["data"][root]["nodes"]) == 2
    cost = answer["extensions"]["cost"]
    assert cost["requestedQueryCost"] > 0 and cost["actualQueryCost"] > 0
