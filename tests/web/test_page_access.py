"""Every page against every role, like the API's matrix (tests/api/test_api_access.py): one table
of pages x roles -> status. Anonymous visitors are sent to sign in (302); a page of another team or
another book is a 404, never its data; a page a role may not open at all is a 403.

The company of ``tests.web_support``: CS East (lead Lena; Ann and Cid), CS West (lead Walt; Bob),
AM Team (Amy). The member is Ann.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.urls import reverse

from closing.service import close_period
from metrics.models import ChurnCase, FxRate
from tests.web_support import OCTOBER

ROLES = ["anonymous", "admin", "executive", "lead", "member"]
Q3 = date(2026, 7, 1)


def statuses(ok: int = 200, *, lead: int, member: int, executive: int | None = None, admin: int | None = None) -> dict:
    return {"anonymous": 302, "admin": admin or ok, "executive": executive or ok, "lead": lead, "member": member}


EVERYONE = statuses(lead=200, member=200)
ALL_SEEING = statuses(lead=404, member=404)  # another team's or the company's figures: not found
LEAD_UP = statuses(lead=200, member=404)  # the lead's own team: the member does not open it
MANAGERS = statuses(lead=403, member=403)  # executive and admin pages
ADMINS = statuses(lead=403, member=403, executive=403)


def drill(scope, key="", role="", figure="starting_arr"):
    query = f"scope={scope}&granularity=month&period={OCTOBER.isoformat()}&figure={figure}"
    if key:
        query += f"&key={key}"
    if role:
        query += f"&role={role}"
    return f"{reverse('drilldown')}?{query}"


@dataclass
class Page:
    name: str
    url: callable
    expected: dict


PAGES = [
    # The figures: company, teams, owners and their drill-downs.
    Page("home (each role to its own view)", lambda w: "/", statuses(302, lead=302, member=302)),
    Page("company", lambda w: "/company/", statuses(lead=403, member=403)),
    Page("company slice", lambda w: "/company/?slice=segment&key=unknown", statuses(lead=403, member=403)),
    Page("own team", lambda w: f"/teams/{w['east'].pk}/", LEAD_UP),
    Page("other team", lambda w: f"/teams/{w['west'].pk}/", ALL_SEEING),
    Page("own owner (member)", lambda w: f"/owners/{w['ann'].pk}/", EVERYONE),
    Page("own team's owner", lambda w: f"/owners/{w['cid'].pk}/", LEAD_UP),
    Page("other team's owner", lambda w: f"/owners/{w['bob'].pk}/", ALL_SEEING),
    Page("drill company", lambda w: drill("company"), ALL_SEEING),
    Page("drill segment", lambda w: drill("segment", "SMB"), ALL_SEEING),
    Page("drill unassigned", lambda w: drill("team", "unassigned", "csm"), ALL_SEEING),
    Page("drill own team", lambda w: drill("team", w["east"].pk, "csm"), LEAD_UP),
    Page("drill other team", lambda w: drill("team", w["west"].pk, "csm"), ALL_SEEING),
    Page("drill own book", lambda w: drill("owner", w["ann"].pk, "csm", "churn"), EVERYONE),
    Page("drill own team's owner", lambda w: drill("owner", w["cid"].pk, "csm"), LEAD_UP),
    Page("drill other team's owner", lambda w: drill("owner", w["bob"].pk, "csm"), ALL_SEEING),
    Page("drill other function's owner", lambda w: drill("owner", w["amy"].pk, "am"), ALL_SEEING),
    Page("figures help", lambda w: reverse("figures_help"), EVERYONE),
    # Churn reasons.
    Page("reasons queue", lambda w: reverse("reasons:queue"), statuses(lead=200, member=403, executive=403)),
    Page("reasons cases", lambda w: reverse("reasons:cases"), EVERYONE),
    Page("reasons own case", lambda w: reverse("reasons:case", args=[w["beta_case"].pk]), EVERYONE),
    Page("reasons pareto", lambda w: reverse("reasons:pareto"), EVERYONE),
    Page("reasons taxonomy", lambda w: reverse("reasons:taxonomy"), ADMINS),
    Page("reasons taxonomy add", lambda w: reverse("reasons:taxonomy_add"), ADMINS),
    # The outlook.
    Page("renewals", lambda w: reverse("outlook:renewals"), EVERYONE),
    Page("renewals other team", lambda w: f"{reverse('outlook:renewals')}?team={w['west'].pk}", ALL_SEEING),
    Page("forecast (the company's)", lambda w: reverse("outlook:forecast"), ALL_SEEING),
    Page(
        "forecast own team", lambda w: f"{reverse('outlook:forecast')}?scope=team&key={w['east'].pk}&role=csm", LEAD_UP
    ),
    Page(
        "forecast other team",
        lambda w: f"{reverse('outlook:forecast')}?scope=team&key={w['west'].pk}&role=csm",
        ALL_SEEING,
    ),
    Page("targets", lambda w: reverse("outlook:targets"), ADMINS),
    Page("cohorts", lambda w: reverse("outlook:cohorts"), EVERYONE),
    Page("cohorts company", lambda w: f"{reverse('outlook:cohorts')}?scope=company", ALL_SEEING),
    Page(
        "cohorts other owner",
        lambda w: f"{reverse('outlook:cohorts')}?scope=owner&key={w['bob'].pk}&role=csm",
        ALL_SEEING,
    ),
    Page("digest", lambda w: reverse("outlook:digest"), EVERYONE),
    # The company's data.
    Page("customers", lambda w: reverse("operations:customers"), EVERYONE),
    Page("own customer", lambda w: reverse("operations:customer", args=[w["acme"].pk]), EVERYONE),
    Page("other customer", lambda w: reverse("operations:customer", args=[w["delta"].pk]), ALL_SEEING),
    Page("unassigned customer", lambda w: reverse("operations:customer", args=[w["zeta"].pk]), ALL_SEEING),
    Page("books", lambda w: reverse("operations:books"), statuses(lead=200, member=403, executive=403)),
    Page("people", lambda w: reverse("operations:people"), ADMINS),
    Page("person", lambda w: reverse("operations:person", args=[w["bob"].pk]), ADMINS),
    Page("teams", lambda w: reverse("operations:teams"), ADMINS),
    Page("team edit", lambda w: reverse("operations:team_edit", args=[w["west"].pk]), ADMINS),
    Page("imports", lambda w: reverse("operations:imports"), ADMINS),
    # Closing and exchange rates.
    Page("closes", lambda w: reverse("closing:list"), MANAGERS),
    Page("close report", lambda w: reverse("closing:report", args=[w["q3_close"].pk]), MANAGERS),
    Page("exchange rates", lambda w: reverse("fx-rates"), ADMINS),
    Page("exchange rate add", lambda w: reverse("fx-rate-add"), ADMINS),
    Page("exchange rate edit", lambda w: reverse("fx-rate-edit", args=[w["eur"].pk]), ADMINS),
]


@pytest.fixture
def world(company):
    beta_case = ChurnCase.objects.get(customer=company["beta"])
    q3_close = close_period("quarter", Q3, company["admin"])
    eur = FxRate.objects.create(currency="EUR", valid_from=date(2024, 1, 1), rate="1.08")  # queues a recompute
    return {**company, "member": company["ann"], "beta_case": beta_case, "eur": eur, "q3_close": q3_close}


@pytest.mark.parametrize("target", PAGES, ids=lambda p: p.name)
def test_every_role_gets_the_right_status(client, world, target):
    got = {}
    for role in ROLES:
        client.logout()
        if role != "anonymous":
            client.force_login(world[role])
        response = client.get(target.url(world))
        got[role] = response.status_code
        if role == "anonymous" and response.status_code == 302:
            assert response["Location"].startswith(reverse("login")), response["Location"]
    assert got == target.expected, f"{target.name}: expected {target.expected}, got {got}"
