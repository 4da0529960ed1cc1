"""CSV import of SPEC section 4: teams, users, memberships, customers, contracts, assignments.

Three steps, so that nothing is half-saved:

1. read and validate every file into plain data (no database): ``read_rows`` + ``validate_row``;
2. inside one transaction, check references and overlaps against the database and the other
   files; any error rejects the whole run (``ImportRejected``) before anything is written;
3. write everything with bulk queries (a fixed number of queries per file, not per row; on
   PostgreSQL new rows go in by COPY), then queue a recompute after commit.

A run holds every row of its files, and the database rows they may touch, in memory at once, so
both are kept compact: a valid row's values are a tuple, contract lines and assignments from the
database are named tuples, and the values that recur (dates, amounts, products, ids) are shared.

Rows are matched by their natural key (teams by name, users by email, customers and contract
lines by external_id, memberships by user and start date, assignments by customer, role and
start date), so importing the same files twice changes nothing. A column missing from a file
leaves that attribute of existing rows alone; an empty cell in a present column means empty
(no end date, no lead, blank segment, USD for currency), except ``role`` and ``team`` in
users.csv: an empty cell there never demotes a user nor drops their team history.
"""

import csv
import re
import sys
from collections import defaultdict, namedtuple
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, cast

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Role, Team, TeamFunction, TeamMembership, User

from .bulk import copy_rows
from .models import Assignment, AssignmentRole, ContractLine, Customer
from .tasks import request_recompute

BATCH_SIZE = 2000
QUERY_CHUNK = 5000
MAX_ERRORS = 50
EARLIEST = date(1900, 1, 1)  # start of the membership users.csv's `team` gives
HISTORY_REASON = "CSV import"


# --- issues -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    file: str
    line: int
    column: str | None
    message: str

    def __str__(self):
        where = f"{self.file}, line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class Issues:
    """Collects errors (the first MAX_ERRORS are kept, all are counted) and warnings."""

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.error_count = 0
        self.warnings: list[Issue] = []

    def error(self, file, line, column, message):
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(Issue(file, line, column, message))

    def warn(self, file, line, column, message):
        self.warnings.append(Issue(file, line, column, message))


class ImportRejected(Exception):
    """The run had invalid rows: nothing was saved."""

    def __init__(self, issues: Issues):
        self.errors = issues.errors
        self.error_count = issues.error_count
        self.warnings = issues.warnings
        shown = "\n".join(f"  {error}" for error in self.errors)
        more = self.error_count - len(self.errors)
        tail = f"\n  ... and {more} more error(s)" if more else ""
        super().__init__(
            f"Import rejected, nothing was saved ({self.error_count} error(s)):\n{shown}{tail}"
        )


@dataclass
class ImportResult:
    counts: dict[str, dict[str, int]]  # file name -> {"created", "updated", "unchanged"[, "deleted"]}
    warnings: list[Issue]

    @property
    def changed(self):
        return any(c.get("created") or c.get("updated") or c.get("deleted") for c in self.counts.values())


# --- cell parsers (raise ValueError with the reason) --------------------------------------

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
# Digits with optional thousands separators in the right places, optional decimals.
AMOUNT_FORMAT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
CURRENCY_FORMAT = re.compile(r"[A-Za-z]{3}")
MAX_AMOUNT = Decimal(10) ** (ContractLine._meta.get_field("arr").max_digits - 2)


@lru_cache(maxsize=65536)  # a few thousand days recur on every file: parse each, share the objects
def parse_date(value: str) -> date:
    if not DATE_FORMAT.fullmatch(value):
        raise ValueError(f"'{value}' is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a real calendar date") from None


@lru_cache(maxsize=65536)  # amounts recur too (price lists)
def parse_arr(value: str) -> Decimal:
    if not AMOUNT_FORMAT.fullmatch(value):
        raise ValueError(f"'{value}' is not an amount; write it like 1234.50 or 1,234.50")
    amount = Decimal(value.replace(",", ""))
    if amount < 0:
        raise ValueError(f"ARR cannot be negative ({value})")
    if cast(int, amount.as_tuple().exponent) < -2:  # an int: AMOUNT_FORMAT allows no NaN or Infinity
        raise ValueError(f"'{value}' has more than 2 decimal places")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"'{value}' is too large")
    return amount.copy_abs().quantize(Decimal("0.01"))  # copy_abs: '-0' is zero


@lru_cache(maxsize=4096)  # the same owners recur on thousands of rows
def parse_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"'{value}' is not an email address") from None
    return value.lower()


@lru_cache(maxsize=1024)
def parse_currency(value: str) -> str:
    if not CURRENCY_FORMAT.fullmatch(value):
        raise ValueError(f"'{value}' is not a three-letter currency code such as USD")
    return value.upper()


