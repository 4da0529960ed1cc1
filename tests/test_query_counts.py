"""Query-count ceilings: a page or an API list costs a fixed number of queries, whatever the
number of rows (a query inside a loop would grow with the company and break the ceiling)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api_support import token_client
from web.links import drill_url
from web_support import OCTOBER, build_company
from metrics.queries import Scope


@pytest.fixture
def company(db):
    return build_company()


def queries_of(client, url) -> int:
    cache.clear()  # pages are cached per figures' generation: count the real work
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


def page_urls(company):
    east, ann = company["east"], company["ann"]
    return {
        "company": "/company/",
        "company slice": "/company/?slice=segment",
        "team": f"/teams/{east.pk}/",
        "owner": f"/owners/{ann.pk}/",
        "drill-down": drill_url(Scope.company(), "ttm", OCTOBER.replace(month=1, year=2026), "nrr"),
        "team drill-down": drill_url(Scope.team(east, "csm"), "month", OCTOBER, "starting_arr"),
    }


# Measured: company 43, slice 45, team 43-48, owner 55-60 (the cases reconciled beside the figures,
# the forecast, the renewals ahead, the period close), drill-downs 23-29.
PAGE_CEILINGS = {"company": 46, "company slice": 48, "team": 51, "owner": 63, "drill-down": 26, "team drill-down": 32}


@pytest.mark.parametrize("who", ["executive", "lead"])
def test_pages_stay_under_their_query_ceiling(client, company, who):
    client.force_login(company[who])
    for name, url in page_urls(company).items():
        if who == "lead" and name.startswith("company"):
            continue
        if who == "lead" and name == "drill-down":
            continue
        count = queries_of(client, url)
        assert count <= PAGE_CEILINGS[name], f"{name}: {count} queries"


def test_more_accounts_cost_no_more_queries(client, company):
    """The owner page and the drill-down with twice the accounts: the same number of queries."""
    from datetime import date
    from decimal import Decimal

    from metrics import recompute
    from metrics.models import Assignment, ContractLine, Customer

    client.force_login(company["executive"])
    urls = page_urls(company)
    before = {name: queries_of(client, url) for name, url in urls.items()}
    for n in range(8):
        customer = Customer.objects.create(external_id=f"X{n}", name=f"Extra {n}", segment="SMB")
        ContractLine.objects.create(external_id=f"XL{n}", customer=customer, product="Core",
                                    start_date=date(2025, 1, 1), arr=Decimal("1000.00"))  # fmt: skip
        Assignment.objects.create(customer=customer, user=company["ann"], role="csm", start_date=date(2025, 1, 1))
    recompute.recompute_all(date(2026, 11, 23))
    after = {name: queries_of(client, url) for name, url in urls.items()}
    assert after == before


API_LISTS = ["retention", "customers", "contract-lines", "assignments", "teams", "users", "churn-cases", "reasons", "pareto"]
API_CEILING = 15  # measured 4-13


@pytest.mark.parametrize("who", ["admin", "lead", "member"])
def test_every_api_list_stays_under_its_query_ceiling(world, who):
    client = token_client(world[who])
    for name in [*API_LISTS, "movements"]:
        url = f"/api/v1/{name}/"
        if name == "movements":
            url += "?granularity=month&period_start=2026-10-01&scope_type=company"
            if who != "admin":
                continue  # the company scope is not theirs; their own scopes are covered by the access tests
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        assert len(captured) <= API_CEILING, f"{name}: {len(captured)} queries"
