"""The pages in headless chromium: who sees what, charts drawn from the snapshots, drill-downs that add up.

Screenshots of every view at desktop and phone width go to artifacts/screenshots/.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import Team
from metrics.models import RetentionSnapshot
from tests.browser_support import SIZES, shoot, sign_in
from tests.web_support import OCTOBER, build_company
from web.templatetags.retention_format import money

pytestmark = pytest.mark.browser

PERIOD = f"granularity=month&period={OCTOBER.isoformat()}"


def sign_out(page):
    page.click(".whoami button")
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_text("Sign in")


def chart_data(page, canvas_id):
    return page.evaluate(
        """id => { const c = Chart.getChart(document.getElementById(id));
                   return {labels: c.data.labels, datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))}; }""",
        canvas_id,
    )


def percent(value):
    return None if value is None else float(value * 100)


def assert_trend_matches(data, scope_filter, prefix=""):
    """Each line's points are the scope's NRR/GRR snapshots: monthly by period start, TTM by its last month."""
    rows = RetentionSnapshot.objects.filter(**scope_filter)
    monthly = {r.period_start.strftime("%Y-%m"): r for r in rows.filter(granularity="month")}
    ttm = {r.period_end.strftime("%Y-%m"): r for r in rows.filter(granularity="ttm")}
    assert set(monthly) <= set(data["labels"])
    lines = {d["label"]: d["data"] for d in data["datasets"]}
    for label, by_month in [("NRR (month)", monthly), ("GRR (month)", monthly), ("NRR (TTM)", ttm), ("GRR (TTM)", ttm)]:
        metric = label[:3].lower()
        expected = [percent(getattr(by_month[m], metric)) if m in by_month else None for m in data["labels"]]
        assert lines[prefix + label] == expected, label
    assert any(v is not None for v in lines[prefix + "NRR (month)"])


def assert_bridge_matches(data, row):
    """Floating bars from the start through every movement to the end, amounts as the snapshot holds them."""
    steps = [("Start", row.starting_arr, "total")]
    if row.new_arr is not None:
        steps += [("New", row.new_arr, "up"), ("Reactivation", row.reactivation_arr, "up")]
    steps += [
        ("Upsell", row.upsell, "up"),
        ("Cross-sell", row.cross_sell, "up"),
        ("Contraction", row.contraction, "down"),
        ("Churn", row.churn, "down"),
    ]
    level, expected = Decimal(0), []
    for _label, amount, kind in steps:
        if kind == "total":
            expected.append([0, float(amount)])
            level = amount
        elif kind == "up":
            expected.append([float(level), float(level + amount)])
            level += amount
        else:
            expected.append([float(level - amount), float(level)])
            level -= amount
    end = row.ending_arr + (row.new_arr or 0) + (row.reactivation_arr or 0)
    assert level == end
    expected.append([0, float(end)])
    assert data["labels"] == [s[0] for s in steps] + ["End"]
    assert data["datasets"][0]["data"] == expected


# --- who sees what ------------------------------------------------------------------------------


def test_demo_logins_each_see_their_own_views(page, live_server):
    """seed_demo's five logins: where each lands, what it sees, what answers 404 or 403."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    password = "retention-demo"

    for email in ("exec@example.com", "admin@example.com"):
        sign_in(page, live_server, email, password)
        expect(page).to_have_url(f"{live_server.url}/company/")
        expect(page.locator("h1")).to_have_text("Company")
        expect(page.get_by_test_id("teams-csm")).to_be_visible()
        expect(page.get_by_test_id("whoami-email")).to_have_text(email)
        shoot(page, f"demo-company-{email.split('@')[0]}")
        sign_out(page)

    sign_in(page, live_server, "lead@example.com", password)
    assert "/teams/" in page.url
    expect(page.get_by_test_id("whoami-role")).to_have_text("(Team lead)")
    own_team_url = page.url
    owner_links = page.get_by_test_id("owners").locator("tbody a")
    assert owner_links.count() >= 1
    expect(page.get_by_test_id("owners")).to_contain_text("Casey Csm")
    shoot(page, "demo-team-lead")
    page.goto(f"{live_server.url}/company/")
    expect(page.get_by_test_id("error-403")).to_be_visible()
    other = Team.objects.exclude(lead__email="lead@example.com").first()
    assert other is not None
    page.goto(f"{live_server.url}/teams/{other.pk}/")
    expect(page.get_by_test_id("error-404")).to_be_visible()
    page.goto(own_team_url)
    sign_out(page)

    for email in ("csm@example.com", "am@example.com"):
        sign_in(page, live_server, email, password)
        assert "/owners/" in page.url
        expect(page.get_by_test_id("whoami-role")).to_have_text("(Member)")
        expect(page.get_by_test_id("book")).to_be_visible()
        shoot(page, f"demo-owner-{email.split('@')[0]}")
        expect(page.locator(".topbar nav")).not_to_contain_text("Company")
        page.goto(f"{live_server.url}/company/")
        expect(page.get_by_test_id("error-403")).to_be_visible()
        page.goto(own_team_url)
        expect(page.get_by_test_id("error-404")).to_be_visible()
        sign_out(page)


