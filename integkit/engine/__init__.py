"""The connector engine; definitions live in the top-level ``connectors/`` folder."""

from ..auth import add_status_rows
from ..ledger import read_definitions_with
from ._credentials import env_rows
from ._definition import ConnectorDef, Operation, Resource
from ._listing import (
    Listing,
    ListingPlan,
    PageSlices,
    Partitioning,
    Strategies,
    read_listing,
    register_partitioning,
    register_strategies,
)
from ._loader import available_services, definition_dirs, load_definition
from ._rest import Connection, limits_status
from ._time_ranges import TimeRanges

read_definitions_with(lambda service: load_definition(service).pricing, available_services)
add_status_rows("env", env_rows)

__all__ = [
    "Connection",
    "ConnectorDef",
    "Listing",
    "ListingPlan",
    "Operation",
    "PageSlices",
    "Partitioning",
    "Resource",
    "Strategies",
    "TimeRanges",
    "available_services",
    "definition_dirs",
    "limits_status",
    "load_definition",
    "read_listing",
    "register_partitioning",
    "register_strategies",
]
