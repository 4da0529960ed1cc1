"""The accounts behind a figure, answered on demand (metrics.recompute.accounts), against the
reference engine: for random small companies written into the Snapshot* tables, every period's
rows equal ``metrics.engine.customer_movements``'s, every scope's rows and totals equal the
engine's movements and retention rows, pages and sort orders are right, visibility filters,
and rows of another version are never read. Runs on PostgreSQL and on SQLite.

Seeds 3 and 4 bill in several currencies with random dated rates (frozen with the version): the
SQL converts each line at the rate of the period's first day exactly as the engine does."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from metrics.engine import CustomerInfo, Dataset, Line, Ownership, Rates, Span, compute, month_end
from metrics.models import (
    Customer,
    SnapshotAssignment,
    SnapshotCustomer,
    SnapshotFxRate,
    SnapshotLine,
    SnapshotMembership,
)
from metrics.queries import FIGURES, Scope
from metrics.recompute import accounts
from metrics.recompute.accounts import Filters, Visible

ONE_DAY = timedelta(days=1)
FIRST_DAY, LAST_DAY = date(2023, 1, 1), date(2025, 12, 31)
PRODUCTS = ("Core", "Analytics", "Seats", "Support")
USERS = (100, 101, 102, 103, 104)  # 104 never has a team
TEAMS = (7, 8, 9)
NAMES = ("acme", "bolt", "core", "dyna")  # few, so that names tie and the customer id decides
MONEY_FIGURES = [name for name, f in FIGURES.items() if f.amount is not None]

pytestmark = pytest.mark.django_db


# --- random companies -----------------------------------------------------------------------


def random_day(rng: random.Random) -> date:
    """Any day, or often a month's first, second or last day (where the off-by-one rules live:
    a span starting on the 2nd ends the one before on the 1st, a period's s)."""
    pick = rng.randrange(4)
    day = FIRST_DAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days + 1))
    if pick == 0:
        return day
    return day.replace(day=1) if pick == 1 else day.replace(day=2) if pick == 2 else month_end(day)


def random_arr(rng: random.Random) -> Decimal:
    pick = rng.randrange(10)
    if pick == 0:
        return Decimal("0.00")
    if pick < 3:
        return rng.choice([Decimal("100.00"), Decimal("250.00"), Decimal("1000.00")])
    return Decimal(rng.randrange(1, 500_000)).scaleb(-2)


def random_spans(rng: random.Random, holder: int, values, change_days=()) -> list[Span]:
    pool = list(change_days)
    bounds = sorted(
        {rng.choice(pool) if pool and rng.random() < 0.4 else random_day(rng) for _ in range(rng.randrange(6))}
    )
    spans = []
    for start, next_start in zip(bounds, [*bounds[1:], None], strict=False):  # no bounds: no spans
        end = None if next_start is None else next_start - ONE_DAY
        if next_start is None and rng.random() < 0.5:
            continue
        if rng.randrange(4) == 0:
            continue  # a gap
        spans.append(Span(holder, rng.choice(values), start, end))
    return spans


MULTI_CURRENCY_SEEDS = (3, 4)


def random_rates(rng: random.Random) -> Rates:
    """EUR and JPY (and, unused by any line, CHF) with 1 to 3 dated rates of up to 9 decimals."""
    rows = []
    for code, scale in (("EUR", 1), ("JPY", 0.01), ("CHF", 1)):
        for day in {random_day(rng) for _ in range(rng.randrange(1, 4))}:
            rows.append((code, day, Decimal(int(rng.uniform(0.2, 2.5) * scale * 10**9)).scaleb(-9)))
    return Rates.from_rows(rows, reporting="USD")


def random_lines(rng: random.Random, customer_id: int, products, currencies=("",)) -> list[Line]:
    lines, previous_end = [], None
    for _ in range(rng.choice((1, 2, 3, 4, 5, 6, 0))):
        start = previous_end + ONE_DAY if previous_end is not None and rng.random() < 0.5 else random_day(rng)
        kind = rng.choice(("open", "days", "month_end"))
        if kind == "open":
            end = None
        elif kind == "days":
            end = start + timedelta(days=rng.randrange(500))
        else:
            end = max(start, month_end(date(start.year + rng.randrange(2), rng.randrange(1, 13), 1)))
        lines.append(Line(customer_id, rng.choice(products), start, end, random_arr(rng), rng.choice(currencies)))
        previous_end = end
    return lines


