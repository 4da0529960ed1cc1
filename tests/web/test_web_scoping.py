"""Role scoping of the pages beyond the status matrix (tests/web/test_page_access.py): each role lands on
its own view, and the pages it opens hold only its own."""

import pytest
from django.urls import reverse

from tests.web_support import OCTOBER


def drill(scope, key="", role="", figure="starting_arr"):
    query = f"scope={scope}&granularity=month&period={OCTOBER.isoformat()}&figure={figure}"
    if key:
        query += f"&key={key}"
    if role:
        query += f"&role={role}"
    return f"{reverse('drilldown')}?{query}"


@pytest.mark.parametrize(
    ("who", "target"),
    [("admin", "company"), ("executive", "company"), ("lead", "team"), ("ann", "owner")],
)
def test_home_sends_each_role_to_its_natural_view(client, company, who, target):
    client.force_login(company[who])
    expected = {
        "company": reverse("company"),
        "team": reverse("team", args=[company["east"].pk]),
        "owner": reverse("owner", args=[company["ann"].pk]),
    }[target]
    assert client.get("/")["Location"] == expected


def test_a_lead_refused_the_company_page_is_told_who_may_open_it(client, company):
    client.force_login(company["lead"])
    response = client.get("/company/")
    assert response.status_code == 403
    assert b"executives and admins" in response.content


def test_a_404_uses_the_site_page_and_does_not_leak_the_other_team(client, company):
    client.force_login(company["lead"])
    response = client.get(f"/teams/{company['west'].pk}/")
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert b"CS West" not in response.content


def test_team_page_lists_only_owners_attributed_to_that_team(client, company):
    client.force_login(company["lead"])
    response = client.get(f"/teams/{company['east'].pk}/?granularity=month&period={OCTOBER.isoformat()}")
    owners = {item.owner.email for item in response.context["owner_rows"]}
    assert owners == {"ann@example.com", "cid@example.com"}


def test_drilldown_of_a_lead_lists_only_accounts_of_its_members(client, company):
    client.force_login(company["lead"])
    response = client.get(drill("owner", company["ann"].pk, "csm"))
    names = {m.customer_name for m in response.context["rows"]}
    assert names == {"Acme", "Beta"}


def test_a_member_compares_against_its_team_totals_without_opening_the_team(client, company):
    ann = company["ann"]
    url = f"/owners/{ann.pk}/"
    client.force_login(ann)
    response = client.get(url)
    labels = [d["label"] for d in response.context["trend"]["datasets"]]
    assert "CS East NRR (TTM)" in labels  # the team's totals, to compare against
    assert not response.context["team_page"]  # ...but not the team page with the others' books
    team_id = response.context["team"].pk
    assert client.get(f"/teams/{team_id}/").status_code == 404
    client.force_login(company["lead"])
    response = client.get(url)
    assert "CS East NRR (TTM)" in [d["label"] for d in response.context["trend"]["datasets"]]
    assert response.context["team_page"]


def test_navigation_shows_each_role_its_own_links(client, company):
    client.force_login(company["ann"])
    html = client.get(f"/owners/{company['ann'].pk}/").content.decode()
    assert "My book" in html and ">Company<" not in html
    assert "Signed in as <strong" in html and "ann@example.com" in html and "(Member)" in html
    client.force_login(company["executive"])
    html = client.get("/company/").content.decode()
    assert ">Company<" in html and "(Executive)" in html


@pytest.mark.parametrize("page", ["team", "owner", "drilldown", "reasons"])
def test_a_page_asks_the_scoping_module_once_per_request(client, company, monkeypatch, page):
    """The view, the navigation and the notices share one Visibility (and its cached team sets)."""
    from metrics import scoping

    built = []

    class Counted(scoping.Visibility):
        def __init__(self, user):
            super().__init__(user)
            built.append(user)

    monkeypatch.setattr(scoping, "Visibility", Counted)
    client.force_login(company["lead"])
    url = {
        "team": f"/teams/{company['east'].pk}/",
        "owner": f"/owners/{company['ann'].pk}/",
        "drilldown": drill("team", company["east"].pk, "csm"),
        "reasons": reverse("reasons:queue"),
    }[page]
    assert client.get(url).status_code == 200
    assert built == [company["lead"]]
