"""The outlook pages in headless chromium: reached from the navigation, at desktop and phone width.

Screenshots go to docs/screenshots/ (outlook-*.png), where the README shows them.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import sign_in
from tests.outlook_support import build_outlook_company

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def shoot(page, name):
    """Screenshots at both widths into docs/; at phone width nothing may stick out sideways."""
    DOCS.mkdir(parents=True, exist_ok=True)
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(150)
        page.screenshot(path=str(DOCS / f"outlook-{name}-{size_name}.png"), full_page=True)
        if size_name == "phone":
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
    page.set_viewport_size(SIZES["desktop"])


@pytest.fixture
def world(live_server, on_today):
    return build_outlook_company()


def test_a_lead_opens_renewals_from_the_navigation_and_narrows_to_an_owner(page, live_server, world):
    sign_in(page, live_server, "lena@example.com")
    page.click("nav >> text=Renewals")
    expect(page.locator("h1")).to_have_text("Renewals")
    page.fill("#id_start", "2026-09-01")
    page.fill("#id_end", "2026-12-31")
    page.click("form.filters button[type=submit]")
    lines = page.locator("[data-testid=renewal-lines] tbody tr")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("Gamma")
    expect(lines.nth(1)).to_contain_text("Lapsed")
    expect(page.locator("[data-testid=renewal-totals]")).to_contain_text("$36,000")
    shoot(page, "renewals")
    page.click("[data-testid=renewals-by-owner] >> text=ann@example.com")
    expect(lines).to_have_count(2)
    expect(page.locator("[data-testid=renewal-totals]")).to_contain_text("$26,000")


def test_an_owner_sees_its_next_90_days_on_its_page(page, live_server, world):
    sign_in(page, live_server, "ann@example.com")
    section = page.locator("[data-testid=owner-renewals]")
    expect(section).to_contain_text("Acme")
    expect(section).to_contain_text("2026-12-15")
    expect(section).not_to_contain_text("Beta")
    page.locator("[data-testid=owner-renewals-section]").scroll_into_view_if_needed()
    shoot(page, "owner-renewals")


def test_an_owner_marks_an_account_at_risk_and_the_forecast_moves(page, live_server, world):
    """Ann opens Acme from her book, marks it at risk (5,000 expected; its Support line ends 12-15),
    and her page's quarter forecast GRR falls from 36.8% (14,000 of 38,000) to 31.6% (12,000)."""
    sign_in(page, live_server, "ann@example.com")
    forecast = page.locator("[data-testid=forecast-table] tr[data-granularity=quarter]")
    expect(forecast).to_contain_text("36.8%")
    expect(forecast).to_contain_text("0 at-risk accounts")
    page.click("[data-testid=book] >> text=Acme")
    expect(page.locator("h1")).to_contain_text("Acme")
    assert page.url.endswith(f"/customers/{world['acme'].pk}/")  # the one customer page
    expect(page.locator("[data-testid=lines] tr[data-line=L11]")).to_contain_text("Open")  # renewal per line
    expect(page.locator("[data-testid=customer-figures]")).to_be_visible()
    expect(page.locator("#arr-chart[data-ready=true]")).to_be_visible()  # the ARR per product chart draws
    expect(page.locator("[data-testid=current-risk]")).to_contain_text("never marked")
    page.select_option("#id_status", "at_risk")
    page.fill("#id_expected_loss", "5000")
    page.fill("#id_note", "Champion left; renewal call on Dec 1")
    page.click("[data-testid=risk-form] button[type=submit]")
    expect(page.locator("[data-testid=current-risk]")).to_contain_text("At risk")
    expect(page.locator("[data-testid=risk-history] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=risk-history]")).to_contain_text("Champion left")
    expect(page.locator("[data-testid=risk-history]")).to_contain_text("$5,000")
    assert page.url.endswith(f"/customers/{world['acme'].pk}/#risk")
    shoot(page, "customer")
    page.click("nav >> text=My book")
    expect(forecast).to_contain_text("31.6%")
    forecast.locator("a").click()
    expect(page.locator("h1")).to_contain_text("Forecast, this quarter")
    expect(page.locator("[data-testid=forecast-accounts] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=forecast-accounts]")).to_contain_text("Acme")
    shoot(page, "forecast")


