"""Filters and sorts added for issues 10 and 12, in headless chromium at desktop and phone width:
renewals narrowed by a customer attribute, the drill-down sorted by an owner column and by the
figure's amount, the cohort heatmap of one product. Screenshots: docs/screenshots/gaps-*.png."""

from pathlib import Path

import pytest
from outlook_support import build_outlook_company
from playwright.sync_api import expect

from tests.browser_support import sign_in

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PERIOD = "granularity=month&period=2026-10-01"


def shoot(page, name):
    DOCS.mkdir(parents=True, exist_ok=True)
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(150)
        page.screenshot(path=str(DOCS / f"gaps-{name}-{size_name}.png"), full_page=True)
        if size_name == "phone":
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
    page.set_viewport_size(SIZES["desktop"])


@pytest.fixture
def world(live_server, on_today):
    return build_outlook_company()


def test_a_lead_narrows_renewals_to_a_segment(page, live_server, world):
    sign_in(page, live_server, "lena@example.com")
    page.click("nav >> text=Renewals")
    page.fill("#id_start", "2026-09-01")
    page.fill("#id_end", "2026-12-31")
    page.select_option("#id_segment", "Enterprise")
    page.click("form.filters button[type=submit]")
    lines = page.locator("[data-testid=renewal-lines] tbody tr")
    expect(lines).to_have_count(2)  # Beta's and Acme's; Gamma is SMB
    expect(page.locator("[data-testid=renewal-totals]")).to_contain_text("$26,000")
    shoot(page, "renewals-segment")


def test_an_executive_sorts_a_drilldown_by_csm_and_by_amount(page, live_server, world):
    sign_in(page, live_server, "exec@example.com")
    page.goto(f"{live_server.url}/drilldown/?scope=company&{PERIOD}&figure=arr_end")
    rows = page.get_by_test_id("drill-rows").locator("tbody tr")
    total = page.get_by_test_id("drill-total").inner_text()
    page.get_by_test_id("sort-csm_owner").locator("a").click()
    expect(rows.first).to_contain_text("Acme")  # ann@example.com first
    page.get_by_test_id("sort-csm_owner").locator("a").click()  # then descending
    expect(rows.first).to_contain_text("Zeta")  # unassigned
    page.get_by_test_id("sort-amount").locator("a").click()
    page.get_by_test_id("sort-amount").locator("a").click()  # largest first
    expect(rows.first).to_contain_text("Acme")  # 15,000 at the end of October
    expect(rows.last).to_contain_text("Beta")  # churned: 0
    expect(page.get_by_test_id("drill-total")).to_have_text(total)
    shoot(page, "drilldown-amount")


def test_an_executive_opens_a_products_cohorts(page, live_server, world):
    from outlook.cohort_snapshots import recompute_cohorts

    recompute_cohorts()
    sign_in(page, live_server, "exec@example.com")
    page.click("nav >> text=Cohorts")
    page.select_option("select[name=pick]", label="Product: Support")
    page.click("[data-testid=cohort-filters] button")
    expect(page.locator("h1")).to_contain_text("Support")
    heatmap = page.locator("[data-testid=cohort-heatmap] tbody tr")
    expect(heatmap).to_have_count(1)
    expect(heatmap.first).to_contain_text("Dec 2025")  # Acme's Support line from 2025-12-16
    expect(page.get_by_test_id("cohort-scope-help")).to_contain_text("no tenure-band choice")
    shoot(page, "cohorts-product")
