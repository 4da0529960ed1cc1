"""Cohorts (SPEC section 8): the heatmap rule by hand (a reactivated customer included), the
workers' step after each landing, the page, its scoping and its CSV."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from metrics import recompute
from outlook.cohort_snapshots import recompute_cohorts
from outlook.cohorts import compute, day_number, grid
from outlook.models import CohortRow, CohortStatus
from tests.api_support import csv_rows
from tests.web_support import TODAY, build_company

D = Decimal


def lines_of(rows):
    return tuple(
        np.array(column, dtype=np.int64)
        for column in zip(*[(c, day_number(s), day_number(e), cents) for c, s, e, cents in rows], strict=True)
    )


# Cohort Jan 2026: A 1,000 from Jan 10 to Feb 28, back with 1,200 from Apr 1 (reactivated);
# B 2,000 from Jan 1; C 500 from Jan 20 to Jan 25 (never paying on a month end). D 700 from Feb 5.
LINES = [
    (1, date(2026, 1, 10), date(2026, 2, 28), 100000),
    (1, date(2026, 4, 1), None, 120000),
    (2, date(2026, 1, 1), None, 200000),
    (3, date(2026, 1, 20), date(2026, 1, 25), 50000),
    (4, date(2026, 2, 5), None, 70000),
]
COMPANY = {("company", ""): (np.array([1, 2, 3, 4]), np.zeros(4, dtype=np.int64), [""])}


def cells(rows):
    return [
        (r.cohort, k, r.customers, r.paying[k], r.base_arr_cents, r.arr_cents[k])
        for r in rows
        for k in range(len(r.paying))
    ]


def test_monthly_cohorts_with_a_reactivated_customer():
    _starts, ends, g = grid("month", date(2026, 1, 10), date(2026, 4, 20))
    assert ends[-1] == date(2026, 4, 20)  # the current month is measured on today
    rows = compute(lines_of(LINES), COMPANY, g)
    # Jan: base 3,000 (A 1,000 + B 2,000), 3 customers; Feb 3,000 (2 paying); Mar 2,000 (B only);
    # Apr 3,200 (A back with 1,200): revenue 106.67%, logos 2 of 3.
    assert cells(rows) == [
        (0, 0, 3, 2, 300000, 300000),
        (0, 1, 3, 2, 300000, 300000),
        (0, 2, 3, 1, 300000, 200000),
        (0, 3, 3, 2, 300000, 320000),
        (1, 0, 1, 1, 70000, 70000),
        (1, 1, 1, 1, 70000, 70000),
        (1, 2, 1, 1, 70000, 70000),
    ]


def test_quarterly_cohorts_follow_the_fiscal_quarters():
    starts, ends, g = grid("quarter", date(2026, 1, 10), date(2026, 4, 20), fiscal_year_start_month=2)
    assert starts == [date(2025, 11, 1), date(2026, 2, 1)] and ends == [date(2026, 1, 31), date(2026, 4, 20)]
    rows = compute(lines_of(LINES), COMPANY, g)
    # Q Nov-Jan: A, B, C (base on Jan 31: 3,000); on Apr 20: A 1,200 + B 2,000. Q Feb-Apr: D alone.
    assert cells(rows) == [(0, 0, 3, 2, 300000, 300000), (0, 1, 3, 2, 300000, 320000), (1, 0, 1, 1, 70000, 70000)]


def test_groups_split_the_customers_and_small_chunks_change_nothing():
    _starts, _ends, g = grid("month", date(2026, 1, 1), date(2026, 4, 20))
    scopes = {("segment", ""): (np.array([1, 2, 3, 4]), np.array([0, 1, 1, 0]), ["SMB", "Enterprise"])}
    rows = compute(lines_of(LINES), scopes, g)
    assert compute(lines_of(LINES), scopes, g, chunk=1) == rows
    smb_jan = [r.arr_cents for r in rows if r.scope_key == "SMB" and r.cohort == 0]
    assert smb_jan == [[100000, 100000, 0, 120000]]


# --- the workers' step and the page -------------------------------------------------------------


@pytest.fixture
def company(db):
    world = build_company()
    recompute_cohorts()  # what the workers run after the figures land (tested with a worker below)
    return world


def cell(k, **filters):
    """(customers, paying, base ARR, ARR, revenue retention, logo retention, measured on) of one cell."""
    row = CohortRow.objects.get(granularity="month", **filters)
    _, measured_on, paying, arr, revenue, logos = list(row.cells())[k]
    return row.customers, paying, row.base_arr, arr, revenue, logos, measured_on


def test_the_heatmaps_hold_the_hand_computed_cells(company):
    """build_company: cohort Jan 2025 = Acme 12,000 and Zeta 6,000; by Oct 2026 (k = 21) Acme pays
    15,000: 21,000 / 18,000 = 116.67%. Beta's Mar 2025 cohort is gone by Oct 2026 (k = 19)."""
    status = CohortStatus.objects.get()
    assert status.rows == CohortRow.objects.count() > 0
    assert status.cells == sum(len(r.paying) for r in CohortRow.objects.all())
    assert cell(21, scope_type="company", cohort_start=date(2025, 1, 1)) == (
        2,
        2,
        D("18000.00"),
        D("21000.00"),
        D("1.1667"),
        D("1.0000"),
        date(2026, 10, 31),
    )
    assert cell(19, scope_type="company", cohort_start=date(2025, 3, 1))[:2] + cell(
        19, scope_type="company", cohort_start=date(2025, 3, 1)
    )[4:6] == (1, 0, D("0.0000"), D("0.0000"))
    assert cell(22, scope_type="company", cohort_start=date(2025, 1, 1))[6] == TODAY
    # The CSM owner at the end of the first month: Acme is Ann's (CS East), Zeta nobody's.
    assert cell(0, scope_type="team", scope_key="CS East", role="csm", cohort_start=date(2025, 1, 1))[:3] == (
        1,
        1,
        D("12000.00"),
    )
    assert cell(0, scope_type="owner", scope_key="unassigned", role="csm", cohort_start=date(2025, 1, 1))[2] == D(
        "6000.00"
    )
    assert cell(0, scope_type="segment", scope_key="unknown", cohort_start=date(2025, 1, 1))[0] == 1


