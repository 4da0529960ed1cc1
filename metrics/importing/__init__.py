"""CSV import of SPEC section 4: teams, users, memberships, customers, exchange rates, contracts,
assignments.

Three steps, so that nothing is half-saved:

1. read and validate every file into plain data (no database): ``read_rows`` + ``validate_row``
   (``reading``, with the cell parsers in ``cells`` and the file layouts in ``layouts``);
2. inside one transaction, load what the database holds (``database``), check references and
   overlaps against it and the other files (``checks``); any error rejects the whole run
   (``ImportRejected``, in ``issues``) before anything is written;
3. write everything with bulk queries (a fixed number of queries per file, not per row; on
   PostgreSQL new rows go in by COPY): ``applying`` per file, by the means of ``writing``; then
   queue a recompute after commit (``run``, which holds the entry point ``import_directory``).

A run holds every row of its files, and the database rows they may touch, in memory at once, so
both are kept compact: a valid row's values are a tuple, contract lines and assignments from the
database are named tuples, and the values that recur (dates, amounts, products, ids) are shared.

Rows are matched by their natural key (teams by name, users by email, customers and contract
lines by external_id, memberships by user and start date, assignments by customer, role and
start date, exchange rates by currency and valid_from), so importing the same files twice changes nothing. A column missing from a file
leaves that attribute of existing rows alone; an empty cell in a present column means empty
(no end date, no lead, blank segment, the reporting currency for currency), except ``role`` and ``team`` in
users.csv: an empty cell there never demotes a user nor drops their team history.
"""

from .applying import apply
from .cells import parse_arr, parse_currency, parse_date, parse_email, parse_rate
from .checks import check
from .database import QUERY_CHUNK, Database, DbAssignment, DbLine
from .issues import MAX_ERRORS, ImportRejected, ImportResult, Issue, Issues
from .layouts import EARLIEST, FILES, Column, FileSpec, validate_row
from .reading import Row, read_directory, read_rows
from .run import import_directory, run_name
from .writing import BATCH_SIZE, HISTORY_REASON, Changes, diff, write

__all__ = [
    "BATCH_SIZE",
    "EARLIEST",
    "FILES",
    "HISTORY_REASON",
    "MAX_ERRORS",
    "QUERY_CHUNK",
    "Changes",
    "Column",
    "Database",
    "DbAssignment",
    "DbLine",
    "FileSpec",
    "ImportRejected",
    "ImportResult",
    "Issue",
    "Issues",
    "Row",
    "apply",
    "check",
    "diff",
    "import_directory",
    "parse_arr",
    "parse_currency",
    "parse_date",
    "parse_email",
    "parse_rate",
    "read_directory",
    "read_rows",
    "run_name",
    "validate_row",
    "write",
]