def random_dataset(rng: random.Random, customer_ids, rates: Rates | None = None) -> Dataset:
    products = PRODUCTS[: rng.randrange(1, 5)]
    currencies = ("", "USD", "EUR", "JPY") if rates else ("",)
    infos, lines, csm, am = [], [], {}, {}
    for customer_id in customer_ids:
        infos.append(CustomerInfo(customer_id, *(rng.choice(("", "a", "b", "unknown")) for _ in range(4))))
        own = random_lines(rng, customer_id, products, currencies)
        lines += own
        change_days = sorted({one.start for one in own} | {one.end + ONE_DAY for one in own if one.end})
        csm[customer_id] = random_spans(rng, customer_id, USERS, change_days)
        am[customer_id] = random_spans(rng, customer_id, USERS, change_days)
    memberships = {user: random_spans(rng, user, TEAMS) for user in USERS[:-1]}
    ownership = Ownership(assignments={"csm": csm, "am": am}, memberships=memberships)
    return Dataset(infos, lines, ownership, rates or Rates())


def write_snapshot(data: Dataset, version: int) -> None:
    SnapshotCustomer.objects.bulk_create(
        SnapshotCustomer(
            version=version,
            customer_id=i.id,
            segment=i.segment,
            region=i.region,
            industry=i.industry,
            use_case=i.use_case,
        )
        for i in data.customers
    )
    SnapshotLine.objects.bulk_create(
        SnapshotLine(
            version=version,
            customer_id=one.customer_id,
            product=one.product,
            start_date=one.start,
            end_date=one.end,
            arr_cents=int(one.arr * 100),
            currency=one.currency,
        )
        for one in data.lines
    )
    SnapshotFxRate.objects.bulk_create(
        SnapshotFxRate(version=version, currency=code, valid_from=day, rate_units=units)
        for code, spans in data.rates.table.items()
        for day, units in spans
    )
    SnapshotAssignment.objects.bulk_create(
        SnapshotAssignment(
            version=version,
            customer_id=span.holder,
            user_id=span.value,
            role=role,
            start_date=span.start,
            end_date=span.end,
        )
        for role, by_customer in data.ownership.assignments.items()
        for spans in by_customer.values()
        for span in spans
    )
    SnapshotMembership.objects.bulk_create(
        SnapshotMembership(
            version=version, user_id=span.holder, team_id=span.value, start_date=span.start, end_date=span.end
        )
        for spans in data.ownership.memberships.values()
        for span in spans
    )


class Company:
    """A random company in version 1, another one (same customers) in version 2 and a third in
    version 3; the reference engine's result for version 1 (and 2)."""

    def __init__(self, seed: int, customers: int = 8):
        rng = random.Random(seed)
        self.customers = [
            Customer.objects.create(external_id=f"c{seed:02d}{n:03d}{rng.randrange(10)}", name=rng.choice(NAMES))
            for n in range(customers)
        ]
        ids = [c.pk for c in self.customers]
        self.names = {c.pk: (c.name, c.external_id) for c in self.customers}
        rates = random_rates(rng) if seed in MULTI_CURRENCY_SEEDS else None
        self.data = random_dataset(rng, ids, rates)
        self.other = random_dataset(rng, ids, random_rates(rng) if rates else None)
        write_snapshot(self.data, 1)
        write_snapshot(self.other, 2)
        write_snapshot(random_dataset(rng, ids, rates), 3)
        self.today = rng.choice([date(2025, 8, 17), date(2026, 1, 31), date(2025, 12, 1), date(2024, 11, 30)])
        self.result = compute(self.data, self.today)
        self.by_period = defaultdict(list)
        for m in self.result.movements:
            self.by_period[(m.granularity, m.period_start)].append(m)
        self.retention = {
            (r.granularity, r.period_start, r.scope_type, r.scope_key, r.role): r for r in self.result.rows
        }
        self.rng = rng

    def movements(self, period):
        return self.by_period[(period.granularity, period.start)]

    def row(self, period, scope: Scope):
        key = scope.object_id if scope.type in ("team", "owner") else scope.key
        return self.retention.get((period.granularity, period.start, scope.type, key, scope.role))

    def scopes(self) -> list[Scope]:
        """Every scope of the retention rows, plus some with nobody in them."""
        scopes = {Scope.company()}
        for r in self.result.rows:
            if r.scope_type in ("team", "owner"):
                scopes.add(Scope(r.scope_type, "", r.role, r.scope_key))
            elif r.scope_type != "company":
                scopes.add(Scope(r.scope_type, r.scope_key))
        scopes |= {
            Scope("team", "", "csm", 99),
            Scope("owner", "", "am", 999),
            Scope("segment", "zzz"),
            Scope("product", "Nope"),
        }
        return sorted(scopes, key=repr)


