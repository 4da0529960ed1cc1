"""Invariants of the metric engine on small random companies (hypothesis).

Expected figures come from the SPEC's definitions evaluated by brute force with ``arr_on``
(ARR straight from the contract lines) and a hand-written span lookup, never from the engine's
step functions, classifiers or aggregates. Plain Python: no database.

Companies sometimes bill in several currencies with random exchange rates: the brute force then
converts each line itself (``Decimal`` quantized half up to the cent, at the rate it looks up by
hand for the period's first day, or a case's day), never with the engines' conversion.

Every property runs against both engines (``metrics.engine``, the per-customer reference, and
``metrics.recompute.engine``, the vectorized one); further properties check that the vectorized
engine gives exactly the reference's rows, cases and accounts, and that its partial totals add
up over shards of customers.
"""

import calendar
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import engine as reference
from metrics.engine import CustomerInfo, Dataset, Line, Ownership, Rates, Span, aggregate, arr_on, retention_rows
from metrics.recompute import engine as vectorized

ONE_DAY = timedelta(days=1)
FIRST_DAY, LAST_DAY = date(2023, 1, 1), date(2025, 12, 31)  # where contract dates fall
PRODUCTS = ("Core", "Analytics", "Seats", "Support")
USERS = (100, 101, 102, 103, 104)  # 104 never has a team
TEAMS = (7, 8, 9)
SUMMED = (
    "starting_arr",
    "expansion",
    "upsell",
    "cross_sell",
    "contraction",
    "churn",
    "ending_arr",
    "logos_start",
    "logos_churned",
)
PARTITIONS = (
    ("owner", "csm"),
    ("owner", "am"),
    ("team", "csm"),
    ("team", "am"),
    ("segment", ""),
    ("region", ""),
    ("industry", ""),
    ("use_case", ""),
    ("tenure", ""),
)
TOTAL_FIELDS = (
    "starting_arr",
    "expansion",
    "cross_sell",
    "contraction",
    "churn",
    "ending_arr",
    "logos_start",
    "logos_churned",
    "new_arr",
    "reactivation_arr",
)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENGINES = {"reference": reference.compute, "vectorized": vectorized.compute}
both_engines = pytest.mark.parametrize("engine", sorted(ENGINES))


# --- strategies -------------------------------------------------------------------------------


def last_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


years, months = st.integers(FIRST_DAY.year, LAST_DAY.year), st.integers(1, 12)
# Month edges are where the SPEC's off-by-one rules live, so they come up often.
days = st.one_of(
    st.dates(FIRST_DAY, LAST_DAY),
    st.builds(lambda y, m: date(y, m, 1), years, months),
    st.builds(last_of_month, years, months),
)
# Two places, zeros included (one line in ten), and sometimes round amounts so that sums tie.
arrs = st.integers(0, 9).flatmap(
    lambda pick: (
        st.just(Decimal("0.00"))
        if pick == 0
        else st.sampled_from([Decimal("100.00"), Decimal("250.00"), Decimal("1000.00")])
        if pick < 3
        else st.decimals(min_value=Decimal("0.01"), max_value=5000, places=2)
    )
)


@st.composite
def dated_spans(draw, holder: int, values: tuple[int, ...], change_days: list[date] = ()) -> list[Span]:
    """Non-overlapping spans: consecutive boundary days, some dropped to leave gaps, the last maybe open.

    Boundaries fall now and then on ``change_days`` (the days a customer's revenue changes), where
    "owner on s" versus "owner on d-1" makes a difference.
    """
    boundary = st.one_of(days, st.sampled_from(change_days)) if change_days else days
    bounds = sorted(set(draw(st.lists(boundary, max_size=5))))
    spans = []
    for start, next_start in zip(bounds, [*bounds[1:], None], strict=False):  # no bounds: no spans
        end = None if next_start is None else next_start - ONE_DAY
        if next_start is None and draw(st.booleans()):
            continue  # no open-ended span at the end
        if draw(st.integers(0, 3)) == 0:
            continue  # a gap
        spans.append(Span(holder, draw(st.sampled_from(values)), start, end))
    return spans