def choice(choices, what: str) -> Callable[[str], str]:
    allowed = {value: value for value in choices.values}  # one copy of each, shared by every row

    def parse(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(f"'{value}' is not a valid {what}; use one of: {', '.join(allowed)}")
        return allowed[value.lower()]

    return parse


def text(model, field_name: str, recurs=False) -> Callable[[str], str]:
    """``recurs``: the same value is on many rows (a product, a customer's lines): keep one copy."""
    max_length = model._meta.get_field(field_name).max_length

    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return sys.intern(value) if recurs else value

    return parse


# --- file layouts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], object]
    required: bool = True  # the column must be in the header and its cells not empty
    blank_ok: bool = False  # ... unless this says an empty cell is fine
    empty: object = None  # the value an empty cell stands for


def optional(name, parse, empty=None):
    return Column(name, parse, required=False, blank_ok=True, empty=empty)


@dataclass(frozen=True)
class FileSpec:
    filename: str
    columns: tuple[Column, ...]

    @property
    def required_columns(self):
        return [column.name for column in self.columns if column.required]


FILES: dict[str, FileSpec] = {  # in dependency order
    "teams": FileSpec("teams.csv", (
        Column("name", text(Team, "name")),
        Column("function", choice(TeamFunction, "team function")),
        optional("lead_email", parse_email),
    )),
    "users": FileSpec("users.csv", (
        Column("email", parse_email),
        Column("full_name", text(User, "full_name"), blank_ok=True, empty=""),
        optional("team", text(Team, "name", recurs=True)),
        optional("role", choice(Role, "role")),
    )),
    "team_memberships": FileSpec("team_memberships.csv", (
        Column("email", parse_email),
        Column("team", text(Team, "name", recurs=True)),
        Column("start_date", parse_date),
        optional("end_date", parse_date),
    )),
    "customers": FileSpec("customers.csv", (
        Column("external_id", text(Customer, "external_id")),
        Column("name", text(Customer, "name")),
        optional("segment", text(Customer, "segment", recurs=True), empty=""),
        optional("region", text(Customer, "region", recurs=True), empty=""),
        optional("industry", text(Customer, "industry", recurs=True), empty=""),
        optional("use_case", text(Customer, "use_case", recurs=True), empty=""),
    )),
    "contracts": FileSpec("contracts.csv", (
        Column("external_id", text(ContractLine, "external_id")),
        Column("customer_external_id", text(Customer, "external_id", recurs=True)),
        Column("product", text(ContractLine, "product", recurs=True)),
        Column("start_date", parse_date),
        optional("end_date", parse_date),
        Column("arr", parse_arr),
        optional("currency", parse_currency, empty="USD"),
    )),
    "assignments": FileSpec("assignments.csv", (
        Column("customer_external_id", text(Customer, "external_id", recurs=True)),
        Column("email", parse_email),
        Column("role", choice(AssignmentRole, "assignment role")),
        Column("start_date", parse_date),
        optional("end_date", parse_date),
    )),
}


def validate_row(kind: str, row: dict) -> tuple[dict, dict[str, str]]:
    """Clean one row of a file kind: (values of the columns given, {column: error message}).

    Needs no database, so forms and the API can reuse it; references (does this customer
    exist?) and overlaps are checked over the whole run by ``import_directory``.
    """
    values: dict[str, Any]  # str, date, Decimal or None per column
    values, errors = {}, {}
    for column in FILES[kind].columns:
        if column.name not in row:
            if column.required:
                errors[column.name] = "is required"
            continue
        cell = (row[column.name] or "").strip()
        if not cell:
            if column.blank_ok:
                values[column.name] = column.empty
            else:
                errors[column.name] = "is empty; a value is required"
            continue
        try:
            values[column.name] = column.parse(cell)
        except ValueError as error:
            errors[column.name] = str(error)
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        errors["end_date"] = f"the end date {end} is before the start date {start}"
    return values, errors


# --- step 1: read files into plain rows ---------------------------------------------------


@dataclass(slots=True)
class Row:
    """One row of a file. A valid row holds its cleaned values as a tuple (``cells``, in the order
    of ``columns``, which its file's rows share): 100,000s of rows, and a tuple takes a third of
    the memory of a dict. ``values`` builds the dict when asked."""

    line: int  # physical line in the file, header = 1
    cells: tuple | None  # cleaned, only the columns the file has; None when the row is invalid
    columns: tuple[str, ...] = ()
    raw: dict | None = None  # an invalid row's stripped cells, to recognise its keys

    @property
    def values(self) -> dict | None:
        return None if self.cells is None else dict(zip(self.columns, self.cells))

    def key(self, column: str) -> str:
        """A text cell (name, email, external id), cleaned if the row is valid."""
        if self.cells is None:
            return cast("dict[str, str]", self.raw).get(column) or ""  # an invalid row keeps raw
        return (self.cells[self.columns.index(column)] if column in self.columns else None) or ""


def _decode(path: Path, spec: FileSpec, issues: Issues) -> str | None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        issues.error(spec.filename, line, _column_at(data, error.start, line),
                     f"the file is not UTF-8 (byte 0x{data[error.start]:02x} cannot be read); "
                     "save it as UTF-8 (in Excel: 'CSV UTF-8') and import again")
        return None
    nul = data.find(b"\x00")
    if nul >= 0:  # no text column can store it (PostgreSQL refuses it)
        line = data.count(b"\n", 0, nul) + 1
        issues.error(spec.filename, line, _column_at(data, nul, line),
                     "contains a NUL character (byte 0x00), which cannot be stored; remove it and import again")
        return None
    return text


def _column_at(data: bytes, offset: int, line: int) -> str | None:
    """Best effort: the header name of the cell holding byte ``offset``."""
    if line == 1:
        return None
    header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig", "replace")]), [])
    line_start = data.rfind(b"\n", 0, offset) + 1
    before = data[line_start:offset].decode("utf-8", "replace")
    index = len(next(csv.reader([before]), [""])) - 1
    return header[index].strip().lower() if 0 <= index < len(header) else None


# A line as io.StringIO(content, newline="") gives it (ends \r\n, \r or \n), without its buffer of
# four bytes a character.
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def read_rows(path: Path, kind: str, issues: Issues) -> list[Row]:
    """Read one file: every row validated, with errors (file, line, column) added to ``issues``."""
    spec = FILES[kind]
    content = _decode(path, spec, issues)
    if content is None:
        return []
    reader = csv.reader(match.group() for match in LINE.finditer(content))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(header):
            issues.error(spec.filename, 1, None, "the file is empty; it needs a header row")
            return []
        if not _header_ok(header, spec, issues):
            return []
        columns = tuple(column.name for column in spec.columns if column.name in header)  # a valid row's keys
        rows, last_line = [], reader.line_num
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            raw = {name: cell.strip() for name, cell in zip(header, cells) if name}
            if len(cells) != len(header):
                issues.error(spec.filename, line, None,
                             f"has {len(cells)} values but the header has {len(header)} columns")
                rows.append(Row(line, None, raw=raw))  # its key still counts as known: no knock-on errors
                continue
            values, errors = validate_row(kind, raw)
            for column, message in errors.items():
                issues.error(spec.filename, line, column, message)
            rows.append(Row(line, tuple(values.values()), columns) if not errors else Row(line, None, raw=raw))
    except csv.Error as error:
        issues.error(spec.filename, reader.line_num, None, f"is not valid CSV ({error})")
        return []
    return rows


def _header_ok(header: list[str], spec: FileSpec, issues: Issues) -> bool:
    known = {column.name for column in spec.columns}
    ok = True
    for name in sorted({n for n in header if header.count(n) > 1 and n}):
        issues.error(spec.filename, 1, name, "this column appears more than once")
        ok = False
    for name in spec.required_columns:
        if name not in header:
            issues.error(spec.filename, 1, name, "this required column is missing")
            ok = False
    for name in header:
        if name and name not in known:
            issues.warn(spec.filename, 1, name,
                        f"unknown column, ignored (columns are: {', '.join(c.name for c in spec.columns)})")
    return ok


def read_directory(directory) -> tuple[dict[str, list[Row]], Issues]:
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    issues = Issues()
    rows = {kind: read_rows(directory / spec.filename, kind, issues)
            for kind, spec in FILES.items() if (directory / spec.filename).is_file()}
    if not rows:
        raise FileNotFoundError(
            f"{directory} holds none of: {', '.join(spec.filename for spec in FILES.values())}"
        )
    return rows, issues


# --- step 2: what the database holds, references and overlaps -----------------------------


def _postgresql() -> bool:
    """PostgreSQL: COPY for new rows, one array parameter for many keys. Elsewhere (SQLite) the
    portable paths: bulk_create, chunks of ``IN (...)``."""
    return connection.vendor == "postgresql"


def _chunks(values, size=QUERY_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _matching(queryset, lookup, keys):
    """``queryset`` for the keys, as a bounded number of querysets however many keys.

    On PostgreSQL one query, the keys as one array parameter (``IN (SELECT unnest(%s))``):
    building and sending ``IN (%s, %s, ...)`` for 100,000s of keys costs more than running it.
    """
    if _postgresql():
        queryset = queryset.all()
        column_type = queryset.query.resolve_ref(lookup).output_field.db_type(connection)  # a field or an annotation
        yield queryset.filter(**{f"{lookup}__in": RawSQL(f"SELECT unnest(%s::{column_type}[])", [list(keys)])})
        return
    for chunk in _chunks(keys):
        yield queryset.filter(**{f"{lookup}__in": chunk})


def _fetch(queryset, lookup, keys, *fields) -> list[dict]:
    """``queryset.values(*fields)`` for the keys."""
    return [row for matching in _matching(queryset, lookup, keys) for row in matching.values(*fields)]


def _fetch_compact(row_type, queryset, lookup, keys, shared: set[str]):
    """Rows for the keys as ``row_type`` named tuples, streamed, each distinct value of the
    ``shared`` fields held once: 100,000s of rows repeat a few thousand dates, products, amounts."""
    pools: list[dict[Any, Any] | None]
    pools = [{} if name in shared else None for name in row_type._fields]  # a pool per field: 1 == Decimal(1)
    for matching in _matching(queryset, lookup, keys):
        for values in matching.values_list(*row_type._fields).iterator(chunk_size=QUERY_CHUNK):
            yield row_type._make([value if pool is None else pool.setdefault(value, value)
                                  for pool, value in zip(pools, values)])


# The two kinds of rows a run holds in their 100,000s, compact (a tuple is a third of a dict).
DbLine = namedtuple("DbLine", "id external_id customer_id product start_date end_date arr currency")
DbAssignment = namedtuple("DbAssignment", "id customer_id role start_date end_date user_id")


@dataclass
class Database:
    """The rows the run may touch, as plain dicts (lines and assignments: named tuples) keyed by
    natural key."""

    teams: Mapping[str, Mapping[str, Any]]  # name -> row
    users: dict[str, dict]  # lower email -> row
    customers: dict[str, dict]  # external_id -> row
    lines: dict[str, DbLine]  # external_id -> row (the file's lines and all lines of its customers)
    assignments: dict[int, list[DbAssignment]]  # customer id -> rows
    memberships: dict[int, list[dict]]  # user id -> rows

    @classmethod
    def load(cls, rows: dict[str, list[Row]]):
        def raw_keys(kind, column, lower=False):
            keys = {row.key(column) for row in rows.get(kind, [])}
            return {key.lower() if lower else key for key in keys if key}

        teams = {t["name"]: t for t in Team.objects.values("id", "name", "function", "lead_id")}
        emails = (raw_keys("users", "email", True) | raw_keys("team_memberships", "email", True)
                  | raw_keys("assignments", "email", True) | raw_keys("teams", "lead_email", True))
        users = {u["email_lower"]: u for u in _fetch(
            User.objects.annotate(email_lower=Lower("email")), "email_lower", emails,
            "id", "email_lower", "full_name", "role")}
        external_ids = (raw_keys("customers", "external_id") | raw_keys("contracts", "customer_external_id")
                        | raw_keys("assignments", "customer_external_id"))
        customers = {c["external_id"]: c for c in _fetch(
            Customer.objects, "external_id", external_ids,
            "id", "external_id", "name", "segment", "region", "industry", "use_case")}
        lines = {}
        if "contracts" in rows:
            shared = {"customer_id", "product", "start_date", "end_date", "arr", "currency"}
            contract_customers = {customers[k]["id"] for k in raw_keys("contracts", "customer_external_id")
                                  if k in customers}
            lines = {line.external_id: line for line in _fetch_compact(
                DbLine, ContractLine.objects, "customer_id", contract_customers, shared)}
            others = raw_keys("contracts", "external_id") - set(lines)  # new lines, or moving customer
            lines |= {line.external_id: line for line in _fetch_compact(
                DbLine, ContractLine.objects, "external_id", others, shared)}
        assignments = defaultdict(list)
        assigned = {customers[k]["id"] for k in raw_keys("assignments", "customer_external_id") if k in customers}
        for row in _fetch_compact(DbAssignment, Assignment.objects, "customer_id", assigned,
                                  {"customer_id", "role", "start_date", "end_date", "user_id"}):
            assignments[row.customer_id].append(row)
        memberships = defaultdict(list)
        members = {users[e]["id"] for e in raw_keys("users", "email", True) | raw_keys("team_memberships", "email", True)
                   if e in users}
        for row in _fetch(TeamMembership.objects, "user_id", members,
                          "id", "user_id", "team_id", "start_date", "end_date"):
            memberships[row["user_id"]].append(row)
        return cls(teams, users, customers, lines, assignments, memberships)


def _span(start, end):
    return f"{start} to {end or 'open end'}"


def _first_overlap(spans):
    """Spans are (start, end or None, file row or None for the database); the first overlapping
    pair (earlier, later) that involves the file."""
    reach = None  # of the spans seen so far, the one that ends last
    for span in sorted(spans, key=lambda span: span[0]):
        if reach and (reach[1] is None or reach[1] >= span[0]) and (reach[2] or span[2]):
            return reach, span
        if reach is None or (reach[1] is not None and (span[1] is None or span[1] > reach[1])):
            reach = span
    return None


def check(rows: dict[str, list[Row]], db: Database, issues: Issues) -> None:
    """Cross-row checks of the whole run: duplicates, references, overlaps; and the warnings."""
    known_teams = set(db.teams) | {r.key("name") for r in rows.get("teams", [])}
    known_users = set(db.users) | {r.key("email").lower() for r in rows.get("users", [])}
    known_customers = set(db.customers) | {r.key("external_id") for r in rows.get("customers", [])}

    def valid(kind):
        return [row for row in rows.get(kind, []) if row.cells is not None]

    def refer(kind, row, column, known, what):
        value = row.values.get(column)
        if value and value not in known:
            issues.error(FILES[kind].filename, row.line, column,
                         f"unknown {what} '{value}': not in the database nor in {_source(what)}")

    for kind, key in (("teams", ("name",)), ("users", ("email",)), ("customers", ("external_id",)),
                      ("contracts", ("external_id",)), ("team_memberships", ("email", "start_date")),
                      ("assignments", ("customer_external_id", "role", "start_date"))):
        _check_unique(kind, valid(kind), key, issues)

    for row in valid("teams"):
        refer("teams", row, "lead_email", known_users, "user")
    for row in valid("users"):
        refer("users", row, "team", known_teams, "team")
    for row in valid("team_memberships"):
        refer("team_memberships", row, "email", known_users, "user")
        refer("team_memberships", row, "team", known_teams, "team")
    for row in valid("contracts"):
        refer("contracts", row, "customer_external_id", known_customers, "customer")
    for row in valid("assignments"):
        refer("assignments", row, "customer_external_id", known_customers, "customer")
        refer("assignments", row, "email", known_users, "user")

    _check_membership_overlaps(valid("team_memberships"), valid("users"), db, issues)
    _check_assignment_overlaps(valid("assignments"), db, issues)
    _warn_one_day_overlaps(valid("contracts"), db, issues)


def _source(what):
    return {"user": "users.csv", "team": "teams.csv", "customer": "customers.csv"}[what]


def _check_unique(kind, rows, key, issues):
    seen = {}
    for row in rows:
        value = tuple(row.values.get(column) for column in key) if len(key) > 1 else row.values.get(key[0])
        if value in seen:
            shown = ", ".join(f"{column} {v}" for column, v in zip(key, value if len(key) > 1 else [value]))
            issues.error(FILES[kind].filename, row.line, key[-1],
                         f"duplicate row ({shown}), already on line {seen[value]}")
        else:
            seen[value] = row.line


def _overlap_message(pair, what):
    """(line to blame, message) for an overlapping pair of (start, end, row or None) spans."""
    earlier, later = pair
    mine, other = (later, earlier) if later[2] else (earlier, later)
    where = f"on line {other[2].line}" if other[2] else "in the database"
    return mine[2].line, (f"{what} from {_span(mine[0], mine[1])} overlaps the one from "
                          f"{_span(other[0], other[1])} {where}")


def _check_membership_overlaps(membership_rows, user_rows, db, issues):
    by_user = defaultdict(list)
    for row in membership_rows:
        by_user[row.values["email"]].append(row)
    for email, group in by_user.items():
        pair = _first_overlap([(r.values["start_date"], r.values.get("end_date"), r) for r in group])
        if pair:
            line, message = _overlap_message(pair, f"{email}'s membership")
            issues.error(FILES["team_memberships"].filename, line, "start_date",
                         f"{message}: a user belongs to one team on any given day")
    # users.csv `team` is a membership from the earliest date on: it cannot sit beside dated ones.
    for row in user_rows:
        email = row.values["email"]
        if not row.values.get("team") or email in by_user or email not in db.users:
            continue
        dated = [m["start_date"] for m in db.memberships[db.users[email]["id"]] if m["start_date"] != EARLIEST]
        if dated:
            issues.error(FILES["users"].filename, row.line, "team",
                         f"{email} has dated team memberships in the database (the first from "
                         f"{min(dated)}); a team here would overlap them, so list this user's moves in "
                         "team_memberships.csv instead, or leave team empty")


def _check_assignment_overlaps(assignment_rows, db, issues):
    in_file = defaultdict(list)
    for row in assignment_rows:
        v = row.values
        in_file[(v["customer_external_id"], v["role"])].append((v["start_date"], v.get("end_date"), row))
    for (external_id, role), spans in in_file.items():
        customer = db.customers.get(external_id)
        if customer:  # database rows the file does not replace stay, so they must fit too
            replaced = {start for start, _end, _row in spans}
            spans += [(a.start_date, a.end_date, None) for a in db.assignments[customer["id"]]
                      if a.role == role and a.start_date not in replaced]
        pair = _first_overlap(spans)
        if pair:
            line, message = _overlap_message(pair, f"this {role} assignment of customer {external_id}")
            issues.error(FILES["assignments"].filename, line, "start_date",
                         f"{message}: a customer has one {role} on any given day")


def _warn_one_day_overlaps(contract_rows, db, issues):
    """A line ending on the day another line of the same customer and product starts."""
    id_to_customer = {c["id"]: external_id for external_id, c in db.customers.items()}
    in_file = {row.key("external_id") for row in contract_rows}
    by_customer = defaultdict(list)  # customer external_id -> file rows, and database lines the file leaves alone
    for line in db.lines.values():
        if line.external_id not in in_file:
            by_customer[id_to_customer.get(line.customer_id)].append(line)
    for row in contract_rows:
        by_customer[row.key("customer_external_id")].append(row)
    for customer, group in by_customer.items():
        lines = [_final_line(line, db) for line in group]  # (external_id, product, start, end, file line or None)
        starting = defaultdict(list)
        for external_id, product, start, _end, line in lines:
            starting[(product, start)].append((external_id, line))
        for external_id, product, _start, end, line in lines:
            for other, other_line in starting.get((product, end), []) if end else []:
                if other == external_id or (line is None and other_line is None):
                    continue  # a one-day line, or both already in the database: not this import's doing
                issues.warn(FILES["contracts"].filename, line or other_line, "end_date",
                            f"line {external_id} of customer {customer} ({product}) ends on {end}, the day "
                            f"line {other} starts, so both count that day; an upgrade usually ends the old "
                            "line the day before")


def _final_line(line: Row | DbLine, db):
    """(external_id, product, start, end, file line or None) of a line once the file is in."""
    if isinstance(line, DbLine):
        return line.external_id, line.product, line.start_date, line.end_date, None
    v, before = cast("dict[str, Any]", line.values), db.lines.get(line.key("external_id"))  # a valid row
    end = v["end_date"] if "end_date" in v else (before.end_date if before else None)
    return v["external_id"], v["product"], v["start_date"], end, line.line


# --- step 3: write ------------------------------------------------------------------------


@dataclass
class Changes:
    create: list = field(default_factory=list)  # value dicts
    update: list = field(default_factory=list)  # value dicts with "id"
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {"created": len(self.create), "updated": len(self.update), "unchanged": self.unchanged}


def diff(desired: Iterable[tuple], existing: Mapping[Any, Mapping[str, Any] | DbLine | DbAssignment]) -> Changes:
    """Compare wanted values (only the fields given), as (key, values) pairs, with current rows
    (dicts or named tuples) keyed alike."""
    changes = Changes()
    for key, values in desired:
        current = existing.get(key)
        if current is None:
            changes.create.append(values)
            continue
        if isinstance(current, tuple):
            current = current._asdict()
        merged = {**current, **values}
        if merged == current:
            changes.unchanged += 1
        else:
            changes.update.append(merged)
    return changes


def write(model, changes: Changes, fields: list[str], history=False) -> list[int]:
    """Updates first (an end date moving earlier may make room for a new row), then creates;
    returns the new rows' ids, in the order of ``changes.create``.

    Bulk queries only: no model signals fire, and the recompute is queued once by the caller.
    On PostgreSQL new rows go in by COPY (``_copy_new``), in the same transaction.
    """
    if changes.update:
        updated = [model(**row) for row in changes.update]  # whole rows: history records copy them
        if history:  # assignments keep their edit history, written in bulk too
            bulk_update_with_history(updated, model, fields, batch_size=BATCH_SIZE,
                                     default_change_reason=HISTORY_REASON)
        else:
            model.objects.bulk_update(updated, fields, batch_size=BATCH_SIZE)
    if not changes.create:
        return []
    if _postgresql():
        return _copy_new(model, changes.create, history)
    created = [model(**row) for row in changes.create]
    if history:
        created = bulk_create_with_history(created, model, batch_size=BATCH_SIZE,
                                           default_change_reason=HISTORY_REASON)
    else:
        created = model.objects.bulk_create(created, batch_size=BATCH_SIZE)
    return [obj.pk for obj in created]


def _copy_new(model, rows: list[dict], history: bool) -> list[int]:
    """PostgreSQL: insert value dicts with COPY (many times faster than INSERT for 100,000s of
    rows), their ids drawn from the table's sequence first; with ``history``, a simple_history
    "+" record for each, as ``bulk_create_with_history`` writes them."""
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(rows)])
        ids = [pk for (pk,) in cursor.fetchall()]
        fields = [f for f in meta.concrete_fields if f is not meta.pk]
        defaults = {f.attname: f.get_default() for f in fields}  # for a column the file does not have
        records = ((pk, *(row[name] if name in row else defaults[name] for name in defaults))
                   for pk, row in zip(ids, rows))
        copy_rows(cursor, meta.db_table, [meta.pk.column, *(f.column for f in fields)], records)
        if history and getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            historical = model.history.model
            tracked = [f.attname for f in historical.tracked_fields]
            user = historical.get_default_history_user(model())  # the request's user, if any
            extra = (timezone.now(), HISTORY_REASON, "+", user.pk if user else None)
            records = ((pk, *(row[name] if name in row else defaults[name] for name in tracked[1:]), *extra)
                       for pk, row in zip(ids, rows))
            columns = [historical._meta.get_field(name).column for name in tracked]
            copy_rows(cursor, historical._meta.db_table,
                  [*columns, "history_date", "history_change_reason", "history_type", "history_user_id"], records)
    return ids