def engine_tuple(m, names) -> tuple:
    return (
        m.customer_id,
        *names[m.customer_id],
        m.product,
        m.starting_arr,
        m.ending_arr,
        m.cross_sell,
        m.movement,
        m.csm_owner,
        m.csm_team,
        m.am_owner,
        m.am_team,
        m.segment,
        m.region,
        m.industry,
        m.use_case,
        m.tenure_band,
    )


def row_tuple(r) -> tuple:
    return (
        r.customer_id,
        r.customer_name,
        r.external_id,
        r.product,
        r.starting_arr,
        r.ending_arr,
        r.cross_sell,
        r.movement,
        r.csm_owner_id,
        r.csm_team_id,
        r.am_owner_id,
        r.am_team_id,
        r.segment,
        r.region,
        r.industry,
        r.use_case,
        r.tenure_band,
    )


def in_scope(m, scope: Scope | None) -> bool:
    if scope is None:
        return True
    if scope.type == "product":
        return m.product == scope.key
    if m.product:
        return False
    if scope.type == "company":
        return True
    if not m.starting_arr > 0:
        return False
    if scope.type in ("team", "owner"):
        return getattr(m, f"{scope.role}_{scope.type}") == scope.object_id
    column = "tenure_band" if scope.type == "tenure" else scope.type
    return getattr(m, column) == scope.key


def rows(company, period, scope, **kwargs):
    """Every row, read both ways: as one page (cross-sell looked up for the page's rows) and
    unpaged (cross-sell from the sums per customer and product); they must agree."""
    everything = accounts.account_rows(1, period, scope, limit=None, **kwargs)
    assert accounts.account_rows(1, period, scope, limit=10_000, **kwargs) == everything
    return everything


def expected_totals_of(movements):
    cohort = [m for m in movements if m.starting_arr > 0]
    return {
        "starting_arr": sum((m.starting_arr for m in movements), Decimal(0)),
        "expansion": sum((m.expansion for m in cohort), Decimal(0)),
        "cross_sell": sum((m.cross_sell for m in cohort), Decimal(0)),
        "contraction": sum((m.contraction for m in cohort), Decimal(0)),
        "churn": sum((m.churn for m in cohort), Decimal(0)),
        "cohort_ending_arr": sum((m.ending_arr for m in cohort), Decimal(0)),
        "logos_start": len(cohort),
        "logos_churned": sum(1 for m in cohort if m.ending_arr == 0),
    }


SEEDS = [1, 2, 3, 4]