def test_the_company_page_shows_the_forecast_beside_the_measured_figures(page, live_server, world):
    from datetime import date

    from outlook.models import RiskMark

    RiskMark.objects.create(customer=world["acme"], status="at_risk", expected_loss=5000, noted_on=date(2026, 11, 20))
    sign_in(page, live_server, "exec@example.com")
    expect(page.locator("[data-testid=forecast-table] tr[data-granularity=quarter]")).to_contain_text(
        "1 at-risk account, $5,000"
    )
    expect(page.locator("[data-testid=forecast-table] tbody tr")).to_have_count(2)
    page.locator("[data-testid=forecast]").scroll_into_view_if_needed()
    shoot(page, "company-forecast")


def test_an_admin_imports_targets_and_the_team_page_ranks_owners_by_gap(page, live_server, world, tmp_path):
    """CS East TTM Nov 2025 - Oct 2026 (outlook company): Ann GRR 14,000/38,000, Cid 7,000/10,000.
    Targets: Ann 30% (gap +6.8 pts), Cid 80% (gap -10.0 pts): Cid ranks first."""
    csv_file = tmp_path / "targets.csv"
    csv_file.write_text(
        "fiscal_year,scope_type,scope_key,role,nrr,grr\n"
        "2026,company,,,105%,90%\n2026,team,CS East,csm,,60%\n"
        "2026,owner,ann@example.com,csm,,30%\n2026,owner,cid@example.com,csm,,80%\n"
    )
    sign_in(page, live_server, "admin@example.com")
    page.click("nav >> text=Targets")
    expect(page.locator("h1")).to_have_text("Targets")
    page.set_input_files("[data-testid=target-upload] input[type=file]", str(csv_file))
    page.click("[data-testid=target-upload] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("4 target(s) imported")
    expect(page.locator("[data-testid=targets] tbody tr")).to_have_count(4)
    shoot(page, "targets")
    page.click("nav >> text=Company")
    page.click("[data-testid=teams-csm] >> text=CS East")
    expect(page.locator("h1")).to_contain_text("CS East")
    page.goto(f"{live_server.url}/teams/{world['east'].pk}/?granularity=ttm&period=2025-11-01&role=csm")
    rows = page.locator("[data-testid=owners] tbody tr")
    expect(rows.nth(0)).to_contain_text("Cid")
    expect(rows.nth(0).locator("small.target.gap-down").first).to_contain_text("-10.0 pts")
    expect(rows.nth(1)).to_contain_text("Ann")
    expect(rows.nth(1).locator("small.target.gap-up").first).to_be_visible()
    shoot(page, "team-targets")


def test_an_executive_reads_the_cohort_heatmap_and_switches_to_logos(page, live_server, world):
    """The live server's recompute lands with its commit: the cohort step runs right after it."""
    from outlook.cohort_snapshots import recompute_cohorts

    recompute_cohorts()
    sign_in(page, live_server, "exec@example.com")
    page.click("nav >> text=Cohorts")
    expect(page.locator("h1")).to_contain_text("Cohorts")
    heatmap = page.locator("[data-testid=cohort-heatmap] tbody tr")
    expect(heatmap.first).to_contain_text("Jan 2025")
    shoot(page, "cohorts")
    page.click("[data-testid=cohort-switches] >> text=Logo retention")
    expect(page.locator("[data-testid=cohort-switches] strong").first).to_have_text("Logo retention")
    page.select_option("select[name=pick]", label="Segment: SMB")
    page.click("[data-testid=cohort-filters] button")
    expect(page.locator("h1")).to_contain_text("Segment: SMB")
    expect(heatmap.first).to_contain_text("Feb 2025")


def test_an_owner_turns_the_weekly_email_off_from_the_navigation(page, live_server, world):
    sign_in(page, live_server, "ann@example.com")
    page.click("nav >> text=Weekly email")
    expect(page.locator("[data-testid=digest-state]")).to_have_text("You get the weekly digest at ann@example.com.")
    expect(page.locator("[data-testid=digest-preview]")).to_contain_text("Your book (CSM)")
    shoot(page, "digest")
    page.uncheck("#id_weekly_digest")
    page.click("[data-testid=digest-form] button")
    expect(page.locator("[data-testid=digest-state]")).to_have_text("You will not get the weekly digest.")
    expect(page.locator(".messages")).to_contain_text("The weekly digest is off.")
