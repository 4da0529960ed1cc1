"""Loading: the engine's inputs, from the live tables or from the frozen copy the figures were
computed from (the Snapshot* tables, money as integer cents).

A full recompute freezes the live tables into a new input version with one set-based statement
per table; an incremental one re-freezes only the customers it recomputes. Every read here is a
plain ``values_list``: the engine gets tuples, never model instances.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import connection
from django.db.models import Manager, Min, Model, Q

from accounts.models import TeamMembership

from .. import currency
from .. import engine as calendar
from ..models import (
    Assignment,
    ContractLine,
    Customer,
    FxRate,
    SnapshotAssignment,
    SnapshotCustomer,
    SnapshotFxRate,
    SnapshotLine,
    SnapshotMembership,
)
from . import engine

CUSTOMER_COLUMNS = ("customer_id", "segment", "region", "industry", "use_case")
LINE_COLUMNS = ("customer_id", "product", "start_date", "end_date", "arr_cents", "currency")
ASSIGNMENT_COLUMNS = ("customer_id", "user_id", "role", "start_date", "end_date")
MEMBERSHIP_COLUMNS = ("user_id", "team_id", "start_date", "end_date")

# Frozen table <- live table: (frozen columns, the live expressions that fill them).
FREEZE: dict[
    type[SnapshotCustomer] | type[SnapshotLine] | type[SnapshotAssignment],
    tuple[type[Customer] | type[ContractLine] | type[Assignment], tuple[str, ...], tuple[str, ...], str],
] = {
    SnapshotCustomer: (Customer, CUSTOMER_COLUMNS, ("id", "segment", "region", "industry", "use_case"), "id"),
    SnapshotLine: (
        ContractLine,
        LINE_COLUMNS,
        ("customer_id", "product", "start_date", "end_date", "CAST(ROUND(arr * 100) AS BIGINT)", "currency"),
        "customer_id",
    ),
    SnapshotAssignment: (Assignment, ASSIGNMENT_COLUMNS, ASSIGNMENT_COLUMNS, "customer_id"),
}
ID_CHUNK = 5000  # customer ids bound per statement (SQLite allows 32,766 parameters)


def cents(amount: Decimal) -> int:
    """A money amount with at most two decimals as integer cents, exactly."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(value)


# --- freezing -----------------------------------------------------------------------------------


def freeze_range(version: int, lo: int, hi: int) -> None:
    """Copy the live customers, lines and assignments of an id range into ``version`` (server side)."""
    with connection.cursor() as cursor:
        for frozen, (live, columns, expressions, key) in FREEZE.items():
            frozen.objects.filter(version=version, customer_id__gte=lo, customer_id__lte=hi).delete()
            cursor.execute(
                _insert_select(frozen, live, columns, expressions) + f" WHERE {key} BETWEEN %s AND %s",
                [version, lo, hi],
            )


def freeze_all_memberships(version: int) -> None:
    SnapshotMembership.objects.filter(version=version).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_select(SnapshotMembership, TeamMembership, MEMBERSHIP_COLUMNS, MEMBERSHIP_COLUMNS), [version]
        )


def freeze_rates(version: int) -> None:
    """The exchange rates a version is computed with (every shard and later incremental run of it
    converts with these; a change of rates asks for a full run, which freezes the new ones)."""
    SnapshotFxRate.objects.filter(version=version).delete()
    SnapshotFxRate.objects.bulk_create(
        SnapshotFxRate(version=version, currency=code, valid_from=day, rate_units=calendar.rate_units(rate))
        for code, day, rate in FxRate.objects.values_list("currency", "valid_from", "rate")
    )


def frozen_rates(version: int) -> calendar.Rates:
    rows = SnapshotFxRate.objects.filter(version=version).values_list("currency", "valid_from", "rate_units")
    return currency.rates_for_engine([(code, day, int(units)) for code, day, units in rows])


def freeze_customers(version: int, customer_ids: Collection[int], rows: LiveRows) -> None:
    """Replace the frozen rows of these customers by the live rows an incremental run computed
    with (never a new read: a change committed meanwhile must stay out of both)."""
    for chunk in _chunks(customer_ids):
        for frozen in FREEZE:
            frozen.objects.filter(version=version, customer_id__in=chunk).delete()
    for frozen, columns, values in (
        (SnapshotCustomer, CUSTOMER_COLUMNS, rows.customers),
        (SnapshotLine, LINE_COLUMNS, rows.lines),
        (SnapshotAssignment, ASSIGNMENT_COLUMNS, rows.assignments),
    ):
        # Each model takes its own rows; mypy cannot pair them across the tuples above.
        manager = cast("Manager[Model]", frozen.objects)
        manager.bulk_create(
            (frozen(version=version, **dict(zip(columns, row, strict=True))) for row in values), batch_size=5000
        )


def freeze_memberships(version: int, memberships: Collection[tuple]) -> None:
    SnapshotMembership.objects.filter(version=version).delete()
    SnapshotMembership.objects.bulk_create(
        (SnapshotMembership(version=version, **dict(zip(MEMBERSHIP_COLUMNS, row, strict=True))) for row in memberships),
        batch_size=5000,
    )


def drop_version(version: int) -> None:
    for frozen in (*FREEZE, SnapshotMembership, SnapshotFxRate):
        frozen.objects.filter(version=version).delete()


def drop_versions_before(version: int) -> None:
    """Every older input version: the one just replaced, and any a failed run left behind."""
    for frozen in (*FREEZE, SnapshotMembership, SnapshotFxRate):
        frozen.objects.filter(version__lt=version).delete()


