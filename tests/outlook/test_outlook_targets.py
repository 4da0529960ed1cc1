"""Targets (SPEC section 8): beside every yearly NRR/GRR figure with its gap, tables ranked by
gap, the form, targets.csv (all or nothing, idempotent) and the API."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from metrics.importing import ImportRejected
from outlook.models import Target
from outlook.targets import fiscal_year_of, gap, import_targets, parse_rate, rank_by_gap, target_year
from tests.api_support import csv_rows, token_client

D = Decimal
TTM_OCT = "granularity=ttm&period=2025-11-01"  # Nov 2025 - Oct 2026, fiscal year 2026


# --- the rules ----------------------------------------------------------------------------------


def test_fiscal_years_are_named_by_the_year_they_start_in():
    assert fiscal_year_of(date(2026, 3, 31), 1) == 2026
    assert fiscal_year_of(date(2026, 3, 31), 4) == 2025
    assert fiscal_year_of(date(2026, 4, 1), 4) == 2026


def test_yearly_rows_take_the_target_of_their_fiscal_year_months_and_quarters_none():
    assert target_year("year", date(2026, 4, 1), date(2027, 3, 31), 4) == 2026
    assert target_year("ttm", date(2025, 11, 1), date(2026, 10, 31), 1) == 2026
    assert target_year("ttm", date(2025, 4, 1), date(2026, 3, 31), 4) == 2025  # ends in March: FY starting April 2025
    assert target_year("month", date(2026, 10, 1), date(2026, 10, 31), 1) is None
    assert target_year("quarter", date(2026, 10, 1), date(2026, 12, 31), 1) is None


def test_gap_and_ranking():
    assert gap(D("0.65"), D("1.05")) == D("-0.40")
    assert gap(None, D("1.05")) is None and gap(D("1"), None) is None
    items = [("a", D("0.01")), ("b", None), ("c", D("-0.2")), ("d", D("0"))]
    assert [n for n, _ in rank_by_gap(items, lambda i: i[1], lambda i: i[0])] == ["c", "d", "a", "b"]


def test_rates_read_as_ratios_or_percentages():
    assert (
        parse_rate("1.05") == D("1.0500")
        and parse_rate("105%") == D("1.0500")
        and parse_rate(" 92.5 % ") == D("0.9250")
    )
    for bad in ("abc", "0", "-1", "12", "NaN"):
        with pytest.raises(ValueError, match=r"rate|out of range"):
            parse_rate(bad)


# --- on the pages -------------------------------------------------------------------------------


def set_targets(world):
    """Company TTM Oct 2026: NRR 39,000/60,000 = 0.65, GRR 33,000/60,000 = 0.55.
    CSM teams: CS East GRR 19,000/46,000 = 0.4130, CS West 8,000/8,000 = 1.0.
    CS East owners: Ann GRR 12,000/36,000 = 0.3333, Cid 7,000/10,000 = 0.70."""
    t = Target.objects.create
    t(fiscal_year=2026, scope_type="company", nrr=D("1.05"), grr=D("0.50"))
    t(fiscal_year=2026, scope_type="team", team=world["east"], role="csm", grr=D("0.40"))
    t(fiscal_year=2026, scope_type="team", team=world["west"], role="csm", grr=D("1.00"))
    t(fiscal_year=2026, scope_type="owner", user=world["ann"], role="csm", grr=D("0.30"))
    t(fiscal_year=2026, scope_type="owner", user=world["cid"], role="csm", grr=D("0.80"))


def test_the_company_figures_show_target_and_gap_in_colour(client, company):
    set_targets(company)
    client.force_login(company["executive"])
    page = client.get(f"/company/?{TTM_OCT}").content.decode()
    assert 'class="target gap-down" data-target="nrr" data-gap="-0.4000">target 105.0% · -40.0 pts' in page
    assert 'class="target gap-up" data-target="grr" data-gap="0.0500">target 50.0% · +5.0 pts' in page
    month = client.get("/company/?granularity=month&period=2026-10-01").content.decode()
    headline_only = month[month.index('data-testid="figures"') :]
    assert "data-target=" not in headline_only  # a month is not held to a yearly target


def test_team_tables_rank_by_gap(client, company):
    set_targets(company)
    client.force_login(company["executive"])
    response = client.get(f"/company/?{TTM_OCT}")
    csm = next(t for t in response.context["team_tables"] if t["testid"] == "teams-csm")["items"]
    # CS West at target (gap 0.00) is behind CS East (+0.0130); unassigned has no target.
    assert [(i.label, i.gap) for i in csm] == [("CS West", D("0.0000")), ("CS East", D("0.0130")), ("unassigned", None)]


def test_owners_rank_by_gap_on_the_team_page(client, company):
    set_targets(company)
    client.force_login(company["lead"])
    response = client.get(f"/teams/{company['east'].pk}/?{TTM_OCT}&role=csm")
    assert [(r.owner.email, r.gap) for r in response.context["owner_rows"]] == [
        ("cid@example.com", D("-0.1000")),
        ("ann@example.com", D("0.0333")),
    ]
    page = response.content.decode()
    assert "Gap to GRR target" in page and "-10.0 pts" in page
    by_name = client.get(f"/teams/{company['east'].pk}/?{TTM_OCT}&role=csm&sort=owner").context["owner_rows"]
    assert [r.owner.email for r in by_name] == ["ann@example.com", "cid@example.com"]


def test_without_targets_the_tables_keep_their_order(client, company):
    client.force_login(company["lead"])
    response = client.get(f"/teams/{company['east'].pk}/?{TTM_OCT}&role=csm")
    assert [r.owner.email for r in response.context["owner_rows"]] == ["ann@example.com", "cid@example.com"]
    assert "Gap to GRR target" not in response.content.decode()


def test_a_new_target_shows_on_the_cached_page(client, company):
    client.force_login(company["executive"])
    assert "data-target=" not in client.get(f"/company/?{TTM_OCT}").content.decode()
    Target.objects.create(fiscal_year=2026, scope_type="company", nrr=D("1.00"))
    assert 'data-target="nrr"' in client.get(f"/company/?{TTM_OCT}").content.decode()


# --- the form and the import --------------------------------------------------------------------

GOOD = (
    "fiscal_year,scope_type,scope_key,role,nrr,grr\n"
    "2026,company,,,1.05,0.92\n"
    "2026,team,CS East,csm,,90%\n"
    "2026,owner,ANN@example.com,csm,110%,\n"
)


def test_targets_csv_imports_and_a_second_run_changes_nothing(company):
    assert import_targets(GOOD.encode()) == 3
    first = sorted(
        Target.objects.values_list("fiscal_year", "scope_type", "team__name", "user__email", "role", "nrr", "grr"),
        key=str,
    )
    assert import_targets(GOOD.encode()) == 3
    again = sorted(
        Target.objects.values_list("fiscal_year", "scope_type", "team__name", "user__email", "role", "nrr", "grr"),
        key=str,
    )
    assert first == again and len(again) == 3
    assert (2026, "owner", None, "ann@example.com", "csm", D("1.1000"), None) in again


def test_a_bad_targets_csv_names_line_and_column_and_saves_nothing(company):
    bad = (
        GOOD + "2026,team,Nope,csm,1.0,\n2026,owner,bob@example.com,xx,1.0,\n2026,company,,,abc,\n2026,company,,,1.1,\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_targets(bad.encode())
    messages = [str(e) for e in rejected.value.errors]
    assert messages == [
        "targets.csv, line 5, column scope_key: No team named 'Nope'.",
        "targets.csv, line 6, column role: 'xx': a owner target needs the role csm or am.",
        "targets.csv, line 7, column nrr: 'abc' is not a rate (write 1.05 or 105%).",
        "targets.csv, line 8, column scope_key: The same target is already on line 2.",
    ]
    assert Target.objects.count() == 0
    with pytest.raises(ImportRejected) as header:
        import_targets(b"year,scope\n2026,company\n")
    assert "line 1" in str(header.value.errors[0]) and "missing column(s) fiscal_year, scope_type" in str(
        header.value.errors[0]
    )


def test_admins_set_targets_with_the_form_and_the_upload(client, company, monkeypatch):
    from metrics.recompute import triggers

    monkeypatch.setattr(triggers, "today", lambda: date(2026, 11, 23))
    client.force_login(company["admin"])
    response = client.post(
        "/outlook/targets/", {"fiscal_year": 2026, "scope_type": "team", "team": company["west"].pk, "grr": "95"}
    )
    assert "A team target is for one role: CSM or AM." in response.content.decode() and not Target.objects.exists()
    client.post(
        "/outlook/targets/",
        {"fiscal_year": 2026, "scope_type": "team", "team": company["west"].pk, "role": "csm", "grr": "95"},
    )
    assert Target.objects.get().grr == D("0.9500")
    upload = SimpleUploadedFile("targets.csv", b"fiscal_year,scope_type,scope_key,role,nrr,grr\n2026,company,,,abc,\n")
    page = client.post("/outlook/targets/", {"action": "upload", "file": upload}).content.decode()
    assert "targets.csv, line 2, column nrr" in page and "Nothing was saved." in page
    client.post("/outlook/targets/", {"action": "upload", "file": SimpleUploadedFile("targets.csv", GOOD.encode())})
    assert Target.objects.count() == 4
    listed = client.get("/outlook/targets/?year=2026")
    assert len(listed.context["rows"]) == 4 and 'href="/outlook/targets/"' in listed.content.decode()


def test_only_admins_open_the_targets_page(client, company):
    for who in ("executive", "lead", "ann"):
        client.force_login(company[who])
        assert client.get("/outlook/targets/").status_code == 403
        assert 'href="/outlook/targets/"' not in client.get("/").content.decode() if who != "executive" else True


# --- the API ------------------------------------------------------------------------------------


def test_the_targets_api(company):
    admin = token_client(company["admin"])
    created = admin.post(
        "/api/v1/targets/",
        {"fiscal_year": 2026, "scope_type": "team", "scope_key": "CS East", "role": "csm", "grr": "0.9"},
    )
    assert created.status_code == 201, created.content
    assert created.json() == {
        "id": created.json()["id"],
        "fiscal_year": 2026,
        "scope_type": "team",
        "scope_key": "CS East",
        "role": "csm",
        "nrr": None,
        "grr": "0.9000",
    }
    assert admin.post(
        "/api/v1/targets/",
        {"fiscal_year": 2026, "scope_type": "team", "scope_key": "Nope", "role": "csm", "grr": "0.9"},
    ).json() == {"scope_key": ["No team named 'Nope'."]}
    admin.post("/api/v1/targets/", {"fiscal_year": 2026, "scope_type": "company", "nrr": "1.05"})
    admin.post(
        "/api/v1/targets/",
        {"fiscal_year": 2026, "scope_type": "team", "scope_key": "CS West", "role": "csm", "grr": "0.95"},
    )
    lead = token_client(company["lead"])
    seen = lead.get("/api/v1/targets/", {"fiscal_year": 2026}).json()["results"]
    assert [(r["scope_type"], r["scope_key"]) for r in seen] == [
        ("team", "CS East")
    ]  # not the company's, not CS West's
    assert (
        lead.post("/api/v1/targets/", {"fiscal_year": 2026, "scope_type": "company", "nrr": "1.2"}).status_code == 403
    )
    json_rows = admin.get("/api/v1/targets/").json()["results"]
    rows = csv_rows(admin.get("/api/v1/targets/", {"format": "csv"}))
    assert list(rows[0]) == list(json_rows[0]) and len(rows) == 3