# --- every period, every row ------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_every_period_lists_the_engines_rows_with_every_column(seed):
    company = Company(seed)
    assert company.result.periods, "the seed gives revenue"
    for period in company.result.periods:
        assert accounts.make_period(period.granularity, period.start, company.today) == period
        expected = [engine_tuple(m, company.names) for m in company.movements(period)]
        listed = [row_tuple(r) for r in rows(company, period, None)]
        assert sorted(listed) == sorted(expected), period
        # Sorted by name, then customer id, then product.
        assert [(t[1], t[0], t[3]) for t in listed] == sorted((t[1], t[0], t[3]) for t in expected)
        # The company's totals are its retention row.
        r = company.row(period, Scope.company())
        totals = accounts.account_totals(1, period, Scope.company(), with_cross_sell=True)
        for name in (
            "starting_arr",
            "expansion",
            "cross_sell",
            "contraction",
            "churn",
            "logos_start",
            "logos_churned",
            "new_arr",
            "reactivation_arr",
            "upsell",
        ):
            assert getattr(totals, name) == getattr(r, name), (period, name)
        assert totals.cohort_ending_arr == r.ending_arr
        assert totals.ending_arr == r.ending_arr + r.new_arr + r.reactivation_arr
        assert totals.accounts == sum(1 for m in company.movements(period) if not m.product)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_scope_lists_its_rows_and_adds_up_to_its_figures(seed):
    company = Company(seed)
    periods = company.result.periods
    # Every scope on a sample of the periods (all of them would be slow), month edges and TTM included.
    sample = company.rng.sample(periods, min(8, len(periods))) + [p for p in periods if p.partial][:2]
    for period in sample:
        movements = company.movements(period)
        for scope in company.scopes():
            expected = [m for m in movements if in_scope(m, scope)]
            listed = rows(company, period, scope)
            assert sorted(map(row_tuple, listed)) == sorted(engine_tuple(m, company.names) for m in expected), (
                period,
                scope,
            )
            totals = accounts.account_totals(1, period, scope, with_cross_sell=True)
            plain = accounts.account_totals(1, period, scope)
            assert plain.cross_sell is None and plain.upsell is None
            assert vars(plain) == vars(totals) | {"cross_sell": None}
            r = company.row(period, scope)
            if scope.type not in ("company",):
                want = expected_totals_of(expected)
                for name, value in want.items():
                    assert getattr(totals, name) == value, (period, scope, name)
                if r is None:
                    assert totals.logos_start == 0, (period, scope)
                    continue
            for name in (
                "starting_arr",
                "expansion",
                "cross_sell",
                "contraction",
                "churn",
                "logos_start",
                "logos_churned",
            ):
                assert getattr(totals, name) == getattr(r, name), (period, scope, name)
            assert totals.cohort_ending_arr == r.ending_arr
            assert totals.accounts == len(expected)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_each_figure_lists_its_movements_and_totals_its_amount(seed):
    company = Company(seed)
    periods = company.rng.sample(company.result.periods, min(6, len(company.result.periods)))
    for period in periods:
        for scope in [Scope.company(), *company.rng.sample(company.scopes(), 3)]:
            r = company.row(period, scope)
            for name, figure in FIGURES.items():
                expected = [
                    m for m in company.movements(period) if in_scope(m, scope) and m.movement in figure.movements
                ]
                listed = rows(company, period, scope, figure=name)
                assert sorted(map(row_tuple, listed)) == sorted(engine_tuple(m, company.names) for m in expected)
                totals = accounts.account_totals(1, period, scope, figure=figure)
                assert totals.accounts == len(expected)
                if figure.amount is None:
                    assert totals.amount is None
                    continue
                assert totals.amount == sum((figure.amount(m) for m in expected), Decimal(0))
                assert totals.amount == sum((one.amount(figure) for one in listed), Decimal(0))
                if r is not None and (
                    scope.type == "company" or name not in ("new_arr", "reactivation_arr", "arr_end")
                ):
                    assert totals.amount == figure.of(r), (period, scope, name)
                # A drill-down page: its rows and the same totals from one query.
                page, page_totals = accounts.account_page(1, period, scope, figure=figure, limit=2, offset=1)
                assert page == accounts.account_rows(1, period, scope, figure=figure, limit=2, offset=1)
                assert (page_totals.accounts, page_totals.amount) == (totals.accounts, totals.amount)
                assert (page_totals.starting_arr, page_totals.ending_arr) == (totals.starting_arr, totals.ending_arr)
            for movement in accounts.MOVEMENTS:
                expected = [m for m in company.movements(period) if in_scope(m, scope) and m.movement == movement]
                listed = rows(company, period, scope, movement=movement)
                assert sorted(map(row_tuple, listed)) == sorted(engine_tuple(m, company.names) for m in expected)
                assert accounts.account_totals(1, period, scope, movement=movement).accounts == len(expected)
            # A figure and a movement together narrow to both.
            listed = rows(company, period, scope, figure="starting_arr", movement="new")
            assert listed == []