def test_a_second_run_for_the_same_figures_does_nothing(company):
    assert recompute_cohorts()["cohorts"] == "up to date"


def test_the_heatmap_page_and_its_csv(client, company):
    client.force_login(company["executive"])
    response = client.get("/outlook/cohorts/")
    page = response.content.decode()
    first = response.context["rows"][0]
    assert first["start"] == date(2025, 1, 1) and first["customers"] == 2 and len(first["cells"]) == 23
    assert "116.7%" in page and 'href="/outlook/cohorts/"' in page
    logos = client.get("/outlook/cohorts/", {"scope": "company", "metric": "logo"}).context["rows"]
    assert logos[2]["start"] == date(2025, 3, 1) and logos[2]["cells"][19]["value"] == D("0.0000")
    rows = csv_rows(client.get("/outlook/cohorts/", {"scope": "segment", "key": "SMB", "format": "csv"}))
    assert list(rows[0]) == [
        "granularity",
        "scope_type",
        "scope_key",
        "role",
        "cohort_start",
        "k",
        "measured_on",
        "customers",
        "paying",
        "base_arr",
        "arr",
        "revenue_retention",
        "logo_retention",
    ]
    delta = next(
        r for r in rows if r["cohort_start"] == "2025-02-01" and r["k"] == "20"
    )  # Delta 8,000 -> 11,000 in Oct 2026
    assert (delta["base_arr"], delta["arr"], delta["revenue_retention"]) == ("8000.00", "11000.00", "1.3750")
    quarter = client.get("/outlook/cohorts/", {"scope": "company", "granularity": "quarter"}).context["rows"]
    assert quarter[0]["start"] == date(2025, 1, 1) and quarter[0]["customers"] == 4  # Acme, Zeta, Delta, Beta


