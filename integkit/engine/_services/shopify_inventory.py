"""Shopify inventory for analysts: stock per SKU and location, and a sync that writes only
what differs.

>>> shopify.inventory.check(["IK-00001-S", "IK-00002-M"])         # doctest: +SKIP
          sku          location  location_id  inventory_item_id  available
>>> shopify.inventory.sync(counts, mapping={"sku": "item", "available": "qty",
...                                         "location": "warehouse"})   # doctest: +SKIP
SyncResult(checked=120, unchanged=112, updated=8, created=0, kept=0, unknown_skus=1, writes=8)

SKUs are resolved to inventory items through GraphQL (``productVariants(query: "sku:...")``),
levels and locations read over REST (``inventory_levels.json``, ``locations.json``), and each
change is one ``inventory_levels/set.json`` call. A set writes an absolute quantity, so a
retried call, or a sync run again after an interruption, never counts anything twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..._errors import ConfigError, InvalidRequestError

if TYPE_CHECKING:
    import pandas as pd

    from .shopify import ShopifyConnection

__all__ = ["Inventory", "SyncConflictError", "SyncResult"]

_SKU_QUERY = """
query VariantsBySku($q: String!, $after: String) {
  productVariants(first: 250, query: $q, after: $after) {
    edges { node { sku inventoryItem { legacyResourceId } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
_CHUNK = 50  # SKUs per search query, item ids per inventory_levels call (Shopify's cap)
_FIELDS = ("sku", "available", "location")
_POLICIES = ("source_wins", "shopify_wins", "raise")
_COLUMNS = ["sku", "location", "location_id", "inventory_item_id", "available"]


class SyncConflictError(InvalidRequestError):
    """``on_conflict="raise"``: Shopify's quantities differ from the source; nothing written.
    ``conflicts`` is the frame of differences."""

    def __init__(self, message: str, conflicts: Any, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.conflicts = conflicts


@dataclass
class SyncResult:
    """What a sync found and did: ``changes`` has one row per source row with its
    ``action`` (``unchanged``, ``updated``, ``created``, ``kept``, ``unknown_sku``)."""

    changes: pd.DataFrame
    writes: int
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def written(self) -> pd.DataFrame:
        """The rows that were (or, in a dry run, would be) written."""
        return self.changes[self.changes["action"].isin(["updated", "created"])]

    def __repr__(self) -> str:
        c = self.counts
        parts = [f"checked={len(self.changes)}"] + [
            f"{name}={c.get(name, 0)}" for name in ("unchanged", "updated", "created", "kept")]
        parts += [f"unknown_skus={c.get('unknown_sku', 0)}", f"writes={self.writes}"]
        if self.dry_run:
            parts.append("dry_run=True")
        return f"SyncResult({', '.join(parts)})"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _quote(sku: str) -> str:
    return '"' + sku.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Inventory:
    """``shopify.inventory``: read stock by SKU, and sync a frame of counts into Shopify."""

    def __init__(self, conn: ShopifyConnection) -> None:
        self.conn = conn

    # -- reading -------------------------------------------------------------------------------
    def items_for(self, skus: Iterable[str]) -> dict[str, int]:
        """SKU -> inventory item id, for the SKUs the shop has (GraphQL, 50 SKUs a query)."""
        wanted = list(dict.fromkeys(str(s) for s in skus if s is not None and str(s)))
        found: dict[str, int] = {}
        for chunk in _chunks(wanted, _CHUNK):
            query = " OR ".join(f"sku:{_quote(s)}" for s in chunk)
            names = set(chunk)
            for node in self.conn.graphql_list(_SKU_QUERY, {"q": query},
                                               path="productVariants", prefetch=False):
                sku = node.get("sku")
                if sku in names and sku not in found:
                    found[sku] = int(node["inventoryItem"]["legacyResourceId"])
        return found

    def locations(self) -> dict[int, str]:
        """Location id -> name (one REST call)."""
        return {int(loc["id"]): str(loc["name"]) for loc in self.conn.list("locations")}

    def check(self, skus: Iterable[str]) -> pd.DataFrame:
        """Available stock per SKU and location: columns ``sku``, ``location``,
        ``location_id``, ``inventory_item_id``, ``available``. A SKU the shop does not have
        is one row with empty location and quantity (and no item, unless it exists but is
        stocked nowhere yet)."""
        import pandas as pd

        wanted = list(dict.fromkeys(str(s) for s in skus))
        items = self.items_for(wanted)
        names = self.locations() if items else {}
        levels: dict[int, list[dict[str, Any]]] = {}
        for chunk in _chunks(sorted(set(items.values())), _CHUNK):
            for level in self.conn.list("inventory_levels",
                                        inventory_item_ids=",".join(map(str, chunk))):
                levels.setdefault(int(level["inventory_item_id"]), []).append(level)
        rows: list[dict[str, Any]] = []
        for sku in wanted:
            item = items.get(sku)
            if item is None:
                rows.append({"sku": sku, "location": None, "location_id": None,
                             "inventory_item_id": None, "available": None})
                continue
            if not levels.get(item):  # in the shop, stocked nowhere yet
                rows.append({"sku": sku, "location": None, "location_id": None,
                             "inventory_item_id": item, "available": None})
            for level in sorted(levels.get(item, []),
                                key=lambda lv: names.get(int(lv["location_id"]), "")):
                location_id = int(level["location_id"])
                rows.append({"sku": sku, "location": names.get(location_id),
                             "location_id": location_id, "inventory_item_id": item,
                             "available": level["available"]})
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        for column in ("location_id", "inventory_item_id", "available"):
            frame[column] = frame[column].astype("Int64")
        return frame

    # -- writing -------------------------------------------------------------------------------
    def sync(self, source: pd.DataFrame, *, mapping: dict[str, str] | None = None,
             on_conflict: str = "source_wins", location: str | int | None = None,
             dry_run: bool = False) -> SyncResult:
        """Make Shopify's available quantities match ``source``, writing only what differs.

        Args:
            source: one row per SKU (and location), e.g. a warehouse count.
            mapping: integkit field -> source column, for ``sku``, ``available`` and
                ``location`` (a location name or id); fields not mapped use their own name.
            on_conflict: what to do where Shopify's quantity differs from the source:
                ``"source_wins"`` sets it; ``"shopify_wins"`` keeps Shopify's (only SKUs not
                yet stocked at the location are written); ``"raise"`` writes nothing and
                raises :class:`SyncConflictError` listing the differences.
            location: the location of rows that name none (default: the shop's primary).
            dry_run: plan only; nothing is written.

        Returns a :class:`SyncResult`; running the same sync again writes nothing.
        """
        import pandas as pd

        if on_conflict not in _POLICIES:
            raise ConfigError(f"on_conflict must be one of {_POLICIES}, not {on_conflict!r}")
        names = self.locations()
        plan = self._source_rows(source, mapping or {}, location, names)
        current = self.check(plan["sku"].tolist()) if len(plan) else pd.DataFrame(
            columns=_COLUMNS)
        items = {r.sku: r.inventory_item_id for r in current.itertuples()
                 if not pd.isna(r.inventory_item_id)}
        stock = {(r.sku, int(r.location_id)): int(r.available) for r in current.itertuples()
                 if not pd.isna(r.location_id)}
        rows = []
        for r in plan.itertuples():
            item = items.get(r.sku)
            before = stock.get((r.sku, r.location_id))
            if item is None:
                action = "unknown_sku"
            elif before is None:
                action = "created"
            elif before == r.available:
                action = "unchanged"
            else:
                action = "updated" if on_conflict == "source_wins" else "kept"
            rows.append({"sku": r.sku, "location": names.get(r.location_id),
                         "location_id": r.location_id, "inventory_item_id": item,
                         "before": before, "after": r.available, "action": action})
        changes = pd.DataFrame(rows, columns=["sku", "location", "location_id",
                                              "inventory_item_id", "before", "after",
                                              "action"])
        for column in ("location_id", "inventory_item_id", "before", "after"):
            changes[column] = changes[column].astype("Int64")
        if on_conflict == "raise":
            conflicts = changes[changes["action"] == "kept"]
            if len(conflicts):
                raise SyncConflictError(
                    f"{len(conflicts)} quantities differ between the source and Shopify "
                    f"(e.g. {conflicts.iloc[0]['sku']} at {conflicts.iloc[0]['location']}: "
                    f"{conflicts.iloc[0]['before']} in Shopify, {conflicts.iloc[0]['after']} "
                    "in the source); nothing was written. Use on_conflict='source_wins' to "
                    "overwrite them.", conflicts, service=self.conn.service,
                    endpoint="inventory.sync")
        writes = 0
        if not dry_run:
            for row in changes[changes["action"].isin(["updated", "created"])].itertuples():
                self.conn.set_inventory_level(int(row.inventory_item_id), int(row.location_id),
                                              int(row.after))
                writes += 1
        counts = {str(k): int(v) for k, v in changes["action"].value_counts().items()}
        return SyncResult(changes, writes, dry_run, counts)

    def _source_rows(self, source: pd.DataFrame, mapping: dict[str, str],
                     location: str | int | None, names: dict[int, str]) -> pd.DataFrame:
        """The source as ``sku``, ``location_id``, ``available`` rows, checked."""
        import pandas as pd

        unknown = set(mapping) - set(_FIELDS)
        if unknown:
            raise ConfigError(f"mapping keys are integkit fields {_FIELDS} -> source columns; "
                              f"{sorted(unknown)} is not one of them")
        columns = {f: mapping.get(f, f) for f in _FIELDS}
        for name in ("sku", "available"):
            if columns[name] not in source.columns:
                raise ConfigError(f"the source has no column {columns[name]!r} for {name}; "
                                  f"columns: {list(source.columns)}. Pass mapping="
                                  f"{{{name!r}: '<column>'}}")
        frame = pd.DataFrame({"sku": source[columns["sku"]].astype("string")})
        if frame["sku"].isna().any():
            raise ConfigError("the source has rows without a SKU")
        quantities = pd.to_numeric(source[columns["available"]], errors="coerce")
        bad = quantities.isna() | (quantities != quantities.round())
        if bad.any():
            raise ConfigError(f"available must be whole numbers; row {int(bad.idxmax())} has "
                              f"{source[columns['available']].iloc[int(bad.argmax())]!r}")
        frame["available"] = quantities.astype(int).to_numpy()
        by_name = {name.lower(): lid for lid, name in names.items()}
        if columns["location"] in source.columns:
            given = source[columns["location"]]
        else:
            given = pd.Series([location] * len(source), index=source.index, dtype=object)
        default = self._location_id(location, by_name) if location is not None else None
        ids = []
        for value in given.tolist():
            if value is None or (isinstance(value, float) and pd.isna(value)):
                if default is None:
                    default = self._primary_location()
                value = default
            ids.append(self._location_id(value, by_name))
        frame["location_id"] = ids
        duplicated = frame.duplicated(["sku", "location_id"], keep=False)
        if duplicated.any():
            first = frame[duplicated].iloc[0]
            raise ConfigError(f"the source lists {first['sku']} more than once for one "
                              "location; sum or deduplicate it first")
        return frame.reset_index(drop=True)

    def _location_id(self, value: Any, by_name: dict[str, int]) -> int:
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            if int(value) in by_name.values():
                return int(value)
        elif isinstance(value, str) and value.lower() in by_name:
            return by_name[value.lower()]
        raise ConfigError(f"unknown location {value!r}; the shop's locations: "
                          f"{', '.join(sorted(by_name))}")

    def _primary_location(self) -> int:
        shop = self.conn.request("GET", "/shop.json", endpoint="shop.retrieve")
        return int(shop["shop"]["primary_location_id"])
