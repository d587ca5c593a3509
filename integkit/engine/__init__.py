"""The connector engine, and what a connector's code registers with it: listing strategies
(partitioning, counting, row shaping) and parsers of a service's own limit headers.

Definitions live in the top-level ``connectors/`` folder; CONTRIBUTING.md says how to add one.
"""

from .._http import Feedback, register_feedback
from ..auth import add_status_rows as _add_status_rows
from ..ledger import read_definitions_with as _read_definitions_with
from ._credentials import env_rows as _env_rows
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

_read_definitions_with(lambda service: load_definition(service).pricing, available_services)
_add_status_rows("env", _env_rows)

__all__ = [
    "Connection",
    "ConnectorDef",
    "Feedback",
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
    "register_feedback",
    "register_partitioning",
    "register_strategies",
]