def test_lead_and_member_are_kept_to_their_own(page, live_server, company):
    sign_in(page, live_server, "lena@example.com")
    expect(page).to_have_url(f"{live_server.url}/teams/{company['east'].pk}/")
    owners = page.get_by_test_id("owners")
    expect(owners).to_contain_text("Ann CSM")
    expect(owners).to_contain_text("Cid CSM")
    expect(owners).not_to_contain_text("Bob CSM")
    shoot(page, "team-lead")
    page.goto(f"{live_server.url}/owners/{company['bob'].pk}/")
    expect(page.get_by_test_id("error-404")).to_be_visible()
    shoot(page, "error-404")
    page.goto(f"{live_server.url}/company/")
    expect(page.get_by_test_id("error-403")).to_be_visible()
    shoot(page, "error-403")
    sign_out(page)

    sign_in(page, live_server, "ann@example.com")
    expect(page).to_have_url(f"{live_server.url}/owners/{company['ann'].pk}/")
    book = page.get_by_test_id("book")
    expect(book).to_contain_text("Acme")
    expect(book).to_contain_text("Beta")
    expect(book).not_to_contain_text("Gamma")
    page.goto(f"{live_server.url}/owners/{company['cid'].pk}/")
    expect(page.get_by_test_id("error-404")).to_be_visible()


# --- charts show the snapshots -------------------------------------------------------------------


def test_company_charts_show_the_snapshot_figures(page, live_server, company):
    sign_in(page, live_server, "exec@example.com")
    page.goto(f"{live_server.url}/company/?{PERIOD}")
    assert_trend_matches(chart_data(page, "trend-chart"), {"scope_type": "company", "scope_key": "", "role": ""})
    row = RetentionSnapshot.objects.get(scope_type="company", granularity="month", period_start=OCTOBER)
    assert_bridge_matches(chart_data(page, "bridge-chart"), row)
    shoot(page, "company")

    page.goto(f"{live_server.url}/company/?{PERIOD}&slice=segment")
    expect(page.get_by_test_id("slice-rows")).to_contain_text("unknown")
    shoot(page, "company-slice")
    page.goto(f"{live_server.url}/company/?{PERIOD}&slice=segment&key=SMB")
    smb = RetentionSnapshot.objects.get(
        scope_type="segment", scope_key="SMB", granularity="month", period_start=OCTOBER
    )
    assert_bridge_matches(chart_data(page, "bridge-chart"), smb)
    assert_trend_matches(chart_data(page, "trend-chart"), {"scope_type": "segment", "scope_key": "SMB", "role": ""})


def test_team_and_owner_charts_show_the_snapshot_figures(page, live_server, company):
    sign_in(page, live_server, "lena@example.com")
    page.goto(f"{live_server.url}/teams/{company['east'].pk}/?{PERIOD}")
    team_scope = {"scope_type": "team", "scope_key": "CS East", "role": "csm"}
    assert_trend_matches(chart_data(page, "trend-chart"), team_scope)
    assert_bridge_matches(
        chart_data(page, "bridge-chart"),
        RetentionSnapshot.objects.get(**team_scope, granularity="month", period_start=OCTOBER),
    )

    page.get_by_test_id("owners").get_by_role("link", name="Ann CSM").click()
    page.wait_for_load_state("load")
    assert f"/owners/{company['ann'].pk}/" in page.url and "period=2026-10-01" in page.url
    trend = chart_data(page, "trend-chart")
    owner_scope = {"scope_type": "owner", "scope_key": "ann@example.com", "role": "csm"}
    assert_trend_matches(trend, owner_scope)
    team_ttm = {
        r.period_end.strftime("%Y-%m"): r for r in RetentionSnapshot.objects.filter(**team_scope, granularity="ttm")
    }
    team_line = next(d["data"] for d in trend["datasets"] if d["label"] == "CS East NRR (TTM)")
    assert team_line == [percent(team_ttm[m].nrr) if m in team_ttm else None for m in trend["labels"]]
    row = RetentionSnapshot.objects.get(**owner_scope, granularity="month", period_start=OCTOBER)
    assert_bridge_matches(chart_data(page, "bridge-chart"), row)
    shoot(page, "owner")


