"""Every page of the demo, at desktop and phone width, as the roles that use it (issue 10).

No page may be wider than a 390 px phone (the reason pages were 96-337 px too wide); the cases
beside the figures say whether they count; tiny cohorts are marked low confidence and left out of
the chart's axis. Screenshots go to artifacts/screenshots/every-page/.
"""

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import Team, User
from metrics.models import ChurnCase, RetentionSnapshot

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "every-page"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PASSWORD = "retention-demo"


def sign_in(page, live_server, email, password=PASSWORD):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state("load")


def check(page, url, name, errors):
    """Open the page at both widths: it answers, logs no error, and fits a phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    too_wide = None
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        response = page.goto(url)
        assert response.status == 200, f"{name}: {response.status}"
        page.wait_for_timeout(150)
        page.screenshot(path=str(SHOTS / f"{name}-{size_name}.png"), full_page=True)
        if size_name == "phone":
            too_wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size(SIZES["desktop"])
    assert not errors, f"{name}: {errors}"
    return too_wide


def test_every_page_fits_a_phone_and_the_figures_explain_themselves(page, live_server):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    site = live_server.url
    lead = User.objects.get(email="lead@example.com")
    csm = User.objects.get(email="csm@example.com")
    team = Team.objects.get(lead=lead)
    ttm = RetentionSnapshot.objects.filter(scope_type="company", granularity="ttm", partial=False).latest(
        "period_start"
    )
    case = ChurnCase.objects.filter(void=False, csm_team=team).order_by("-date").first()
    drill = f"/drilldown/?scope=company&granularity=ttm&period={ttm.period_start.isoformat()}&figure=starting_arr"
    pages = {
        "admin@example.com": {
            "company": "/company/",
            "company-ttm": f"/company/?granularity=ttm&period={ttm.period_start.isoformat()}",
            "drilldown": drill,
            "reason-queue": "/reasons/",
            "pareto": "/reasons/pareto/",
            "cases": "/reasons/cases/",
            "case": f"/reasons/cases/{case.pk}/",
            "taxonomy": "/reasons/taxonomy/",
            "taxonomy-add": "/reasons/taxonomy/add/",
            "figures-help": "/help/figures/",
            "api-tokens": "/api/tokens/",
            "password": "/accounts/password/",
        },
        "lead@example.com": {
            "team": f"/teams/{team.pk}/",
            "lead-book": f"/owners/{lead.pk}/",
            "member-of-team": f"/owners/{csm.pk}/",
            "lead-queue": "/reasons/",
            "lead-case": f"/reasons/cases/{case.pk}/",
        },
        "csm@example.com": {"my-book": f"/owners/{csm.pk}/", "csm-pareto": "/reasons/pareto/"},
    }
    too_wide = {}
    for email, urls in pages.items():
        sign_in(page, live_server, email)
        for name, path in urls.items():
            overflow = check(page, site + path, name, errors)
            if overflow > 1:
                too_wide[name] = overflow
    assert too_wide == {}, f"wider than a 390 px phone (px): {too_wide}"

    # The lead's own "My book": no accounts, said plainly, with the way to the team.
    sign_in(page, live_server, "lead@example.com")
    page.goto(f"{site}/owners/{lead.pk}/")
    expect(page.get_by_test_id("owns-nothing")).to_contain_text("You own no accounts")
    page.get_by_test_id("own-team-link").click()
    expect(page).to_have_url(f"{site}/teams/{team.pk}/")
    expect(page.locator(".period").first).to_contain_text("TTM")  # opens on the trailing twelve months

    # The CSM's book: every case says whether it counts, and the totals meet the figures.
    sign_in(page, live_server, "csm@example.com")
    page.goto(f"{site}/owners/{csm.pk}/")
    cases = page.get_by_test_id("cases").locator("tbody tr")
    assert cases.count() >= 1
    for i in range(cases.count()):
        expect(cases.nth(i).locator("td.verdict")).to_contain_text("count")
    row = RetentionSnapshot.objects.get(
        scope_type="owner",
        scope_key=csm.email,
        role="csm",
        granularity="ttm",
        period_start=page.evaluate("document.querySelector('select[name=period]').value"),
    )
    from web.templatetags.retention_format import money

    expect(page.get_by_test_id("reconciled-total")).to_have_text(money(row.churn + row.contraction))

    # A figure's "?" opens the definitions.
    page.locator("dl.figures a.fig-help").first.click()
    expect(page).to_have_url(f"{site}/help/figures/#starting_arr")
    expect(page.locator("#starting_arr")).to_contain_text("cohort")


def test_tiny_cohorts_are_low_confidence_and_out_of_the_axis(page, live_server):
    from web_support import PASSWORD as TEST_PASSWORD
    from web_support import build_company

    build_company()  # early 2025 months: one to five customers
    sign_in(page, live_server, "exec@example.com", TEST_PASSWORD)
    page.goto(f"{live_server.url}/company/")
    expect(page.get_by_test_id("low-confidence-note")).to_contain_text("fewer than 5 customers")
    chart = page.evaluate(
        """() => { const c = Chart.getChart(document.getElementById('trend-chart'));
                   return {min: c.scales.y.min, max: c.scales.y.max,
                           sets: c.data.datasets.map(d => ({data: d.data, low: d.lowConfidence}))}; }"""
    )
    confident = [
        v for d in chart["sets"] for v, low in zip(d["data"], d["low"], strict=True) if v is not None and not low
    ]
    lows = [v for d in chart["sets"] for v, low in zip(d["data"], d["low"], strict=True) if v is not None and low]
    assert lows, "the early months should be low confidence"
    assert chart["min"] <= min(confident) and chart["max"] >= max(confident)
    assert chart["max"] - chart["min"] <= (max(confident) - min(confident)) * 1.3 + 4.1  # not stretched by them
    subtitle = page.evaluate("Chart.getChart(document.getElementById('trend-chart')).options.plugins.subtitle.text")
    assert "low confidence" in subtitle
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#trend-chart").screenshot(path=str(SHOTS / "low-confidence-chart.png"))