# Exchange rates: up to six decimals, now and then round ones (so that converted sums tie).
fx_rates = st.one_of(
    st.sampled_from([Decimal("0.5"), Decimal("1.25"), Decimal("2")]),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("250"), places=6),
)
CURRENCIES = ("EUR", "JPY")


@st.composite
def rate_tables(draw) -> Rates:
    """A few dated rates per foreign currency (USD is the reporting currency)."""
    rows = []
    for currency in CURRENCIES:
        for valid_from in sorted(set(draw(st.lists(days, min_size=1, max_size=3)))):
            rows.append((currency, valid_from, draw(fx_rates)))
    return Rates.from_rows(rows, reporting="USD")


@st.composite
def customer_lines(draw, customer_id: int, products: tuple[str, ...], currencies=("",)) -> list[Line]:
    lines: list[Line] = []
    previous_end = None
    for _ in range(draw(st.sampled_from((1, 2, 3, 4, 5, 0)))):
        if previous_end is not None and draw(st.booleans()):
            start = previous_end + ONE_DAY  # an up- or downgrade: the next line starts the day after
        else:
            start = draw(days)
        kind = draw(st.sampled_from(("open", "days", "month_end")))
        if kind == "open":
            end = None
        elif kind == "days":
            end = start + timedelta(days=draw(st.integers(0, 500)))
        else:
            end = last_of_month(start.year + draw(st.integers(0, 1)), draw(months))
            end = max(end, start)
        currency = draw(st.sampled_from(currencies))
        lines.append(Line(customer_id, draw(st.sampled_from(products)), start, end, draw(arrs), currency))
        previous_end = end
    return lines


@st.composite
def companies(draw):
    products = PRODUCTS[: draw(st.integers(1, 4))]
    multi_currency = draw(st.booleans())
    currencies = ("", "USD", *CURRENCIES) if multi_currency else ("",)
    rates = draw(rate_tables()) if multi_currency else Rates()
    infos, lines, csm, am = [], [], {}, {}
    for customer_id in range(1, draw(st.integers(1, 5)) + 1):
        attribute = st.sampled_from(("", "a", "b"))
        infos.append(CustomerInfo(customer_id, draw(attribute), draw(attribute), draw(attribute), draw(attribute)))
        own_lines = draw(customer_lines(customer_id, products, currencies))
        lines += own_lines
        change_days = sorted({one.start for one in own_lines} | {one.end + ONE_DAY for one in own_lines if one.end})
        csm[customer_id] = draw(dated_spans(customer_id, USERS, change_days))
        am[customer_id] = draw(dated_spans(customer_id, USERS, change_days))
    memberships = {user: draw(dated_spans(user, TEAMS)) for user in USERS[:-1]}
    later = st.dates(date(2024, 6, 1), date(2026, 6, 30))
    today = draw(st.one_of(later, later, days))  # mostly after some revenue; sometimes on a month edge
    fiscal_year_start_month = draw(st.sampled_from((1, 1, 2, 4, 10)))
    ownership = Ownership(assignments={"csm": csm, "am": am}, memberships=memberships)
    return Dataset(infos, lines, ownership, rates), today, fiscal_year_start_month


# --- brute force from the definitions -----------------------------------------------------------


def rate_on(rates: Rates, currency: str, day: date) -> Decimal:
    """The rate in force on a day, looked up by hand: the latest valid_from on or before it, else
    the earliest; 1 for the reporting currency (or none)."""
    if currency in ("", "USD"):
        return Decimal(1)
    spans = rates.table[currency]
    in_force = [units for valid_from, units in spans if valid_from <= day] or [spans[0][1]]
    return Decimal(in_force[-1]) / Decimal(10**9)


