"""A lead sees what its team owned: a member who moved teams is the old team's for its old days
and the new team's for its new days, on the pages and through the API alike."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import TeamMembership, User
from metrics import recompute
from metrics.models import Assignment, ChurnCase, ContractLine, Customer, PendingRecompute
from tests.api_support import token_client
from tests.web_support import EPOCH, PASSWORD, TODAY, build_company

MOVE = date(2026, 7, 1)  # Mo leaves CS West for CS East on this day


@pytest.fixture
def company(db):
    world = build_company(compute=False)
    mo = User.objects.create_user("mo@example.com", PASSWORD, full_name="Mo Mover")
    TeamMembership.objects.create(user=mo, team=world["west"], start_date=EPOCH, end_date=MOVE - date.resolution)
    TeamMembership.objects.create(user=mo, team=world["east"], start_date=MOVE)
    # Yara: Mo's while Mo was in West, churned then; never in East's book.
    yara = Customer.objects.create(external_id="C7", name="Yara", segment="SMB")
    ContractLine.objects.create(
        external_id="L10",
        customer=yara,
        product="Core",
        start_date=date(2025, 1, 1),
        end_date=date(2026, 5, 31),
        arr=Decimal("9000"),
    )
    Assignment.objects.create(
        customer=yara, user=mo, role="csm", start_date=date(2025, 1, 1), end_date=MOVE - date.resolution
    )
    # Zed: Bob's (West) until Mo takes it along to East.
    zed = Customer.objects.create(external_id="C8", name="Zed", segment="SMB")
    ContractLine.objects.create(
        external_id="L11", customer=zed, product="Core", start_date=date(2025, 1, 1), arr=Decimal("4000")
    )
    Assignment.objects.create(
        customer=zed, user=world["bob"], role="csm", start_date=date(2025, 1, 1), end_date=MOVE - date.resolution
    )
    Assignment.objects.create(customer=zed, user=mo, role="csm", start_date=MOVE)
    PendingRecompute.objects.all().delete()
    recompute.recompute_all(TODAY)
    return {**world, "mo": mo, "yara": yara, "zed": zed, "yara_case": ChurnCase.objects.get(customer=yara)}


MONTHS = [f"2026-{month:02d}-01" for month in range(1, 12)]  # January to November (today's month)


def months_with_rows(client, **params) -> list[str]:
    """The months of 2026 whose movements (the accounts behind that month's rows) list a row."""
    found = []
    for month in MONTHS:
        response = client.get("/api/v1/movements/", {"granularity": "month", "period_start": month, **params})
        assert response.status_code == 200, response.content
        rows = response.json()["results"]
        assert {m["period_start"] for m in rows} <= {month}
        if rows:
            found.append(month)
    return found


def api_rows(client, url):
    response = client.get(url + ("&" if "?" in url else "?") + "page_size=1000")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_new_leads_sees_the_mover_only_for_its_days_in_the_team(company):
    api = token_client(company["lead"])  # Lena leads CS East
    starts = {r["period_start"] for r in api_rows(api, "/api/v1/retention/?scope_type=owner&scope_key=mo@example.com")}
    assert starts and min(starts) >= MOVE.isoformat()
    assert api.get(f"/api/v1/customers/{company['yara'].pk}/").status_code == 404
    assert api.get(f"/api/v1/customers/{company['zed'].pk}/").status_code == 200
    assert api.get(f"/api/v1/churn-cases/{company['yara_case'].pk}/").status_code == 404
    lines = {r["external_id"] for r in api_rows(api, "/api/v1/contract-lines/")}
    assert "L11" in lines and "L10" not in lines
    # Zed (C8) is East's from July on, when Mo brings it along; West's before.
    assert months_with_rows(api, customer="C8") == [m for m in MONTHS if m >= MOVE.isoformat()]
    assert months_with_rows(api, customer="C7") == []  # Yara was Mo's in West only
    # West's rows (Bob's Delta, Zed until July; Mo's Yara) stay hidden, whatever the filter.
    assert months_with_rows(api, csm_team="CS West") == []
    assert months_with_rows(api, scope_type="team", scope_key="CS West", role="csm") == []
    assert months_with_rows(api, csm_owner="mo@example.com") == [m for m in MONTHS if m >= MOVE.isoformat()]
    assert months_with_rows(api, csm_team="CS East") == MONTHS  # Ann's Acme, all year


def test_the_old_lead_keeps_the_movers_old_days_and_not_its_new_ones(company):
    api = token_client(company["west_lead"])  # Walt leads CS West
    starts = {r["period_start"] for r in api_rows(api, "/api/v1/retention/?scope_type=owner&scope_key=mo@example.com")}
    assert starts and max(starts) < MOVE.isoformat()
    assert api.get(f"/api/v1/customers/{company['yara'].pk}/").status_code == 200
    assert api.get(f"/api/v1/churn-cases/{company['yara_case'].pk}/").status_code == 200
    assert api.get(f"/api/v1/customers/{company['zed'].pk}/").status_code == 200  # in West's book until July
    assert months_with_rows(api, customer="C8") == [m for m in MONTHS if m < MOVE.isoformat()]
    assert months_with_rows(api, customer="C7") == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
    ]
    assert months_with_rows(api, csm_team="CS East") == []
    assert months_with_rows(api, scope_type="team", scope_key="CS East", role="csm") == []
    assert months_with_rows(api, csm_owner="mo@example.com") == [m for m in MONTHS if m < MOVE.isoformat()]
    assert months_with_rows(api, csm_team="CS West") == MONTHS  # Bob's Delta, all year