def test_leads_see_their_teams_cohorts_and_404_elsewhere(client, company):
    client.force_login(company["lead"])
    response = client.get("/outlook/cohorts/")
    assert response.context["scope"].key == "CS East"
    assert client.get("/outlook/cohorts/", {"scope": "company"}).status_code == 404
    assert (
        client.get("/outlook/cohorts/", {"scope": "team", "key": company["west"].pk, "role": "csm"}).status_code == 404
    )
    client.force_login(company["ann"])
    assert client.get("/outlook/cohorts/").context["scope"].key == "ann@example.com"
    assert (
        client.get("/outlook/cohorts/", {"scope": "owner", "key": company["bob"].pk, "role": "csm"}).status_code == 404
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_rewrites_the_heatmaps_after_a_change_lands(live_worker):
    """A committed contract change: the worker recomputes the figures, then the cohorts of the
    new generation, without anyone asking."""
    import time

    from metrics.models import ContractLine, RecomputeStatus

    world = build_company(compute=False)
    recompute.recompute_all(TODAY)
    ContractLine.objects.create(
        external_id="L99", customer=world["zeta"], product="Core", start_date=date(2025, 1, 1), arr=D("1000")
    )
    deadline, base = time.monotonic() + 90, None
    while time.monotonic() < deadline:
        status, done = RecomputeStatus.objects.get(pk=1), CohortStatus.objects.filter(pk=1).first()
        if done and done.generation == status.generation and not status.pending:
            base = cell(0, scope_type="company", cohort_start=date(2025, 1, 1))[2]
            if base == D("19000.00"):
                break
        time.sleep(0.3)
    assert base == D("19000.00")  # Acme 12,000 + Zeta 6,000 + 1,000


# --- product scope (issue 12 point 4): customer-product pairs -----------------------------------


def test_product_cohorts_start_at_a_customers_first_revenue_in_the_product():
    from outlook.cohort_snapshots import _product_pairs

    # Customer 1: Core 1,000 from Jan 10, adds Add-on 500 from Mar 1. Customer 2: Core 2,000 Jan 1 .. Feb 28.
    raw = [
        (1, date(2026, 1, 10), None, 100000),
        (1, date(2026, 3, 1), None, 50000),
        (2, date(2026, 1, 1), date(2026, 2, 28), 200000),
    ]
    pair_lines, scope = _product_pairs(lines_of(raw), ["Core", "Add-on", "Core"])
    _, _, g = grid("month", date(2026, 1, 1), date(2026, 4, 20))
    rows = compute(pair_lines, scope, g)
    by_key = {r.scope_key: r for r in rows}
    assert sorted(by_key) == ["Add-on", "Core"] and len(rows) == 2
    # Core, cohort Jan: both customers, base 3,000; Feb 3,000; Mar and Apr 1,000 (customer 2 left): 1 of 2 paying.
    core = by_key["Core"]
    assert (core.cohort, core.customers, core.base_arr_cents, core.arr_cents, core.paying) == (
        0,
        2,
        300000,
        [300000, 300000, 100000, 100000],
        [2, 2, 1, 1],
    )
    # Add-on, cohort Mar (customer 1's first Add-on revenue, not its Jan first revenue): 500 on Mar 31 and Apr 20.
    addon = by_key["Add-on"]
    assert (addon.cohort, addon.customers, addon.base_arr_cents, addon.arr_cents) == (2, 1, 50000, [50000, 50000])


def test_the_product_heatmaps_hold_the_hand_computed_cells(company):
    """Core, cohort Jan 2025: Acme 12,000 + Zeta 6,000; in Oct 2026 still 18,000 (100%: Acme's
    3,000 Add-on is not Core's, unlike the company's 116.67%). Add-on: Acme alone, cohort Oct 2026."""
    assert cell(21, scope_type="product", scope_key="Core", cohort_start=date(2025, 1, 1)) == (
        2,
        2,
        D("18000.00"),
        D("18000.00"),
        D("1.0000"),
        D("1.0000"),
        date(2026, 10, 31),
    )
    assert cell(0, scope_type="product", scope_key="Add-on", cohort_start=date(2026, 10, 1)) == (
        1,
        1,
        D("3000.00"),
        D("3000.00"),
        D("1.0000"),
        D("1.0000"),
        date(2026, 10, 31),
    )
    # Core's Oct 2026 cohort is Epsilon's 5,000 only: Acme's Add-on starts no Core cohort.
    assert cell(0, scope_type="product", scope_key="Core", cohort_start=date(2026, 10, 1))[:3] == (1, 1, D("5000.00"))
    assert not CohortRow.objects.filter(
        scope_type="product", scope_key="Add-on", cohort_start=date(2025, 1, 1)
    ).exists()


def test_the_page_offers_products_to_executives_and_says_why_there_is_no_tenure_band(client, company):
    client.force_login(company["executive"])
    response = client.get("/outlook/cohorts/", {"scope": "product", "key": "Add-on"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r["start"], r["customers"], r["base_arr"]) for r in rows] == [(date(2026, 10, 1), 1, D("3000.00"))]
    page = response.content.decode()
    assert "Product: Add-on" in page and "Product: Core" in page
    assert "first revenue <em>in that product</em>" in page and "no tenure-band choice" in page
    csv = csv_rows(client.get("/outlook/cohorts/", {"scope": "product", "key": "Core", "format": "csv"}))
    jan = next(r for r in csv if r["cohort_start"] == "2025-01-01" and r["k"] == "21")
    assert (jan["customers"], jan["base_arr"], jan["arr"], jan["revenue_retention"]) == (
        "2",
        "18000.00",
        "18000.00",
        "1.0000",
    )
    assert client.get("/outlook/cohorts/", {"scope": "tenure", "key": "24+"}).status_code == 404
    client.force_login(company["lead"])
    assert client.get("/outlook/cohorts/", {"scope": "product", "key": "Core"}).status_code == 404
