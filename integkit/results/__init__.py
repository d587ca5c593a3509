"""Results: lazy paged answers and their one conversion to Arrow, pandas and Parquet."""

from ._arrow import FieldTypeWarning, records_to_table
from ._checkpoint import Checkpoint
from ._dedupe import DuplicateRecordWarning
from ._gather import gather
from ._parallel import ParallelResult
from ._result import Fetched, Page, PageSource, Result, Stats

__all__ = [
    "Checkpoint",
    "DuplicateRecordWarning",
    "Fetched",
    "FieldTypeWarning",
    "Page",
    "PageSource",
    "ParallelResult",
    "Result",
    "Stats",
    "gather",
    "records_to_table",
]
