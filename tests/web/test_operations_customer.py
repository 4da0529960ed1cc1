"""The customer page (issue 11, point 2): what it shows, and who may open it (metrics.scoping)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from metrics.engine import Rates
from operations.timeline import Line, arr_by_month, arr_on, timeline_bars
from tests.web_support import OCTOBER, build_company


def test_arr_per_product_at_each_month_end_counts_end_dates_inclusive():
    lines = [
        Line("L1", "Core", date(2026, 1, 15), date(2026, 3, 31), 1_000_00),
        Line("L2", "Core", date(2026, 4, 1), None, 1_500_00),
        Line("L3", "Add-on", date(2026, 2, 1), date(2026, 2, 28), 200_00),
    ]
    ends, per_product = arr_by_month(lines, today=date(2026, 5, 10))
    assert ends == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 10)]
    assert per_product == {"Add-on": [0, 200_00, 0, 0, 0], "Core": [1_000_00, 1_000_00, 1_000_00, 1_500_00, 1_500_00]}


def test_a_line_in_another_currency_counts_at_each_month_ends_rate():
    """1,000 EUR at 1.08 until Feb 14, then 1.10: $1,080 at January's end, $1,100 at February's;
    the USD line is never converted; 333.33 EUR at 1.10 is $366.663 -> $366.66 (rounded once, half up)."""
    rates = Rates.from_rows(
        [("EUR", date(2025, 1, 1), Decimal("1.08")), ("EUR", date(2026, 2, 15), Decimal("1.10"))], reporting="USD"
    )
    lines = [
        Line("E", "Core", date(2026, 1, 1), None, 1_000_00, "EUR"),
        Line("U", "Core", date(2026, 1, 1), None, 500_00, "USD"),
        Line("S", "Add-on", date(2026, 2, 1), None, 333_33, "EUR"),
    ]
    ends, per_product = arr_by_month(lines, date(2026, 2, 20), rates)
    assert ends == [date(2026, 1, 31), date(2026, 2, 20)]
    assert per_product == {"Add-on": [0, 366_66], "Core": [1_580_00, 1_600_00]}
    assert arr_on(lines, date(2026, 2, 1), rates) == 1_080_00 + 500_00 + 360_00  # 333.33 * 1.08 = 359.9964


def test_timeline_bars_span_the_lines_days():
    bars, first, last = timeline_bars(
        [Line("A", "Core", date(2026, 1, 1), date(2026, 1, 10), 1), Line("B", "Core", date(2026, 1, 11), None, 1)],
        today=date(2026, 1, 20),
    )
    assert (first, last) == (date(2026, 1, 1), date(2026, 1, 20))
    assert [(b.left, b.width, b.open_end) for b in bars] == [(0.0, 50.0, False), (50.0, 50.0, True)]


@pytest.mark.django_db
def test_the_page_shows_the_customer_and_its_figures_in_the_period_picked(client):
    world = build_company()
    client.force_login(world["admin"])
    page = client.get(
        reverse("operations:customer", args=[world["acme"].pk]), {"granularity": "month", "period": OCTOBER.isoformat()}
    )
    assert page.status_code == 200
    figures = {r["row"].product: r for r in page.context["figure_rows"]}
    assert figures[""]["row"].starting_arr == 12000 and figures[""]["row"].ending_arr == 15000
    assert figures[""]["movement"] == "Expansion" and figures[""]["csm"] == "ann@example.com"
    assert figures["Core"]["row"].ending_arr == 12000  # product rows: the pairs in the product cohort
    assert "Add-on" not in figures  # new in October: cross-sell for the customer, not a product cohort pair
    body = page.content.decode()
    assert "Ann CSM" in body and "Amy AM" in body and "L2" in body
    assert [d["label"] for d in page.context["chart"]["datasets"]] == ["Add-on", "Core"]
    beta = client.get(reverse("operations:customer", args=[world["beta"].pk]))
    assert [c["case"].kind for c in beta.context["cases"]] == ["churn"]


@pytest.mark.django_db
def test_only_those_who_may_see_the_customer_open_its_page(client):
    world = build_company()
    url = lambda name: reverse("operations:customer", args=[world[name].pk])  # noqa: E731
    for user, sees, hidden in [
        ("bob", "delta", "acme"),
        ("lead", "acme", "delta"),
        ("west_lead", "delta", "beta"),
        ("executive", "zeta", None),
    ]:
        client.force_login(world[user])
        assert client.get(url(sees)).status_code == 200
        if hidden:
            assert client.get(url(hidden)).status_code == 404
    client.force_login(world["bob"])
    listing = client.get(reverse("operations:customers")).content.decode()
    assert "Delta" in listing and "Epsilon" in listing and "Acme" not in listing


@pytest.mark.django_db
def test_tables_link_each_customer_to_its_page(client):
    world = build_company()
    client.force_login(world["admin"])
    link = f'href="{reverse("operations:customer", args=[world["acme"].pk])}"'
    owner = client.get(
        reverse("owner", args=[world["ann"].pk]), {"granularity": "month", "period": OCTOBER.isoformat()}
    )
    assert link in owner.content.decode()
    drill = client.get(
        reverse("drilldown"), {"scope": "company", "granularity": "month", "period": OCTOBER.isoformat()}
    )
    assert link in drill.content.decode()


@pytest.mark.django_db
def test_the_page_sums_lines_in_the_reporting_currency_and_shows_each_line_in_its_own(client):
    from metrics.models import ContractLine, FxRate

    world = build_company()
    FxRate.objects.create(currency="EUR", valid_from=date(2020, 1, 1), rate=Decimal("1.10"))
    ContractLine.objects.create(
        external_id="LEUR",
        customer=world["acme"],
        product="Euro",
        start_date=date(2026, 1, 1),
        arr=Decimal("1000"),
        currency="EUR",
    )
    client.force_login(world["admin"])
    page = client.get(reverse("operations:customer", args=[world["acme"].pk]))
    body = page.content.decode()
    assert "€1,000" in body  # the line in its own currency
    euro = next(d for d in page.context["chart"]["datasets"] if d["label"] == "Euro")
    assert euro["data"][-1] == 1100  # $1,100 in the chart
    assert page.context["chart"]["money"]["currency"] == "USD"
    without = sum(
        line.arr
        for line, _ in page.context["line_renewals"]
        if line.currency != "EUR"
        and line.start_date <= page.context["today"]
        and (line.end_date is None or page.context["today"] <= line.end_date)
    )
    assert page.context["arr_today"] == without + 1100