def test_the_hidden_rows_are_there_for_those_who_see_everything(company):
    """The checks above would catch a lead seeing another team's rows: those rows exist."""
    api = token_client(company["admin"])
    assert months_with_rows(api, customer="C8") == MONTHS
    assert months_with_rows(api, customer="C7") == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
    ]
    for team in ("CS East", "CS West"):
        assert months_with_rows(api, csm_team=team) == MONTHS
        assert months_with_rows(api, scope_type="team", scope_key=team, role="csm") == MONTHS
    assert months_with_rows(api, csm_owner="mo@example.com") == MONTHS  # Yara until June, Zed from July


def test_the_owner_page_of_a_mover_shows_each_lead_its_own_periods(client, company):
    mo = company["mo"]
    client.force_login(company["lead"])
    options = client.get(reverse("owner", args=[mo.pk]), {"granularity": "month"}).context["pick"].options
    assert options and min(start for start, _ in options) >= MOVE.isoformat()
    page = client.get(reverse("owner", args=[mo.pk]), {"granularity": "month", "period": "2026-05-01"})
    assert (page.status_code == 200 and page.context["row"] is None) or page.context["row"].period_start >= MOVE
    assert all(m.external_id != company["yara"].external_id for m in page.context["book"])
    client.force_login(company["west_lead"])
    options = client.get(reverse("owner", args=[mo.pk]), {"granularity": "month"}).context["pick"].options
    assert options and max(start for start, _ in options) < MOVE.isoformat()


def test_a_member_still_sees_its_whole_own_book(company):
    api = token_client(company["mo"])
    assert api.get(f"/api/v1/customers/{company['yara'].pk}/").status_code == 200
    assert api.get(f"/api/v1/customers/{company['zed'].pk}/").status_code == 200
    starts = {r["period_start"] for r in api_rows(api, "/api/v1/retention/?scope_type=owner&scope_key=mo@example.com")}
    assert min(starts) < MOVE.isoformat() <= max(starts)


def test_the_team_pages_list_the_mover_in_the_team_it_was_in_on_each_periods_first_day(client, company):
    client.force_login(company["executive"])

    def owners(team, period):
        page = client.get(reverse("team", args=[team.pk]), {"granularity": "month", "period": period, "role": "csm"})
        return {item.owner.email for item in page.context["owner_rows"]}

    assert "mo@example.com" in owners(company["west"], "2026-05-01") and "mo@example.com" not in owners(
        company["east"], "2026-05-01"
    )
    assert "mo@example.com" in owners(company["east"], "2026-08-01") and "mo@example.com" not in owners(
        company["west"], "2026-08-01"
    )