# --- drill-down -----------------------------------------------------------------------------------


def test_drilldown_total_equals_the_figure_clicked(page, live_server, company):
    sign_in(page, live_server, "exec@example.com")
    page.goto(f"{live_server.url}/company/?{PERIOD}")
    churn_link = page.get_by_test_id("figures").locator("a[data-figure=churn]")
    shown = churn_link.inner_text()
    row = RetentionSnapshot.objects.get(scope_type="company", granularity="month", period_start=OCTOBER)
    assert shown == money(row.churn)
    churn_link.click()
    page.wait_for_load_state("load")
    expect(page.get_by_test_id("drill-total")).to_have_text(shown)
    expect(page.get_by_test_id("drill-rows")).to_contain_text("Beta")
    shoot(page, "drilldown")

    # The bridge's bars lead to the same lists: click the contraction bar.
    page.goto(f"{live_server.url}/company/?{PERIOD}")
    point = page.evaluate(
        """() => { const c = Chart.getChart(document.getElementById('bridge-chart'));
                   const i = c.data.labels.indexOf('Contraction'); const bar = c.getDatasetMeta(0).data[i];
                   return {x: bar.x, y: (bar.y + bar.base) / 2}; }"""
    )
    page.locator("#bridge-chart").click(position=point)
    page.wait_for_url("**/drilldown/**figure=contraction**")
    expect(page.get_by_test_id("drill-total")).to_have_text(money(row.contraction))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].startswith("customer,external_id,product,starting_arr,ending_arr,amount,movement")
    assert "Gamma" in text


def test_sign_in_page_lockout_and_empty_state(page, live_server):
    data = build_company(compute=False)
    page.set_viewport_size(SIZES["desktop"])
    page.goto(f"{live_server.url}/accounts/login/")
    shoot(page, "login")
    sign_in(page, live_server, "exec@example.com")
    expect(page.get_by_test_id("empty-state")).to_contain_text("manage.py import_data DIR")
    shoot(page, "empty")
    sign_out(page)
    for _ in range(5):
        sign_in(page, live_server, data["ann"].email, "not-the-password")
    expect(page.get_by_test_id("lockout")).to_contain_text("temporarily locked")
    shoot(page, "lockout")


def test_a_long_drilldown_pages_and_sorts(page, live_server, company):
    from datetime import date

    from metrics import recompute
    from metrics.models import ContractLine, Customer

    for n in range(120):  # more accounts than one page holds
        customer = Customer.objects.create(external_id=f"P{n:03d}", name=f"Page Co {n:03d}", segment="SMB")
        ContractLine.objects.create(
            external_id=f"PL{n:03d}",
            customer=customer,
            product="Core",
            start_date=date(2025, 1, 1),
            arr=Decimal(1000 + n),
        )
    recompute.process_pending(date(2026, 11, 23))
    sign_in(page, live_server, "exec@example.com")
    page.goto(f"{live_server.url}/drilldown/?scope=segment&key=SMB&{PERIOD}&figure=starting_arr")
    expect(page.get_by_test_id("pager")).to_contain_text("page 1 of 2")
    rows = page.get_by_test_id("drill-rows").locator("tbody tr")
    expect(rows).to_have_count(100)
    # The first "Starting ARR" heading is the column; the second, the figure's amount column (same values here).
    page.get_by_role("link", name="Starting ARR").first.click()  # ascending
    page.get_by_role("link", name="Starting ARR").first.click()  # then descending
    expect(rows.first).to_contain_text("Gamma")  # 10,000 on September 30: the largest SMB account
    shoot(page, "drilldown-sorted")
    page.get_by_role("link", name="next →").click()
    expect(page.get_by_test_id("pager")).to_contain_text("page 2 of 2")
    expect(rows).to_have_count(22)  # October's SMB cohort: the 120, Gamma and Delta (Epsilon is new)
    total = page.get_by_test_id("drill-total").inner_text()
    row = RetentionSnapshot.objects.get(
        scope_type="segment", scope_key="SMB", granularity="month", period_start=OCTOBER
    )
    assert total == money(row.starting_arr)