# --- pages, order, visibility, versions -----------------------------------------------------------


def busiest(company):
    return max(company.result.periods, key=lambda p: (sum(1 for m in company.movements(p) if not m.product), p.start))


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_pages_follow_every_sort_order(seed):
    company = Company(seed, customers=14)
    period = busiest(company)
    scope = Scope.company()
    expected = [m for m in company.movements(period) if in_scope(m, scope)]
    assert len(expected) >= 5
    keys = {
        "name": lambda m: company.names[m.customer_id][0],
        "external_id": lambda m: company.names[m.customer_id][1],
        "starting_arr": lambda m: m.starting_arr,
        "ending_arr": lambda m: m.ending_arr,
        "change": lambda m: m.ending_arr - m.starting_arr,
        "abs_change": lambda m: abs(m.ending_arr - m.starting_arr),
    }
    for name, key in keys.items():
        for descending in (False, True):
            # Ties by customer id then product, ascending either way.
            ordered = sorted(expected, key=lambda m: (m.customer_id, m.product))
            ordered = sorted(ordered, key=key, reverse=descending)
            want = [(m.customer_id, m.product) for m in ordered]
            sort = f"-{name}" if descending else name
            paged, offset = [], 0
            while True:
                page = accounts.account_rows(1, period, scope, sort=sort, limit=3, offset=offset)
                assert len(page) <= 3
                paged += page
                offset += 3
                if len(page) < 3:
                    break
            assert [(r.customer_id, r.product) for r in paged] == want, sort
            assert [
                (r.customer_id, r.product) for r in accounts.account_rows(1, period, scope, sort=sort, limit=None)
            ] == want
            streamed = accounts.iter_account_rows(1, period, scope, sort=sort, chunk_size=2)
            assert [(r.customer_id, r.product) for r in streamed] == want
    with pytest.raises(ValueError, match="Unknown sort"):
        accounts.account_rows(1, period, scope, sort="nonsense")