def at_rates_of(data: Dataset, lines, day: date) -> list[Line]:
    """Every line converted at the rates in force on ``day``, rounded half up to the cent, per line."""
    return [
        Line(
            one.customer_id,
            one.product,
            one.start,
            one.end,
            (one.arr * rate_on(data.rates, one.currency, day)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        )
        for one in lines
    ]


def multi_currency(data: Dataset) -> bool:
    return any(one.currency not in ("", "USD") for one in data.lines)


def held_on(spans, day):
    matches = [one.value for one in spans if one.start <= day and (one.end is None or day <= one.end)]
    assert len(matches) <= 1, "the strategy makes spans that never overlap"
    return matches[0] if matches else None


def owner_and_team(ownership, customer_id, role, day):
    owner = held_on(ownership.assignments[role].get(customer_id, []), day)
    team = held_on(ownership.memberships.get(owner, []), day) if owner is not None else None
    return owner, team


def band(first_revenue_day, on):
    whole_months = (on.year - first_revenue_day.year) * 12 + on.month - first_revenue_day.month
    if on.day < first_revenue_day.day:
        whole_months -= 1
    return "24+" if whole_months >= 24 else "12-24" if whole_months >= 12 else "6-12" if whole_months >= 6 else "0-6"


def kind_of(a, b):
    return "churn" if b == 0 else "contraction" if b < a else "expansion" if b > a else "none"


def expected_movements(data, periods, today):
    """(granularity, start, customer, product) -> the fields a movement row must have, by brute force."""
    expected = {}
    for info in data.customers:
        lines = [one for one in data.lines if one.customer_id == info.id]
        revenue_starts = [one.start for one in lines if one.arr > 0]
        if not revenue_starts:
            continue
        first_revenue = min(revenue_starts)
        products = {one.product for one in lines}
        native = lines
        for p in periods:
            s, day_before, l = p.start, p.start - ONE_DAY, min(p.end, today)
            lines = at_rates_of(data, native, s)  # constant currency: both ends at s's rates
            a, b = arr_on(lines, day_before), arr_on(lines, l)
            if a == 0 and b == 0:
                continue
            kind = kind_of(a, b) if a > 0 else "new" if first_revenue >= s else "reactivation"
            cross_sell = Decimal(0)
            if kind == "expansion":
                new_products = sum(arr_on(lines, l, q) for q in products if arr_on(lines, day_before, q) == 0)
                cross_sell = min(b - a, new_products)
            csm_owner, csm_team = owner_and_team(data.ownership, info.id, "csm", s)
            am_owner, am_team = owner_and_team(data.ownership, info.id, "am", s)
            common = {
                "partial": today < p.end,
                "period_end": p.end,
                "csm_owner": csm_owner,
                "csm_team": csm_team,
                "am_owner": am_owner,
                "am_team": am_team,
                "segment": info.segment or "unknown",
                "region": info.region or "unknown",
                "industry": info.industry or "unknown",
                "use_case": info.use_case or "unknown",
            }
            if a > 0:
                common["tenure_band"] = band(first_revenue, s)
            key = (p.granularity, s, info.id)
            expected[(*key, "")] = dict(common, starting_arr=a, ending_arr=b, movement=kind, cross_sell=cross_sell)
            for q in products:
                qa, qb = arr_on(lines, day_before, q), arr_on(lines, l, q)
                if qa > 0:
                    expected[(*key, q)] = dict(
                        common, starting_arr=qa, ending_arr=qb, movement=kind_of(qa, qb), cross_sell=Decimal(0)
                    )
    return expected


def expected_cases(data, today):
    """Every day up to today on which a customer's ARR falls, walking day by day."""
    expected = []
    for info in data.customers:
        lines = [one for one in data.lines if one.customer_id == info.id]
        if not lines:
            continue
        day = min(one.start for one in lines)
        last = min(today, max((one.end + ONE_DAY for one in lines if one.end), default=day))
        while day <= last:
            converted = at_rates_of(data, lines, day)  # a case converts both sides at its day's rates
            previous, current = arr_on(converted, day - ONE_DAY), arr_on(converted, day)
            if current < previous:
                owners = (
                    *owner_and_team(data.ownership, info.id, "csm", day - ONE_DAY),
                    *owner_and_team(data.ownership, info.id, "am", day - ONE_DAY),
                )
                kind = "churn" if current == 0 else "contraction"
                expected.append((info.id, day, kind, previous, current, previous - current, *owners))
            day = day + ONE_DAY
    return sorted(expected)


def fiscal_period_start(month_start, length, fiscal_year_start_month):
    """Walk back to the month where a fiscal quarter (length 3) or year (12) begins."""
    while (month_start.month - fiscal_year_start_month) % length:
        month_start = (month_start - ONE_DAY).replace(day=1)
    return month_start


def computed(company, engine):
    data, today, fiscal_year_start_month = company
    return data, today, ENGINES[engine](data, today, fiscal_year_start_month)


def rows_by_scope(result):
    indexed = {}
    for r in result.rows:
        key = (r.granularity, r.period_start, r.scope_type, r.scope_key, r.role)
        assert key not in indexed, f"two rows for {key}"
        indexed[key] = r
    return indexed


def whole_book_end(row):
    """Total ARR on the measured last day: the cohort's ending plus what came from outside it."""
    return row.ending_arr + row.new_arr + row.reactivation_arr


# --- properties -------------------------------------------------------------------------------


@both_engines
@PROPERTY_SETTINGS
@given(company=companies())
def test_periods_run_from_the_first_month_with_revenue_to_the_current_one(company, engine):
    data, today, result = computed(company, engine)
    fiscal_year_start_month = company[2]
    revenue_starts = [one.start for one in data.lines if one.arr > 0]
    if not revenue_starts or min(revenue_starts) > today:
        assert result.periods == [] and result.rows == []
        return
    month, month_starts = min(revenue_starts).replace(day=1), []
    while month <= today:
        month_starts.append(month)
        month = (month + timedelta(days=31)).replace(day=1)

    def plus_months(start, count):
        for _ in range(count):
            start = (start + timedelta(days=31)).replace(day=1)
        return start

    expected = {("month", m, plus_months(m, 1) - ONE_DAY) for m in month_starts}
    for granularity, length in (("quarter", 3), ("year", 12)):
        for m in month_starts:
            start = fiscal_period_start(m, length, fiscal_year_start_month)
            expected.add((granularity, start, plus_months(start, length) - ONE_DAY))
    for m in month_starts:
        ttm_start = m
        for _ in range(11):
            ttm_start = (ttm_start - ONE_DAY).replace(day=1)
        expected.add(("ttm", ttm_start, plus_months(m, 1) - ONE_DAY))
    assert {(p.granularity, p.start, p.end) for p in result.periods} == expected
    company_rows = [(r.granularity, r.period_start, r.period_end) for r in result.rows if r.scope_type == "company"]
    assert sorted(company_rows) == sorted(expected)  # exactly one company row per period


@both_engines
@PROPERTY_SETTINGS
@given(company=companies())
def test_movements_and_cases_match_a_brute_force_reading_of_the_contracts(company, engine):
    data, today, result = computed(company, engine)
    expected = expected_movements(data, result.periods, today)
    actual = {(m.granularity, m.period_start, m.customer_id, m.product): m for m in result.movements}
    assert len(actual) == len(result.movements), "one movement row per period, customer and product"
    assert set(actual) == set(expected)
    for key, fields in expected.items():
        for name, value in fields.items():
            assert getattr(actual[key], name) == value, (key, name)
    cases = sorted(
        (
            c.customer_id,
            c.date,
            c.kind,
            c.previous_arr,
            c.new_arr,
            c.lost_arr,
            c.csm_owner,
            c.csm_team,
            c.am_owner,
            c.am_team,
        )
        for c in result.cases
    )
    assert cases == expected_cases(data, today)


@both_engines
@PROPERTY_SETTINGS
@given(company=companies())
def test_every_row_obeys_the_identities_and_rate_bounds(company, engine):
    _data, _today, result = computed(company, engine)
    for r in result.rows:
        assert r.ending_arr == r.starting_arr + r.expansion - r.contraction - r.churn
        assert r.upsell + r.cross_sell == r.expansion
        assert r.upsell >= 0 and r.cross_sell >= 0 and r.contraction >= 0 and r.churn >= 0
        assert r.logos_churned <= r.logos_start
        if r.starting_arr == 0:
            assert r.nrr is None and r.grr is None
        else:
            assert r.nrr is not None and r.grr is not None
            assert r.grr <= 1 and r.grr <= r.nrr and r.grr >= 0
        if r.scope_type != "company":
            assert r.logos_start > 0, "no row for an empty cohort outside the company scope"
            assert r.new_arr is None and r.reactivation_arr is None
        if r.scope_type == "product":
            assert r.cross_sell == 0


@both_engines
@PROPERTY_SETTINGS
@given(company=companies())
def test_the_company_bridge_and_logos_hold_on_total_arr(company, engine):
    data, today, result = computed(company, engine)
    rows = rows_by_scope(result)
    lines_of = defaultdict(list)
    for one in data.lines:
        lines_of[one.customer_id].append(one)
    for p in result.periods:
        r = rows[(p.granularity, p.start, "company", "", "")]
        converted = {c: at_rates_of(data, lines, p.start) for c, lines in lines_of.items()}
        total_before = arr_on(at_rates_of(data, data.lines, p.start), p.start - ONE_DAY)
        total_end = arr_on(at_rates_of(data, data.lines, p.start), min(p.end, today))
        assert r.partial == (today < p.end)
        assert r.starting_arr == total_before  # the cohort is everyone with revenue on s-1
        cohort = [info.id for info in data.customers if arr_on(converted.get(info.id, []), p.start - ONE_DAY) > 0]
        lost = [c for c in cohort if arr_on(converted[c], min(p.end, today)) == 0]
        assert (r.logos_start, r.logos_churned) == (len(cohort), len(lost))
        # From outside the cohort: new if the first revenue day is on or after s, else reactivation.
        new, reactivation = Decimal(0), Decimal(0)
        for info in data.customers:
            lines = lines_of[info.id]
            end_arr = arr_on(converted.get(info.id, []), min(p.end, today))
            if info.id in cohort or not end_arr:
                continue
            if min(one.start for one in lines if one.arr > 0) >= p.start:
                new += end_arr
            else:
                reactivation += end_arr
        assert (r.new_arr, r.reactivation_arr) == (new, reactivation)
        assert total_end == total_before + r.new_arr + r.reactivation_arr + r.expansion - r.contraction - r.churn


@both_engines
@PROPERTY_SETTINGS
@given(company=companies())
def test_scopes_partition_the_company(company, engine):
    _data, _today, result = computed(company, engine)
    by_period = defaultdict(list)
    for r in result.rows:
        by_period[(r.granularity, r.period_start)].append(r)
    for rows in by_period.values():
        (company_row,) = [r for r in rows if r.scope_type == "company"]
        for scope_type, role in PARTITIONS:
            part = [r for r in rows if r.scope_type == scope_type and r.role == role]
            for name in SUMMED:
                assert sum(getattr(r, name) for r in part) == getattr(company_row, name), (scope_type, role, name)
        products = [r for r in rows if r.scope_type == "product"]
        assert sum(r.starting_arr for r in products) == company_row.starting_arr


@both_engines
@PROPERTY_SETTINGS
@given(company=companies())
def test_quarters_years_and_ttm_are_point_to_point_over_the_whole_book(company, engine):
    data, today, result = computed(company, engine)
    rows = rows_by_scope(result)
    months = {p.start: rows[("month", p.start, "company", "", "")] for p in result.periods if p.granularity == "month"}
    for p in result.periods:
        if p.granularity == "month":
            continue
        r = rows[(p.granularity, p.start, "company", "", "")]
        first_month = months.get(p.start)
        # Starting ARR is the whole book on s-1: the first month's, or zero before the first revenue.
        assert r.starting_arr == (first_month.starting_arr if first_month else 0)
        if multi_currency(data):
            # In constant currency the end is the whole book on l at the rates of s (the last
            # month's figures are at the rates of its own first day).
            assert whole_book_end(r) == arr_on(at_rates_of(data, data.lines, p.start), min(p.end, today))
            continue
        last_month = months[min(p.end, today).replace(day=1)]
        assert whole_book_end(r) == whole_book_end(last_month)


@both_engines
@PROPERTY_SETTINGS
@given(company=companies(), draw=st.data())
def test_aggregates_subtract_exactly_for_incremental_recompute(company, draw, engine):
    data, _today, result = computed(company, engine)
    totals = aggregate(result.movements)
    aggregate(result.movements, into=totals, sign=-1)
    for key, t in totals.items():
        assert all(not getattr(t, name) for name in TOTAL_FIELDS), key
    # An emptied scope gives no row any more; every company row is still there, all zero, rates undefined.
    rows = retention_rows(totals, result.periods)
    assert len(rows) == len(result.periods)
    for r in rows:
        assert r.scope_type == "company" and r.starting_arr == 0 and r.ending_arr == 0 and r.new_arr == 0
        assert r.nrr is None and r.grr is None

    # Taking one customer's movements out leaves the same sums as never adding them.
    removed = draw.draw(st.sampled_from([info.id for info in data.customers]))
    everything = aggregate(result.movements)
    aggregate([m for m in result.movements if m.customer_id == removed], into=everything, sign=-1)
    others = aggregate([m for m in result.movements if m.customer_id != removed])
    for key in set(everything) | set(others):
        for name in TOTAL_FIELDS:
            left = getattr(everything[key], name) if key in everything else 0
            right = getattr(others[key], name) if key in others else 0
            assert left == right, (key, name)


# --- the vectorized engine against the reference ------------------------------------------------


def row_key(r):
    return (r.granularity, r.period_start, r.scope_type, r.scope_key, r.role)


def customers_of(data, ids):
    """The same company with only some customers listed (lines and ownership are left as they are:
    the engine ignores the lines and assignments of customers it is not given)."""
    return Dataset([info for info in data.customers if info.id in ids], data.lines, data.ownership, data.rates)


@PROPERTY_SETTINGS
@given(companies())
def test_the_vectorized_engine_gives_exactly_the_reference_rows_cases_and_accounts(company):
    data, today, fiscal_year_start_month = company
    expected = reference.compute(data, today, fiscal_year_start_month)
    actual = vectorized.compute(data, today, fiscal_year_start_month)
    assert actual.periods == expected.periods
    # The same rows (each with every field equal); the reference's order is its dict's, so by key.
    assert len({row_key(r) for r in actual.rows}) == len(actual.rows)
    assert sorted(actual.rows, key=repr) == sorted(expected.rows, key=repr)
    assert actual.cases == expected.cases  # customers in input order, then by day, as the reference
    inputs = vectorized.Inputs.from_dataset(data)
    for p in expected.periods:
        wanted = [m for m in expected.movements if (m.granularity, m.period_start) == (p.granularity, p.start)]
        assert vectorized.period_accounts(inputs, p) == wanted, p
    # The Partial behind the rows holds exactly the reference's aggregate (all-zero totals aside).
    partial = vectorized.partial_totals(inputs, expected.periods)
    totals = aggregate(expected.movements)
    assert set(partial.totals) == {key for key, t in totals.items() if any(getattr(t, f) for f in TOTAL_FIELDS)}
    for key in partial.totals:
        assert partial.totals_of(key) == totals[key], key


@PROPERTY_SETTINGS
@given(companies(), st.data())
def test_partials_of_customer_shards_add_up_and_subtract_exactly(company, draw):
    data, today, fiscal_year_start_month = company
    revenue_starts = [one.start for one in data.lines if one.arr > 0]
    if not revenue_starts or min(revenue_starts) > today:
        return
    periods = reference.periods_between(min(revenue_starts), today, fiscal_year_start_month)
    whole = vectorized.partial_totals(vectorized.Inputs.from_dataset(data), periods)
    shard_count = draw.draw(st.integers(2, 3))
    shard_of = {info.id: draw.draw(st.integers(0, shard_count - 1)) for info in data.customers}
    shards = [
        vectorized.partial_totals(
            vectorized.Inputs.from_dataset(customers_of(data, {c for c, s in shard_of.items() if s == n})), periods
        )
        for n in range(shard_count)
    ]
    summed = vectorized.Partial()
    for shard in shards:
        summed.add(shard)
    assert summed == whole
    # An incremental recompute takes a shard's old contribution out: what is left is the others'.
    rest = vectorized.Partial()
    for shard in shards[1:]:
        rest.add(shard)
    assert vectorized.Partial().add(whole).subtract(shards[0]) == rest
    assert vectorized.Partial().add(whole).subtract(whole) == vectorized.Partial()
    # A full run sums its shards as dense tables stored in the database (ShardResult): the same sum.
    inputs_of = [
        vectorized.Inputs.from_dataset(customers_of(data, {c for c, s in shard_of.items() if s == n}))
        for n in range(shard_count)
    ]
    stored = [vectorized.BlockTotals.from_bytes(vectorized.block_totals(i, periods).to_bytes()) for i in inputs_of]
    total = stored[0]
    for shard in stored[1:]:
        total.add(shard)
    assert total.to_partial() == whole
    assert vectorized.retention_rows(total.to_partial(), periods) == vectorized.retention_rows(whole, periods)


@PROPERTY_SETTINGS
@given(companies(), st.integers(1, 45), st.booleans())
def test_a_new_day_needs_only_the_lines_and_assignments_ending_from_the_first_s_minus_1(company, days_since, edge):
    """What ``triggers.recompute_current_periods`` reads: the current periods and the cases after
    the last day come out the same from the spans ending on or after the first ``s-1`` (or the
    last day), with every customer's first revenue day given apart."""
    data, today, fiscal_year_start_month = company
    revenue_starts = [one.start for one in data.lines if one.arr > 0]
    if not revenue_starts or min(revenue_starts) > today:
        return
    last_day = today - timedelta(days=days_since)
    periods = reference.periods_between(min(revenue_starts), today, fiscal_year_start_month)
    current = [p for p in periods if p.end > last_day]
    needed_from = min([p.before_start for p in current] + [last_day])
    customers = [(c.id, c.segment, c.region, c.industry, c.use_case) for c in data.customers]
    lines = [
        (x.customer_id, x.product, x.start, x.end, vectorized.decimal_to_cents(x.arr), x.currency) for x in data.lines
    ]
    if edge:  # a line whose last day is the first day needed (the periods stay the same)
        day = max(needed_from, min(revenue_starts))
        lines.append((customers[0][0], "Edge", day, day, 123_00, "EUR" if multi_currency(data) else ""))
    assignments = [
        (customer_id, span.value, role, span.start, span.end)
        for role, by_customer in data.ownership.assignments.items()
        for customer_id, spans in by_customer.items()
        for span in spans
    ]
    memberships = [
        (user, span.value, span.start, span.end) for user, spans in data.ownership.memberships.items() for span in spans
    ]
    first_days = {}
    for customer_id, _, start, _, cents, _ in lines:
        if cents > 0:
            first_days[customer_id] = min(start, first_days.get(customer_id, start))

    def recent(rows, end):
        return [row for row in rows if row[end] is None or row[end] >= needed_from]

    whole = vectorized.Inputs.from_rows(customers, lines, assignments, memberships, rates=data.rates)
    recent_only = vectorized.Inputs.from_rows(
        customers, recent(lines, 3), recent(assignments, 4), memberships, first_days.items(), rates=data.rates
    )
    assert vectorized.partial_totals(recent_only, current) == vectorized.partial_totals(whole, current)
    assert vectorized.cases(recent_only, today, since=last_day) == [
        case for case in vectorized.cases(whole, today) if case.date > last_day
    ]


def test_amounts_must_be_whole_cents_and_lines_of_unknown_customers_are_ignored():
    day = date(2025, 1, 1)
    with pytest.raises(ValueError, match="not a whole number of cents"):
        vectorized.Inputs.from_dataset(Dataset([CustomerInfo(1)], [Line(1, "A", day, None, Decimal("1.005"))]))
    inputs = vectorized.Inputs.from_rows(
        customers=[(1, "", "", "", "")],
        lines=[(1, "A", day, None, 100_00), (2, "A", day, None, 999_00), (1, "B", day, None, 0)],
        assignments=[(2, 10, "csm", day, None)],
        memberships=[],
    )
    assert inputs.line_arr.tolist() == [100_00]  # customer 2 is not listed; a zero line is no revenue
    with pytest.raises(ValueError, match="ARR cannot be negative"):
        vectorized.Inputs.from_rows([(1, "", "", "", "")], [(1, "A", day, None, -1)], [], [])
    with pytest.raises(ValueError, match="overlap"):  # the database forbids overlapping assignments; so does the engine
        vectorized.Inputs.from_rows(
            [(1, "", "", "", "")], [], [(1, 10, "csm", day, None), (1, 11, "csm", date(2025, 2, 1), None)], []
        )
