"""The customer page (issue 11, point 2): what it shows, and who may open it (metrics.scoping)."""

from datetime import date

import pytest
from django.urls import reverse

from operations.timeline import Line, arr_by_month, timeline_bars
from tests.web_support import OCTOBER, build_company


def test_arr_per_product_at_each_month_end_counts_end_dates_inclusive():
    lines = [Line("L1", "Core", date(2026, 1, 15), date(2026, 3, 31), 1_000_00),
             Line("L2", "Core", date(2026, 4, 1), None, 1_500_00),
             Line("L3", "Add-on", date(2026, 2, 1), date(2026, 2, 28), 200_00)]  # fmt: skip
    ends, per_product = arr_by_month(lines, today=date(2026, 5, 10))
    assert ends == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 10)]
    assert per_product == {"Add-on": [0, 200_00, 0, 0, 0], "Core": [1_000_00, 1_000_00, 1_000_00, 1_500_00, 1_500_00]}


def test_timeline_bars_span_the_lines_days():
    bars, first, last = timeline_bars([Line("A", "Core", date(2026, 1, 1), date(2026, 1, 10), 1),
                                       Line("B", "Core", date(2026, 1, 11), None, 1)], today=date(2026, 1, 20))
    assert (first, last) == (date(2026, 1, 1), date(2026, 1, 20))
    assert [(b.left, b.width, b.open_end) for b in bars] == [(0.0, 50.0, False), (50.0, 50.0, True)]


@pytest.mark.django_db
def test_the_page_shows_the_customer_and_its_figures_in_the_period_picked(client):
    world = build_company()
    client.force_login(world["admin"])
    page = client.get(reverse("operations:customer", args=[world["acme"].pk]), {"granularity": "month", "period": OCTOBER.isoformat()})
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
    for user, sees, hidden in [("bob", "delta", "acme"), ("lead", "acme", "delta"), ("west_lead", "delta", "beta"),
                               ("executive", "zeta", None)]:  # fmt: skip
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
    owner = client.get(reverse("owner", args=[world["ann"].pk]), {"granularity": "month", "period": OCTOBER.isoformat()})
    assert link in owner.content.decode()
    drill = client.get(reverse("drilldown"), {"scope": "company", "granularity": "month", "period": OCTOBER.isoformat()})
    assert link in drill.content.decode()