@pytest.mark.parametrize("seed", SEEDS)
def test_visibility_keeps_rows_of_visible_teams_and_owners(seed):
    company = Company(seed)
    rng = company.rng
    restrictions = [
        Visible(frozenset(), frozenset()),
        Visible(frozenset({7}), frozenset()),
        Visible(frozenset(), frozenset({101})),
        Visible(frozenset(rng.sample(TEAMS, 2)), frozenset(rng.sample(USERS, 2))),
    ]
    for period in rng.sample(company.result.periods, min(6, len(company.result.periods))):
        for visible in restrictions:
            for scope in (None, Scope.company(), Scope("owner", "", "csm", 101), Scope("product", "Core")):
                expected = [
                    m
                    for m in company.movements(period)
                    if in_scope(m, scope)
                    and (
                        m.csm_team in visible.team_ids
                        or m.am_team in visible.team_ids
                        or m.csm_owner in visible.owner_ids
                        or m.am_owner in visible.owner_ids
                    )
                ]
                listed = rows(company, period, scope, visible=visible)
                assert sorted(map(row_tuple, listed)) == sorted(engine_tuple(m, company.names) for m in expected)
                totals = accounts.account_totals(1, period, scope, visible=visible)
                assert totals.accounts == len(expected)
                assert totals.starting_arr == sum((m.starting_arr for m in expected), Decimal(0))
                assert totals.ending_arr == sum((m.ending_arr for m in expected), Decimal(0))


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_filters_narrow_like_the_api(seed):
    company = Company(seed)
    period = busiest(company)
    movements = company.movements(period)
    one = next(m for m in movements if not m.product)
    cases = [
        (Filters(customer_ids=frozenset({one.customer_id})), lambda m: m.customer_id == one.customer_id),
        (Filters(csm_owner_id=one.csm_owner), lambda m: m.csm_owner == one.csm_owner),
        (Filters(am_team_id=one.am_team), lambda m: m.am_team == one.am_team),
        (
            Filters(segment=one.segment, tenure_band=one.tenure_band),
            lambda m: (m.segment, m.tenure_band) == (one.segment, one.tenure_band),
        ),
        (Filters(product=""), lambda m: m.product == ""),
        (Filters(product="Core"), lambda m: m.product == "Core"),
        (Filters(use_case="unknown", csm_team_id=None), lambda m: m.use_case == "unknown" and m.csm_team is None),
    ]
    for filters, keep in cases:
        expected = [m for m in movements if keep(m)]
        listed = rows(company, period, None, filters=filters)
        assert sorted(map(row_tuple, listed)) == sorted(engine_tuple(m, company.names) for m in expected), filters
    # A product filter on a whole-customer scope (and the reverse) leaves nothing.
    assert rows(company, period, Scope.company(), filters=Filters(product="Core")) == []
    assert rows(company, period, Scope("product", "Core"), filters=Filters(product="")) == []
    assert accounts.account_totals(1, period, Scope.company(), filters=Filters(product="Core")).accounts == 0


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_rows_of_another_version_are_never_read(seed):
    company = Company(seed)
    other = compute(company.other, company.today)
    by_period = defaultdict(list)
    for m in other.movements:
        by_period[(m.granularity, m.period_start)].append(m)
    for period in company.rng.sample(other.periods, min(10, len(other.periods))):
        expected = [engine_tuple(m, company.names) for m in by_period[(period.granularity, period.start)]]
        listed = accounts.account_rows(2, period, None, limit=None)
        assert sorted(map(row_tuple, listed)) == sorted(expected), period
        owner_scope = Scope("owner", "", "csm", 101)
        assert sorted(map(row_tuple, accounts.account_rows(2, period, owner_scope, limit=None))) == sorted(
            engine_tuple(m, company.names)
            for m in by_period[(period.granularity, period.start)]
            if in_scope(m, owner_scope)
        )
    # A version with no rows at all answers nothing.
    period = company.result.periods[-1]
    assert accounts.account_rows(9, period, Scope.company()) == []
    assert accounts.account_totals(9, period, Scope.company()).accounts == 0


# --- helpers for the team and owner pages -----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_top_movers(seed):
    company = Company(seed)
    for period in company.rng.sample(company.result.periods, min(10, len(company.result.periods))):
        book = [m for m in company.movements(period) if not m.product and m.starting_arr > 0]
        for role in ("csm", "am"):
            for user in USERS:
                mine = [m for m in book if getattr(m, f"{role}_owner") == user]
                scope = Scope("owner", "", role, user)
                moved = [m for m in mine if m.ending_arr != m.starting_arr]
                moved.sort(key=lambda m: (company.names[m.customer_id][0], m.customer_id))
                moved.sort(key=lambda m: abs(m.ending_arr - m.starting_arr), reverse=True)
                movers = accounts.top_movers(1, period, scope, count=3)
                assert [r.customer_id for r in movers] == [m.customer_id for m in moved[:3]]


def test_bad_arguments_are_refused():
    period = accounts.make_period("month", date(2025, 1, 1), date(2025, 6, 1))
    with pytest.raises(ValueError, match="Unknown scope type"):
        accounts.account_rows(1, period, Scope("nonsense"))
    with pytest.raises(ValueError, match="needs role csm or am"):
        accounts.account_rows(1, period, Scope("team", "", "", 7))
    with pytest.raises(ValueError, match="Unknown movement"):
        accounts.account_rows(1, period, Scope.company(), movement="lost")
    with pytest.raises(ValueError, match="Unknown figure"):
        accounts.account_totals(1, period, Scope.company(), figure="nonsense")
    with pytest.raises(ValueError, match="An offset needs a limit"):
        accounts.account_rows(1, period, Scope.company(), limit=None, offset=5)
