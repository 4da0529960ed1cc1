"""Step 2 of the CSV import, first half: load what the database holds for the rows of a run."""

from collections import defaultdict, namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from accounts.models import Team, TeamMembership, User

from ..models import Assignment, ContractLine, Customer, FxRate
from .reading import Row

QUERY_CHUNK = 5000


def _postgresql() -> bool:
    """PostgreSQL: COPY for new rows, one array parameter for many keys. Elsewhere (SQLite) the
    portable paths: bulk_create, chunks of ``IN (...)``."""
    return connection.vendor == "postgresql"


def _chunks(values, size=QUERY_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


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
            yield row_type._make(
                [
                    value if pool is None else pool.setdefault(value, value)
                    for pool, value in zip(pools, values, strict=True)
                ]
            )


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
    rates: Mapping[tuple[str, date], Mapping[str, Any]] = field(default_factory=dict)  # (currency, valid_from) -> row

    @classmethod
    def load(cls, rows: dict[str, list[Row]]):
        def raw_keys(kind, column, lower=False):
            keys = {row.key(column) for row in rows.get(kind, [])}
            return {key.lower() if lower else key for key in keys if key}

        teams = {t["name"]: t for t in Team.objects.values("id", "name", "function", "lead_id")}
        emails = (
            raw_keys("users", "email", True)
            | raw_keys("team_memberships", "email", True)
            | raw_keys("assignments", "email", True)
            | raw_keys("teams", "lead_email", True)
        )
        users = {
            u["email_lower"]: u
            for u in _fetch(
                User.objects.annotate(email_lower=Lower("email")),
                "email_lower",
                emails,
                "id",
                "email_lower",
                "full_name",
                "role",
            )
        }
        external_ids = (
            raw_keys("customers", "external_id")
            | raw_keys("contracts", "customer_external_id")
            | raw_keys("assignments", "customer_external_id")
        )
        customers = {
            c["external_id"]: c
            for c in _fetch(
                Customer.objects,
                "external_id",
                external_ids,
                "id",
                "external_id",
                "name",
                "segment",
                "region",
                "industry",
                "use_case",
            )
        }
        lines = {}
        if "contracts" in rows:
            shared = {"customer_id", "product", "start_date", "end_date", "arr", "currency"}
            contract_customers = {
                customers[k]["id"] for k in raw_keys("contracts", "customer_external_id") if k in customers
            }
            lines = {
                line.external_id: line
                for line in _fetch_compact(DbLine, ContractLine.objects, "customer_id", contract_customers, shared)
            }
            others = raw_keys("contracts", "external_id") - set(lines)  # new lines, or moving customer
            lines |= {
                line.external_id: line
                for line in _fetch_compact(DbLine, ContractLine.objects, "external_id", others, shared)
            }
        assignments = defaultdict(list)
        assigned = {customers[k]["id"] for k in raw_keys("assignments", "customer_external_id") if k in customers}
        for row in _fetch_compact(
            DbAssignment,
            Assignment.objects,
            "customer_id",
            assigned,
            {"customer_id", "role", "start_date", "end_date", "user_id"},
        ):
            assignments[row.customer_id].append(row)
        memberships = defaultdict(list)
        members = {
            users[e]["id"]
            for e in raw_keys("users", "email", True) | raw_keys("team_memberships", "email", True)
            if e in users
        }
        for row in _fetch(
            TeamMembership.objects, "user_id", members, "id", "user_id", "team_id", "start_date", "end_date"
        ):
            memberships[row["user_id"]].append(row)
        rates = {
            (r["currency"], r["valid_from"]): r for r in FxRate.objects.values("id", "currency", "valid_from", "rate")
        }
        return cls(teams, users, customers, lines, assignments, memberships, rates)
