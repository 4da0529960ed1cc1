"""The metric engine: SPEC section 3 as plain Python over plain data.

No ORM here. Callers (``metrics.snapshots``) load rows into the dataclasses below, and write
what comes out. Money is ``Decimal`` throughout; rates are quantized to four decimals. Lines in other
currencies than the reporting one convert with ``Rates`` (SPEC section 7): at the rate in force
on a period's first day for both of its ends, on a case's own day for a case; each line rounded
once, half up to the cent (``convert_cents``).

Vocabulary, as in the SPEC: a period runs from its first day ``s`` to its last day ``l``;
revenue changes at the start of a day, so a period starts with ``ARR(c, s-1)`` (called ``a``)
and ends with ``ARR(c, l)`` (``b``), where ``l`` is today for the current, partial period.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict

from .rounding import ratio
from .vocabulary import (
    AM, COMPANY, CSM, MONTH, OWNER, PRODUCT, QUARTER, TEAM, TENURE, TENURE_BANDS, TTM, UNKNOWN, YEAR,
)

ZERO = Decimal("0")
ONE_DAY = timedelta(days=1)
RATE_DECIMALS = 9  # an exchange rate has at most this many decimals: held as integer "units"
RATE_SCALE: int = 10**RATE_DECIMALS


# --- input --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """A contract line: ``end`` is the last day of service (inclusive); None = open."""

    customer_id: int
    product: str
    start: date
    end: date | None
    arr: Decimal
    currency: str = ""  # ISO 4217; empty = the reporting currency


# --- money in the reporting currency (SPEC section 7) -------------------------------------


def rate_units(given: object) -> int:
    """An exchange rate as integer units of 10**-RATE_DECIMALS, exactly (a ValueError for a rate
    that is not above zero or has more decimals)."""
    rate = Decimal(str(given)) if not isinstance(given, Decimal) else given
    units: Decimal = rate.scaleb(RATE_DECIMALS)
    if not units.is_finite() or units != units.to_integral_value():
        raise ValueError(f"the rate {rate} has more than {RATE_DECIMALS} decimals")
    if units <= 0:
        raise ValueError(f"the rate {rate} is not above zero")
    return int(units.to_integral_value())  # exact: checked above


def convert_cents(cents: int, units: int) -> int:
    """Cents of a line converted at a rate: rounded once, half up to the cent (cents >= 0)."""
    return (2 * cents * units + RATE_SCALE) // (2 * RATE_SCALE)


@dataclass(frozen=True)
class Rates:
    """The reporting currency and the exchange rates: currency -> ((valid_from, units), ...) sorted.

    A rate is in force from its ``valid_from`` until the next one of its currency; the earliest
    also stands for every day before it. Lines in the reporting currency (or with none) are not
    converted; a line in a currency with no rate at all is an error, never summed unconverted.
    """

    reporting: str = "USD"
    table: Mapping[str, tuple[tuple[date, int], ...]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, date, object]], reporting: str = "USD") -> Rates:
        """From (currency, valid_from, rate) rows; the rate a Decimal (or already units, an int)."""
        table: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for currency, valid_from, rate in rows:
            if currency != reporting:
                table[currency].append((valid_from, rate if isinstance(rate, int) else rate_units(rate)))
        return cls(reporting, {currency: tuple(sorted(spans)) for currency, spans in table.items()})

    def native(self, currency: str) -> bool:
        return not currency or currency == self.reporting

    def units_on(self, currency: str, day: date) -> int:
        spans = self.table.get(currency)
        if not spans:
            raise ValueError(f"no exchange rate for currency {currency!r}")
        index = bisect_right(spans, day, key=lambda span: span[0]) - 1
        return spans[max(index, 0)][1]

    def convert(self, arr: Decimal, currency: str, day: date) -> Decimal:
        """``arr`` (a whole number of cents in ``currency``) in the reporting currency at the rate
        in force on ``day``."""
        if self.native(currency):
            return arr
        cents = int(arr.scaleb(2))
        return Decimal(convert_cents(cents, self.units_on(currency, day))).scaleb(-2)

    def converted(self, lines: Iterable[Line], day: date) -> list[Line]:
        """Every line at the rate in force on ``day`` (constant currency)."""
        return [line if self.native(line.currency) else replace(line, arr=self.convert(line.arr, line.currency, day), currency="")
                for line in lines]  # fmt: skip

    def foreign(self, lines: Iterable[Line]) -> bool:
        return any(line.arr and not self.native(line.currency) for line in lines)


NO_RATES = Rates()


@dataclass(frozen=True, slots=True)
class Span:
    """A dated value: who owns a customer in a role, or which team a user is in (end inclusive)."""

    holder: int
    value: int
    start: date
    end: date | None = None


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    id: int
    segment: str = ""
    region: str = ""
    industry: str = ""
    use_case: str = ""


@dataclass(frozen=True, slots=True)
class Period:
    granularity: str
    start: date
    end: date  # the calendar last day, l
    measured_end: date  # l, or today for the current unfinished period

    @property
    def partial(self) -> bool:
        return self.measured_end < self.end

    @property
    def before_start(self) -> date:
        return self.start - ONE_DAY


# --- calendar -----------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    years, month_index = divmod(day.month - 1 + months, 12)
    return date(day.year + years, month_index + 1, 1)


def month_end(day: date) -> date:
    return add_months(day, 1) - ONE_DAY


def periods_between(first_day: date, today: date, fiscal_year_start_month: int = 1) -> list[Period]:
    """Every month, fiscal quarter, fiscal year and TTM window from ``first_day``'s month to today's."""
    first_month, current_month = first_day.replace(day=1), today.replace(day=1)
    months: list[date] = []
    month = first_month
    while month <= current_month:
        months.append(month)
        month = add_months(month, 1)

    def make(granularity: str, start: date, end: date) -> Period:
        return Period(granularity, start, end, min(end, today))

    def fiscal_start(month: date, length: int) -> date:
        return add_months(month, -((month.month - fiscal_year_start_month) % length))

    result = [make(MONTH, m, month_end(m)) for m in months]
    for granularity, length in ((QUARTER, 3), (YEAR, 12)):
        starts = sorted({fiscal_start(m, length) for m in months})
        result += [make(granularity, s, add_months(s, length) - ONE_DAY) for s in starts]
    result += [make(TTM, add_months(m, -11), month_end(m)) for m in months]
    return result


def whole_months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - 1 if later.day < earlier.day else months


def tenure_band(first_revenue_day: date, on: date) -> str:
    """Band of the whole months from the first revenue day to ``on``; a band holds its lower bound."""
    months = whole_months_between(first_revenue_day, on)
    return next(label for lower, label in TENURE_BANDS if months >= lower)


# --- ARR over time ------------------------------------------------------------------------


class StepFunction:
    """ARR as a step function of the day: the value changes only on the days in ``days``."""

    __slots__ = ("days", "values")

    def __init__(self, lines: Iterable[Line]):
        deltas: dict[date, Decimal] = defaultdict(Decimal)
        for line in lines:
            if line.arr:
                deltas[line.start] += line.arr
                if line.end is not None:
                    deltas[line.end + ONE_DAY] -= line.arr
        self.days: list[date] = []
        self.values: list[Decimal] = []
        running = ZERO
        for day in sorted(deltas):
            if deltas[day]:  # same-day end and start of equal amounts is no change
                running += deltas[day]
                self.days.append(day)
                self.values.append(running)

    def at(self, day: date) -> Decimal:
        index = bisect_right(self.days, day) - 1
        return self.values[index] if index >= 0 else ZERO

    @property
    def first_revenue_day(self) -> date | None:
        """ARR is a sum of non-negative lines, so the first change is the first revenue."""
        return self.days[0] if self.days else None

    @property
    def last_change_day(self) -> date | None:
        return self.days[-1] if self.days else None

    def changes(self) -> Iterator[tuple[date, Decimal, Decimal]]:
        """(day, ARR the day before, ARR from that day on) for every change."""
        previous = ZERO
        for day, value in zip(self.days, self.values):
            yield day, previous, value
            previous = value


def arr_on(lines: Iterable[Line], day: date, product: str | None = None) -> Decimal:
    """ARR(c, d) (or ARR(c, p, d)) straight from the definition; used by tests and spot checks."""
    return sum(
        (
            line.arr
            for line in lines
            if line.start <= day and (line.end is None or day <= line.end)
            and (product is None or line.product == product)
        ),
        ZERO,
    )


def value_on(spans: Sequence[Span], day: date) -> int | None:
    """The value of the span covering ``day`` (spans of one holder never overlap)."""
    for span in spans:
        if span.start <= day and (span.end is None or day <= span.end):
            return span.value
    return None


# --- per-account movements ----------------------------------------------------------------


class AccountFigures:
    """One account's share of a period's figures, from its starting and ending ARR (shared by
    the engine's rows and the accounts answered on demand)."""

    __slots__ = ()
    starting_arr: Decimal
    ending_arr: Decimal
    cross_sell: Decimal

    @property
    def in_cohort(self) -> bool:
        return self.starting_arr > 0

    @property
    def change(self) -> Decimal:
        return self.ending_arr - self.starting_arr

    @property
    def expansion(self) -> Decimal:
        return self.change if self.in_cohort and self.ending_arr > self.starting_arr else ZERO

    @property
    def upsell(self) -> Decimal:
        return self.expansion - self.cross_sell

    @property
    def contraction(self) -> Decimal:
        a, b = self.starting_arr, self.ending_arr
        return a - b if 0 < b < a else ZERO

    @property
    def churn(self) -> Decimal:
        return self.starting_arr if self.in_cohort and self.ending_arr == 0 else ZERO


@dataclass(slots=True)
class AccountMovement(AccountFigures):
    """One customer (``product`` empty) or customer-product pair in one period."""

    granularity: str
    period_start: date
    period_end: date
    partial: bool
    customer_id: int
    product: str
    starting_arr: Decimal
    ending_arr: Decimal
    cross_sell: Decimal
    movement: str  # new, reactivation, expansion, contraction, churn, none
    csm_owner: int | None
    csm_team: int | None
    am_owner: int | None
    am_team: int | None
    segment: str
    region: str
    industry: str
    use_case: str
    tenure_band: str


class _MovementColumns(TypedDict):
    """The columns a customer's rows of one period share (whole-customer and product rows)."""

    granularity: str
    period_start: date
    period_end: date
    partial: bool
    customer_id: int
    csm_owner: int | None
    csm_team: int | None
    am_owner: int | None
    am_team: int | None
    segment: str
    region: str
    industry: str
    use_case: str
    tenure_band: str


def classify(a: Decimal | int, b: Decimal | int) -> str:
    if b == 0:
        return "churn"
    if b < a:
        return "contraction"
    if b > a:
        return "expansion"
    return "none"


@dataclass
class Ownership:
    """Assignments per role (customer id -> spans) and memberships (user id -> spans)."""

    assignments: Mapping[str, Mapping[int, Sequence[Span]]] = field(default_factory=dict)
    memberships: Mapping[int, Sequence[Span]] = field(default_factory=dict)

    def owner_and_team(self, customer_id: int, role: str, day: date) -> tuple[int | None, int | None]:
        owner = value_on(self.assignments.get(role, {}).get(customer_id, ()), day)
        team = value_on(self.memberships.get(owner, ()), day) if owner is not None else None
        return owner, team


def customer_movements(
    info: CustomerInfo, lines: Sequence[Line], ownership: Ownership, periods: Iterable[Period], rates: Rates = NO_RATES
) -> list[AccountMovement]:
    """Every movement row of one customer: whole-customer rows, then product rows.

    Constant currency: both ends of a period convert every line at the rate in force on ``s``."""
    total = StepFunction(lines)
    first_day = total.first_revenue_day
    if first_day is None:
        return []
    products = sorted({line.product for line in lines})
    by_product = {p: StepFunction(line for line in lines if line.product == p) for p in products}
    # After the last change with zero ARR there is nothing left to measure.
    ends_at_zero = total.values[-1] == 0
    last_change = total.last_change_day
    assert last_change is not None  # first_day is not None: the same change days
    foreign = rates.foreign(lines)
    rows: list[AccountMovement] = []
    for period in periods:
        if period.measured_end < first_day or (ends_at_zero and period.before_start >= last_change):
            continue
        s, l = period.start, period.measured_end
        if foreign:  # the native steps tell which periods to skip; the amounts are at s's rates
            converted = rates.converted(lines, s)
            total = StepFunction(converted)
            by_product = {p: StepFunction(line for line in converted if line.product == p) for p in products}
        a, b = total.at(period.before_start), total.at(l)
        if a > 0:
            kind = classify(a, b)
        elif b > 0:
            kind = "new" if first_day >= s else "reactivation"
        else:
            continue  # not in the cohort, no revenue at the end: nothing to report
        product_ab = {p: (f.at(period.before_start), f.at(l)) for p, f in by_product.items()}
        cross_sell = ZERO
        if kind == "expansion":
            new_products = sum((pb for pa, pb in product_ab.values() if pa == 0), ZERO)
            cross_sell = min(b - a, new_products)
        csm_owner, csm_team = ownership.owner_and_team(info.id, CSM, s)
        am_owner, am_team = ownership.owner_and_team(info.id, AM, s)
        common: _MovementColumns = dict(
            granularity=period.granularity,
            period_start=period.start,
            period_end=period.end,
            partial=period.partial,
            customer_id=info.id,
            csm_owner=csm_owner,
            csm_team=csm_team,
            am_owner=am_owner,
            am_team=am_team,
            segment=info.segment or UNKNOWN,
            region=info.region or UNKNOWN,
            industry=info.industry or UNKNOWN,
            use_case=info.use_case or UNKNOWN,
            tenure_band=tenure_band(first_day, s) if first_day < s else "0-6",
        )
        rows.append(AccountMovement(product="", starting_arr=a, ending_arr=b, cross_sell=cross_sell, movement=kind, **common))
        for product, (pa, pb) in product_ab.items():
            if pa > 0:  # the product scope's cohort: the pair had ARR on s-1
                rows.append(
                    AccountMovement(
                        product=product, starting_arr=pa, ending_arr=pb, cross_sell=ZERO, movement=classify(pa, pb), **common
                    )
                )
    return rows


# --- churn cases --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    customer_id: int
    date: date  # the first day without the lost revenue
    kind: str  # churn or contraction
    previous_arr: Decimal
    new_arr: Decimal
    csm_owner: int | None
    csm_team: int | None
    am_owner: int | None
    am_team: int | None

    @property
    def lost_arr(self) -> Decimal:
        return self.previous_arr - self.new_arr


def customer_cases(
    customer_id: int, lines: Sequence[Line], ownership: Ownership, today: date, rates: Rates = NO_RATES
) -> list[Case]:
    """Every day up to today on which the customer's ARR fell; owned as of the day before.

    A case on day d converts both sides at the rate in force on d."""
    cases = []
    for day, before, after in _changes(lines, rates):
        if day > today:
            break
        if after < before:
            owner_day = day - ONE_DAY
            csm_owner, csm_team = ownership.owner_and_team(customer_id, CSM, owner_day)
            am_owner, am_team = ownership.owner_and_team(customer_id, AM, owner_day)
            kind = "churn" if after == 0 else "contraction"
            cases.append(Case(customer_id, day, kind, before, after, csm_owner, csm_team, am_owner, am_team))
    return cases


def _changes(lines: Sequence[Line], rates: Rates) -> Iterator[tuple[date, Decimal, Decimal]]:
    """(day, ARR the day before, ARR that day) for every day a line starts or stops, both at
    that day's rates (only the native steps when no line is in another currency)."""
    if not rates.foreign(lines):
        yield from StepFunction(lines).changes()
        return
    days = sorted({line.start for line in lines if line.arr} | {line.end + ONE_DAY for line in lines if line.arr and line.end})
    for day in days:
        converted = rates.converted(lines, day)
        before, after = arr_on(converted, day - ONE_DAY), arr_on(converted, day)
        if before != after:
            yield day, before, after


# --- aggregation --------------------------------------------------------------------------

ScopeKey = tuple[str, date, str, object, str]  # granularity, period_start, scope_type, scope_key, role
TOTAL_FIELDS = (
    "starting_arr", "expansion", "cross_sell", "contraction", "churn", "ending_arr",
    "logos_start", "logos_churned", "new_arr", "reactivation_arr",
)  # fmt: skip


@dataclass(slots=True)
class Totals:
    """Additive sums behind one retention row: rows are rebuilt from these, so they subtract too."""

    starting_arr: Decimal = ZERO
    expansion: Decimal = ZERO
    cross_sell: Decimal = ZERO
    contraction: Decimal = ZERO
    churn: Decimal = ZERO
    ending_arr: Decimal = ZERO
    logos_start: int = 0
    logos_churned: int = 0
    new_arr: Decimal = ZERO
    reactivation_arr: Decimal = ZERO

    def add(self, other: Totals) -> None:
        # Written out field by field: merging chunk totals and stored totals is a hot loop too.
        self.starting_arr += other.starting_arr
        self.expansion += other.expansion
        self.cross_sell += other.cross_sell
        self.contraction += other.contraction
        self.churn += other.churn
        self.ending_arr += other.ending_arr
        self.logos_start += other.logos_start
        self.logos_churned += other.logos_churned
        self.new_arr += other.new_arr
        self.reactivation_arr += other.reactivation_arr


def contribution_fields(movement: AccountMovement) -> list[tuple[str, Decimal | int]]:
    """The non-zero fields a movement adds to the totals of each scope it counts in."""
    a, b = movement.starting_arr, movement.ending_arr
    if not a > 0:
        name = "new_arr" if movement.movement == "new" else "reactivation_arr"
        return [(name, b)] if b else []
    fields: list[tuple[str, Decimal | int]] = [("starting_arr", a), ("logos_start", 1)]
    if b > a:
        fields.append(("expansion", b - a))
        if movement.cross_sell:
            fields.append(("cross_sell", movement.cross_sell))
    elif b == 0:
        fields += [("churn", a), ("logos_churned", 1)]
    elif b < a:
        fields.append(("contraction", a - b))
    if b:
        fields.append(("ending_arr", b))
    return fields


def scope_keys(movement: AccountMovement) -> list[tuple[str, object, str]]:
    """The scopes (type, key, role) a movement row counts in; team/owner keys are ids (None = unassigned)."""
    if movement.product:
        return [(PRODUCT, movement.product, "")]
    if not movement.in_cohort:
        return [(COMPANY, "", "")]  # new and reactivated revenue only enters the company bridge
    return [
        (COMPANY, "", ""),
        (TEAM, movement.csm_team, CSM),
        (TEAM, movement.am_team, AM),
        (OWNER, movement.csm_owner, CSM),
        (OWNER, movement.am_owner, AM),
        ("segment", movement.segment, ""),
        ("region", movement.region, ""),
        ("industry", movement.industry, ""),
        ("use_case", movement.use_case, ""),
        (TENURE, movement.tenure_band, ""),
    ]


def aggregate(
    movements: Iterable[AccountMovement], into: dict[ScopeKey, Totals] | None = None, sign: int = 1
) -> dict[ScopeKey, Totals]:
    """Add (or, with sign=-1, take away) movements' contributions to every scope they count in."""
    totals = {} if into is None else into
    for movement in movements:
        # Only the non-zero fields: most accounts do not move in most periods.
        changes = contribution_fields(movement)
        if sign < 0:
            changes = [(name, -value) for name, value in changes]
        granularity, start = movement.granularity, movement.period_start
        for scope_type, key, role in scope_keys(movement):
            scope = (granularity, start, scope_type, key, role)
            found = totals.get(scope)
            if found is None:
                totals[scope] = found = Totals()
            for name, value in changes:
                setattr(found, name, getattr(found, name) + value)
    return totals


# --- retention rows -----------------------------------------------------------------------


def rate(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """A ratio to four decimals, half up; undefined (None) when the denominator is zero."""
    return ratio(numerator, denominator)


@dataclass(frozen=True, slots=True)
class RetentionRow:
    period_start: date
    period_end: date
    granularity: str
    partial: bool
    scope_type: str
    scope_key: object
    role: str
    starting_arr: Decimal
    expansion: Decimal
    upsell: Decimal
    cross_sell: Decimal
    contraction: Decimal
    churn: Decimal
    ending_arr: Decimal
    nrr: Decimal | None
    grr: Decimal | None
    logos_start: int
    logos_churned: int
    new_arr: Decimal | None
    reactivation_arr: Decimal | None

    @property
    def logo_retention(self) -> Decimal | None:
        return rate(Decimal(self.logos_start - self.logos_churned), Decimal(self.logos_start))


def retention_row(period: Period, scope_type: str, key: object, role: str, t: Totals) -> RetentionRow:
    company = scope_type == COMPANY
    return RetentionRow(
        period_start=period.start,
        period_end=period.end,
        granularity=period.granularity,
        partial=period.partial,
        scope_type=scope_type,
        scope_key=key,
        role=role,
        starting_arr=t.starting_arr,
        expansion=t.expansion,
        upsell=t.expansion - t.cross_sell,
        cross_sell=t.cross_sell,
        contraction=t.contraction,
        churn=t.churn,
        ending_arr=t.ending_arr,
        nrr=rate(t.ending_arr, t.starting_arr),
        grr=rate(t.starting_arr - t.contraction - t.churn, t.starting_arr),
        logos_start=t.logos_start,
        logos_churned=t.logos_churned,
        new_arr=t.new_arr if company else None,
        reactivation_arr=t.reactivation_arr if company else None,
    )


def retention_rows(totals: Mapping[ScopeKey, Totals], periods: Iterable[Period]) -> list[RetentionRow]:
    """A company row for every period; a row for every other scope whose cohort is not empty."""
    by_period = {(p.granularity, p.start): p for p in periods}
    rows = [retention_row(p, COMPANY, "", "", totals.get((p.granularity, p.start, COMPANY, "", ""), Totals()))
            for p in by_period.values()]  # fmt: skip
    for (granularity, start, scope_type, key, role), t in totals.items():
        period = by_period.get((granularity, start))
        if period is not None and scope_type != COMPANY and t.logos_start > 0:
            rows.append(retention_row(period, scope_type, key, role, t))
    return rows


# --- everything at once -------------------------------------------------------------------


@dataclass
class Dataset:
    customers: Sequence[CustomerInfo]
    lines: Sequence[Line]
    ownership: Ownership = field(default_factory=Ownership)
    rates: Rates = NO_RATES


@dataclass
class Result:
    periods: list[Period]
    rows: list[RetentionRow]
    movements: list[AccountMovement]
    cases: list[Case]


def first_revenue_day(lines: Iterable[Line]) -> date | None:
    return min((line.start for line in lines if line.arr > 0), default=None)


def group_lines(lines: Iterable[Line]) -> dict[int, list[Line]]:
    grouped: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        grouped[line.customer_id].append(line)
    return grouped


def compute(data: Dataset, today: date, fiscal_year_start_month: int = 1) -> Result:
    """Every retention row, movement and churn case of a data set, in memory (for small data and tests)."""
    first_day = first_revenue_day(data.lines)
    if first_day is None or first_day > today:
        return Result([], [], [], [])
    periods = periods_between(first_day, today, fiscal_year_start_month)
    lines_by_customer = group_lines(data.lines)
    movements: list[AccountMovement] = []
    cases: list[Case] = []
    for info in data.customers:
        lines = lines_by_customer.get(info.id, [])
        movements += customer_movements(info, lines, data.ownership, periods, data.rates)
        cases += customer_cases(info.id, lines, data.ownership, today, data.rates)
    return Result(periods, retention_rows(aggregate(movements), periods), movements, cases)