def refresh_statistics() -> None:
    """After a full run replaced every frozen row: without fresh statistics PostgreSQL plans the
    drill-down queries as if the tables were empty (seen: 0.9 s instead of 0.08 s a page)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for frozen in (*FREEZE, SnapshotMembership):
                cursor.execute(f"ANALYZE {frozen._meta.db_table}")


def _insert_select(frozen, live, columns, expressions) -> str:
    return (
        f"INSERT INTO {frozen._meta.db_table} (version, {', '.join(columns)}) "
        f"SELECT %s, {', '.join(expressions)} FROM {live._meta.db_table}"
    )


# --- reading ------------------------------------------------------------------------------------


def frozen_inputs(
    version: int,
    customer_ids: Collection[int] | None = None,
    id_range: tuple[int, int] | None = None,
    needed_from: date | None = None,
) -> engine.Inputs:
    """The inputs of one version, for some customers (ids or an inclusive id range) or all.

    ``needed_from``: inputs only for days on or after that one (a new day: the current periods
    from their first ``s-1`` on, and the cases after the last day). Lines and assignments that
    ended before it are not read, and each customer's first revenue day is read apart (new or
    reactivated ARR and tenure bands need it, and its line may have ended long ago)."""

    def scoped(model, dated=False):
        qs = model.objects.filter(version=version)
        if id_range is not None:
            qs = qs.filter(customer_id__gte=id_range[0], customer_id__lte=id_range[1])
        if dated and needed_from is not None:
            qs = qs.filter(Q(end_date__isnull=True) | Q(end_date__gte=needed_from))
        return qs

    def rows(qs, columns):
        if customer_ids is not None:
            return [
                row for chunk in _chunks(customer_ids) for row in qs.filter(customer_id__in=chunk).values_list(*columns)
            ]
        if needed_from is not None:
            return list(qs.values_list(*columns))  # a fraction of the rows: one plain fetch is faster
        return qs.values_list(*columns).iterator(chunk_size=20000)

    first_days = None
    if needed_from is not None:
        revenue = scoped(SnapshotLine).filter(arr_cents__gt=0).order_by()
        first_days = rows(revenue.values("customer_id").annotate(first=Min("start_date")), ("customer_id", "first"))
    memberships = SnapshotMembership.objects.filter(version=version).values_list(*MEMBERSHIP_COLUMNS)
    return engine.Inputs.from_rows(
        rows(scoped(SnapshotCustomer), CUSTOMER_COLUMNS),
        rows(scoped(SnapshotLine, dated=True), LINE_COLUMNS),
        rows(scoped(SnapshotAssignment, dated=True), ASSIGNMENT_COLUMNS),
        memberships,
        first_days,
        rates=frozen_rates(version),
    )


@dataclass
class LiveRows:
    """Some customers' rows as the live tables hold them (money in cents), and every membership."""

    customers: list[tuple]
    lines: list[tuple]
    assignments: list[tuple]
    memberships: list[tuple]

    def inputs(self, rates: calendar.Rates | None = None) -> engine.Inputs:
        """``rates``: those of the version the run adds to (by default the live ones)."""
        rates = FxRate.live_rates() if rates is None else rates
        return engine.Inputs.from_rows(self.customers, self.lines, self.assignments, self.memberships, rates=rates)


def live_memberships() -> list[tuple]:
    return list(TeamMembership.objects.values_list(*MEMBERSHIP_COLUMNS))


def live_rows(customer_ids: Collection[int], memberships: list[tuple]) -> LiveRows:
    """Read once: the memberships a run compares, computes with and freezes must be the same."""
    rows = LiveRows([], [], [], memberships)
    for chunk in _chunks(customer_ids):
        rows.customers += Customer.objects.filter(id__in=chunk).values_list("id", *CUSTOMER_COLUMNS[1:])
        rows.lines += [
            (c, p, s, e, cents(arr), code)
            for c, p, s, e, arr, code in ContractLine.objects.filter(customer_id__in=chunk).values_list(
                *LINE_COLUMNS[:-2], "arr", "currency"
            )
        ]
        rows.assignments += Assignment.objects.filter(customer_id__in=chunk).values_list(*ASSIGNMENT_COLUMNS)
    return rows


def frozen_memberships(version: int) -> set[tuple]:
    return set(SnapshotMembership.objects.filter(version=version).values_list(*MEMBERSHIP_COLUMNS))


def customers_of_users(version: int, user_ids: Collection[int]) -> set[int]:
    """Customers assigned to these users, in the frozen or the live assignments."""
    ids = list(user_ids)
    frozen = SnapshotAssignment.objects.filter(version=version, user_id__in=ids).values_list("customer_id", flat=True)
    live = Assignment.objects.filter(user_id__in=ids).values_list("customer_id", flat=True)
    return set(frozen) | set(live)


def live_customer_ids() -> list[int]:
    return list(Customer.objects.order_by("id").values_list("id", flat=True))


def periods(first_day: date | None, as_of: date) -> list[calendar.Period]:
    """Every period from the month of the first revenue day to today's."""
    if first_day is None or first_day > as_of:
        return []
    return calendar.periods_between(first_day, as_of, settings.FISCAL_YEAR_START_MONTH)


def live_first_revenue_day() -> date | None:
    return ContractLine.objects.filter(arr__gt=0).aggregate(first=Min("start_date"))["first"]


def _chunks(ids: Collection[int]):
    ids = sorted(ids)
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]