def _given(values: dict, *columns) -> dict:
    """The columns the file had (a missing optional column leaves existing values alone)."""
    return {column: values[column] for column in columns if column in values}


def apply(rows: dict[str, list[Row]], db: Database, touched: set[int]) -> dict[str, dict[str, int]]:
    """Write the checked rows (users before teams: a team's lead may be a user created here).

    ``touched`` receives the ids of the customers whose figures the import may move.
    """
    counts = {}
    user_ids = {email: user["id"] for email, user in db.users.items()}
    team_ids = {name: team["id"] for name, team in db.teams.items()}
    customer_ids = {external_id: c["id"] for external_id, c in db.customers.items()}

    # Per file kind: wanted values by key, then a generator or a function of (key, values) pairs.
    desired: (
        dict[Any, dict[str, Any]]
        | Iterator[tuple[Any, dict[str, Any]]]
        | Callable[[], Iterator[tuple[Any, dict[str, Any]]]]
    )
    existing: Mapping[Any, Mapping[str, Any] | DbLine | DbAssignment]
    user_changes = Changes()
    if "users" in rows:
        desired = {}
        for v in (cast("dict[str, Any]", r.values) for r in rows["users"]):  # valid rows only, as below
            wanted = _given(v, "email", "full_name")
            if v.get("role") or v["email"] not in db.users:  # an empty role never demotes anyone
                wanted["role"] = v.get("role") or Role.MEMBER
            desired[v["email"]] = wanted
        existing = {email: {"id": u["id"], "email": email, "full_name": u["full_name"], "role": u["role"]}
                    for email, u in db.users.items()}
        user_changes = diff(desired.items(), existing)
        for values in user_changes.create:
            values["password"] = make_password(None)  # unusable: an owner who never logs in
        new_ids = write(User, user_changes, ["full_name", "role"])
        user_ids |= {values["email"]: pk for values, pk in zip(user_changes.create, new_ids)}

    if "teams" in rows:
        desired = {}
        for v in (cast("dict[str, Any]", r.values) for r in rows["teams"]):
            desired[v["name"]] = _given(v, "name", "function")
            if "lead_email" in v:
                desired[v["name"]]["lead_id"] = user_ids[v["lead_email"]] if v["lead_email"] else None
        changes = diff(desired.items(), db.teams)
        new_ids = write(Team, changes, ["function", "lead_id"])
        team_ids |= {values["name"]: pk for values, pk in zip(changes.create, new_ids)}
        counts["teams.csv"] = changes.counts()

    moved_users: set[int] = set()
    membership_changed = _apply_memberships(rows, db, user_ids, team_ids, counts, moved_users)
    if "users" in rows:
        created = {values["email"] for values in user_changes.create}
        updated = ({values["email"] for values in user_changes.update} | membership_changed) - created
        counts["users.csv"] = {"created": len(created), "updated": len(updated),
                               "unchanged": len(rows["users"]) - len(created) - len(updated)}

    if "customers" in rows:
        fields = ["name", "segment", "region", "industry", "use_case"]
        desired = ((v["external_id"], _given(v, "external_id", *fields))
                   for v in (cast("dict[str, Any]", r.values) for r in rows["customers"]))
        changes = diff(desired, db.customers)
        new_ids = write(Customer, changes, fields)
        customer_ids |= {values["external_id"]: pk for values, pk in zip(changes.create, new_ids)}
        touched.update(new_ids)
        touched.update(values["id"] for values in changes.update)
        counts["customers.csv"] = changes.counts()

    if "contracts" in rows:
        fields = ["product", "start_date", "end_date", "arr", "currency"]
        desired = ((v["external_id"], _given(v, "external_id", *fields) | {"customer_id": customer_ids[v["customer_external_id"]]})
                   for v in (cast("dict[str, Any]", r.values) for r in rows["contracts"]))
        changes = diff(desired, db.lines)
        write(ContractLine, changes, ["customer_id", *fields])
        touched.update(values["customer_id"] for values in changes.create + changes.update)
        touched.update(db.lines[values["external_id"]].customer_id for values in changes.update)  # moved from
        counts["contracts.csv"] = changes.counts()

    if "assignments" in rows:
        def desired():
            for v in (r.values for r in rows["assignments"]):
                key = (customer_ids[v["customer_external_id"]], v["role"], v["start_date"])
                yield key, _given(v, "end_date") | {
                    "customer_id": key[0], "role": key[1], "start_date": key[2], "user_id": user_ids[v["email"]]}
        existing = {(a.customer_id, a.role, a.start_date): a for group in db.assignments.values() for a in group}
        changes = diff(desired(), existing)
        write(Assignment, changes, ["user_id", "end_date"], history=True)
        touched.update(values["customer_id"] for values in changes.create + changes.update)
        counts["assignments.csv"] = changes.counts()
    if moved_users:  # a team move re-attributes the mover's whole book
        touched.update(Assignment.objects.filter(user_id__in=moved_users).values_list("customer_id", flat=True))
    return counts


