"""The connector engine; definitions live in the top-level ``connectors/`` folder."""

from ..ledger import read_definitions_with
from ._definition import ConnectorDef, Operation, Resource
from ._loader import available_services, definition_dirs, load_definition
from ._rest import Connection, Listing, limits_status

read_definitions_with(lambda service: load_definition(service).pricing, available_services)

__all__ = [
    "Connection",
    "ConnectorDef",
    "Listing",
    "Operation",
    "Resource",
    "available_services",
    "definition_dirs",
    "limits_status",
    "load_definition",
]
