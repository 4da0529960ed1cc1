"""SPEC section 7 end to end: exchange rates in the database, the recompute converting at constant
currency, the pages (drill-down totals equal to the figures, lines in their own currency), the
admins' rates page (each change queues a full recompute), and the money formatting."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Role, User
from metrics import recompute
from metrics.models import ContractLine, Customer, FxRate, PendingRecompute, RetentionSnapshot
from metrics.queries import Scope
from metrics.recompute import accounts
from web import money

TODAY = date(2026, 3, 10)
PASSWORD = "a-long-test-password-1"


@pytest.fixture
def books(db):
    """Acme bills 1,000 EUR and 500 USD; Bolt 200,000 JPY, downgraded to 100,000 JPY on Feb 1.
    EUR: 1.08 from 2025-01-01, 1.10 from 2026-02-15; JPY: 0.0067 throughout."""
    FxRate.objects.create(currency="EUR", valid_from=date(2025, 1, 1), rate=Decimal("1.08"))
    FxRate.objects.create(currency="EUR", valid_from=date(2026, 2, 15), rate=Decimal("1.10"))
    FxRate.objects.create(currency="JPY", valid_from=date(2025, 1, 1), rate=Decimal("0.0067"))
    acme = Customer.objects.create(external_id="A", name="Acme")
    bolt = Customer.objects.create(external_id="B", name="Bolt")
    ContractLine.objects.create(
        external_id="A1",
        customer=acme,
        product="Core",
        start_date=date(2025, 6, 1),
        arr=Decimal("1000"),
        currency="EUR",
    )
    ContractLine.objects.create(
        external_id="A2", customer=acme, product="Seats", start_date=date(2025, 6, 1), arr=Decimal("500")
    )
    ContractLine.objects.create(
        external_id="B1",
        customer=bolt,
        product="Core",
        start_date=date(2025, 6, 1),
        end_date=date(2026, 1, 31),
        arr=Decimal("200000"),
        currency="JPY",
    )
    ContractLine.objects.create(
        external_id="B2",
        customer=bolt,
        product="Core",
        start_date=date(2026, 2, 1),
        arr=Decimal("100000"),
        currency="JPY",
    )
    admin = User.objects.create_user("admin@example.com", PASSWORD, role=Role.ADMIN)
    recompute.recompute_all(TODAY)
    return {"acme": acme, "bolt": bolt, "admin": admin}


def month(start, scope_type="company", key=""):
    return RetentionSnapshot.objects.get(granularity="month", period_start=start, scope_type=scope_type, scope_key=key)


def test_figures_are_in_constant_currency_and_the_accounts_add_up_to_them(books):
    # February (s = Feb 1, EUR 1.08): Acme 1000 x 1.08 + 500 = 1580 at both ends (the EUR move on Feb 15
    # is no expansion); Bolt 200000 x 0.0067 = 1340 -> 670: contraction 670.
    feb = month(date(2026, 2, 1))
    assert (feb.starting_arr, feb.contraction, feb.expansion, feb.ending_arr) == (
        Decimal("2920.00"),
        Decimal("670.00"),
        Decimal("0.00"),
        Decimal("2250.00"),
    )
    # March (s = Mar 1, EUR 1.10): Acme 1100 + 500 = 1600 at both ends.
    march = month(date(2026, 3, 1))
    assert (march.starting_arr, march.ending_arr) == (Decimal("2270.00"), Decimal("2270.00"))
    # The contraction case of Feb 1 converts at that day's rate: 1340 -> 670.
    case = books["bolt"].churn_cases.get()
    assert (case.date, case.previous_arr, case.new_arr, case.lost_arr) == (
        date(2026, 2, 1),
        Decimal("1340.00"),
        Decimal("670.00"),
        Decimal("670.00"),
    )
    inputs = accounts.Inputs.current()
    for start in (date(2026, 2, 1), date(2026, 3, 1)):
        period = inputs.period("month", start)
        totals = accounts.account_totals(inputs.version, period, Scope.company(), with_cross_sell=True)
        row = month(start)
        assert (totals.starting_arr, totals.contraction, totals.cohort_ending_arr) == (
            row.starting_arr,
            row.contraction,
            row.ending_arr,
        )
    # A rate change is a full recompute: every figure converts again.
    PendingRecompute.objects.all().delete()
    rate = FxRate.objects.get(currency="EUR", valid_from=date(2025, 1, 1))
    rate.rate = Decimal("1.2")
    rate.save()
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {None}
    recompute.process_pending(TODAY)
    assert month(date(2026, 2, 1)).starting_arr == Decimal("1200.00") + Decimal("500.00") + Decimal("1340.00")


def test_the_drilldown_shows_lines_in_their_own_currency_beside_the_converted_amounts(books):
    client = Client()
    client.force_login(books["admin"])
    response = client.get("/drilldown/?scope=company&granularity=month&period=2026-02-01&figure=starting_arr")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="figure-value">$2,920<' in html and 'data-testid="drill-total">$2,920<' in html
    assert "of which €1,000 at 1.08" in html and "of which ¥200,000 at 0.0067" in html
    assert "of which ¥100,000 at 0.0067" in html  # Bolt's ending ARR on Feb 28
    assert "constant currency" in response.context["currency_note"]


def test_admins_edit_rates_in_the_browser_and_each_change_queues_a_full_recompute(books):
    client = Client()
    client.force_login(books["admin"])
    page = client.get("/rates/")
    assert page.status_code == 200 and "Exchange rates" in page.content.decode()
    assert '<a href="/rates/"' in client.get("/company/").content.decode()  # in the admins' navigation
    PendingRecompute.objects.all().delete()
    added = client.post("/rates/add/", {"currency": "gbp", "valid_from": "2026-01-01", "rate": "1.25"})
    assert added.status_code == 302
    assert FxRate.objects.filter(currency="GBP", rate=Decimal("1.25")).exists()
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {None}
    bad = client.post("/rates/add/", {"currency": "XYZ", "valid_from": "2026-01-01", "rate": "-1"})
    assert "is not an ISO 4217 currency code" in bad.content.decode() and "must be above zero" in bad.content.decode()
    twice = client.post("/rates/add/", {"currency": "EUR", "valid_from": "2025-01-01", "rate": "1.3"})
    assert "EUR already has a rate from 2025-01-01" in twice.content.decode()
    # The last JPY rate cannot go while Bolt's lines are in JPY; one of two EUR rates can.
    jpy = FxRate.objects.get(currency="JPY")
    client.post(f"/rates/{jpy.pk}/delete/")
    assert FxRate.objects.filter(pk=jpy.pk).exists()
    eur = FxRate.objects.get(currency="EUR", valid_from=date(2026, 2, 15))
    client.post(f"/rates/{eur.pk}/delete/")
    assert not FxRate.objects.filter(pk=eur.pk).exists()
    # Other roles neither see the link nor open the page.
    member = User.objects.create_user("ann@example.com", PASSWORD, role=Role.MEMBER)
    client.force_login(member)
    assert client.get("/rates/").status_code == 403


def test_money_reads_like_money():
    assert money.compact(Decimal("87539250")) == "$87.5M"
    assert money.compact(Decimal("1200"), "EUR") == "€1.2K"
    assert money.full(Decimal("87539250.00")) == "$87,539,250"
    assert money.full(Decimal("1234.5")) == "$1,234.50"
    assert money.change(Decimal("-300")) == "-$300" and money.change(Decimal("1200")) == "+$1,200"
    assert money.change_class(Decimal("-300")) == "neg" and money.change_class(Decimal("0")) == ""
    assert money.percent(Decimal("1.0825")) == "108.3%" and money.percent(None) == "—"
    assert money.full(Decimal("5000000"), "JPY") == "¥5,000,000"


def test_cards_show_compact_money_with_the_exact_amount_in_the_title(books):
    client = Client()
    client.force_login(books["admin"])
    html = client.get("/company/").content.decode()
    # The exact amount first in the title, then the figure's definition.
    assert re.search(r'title="\$2,270 [^"]*">\$2\.3K</a>', html) or re.search(
        r'title="\$2,250 [^"]*">\$2\.2K</a>', html
    )


def test_arr_today_converts_at_todays_rates(books):
    # On 2026-03-10: Acme 1000 EUR x 1.10 + 500 = 1600; Bolt 100000 JPY x 0.0067 = 670: 2270.
    inputs = accounts.Inputs.current()
    assert accounts.arr_today(inputs.version, inputs.as_of) == Decimal("2270.00")
    FxRate.objects.create(currency="EUR", valid_from=date(2026, 3, 5), rate=Decimal("1.2"))
    recompute.process_pending(TODAY)
    inputs = accounts.Inputs.current()
    # Today's rate (1.2 since Mar 5) for ARR today; March's figures stay at Mar 1's rate (1.10).
    assert accounts.arr_today(inputs.version, inputs.as_of) == Decimal("2370.00")
    assert month(date(2026, 3, 1)).ending_arr == Decimal("2270.00")
    client = Client()
    client.force_login(books["admin"])
    html = client.get("/company/").content.decode()
    assert 'data-testid="arr-today"' in html and 'title="$2,370">$2.4K<' in html
