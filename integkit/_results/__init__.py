"""Results: lazy paged answers and their one conversion to Arrow, pandas and Parquet."""

from ._arrow import FieldTypeWarning, records_to_table
from ._checkpoint import Checkpoint, fingerprint
from ._dedupe import DuplicateRecordWarning
from ._estimate import Estimate
from ._gather import gather
from ._parallel import ParallelResult
from ._parquet_cache import ParquetCache
from ._result import Fetched, Page, PageSource, Result, Stats
from ._schema import TYPE_ALIASES, TYPE_NAMES, flatten_schema, merge_schemas, time_spec

__all__ = [
    "Checkpoint",
    "DuplicateRecordWarning",
    "Estimate",
    "Fetched",
    "FieldTypeWarning",
    "Page",
    "PageSource",
    "ParallelResult",
    "ParquetCache",
    "Result",
    "Stats",
    "TYPE_ALIASES",
    "TYPE_NAMES",
    "fingerprint",
    "flatten_schema",
    "gather",
    "merge_schemas",
    "records_to_table",
    "time_spec",
]