def _membership_changes(spans_by_email, db, user_ids, replace: bool) -> tuple[Changes, dict[int, int]]:
    """Changes for {email: {start_date: values}}; with ``replace``, also the rows to drop (id: user id)."""
    stale: dict[int, int]
    desired, existing, stale = {}, {}, {}
    for email, spans in spans_by_email.items():
        user_id = user_ids[email]
        current = {m["start_date"]: m for m in db.memberships.get(user_id, [])} if email in db.users else {}
        for start, values in spans.items():
            desired[(user_id, start)] = values | {"user_id": user_id, "start_date": start}
            if start in current:
                existing[(user_id, start)] = current[start]
        if replace:
            stale |= {m["id"]: user_id for start, m in current.items() if start not in spans}
    return diff(desired.items(), existing), stale


def _apply_memberships(rows, db, user_ids, team_ids, counts, moved: set[int]) -> set[str]:
    """team_memberships.csv replaces its users' memberships; users.csv `team` sets one from 1900.

    Returns the emails of users.csv users whose membership changed (they count as updated), and
    adds every user whose memberships changed to ``moved``.
    """
    from_file: defaultdict[str, dict[date, dict[str, Any]]] = defaultdict(dict)  # email -> start_date -> values
    for v in (r.values for r in rows.get("team_memberships", [])):
        from_file[v["email"]][v["start_date"]] = {"team_id": team_ids[v["team"]], "end_date": v.get("end_date")}
    from_users = {v["email"]: {EARLIEST: {"team_id": team_ids[v["team"]], "end_date": None}}
                  for v in (r.values for r in rows.get("users", []))
                  if v.get("team") and v["email"] not in from_file}

    file_changes, stale = _membership_changes(from_file, db, user_ids, replace=True)
    user_changes, _ = _membership_changes(from_users, db, user_ids, replace=False)
    for chunk in _chunks(list(stale)):
        # A raw delete: no per-row signals (the recompute is queued once), nothing refers to memberships.
        TeamMembership.objects.filter(id__in=chunk)._raw_delete(TeamMembership.objects.db)
    write(TeamMembership, file_changes, ["team_id", "end_date"])
    write(TeamMembership, user_changes, ["team_id", "end_date"])
    if "team_memberships" in rows:
        counts["team_memberships.csv"] = file_changes.counts() | {"deleted": len(stale)}
    changed = {values["user_id"] for values in user_changes.create + user_changes.update}
    moved |= changed | set(stale.values()) | {values["user_id"] for values in file_changes.create + file_changes.update}
    return {email for email in from_users if user_ids[email] in changed}


# --- the whole run ------------------------------------------------------------------------


def import_directory(directory) -> ImportResult:
    """Import the section 4 files found in ``directory``: all of them or, on any error, nothing."""
    rows, issues = read_directory(directory)
    with transaction.atomic():
        db = Database.load(rows)
        check(rows, db, issues)
        if issues.error_count:
            raise ImportRejected(issues)
        touched: set[int] = set()
        result = ImportResult(apply(rows, db, touched), issues.warnings)
        if result.changed:
            request_recompute(touched)  # the workers start after the commit
    return result
