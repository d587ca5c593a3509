"""The schemas shipped in connectors/ are what the vendors' OpenAPI descriptions document
(tools/openapi_schemas.py wrote them; the descriptions live outside the package, in
../shared/specs, and are never read at run time)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from integkit._results._schema import TYPE_NAMES
from integkit.engine import load_definition

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT.parent / "shared" / "specs"
spec = importlib.util.spec_from_file_location("openapi_schemas",
                                              ROOT / "tools" / "openapi_schemas.py")
assert spec is not None and spec.loader is not None
tool = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = tool  # (dataclasses look their module up)
spec.loader.exec_module(tool)

needs_specs = pytest.mark.skipif(not (SPECS / "stripe").is_dir(),
                                 reason="the vendors' descriptions are not at ../shared/specs")


@needs_specs
def test_the_shipped_schemas_are_the_documented_ones() -> None:
    said: list[str] = []
    assert tool.main(["--check", "--specs", str(SPECS), "stripe", "github"], said.append) == 0, said


@needs_specs
def test_a_schema_edited_by_hand_is_found_stale_and_written_again(tmp_path) -> None:
    connectors = tmp_path / "connectors"
    shutil.copytree(ROOT / "connectors", connectors)
    path = connectors / "stripe.yaml"
    path.write_text(path.read_text().replace("amount_refunded: integer", "amount_refunded: string"))
    said: list[str] = []
    args = ["--specs", str(SPECS), "--connectors", str(connectors), "stripe"]
    assert tool.main(["--check", *args], said.append) == 1 and "stripe" in said[0]
    assert tool.main(args, said.append) == 0
    assert path.read_text() == (ROOT / "connectors" / "stripe.yaml").read_text()


@needs_specs
def test_stripe_charges_are_typed_as_the_description_says() -> None:
    charges = load_definition("stripe").resources["charges"].schema
    assert (charges["amount"], charges["created"], charges["paid"]) == \
        ("integer", "timestamp", "boolean")
    assert charges["customer"] == "string"  # an expandable id
    assert charges["outcome.risk_score"] == "integer"
    assert "refunds.data" not in charges  # left out unless expanded since 2022-11-15


def test_every_shipped_resource_declares_its_fields_in_known_types() -> None:
    for service in ("stripe", "github", "shopify", "slack"):
        definition = load_definition(service)
        for name, resource in definition.resources.items():
            assert resource.schema, f"{service} {name}"
            assert set(resource.schema.values()) <= set(TYPE_NAMES)
    money = load_definition("shopify").resources["orders"].schema
    assert {money[f] for f in ("total_price", "subtotal_price", "total_tax",
                               "line_items[].price")} == {"number"}
