"""SPEC section 3, rule by rule, on small hand-made books.

Every expected figure is worked out by hand from the SPEC's definitions (the arithmetic is in
the comments), never by calling the engine's own helpers: a period [s, l] starts with
a = ARR(c, s-1) and ends with b = ARR(c, l) (l = today for the current, partial period).
Plain Python: no database. Every test runs against both engines (``metrics.engine`` and
``metrics.recompute.engine``) with the same expectations.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from metrics import engine as reference
from metrics.engine import CustomerInfo, Dataset, Line, Ownership, Rates, Span, arr_on
from metrics.recompute import engine as vectorized

ENGINES = {"reference": reference.compute, "vectorized": vectorized.compute}
compute = reference.compute  # the engine under test; the fixture below swaps it per run


@pytest.fixture(autouse=True, params=sorted(ENGINES))
def engine(request, monkeypatch):
    """Every rule holds for both engines: the per-customer reference and the vectorized one."""
    monkeypatch.setattr(f"{__name__}.compute", ENGINES[request.param])
    return request.param


RATE_FIELDS = ("nrr", "grr", "logo_retention")
MONEY_FIELDS = (
    "starting_arr",
    "expansion",
    "upsell",
    "cross_sell",
    "contraction",
    "churn",
    "ending_arr",
    "new_arr",
    "reactivation_arr",
    "previous_arr",
    "lost_arr",
)


# --- building books ---------------------------------------------------------------------------


def d(text: str) -> date:
    return date.fromisoformat(text)


def line(customer: int, product: str, start: str, end: str | None, arr: str, currency: str = "") -> Line:
    return Line(customer, product, d(start), d(end) if end else None, Decimal(arr), currency)


def fx(*rows: tuple[str, str, str]) -> Rates:
    """Rates (currency, valid_from, rate) into USD, the reporting currency."""
    return Rates.from_rows([(currency, d(day), Decimal(rate)) for currency, day, rate in rows], reporting="USD")


def span(holder: int, value: int, start: str, end: str | None = None) -> Span:
    return Span(holder, value, d(start), d(end) if end else None)


def by_holder(spans):
    grouped = defaultdict(list)
    for one in spans:
        grouped[one.holder].append(one)
    return dict(grouped)


def run(lines, today, infos=None, csm=(), am=(), memberships=(), fiscal_year_start_month=1, rates=None):
    infos = infos or [CustomerInfo(i) for i in sorted({one.customer_id for one in lines})]
    ownership = Ownership(assignments={"csm": by_holder(csm), "am": by_holder(am)}, memberships=by_holder(memberships))
    return compute(Dataset(infos, lines, ownership, rates or Rates()), d(today), fiscal_year_start_month)


# --- reading results ------------------------------------------------------------------------


def find_rows(result, granularity, start, scope_type="company", key="", role=""):
    wanted = (granularity, d(start), scope_type, key, role)
    return [r for r in result.rows if (r.granularity, r.period_start, r.scope_type, r.scope_key, r.role) == wanted]


def row(result, granularity, start, scope_type="company", key="", role=""):
    found = find_rows(result, granularity, start, scope_type, key, role)
    assert len(found) == 1, f"expected one {granularity} {start} {scope_type}/{key}/{role} row, got {found}"
    return found[0]


def scopes_of(result, granularity, start, scope_types=None):
    """(scope_type, key, role) of every row of one period, optionally only some scope types."""
    return {
        (r.scope_type, r.scope_key, r.role)
        for r in result.rows
        if r.granularity == granularity
        and r.period_start == d(start)
        and (scope_types is None or r.scope_type in scope_types)
    }


def movements(result, granularity, start, customer, product=""):
    return [
        m
        for m in result.movements
        if (m.granularity, m.period_start, m.customer_id, m.product) == (granularity, d(start), customer, product)
    ]


def movement(result, granularity, start, customer, product=""):
    found = movements(result, granularity, start, customer, product)
    assert len(found) == 1, f"expected one movement of customer {customer} {product!r} in {granularity} {start}"
    return found[0]


def check(obj, **expected):
    """Money as strings compared as Decimals; rates as strings compared exactly (four decimals)."""
    for name, value in expected.items():
        actual = getattr(obj, name)
        if value is not None and name in RATE_FIELDS:
            assert actual is not None and str(actual) == value, f"{name}: {actual!r} != {value}"
        elif value is not None and name in MONEY_FIELDS:
            assert isinstance(actual, Decimal) and actual == Decimal(value), f"{name}: {actual!r} != {value}"
        else:
            assert actual == value, f"{name}: {actual!r} != {value!r}"


def cases_of(result, customer=None):
    return sorted(
        (
            (c.customer_id, c.date, c.kind, c.previous_arr, c.new_arr, c.lost_arr)
            for c in result.cases
            if customer is None or c.customer_id == customer
        ),
    )


# --- ARR on a day -----------------------------------------------------------------------------


def test_arr_on_a_day_sums_open_lines_with_inclusive_start_and_end():
    lines = [
        line(1, "A", "2025-01-01", "2025-03-31", "100.00"),
        line(1, "B", "2025-02-15", None, "50.00"),
    ]
    assert arr_on(lines, d("2024-12-31")) == 0  # before every start
    assert arr_on(lines, d("2025-01-01")) == Decimal("100.00")  # start day counts
    assert arr_on(lines, d("2025-02-14")) == Decimal("100.00")
    assert arr_on(lines, d("2025-02-15")) == Decimal("150.00")  # 100 + 50
    assert arr_on(lines, d("2025-03-31")) == Decimal("150.00")  # end day counts (inclusive)
    assert arr_on(lines, d("2025-04-01")) == Decimal("50.00")  # A gone, B open-ended
    assert arr_on(lines, d("2031-06-30")) == Decimal("50.00")
    assert arr_on(lines, d("2025-03-31"), product="A") == Decimal("100.00")
    assert arr_on(lines, d("2025-02-14"), product="B") == 0


def test_engine_measures_a_period_on_the_day_before_it_and_on_its_last_day():
    lines = [
        line(1, "A", "2025-01-01", "2025-03-31", "100.00"),
        line(1, "B", "2025-02-15", None, "50.00"),
    ]
    result = run(lines, "2025-05-10")
    # April: a = ARR(Mar 31) = 100 + 50 = 150, b = ARR(Apr 30) = 50 -> contraction 100.
    check(movement(result, "month", "2025-04-01", 1), starting_arr="150", ending_arr="50", movement="contraction")
    check(
        row(result, "month", "2025-04-01"),
        starting_arr="150",
        contraction="100",
        churn="0",
        ending_arr="50",
        nrr="0.3333",
        grr="0.3333",
    )  # 50 / 150 = 0.33333..
    # February: a = ARR(Jan 31) = 100, b = ARR(Feb 28) = 150 -> expansion 50, all cross-sell (B had 0 on Jan 31).
    check(
        row(result, "month", "2025-02-01"),
        starting_arr="100",
        expansion="50",
        cross_sell="50",
        upsell="0",
        ending_arr="150",
        nrr="1.5000",
        grr="1.0000",
    )
    # Per product in April: A 100 -> 0 (churn), B 50 -> 50.
    check(
        row(result, "month", "2025-04-01", "product", "A"),
        starting_arr="100",
        churn="100",
        ending_arr="0",
        logos_churned=1,
    )
    check(row(result, "month", "2025-04-01", "product", "B"), starting_arr="50", ending_arr="50", churn="0")


# --- month edges ------------------------------------------------------------------------------


def test_a_line_starting_on_the_first_day_of_a_month_is_new_in_that_month():
    lines = [
        line(1, "A", "2025-01-01", None, "100.00"),  # the existing book
        line(2, "A", "2025-03-01", None, "1200.00"),
    ]
    result = run(lines, "2025-06-15")
    # February: customer 2 has ARR 0 on Jan 31 and on Feb 28: not there at all.
    check(row(result, "month", "2025-02-01"), new_arr="0", starting_arr="100")
    assert movements(result, "month", "2025-02-01", 2) == []
    # March: ARR(2, Feb 28) = 0, ARR(2, Mar 31) = 1200, first revenue on s -> new 1200; the cohort is customer 1.
    check(
        row(result, "month", "2025-03-01"),
        new_arr="1200",
        reactivation_arr="0",
        starting_arr="100",
        ending_arr="100",
        logos_start=1,
        nrr="1.0000",
    )
    check(movement(result, "month", "2025-03-01", 2), movement="new", starting_arr="0", ending_arr="1200")
    # April: both in the cohort: 100 + 1200 = 1300.
    check(row(result, "month", "2025-04-01"), starting_arr="1300", new_arr="0", logos_start=2)


def test_a_line_ending_on_the_last_day_of_a_month_churns_in_the_next_month():
    lines = [
        line(1, "A", "2025-01-01", "2025-03-31", "600.00"),
        line(2, "A", "2025-01-01", None, "400.00"),
    ]
    result = run(lines, "2025-06-15")
    # March: ARR(1, Mar 31) = 600 still -> no churn in March. Starting 600 + 400 = 1000.
    check(row(result, "month", "2025-03-01"), starting_arr="1000", churn="0", ending_arr="1000", logos_churned=0)
    # April: a = 600, b = ARR(1, Apr 30) = 0 -> churn 600; ending 400; NRR = GRR = 400/1000.
    check(
        row(result, "month", "2025-04-01"),
        starting_arr="1000",
        churn="600",
        contraction="0",
        ending_arr="400",
        nrr="0.4000",
        grr="0.4000",
        logos_start=2,
        logos_churned=1,
        logo_retention="0.5000",
    )
    check(movement(result, "month", "2025-04-01", 1), movement="churn", starting_arr="600", ending_arr="0")
    # The churn case is on the first day without the revenue, April 1, losing 600.
    assert cases_of(result) == [(1, d("2025-04-01"), "churn", Decimal("600"), Decimal("0"), Decimal("600"))]
    # May: customer 1 is no longer in the cohort.
    check(row(result, "month", "2025-05-01"), starting_arr="400", logos_start=1)
    assert movements(result, "month", "2025-05-01", 1) == []


# --- up- and downgrades ------------------------------------------------------------------------


def test_same_day_downgrade_is_contraction_not_churn_plus_new():
    lines = [
        line(1, "A", "2025-01-01", "2025-05-14", "1000.00"),
        line(1, "A", "2025-05-15", None, "800.00"),  # starts the day after the old line's last day
    ]
    result = run(lines, "2025-07-01")
    # May: a = 1000, b = 800 -> contraction 200, no churn, no new, no reactivation.
    check(
        row(result, "month", "2025-05-01"),
        starting_arr="1000",
        contraction="200",
        churn="0",
        expansion="0",
        ending_arr="800",
        new_arr="0",
        reactivation_arr="0",
        nrr="0.8000",
        grr="0.8000",
        logos_churned=0,
    )
    check(movement(result, "month", "2025-05-01", 1), movement="contraction")
    check(row(result, "month", "2025-05-01", "product", "A"), starting_arr="1000", contraction="200", ending_arr="800")
    # One contraction case on May 15: 1000 -> 800, lost 200; never a churn case.
    assert cases_of(result) == [(1, d("2025-05-15"), "contraction", Decimal("1000"), Decimal("800"), Decimal("200"))]


def test_same_day_upgrade_of_the_same_product_is_upsell():
    lines = [
        line(1, "A", "2025-01-01", "2025-05-14", "1000.00"),
        line(1, "A", "2025-05-15", None, "1300.00"),
    ]
    result = run(lines, "2025-07-01")
    # May: a = 1000, b = 1300 -> expansion 300; product A had ARR on Apr 30, so cross-sell 0, upsell 300.
    check(row(result, "month", "2025-05-01"), expansion="300", cross_sell="0", upsell="300", nrr="1.3000", grr="1.0000")
    assert result.cases == []


def test_cross_sell_with_a_simultaneous_downgrade_is_capped_at_the_net_expansion():
    lines = [
        line(1, "A", "2025-01-01", "2025-05-14", "1000.00"),
        line(1, "A", "2025-05-15", None, "700.00"),
        line(1, "B", "2025-05-20", None, "500.00"),
    ]
    result = run(lines, "2025-07-01")
    # May: a = 1000, b = 700 + 500 = 1200 -> expansion 200.
    # New products (ARR on Apr 30 = 0): B, worth 500 on May 31. cross_sell = min(200, 500) = 200, upsell 0.
    check(
        row(result, "month", "2025-05-01"),
        starting_arr="1000",
        expansion="200",
        cross_sell="200",
        upsell="0",
        contraction="0",
        ending_arr="1200",
        nrr="1.2000",
        grr="1.0000",
    )
    check(movement(result, "month", "2025-05-01", 1), movement="expansion", cross_sell="200")
    # Q2: a = ARR(Mar 31) = 1000, b = ARR(Jun 30) = 1200: the same split.
    check(row(result, "quarter", "2025-04-01"), expansion="200", cross_sell="200", upsell="0")
    # Product scope in May: A 1000 -> 700 (contraction 300); B is not in May's product cohort.
    check(
        row(result, "month", "2025-05-01", "product", "A"),
        starting_arr="1000",
        contraction="300",
        ending_arr="700",
        cross_sell="0",
    )
    assert find_rows(result, "month", "2025-05-01", "product", "B") == []
    # June: B's own cohort: a = ARR(B, May 31) = 500.
    check(row(result, "month", "2025-06-01", "product", "B"), starting_arr="500", ending_arr="500")
    # The downgrade day is a contraction case (1000 -> 700); the cross-sell day is a rise, no case.
    assert cases_of(result) == [(1, d("2025-05-15"), "contraction", Decimal("1000"), Decimal("700"), Decimal("300"))]


def test_upsell_and_cross_sell_split_including_a_product_bought_back():
    lines = [
        # Customer 1: A upgraded 1000 -> 1100 on June 1, B added on June 10.
        line(1, "A", "2025-01-01", "2025-05-31", "1000.00"),
        line(1, "A", "2025-06-01", None, "1100.00"),
        line(1, "B", "2025-06-10", None, "300.00"),
        # Customer 2: B dropped in February, bought back in June: ARR(2, B, May 31) = 0, so it is cross-sell.
        line(2, "A", "2025-01-01", None, "1000.00"),
        line(2, "B", "2025-01-01", "2025-02-28", "200.00"),
        line(2, "B", "2025-06-05", None, "250.00"),
    ]
    result = run(lines, "2025-08-01")
    # Customer 1, June: a = 1000, b = 1400, expansion 400; cross = min(400, B 300) = 300; upsell 100.
    check(movement(result, "month", "2025-06-01", 1), expansion="400", cross_sell="300", upsell="100")
    # Customer 2, June: a = 1000, b = 1250, expansion 250; cross = min(250, 250) = 250; upsell 0.
    check(movement(result, "month", "2025-06-01", 2), expansion="250", cross_sell="250", upsell="0")
    # Company June: starting 2000, expansion 650, cross 550, upsell 100, ending 2650; NRR 2650/2000 = 1.325.
    check(
        row(result, "month", "2025-06-01"),
        starting_arr="2000",
        expansion="650",
        cross_sell="550",
        upsell="100",
        ending_arr="2650",
        nrr="1.3250",
        grr="1.0000",
    )


# --- leaving and coming back ------------------------------------------------------------------


def test_leave_and_return_inside_a_quarter_is_retained_for_the_quarter():
    lines = [
        line(1, "A", "2025-01-01", "2025-04-30", "900.00"),
        line(1, "A", "2025-06-01", None, "900.00"),
        line(2, "A", "2025-01-01", None, "100.00"),
    ]
    result = run(lines, "2025-08-15")
    # Q2 [Apr 1, Jun 30]: a = ARR(Mar 31) = 900 + 100, b = ARR(Jun 30) = 900 + 100: retained, no churn.
    check(
        row(result, "quarter", "2025-04-01"),
        starting_arr="1000",
        churn="0",
        contraction="0",
        ending_arr="1000",
        logos_churned=0,
        nrr="1.0000",
        grr="1.0000",
        reactivation_arr="0",
    )
    check(movement(result, "quarter", "2025-04-01", 1), movement="none")
    # May: a(1) = ARR(Apr 30) = 900, b(1) = ARR(May 31) = 0 -> churn 900; NRR 100/1000.
    check(
        row(result, "month", "2025-05-01"),
        starting_arr="1000",
        churn="900",
        ending_arr="100",
        logos_churned=1,
        nrr="0.1000",
        grr="0.1000",
    )
    # June: customer 1 had revenue before Jun 1, none on May 31, some on Jun 30 -> reactivation, outside the cohort.
    check(
        row(result, "month", "2025-06-01"),
        starting_arr="100",
        ending_arr="100",
        reactivation_arr="900",
        new_arr="0",
        logos_start=1,
        nrr="1.0000",
    )
    check(movement(result, "month", "2025-06-01", 1), movement="reactivation", starting_arr="0", ending_arr="900")
    # One case only: the churn on May 1; coming back is not a case.
    assert cases_of(result) == [(1, d("2025-05-01"), "churn", Decimal("900"), Decimal("0"), Decimal("900"))]


def test_overlapping_lines_add_up_and_a_one_day_overlap_is_a_one_day_peak():
    lines = [
        line(1, "A", "2025-01-01", None, "100.00"),
        line(1, "A", "2025-01-10", "2025-02-20", "200.00"),
        # Customer 2: the old line still runs on the day the new one starts (the typing slip the import warns on).
        line(2, "A", "2025-01-01", "2025-05-15", "1000.00"),
        line(2, "A", "2025-05-15", None, "800.00"),
    ]
    result = run(lines, "2025-07-01")
    # Customer 1, January: a = 0, b = ARR(Jan 31) = 100 + 200 = 300 -> new 300.
    check(movement(result, "month", "2025-01-01", 1), movement="new", ending_arr="300")
    # Customer 1, February: a = 300, b = ARR(Feb 28) = 100 -> contraction 200.
    check(movement(result, "month", "2025-02-01", 1), movement="contraction", starting_arr="300", ending_arr="100")
    # Customer 2: ARR(May 15) = 1800, ARR(May 16) = 800 -> one contraction case on May 16, lost 1000;
    # May as a period: a = 1000, b = 800 -> contraction 200.
    check(movement(result, "month", "2025-05-01", 2), starting_arr="1000", ending_arr="800", contraction="200")
    assert cases_of(result) == [
        (1, d("2025-02-21"), "contraction", Decimal("300"), Decimal("100"), Decimal("200")),
        (2, d("2025-05-16"), "contraction", Decimal("1800"), Decimal("800"), Decimal("1000")),
    ]


# --- attribution ------------------------------------------------------------------------------


def test_unassigned_customers_and_teams_have_key_none():
    lines = [line(1, "A", "2025-01-01", None, "100.00"), line(2, "A", "2025-01-01", None, "200.00")]
    result = run(lines, "2025-03-10", csm=[span(1, 10, "2024-01-01")], memberships=[span(10, 7, "2024-01-01")])
    feb = "2025-02-01"
    # Customer 1: csm 10 (team 7), no am. Customer 2: nobody. Starting ARR = ARR(Jan 31).
    check(row(result, "month", feb, "owner", 10, "csm"), starting_arr="100")
    check(row(result, "month", feb, "owner", None, "csm"), starting_arr="200")
    check(row(result, "month", feb, "owner", None, "am"), starting_arr="300", logos_start=2)  # 100 + 200
    check(row(result, "month", feb, "team", 7, "csm"), starting_arr="100")
    check(row(result, "month", feb, "team", None, "csm"), starting_arr="200")
    check(row(result, "month", feb, "team", None, "am"), starting_arr="300")
    assert scopes_of(result, "month", feb, {"owner", "team"}) == {
        ("owner", 10, "csm"),
        ("owner", None, "csm"),
        ("owner", None, "am"),
        ("team", 7, "csm"),
        ("team", None, "csm"),
        ("team", None, "am"),
    }
    check(movement(result, "month", feb, 2), csm_owner=None, csm_team=None, am_owner=None, am_team=None)


def test_mid_period_transfer_keeps_the_period_with_the_owner_on_its_first_day():
    lines = [
        line(1, "A", "2024-10-01", "2025-02-20", "500.00"),  # churns on Feb 21
        line(2, "A", "2024-10-01", None, "300.00"),
    ]
    csm = [span(1, 10, "2024-01-01", "2025-02-14"), span(1, 11, "2025-02-15"), span(2, 11, "2024-01-01")]
    am = [span(1, 20, "2024-01-01", "2025-02-01"), span(1, 21, "2025-02-02")]  # the am changes on Feb 2
    memberships = [span(10, 7, "2024-01-01"), span(11, 8, "2024-01-01")]
    result = run(lines, "2025-04-10", csm=csm, am=am, memberships=memberships)
    # February (s = Feb 1, owner 10): a = 500, b = ARR(Feb 28) = 0 -> owner 10 churn 500, NRR 0.
    check(
        row(result, "month", "2025-02-01", "owner", 10, "csm"),
        starting_arr="500",
        churn="500",
        ending_arr="0",
        nrr="0.0000",
        grr="0.0000",
        logos_churned=1,
    )
    check(row(result, "month", "2025-02-01", "owner", 11, "csm"), starting_arr="300", churn="0")  # customer 2 only
    check(row(result, "month", "2025-02-01", "team", 7, "csm"), churn="500")
    check(row(result, "month", "2025-02-01", "team", 8, "csm"), starting_arr="300", churn="0")
    check(movement(result, "month", "2025-02-01", 1), csm_owner=10, csm_team=7, am_owner=20)
    check(row(result, "month", "2025-02-01", "owner", 20, "am"), starting_arr="500", churn="500")
    assert find_rows(result, "month", "2025-02-01", "owner", 21, "am") == []
    # Q1 (s = Jan 1, owner 10): a = ARR(Dec 31) = 500, b = ARR(Mar 31) = 0.
    check(row(result, "quarter", "2025-01-01", "owner", 10, "csm"), starting_arr="500", churn="500")
    # March: customer 1 is out of every cohort, so owner 10 has no row.
    assert find_rows(result, "month", "2025-03-01", "owner", 10, "csm") == []
    # The churn case (Feb 21) belongs to the owner on Feb 20: 11, in team 8.
    (case,) = result.cases
    check(case, date=d("2025-02-21"), kind="churn", lost_arr="500", csm_owner=11, csm_team=8, am_owner=21)


def test_team_move_attributes_to_the_team_on_the_first_day():
    lines = [line(1, "A", "2024-10-01", None, "400.00")]
    memberships = [span(10, 7, "2024-01-01", "2025-02-14"), span(10, 8, "2025-02-15")]
    result = run(lines, "2025-04-10", csm=[span(1, 10, "2024-01-01")], memberships=memberships)
    # February (s = Feb 1): user 10 is in team 7. March (s = Mar 1): team 8.
    check(row(result, "month", "2025-02-01", "team", 7, "csm"), starting_arr="400")
    assert find_rows(result, "month", "2025-02-01", "team", 8, "csm") == []
    check(row(result, "month", "2025-03-01", "team", 8, "csm"), starting_arr="400")
    assert find_rows(result, "month", "2025-03-01", "team", 7, "csm") == []
    check(row(result, "quarter", "2025-01-01", "team", 7, "csm"), starting_arr="400")  # s = Jan 1
    check(row(result, "month", "2025-03-01", "owner", 10, "csm"), starting_arr="400")  # the owner does not change


def test_owner_without_membership_on_the_first_day_has_team_none():
    lines = [line(1, "A", "2024-10-01", None, "250.00")]
    result = run(
        lines,
        "2025-03-10",
        csm=[span(1, 12, "2024-01-01")],  # user 12: no membership at all
        am=[span(1, 13, "2024-01-01")],
        memberships=[span(13, 9, "2024-01-01", "2025-01-31")],  # user 13 leaves team 9 after Jan 31
    )
    check(row(result, "month", "2025-02-01", "owner", 12, "csm"), starting_arr="250")
    check(row(result, "month", "2025-02-01", "team", None, "csm"), starting_arr="250")
    check(row(result, "month", "2025-01-01", "team", 9, "am"), starting_arr="250")  # Jan 1: still in team 9
    check(row(result, "month", "2025-02-01", "team", None, "am"), starting_arr="250")  # Feb 1: no team
    check(row(result, "month", "2025-02-01", "owner", 13, "am"), starting_arr="250")


# --- empty cohorts and undefined rates --------------------------------------------------------


def test_zero_starting_arr_gives_undefined_rates_and_a_company_row_all_the_same():
    lines = [line(1, "A", "2025-01-15", "2025-02-10", "100.00")]
    result = run(lines, "2025-04-10")
    # January: a = ARR(Dec 31) = 0 -> empty cohort; new = ARR(Jan 31) = 100.
    check(
        row(result, "month", "2025-01-01"),
        starting_arr="0",
        ending_arr="0",
        logos_start=0,
        new_arr="100",
        nrr=None,
        grr=None,
        logo_retention=None,
    )
    assert scopes_of(result, "month", "2025-01-01") == {("company", "", "")}
    # February: churn 100 (ARR(Feb 28) = 0).
    check(row(result, "month", "2025-02-01"), starting_arr="100", churn="100", nrr="0.0000", grr="0.0000")
    # March and April: nobody has revenue; the company row is still there, with undefined rates.
    for month in ("2025-03-01", "2025-04-01"):
        check(row(result, "month", month), starting_arr="0", new_arr="0", reactivation_arr="0", nrr=None, grr=None)
        assert scopes_of(result, "month", month) == {("company", "", "")}
    # Year 2025: a = 0 -> undefined; new = ARR(today) = 0 (measured on today, partial).
    check(row(result, "year", "2025-01-01"), starting_arr="0", nrr=None, grr=None, partial=True)


def test_every_period_from_the_first_month_with_revenue_to_the_current_one_has_a_company_row():
    lines = [
        line(1, "A", "2025-01-15", None, "100.00"),
        line(2, "A", "2024-05-01", "2024-12-31", "0.00"),  # a zero line is not revenue: periods start in January
    ]
    result = run(lines, "2025-04-10")
    company = sorted((r.granularity, r.period_start, r.period_end) for r in result.rows if r.scope_type == "company")
    assert company == sorted(
        [
            ("month", d("2025-01-01"), d("2025-01-31")),
            ("month", d("2025-02-01"), d("2025-02-28")),
            ("month", d("2025-03-01"), d("2025-03-31")),
            ("month", d("2025-04-01"), d("2025-04-30")),
            ("quarter", d("2025-01-01"), d("2025-03-31")),
            ("quarter", d("2025-04-01"), d("2025-06-30")),
            ("year", d("2025-01-01"), d("2025-12-31")),
            ("ttm", d("2024-02-01"), d("2025-01-31")),
            ("ttm", d("2024-03-01"), d("2025-02-28")),
            ("ttm", d("2024-04-01"), d("2025-03-31")),
            ("ttm", d("2024-05-01"), d("2025-04-30")),
        ]
    )


def test_rows_only_for_non_empty_cohorts_except_the_company():
    lines = [line(1, "A", "2024-12-01", "2025-01-31", "500.00")]
    infos = [CustomerInfo(1, segment="SMB", region="EU", industry="Retail", use_case="Billing")]
    result = run(
        lines,
        "2025-03-15",
        infos=infos,
        csm=[span(1, 10, "2024-01-01")],
        am=[span(1, 20, "2024-01-01")],
        memberships=[span(10, 7, "2024-01-01")],
    )
    # February: a = ARR(Jan 31) = 500 -> every scope has a row (tenure: Dec 1 -> Feb 1 = 2 months, 0-6).
    assert scopes_of(result, "month", "2025-02-01") == {
        ("company", "", ""),
        ("team", 7, "csm"),
        ("team", None, "am"),
        ("owner", 10, "csm"),
        ("owner", 20, "am"),
        ("segment", "SMB", ""),
        ("region", "EU", ""),
        ("industry", "Retail", ""),
        ("use_case", "Billing", ""),
        ("tenure", "0-6", ""),
        ("product", "A", ""),
    }
    # March: a = ARR(Feb 28) = 0 -> only the company row.
    assert scopes_of(result, "month", "2025-03-01") == {("company", "", "")}


# --- the bridge -------------------------------------------------------------------------------


def test_new_and_reactivation_enter_the_bridge_never_nrr_or_grr():
    lines = [
        line(1, "A", "2025-01-01", None, "1000.00"),  # the cohort
        line(2, "A", "2025-03-10", None, "400.00"),  # new in March
        line(3, "A", "2025-01-01", "2025-01-31", "200.00"),  # reactivated in March
        line(3, "A", "2025-03-05", None, "300.00"),
        line(4, "A", "2024-06-01", "2025-02-28", "0.00"),  # zero ARR: no revenue, so new in March
        line(4, "A", "2025-03-20", None, "250.00"),
    ]
    result = run(lines, "2025-05-10")
    # March: cohort = {1} (ARR on Feb 28: 1000, 0, 0, 0). new = 400 + 250 = 650, reactivation = 300.
    check(
        row(result, "month", "2025-03-01"),
        starting_arr="1000",
        ending_arr="1000",
        expansion="0",
        new_arr="650",
        reactivation_arr="300",
        logos_start=1,
        nrr="1.0000",
        grr="1.0000",
    )
    check(movement(result, "month", "2025-03-01", 2), movement="new")
    check(movement(result, "month", "2025-03-01", 3), movement="reactivation")
    check(movement(result, "month", "2025-03-01", 4), movement="new")
    # Other scopes see the cohort only, and carry no new/reactivation figures.
    check(
        row(result, "month", "2025-03-01", "segment", "unknown"),
        starting_arr="1000",
        ending_arr="1000",
        new_arr=None,
        reactivation_arr=None,
    )
    check(row(result, "month", "2025-03-01", "owner", None, "csm"), starting_arr="1000", expansion="0")
    # Q1: a = ARR(Dec 31) = 0 for everyone; all first revenue days are in Q1 -> all new:
    # 1000 + 400 + 300 + 250 = 1950 (customer 3 left and came back inside Q1: still new, not reactivation).
    check(row(result, "quarter", "2025-01-01"), starting_arr="0", new_arr="1950", reactivation_arr="0", nrr=None)
    # April: all four in the cohort: 1950.
    check(row(result, "month", "2025-04-01"), starting_arr="1950", logos_start=4)


def test_bridge_identity_on_concrete_numbers():
    lines = [
        line(1, "A", "2025-01-01", None, "1000.00"),  # unchanged
        line(2, "A", "2025-01-01", "2025-03-14", "500.00"),  # upgraded 500 -> 800
        line(2, "A", "2025-03-15", None, "800.00"),
        line(3, "A", "2025-01-01", "2025-03-09", "400.00"),  # downgraded 400 -> 100
        line(3, "A", "2025-03-10", None, "100.00"),
        line(4, "A", "2025-01-01", "2025-03-20", "250.00"),  # churned
        line(5, "A", "2025-03-03", None, "600.00"),  # new
        line(6, "A", "2024-11-01", "2024-12-31", "150.00"),  # reactivated
        line(6, "A", "2025-03-25", None, "150.00"),
    ]
    result = run(lines, "2025-04-15")
    # Total on Feb 28 = 1000 + 500 + 400 + 250 = 2150; on Mar 31 = 1000 + 800 + 100 + 0 + 600 + 150 = 2650.
    # Cohort ending = 1000 + 800 + 100 + 0 = 1900 = 2150 + 300 - 300 - 250.
    # Bridge: 2150 + new 600 + reactivation 150 + expansion 300 - contraction 300 - churn 250 = 2650.
    march = row(result, "month", "2025-03-01")
    check(
        march,
        starting_arr="2150",
        expansion="300",
        upsell="300",
        cross_sell="0",
        contraction="300",
        churn="250",
        ending_arr="1900",
        new_arr="600",
        reactivation_arr="150",
        logos_start=4,
        logos_churned=1,
        nrr="0.8837",  # 1900 / 2150 = 0.88372..
        grr="0.7442",  # (2150 - 300 - 250) / 2150 = 1600 / 2150 = 0.74418..
        logo_retention="0.7500",
    )  # 1 - 1/4
    total_end = march.ending_arr + march.new_arr + march.reactivation_arr
    assert total_end == Decimal("2650")
    assert (
        total_end
        == march.starting_arr
        + march.new_arr
        + march.reactivation_arr
        + march.expansion
        - march.contraction
        - march.churn
    )


# --- periods ----------------------------------------------------------------------------------


def test_quarters_and_years_are_point_to_point_not_products_of_monthly_rates():
    lines = [
        line(1, "A", "2024-06-01", None, "1000.00"),
        line(2, "A", "2024-06-01", "2025-01-31", "1000.00"),  # gone in February ...
        line(2, "A", "2025-03-01", None, "1000.00"),  # ... back in March
    ]
    result = run(lines, "2026-02-10")
    # Monthly NRR: Jan 2000/2000 = 1, Feb 1000/2000 = 0.5, Mar (cohort = customer 1) 1000/1000 = 1: product 0.5.
    check(row(result, "month", "2025-01-01"), nrr="1.0000")
    check(row(result, "month", "2025-02-01"), nrr="0.5000", grr="0.5000", churn="1000")
    check(row(result, "month", "2025-03-01"), nrr="1.0000", starting_arr="1000", reactivation_arr="1000")
    # Q1: a = ARR(Dec 31) = 2000, b = ARR(Mar 31) = 2000 -> 1, customer 2 retained.
    check(
        row(result, "quarter", "2025-01-01"),
        starting_arr="2000",
        ending_arr="2000",
        churn="0",
        reactivation_arr="0",
        logos_churned=0,
        nrr="1.0000",
        grr="1.0000",
    )
    check(movement(result, "quarter", "2025-01-01", 2), movement="none")
    # Year 2025: a = ARR(2024-12-31) = 2000, b = ARR(2025-12-31) = 2000.
    check(
        row(result, "year", "2025-01-01"),
        starting_arr="2000",
        ending_arr="2000",
        nrr="1.0000",
        grr="1.0000",
        logos_churned=0,
        partial=False,
        period_end=d("2025-12-31"),
    )


def test_trailing_twelve_months_start_on_the_first_day_of_month_m_minus_11():
    lines = [
        line(1, "A", "2024-06-15", "2025-03-31", "1000.00"),
        line(1, "A", "2025-04-01", None, "1500.00"),
        line(2, "A", "2024-07-01", None, "700.00"),
    ]
    result = run(lines, "2025-08-10")
    # m = June 2025: s = 2024-07-01, l = 2025-06-30. a = ARR(2024-06-30): 1000 and 0; b: 1500 and 700.
    ttm = row(result, "ttm", "2024-07-01")
    check(
        ttm,
        period_end=d("2025-06-30"),
        partial=False,
        starting_arr="1000",
        expansion="500",
        ending_arr="1500",
        nrr="1.5000",
        grr="1.0000",
        new_arr="700",
    )  # customer 2's first revenue day is s itself: new
    # m = June 2024 (the first month): s = 2023-07-01, a = 0 -> undefined; new = ARR(2024-06-30) = 1000.
    check(row(result, "ttm", "2023-07-01"), period_end=d("2024-06-30"), starting_arr="0", nrr=None, new_arr="1000")
    # m = July 2025: s = 2024-08-01, a = 1000 + 700 = 1700, b = 1500 + 700 = 2200 -> 2200 / 1700 = 1.29411..
    check(row(result, "ttm", "2024-08-01"), starting_arr="1700", ending_arr="2200", nrr="1.2941")
    # m = August 2025, the current month: partial, ends on the calendar last day.
    check(row(result, "ttm", "2024-09-01"), period_end=d("2025-08-31"), partial=True)
    # One TTM row per month from June 2024 to August 2025: 15.
    assert len({r.period_start for r in result.rows if r.granularity == "ttm"}) == 15


def test_fiscal_year_starting_in_april():
    lines = [line(1, "A", "2024-03-15", None, "1000.00"), line(1, "B", "2025-02-01", None, "200.00")]
    result = run(lines, "2025-08-10", fiscal_year_start_month=4)
    periods = {(p.granularity, p.start, p.end) for p in result.periods if p.granularity in ("quarter", "year")}
    # Months Mar 2024 .. Aug 2025; fiscal quarters Apr-Jun, Jul-Sep, Oct-Dec, Jan-Mar; years Apr-Mar.
    assert periods == {
        ("quarter", d("2024-01-01"), d("2024-03-31")),
        ("quarter", d("2024-04-01"), d("2024-06-30")),
        ("quarter", d("2024-07-01"), d("2024-09-30")),
        ("quarter", d("2024-10-01"), d("2024-12-31")),
        ("quarter", d("2025-01-01"), d("2025-03-31")),
        ("quarter", d("2025-04-01"), d("2025-06-30")),
        ("quarter", d("2025-07-01"), d("2025-09-30")),
        ("year", d("2023-04-01"), d("2024-03-31")),
        ("year", d("2024-04-01"), d("2025-03-31")),
        ("year", d("2025-04-01"), d("2026-03-31")),
    }
    # FY Apr 2024 - Mar 2025: a = ARR(2024-03-31) = 1000, b = ARR(2025-03-31) = 1200, B is cross-sell.
    check(
        row(result, "year", "2024-04-01"),
        starting_arr="1000",
        expansion="200",
        cross_sell="200",
        ending_arr="1200",
        nrr="1.2000",
        partial=False,
    )
    # FY from Apr 2025, current: measured on today, a = 1200 = b.
    check(
        row(result, "year", "2025-04-01"),
        starting_arr="1200",
        ending_arr="1200",
        partial=True,
        period_end=d("2026-03-31"),
    )
    # FY Apr 2023 - Mar 2024: revenue starts inside it -> new 1000.
    check(row(result, "year", "2023-04-01"), starting_arr="0", new_arr="1000", nrr=None)


def test_fiscal_year_starting_in_february_crosses_the_calendar_year():
    lines = [line(1, "A", "2024-11-20", None, "100.00")]
    result = run(lines, "2025-02-10", fiscal_year_start_month=2)
    periods = {(p.granularity, p.start, p.end) for p in result.periods if p.granularity in ("quarter", "year")}
    # Quarters Feb-Apr, May-Jul, Aug-Oct, Nov-Jan; years Feb-Jan.
    assert periods == {
        ("quarter", d("2024-11-01"), d("2025-01-31")),
        ("quarter", d("2025-02-01"), d("2025-04-30")),
        ("year", d("2024-02-01"), d("2025-01-31")),
        ("year", d("2025-02-01"), d("2026-01-31")),
    }


def test_the_current_period_is_measured_on_today_and_flagged_partial():
    lines = [
        line(1, "A", "2025-01-01", "2025-05-09", "1000.00"),
        line(1, "A", "2025-05-10", "2025-06-30", "600.00"),  # its churn (July 1) is in the future
        line(1, "B", "2025-05-25", None, "300.00"),  # starts after today
    ]
    result = run(lines, "2025-05-20")
    # May: a = ARR(Apr 30) = 1000, b = ARR(May 20) = 600 (B not started yet) -> contraction 400.
    check(
        row(result, "month", "2025-05-01"),
        partial=True,
        period_end=d("2025-05-31"),
        starting_arr="1000",
        contraction="400",
        expansion="0",
        ending_arr="600",
        nrr="0.6000",
        grr="0.6000",
    )
    check(movement(result, "month", "2025-05-01", 1), partial=True, period_end=d("2025-05-31"))
    check(row(result, "month", "2025-04-01"), partial=False, period_end=d("2025-04-30"))
    # Q2: a = ARR(Mar 31) = 1000, b = ARR(May 20) = 600.
    check(row(result, "quarter", "2025-04-01"), partial=True, period_end=d("2025-06-30"), ending_arr="600")
    # Year 2025: a = ARR(2024-12-31) = 0 -> new = ARR(May 20) = 600.
    check(row(result, "year", "2025-01-01"), partial=True, period_end=d("2025-12-31"), new_arr="600")
    check(row(result, "ttm", "2024-06-01"), partial=True, period_end=d("2025-05-31"))
    # Cases up to today only: the May 10 contraction (1000 -> 600); not the July 1 churn.
    assert cases_of(result) == [(1, d("2025-05-10"), "contraction", Decimal("1000"), Decimal("600"), Decimal("400"))]


def test_a_period_ending_today_is_complete():
    lines = [
        line(1, "A", "2025-01-01", "2025-05-09", "1000.00"),
        line(1, "A", "2025-05-10", None, "600.00"),
        line(1, "B", "2025-05-25", None, "300.00"),
    ]
    result = run(lines, "2025-05-31")
    # May: a = 1000, b = ARR(May 31) = 600 + 300 = 900 -> contraction 100 (no expansion, so no cross-sell).
    check(
        row(result, "month", "2025-05-01"),
        partial=False,
        contraction="100",
        cross_sell="0",
        ending_arr="900",
        nrr="0.9000",
    )


# --- slices -----------------------------------------------------------------------------------


def test_tenure_bands_hold_their_lower_bound():
    s = "2025-07-01"
    lines = [
        line(1, "A", "2025-01-01", None, "100.00"),  # Jan 1 -> Jul 1: exactly 6 months -> 6-12
        line(2, "A", "2025-01-02", None, "200.00"),  # Jan 2 -> Jul 1: 5 whole months -> 0-6
        line(3, "A", "2024-07-01", None, "300.00"),  # exactly 12 months -> 12-24
        line(4, "A", "2023-07-01", None, "400.00"),  # exactly 24 months -> 24+
        line(5, "A", "2023-07-02", None, "500.00"),  # 23 whole months -> 12-24
        line(6, "A", "2023-01-01", "2023-03-31", "50.00"),  # first revenue 2023-01-01 ...
        line(6, "A", "2025-06-01", None, "600.00"),  # ... back in June: 30 months -> 24+
        line(7, "A", "2024-01-01", "2025-01-31", "0.00"),  # a zero line is not revenue ...
        line(7, "A", "2025-02-01", None, "700.00"),  # ... first revenue Feb 1 -> 5 months -> 0-6
    ]
    result = run(lines, "2025-07-20")
    expected_bands = {1: "6-12", 2: "0-6", 3: "12-24", 4: "24+", 5: "12-24", 6: "24+", 7: "0-6"}
    assert {c: movement(result, "month", s, c).tenure_band for c in expected_bands} == expected_bands
    check(row(result, "month", s, "tenure", "0-6"), starting_arr="900", logos_start=2)  # 200 + 700
    check(row(result, "month", s, "tenure", "6-12"), starting_arr="100")
    check(row(result, "month", s, "tenure", "12-24"), starting_arr="800")  # 300 + 500
    check(row(result, "month", s, "tenure", "24+"), starting_arr="1000")  # 400 + 600
    # June (s = Jun 1): 1: 5 -> 0-6; 2: 4 -> 0-6; 7: 4 -> 0-6; 3: 11 -> 6-12; 4: 23, 5: 22 -> 12-24; 6 not in cohort.
    june = "2025-06-01"
    check(row(result, "month", june, "tenure", "0-6"), starting_arr="1000")  # 100 + 200 + 700
    check(row(result, "month", june, "tenure", "6-12"), starting_arr="300")
    check(row(result, "month", june, "tenure", "12-24"), starting_arr="900")  # 400 + 500
    assert find_rows(result, "month", june, "tenure", "24+") == []


def test_empty_attributes_are_unknown():
    lines = [line(1, "A", "2025-01-01", None, "100.00"), line(2, "A", "2025-01-01", None, "200.00")]
    infos = [CustomerInfo(1, segment="Enterprise", region="", industry="Retail", use_case=""), CustomerInfo(2)]
    result = run(lines, "2025-03-10", infos=infos)
    feb = "2025-02-01"
    assert scopes_of(result, "month", feb, {"segment", "region", "industry", "use_case"}) == {
        ("segment", "Enterprise", ""),
        ("segment", "unknown", ""),
        ("region", "unknown", ""),
        ("industry", "Retail", ""),
        ("industry", "unknown", ""),
        ("use_case", "unknown", ""),
    }
    check(row(result, "month", feb, "segment", "Enterprise"), starting_arr="100")
    check(row(result, "month", feb, "segment", "unknown"), starting_arr="200")
    check(row(result, "month", feb, "region", "unknown"), starting_arr="300", logos_start=2)
    check(
        movement(result, "month", feb, 2), segment="unknown", region="unknown", industry="unknown", use_case="unknown"
    )


def test_product_scope_has_its_own_cohort_per_product_and_no_cross_sell():
    lines = [
        line(1, "A", "2025-01-01", "2025-02-28", "1000.00"),
        line(1, "A", "2025-03-01", None, "1100.00"),  # A upgraded in March
        line(1, "B", "2025-02-10", None, "500.00"),  # B added in February
        line(1, "C", "2025-01-01", "2025-02-14", "200.00"),  # C dropped in February
        line(2, "A", "2025-01-01", None, "300.00"),
    ]
    result = run(lines, "2025-04-10")
    feb, mar = "2025-02-01", "2025-03-01"
    # Company, February: a = 1000 + 200 + 300 = 1500, b = 1000 + 500 + 300 = 1800.
    # Customer 1: 1200 -> 1500, expansion 300, cross = min(300, B 500) = 300.
    check(row(result, "month", feb), starting_arr="1500", expansion="300", cross_sell="300", ending_arr="1800")
    # Products, February (pairs with ARR on Jan 31): A = 1000 + 300 (two customers), C = 200 -> churn; no B.
    check(
        row(result, "month", feb, "product", "A"), starting_arr="1300", ending_arr="1300", logos_start=2, nrr="1.0000"
    )
    check(
        row(result, "month", feb, "product", "C"),
        starting_arr="200",
        churn="200",
        ending_arr="0",
        logos_churned=1,
        nrr="0.0000",
    )
    assert find_rows(result, "month", feb, "product", "B") == []
    # Product starting ARRs add up to the company's: 1300 + 200 = 1500.
    # March: A (1000 + 300) -> (1100 + 300): expansion 100, all upsell; B: 500 -> 500; C gone.
    check(
        row(result, "month", mar, "product", "A"),
        starting_arr="1300",
        expansion="100",
        upsell="100",
        cross_sell="0",
        nrr="1.0769",
    )  # 1400 / 1300 = 1.076923..
    check(row(result, "month", mar, "product", "B"), starting_arr="500", ending_arr="500")
    assert find_rows(result, "month", mar, "product", "C") == []
    check(movement(result, "month", feb, 1, "C"), movement="churn", starting_arr="200", ending_arr="0")
    assert movements(result, "month", feb, 1, "B") == []


# --- churn cases ------------------------------------------------------------------------------


def test_churn_and_contraction_cases_belong_to_the_owners_of_the_day_before():
    lines = [
        line(1, "A", "2025-01-01", "2025-03-31", "1000.00"),
        line(1, "A", "2025-04-01", "2025-06-30", "600.00"),
        line(2, "A", "2025-01-01", "2025-05-14", "300.00"),
        line(2, "A", "2025-05-15", None, "300.00"),  # renewal at the same ARR: no change, no case
    ]
    csm = [span(1, 10, "2024-01-01", "2025-03-31"), span(1, 11, "2025-04-01")]
    am = [span(1, 20, "2024-01-01")]
    memberships = [span(10, 7, "2024-01-01"), span(11, 8, "2024-01-01")]  # 20: no team

    before_churn = run(lines, "2025-06-15", csm=csm, am=am, memberships=memberships)
    # Apr 1: 1000 -> 600, lost 400, owned on Mar 31 by csm 10 (team 7) and am 20 (no team).
    (case,) = before_churn.cases
    check(
        case,
        customer_id=1,
        date=d("2025-04-01"),
        kind="contraction",
        previous_arr="1000",
        new_arr="600",
        lost_arr="400",
        csm_owner=10,
        csm_team=7,
        am_owner=20,
        am_team=None,
    )

    on_churn_day = run(lines, "2025-07-01", csm=csm, am=am, memberships=memberships)
    # Jul 1: 600 -> 0, lost 600, owned on Jun 30 by csm 11 (team 8).
    assert cases_of(on_churn_day) == [
        (1, d("2025-04-01"), "contraction", Decimal("1000"), Decimal("600"), Decimal("400")),
        (1, d("2025-07-01"), "churn", Decimal("600"), Decimal("0"), Decimal("600")),
    ]
    churn = next(c for c in on_churn_day.cases if c.kind == "churn")
    check(churn, csm_owner=11, csm_team=8, am_owner=20)


# --- rates ------------------------------------------------------------------------------------


def test_rates_have_four_decimals_rounded_half_up():
    lines = [
        # Customer 1: 20000 -> 2469 in February: 2469 / 20000 = 0.12345 exactly -> 0.1235 (half even: 0.1234).
        line(1, "A", "2024-12-01", "2025-02-14", "20000.00"),
        line(1, "A", "2025-02-15", None, "2469.00"),
        # Customer 2 alone in its segment: 20000 -> 1 in February: 1 / 20000 = 0.00005 -> 0.0001 (half even: 0.0000).
        line(2, "A", "2024-12-01", "2025-02-14", "20000.00"),
        line(2, "A", "2025-02-15", None, "1.00"),
    ]
    infos = [CustomerInfo(1, segment="one"), CustomerInfo(2, segment="two")]
    result = run(lines, "2025-03-10", infos=infos)
    check(row(result, "month", "2025-02-01", "segment", "one"), nrr="0.1235", grr="0.1235")
    check(row(result, "month", "2025-02-01", "segment", "two"), nrr="0.0001", grr="0.0001")
    # Company: (2469 + 1) / 40000 = 0.06175 exactly -> 0.0618 (half even: 0.0618 too, but 4 places either way).
    check(row(result, "month", "2025-02-01"), nrr="0.0618", grr="0.0618", logo_retention="1.0000")


def test_logo_retention_counts_customers_not_revenue():
    lines = [
        line(1, "A", "2025-01-01", None, "100.00"),
        line(2, "A", "2025-01-01", None, "100.00"),
        line(3, "A", "2025-01-01", "2025-02-10", "100.00"),  # churns in February
        line(4, "A", "2025-01-01", "2025-02-10", "1.00"),  # contraction, still a logo
        line(4, "A", "2025-02-11", None, "0.50"),
    ]
    result = run(lines, "2025-03-10")
    # February: 4 logos, 1 churned -> 1 - 1/4 = 0.75; NRR = (100 + 100 + 0 + 0.50) / 301 = 0.66611..
    check(
        row(result, "month", "2025-02-01"),
        logos_start=4,
        logos_churned=1,
        logo_retention="0.7500",
        starting_arr="301.00",
        churn="100",
        contraction="0.50",
        ending_arr="200.50",
        nrr="0.6661",
        grr="0.6661",
    )
    # With 3 logos and 1 churned: 1 - 1/3 = 0.66666.. -> 0.6667.
    three = run(lines[:3], "2025-03-10")
    check(
        row(three, "month", "2025-02-01"),
        logos_start=3,
        logos_churned=1,
        logo_retention="0.6667",
        nrr="0.6667",
        grr="0.6667",
    )  # 200 / 300


# --- money in several currencies (SPEC section 7) ---------------------------------------------
# Every line converts at the rate in force on the period's first day s, for both ends of the
# period (constant currency); a case on day d at the rate in force on d. Each line's converted
# amount is rounded once, half up to the cent, then summed.


def test_a_customer_with_lines_in_two_currencies_sums_them_converted():
    lines = [
        line(1, "Core", "2025-01-01", None, "1000.00", "EUR"),
        line(1, "Seats", "2025-01-01", None, "500.00"),  # no currency: the reporting currency
        line(2, "Core", "2025-01-01", None, "200000", "JPY"),
        line(2, "Seats", "2025-02-01", None, "300.00", "USD"),
    ]
    rates = fx(("EUR", "2025-01-01", "1.08"), ("JPY", "2025-01-01", "0.0067"))
    result = run(lines, "2025-03-15", rates=rates)
    # February: customer 1 = 1000 x 1.08 + 500 = 1580 on Jan 31 and on Feb 28;
    # customer 2 = 200000 x 0.0067 = 1340 on Jan 31, 1340 + 300 = 1640 on Feb 28: expansion 300, cross-sell 300.
    check(
        row(result, "month", "2025-02-01"),
        starting_arr="2920",
        expansion="300",
        cross_sell="300",
        ending_arr="3220",
        nrr="1.1027",
    )  # 3220 / 2920 = 1.10273..
    check(movement(result, "month", "2025-02-01", 2), starting_arr="1340", ending_arr="1640", cross_sell="300")
    # January: both customers are new: 1580 + 1340 = 2920, never 1500 + 200000 unconverted.
    check(row(result, "month", "2025-01-01"), starting_arr="0", new_arr="2920")


def test_a_rate_change_inside_a_quarter_is_no_expansion():
    lines = [line(1, "Core", "2024-06-01", None, "1000.00", "EUR")]
    rates = fx(("EUR", "2024-01-01", "1.10"), ("EUR", "2025-02-15", "1.20"))
    result = run(lines, "2025-06-10", rates=rates)
    # Q1 2025: s = Jan 1 (rate 1.10): a = ARR(Dec 31) = 1100, b = ARR(Mar 31) at the same 1.10 = 1100.
    check(
        row(result, "quarter", "2025-01-01"),
        starting_arr="1100",
        ending_arr="1100",
        expansion="0",
        contraction="0",
        nrr="1.0000",
    )
    # February (s = Feb 1, rate 1.10): still 1100 -> 1100, though the rate moved on Feb 15.
    check(row(result, "month", "2025-02-01"), starting_arr="1100", ending_arr="1100", nrr="1.0000")
    # March (s = Mar 1, rate 1.20): 1200 -> 1200. Q2 likewise at 1.20.
    check(row(result, "month", "2025-03-01"), starting_arr="1200", ending_arr="1200", nrr="1.0000")
    check(row(result, "quarter", "2025-04-01"), starting_arr="1200", ending_arr="1200")
    assert result.cases == []  # no line changed: a rate move is never a case


def test_a_ttm_window_spanning_two_rates_uses_the_rate_of_its_first_day():
    lines = [
        line(1, "Core", "2024-01-01", "2024-12-31", "1000.00", "GBP"),
        line(1, "Core", "2025-01-01", None, "1100.00", "GBP"),  # a 10% upgrade in GBP
    ]
    rates = fx(("GBP", "2024-01-01", "1.25"), ("GBP", "2024-11-01", "1.30"))
    result = run(lines, "2025-11-20", rates=rates)
    # TTM ending June 2025: s = 2024-07-01 (rate 1.25): a = 1000 x 1.25 = 1250, b = 1100 x 1.25 = 1375.
    check(
        row(result, "ttm", "2024-07-01"), starting_arr="1250", ending_arr="1375", expansion="125", nrr="1.1000"
    )  # the upgrade alone: the move to 1.30 in November shows nowhere
    # TTM ending November 2025 (partial, on today): s = 2024-12-01 (rate 1.30): a = 1000 x 1.30 = 1300,
    # b = 1100 x 1.30 = 1430.
    check(
        row(result, "ttm", "2024-12-01"),
        partial=True,
        starting_arr="1300",
        ending_arr="1430",
        expansion="130",
        nrr="1.1000",
    )
    # The upgrade month, January 2025 (rate 1.30): 1300 -> 1430.
    check(row(result, "month", "2025-01-01"), starting_arr="1300", ending_arr="1430", expansion="130")


def test_a_product_scope_pair_in_a_foreign_currency():
    lines = [
        line(1, "Core", "2025-01-01", "2025-02-28", "999.99", "EUR"),
        line(1, "Core", "2025-03-01", None, "800.00", "EUR"),  # downgraded in March
        line(2, "Core", "2025-01-01", None, "100.00"),
    ]
    rates = fx(("EUR", "2024-12-01", "1.0834"), ("EUR", "2025-03-01", "1.10"))
    result = run(lines, "2025-04-10", rates=rates)
    # March, s = Mar 1 (rate 1.10): customer 1's Core: 999.99 x 1.10 = 1099.989 -> 1099.99 (once, per line);
    # 800 x 1.10 = 880. Product Core: a = 1099.99 + 100 = 1199.99, b = 880 + 100 = 980.
    check(
        row(result, "month", "2025-03-01", "product", "Core"),
        starting_arr="1199.99",
        contraction="219.99",
        ending_arr="980",
        logos_start=2,
        nrr="0.8167",
    )  # 980 / 1199.99 = 0.81667..
    check(
        movement(result, "month", "2025-03-01", 1, "Core"),
        movement="contraction",
        starting_arr="1099.99",
        ending_arr="880",
    )
    # February, s = Feb 1 (rate 1.0834): 999.99 x 1.0834 = 1083.389166 -> 1083.39, both ends.
    check(row(result, "month", "2025-02-01", "product", "Core"), starting_arr="1183.39", ending_arr="1183.39")


def test_a_churn_case_in_eur_converts_at_the_rate_of_its_day():
    lines = [
        line(1, "Core", "2025-01-01", "2025-03-31", "1000.00", "EUR"),
        line(1, "Seats", "2025-01-01", "2025-05-14", "200.00", "EUR"),
        line(2, "Core", "2025-01-01", "2025-04-30", "500.00", "eur".upper()),
    ]
    rates = fx(("EUR", "2025-01-01", "1.05"), ("EUR", "2025-04-01", "1.10"), ("EUR", "2025-05-10", "1.125"))
    result = run(lines, "2025-06-10", rates=rates)
    # Apr 1 (rate 1.10): customer 1 falls from (1000 + 200) x 1.10 = 1320 to 200 x 1.10 = 220: contraction 1100.
    # May 1 (rate 1.10): customer 2 falls from 500 x 1.10 = 550 to 0: churn 550.
    # May 15 (rate 1.125): customer 1 falls from 200 x 1.125 = 225 to 0: churn 225.
    assert cases_of(result) == [
        (1, d("2025-04-01"), "contraction", Decimal("1320"), Decimal("220"), Decimal("1100")),
        (1, d("2025-05-15"), "churn", Decimal("225"), Decimal("0"), Decimal("225")),
        (2, d("2025-05-01"), "churn", Decimal("550"), Decimal("0"), Decimal("550")),
    ]
    # The figures of April (s = Apr 1, rate 1.10) lose the same 1100 as the case of Apr 1;
    # May (s = May 1, rate 1.10): churn 550 (customer 2) + 220 (customer 1 at May 1's rate, not 225).
    check(row(result, "month", "2025-04-01"), starting_arr="1870", contraction="1100", ending_arr="770")
    check(row(result, "month", "2025-05-01"), starting_arr="770", churn="770", logos_churned=2, ending_arr="0")


def test_a_line_in_a_currency_without_any_rate_is_an_error_never_summed_unconverted():
    lines = [line(1, "Core", "2025-01-01", None, "1000.00", "CHF")]
    with pytest.raises(ValueError, match="CHF"):
        run(lines, "2025-03-01", rates=fx(("EUR", "2025-01-01", "1.1")))


def test_the_earliest_rate_stands_for_the_days_before_it_and_conversion_rounds_half_up_per_line():
    lines = [
        line(1, "Core", "2024-01-01", None, "0.05", "EUR"),  # 0.05 x 1.1 = 0.055 -> 0.06 (half up)
        line(1, "Seats", "2024-01-01", None, "0.05", "EUR"),  # per line: 0.06 + 0.06 = 0.12 (not 0.11)
    ]
    result = run(lines, "2024-03-10", rates=fx(("EUR", "2025-01-01", "1.1")))
    check(row(result, "month", "2024-02-01"), starting_arr="0.12", ending_arr="0.12")
