"""The accounts behind a figure, answered on demand from the snapshot inputs.

Snapshots hold aggregates only. The accounts behind a figure of one period and one scope are
computed here when asked, by one SQL query over the frozen inputs the figures were computed from
(``SnapshotCustomer``, ``SnapshotLine``, ``SnapshotAssignment``, ``SnapshotMembership`` of one
``version``), with the same semantics as ``metrics.engine.customer_movements`` for that period:

- per customer ``a = ARR(c, s-1)`` and ``b = ARR(c, l)``; a row where ``a > 0`` or ``b > 0``;
- cohort rows (``a > 0``) are churn / contraction / expansion / none; ``a = 0 < b`` is ``new``
  when the customer's first revenue day is on or after ``s``, else ``reactivation``;
- cross-sell of an expanding customer = ``min(b - a, ARR on l of its products with none on s-1)``;
- owners on day ``s`` per role, and each owner's team on day ``s``;
- tenure band from the whole months between the first revenue day and ``s``;
- product rows for every (customer, product) with ``ARR(c, p, s-1) > 0``.

Scopes narrow the customers before anything is summed (attribution is a property of the
customer on day ``s``), so an owner's, a team's or a product's page reads only its own lines.
Money is integer cents in SQL and ``Decimal`` here. Lines in another currency than the reporting
one convert in SQL at the frozen rate in force on ``s`` (both ends: constant currency), each line
rounded half up to the cent exactly as ``metrics.recompute.engine.convert_cents`` does, so the
rows add up to the figures to the cent. The SQL is plain (CTEs, CASE, correlated
subqueries, bound parameters) and runs on PostgreSQL and SQLite alike.

Public functions: ``account_rows`` (a sorted page), ``account_totals`` (sums over every
matching row), ``iter_account_rows`` (every row, streamed), ``top_movers``, ``owners_of_team``,
``team_of_owner`` and ``make_period``; ``Inputs.current()`` gives the version and the day to ask with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.models import Team, User
from metrics.currency import reporting_currency
from metrics.engine import ONE_DAY, RATE_SCALE, AccountFigures, Period, add_months, month_end
from metrics.models import (
    Customer,
    SnapshotAssignment,
    SnapshotCustomer,
    SnapshotFxRate,
    SnapshotLine,
    SnapshotMembership,
)
from metrics.queries import FIGURES, Figure, Scope, recompute_status
from metrics.vocabulary import (
    COHORT_MOVEMENTS,
    COMPANY,
    CUSTOMER_ATTRIBUTES,
    MONTH,
    MOVEMENTS,
    NO_CHANGE,
    OWNER,
    PRODUCT,
    QUARTER,
    ROLES,
    TEAM,
    TENURE,
    TENURE_BANDS,
    TTM,
    UNASSIGNED,
    UNKNOWN,
    YEAR,
)

ATTRIBUTES = CUSTOMER_ATTRIBUTES
# Sort keys: the row column (SQL alias) each sorts on.
SORTS = {
    "name": None,
    "external_id": None,
    "starting_arr": "{t}a",
    "ending_arr": "{t}b",
    "change": "{t}b - {t}a",
    "abs_change": "ABS({t}b - {t}a)",
    "movement": "{t}movement",
    # Looked up per row (decorated_select): the owner's email and its team's name on day s
    # ("unassigned" when none, as the pages show it), and the figure's amount of the row.
    "csm_owner": None,
    "csm_team": None,
    "am_owner": None,
    "am_team": None,
    "amount": None,
}
LOOKED_UP_SORTS = ("csm_owner", "csm_team", "am_owner", "am_team", "amount")
# Tables (read from the models, so a db_table change follows).
LINE = SnapshotLine._meta.db_table
ASSIGNMENT = SnapshotAssignment._meta.db_table
MEMBERSHIP = SnapshotMembership._meta.db_table
SNAP_CUSTOMER = SnapshotCustomer._meta.db_table
CUSTOMER = Customer._meta.db_table
USER = User._meta.db_table
TEAM_TABLE = Team._meta.db_table
PAGE_NAMES = {"name": "COALESCE(c.name, '')", "external_id": "COALESCE(c.external_id, '')"}
OUTER_NAMES = {"name": "o.sort_name", "external_id": "o.sort_external_id"}
PERIOD_MONTHS = {MONTH: 1, QUARTER: 3, YEAR: 12, TTM: 12}
CSV_FETCH_ROWS = 2000


# --- what is asked ------------------------------------------------------------------------


def make_period(granularity: str, start: date, as_of: date) -> Period:
    """The period of a snapshot row: ``start`` is its ``s`` (a TTM window's too), measured on
    ``min(calendar end, as_of)``."""
    end = add_months(start, PERIOD_MONTHS[granularity]) - ONE_DAY
    return Period(granularity, start, end, min(end, as_of))


@dataclass(frozen=True)
class Inputs:
    """What the accounts behind the figures are answered from: the frozen inputs' version and
    the day the figures were measured on (read once per request, inside its transaction).
    Before the first recompute: version 0 (no inputs, so no rows) measured on ``date.min``."""

    version: int
    as_of: date

    @classmethod
    def current(cls) -> Inputs:
        status, _ = recompute_status()
        return cls(status.input_version, status.as_of) if status and status.as_of else cls(0, date.min)

    def period(self, granularity: str, start: date) -> Period:
        return make_period(granularity, start, self.as_of)


@dataclass(frozen=True)
class Visible:
    """A visibility restriction: a row is visible when its csm_team or am_team is in
    ``team_ids``, or its csm_owner or am_owner is in ``owner_ids`` (None everywhere = everything)."""

    team_ids: frozenset[int] = frozenset()
    owner_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, visibility) -> Visible | None:
        """From ``metrics.scoping.Visibility``: None for those who see everything."""
        attribution = visibility.attribution()
        return None if attribution is None else cls(*attribution)


_ANY = object()


@dataclass(frozen=True)
class Filters:
    """Further narrowing, all of it ANDed (the API's filters). Owner and team filters take an id,
    or None for unassigned; leave them out (the default) for no filter."""

    customer_ids: frozenset[int] | None = None
    csm_owner_id: object = _ANY
    am_owner_id: object = _ANY
    csm_team_id: object = _ANY
    am_team_id: object = _ANY
    segment: str | None = None
    region: str | None = None
    industry: str | None = None
    use_case: str | None = None
    tenure_band: str | None = None
    product: str | None = None  # only rows of this product ('' = whole-customer rows only)
    search: str | None = None  # customers whose name or external id contains this (any letter case)


# --- what comes back ----------------------------------------------------------------------


def cents(value) -> Decimal:
    """Integer cents (or a numeric sum from PostgreSQL) as a two-place Decimal."""
    return Decimal(int(value or 0)).scaleb(-2)


@dataclass(frozen=True, slots=True)
class AccountRow(AccountFigures):
    """One customer (``product`` empty) or customer-product pair of one period."""

    granularity: str
    period_start: date
    period_end: date
    partial: bool
    customer_id: int
    customer_name: str
    external_id: str
    product: str
    starting_arr: Decimal
    ending_arr: Decimal
    cross_sell: Decimal
    movement: str
    csm_owner_id: int | None
    csm_team_id: int | None
    am_owner_id: int | None
    am_team_id: int | None
    segment: str
    region: str
    industry: str
    use_case: str
    tenure_band: str

    def amount(self, figure: Figure | str | None) -> Decimal | None:
        """This row's share of a money figure (None for rates and counts)."""
        figure = _figure(figure)
        return figure.amount(self) if figure is not None and figure.amount is not None else None


@dataclass(frozen=True)
class AccountTotals:
    """Sums over every matching row: what the list adds up to, to set beside the figure.

    ``amount`` is the figure's own total (None without a figure, or for rates and counts); the
    other fields are the retention row's figures as the matching rows give them. ``cross_sell``
    (and so ``upsell``) is None unless asked for or needed by the figure: it costs a second,
    slower pass (sums per customer and product).
    """

    accounts: int
    starting_arr: Decimal
    ending_arr: Decimal
    amount: Decimal | None
    expansion: Decimal
    cross_sell: Decimal | None
    contraction: Decimal
    churn: Decimal
    cohort_ending_arr: Decimal  # ending ARR of the rows with starting ARR (the snapshot's ending_arr)
    logos_start: int
    logos_churned: int
    new_arr: Decimal
    reactivation_arr: Decimal

    @property
    def upsell(self) -> Decimal | None:
        return None if self.cross_sell is None else self.expansion - self.cross_sell

    @property
    def nrr(self) -> Decimal | None:
        return self.cohort_ending_arr / self.starting_arr if self.starting_arr else None


# --- the SQL ------------------------------------------------------------------------------


class _Sql:
    """Bound parameters by name (``%(p0)s``): the SQL is assembled from pieces in any order."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.params: dict[str, int | str | date | None] = {}
        self._names: dict[tuple, str] = {}

    def p(self, value) -> str:
        if isinstance(value, date):
            value = self.connection.ops.adapt_datefield_value(value)
        key = (type(value), value)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"p{len(self._names)}"
            self.params[name] = value
        return f"%({name})s"

    def ids(self, values: Iterable[int]) -> str:
        values = sorted({int(v) for v in values})
        if not values:
            return "(NULL)"  # x IN (NULL) is never true
        return "(" + ", ".join(self.p(v) for v in values) + ")"


class _Query:
    """The pieces of one question: version, period, scope, figure, movement, visibility, filters."""

    def __init__(self, connection, version, period: Period, scope: Scope | None, figure, movement, visible, filters):
        self.q = _Sql(connection)
        self.version = int(version)
        self.period = period
        self.scope = scope
        self.figure = _figure(figure)
        self.movement = movement
        self.visible = visible
        self.filters = filters or Filters()
        self.units = rates_on(self.version, period.start, connection.alias)
        if movement is not None and movement not in MOVEMENTS:
            raise ValueError(f"Unknown movement {movement!r}.")
        if scope is not None and scope.type not in (COMPANY, TEAM, OWNER, PRODUCT, TENURE, *ATTRIBUTES):
            raise ValueError(f"Unknown scope type {scope.type!r}.")
        if scope is not None and scope.type in (TEAM, OWNER) and scope.role not in ROLES:
            raise ValueError(f"A {scope.type} scope needs role csm or am, not {scope.role!r}.")

    # -- money
    def amount(self, alias: str) -> str:
        """A line's ARR (SQL, alias of a SnapshotLine) in cents of the reporting currency at the
        rates in force on s: cents * units / 10**9 rounded half up, split as the engine splits it
        so that no product leaves 64 bits. Plain ``arr_cents`` when no line needs converting."""
        if not self.units:
            return f"{alias}.arr_cents"
        cents = f"{alias}.arr_cents"
        whens = []
        for code, units in sorted(self.units.items()):
            whole, fraction = divmod(units, RATE_SCALE)
            whens.append(
                f"WHEN {self.q.p(code)} THEN ({cents} * {whole} + ({cents} / {RATE_SCALE}) * {fraction} "
                f"+ (({cents} - ({cents} / {RATE_SCALE}) * {RATE_SCALE}) * {fraction} + {RATE_SCALE // 2}) / {RATE_SCALE})"
            )
        return f"(CASE {alias}.currency {' '.join(whens)} ELSE {cents} END)"

    # -- days
    @property
    def s(self) -> date:
        return self.period.start

    @property
    def before(self) -> date:
        return self.period.before_start

    @property
    def l(self) -> date:
        return self.period.measured_end

    # -- customer sets (conditions on a customer_id column)
    def _held_on_s(self, alias: str) -> str:
        p = self.q.p
        return (
            f"{alias}.version = {p(self.version)} AND {alias}.start_date <= {p(self.s)} "
            f"AND ({alias}.end_date IS NULL OR {alias}.end_date >= {p(self.s)})"
        )

    def _owned(self, role: str | None, owner_condition: str = "") -> str:
        """SELECT of the customers with an owner on day s (of the role, or either), the owner
        (alias sa) meeting ``owner_condition``."""
        role_sql = f" AND sa.role = {self.q.p(role)}" if role else " AND sa.role IN ('csm', 'am')"
        extra = f" AND ({owner_condition})" if owner_condition else ""
        return f"SELECT sa.customer_id FROM {ASSIGNMENT} sa WHERE {self._held_on_s('sa')}{role_sql}{extra}"

    def _in_team(self, team_condition: str) -> str:
        """An owner condition: the owner (sa.user_id) was in a team meeting the condition on s."""
        where = f" AND {team_condition}" if team_condition else ""
        return (
            f"EXISTS (SELECT 1 FROM {MEMBERSHIP} sm WHERE sm.user_id = sa.user_id AND {self._held_on_s('sm')}{where})"
        )

    def _owner_condition(self, column: str, role: str, owner_id) -> str:
        if owner_id is None:
            return f"{column} NOT IN ({self._owned(role)})"
        return f"{column} IN ({self._owned(role, f'sa.user_id = {self.q.p(int(owner_id))}')})"

    def _team_condition(self, column: str, role: str, team_id) -> str:
        if team_id is None:  # no owner on s, or an owner outside every team on s
            return f"{column} NOT IN ({self._owned(role, self._in_team(''))})"
        return f"{column} IN ({self._owned(role, self._in_team(f'sm.team_id = {self.q.p(int(team_id))}'))})"

    def _attribute_condition(self, column: str, attribute: str, value: str) -> str:
        p = self.q.p
        if value == UNKNOWN:  # an empty value, a literal 'unknown', or no customer row at all
            known = (
                f"SELECT sc.customer_id FROM {SNAP_CUSTOMER} sc WHERE sc.version = {p(self.version)} "
                f"AND sc.{attribute} <> '' AND sc.{attribute} <> {p(UNKNOWN)}"
            )
            return f"{column} NOT IN ({known})"
        return (
            f"{column} IN (SELECT sc.customer_id FROM {SNAP_CUSTOMER} sc "
            f"WHERE sc.version = {p(self.version)} AND sc.{attribute} = {p(value)})"
        )

    def _search_condition(self, column: str, text: str) -> str:
        """Customers whose name or external id contains ``text``, in any letter case (LIKE with
        its wildcards escaped)."""
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = self.q.p(f"%{escaped}%")
        return (
            f"{column} IN (SELECT sc.id FROM {CUSTOMER} sc WHERE LOWER(sc.name) LIKE {pattern} ESCAPE '\\' "
            f"OR LOWER(sc.external_id) LIKE {pattern} ESCAPE '\\')"
        )

    def _band_sql(self, first_day: str) -> str:
        """The tenure band on s of a customer whose first revenue day is the SQL ``first_day``.

        ``whole months from f to s >= k`` is ``f <= s minus k months`` (day clamped to the month's
        end), so the bands are plain date comparisons that both databases do alike.
        """
        cases = " ".join(
            f"WHEN {first_day} <= {self.q.p(_months_before(self.s, k))} THEN '{label}'"
            for k, label in TENURE_BANDS
            if k > 0
        )
        return f"CASE {cases} ELSE '0-6' END"

    def _tenure_condition(self, column: str, band: str) -> str:
        p = self.q.p
        return (
            f"{column} IN (SELECT fl.customer_id FROM {LINE} fl WHERE fl.version = {p(self.version)} "
            f"AND fl.arr_cents > 0 GROUP BY fl.customer_id HAVING {self._band_sql('MIN(fl.start_date)')} = {p(band)})"
        )

    def _visible_condition(self, column: str) -> str:
        v = self.visible
        owners = f"sa.user_id IN {self.q.ids(v.owner_ids)}"
        teams = self._in_team(f"sm.team_id IN {self.q.ids(v.team_ids)}")
        return f"{column} IN ({self._owned(None, f'{owners} OR {teams}')})"

    @property
    def bands(self) -> set[str]:
        """The tenure bands the scope and the filters ask for (each must hold)."""
        bands = set()
        if self.scope is not None and self.scope.type == "tenure":
            bands.add(self.scope.key)
        if self.filters.tenure_band is not None:
            bands.add(self.filters.tenure_band)
        return bands

    def customer_conditions(self, column: str, with_tenure: bool = True) -> list[str]:
        """Conditions on the customer that the scope, visibility and filters put (on day s);
        without the tenure band's when the caller checks it in its own pass."""
        conditions = []
        scope = self.scope
        if scope is not None:
            if scope.type == OWNER:
                conditions.append(self._owner_condition(column, scope.role, scope.object_id))
            elif scope.type == TEAM:
                conditions.append(self._team_condition(column, scope.role, scope.object_id))
            elif scope.type in ATTRIBUTES:
                conditions.append(self._attribute_condition(column, scope.type, scope.key))

        if self.visible is not None:
            conditions.append(self._visible_condition(column))
        f = self.filters
        if f.customer_ids is not None:
            conditions.append(f"{column} IN {self.q.ids(f.customer_ids)}")
        for role in ROLES:
            owner_id, team_id = getattr(f, f"{role}_owner_id"), getattr(f, f"{role}_team_id")
            if owner_id is not _ANY:
                conditions.append(self._owner_condition(column, role, owner_id))
            if team_id is not _ANY:
                conditions.append(self._team_condition(column, role, team_id))
        if f.search:
            conditions.append(self._search_condition(column, f.search))
        for attribute in ATTRIBUTES:
            if getattr(f, attribute) is not None:
                conditions.append(self._attribute_condition(column, attribute, getattr(f, attribute)))
        if with_tenure:
            conditions += [self._tenure_condition(column, band) for band in sorted(self.bands)]
        return conditions

    # -- the rows
    @property
    def kinds(self) -> tuple[bool, bool]:
        """Whether whole-customer rows and product rows are wanted."""
        scope_type = self.scope.type if self.scope is not None else None
        wanted_product = self.filters.product
        whole = scope_type != "product" and wanted_product in (None, "")
        products = (scope_type in ("product", None)) and wanted_product != ""
        return whole, products

    @property
    def cohort_only(self) -> bool:
        """Every scope but the company's counts only its cohort (starting ARR above zero)."""
        return self.scope is not None and self.scope.type not in (COMPANY, PRODUCT)

    @property
    def wanted(self) -> frozenset[str]:
        """The movement kinds the figure and the movement asked for let through."""
        wanted = set(MOVEMENTS)
        if self.figure is not None:
            wanted &= set(self.figure.movements)
        if self.movement is not None:
            wanted &= {self.movement}
        return frozenset(wanted)

    def _having(self, a: str, b: str) -> str:
        """Which customers get a whole-customer row: a > 0 or b > 0, narrowed up front to the
        cohort (or to those outside it) when the scope or the movements asked for allow no other."""
        wanted = self.wanted
        if not wanted:
            return "1 = 0"
        if self.cohort_only or wanted <= COHORT_MOVEMENTS:
            return f"{a} > 0"
        if not wanted & COHORT_MOVEMENTS:
            return f"{a} = 0 AND {b} > 0"
        return f"{a} > 0 OR {b} > 0"

    def _movement(self, a: str, b: str, customer_id: str) -> str:
        """The movement of a whole-customer row, at the level that sums a and b (computed once a
        row; the first-revenue lookup runs only for rows outside the cohort)."""
        p = self.q.p
        first_before_s = (
            f"EXISTS (SELECT 1 FROM {LINE} fl WHERE fl.version = {p(self.version)} AND fl.customer_id = {customer_id} "
            f"AND fl.arr_cents > 0 AND fl.start_date < {p(self.s)})"
        )
        return f"CASE WHEN {a} > 0 THEN {_classify(a, b)} WHEN {first_before_s} THEN 'reactivation' ELSE 'new' END"

    def rows_cte(self, with_cross_sell: bool) -> tuple[str, bool]:
        """``WITH ... rows AS (...)``: customer_id, product, a, b, x (cross-sell), movement; and
        whether x is there (else it is 0 in the rows, looked up for the page's rows only).

        Whole-customer rows alone need one pass summing each customer's lines; cross-sell and
        product rows need the sums per (customer, product) first, which costs about four times
        as much, so that pass runs only when they are asked for.
        """
        p = self.q.p
        whole, products = self.kinds
        if not whole and not products:  # e.g. a product filter on a whole-customer scope: no rows
            return (
                "WITH rows AS (SELECT 0 AS customer_id, '' AS product, 0 AS a, 0 AS b, 0 AS x, '' AS movement WHERE 1 = 0)",
                True,
            )
        # A tenure band is a customer's first revenue day, read from all of its lines: for
        # whole-customer rows the same pass sums a and b over them (cheaper than a second pass).
        tenure_here = bool(self.bands) and not products
        line_where = [f"l.version = {p(self.version)}", "l.arr_cents > 0"]
        if tenure_here:
            a_part = f"CASE WHEN {_running('l', p(self.before))} THEN {self.amount('l')} ELSE 0 END"
            b_part = f"CASE WHEN {_running('l', p(self.l))} THEN {self.amount('l')} ELSE 0 END"
        else:
            # Only lines reaching back to s-1 or on to l: each adds to a (running on s-1), to b (on l), or both.
            line_where += [f"l.start_date <= {p(self.l)}", f"(l.end_date IS NULL OR l.end_date >= {p(self.before)})"]
            a_part = f"CASE WHEN l.start_date <= {p(self.before)} THEN {self.amount('l')} ELSE 0 END"
            b_part = f"CASE WHEN l.end_date IS NULL OR l.end_date >= {p(self.l)} THEN {self.amount('l')} ELSE 0 END"
        product = self.scope.key if self.scope is not None and self.scope.type == "product" else self.filters.product
        if product and not whole:
            line_where.append(f"l.product = {p(product)}")
        line_where += self.customer_conditions("l.customer_id", with_tenure=not tenure_here)
        where = " AND ".join(line_where)

        def having(a: str, b: str, first_day: str) -> str:
            conditions = [f"({self._having(a, b)})"]
            if tenure_here:
                conditions += [f"{self._band_sql(first_day)} = {p(band)}" for band in sorted(self.bands)]
            return " AND ".join(conditions)

        if whole and not products and not with_cross_sell:
            a, b = f"SUM({a_part})", f"SUM({b_part})"
            rows = (
                f"SELECT l.customer_id, '' AS product, {a} AS a, {b} AS b, 0 AS x, "
                f"{self._movement(a, b, 'l.customer_id')} AS movement "
                f"FROM {LINE} l WHERE {where} GROUP BY l.customer_id HAVING {having(a, b, 'MIN(l.start_date)')}"
            )
            return f"WITH rows AS ({rows})", False

        pairs = (
            f"SELECT l.customer_id, l.product, SUM({a_part}) AS pa, SUM({b_part}) AS pb, MIN(l.start_date) AS first_day "
            f"FROM {LINE} l WHERE {where} GROUP BY l.customer_id, l.product"
        )
        parts = []
        if whole:
            a, b = "SUM(pairs.pa)", "SUM(pairs.pb)"
            new_products = "SUM(CASE WHEN pairs.pa = 0 THEN pairs.pb ELSE 0 END)"
            cross_sell = f"CASE WHEN {a} > 0 AND {b} > {a} THEN (CASE WHEN {b} - {a} < {new_products} THEN {b} - {a} ELSE {new_products} END) ELSE 0 END"
            parts.append(
                f"SELECT pairs.customer_id, '' AS product, {a} AS a, {b} AS b, {cross_sell} AS x, "
                f"{self._movement(a, b, 'pairs.customer_id')} AS movement "
                f"FROM pairs GROUP BY pairs.customer_id HAVING {having(a, b, 'MIN(pairs.first_day)')}"
            )
        if products:
            product_where = f" AND pairs.product = {p(product)}" if product else ""
            parts.append(
                f"SELECT pairs.customer_id, pairs.product, pairs.pa AS a, pairs.pb AS b, 0 AS x, "
                f"{_classify('pairs.pa', 'pairs.pb')} AS movement FROM pairs WHERE pairs.pa > 0{product_where}"
            )
        return f"WITH pairs AS ({pairs}), rows AS ({' UNION ALL '.join(parts)})", True

    def movement_where(self, alias: str) -> str:
        """The condition for the movements asked for. Cohort movements are comparisons of a and
        b; only new and reactivation read the movement column (and its first-revenue lookup)."""
        wanted = self.wanted
        if wanted == frozenset(MOVEMENTS):
            return ""
        if wanted == COHORT_MOVEMENTS:
            return f"{alias}.a > 0"
        if wanted == frozenset({"new", "reactivation"}):
            return f"{alias}.a = 0"
        a, b = f"{alias}.a", f"{alias}.b"
        conditions = {
            "expansion": f"{a} > 0 AND {b} > {a}",
            "contraction": f"{b} > 0 AND {b} < {a}",
            "churn": f"{a} > 0 AND {b} = 0",
            "none": f"{a} > 0 AND {b} = {a}",
            "new": f"{a} = 0 AND {alias}.movement = 'new'",
            "reactivation": f"{a} = 0 AND {alias}.movement = 'reactivation'",
        }
        return "(" + " OR ".join(f"({conditions[m]})" for m in MOVEMENTS if m in wanted) + ")" if wanted else "1 = 0"

    def decorated_select(self, sort: Iterable[str], limit: int | None, offset: int, with_totals: bool = False) -> str:
        """Rows in order, paged; names, owners, teams, attributes and tenure are looked up (by
        index) for the page's rows only, after the limit. ``with_totals``: each row also carries
        the count and sums over every matching row (window sums, taken before the limit: the
        page and its totals in one pass over the lines)."""
        p = self.q.p
        sort = list(sort)
        keys = {key.removeprefix("-") for key in sort}
        looked_up = self.sort_columns(keys)
        # A cross-sell or upsell amount needs x in the rows to sort on (else it is looked up after the limit).
        x_sorted = "amount" in keys and "r.x" in looked_up["amount"]
        cte, has_cross_sell = self.rows_cte(with_cross_sell=limit is None or x_sorted)
        page_names = {**PAGE_NAMES, **{key: f"sort_{key}" for key in looked_up}}
        outer_names = {**OUTER_NAMES, **{key: f"o.sort_{key}" for key in looked_up}}
        needs_customer = any(key.removeprefix("-") in ("name", "external_id") for key in sort)
        join = f" LEFT JOIN {CUSTOMER} c ON c.id = r.customer_id" if needs_customer else ""
        names = (
            ", COALESCE(c.name, '') AS sort_name, COALESCE(c.external_id, '') AS sort_external_id"
            if needs_customer
            else ""
        )
        names += "".join(f", {sql} AS sort_{key}" for key, sql in looked_up.items())
        where = self.movement_where("r")
        if with_totals:
            amount = _AMOUNTS.get(self.figure.name) if self.figure is not None else None
            names += (
                ", COUNT(*) OVER () AS total_count, SUM(r.a) OVER () AS total_a, SUM(r.b) OVER () AS total_b, "
                f"{f'SUM({amount}) OVER ()' if amount else 'NULL'} AS total_amount"
            )
        page = (
            f"SELECT r.customer_id, r.product, r.a, r.b, r.x, r.movement{names} FROM rows r{join}"
            f"{' WHERE ' + where if where else ''} ORDER BY {order_by(sort, 'r.', page_names)}"
        )
        if limit is not None:
            page += f" LIMIT {p(int(limit))} OFFSET {p(int(offset))}"

        def owner(role):
            return (
                f"(SELECT sa.user_id FROM {ASSIGNMENT} sa WHERE sa.customer_id = pg.customer_id AND sa.role = '{role}' "
                f"AND {self._held_on_s('sa')} ORDER BY sa.start_date LIMIT 1) AS {role}_owner_id"
            )

        def team(role):
            return (
                f"(SELECT sm.team_id FROM {MEMBERSHIP} sm WHERE sm.user_id = o.{role}_owner_id "
                f"AND {self._held_on_s('sm')} ORDER BY sm.start_date LIMIT 1)"
            )

        first_day = (
            f"(SELECT MIN(fl.start_date) FROM {LINE} fl WHERE fl.version = {p(self.version)} "
            f"AND fl.customer_id = pg.customer_id AND fl.arr_cents > 0)"
        )
        attributes = ", ".join(
            f"CASE WHEN sc.{name} IS NULL OR sc.{name} = '' THEN '{UNKNOWN}' ELSE sc.{name} END" for name in ATTRIBUTES
        )
        # Cross-sell of an expanding customer: min(b - a, ARR on l of its products with none on s-1).
        new_products = (
            f"CASE WHEN pg.a > 0 AND pg.b > pg.a AND pg.product = '' THEN (SELECT COALESCE(SUM({self.amount('nl')}), 0) "
            f"FROM {LINE} nl WHERE nl.version = {p(self.version)} AND nl.customer_id = pg.customer_id "
            f"AND nl.arr_cents > 0 AND nl.start_date <= {p(self.l)} AND (nl.end_date IS NULL OR nl.end_date >= {p(self.l)}) "
            f"AND NOT EXISTS (SELECT 1 FROM {LINE} ol WHERE ol.version = {p(self.version)} AND ol.customer_id = nl.customer_id "
            f"AND ol.product = nl.product AND {self.amount('ol')} > 0 AND ol.start_date <= {p(self.before)} "
            f"AND (ol.end_date IS NULL OR ol.end_date >= {p(self.before)}))) ELSE 0 END"
        )
        cross_sell = (
            "o.x"
            if has_cross_sell
            else (
                "CASE WHEN o.a > 0 AND o.b > o.a THEN (CASE WHEN o.b - o.a < o.newp THEN o.b - o.a ELSE o.newp END) ELSE 0 END"
            )
        )
        owners = (
            f"SELECT pg.*, {owner('csm')}, {owner('am')}, {self._band_sql(first_day)} AS tenure_band"
            f"{'' if has_cross_sell else f', {new_products} AS newp'} FROM ({page}) pg"
        )
        return (
            f"{cte} SELECT o.customer_id, o.product, o.a, o.b, {cross_sell}, o.movement, COALESCE(cu.name, ''), "
            f"COALESCE(cu.external_id, ''), o.csm_owner_id, {team('csm')}, o.am_owner_id, {team('am')}, {attributes}, "
            f"o.tenure_band{', o.total_count, o.total_a, o.total_b, o.total_amount' if with_totals else ''} FROM ({owners}) o "
            f"LEFT JOIN {CUSTOMER} cu ON cu.id = o.customer_id "
            f"LEFT JOIN {SNAP_CUSTOMER} sc ON sc.version = {p(self.version)} AND sc.customer_id = o.customer_id "
            f"ORDER BY {order_by(sort, 'o.', outer_names)}"
        )

    def sort_columns(self, keys: set[str]) -> dict[str, str]:
        """SQL (over a row ``r``) of the sort keys looked up per row: an owner's email or its team's
        name on day s ("unassigned" when none), the figure's amount of the row."""
        p = self.q.p
        columns = {}
        for role in ROLES:
            held = (
                f"FROM {ASSIGNMENT} sa {{join}} WHERE sa.customer_id = r.customer_id AND sa.role = {p(role)} "
                f"AND {self._held_on_s('sa')} ORDER BY sa.start_date{{then}} LIMIT 1"
            )
            if f"{role}_owner" in keys:
                email = held.format(join=f"JOIN {USER} u ON u.id = sa.user_id", then="")
                columns[f"{role}_owner"] = f"COALESCE((SELECT u.email {email}), {p(UNASSIGNED)})"
            if f"{role}_team" in keys:
                name = held.format(
                    join=f"JOIN {MEMBERSHIP} sm ON sm.user_id = sa.user_id AND {self._held_on_s('sm')} "
                    f"JOIN {TEAM_TABLE} t ON t.id = sm.team_id",
                    then=", sm.start_date",
                )
                columns[f"{role}_team"] = f"COALESCE((SELECT t.name {name}), {p(UNASSIGNED)})"
        if "amount" in keys:
            amount = _AMOUNTS.get(self.figure.name) if self.figure is not None else None
            if amount is None:
                raise ValueError("Sorting by amount needs a money figure (its amount of each row).")
            columns["amount"] = f"({amount})"
        return columns

    def totals_select(self, with_cross_sell: bool) -> str:
        cte, _ = self.rows_cte(with_cross_sell)
        where = self.movement_where("r")
        amount = _AMOUNTS.get(self.figure.name) if self.figure is not None else None

        def total(condition: str, value: str) -> str:
            return f"SUM(CASE WHEN {condition} THEN {value} ELSE 0 END)"

        columns = [
            "COUNT(*)",
            "SUM(r.a)",
            "SUM(r.b)",
            f"SUM({amount})" if amount else "NULL",
            total("r.a > 0 AND r.b > r.a", "r.b - r.a"),
            "SUM(r.x)" if with_cross_sell else "NULL",
            total("r.b > 0 AND r.b < r.a", "r.a - r.b"),
            total("r.a > 0 AND r.b = 0", "r.a"),
            total("r.a > 0", "r.b"),
            total("r.a > 0", "1"),
            total("r.a > 0 AND r.b = 0", "1"),
            total("r.a = 0 AND r.movement = 'new'", "r.b"),
            total("r.a = 0", "r.b"),  # new and reactivation: reactivation is this minus new
        ]
        return f"{cte} SELECT {', '.join(columns)} FROM rows r{' WHERE ' + where if where else ''}"


def rates_on(version: int, day: date, using: str = "default") -> dict[str, int]:
    """currency -> rate (units of 10**-9) in force on ``day`` among a version's frozen rates
    (the earliest of a currency for the days before it); the reporting currency never converts."""
    rows = (
        SnapshotFxRate.objects.using(using)
        .filter(version=version)
        .exclude(currency=reporting_currency())
        .order_by("currency", "valid_from")
        .values_list("currency", "valid_from", "rate_units")
    )
    units: dict[str, int] = {}
    for code, valid_from, rate in rows:
        if valid_from <= day or code not in units:
            units[code] = int(rate)
    return units


def _running(alias: str, day: str) -> str:
    """A line (alias) runs on the day (SQL): started, and not ended before it."""
    return f"{alias}.start_date <= {day} AND ({alias}.end_date IS NULL OR {alias}.end_date >= {day})"


def _classify(a: str, b: str) -> str:
    return f"(CASE WHEN {b} = 0 THEN 'churn' WHEN {b} < {a} THEN 'contraction' WHEN {b} > {a} THEN 'expansion' ELSE 'none' END)"


# Each money figure's amount of a row (r.a starting, r.b ending, r.x cross-sell), as FIGURES.
_AMOUNTS = {
    "starting_arr": "r.a",
    "new_arr": "r.b",
    "reactivation_arr": "r.b",
    "expansion": "r.b - r.a",
    "upsell": "r.b - r.a - r.x",
    "cross_sell": "r.x",
    "contraction": "r.a - r.b",
    "churn": "r.a",
    "ending_arr": "r.b",
    "arr_end": "r.b",
}


def _months_before(day: date, months: int) -> date:
    """``day`` moved back ``months`` months, the day of the month clamped to the month's end."""
    first = add_months(day, -months)
    return first.replace(day=min(day.day, month_end(first).day))


def _figure(figure) -> Figure | None:
    if figure is None or isinstance(figure, Figure):
        return figure
    try:
        return FIGURES[figure]
    except KeyError:
        raise ValueError(f"Unknown figure {figure!r}.") from None


def check_sort(sort: str) -> str:
    if sort.removeprefix("-") not in SORTS:
        raise ValueError(f"Unknown sort {sort!r}; use one of {', '.join(SORTS)} (with - for descending).")
    return sort


def order_by(sort: Iterable[str], row: str, names: dict[str, str]) -> str:
    """ORDER BY the sort keys (``-`` first: descending), ties by customer_id then product.

    ``row`` prefixes the row columns (``r.``); ``names`` gives the SQL of name and external_id.
    """
    parts = []
    for key in sort:
        name = check_sort(key).removeprefix("-")
        expression = names[name] if name in names else cast(str, SORTS[name]).format(t=row)  # None: a name, in names
        parts.append(expression + (" DESC" if key.startswith("-") else ""))
    return ", ".join([*parts, f"{row}customer_id", f"{row}product"])


def _row(period: Period, record) -> AccountRow:
    (
        customer_id,
        product,
        a,
        b,
        x,
        movement,
        name,
        external_id,
        csm_owner,
        csm_team,
        am_owner,
        am_team,
        segment,
        region,
        industry,
        use_case,
        band,
    ) = record[:17]
    return AccountRow(
        granularity=period.granularity,
        period_start=period.start,
        period_end=period.end,
        partial=period.partial,
        customer_id=int(customer_id),
        customer_name=name,
        external_id=external_id,
        product=product,
        starting_arr=cents(a),
        ending_arr=cents(b),
        cross_sell=cents(x),
        movement=movement,
        csm_owner_id=_id(csm_owner),
        csm_team_id=_id(csm_team),
        am_owner_id=_id(am_owner),
        am_team_id=_id(am_team),
        segment=segment,
        region=region,
        industry=industry,
        use_case=use_case,
        tenure_band=band,
    )


def _id(value) -> int | None:
    return None if value is None else int(value)


# --- running them -------------------------------------------------------------------------


@contextmanager
def _without_jit(connection):
    """On PostgreSQL, no JIT compilation for the query run inside (the setting is put back after).

    The planner's cost for the correlated lookups lifts these 100 ms queries over
    ``jit_above_cost``, and compiling them took longer (about 15-50 ms) than it saved.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', false)")
        previous = cursor.fetchone()[0]

    def put_back():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, false)", [previous])

    try:
        yield
    except Exception:
        # In a transaction, its rollback undoes the SET (and the connection takes no query now).
        if not connection.in_atomic_block:
            put_back()
        raise
    put_back()


def _fetch(connection, sql: str, params: dict, one: bool = False):
    with _without_jit(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if one else cursor.fetchall()


# --- the public functions -----------------------------------------------------------------


def account_rows(
    version: int,
    period: Period,
    scope: Scope | None,
    *,
    figure: Figure | str | None = None,
    movement: str | None = None,
    visible: Visible | None = None,
    filters: Filters | None = None,
    sort: str = "name",
    limit: int | None = 50,
    offset: int = 0,
    using: str = "default",
) -> list[AccountRow]:
    """One page of the account rows behind a scope's figures for one period, sorted.

    ``scope`` None: every row of the period, whole-customer and product rows alike. ``figure``
    narrows to its movements (FIGURES), ``movement`` to one kind, ``visible`` to what a user may
    see, ``filters`` further. ``sort``: name (default), external_id, starting_arr, ending_arr,
    change or abs_change, ``-`` first for descending; ties by customer_id then product.
    """
    if offset and limit is None:
        raise ValueError("An offset needs a limit.")
    connection = connections[using]
    query = _Query(connection, version, period, scope, figure, movement, visible, filters)
    sql = query.decorated_select([check_sort(sort)], limit, offset)
    return [_row(period, record) for record in _fetch(connection, sql, query.q.params)]


@dataclass(frozen=True)
class PageTotals:
    """What every matching row adds up to, as a drill-down page shows it beside the figure."""

    accounts: int
    starting_arr: Decimal
    ending_arr: Decimal
    amount: Decimal | None


def account_page(
    version: int,
    period: Period,
    scope: Scope | None,
    *,
    figure: Figure | str | None = None,
    movement: str | None = None,
    visible: Visible | None = None,
    filters: Filters | None = None,
    sort: str = "name",
    limit: int = 50,
    offset: int = 0,
    using: str = "default",
) -> tuple[list[AccountRow], PageTotals]:
    """A page of ``account_rows`` and the totals over all its pages, from one query (a drill-down
    page). The cross-sell and upsell figures, and a page past the end, take a second query."""
    connection = connections[using]
    query = _Query(connection, version, period, scope, figure, movement, visible, filters)
    if query.figure is not None and query.figure.name in ("cross_sell", "upsell"):
        rows = account_rows(
            version,
            period,
            scope,
            figure=figure,
            movement=movement,
            visible=visible,
            filters=filters,
            sort=sort,
            limit=limit,
            offset=offset,
            using=using,
        )
        whole = account_totals(
            version, period, scope, figure=figure, movement=movement, visible=visible, filters=filters, using=using
        )
        return rows, PageTotals(whole.accounts, whole.starting_arr, whole.ending_arr, whole.amount)
    records = _fetch(
        connection, query.decorated_select([check_sort(sort)], limit, offset, with_totals=True), query.q.params
    )
    if not records:
        whole = account_totals(
            version, period, scope, figure=figure, movement=movement, visible=visible, filters=filters, using=using
        )
        return [], PageTotals(whole.accounts, whole.starting_arr, whole.ending_arr, whole.amount)
    count, a, b, amount = records[0][17:21]
    with_amount = query.figure is not None and query.figure.amount is not None
    totals = PageTotals(int(count), cents(a), cents(b), cents(amount) if with_amount else None)
    return [_row(period, record) for record in records], totals


def account_totals(
    version: int,
    period: Period,
    scope: Scope | None,
    *,
    figure: Figure | str | None = None,
    movement: str | None = None,
    visible: Visible | None = None,
    filters: Filters | None = None,
    with_cross_sell: bool = False,
    using: str = "default",
) -> AccountTotals:
    """What every row ``account_rows`` would list (all pages) adds up to; ``cross_sell`` only
    with ``with_cross_sell`` or for the cross-sell and upsell figures."""
    connection = connections[using]
    query = _Query(connection, version, period, scope, figure, movement, visible, filters)
    with_cross_sell = with_cross_sell or (query.figure is not None and query.figure.name in ("cross_sell", "upsell"))
    sql = query.totals_select(with_cross_sell)
    record = _fetch(connection, sql, query.q.params, one=True)
    (count, a, b, amount, expansion, cross_sell, contraction, churn, cohort_b, logos, churned, new, outside) = record
    figure_object = query.figure
    return AccountTotals(
        accounts=int(count or 0),
        starting_arr=cents(a),
        ending_arr=cents(b),
        amount=cents(amount) if figure_object is not None and figure_object.amount is not None else None,
        expansion=cents(expansion),
        cross_sell=cents(cross_sell) if with_cross_sell else None,
        contraction=cents(contraction),
        churn=cents(churn),
        cohort_ending_arr=cents(cohort_b),
        logos_start=int(logos or 0),
        logos_churned=int(churned or 0),
        new_arr=cents(new),
        reactivation_arr=cents(outside) - cents(new),
    )


def iter_account_rows(
    version: int,
    period: Period,
    scope: Scope | None,
    *,
    figure: Figure | str | None = None,
    movement: str | None = None,
    visible: Visible | None = None,
    filters: Filters | None = None,
    sort: str = "name",
    chunk_size: int = CSV_FETCH_ROWS,
    using: str = "default",
) -> Iterator[AccountRow]:
    """Every row, sorted, read through a server-side cursor (PostgreSQL) in chunks: for a
    streamed CSV, never all in memory. Consume it inside one request (or transaction)."""
    connection = connections[using]
    query = _Query(connection, version, period, scope, figure, movement, visible, filters)
    sql = query.decorated_select([check_sort(sort)], None, 0)
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    cursor = connection.chunked_cursor() if server_side else connection.cursor()
    try:
        cursor.execute(sql, query.q.params)
        while True:
            records = cursor.fetchmany(chunk_size)
            if not records:
                return
            for record in records:
                yield _row(period, record)
    finally:
        cursor.close()


def top_movers(
    version: int,
    period: Period,
    scope: Scope,
    *,
    count: int = 5,
    figure: Figure | str | None = "starting_arr",
    visible: Visible | None = None,
    using: str = "default",
) -> list[AccountRow]:
    """The accounts whose ARR changed the most, either way (ties by name), among the figure's rows."""
    connection = connections[using]
    query = _Query(connection, version, period, scope, figure, None, visible, None)
    # The movements that change ARR: "none" rows never move.
    moved = [m for m in (query.figure.movements if query.figure else MOVEMENTS) if m != NO_CHANGE]
    query.figure = Figure("moved", "", tuple(moved), None)
    sql = query.decorated_select(["-abs_change", "name"], count, 0)
    return [_row(period, record) for record in _fetch(connection, sql, query.q.params)]


@dataclass(frozen=True)
class NativeAmount:
    """Part of an account's ARR on one day in its own currency, and the rate it converts at."""

    currency: str
    amount: Decimal  # in ``currency``
    rate: Decimal  # reporting currency per unit, in force on the period's first day


def native_amounts(
    version: int, period: Period, keys: Iterable[tuple[int, str]], using: str = "default"
) -> dict[tuple[int, str], tuple[list[NativeAmount], list[NativeAmount]]]:
    """For each (customer id, product; '' = the whole customer) of a page: its lines in other
    currencies than the reporting one, summed per currency on s-1 and on l, in their own currency
    (one query, for the page's customers only). Accounts with none are left out."""
    keys = list(keys)
    units = rates_on(version, period.start, using)
    if not keys or not units:
        return {}
    lines = (
        SnapshotLine.objects.using(using)
        .filter(version=version, customer_id__in={c for c, _ in keys}, currency__in=list(units), arr_cents__gt=0)
        .values_list("customer_id", "product", "start_date", "end_date", "arr_cents", "currency")
    )
    wanted = set(keys)
    sums: dict[tuple[int, str], tuple[dict, dict]] = {}
    for customer_id, product, start, end, cents_, code in lines:
        for key in ((customer_id, ""), (customer_id, product)):
            if key not in wanted:
                continue
            before, after = sums.setdefault(key, ({}, {}))
            for day, into in ((period.before_start, before), (period.measured_end, after)):
                if start <= day and (end is None or day <= end):
                    into[code] = into.get(code, 0) + cents_

    def shown(by_code: dict) -> list[NativeAmount]:
        return [
            NativeAmount(code, cents(total), Decimal(units[code]).scaleb(-9).normalize())
            for code, total in sorted(by_code.items())
        ]

    return {key: (shown(before), shown(after)) for key, (before, after) in sums.items() if before or after}


def arr_today(version: int, as_of: date, using: str = "default") -> Decimal | None:
    """The company's ARR on ``as_of`` with every line at the rates in force that day ("ARR today",
    SPEC section 7), from the frozen inputs; None when no line converts (then it is the current
    month's ARR at period end, to the cent)."""
    connection = connections[using]
    query = _Query(connection, version, Period("month", as_of, as_of, as_of), None, None, None, None, None)
    if not query.units:
        return None
    p = query.q.p
    sql = (
        f"SELECT SUM({query.amount('l')}) FROM {LINE} l WHERE l.version = {p(query.version)} AND l.arr_cents > 0 "
        f"AND {_running('l', p(as_of))}"
    )
    (total,) = _fetch(connection, sql, query.q.params, one=True)
    return cents(total)
